"""`/me` downloads (seed 003): a signed, expiring link per file attached (role `download`) to
what the customer bought, once the order is paid, for that customer only; followed to the
file's bytes."""

from __future__ import annotations

import time
from urllib.parse import parse_qs, urlsplit

import httpx
from sqlalchemy import update
from starlette.applications import Starlette

from app.db import Database
from app.models.orders import Order
from tests.api.test_checkout import product
from tests.api.test_me import ME, customer, graphql, place
from tests.conftest import client_for
from tests.support.media import PDF, png, uploaded


async def _ebook(admin: httpx.AsyncClient, database: Database) -> tuple[object, dict[str, str]]:
    goods = await product(database, "ebook")
    book = await uploaded(admin, PDF, filename="book.pdf", content_type="application/pdf")
    cover = await uploaded(admin, png())
    for asset, role in ((book, "download"), (cover, "thumbnail")):
        attached = await admin.post(
            "/api/media/attach",
            json={"entityId": str(goods.id), "mediaAssetId": asset["id"], "role": role},
        )
        assert attached.status_code == 201
    return goods, book


async def test_a_paid_order_lists_signed_links_that_lead_to_the_file(
    app: Starlette, admin: httpx.AsyncClient, database: Database
) -> None:
    goods, book = await _ebook(admin, database)
    async with await customer(database, "ada@example.com", app) as http:
        placed = await place(http, (goods, 1))
        rest = await http.get(f"{ME}/orders/{placed['id']}/downloads")
        graph = await graphql(
            http,
            """query($n: String!) { me { downloads(orderId: $n) {
              items { mediaAssetId filename url expiresAt } note } } }""",
            n=placed["number"],
        )
    assert rest.status_code == 200, rest.text
    body = rest.json()
    assert "note" not in body.get("meta", {})
    [link] = body["data"]
    assert link["mediaAssetId"] == book["id"] and link["filename"] == "book.pdf"
    assert link["contentType"] == "application/pdf" and link["byteSize"] == len(PDF)
    assert link["entityId"] == str(goods.id)  # type: ignore[attr-defined]
    expires = int(parse_qs(urlsplit(link["url"]).query)["expires"][0])
    assert time.time() < expires <= time.time() + 3600 + 5
    assert graph["data"]["me"]["downloads"]["items"][0]["mediaAssetId"] == book["id"]
    async with client_for(app) as anyone:  # the signed link is the credential
        fetched = await anyone.get(link["url"])
        unsigned = await anyone.get(link["url"].split("?")[0])
    assert fetched.status_code == 200 and fetched.content == PDF
    assert unsigned.status_code == 404  # a download file is never public


async def test_an_unpaid_order_has_no_links_yet(
    app: Starlette, admin: httpx.AsyncClient, database: Database
) -> None:
    goods, _ = await _ebook(admin, database)
    async with await customer(database, "ada@example.com", app) as http:
        placed = await place(http, (goods, 1))
        async with database.unit_of_work() as uow:
            await uow.session.execute(
                update(Order)
                .where(Order.number == placed["number"])
                .values(payment_status="pending")
            )
            await uow.commit()
        unpaid = await http.get(f"{ME}/orders/{placed['id']}/downloads")
        async with database.unit_of_work() as uow:
            await uow.session.execute(
                update(Order)
                .where(Order.number == placed["number"])
                .values(payment_status="paid", status="cancelled")
            )
            await uow.commit()
        cancelled = await http.get(f"{ME}/orders/{placed['id']}/downloads")
    for response in (unpaid, cancelled):
        assert response.status_code == 200
        assert response.json()["data"] == []
        assert "paid" in response.json()["meta"]["note"]


async def test_another_customers_order_is_404(
    app: Starlette, admin: httpx.AsyncClient, database: Database
) -> None:
    goods, _ = await _ebook(admin, database)
    async with await customer(database, "ada@example.com", app) as ada:
        placed = await place(ada, (goods, 1))
    async with await customer(database, "bob@example.com", app) as bob:
        response = await bob.get(f"{ME}/orders/{placed['id']}/downloads")
    assert response.status_code == 404
