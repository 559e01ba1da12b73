"""Marketplace returns (issue 14, part 5) through the engine dialect and GraphQL: the machine
requested -> shipped_back -> received (every legal move, illegal ones 409), receiving restocks
the units and refunds them through the vendor's ledger (balance = sum of entries) and the
order's payment, quantities are capped by earlier returns, and isolation between customers
and vendors (404), vendors from other vendors' returns, anonymous 401."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from starlette.applications import Starlette

from app.db import Database
from app.models.aftercare import Return
from app.models.audit import Event
from app.models.catalog import CatalogEntity
from app.models.orders import OrderLine, Payment
from tests.api.test_checkout import available
from tests.api.test_marketplace_vendors import error, gql
from tests.support.aftercare import Shopper, delivered_sub_order, lines_of, make_shopper
from tests.support.ledger import balance, entries, entry_sum, make_rule
from tests.support.marketplace import MARKET, MadeVendor, make_vendor, vendor_product
from tests.support.queries import count_queries
from tests.support.users import cookie_client

RETURNS = f"{MARKET}/returns"
SHIP = {"trackingNumber": "RT123", "carrier": "DHL"}


class World:
    vendor: MadeVendor
    shopper: Shopper
    saw: CatalogEntity
    drill: CatalogEntity
    sub_order: str
    saw_line: str
    drill_line: str


async def world(client: httpx.AsyncClient, database: Database, status: str = "delivered") -> World:
    """Ada bought 3 saws (1500 each) and a drill (4000) of acme, with a 10 % commission."""
    await make_rule(database, kind="percentage", scope="global", rate_bps=1000)
    w = World()
    w.vendor = await make_vendor(database, "acme")
    w.shopper = await make_shopper(database, "ada")
    w.saw = await vendor_product(database, "acme-saw", w.vendor, 1500)
    w.drill = await vendor_product(database, "acme-drill", w.vendor, 4000)
    w.sub_order = await delivered_sub_order(
        client, database, w.shopper, w.vendor, (w.saw, 3), (w.drill, 1), status=status
    )
    saw_line, drill_line = await lines_of(database, w.sub_order)  # 4500, 4000
    w.saw_line, w.drill_line = str(saw_line.id), str(drill_line.id)
    return w


def body(w: World, *lines: tuple[str, int], reason: str = "too big") -> dict[str, Any]:
    return {
        "subOrderId": w.sub_order,
        "lines": [{"lineId": id, "quantity": q} for id, q in lines],
        "reason": reason,
    }


async def request_return(app: Starlette, w: World, *lines: tuple[str, int]) -> httpx.Response:
    async with cookie_client(app, w.shopper.token) as http:
        return await http.post(RETURNS, json=body(w, *lines))


async def returns_in_db(database: Database) -> list[Return]:
    async with database.read_session() as session:
        return list(await session.scalars(select(Return).order_by(Return.id)))


async def payments_of(database: Database) -> list[tuple[str, int, str]]:
    async with database.read_session() as session:
        rows = await session.execute(
            select(Payment.kind, Payment.amount, Payment.status).order_by(Payment.created_at)
        )
        return [tuple(row) for row in rows.all()]  # type: ignore[misc]


async def return_events(database: Database) -> list[str]:
    async with database.read_session() as session:
        rows = await session.scalars(
            select(Event.type).where(Event.type.like("returns.%")).order_by(Event.id)
        )
        return list(rows)


async def test_a_return_is_requested_shipped_back_received_restocked_and_refunded(
    app: Starlette, client: httpx.AsyncClient, database: Database
) -> None:
    w = await world(client, database)
    before_balance = await balance(database, w.vendor.id)
    assert before_balance == 8500 - 850  # sales less the 10 % commission
    stock = await available(client, w.saw)
    created = await request_return(app, w, (w.saw_line, 2))
    assert created.status_code == 201, created.text
    data = created.json()["data"]
    assert (data["status"], data["amount"], data["currency"]) == ("requested", 3000, "USD")
    assert [(x["lineId"], x["quantity"], x["amount"]) for x in data["lines"]] == [
        (w.saw_line, 2, 3000)
    ]
    id = data["id"]
    async with cookie_client(app, w.shopper.token) as http:
        shipped = await http.post(f"{RETURNS}/{id}/ship-back", json=SHIP)
        assert shipped.status_code == 200, shipped.text
        assert (shipped.json()["data"]["status"], shipped.json()["data"]["trackingNumber"]) == (
            "shipped_back",
            "RT123",
        )
    async with cookie_client(app, w.vendor.token) as http:
        received = await http.post(f"{RETURNS}/{id}/receive")
        assert received.status_code == 200, received.text
        assert received.json()["data"]["status"] == "received"
        assert received.json()["data"]["receivedAt"] is not None
    # Restocked where they were sold from.
    assert await available(client, w.saw) == stock + 2
    # The vendor is debited 3000 and given back the commission on it (300).
    assert (await entries(database, w.vendor.id))[-2:] == [
        ("refund_debit", -3000), ("commission_debit", 300),
    ]  # fmt: skip
    assert await balance(database, w.vendor.id) == before_balance - 2700
    assert await entry_sum(database, w.vendor.id) == await balance(database, w.vendor.id)
    # The shopper's money went back through the payment provider.
    assert ("refund", -3000, "refunded") in await payments_of(database)
    async with database.read_session() as session:
        line = await session.get(OrderLine, uuid.UUID(w.saw_line))
    assert line is not None and line.refunded_quantity == 2
    assert await return_events(database) == [
        "returns.create", "returns.statusChange", "returns.statusChange",
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("moves", "action"),
    [
        ([], "receive"),
        (["ship-back"], "ship-back"),
        (["ship-back", "receive"], "receive"),
        (["ship-back", "receive"], "ship-back"),
    ],
)
async def test_an_illegal_return_move_is_a_conflict(
    app: Starlette,
    client: httpx.AsyncClient,
    admin: httpx.AsyncClient,
    database: Database,
    moves: list[str],
    action: str,
) -> None:
    w = await world(client, database)
    id = (await request_return(app, w, (w.drill_line, 1))).json()["data"]["id"]
    async with cookie_client(app, w.shopper.token) as shopper:

        async def do(step: str) -> httpx.Response:
            if step == "ship-back":
                return await shopper.post(f"{RETURNS}/{id}/ship-back", json=SHIP)
            return await admin.post(f"{RETURNS}/{id}/receive")

        for step in moves:
            assert (await do(step)).status_code == 200
        before = await entries(database, w.vendor.id)
        refused = error(await do(action), 409, "CONFLICT")
        assert "allowed" in refused["message"]
    assert await entries(database, w.vendor.id) == before


async def test_a_return_asks_at_most_what_earlier_returns_left(
    app: Starlette, client: httpx.AsyncClient, database: Database
) -> None:
    w = await world(client, database)
    too_many = error(await request_return(app, w, (w.saw_line, 4)), 422, "VALIDATION_FAILED")
    assert too_many["message"].endswith("Between 1 and 3.")
    assert (await request_return(app, w, (w.saw_line, 2))).status_code == 201
    again = error(await request_return(app, w, (w.saw_line, 2)), 422, "VALIDATION_FAILED")
    assert again["message"].endswith("Between 1 and 1.")
    last = await request_return(app, w, (w.saw_line, 1))
    # The last unit takes the rounding: 4500 = 1500 x 3 in all.
    assert last.json()["data"]["amount"] == 1500
    error(await request_return(app, w, (w.saw_line, 1)), 409, "CONFLICT")
    foreign = error(await request_return(app, w, (str(uuid.uuid4()), 1)), 422, "VALIDATION_FAILED")
    assert "lines.0.lineId" in str(foreign)
    twice = await request_return(app, w, (w.drill_line, 1), (w.drill_line, 1))
    error(twice, 422, "VALIDATION_FAILED")
    assert len(await returns_in_db(database)) == 2


async def test_only_a_delivered_sub_order_is_returned(
    app: Starlette, client: httpx.AsyncClient, database: Database
) -> None:
    w = await world(client, database, status="shipped")
    error(await request_return(app, w, (w.saw_line, 1)), 409, "CONFLICT")
    assert await returns_in_db(database) == []


async def test_returns_are_isolated_between_customers_and_vendors(
    app: Starlette, client: httpx.AsyncClient, database: Database
) -> None:
    w = await world(client, database)
    eve = await make_shopper(database, "eve")
    bolt = await make_vendor(database, "bolt")
    async with cookie_client(app, eve.token) as http:
        error(await http.post(RETURNS, json=body(w, (w.saw_line, 1))), 404, "NOT_FOUND")
    error(await client.post(RETURNS, json=body(w, (w.saw_line, 1))), 401, "UNAUTHORIZED")
    async with cookie_client(app, bolt.token) as http:  # a vendor's user is no customer
        error(await http.post(RETURNS, json=body(w, (w.saw_line, 1))), 403, "FORBIDDEN")
    id = (await request_return(app, w, (w.saw_line, 1))).json()["data"]["id"]
    async with cookie_client(app, eve.token) as http:
        error(await http.post(f"{RETURNS}/{id}/ship-back", json=SHIP), 404, "NOT_FOUND")
    async with cookie_client(app, w.shopper.token) as http:
        assert (await http.post(f"{RETURNS}/{id}/ship-back", json=SHIP)).status_code == 200
        # The customer ships back; only the vendor or the marketplace receives.
        error(await http.post(f"{RETURNS}/{id}/receive"), 403, "FORBIDDEN")
    async with cookie_client(app, bolt.token) as http:
        error(await http.post(f"{RETURNS}/{id}/receive"), 404, "NOT_FOUND")
    error(await client.post(f"{RETURNS}/{id}/receive"), 401, "UNAUTHORIZED")
    [row] = await returns_in_db(database)
    assert row.status == "shipped_back"


async def test_a_suspended_vendor_cannot_receive_but_the_marketplace_can(
    app: Starlette, client: httpx.AsyncClient, admin: httpx.AsyncClient, database: Database
) -> None:
    w = await world(client, database)
    id = (await request_return(app, w, (w.drill_line, 1))).json()["data"]["id"]
    async with cookie_client(app, w.shopper.token) as http:
        await http.post(f"{RETURNS}/{id}/ship-back", json=SHIP)
    suspended = await admin.post(
        f"{MARKET}/vendors/{w.vendor.id}/suspend", json={"reason": "audit"}
    )
    assert suspended.status_code == 200
    async with cookie_client(app, w.vendor.token) as http:
        error(await http.post(f"{RETURNS}/{id}/receive"), 403, "FORBIDDEN")
    received = await admin.post(f"{RETURNS}/{id}/receive")
    assert received.json()["data"]["status"] == "received"
    assert ("refund_debit", -4000) in await entries(database, w.vendor.id)


async def test_returns_through_graphql_are_scoped_to_who_asks(
    app: Starlette, client: httpx.AsyncClient, admin: httpx.AsyncClient, database: Database
) -> None:
    w = await world(client, database)
    async with cookie_client(app, w.shopper.token) as http:
        made = await gql(
            http,
            """mutation($input: CreateReturnInput!) { createReturn(input: $input) {
              id status amount { amount } lines { lineId quantity } } }""",
            {"input": body(w, (w.drill_line, 1))},
        )
        id = made["data"]["createReturn"]["id"]
        assert made["data"]["createReturn"]["amount"] == {"amount": 4000}
        shipped = await gql(
            http,
            """mutation($input: ShipBackReturnInput!) { shipBackReturn(input: $input) {
              status } }""",
            {"input": {"id": id, **SHIP}},
        )
        assert shipped["data"]["shipBackReturn"] == {"status": "SHIPPED_BACK"}
    eve = await make_shopper(database, "eve")
    bolt = await make_vendor(database, "bolt")
    query = "{ returns { totalCount nodes { id lines { quantity } } } }"
    for token, seen in ((w.shopper.token, 1), (w.vendor.token, 1), (eve.token, 0), (bolt.token, 0)):
        async with cookie_client(app, token) as http:
            assert (await gql(http, query))["data"]["returns"]["totalCount"] == seen
    assert (await gql(admin, query))["data"]["returns"]["totalCount"] == 1
    async with cookie_client(app, bolt.token) as http:
        hidden = await gql(http, "query($id: ID!) { return(id: $id) { id } }", {"id": id})
        assert hidden["errors"][0]["extensions"]["code"] == "NOT_FOUND"
    received = await gql(
        admin,
        """mutation($input: ReturnIdInput!) { receiveReturn(input: $input) { status } }""",
        {"input": {"id": id}},
    )
    assert received["data"]["receiveReturn"] == {"status": "RECEIVED"}


async def test_a_page_of_returns_with_lines_costs_the_same_statements_for_one_or_many(
    app: Starlette, client: httpx.AsyncClient, admin: httpx.AsyncClient, database: Database
) -> None:
    w = await world(client, database)
    query = "{ returns { nodes { id lines { lineId quantity amount { amount } } } } }"
    await request_return(app, w, (w.saw_line, 1))
    await gql(admin, query)  # the key's first use is recorded once: not part of the count
    with count_queries(database) as one:
        assert len((await gql(admin, query))["data"]["returns"]["nodes"]) == 1
    await request_return(app, w, (w.saw_line, 1), (w.drill_line, 1))
    await request_return(app, w, (w.saw_line, 1))
    with count_queries(database) as many:
        assert len((await gql(admin, query))["data"]["returns"]["nodes"]) == 3
    assert many.count == one.count, many.statements
    assert len(many.matching("FROM return_lines")) == 1
