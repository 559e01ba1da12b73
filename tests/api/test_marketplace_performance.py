"""Vendor performance (issue 14, part 5): the numbers of `GET /vendors/:id/performance` and
`Vendor.performance` checked against sub-orders, reviews and disputes made in the test;
the on-time window is a setting; the admin and the vendor itself read it, no one else."""

from __future__ import annotations

import uuid
from datetime import timedelta

import httpx
from starlette.applications import Starlette

from app.auth.actor import SYSTEM
from app.db import Database
from app.models.marketplace import SubOrder
from app.services.marketplace.sub_orders import move_sub_order
from tests.api.test_marketplace_vendors import error, gql
from tests.conftest import client_for
from tests.support.aftercare import delivered_sub_order, make_shopper
from tests.support.marketplace import MARKET, MadeVendor, make_vendor, vendor_product
from tests.support.users import cookie_client


async def ship_late(database: Database, sub_order_id: str, hours: int) -> None:
    """Say the sub-order was shipped `hours` after checkout."""
    async with database.unit_of_work() as uow:
        row = await uow.session.get(SubOrder, uuid.UUID(sub_order_id))
        assert row is not None
        row.shipped_at = row.created_at + timedelta(hours=hours)
        await uow.commit()


async def a_season(app: Starlette, client: httpx.AsyncClient, database: Database) -> MadeVendor:
    """Vendor acme's six sub-orders: two delivered (one shipped 50 h late), one shipped, one
    cancelled by acme, one by the marketplace, one pending; reviews 5 and 4; one dispute.
    Vendor bolt has a delivered sub-order of its own, reviewed 1."""
    acme = await make_vendor(database, "acme")
    bolt = await make_vendor(database, "bolt")
    saw = await vendor_product(database, "acme-saw", acme, 1000, stock=50)
    nut = await vendor_product(database, "bolt-nut", bolt, 100, stock=50)
    ada = await make_shopper(database, "ada")
    made = {
        status: await delivered_sub_order(client, database, ada, acme, (saw, 1), status=status)
        for status in ("delivered", "shipped", "pending")
    }
    late = await delivered_sub_order(client, database, ada, acme, (saw, 1))
    await ship_late(database, late, 50)
    by_vendor = await delivered_sub_order(client, database, ada, acme, (saw, 1), status="pending")
    async with cookie_client(app, acme.token) as http:
        cancelled = await http.post(
            f"{MARKET}/vendor/me/orders/{by_vendor}/cancel", json={"reason": "out of stock"}
        )
        assert cancelled.status_code == 200, cancelled.text
    by_market = await delivered_sub_order(client, database, ada, acme, (saw, 1), status="pending")
    async with database.unit_of_work() as uow:
        await move_sub_order(uow, SYSTEM, id=by_market, status="cancelled", reason="fraud")
        await uow.commit()
    theirs = await delivered_sub_order(client, database, ada, bolt, (nut, 1))
    async with cookie_client(app, ada.token) as http:
        for vendor, sub_order, rating in (
            (acme, made["delivered"], 5), (acme, late, 4), (bolt, theirs, 1),
        ):  # fmt: skip
            review = await http.post(
                f"{MARKET}/vendors/{vendor.id}/reviews",
                json={"subOrderId": sub_order, "rating": rating},
            )
            assert review.status_code == 201, review.text
        disputed = await http.post(
            f"{MARKET}/disputes",
            json={"subOrderId": late, "reason": "damaged", "message": "dented"},
        )
        assert disputed.status_code == 201, disputed.text
    return acme


EXPECTED = {
    "ratingAverage": 4.5,
    "ratingCount": 2,
    "subOrderCount": 6,
    "deliveredCount": 2,
    "shippedCount": 3,
    "shippedOnTimeCount": 2,
    "cancelledCount": 2,
    "cancelledByVendorCount": 1,
    "disputedCount": 1,
    "shipWithinHours": 48,
    "fulfilmentRate": 0.6667,  # 2 delivered / (2 + 1 cancelled by acme)
    "onTimeShippingRate": 0.6667,  # 2 of 3 shipped within 48 h
    "cancellationRate": 0.1667,  # 1 of 6 cancelled by acme
    "disputeRate": 0.5,  # 1 of 2 delivered disputed
}


async def test_performance_is_computed_from_the_vendors_records(
    app: Starlette, client: httpx.AsyncClient, admin: httpx.AsyncClient, database: Database
) -> None:
    acme = await a_season(app, client, database)
    response = await admin.get(f"{MARKET}/vendors/{acme.id}/performance")
    assert response.status_code == 200, response.text
    assert response.json()["data"] == {"vendorId": acme.id, **EXPECTED}
    async with cookie_client(app, acme.token) as http:
        own = await http.get(f"{MARKET}/vendors/{acme.id}/performance")
        assert own.json()["data"] == response.json()["data"]


async def test_the_on_time_window_is_a_setting(
    make_app: object, client: httpx.AsyncClient, database: Database, admin_key: str
) -> None:
    build = make_app  # type: ignore[assignment]
    wide = build(vendor_ship_within_hours=72)  # type: ignore[operator]
    acme = await a_season(wide, client, database)
    async with client_for(wide, headers={"x-api-key": admin_key}) as http:
        data = (await http.get(f"{MARKET}/vendors/{acme.id}/performance")).json()["data"]
    assert (data["shipWithinHours"], data["shippedOnTimeCount"], data["onTimeShippingRate"]) == (
        72, 3, 1.0,
    )  # fmt: skip


async def test_a_vendor_with_no_records_has_no_rates(
    admin: httpx.AsyncClient, database: Database
) -> None:
    acme = await make_vendor(database, "acme")
    data = (await admin.get(f"{MARKET}/vendors/{acme.id}/performance")).json()["data"]
    assert data["subOrderCount"] == 0 and data["ratingAverage"] is None
    assert [data[k] for k in ("fulfilmentRate", "onTimeShippingRate", "cancellationRate",
                              "disputeRate")] == [None] * 4  # fmt: skip


async def test_only_the_admin_and_the_vendor_itself_read_its_performance(
    app: Starlette, client: httpx.AsyncClient, database: Database
) -> None:
    acme = await make_vendor(database, "acme")
    bolt = await make_vendor(database, "bolt")
    ada = await make_shopper(database, "ada")
    path = f"{MARKET}/vendors/{acme.id}/performance"
    async with cookie_client(app, bolt.token) as http:
        error(await http.get(path), 404, "NOT_FOUND")
    async with cookie_client(app, ada.token) as http:
        error(await http.get(path), 403, "FORBIDDEN")
    error(await client.get(path), 401, "UNAUTHORIZED")
    error(await client.get(f"{MARKET}/vendors/{uuid.uuid4()}/performance"), 401, "UNAUTHORIZED")


async def test_vendor_performance_in_graphql_is_shown_to_the_admin_and_the_vendor_only(
    app: Starlette, client: httpx.AsyncClient, admin: httpx.AsyncClient, database: Database
) -> None:
    acme = await a_season(app, client, database)
    query = """query($id: ID!) { vendor(id: $id) { performance {
      ratingAverage deliveredCount fulfilmentRate disputeRate } } }"""
    body = await gql(admin, query, {"id": acme.id})
    assert body["data"]["vendor"]["performance"] == {
        "ratingAverage": 4.5, "deliveredCount": 2, "fulfilmentRate": 0.6667, "disputeRate": 0.5,
    }  # fmt: skip
    listed = await gql(admin, "{ vendors { nodes { slug performance { subOrderCount } } } }")
    assert sorted(
        (v["slug"], v["performance"]["subOrderCount"]) for v in listed["data"]["vendors"]["nodes"]
    ) == [("acme", 6), ("bolt", 1)]
    direct = await gql(
        admin, "query($id: ID!) { vendorPerformance(vendorId: $id) { cancelledCount } }",
        {"id": acme.id},
    )  # fmt: skip
    assert direct["data"]["vendorPerformance"] == {"cancelledCount": 2}


async def test_vendor_performance_is_null_to_the_public_and_other_vendors(
    app: Starlette, client: httpx.AsyncClient, database: Database
) -> None:
    acme = await make_vendor(database, "acme")
    bolt = await make_vendor(database, "bolt")
    await vendor_product(database, "acme-saw", acme)
    query = """{ catalogEntity(idOrSlug: "acme-saw") { vendor { slug performance {
      subOrderCount } } } }"""
    public = await gql(client, query)
    assert public["data"]["catalogEntity"]["vendor"] == {"slug": "acme", "performance": None}
    async with cookie_client(app, bolt.token) as http:
        other = await gql(http, query)
    assert other["data"]["catalogEntity"]["vendor"]["performance"] is None
    async with cookie_client(app, acme.token) as http:
        own = await gql(http, query)
    assert own["data"]["catalogEntity"]["vendor"]["performance"] == {"subOrderCount": 0}
