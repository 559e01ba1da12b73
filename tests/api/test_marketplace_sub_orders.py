"""Marketplace sub-orders (issue 14, part 2): checkout's split per vendor, the sub-order
machine (every legal move, illegal ones 409), stock given back on cancel, the parent order
following its sub-orders, isolation between vendors (404) and from the admin routes (403),
and the look-ahead's fixed statement counts."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from starlette.applications import Starlette

from app.db import Database
from app.models.audit import Event
from app.models.inventory import Reservation
from app.models.marketplace import SubOrder
from app.models.orders import Order, OrderLine
from tests.api.test_checkout import available, count
from tests.api.test_marketplace_vendors import error, gql
from tests.support.marketplace import MARKET, MadeVendor, make_vendor, split_order, vendor_product
from tests.support.queries import count_queries
from tests.support.users import cookie_client

ME = f"{MARKET}/vendor/me/orders"


async def sub_orders_of(database: Database, order_id: str) -> list[SubOrder]:
    async with database.read_session() as session:
        rows = await session.scalars(
            select(SubOrder).where(SubOrder.order_id == uuid.UUID(order_id)).order_by(SubOrder.id)
        )
        return list(rows)


async def order_status(database: Database, order_id: str) -> str:
    async with database.read_session() as session:
        order = await session.get(Order, uuid.UUID(order_id))
    assert order is not None
    return order.status


async def events_of(database: Database, type: str) -> list[Event]:
    async with database.read_session() as session:
        return list(
            await session.scalars(select(Event).where(Event.type == type).order_by(Event.id))
        )


def mine(subs: list[SubOrder], vendor: MadeVendor) -> str:
    [found] = [s for s in subs if str(s.vendor_id) == vendor.id]
    return str(found.id)


async def two_vendor_order(
    client: httpx.AsyncClient, database: Database
) -> tuple[MadeVendor, MadeVendor, dict[str, Any], list[SubOrder]]:
    a = await make_vendor(database, "acme")
    b = await make_vendor(database, "bolt")
    saw = await vendor_product(database, "acme-saw", a, 1500)
    hammer = await vendor_product(database, "bolt-hammer", b, 900)
    order = await split_order(client, (saw, 2), (hammer, 1))
    return a, b, order, await sub_orders_of(database, order["id"])


# --- the split -------------------------------------------------------------------------------


async def test_checkout_splits_an_order_per_vendor_and_the_house(
    client: httpx.AsyncClient, database: Database
) -> None:
    a = await make_vendor(database, "acme")
    b = await make_vendor(database, "bolt")
    saw = await vendor_product(database, "acme-saw", a, 1500)
    drill = await vendor_product(database, "acme-drill", a, 4000)
    hammer = await vendor_product(database, "bolt-hammer", b, 900)
    mug = await vendor_product(database, "house-mug", None, 500)
    order = await split_order(client, (saw, 2), (drill, 1), (hammer, 1), (mug, 3))
    subs = await sub_orders_of(database, order["id"])
    by_vendor = {str(s.vendor_id) if s.vendor_id else None: s for s in subs}
    assert set(by_vendor) == {a.id, b.id, None}
    assert {k: (s.status, s.total, s.order_number) for k, s in by_vendor.items()} == {
        a.id: ("pending", 7000, order["number"]),
        b.id: ("pending", 900, order["number"]),
        None: ("pending", 1500, order["number"]),
    }
    async with database.read_session() as session:
        lines = (await session.execute(select(OrderLine.entity_id, OrderLine.sub_order_id))).all()
    assert {entity: by_vendor_key(by_vendor, sub) for entity, sub in lines} == {
        saw.id: a.id, drill.id: a.id, hammer.id: b.id, mug.id: None,
    }  # fmt: skip
    created = await events_of(database, "subOrders.create")
    assert sorted(e.entity_id for e in created) == sorted(str(s.id) for s in subs)


def by_vendor_key(by_vendor: dict[str | None, SubOrder], sub_order_id: uuid.UUID | None) -> Any:
    return next(k for k, s in by_vendor.items() if s.id == sub_order_id)


async def test_an_order_of_house_lines_only_is_not_split(
    client: httpx.AsyncClient, database: Database
) -> None:
    mug = await vendor_product(database, "house-mug", None)
    order = await split_order(client, (mug, 1))
    assert await sub_orders_of(database, order["id"]) == []
    assert await events_of(database, "subOrders.create") == []


async def test_a_declined_checkout_leaves_no_sub_order_and_announces_none(
    client: httpx.AsyncClient, database: Database
) -> None:
    from tests.api.test_checkout import cart_with, post_checkout

    a = await make_vendor(database, "acme")
    saw = await vendor_product(database, "acme-saw", a)
    cart = await cart_with(client, (saw, 1))
    declined = await post_checkout(client, cart, "pm_card_declined")
    assert declined.status_code == 422
    assert await count(database, SubOrder) == 0
    assert await events_of(database, "subOrders.create") == []


async def test_order_and_graphql_show_the_sub_orders(
    client: httpx.AsyncClient, admin: httpx.AsyncClient, database: Database
) -> None:
    _a, _b, order, _ = await two_vendor_order(client, database)
    body = await gql(
        admin,
        """query($id: String!) { order(idOrNumber: $id) {
          subOrders { vendor { slug } total { amount } lines { entityId quantity } } } }""",
        {"id": order["id"]},
    )
    subs = body["data"]["order"]["subOrders"]
    got = [(s["vendor"]["slug"], s["total"]["amount"], s["lines"][0]["quantity"]) for s in subs]
    assert sorted(got) == [
        ("acme", 3000, 2), ("bolt", 900, 1),
    ]  # fmt: skip


# --- the machine -----------------------------------------------------------------------------


async def test_a_vendor_confirms_ships_and_delivers_its_sub_order(
    app: Starlette, client: httpx.AsyncClient, database: Database
) -> None:
    a, _, _order, subs = await two_vendor_order(client, database)
    id = mine(subs, a)
    async with cookie_client(app, a.token) as http:
        confirmed = await http.post(f"{ME}/{id}/confirm")
        assert confirmed.status_code == 200, confirmed.text
        assert confirmed.json()["data"]["status"] == "confirmed"
        assert confirmed.json()["data"]["confirmedAt"] is not None
        missing = error(
            await http.post(f"{ME}/{id}/ship", json={"trackingNumber": "1Z999"}),
            422,
            "VALIDATION_FAILED",
        )
        assert "carrier" in str(missing)
        shipped = await http.post(
            f"{ME}/{id}/ship", json={"trackingNumber": "1Z999", "carrier": "UPS"}
        )
        data = shipped.json()["data"]
        assert (data["status"], data["trackingNumber"], data["carrier"]) == (
            "shipped",
            "1Z999",
            "UPS",
        )
        assert data["total"] == 3000 and data["lines"][0]["unitPrice"] == 1500
        delivered = await http.post(f"{ME}/{id}/deliver")
        assert delivered.json()["data"]["status"] == "delivered"
        listed = await http.get(ME)
        assert [s["id"] for s in listed.json()["data"]] == [id]
        assert listed.json()["data"][0]["shippingAddress"] is None
    changes = await events_of(database, "subOrders.statusChange")
    assert [e.data["after"]["status"] for e in changes] == ["confirmed", "shipped", "delivered"]


@pytest.mark.parametrize(
    ("moves", "action", "body"),
    [
        ([], "ship", {"trackingNumber": "T", "carrier": "C"}),
        ([], "deliver", None),
        (["confirm"], "confirm", None),
        (["confirm"], "deliver", None),
        (["confirm", "ship"], "cancel", {"reason": "too late"}),
        (["confirm", "ship"], "confirm", None),
        (["confirm", "ship", "deliver"], "cancel", {"reason": "too late"}),
        (["cancel"], "confirm", None),
    ],
)
async def test_an_illegal_sub_order_move_is_a_conflict(
    app: Starlette,
    client: httpx.AsyncClient,
    database: Database,
    moves: list[str],
    action: str,
    body: dict[str, str] | None,
) -> None:
    a, _, _, subs = await two_vendor_order(client, database)
    id = mine(subs, a)
    bodies = {"ship": {"trackingNumber": "T", "carrier": "C"}, "cancel": {"reason": "r"}}
    async with cookie_client(app, a.token) as http:
        for move in moves:
            done = await http.post(f"{ME}/{id}/{move}", json=bodies.get(move))
            assert done.status_code == 200, done.text
        before = [s.snapshot() for s in await sub_orders_of(database, str(subs[0].order_id))]
        refused = error(await http.post(f"{ME}/{id}/{action}", json=body), 409, "CONFLICT")
    assert "allowed next states" in refused["message"]
    after = [s.snapshot() for s in await sub_orders_of(database, str(subs[0].order_id))]
    assert after == before


async def test_cancel_needs_a_reason_and_gives_the_stock_back(
    app: Starlette, client: httpx.AsyncClient, database: Database
) -> None:
    a = await make_vendor(database, "acme")
    saw = await vendor_product(database, "acme-saw", a, stock=10)
    mug = await vendor_product(database, "house-mug", None, stock=10)
    order = await split_order(client, (saw, 3), (mug, 2))
    assert await available(client, saw) == 7
    id = mine(await sub_orders_of(database, order["id"]), a)
    async with cookie_client(app, a.token) as http:
        error(await http.post(f"{ME}/{id}/cancel", json={}), 422, "VALIDATION_FAILED")
        error(await http.post(f"{ME}/{id}/cancel", json={"reason": " "}), 422, "VALIDATION_FAILED")
        assert await available(client, saw) == 7
        await http.post(f"{ME}/{id}/confirm")
        cancelled = await http.post(f"{ME}/{id}/cancel", json={"reason": "out of stock"})
        assert cancelled.status_code == 200
        assert cancelled.json()["data"]["cancelReason"] == "out of stock"
    assert await available(client, saw) == 10 and await available(client, mug) == 8
    # The house's part is still live: the order is not cancelled (it moved forward when the
    # vendor confirmed, and never moves back).
    assert await order_status(database, order["id"]) == "confirmed"


async def test_cancelling_a_sub_order_of_an_unpaid_order_releases_its_hold(
    app: Starlette, admin: httpx.AsyncClient, client: httpx.AsyncClient, database: Database
) -> None:
    a = await make_vendor(database, "acme")
    saw = await vendor_product(database, "acme-saw", a, stock=10)
    mug = await vendor_product(database, "house-mug", None, stock=10)
    body = await gql(
        admin,
        """mutation($input: PlaceOrderInput!) { placeOrder(input: $input) { id } }""",
        {"input": {"items": [{"entityId": str(saw.id), "quantity": 4},
                              {"entityId": str(mug.id), "quantity": 1}]}},
    )  # fmt: skip
    order_id = body["data"]["placeOrder"]["id"]
    assert await available(client, saw) == 6
    id = mine(await sub_orders_of(database, order_id), a)
    async with cookie_client(app, a.token) as http:
        done = await http.post(f"{ME}/{id}/cancel", json={"reason": "cannot make it"})
        assert done.status_code == 200, done.text
    assert await available(client, saw) == 10 and await available(client, mug) == 9
    async with database.read_session() as session:
        live = (
            await session.scalars(
                select(Reservation.quantity).where(Reservation.status == "active")
            )
        ).all()
    assert list(live) == [1]


async def test_cancelling_the_whole_order_afterwards_gives_back_only_what_is_left(
    app: Starlette, admin: httpx.AsyncClient, client: httpx.AsyncClient, database: Database
) -> None:
    a = await make_vendor(database, "acme")
    b = await make_vendor(database, "bolt")
    saw = await vendor_product(database, "acme-saw", a, stock=10)
    hammer = await vendor_product(database, "bolt-hammer", b, stock=10)
    order = await split_order(client, (saw, 3), (hammer, 2))
    subs = await sub_orders_of(database, order["id"])
    async with cookie_client(app, a.token) as http:
        await http.post(f"{ME}/{mine(subs, a)}/cancel", json={"reason": "no"})
    cancelled = await admin.patch(
        f"/api/orders/{order['id']}/status", json={"status": "cancelled", "reason": "buyer"}
    )
    assert cancelled.status_code == 200, cancelled.text
    assert await available(client, saw) == 10 and await available(client, hammer) == 10
    statuses = {
        str(s.vendor_id): (s.status, s.cancel_reason)
        for s in await sub_orders_of(database, order["id"])
    }
    assert statuses == {a.id: ("cancelled", "no"), b.id: ("cancelled", "buyer")}


# --- the parent follows --------------------------------------------------------------------


async def test_the_parent_order_follows_its_sub_orders(
    app: Starlette, client: httpx.AsyncClient, database: Database
) -> None:
    a, b, order, subs = await two_vendor_order(client, database)
    ship = {"trackingNumber": "T1", "carrier": "DHL"}
    steps = [
        (a, "confirm", None, "confirmed"),
        (b, "confirm", None, "processing"),
        (a, "ship", ship, "partially_fulfilled"),
        (a, "deliver", None, "partially_fulfilled"),
        (b, "ship", ship, "partially_fulfilled"),
        (b, "deliver", None, "fulfilled"),
    ]
    for vendor, action, body, parent in steps:
        async with cookie_client(app, vendor.token) as http:
            done = await http.post(f"{ME}/{mine(subs, vendor)}/{action}", json=body)
            assert done.status_code == 200, done.text
        assert await order_status(database, order["id"]) == parent, (vendor.slug, action)
    moves = [(e.data["before"]["status"], e.data["after"]["status"])
             for e in await events_of(database, "orders.statusChange")]  # fmt: skip
    assert moves == [
        ("pending", "confirmed"), ("confirmed", "processing"),
        ("processing", "partially_fulfilled"), ("partially_fulfilled", "fulfilled"),
    ]  # fmt: skip


async def test_every_sub_order_cancelled_cancels_the_parent_and_delivered_rest_fulfils_it(
    app: Starlette, client: httpx.AsyncClient, database: Database
) -> None:
    a, b, order, subs = await two_vendor_order(client, database)
    for vendor in (a, b):
        async with cookie_client(app, vendor.token) as http:
            await http.post(f"{ME}/{mine(subs, vendor)}/cancel", json={"reason": "sorry"})
    assert await order_status(database, order["id"]) == "cancelled"
    a2, b2, other, subs2 = None, None, None, None
    c = await make_vendor(database, "crate")
    d = await make_vendor(database, "dock")
    one = await vendor_product(database, "crate-box", c)
    two = await vendor_product(database, "dock-rope", d)
    other = await split_order(client, (one, 1), (two, 1))
    subs2 = await sub_orders_of(database, other["id"])
    async with cookie_client(app, c.token) as http:
        await http.post(f"{ME}/{mine(subs2, c)}/cancel", json={"reason": "sorry"})
    async with cookie_client(app, d.token) as http:
        for action, body in (("confirm", None), ("ship", {"trackingNumber": "T", "carrier": "C"}),
                             ("deliver", None)):  # fmt: skip
            await http.post(f"{ME}/{mine(subs2, d)}/{action}", json=body)
    assert await order_status(database, other["id"]) == "fulfilled"
    del a2, b2


# --- isolation and the admin routes --------------------------------------------------------


async def test_a_vendor_never_reads_or_moves_another_vendors_sub_order(
    app: Starlette, client: httpx.AsyncClient, database: Database
) -> None:
    a, b, _, subs = await two_vendor_order(client, database)
    theirs = mine(subs, b)
    async with cookie_client(app, a.token) as http:
        for action, body in (("confirm", None), ("ship", {"trackingNumber": "T", "carrier": "C"}),
                             ("deliver", None), ("cancel", {"reason": "mine now"})):  # fmt: skip
            error(await http.post(f"{ME}/{theirs}/{action}", json=body), 404, "NOT_FOUND")
        error(await http.get(f"{MARKET}/sub-orders/{theirs}"), 404, "NOT_FOUND")
        own = await http.get(f"{MARKET}/sub-orders/{mine(subs, a)}")
        assert own.status_code == 200
        listed = await http.get(ME)
        assert [s["id"] for s in listed.json()["data"]] == [mine(subs, a)]
        # The admin routes are the admin's.
        error(await http.get(f"{MARKET}/sub-orders"), 403, "FORBIDDEN")
        error(
            await http.patch(f"{MARKET}/sub-orders/{theirs}/status", json={"status": "confirmed"}),
            403,
            "FORBIDDEN",
        )
        body = await gql(http, "query($id: ID!) { subOrder(id: $id) { id } }", {"id": theirs})
        assert body["errors"][0]["extensions"]["code"] == "NOT_FOUND"
    assert {s.status for s in await sub_orders_of(database, str(subs[0].order_id))} == {"pending"}
    error(await client.get(ME), 401, "UNAUTHORIZED")
    error(await client.post(f"{ME}/{theirs}/confirm"), 401, "UNAUTHORIZED")
    error(await client.get(f"{MARKET}/sub-orders"), 401, "UNAUTHORIZED")


async def test_a_suspended_vendor_reads_its_sub_orders_but_cannot_move_them(
    app: Starlette, admin: httpx.AsyncClient, client: httpx.AsyncClient, database: Database
) -> None:
    a, _, _, subs = await two_vendor_order(client, database)
    await admin.post(f"{MARKET}/vendors/{a.id}/suspend", json={"reason": "audit"})
    async with cookie_client(app, a.token) as http:
        assert (await http.get(ME)).status_code == 200
        error(await http.post(f"{ME}/{mine(subs, a)}/confirm"), 403, "FORBIDDEN")
    assert {s.status for s in await sub_orders_of(database, str(subs[0].order_id))} == {"pending"}


async def test_admin_lists_filters_reads_and_moves_any_sub_order(
    admin: httpx.AsyncClient, client: httpx.AsyncClient, database: Database
) -> None:
    a, b, order, subs = await two_vendor_order(client, database)
    everything = await admin.get(f"{MARKET}/sub-orders")
    assert everything.json()["meta"]["pagination"]["total"] == 2
    of_a = await admin.get(f"{MARKET}/sub-orders", params={"vendorId": a.id})
    assert [s["vendorId"] for s in of_a.json()["data"]] == [a.id]
    of_order = await admin.get(f"{MARKET}/sub-orders", params={"orderId": order["id"]})
    assert len(of_order.json()["data"]) == 2
    nothing = await admin.get(f"{MARKET}/sub-orders", params={"orderId": "nope"})
    assert nothing.json()["data"] == []
    moved = await admin.patch(
        f"{MARKET}/sub-orders/{mine(subs, b)}/status", json={"status": "confirmed"}
    )
    assert moved.status_code == 200 and moved.json()["data"]["status"] == "confirmed"
    confirmed = await admin.get(f"{MARKET}/sub-orders", params={"status": "confirmed"})
    assert [s["vendorId"] for s in confirmed.json()["data"]] == [b.id]
    one = await admin.get(f"{MARKET}/sub-orders/{mine(subs, a)}")
    assert one.json()["data"]["lines"][0]["quantity"] == 2
    error(
        await admin.patch(
            f"{MARKET}/sub-orders/{mine(subs, b)}/status", json={"status": "pending"}
        ),
        409,
        "CONFLICT",
    )
    error(
        await admin.patch(f"{MARKET}/sub-orders/{mine(subs, b)}/status", json={"status": "lost"}),
        422,
        "VALIDATION_FAILED",
    )
    shipped = await admin.patch(
        f"{MARKET}/sub-orders/{mine(subs, b)}/status",
        json={"status": "shipped", "trackingNumber": "X1", "carrier": "FedEx"},
    )
    assert shipped.json()["data"]["status"] == "shipped"
    error(await admin.get(f"{MARKET}/sub-orders/{uuid.uuid4()}"), 404, "NOT_FOUND")


# --- statement counts ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "statements"),
    [
        # The key, the page and its count, the lines, the vendors.
        ("{ subOrders { items { id lines { quantity } vendor { slug } } } }", 5),
        # The key, the page and its count, the orders' lines, payments and fulfillments,
        # their sub-orders, the sub-orders' lines, the vendors.
        ("{ orders { items { id subOrders { id lines { quantity } vendor { slug } } } } }", 9),
    ],
)
async def test_sub_orders_with_their_relations_cost_the_same_for_one_or_many(
    admin: httpx.AsyncClient,
    client: httpx.AsyncClient,
    database: Database,
    query: str,
    statements: int,
) -> None:
    counts = []
    for round in (1, 3):
        for i in range(round):
            a = await make_vendor(database, f"a{round}-{i}")
            b = await make_vendor(database, f"b{round}-{i}")
            one = await vendor_product(database, f"a{round}-{i}-x", a)
            two = await vendor_product(database, f"b{round}-{i}-y", b)
            await split_order(client, (one, 1), (two, 2))
        await gql(admin, query)  # the key's first use is recorded once: not the list's cost
        with count_queries(database) as queries:
            body = await gql(admin, query)
        assert "errors" not in body, body
        counts.append(queries.count)
    assert counts == [statements, statements], counts


async def test_sub_orders_reached_without_a_plan_load_through_the_loaders(
    app: Starlette, client: httpx.AsyncClient, database: Database
) -> None:
    a, _, _, subs = await two_vendor_order(client, database)
    async with cookie_client(app, a.token) as http:
        body = await gql(
            http,
            """mutation($id: ID!) { confirmSubOrder(input: {id: $id}) {
              status vendor { slug } lines { quantity } } }""",
            {"id": mine(subs, a)},
        )
    assert body["data"]["confirmSubOrder"] == {
        "status": "CONFIRMED", "vendor": {"slug": "acme"}, "lines": [{"quantity": 2}],
    }  # fmt: skip


# --- concurrency (PostgreSQL: SQLite serialises writers) ---------------------------------------


@pytest.mark.parametrize("round", range(3))
async def test_two_vendors_delivering_at_once_fulfil_the_order(
    client: httpx.AsyncClient, database: Database, round: int
) -> None:
    """Each move locks the order before reading its sub-orders: the second waits for the
    first and sees it delivered, so the parent ends fulfilled, never stuck part-way."""
    import asyncio

    from app.auth.actor import SYSTEM
    from app.services.marketplace.sub_orders import move_sub_order
    from tests.api.test_inventory_concurrency import require_concurrent_database

    require_concurrent_database(database)
    _, _, order, subs = await two_vendor_order(client, database)
    for step in ("confirmed", "shipped"):
        for sub in subs:
            async with database.unit_of_work() as uow:
                await move_sub_order(
                    uow, SYSTEM, id=str(sub.id), status=step, tracking_number="T", carrier="C"
                )
                await uow.commit()
    barrier = asyncio.Barrier(2)

    async def deliver(id: str) -> None:
        async with database.unit_of_work() as uow:
            await barrier.wait()
            await move_sub_order(uow, SYSTEM, id=id, status="delivered")
            await uow.commit()

    await asyncio.gather(*(deliver(str(sub.id)) for sub in subs))
    assert await order_status(database, order["id"]) == "fulfilled"
    moves = [e.data["after"]["status"] for e in await events_of(database, "orders.statusChange")]
    assert moves[-1] == "fulfilled" and moves.count("fulfilled") == 1
