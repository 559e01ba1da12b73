"""Marketplace reviews (issue 14, part 5) through the engine dialect and GraphQL: a customer
reviews a delivered sub-order of a vendor once (a second is 409), edits it (the author only;
anyone else 404), reads a vendor's reviews (public while the vendor is active, paged, by
rating), and the vendor reads those it received; isolation between customers and vendors."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
from sqlalchemy import select
from starlette.applications import Starlette

from app.db import Database
from app.models.aftercare import Review
from app.models.audit import Event
from tests.api.test_marketplace_vendors import error, gql
from tests.support.aftercare import Shopper, delivered_sub_order, make_shopper
from tests.support.marketplace import MARKET, MadeVendor, make_vendor, vendor_product
from tests.support.users import cookie_client

GOOD = {"rating": 5, "title": "Great saw", "body": "Cuts straight."}


async def reviews_in_db(database: Database) -> list[Review]:
    async with database.read_session() as session:
        return list(await session.scalars(select(Review).order_by(Review.id)))


async def event_types(database: Database) -> list[str]:
    async with database.read_session() as session:
        rows = await session.scalars(select(Event.type).where(Event.type.like("reviews.%")))
        return sorted(rows)


async def setup(
    client: httpx.AsyncClient, database: Database, status: str = "delivered"
) -> tuple[MadeVendor, Shopper, str]:
    vendor = await make_vendor(database, "acme")
    shopper = await make_shopper(database, "ada")
    saw = await vendor_product(database, "acme-saw", vendor, 1500)
    sub_order = await delivered_sub_order(
        client, database, shopper, vendor, (saw, 1), status=status
    )
    return vendor, shopper, sub_order


async def post_review(
    app: Starlette, shopper: Shopper, vendor_id: str, sub_order_id: str, **body: Any
) -> httpx.Response:
    async with cookie_client(app, shopper.token) as http:
        return await http.post(
            f"{MARKET}/vendors/{vendor_id}/reviews",
            json={"subOrderId": sub_order_id, **GOOD, **body},
        )


async def test_a_customer_reviews_a_delivered_sub_order_once(
    app: Starlette, client: httpx.AsyncClient, database: Database
) -> None:
    vendor, shopper, sub_order = await setup(client, database)
    created = await post_review(app, shopper, vendor.id, sub_order)
    assert created.status_code == 201, created.text
    data = created.json()["data"]
    assert (data["rating"], data["title"], data["vendorId"], data["subOrderId"]) == (
        5, "Great saw", vendor.id, sub_order,
    )  # fmt: skip
    [row] = await reviews_in_db(database)
    assert (row.customer_id, row.rating) == (shopper.customer_id, 5)
    again = await post_review(app, shopper, vendor.id, sub_order, rating=1)
    error(again, 409, "CONFLICT")
    assert len(await reviews_in_db(database)) == 1
    assert await event_types(database) == ["reviews.create"]


async def test_only_a_delivered_sub_order_can_be_reviewed(
    app: Starlette, client: httpx.AsyncClient, database: Database
) -> None:
    vendor, shopper, sub_order = await setup(client, database, status="shipped")
    error(await post_review(app, shopper, vendor.id, sub_order), 409, "CONFLICT")
    assert await reviews_in_db(database) == []


async def test_no_one_reviews_another_customers_sub_order_or_through_another_vendor(
    app: Starlette, client: httpx.AsyncClient, database: Database
) -> None:
    vendor, _, sub_order = await setup(client, database)
    other = await make_vendor(database, "bolt")
    eve = await make_shopper(database, "eve")
    error(await post_review(app, eve, vendor.id, sub_order), 404, "NOT_FOUND")
    ada = await make_shopper(database, "ada2")
    error(await post_review(app, ada, other.id, sub_order), 404, "NOT_FOUND")
    anonymous = await client.post(
        f"{MARKET}/vendors/{vendor.id}/reviews", json={"subOrderId": sub_order, **GOOD}
    )
    error(anonymous, 401, "UNAUTHORIZED")
    async with cookie_client(app, vendor.token) as http:  # a vendor's user is no customer
        refused = await http.post(
            f"{MARKET}/vendors/{vendor.id}/reviews", json={"subOrderId": sub_order, **GOOD}
        )
        error(refused, 403, "FORBIDDEN")
    assert await reviews_in_db(database) == []


async def test_a_rating_outside_one_to_five_is_refused(
    app: Starlette, client: httpx.AsyncClient, database: Database
) -> None:
    vendor, shopper, sub_order = await setup(client, database)
    for rating in (0, 6):
        body = error(
            await post_review(app, shopper, vendor.id, sub_order, rating=rating),
            422,
            "VALIDATION_FAILED",
        )
        assert "rating" in str(body)
    assert await reviews_in_db(database) == []


async def test_the_author_edits_their_review_and_no_one_else_finds_it(
    app: Starlette, client: httpx.AsyncClient, database: Database
) -> None:
    vendor, shopper, sub_order = await setup(client, database)
    id = (await post_review(app, shopper, vendor.id, sub_order)).json()["data"]["id"]
    path = f"{MARKET}/vendors/{vendor.id}/reviews/{id}"
    async with cookie_client(app, shopper.token) as http:
        changed = await http.patch(path, json={"rating": 3, "body": "Blunt after a week."})
        assert changed.status_code == 200, changed.text
        assert (changed.json()["data"]["rating"], changed.json()["data"]["title"]) == (
            3,
            "Great saw",
        )
    eve = await make_shopper(database, "eve")
    for token in (eve.token, vendor.token):
        async with cookie_client(app, token) as http:
            error(await http.patch(path, json={"rating": 1}), 404, "NOT_FOUND")
    other = await make_vendor(database, "bolt")
    async with cookie_client(app, shopper.token) as http:
        wrong_vendor = await http.patch(
            f"{MARKET}/vendors/{other.id}/reviews/{id}", json={"rating": 1}
        )
        error(wrong_vendor, 404, "NOT_FOUND")
    error(await client.patch(path, json={"rating": 1}), 401, "UNAUTHORIZED")
    [row] = await reviews_in_db(database)
    assert (row.rating, row.body) == (3, "Blunt after a week.")
    assert await event_types(database) == ["reviews.create", "reviews.update"]


async def test_an_active_vendors_reviews_are_public_paged_and_filtered_by_rating(
    app: Starlette, client: httpx.AsyncClient, database: Database
) -> None:
    vendor = await make_vendor(database, "acme")
    saw = await vendor_product(database, "acme-saw", vendor, 1500, stock=20)
    for index, rating in enumerate((5, 4, 5)):
        shopper = await make_shopper(database, f"s{index}")
        sub_order = await delivered_sub_order(client, database, shopper, vendor, (saw, 1))
        assert (await post_review(app, shopper, vendor.id, sub_order, rating=rating)).is_success
    listed = await client.get(f"{MARKET}/vendors/{vendor.id}/reviews?limit=2")
    assert listed.status_code == 200, listed.text
    assert [r["rating"] for r in listed.json()["data"]] == [5, 4]  # newest first
    assert listed.json()["meta"]["pagination"] == {
        "page": 1, "limit": 2, "total": 3, "totalPages": 2,
    }  # fmt: skip
    fives = await client.get(f"{MARKET}/vendors/{vendor.id}/reviews?rating=5")
    assert [r["rating"] for r in fives.json()["data"]] == [5, 5]
    bad = await client.get(f"{MARKET}/vendors/{vendor.id}/reviews?rating=9")
    error(bad, 422, "VALIDATION_FAILED")
    error(await client.get(f"{MARKET}/vendors/{uuid.uuid4()}/reviews"), 404, "NOT_FOUND")


async def test_a_suspended_vendors_reviews_are_hidden_but_from_admin_and_itself(
    app: Starlette, client: httpx.AsyncClient, admin: httpx.AsyncClient, database: Database
) -> None:
    vendor = await make_vendor(database, "acme", status="suspended")
    path = f"{MARKET}/vendors/{vendor.id}/reviews"
    error(await client.get(path), 404, "NOT_FOUND")
    assert (await admin.get(path)).status_code == 200
    async with cookie_client(app, vendor.token) as http:
        assert (await http.get(path)).status_code == 200


async def test_a_vendor_reads_the_reviews_it_received_and_no_others(
    app: Starlette, client: httpx.AsyncClient, database: Database
) -> None:
    vendor, shopper, sub_order = await setup(client, database)
    assert (await post_review(app, shopper, vendor.id, sub_order)).status_code == 201
    other = await make_vendor(database, "bolt")
    async with cookie_client(app, vendor.token) as http:
        mine = await http.get(f"{MARKET}/vendor/me/reviews")
        assert [r["subOrderId"] for r in mine.json()["data"]] == [sub_order]
    async with cookie_client(app, other.token) as http:
        assert (await http.get(f"{MARKET}/vendor/me/reviews")).json()["data"] == []
    async with cookie_client(app, shopper.token) as http:
        error(await http.get(f"{MARKET}/vendor/me/reviews"), 403, "FORBIDDEN")
    error(await client.get(f"{MARKET}/vendor/me/reviews"), 401, "UNAUTHORIZED")


async def test_reviews_through_graphql(
    app: Starlette, client: httpx.AsyncClient, database: Database
) -> None:
    vendor, shopper, sub_order = await setup(client, database)
    async with cookie_client(app, shopper.token) as http:
        created = await gql(
            http,
            """mutation($input: CreateReviewInput!) { createReview(input: $input) {
              id rating title } }""",
            {"input": {"vendorId": vendor.id, "subOrderId": sub_order, "rating": 4}},
        )
        id = created["data"]["createReview"]["id"]
        updated = await gql(
            http,
            """mutation($input: UpdateReviewInput!) { updateReview(input: $input) { rating } }""",
            {"input": {"vendorId": vendor.id, "id": id, "rating": 2}},
        )
        assert updated["data"]["updateReview"] == {"rating": 2}
    listed = await gql(
        client,
        """query($id: ID!) { vendorReviews(vendorId: $id) { totalCount nodes { id rating } } }""",
        {"id": vendor.id},
    )
    assert listed["data"]["vendorReviews"] == {"totalCount": 1, "nodes": [{"id": id, "rating": 2}]}
