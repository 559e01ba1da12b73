"""Orders through the engine dialect: listing, reading by UUID or number, and the status
machine of seed 003 (pending -> confirmed -> processing -> partially_fulfilled | fulfilled ->
refunded; cancel from pending, confirmed, processing, partially_fulfilled)."""

from __future__ import annotations

import itertools
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from starlette.applications import Starlette

from app.db import Database
from app.models.audit import AuditEntry, Event
from app.models.orders import ORDER_STATUSES
from app.services.orders import TRANSITIONS
from tests.api.test_checkout import NUMBER, available, cart_with, post_checkout, product
from tests.conftest import client_for
from tests.support.factories import make_api_key

ORDERS = "/api/orders"
UNKNOWN = "5b0c6f0e-0000-4000-8000-000000000000"

# The documented machine, written out independently of app/services/orders.py.
DOCUMENTED: dict[str, set[str]] = {
    "pending": {"confirmed", "cancelled"},
    "confirmed": {"processing", "cancelled"},
    "processing": {"partially_fulfilled", "fulfilled", "cancelled"},
    "partially_fulfilled": {"fulfilled", "refunded", "cancelled"},
    "fulfilled": {"refunded"},
    "cancelled": set(),
    "refunded": set(),
}
# A path of allowed moves from pending to each status.
PATH: dict[str, list[str]] = {
    "pending": [],
    "confirmed": ["confirmed"],
    "processing": ["confirmed", "processing"],
    "partially_fulfilled": ["confirmed", "processing", "partially_fulfilled"],
    "fulfilled": ["confirmed", "processing", "fulfilled"],
    "cancelled": ["cancelled"],
    "refunded": ["confirmed", "processing", "fulfilled", "refunded"],
}
STATUSES = [
    "pending",
    "confirmed",
    "processing",
    "partially_fulfilled",
    "fulfilled",
    "cancelled",
    "refunded",
]


async def order_of(
    client: httpx.AsyncClient, database: Database, slug: str = "mug", quantity: int = 2
) -> dict[str, Any]:
    mug = await product(database, slug, 1250, stock=10)
    cart = await cart_with(client, (mug, quantity))
    response = await post_checkout(client, cart)
    assert response.status_code == 201, response.text
    return response.json()["data"]


async def move(
    admin: httpx.AsyncClient, order_id: str, status: str, reason: str | None = None
) -> httpx.Response:
    body: dict[str, Any] = {"status": status}
    if reason is not None:
        body["reason"] = reason
    return await admin.patch(f"{ORDERS}/{order_id}/status", json=body)


async def keyed(app: Starlette, database: Database, *permissions: str) -> httpx.AsyncClient:
    _, plaintext = await make_api_key(database, permissions=permissions)
    return client_for(app, headers={"x-api-key": plaintext})


def test_the_documented_machine_is_the_one_implemented() -> None:
    assert set(ORDER_STATUSES) == set(STATUSES)
    assert {k: set(v) for k, v in TRANSITIONS.items()} == DOCUMENTED
    for status, path in PATH.items():
        here = "pending"
        for step in path:
            assert step in DOCUMENTED[here]
            here = step
        assert here == status


# --- listing and reading ----------------------------------------------------------------------


async def test_list_orders_newest_first_with_pagination_and_status_filter(
    client: httpx.AsyncClient, admin: httpx.AsyncClient, database: Database
) -> None:
    made = [await order_of(client, database, f"item-{i}", 1) for i in range(3)]
    assert (await move(admin, made[0]["id"], "confirmed")).status_code == 200

    everything = await admin.get(ORDERS)
    assert everything.status_code == 200, everything.text
    body = everything.json()
    assert [o["number"] for o in body["data"]] == [o["number"] for o in reversed(made)]
    assert body["meta"]["pagination"] == {"page": 1, "limit": 20, "total": 3, "totalPages": 1}
    first = body["data"][0]
    assert {"id", "number", "status", "paymentStatus", "total", "lines", "payments"} <= set(first)
    assert isinstance(first["total"], int) and first["total"] == 1250

    page = (await admin.get(ORDERS, params={"page": 2, "limit": 2})).json()
    assert [o["number"] for o in page["data"]] == [made[0]["number"]]
    assert page["meta"]["pagination"] == {"page": 2, "limit": 2, "total": 3, "totalPages": 2}

    pending = (await admin.get(ORDERS, params={"status": "pending"})).json()
    assert {o["id"] for o in pending["data"]} == {made[1]["id"], made[2]["id"]}
    assert pending["meta"]["pagination"]["total"] == 2
    confirmed = (await admin.get(ORDERS, params={"status": "confirmed"})).json()
    assert [o["id"] for o in confirmed["data"]] == [made[0]["id"]]
    refunded = (await admin.get(ORDERS, params={"status": "refunded"})).json()
    assert refunded["data"] == [] and refunded["meta"]["pagination"]["total"] == 0

    bad = await admin.get(ORDERS, params={"status": "shipped"})
    assert bad.status_code == 422 and bad.json()["error"]["code"] == "VALIDATION_FAILED"


async def test_listing_orders_needs_orders_read(
    app: Starlette, client: httpx.AsyncClient, database: Database
) -> None:
    await order_of(client, database)
    anonymous = await client.get(ORDERS)
    assert anonymous.status_code == 401, anonymous.text
    assert anonymous.json()["error"]["code"] == "UNAUTHORIZED"
    async with await keyed(app, database, "catalog:read") as other:
        refused = await other.get(ORDERS)
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "FORBIDDEN"
    async with await keyed(app, database, "orders:read") as reader:
        allowed = await reader.get(ORDERS)
    assert allowed.status_code == 200 and len(allowed.json()["data"]) == 1


async def test_get_an_order_by_uuid_and_by_number(
    client: httpx.AsyncClient, admin: httpx.AsyncClient, database: Database
) -> None:
    order = await order_of(client, database)
    assert NUMBER.match(order["number"])
    by_id = await admin.get(f"{ORDERS}/{order['id']}")
    by_number = await admin.get(f"{ORDERS}/{order['number']}")
    assert by_id.status_code == 200 and by_number.status_code == 200
    assert by_id.json() == by_number.json() == {"data": order}

    for missing in (UNKNOWN, "ORD-1999-000001", "nope"):
        response = await admin.get(f"{ORDERS}/{missing}")
        assert response.status_code == 404, missing
        assert response.json()["error"]["code"] == "NOT_FOUND"
    # Nobody but staff (or the customer) sees an order: anonymous gets 404.
    assert (await client.get(f"{ORDERS}/{order['id']}")).status_code == 404


# --- the status machine -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("start", "target"),
    list(itertools.product(STATUSES, STATUSES)),
    ids=[f"{a}->{b}" for a, b in itertools.product(STATUSES, STATUSES)],
)
async def test_status_machine(
    client: httpx.AsyncClient,
    admin: httpx.AsyncClient,
    database: Database,
    start: str,
    target: str,
) -> None:
    order = await order_of(client, database)
    for step in PATH[start]:
        reached = await move(admin, order["id"], step)
        assert reached.status_code == 200, reached.text
    assert (await admin.get(f"{ORDERS}/{order['id']}")).json()["data"]["status"] == start

    response = await move(admin, order["id"], target)
    if target in DOCUMENTED[start]:
        assert response.status_code == 200, response.text
        assert response.json()["data"]["status"] == target
    else:
        assert response.status_code == 409, response.text
        error = response.json()["error"]
        assert error["code"] == "CONFLICT"
        message = error["message"]
        assert start in message and target in message
        allowed = message.split("allowed next states:", 1)[1]
        named = {name.strip(" .") for name in allowed.split(",")}
        assert named == (DOCUMENTED[start] or {"none"}), message
    final = (await admin.get(f"{ORDERS}/{order['id']}")).json()["data"]["status"]
    assert final == (target if target in DOCUMENTED[start] else start)


@pytest.mark.parametrize("start", ["pending", "confirmed", "processing", "partially_fulfilled"])
async def test_cancelling_returns_the_stock(
    client: httpx.AsyncClient, admin: httpx.AsyncClient, database: Database, start: str
) -> None:
    mug = await product(database, "mug", 1250, stock=10)
    cart = await cart_with(client, (mug, 3))
    order = (await post_checkout(client, cart)).json()["data"]
    assert await available(client, mug) == 7
    for step in PATH[start]:
        assert (await move(admin, order["id"], step)).status_code == 200
    cancelled = await move(admin, order["id"], "cancelled", reason="customer asked")
    assert cancelled.status_code == 200, cancelled.text
    assert cancelled.json()["data"]["status"] == "cancelled"
    assert await available(client, mug) == 10
    # A second cancel is refused and returns nothing more.
    assert (await move(admin, order["id"], "cancelled")).status_code == 409
    assert await available(client, mug) == 10


@pytest.mark.parametrize("start", ["fulfilled", "partially_fulfilled"])
async def test_refunding_adds_a_refund_payment(
    client: httpx.AsyncClient, admin: httpx.AsyncClient, database: Database, start: str
) -> None:
    order = await order_of(client, database, quantity=2)
    for step in PATH[start]:
        assert (await move(admin, order["id"], step)).status_code == 200
    refunded = await move(admin, order["id"], "refunded")
    assert refunded.status_code == 200, refunded.text
    data = refunded.json()["data"]
    assert (data["status"], data["paymentStatus"]) == ("refunded", "refunded")
    payments = sorted(data["payments"], key=lambda p: p["amount"])
    assert [(p["amount"], p["status"]) for p in payments] == [
        (-2500, "refunded"),
        (2500, "succeeded"),
    ]
    assert payments[0]["providerReference"].startswith("re_test_")


async def test_a_status_change_is_audited_with_its_reason_and_emits_the_event(
    client: httpx.AsyncClient, admin: httpx.AsyncClient, database: Database
) -> None:
    order = await order_of(client, database)
    assert (
        await move(admin, order["id"], "confirmed", reason="payment checked")
    ).status_code == 200
    async with database.read_session() as session:
        audits = (
            await session.scalars(
                select(AuditEntry).where(
                    AuditEntry.entity_id == order["id"], AuditEntry.event == "orders.statusChange"
                )
            )
        ).all()
        events = (
            await session.scalars(
                select(Event).where(
                    Event.entity_id == order["id"], Event.type == "orders.statusChange"
                )
            )
        ).all()
    [audit] = audits
    assert audit.reason == "payment checked" and audit.entity_type == "order"
    assert audit.before is not None and audit.before["status"] == "pending"
    assert audit.after is not None and audit.after["status"] == "confirmed"
    [event] = events
    assert event.data["after"]["status"] == "confirmed"


async def test_a_refused_move_changes_and_records_nothing(
    client: httpx.AsyncClient, admin: httpx.AsyncClient, database: Database
) -> None:
    order = await order_of(client, database)
    assert (await move(admin, order["id"], "fulfilled")).status_code == 409
    async with database.read_session() as session:
        audits = (
            await session.scalars(
                select(AuditEntry).where(AuditEntry.event == "orders.statusChange")
            )
        ).all()
    assert audits == []


@pytest.mark.parametrize("status", ["shipped", "", "PENDING"])
async def test_an_unknown_status_is_422(
    client: httpx.AsyncClient, admin: httpx.AsyncClient, database: Database, status: str
) -> None:
    order = await order_of(client, database)
    response = await move(admin, order["id"], status)
    assert response.status_code == 422, response.text
    assert response.json()["error"]["code"] == "VALIDATION_FAILED"
    data = (await admin.get(f"{ORDERS}/{order['id']}")).json()["data"]
    assert data["status"] == "pending"


async def test_a_missing_status_or_overlong_reason_is_422(
    client: httpx.AsyncClient, admin: httpx.AsyncClient, database: Database
) -> None:
    order = await order_of(client, database)
    missing = await admin.patch(f"{ORDERS}/{order['id']}/status", json={})
    assert missing.status_code == 422, missing.text
    long = await move(admin, order["id"], "confirmed", reason="x" * 501)
    assert long.status_code == 422 and long.json()["error"]["code"] == "VALIDATION_FAILED"


async def test_changing_an_unknown_order_is_404(admin: httpx.AsyncClient) -> None:
    response = await move(admin, UNKNOWN, "confirmed")
    assert response.status_code == 404 and response.json()["error"]["code"] == "NOT_FOUND"


async def test_changing_status_needs_orders_update(
    app: Starlette, client: httpx.AsyncClient, admin: httpx.AsyncClient, database: Database
) -> None:
    order = await order_of(client, database)
    anonymous = await move(client, order["id"], "confirmed")
    assert anonymous.status_code == 401, anonymous.text
    async with await keyed(app, database, "orders:read") as reader:
        refused = await move(reader, order["id"], "confirmed")
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "FORBIDDEN"
    async with await keyed(app, database, "orders:update", "orders:read") as updater:
        allowed = await move(updater, order["id"], "confirmed")
    assert allowed.status_code == 200, allowed.text
    data = (await admin.get(f"{ORDERS}/{order['id']}")).json()["data"]
    assert data["status"] == "confirmed"
