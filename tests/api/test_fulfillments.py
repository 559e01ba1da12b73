"""Fulfillments: shipping lines moves the order to partially_fulfilled, then fulfilled."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy import select

from app.auth.actor import SYSTEM
from app.db import Database
from app.models.audit import Event
from app.models.orders import Order
from app.services import carts
from app.services.checkout import CheckoutRequest, checkout
from app.services.inventory.levels import set_level
from app.services.inventory.warehouses import create_warehouse
from app.services.orders import change_status
from app.services.pricing.prices import create_price
from tests.support.catalog import make_entity
from tests.support.queries import count_queries


async def confirmed_order(database: Database, *, quantity: int = 3, slug: str = "mug") -> Order:
    mug = await make_entity(database, slug=slug)
    async with database.unit_of_work() as uow:
        await create_price(uow, SYSTEM, entity_id=str(mug.id), currency="USD", amount=500)
        if slug == "mug":
            await create_warehouse(uow, SYSTEM, code="MAIN", name="Main")
        await set_level(uow, SYSTEM, sku=slug, quantity=50)
        cart = await carts.create_cart(uow, SYSTEM, currency="USD")
        await carts.add_item(
            uow, SYSTEM, cart_id=str(cart.id), entity_id=str(mug.id), quantity=quantity
        )
        await uow.commit()
    order, _ = await checkout(
        database, SYSTEM, CheckoutRequest(cart_id=str(cart.id), payment_method_id="pm_card_visa")
    )
    return await change_status(database, SYSTEM, id=str(order.id), status="confirmed")


async def line_of(admin: httpx.AsyncClient, order: Order) -> str:
    data = (await admin.get(f"/api/orders/{order.id}")).json()["data"]
    return data["lines"][0]["id"]


async def ship(admin: httpx.AsyncClient, order: Order, line: str, quantity: int) -> httpx.Response:
    return await admin.post(
        f"/api/orders/{order.id}/fulfillments",
        json={"lines": [{"lineId": line, "quantity": quantity}], "carrier": "UPS",
              "trackingNumber": "1Z999"},
    )  # fmt: skip


async def test_partial_then_full_fulfillment_moves_the_status_by_itself(
    admin: httpx.AsyncClient, database: Database
) -> None:
    order = await confirmed_order(database)
    line = await line_of(admin, order)
    first = await ship(admin, order, line, 1)
    assert first.status_code == 201
    assert first.json()["data"]["lines"] == [{"lineId": line, "quantity": 1}]
    assert first.json()["data"]["trackingNumber"] == "1Z999"
    read = (await admin.get(f"/api/orders/{order.id}")).json()["data"]
    assert read["status"] == "partially_fulfilled"
    assert (await ship(admin, order, line, 2)).status_code == 201
    read = (await admin.get(f"/api/orders/{order.id}")).json()["data"]
    assert read["status"] == "fulfilled" and len(read["fulfillments"]) == 2
    listed = await admin.get(f"/api/orders/{order.id}/fulfillments")
    assert listed.status_code == 200 and len(listed.json()["data"]) == 2
    async with database.read_session() as session:
        types = (await session.scalars(select(Event.type).order_by(Event.id))).all()
    assert types.count("fulfillment.create") == 2
    assert types.count("orders.statusChange") == 3  # confirmed, partially_fulfilled, fulfilled


@pytest.mark.parametrize("quantity", [0, 4])
async def test_more_than_is_left_or_nothing_is_422(
    admin: httpx.AsyncClient, database: Database, quantity: int
) -> None:
    order = await confirmed_order(database)
    response = await ship(admin, order, await line_of(admin, order), quantity)
    assert response.status_code == 422
    assert "lines.0.quantity" in response.json()["error"]["details"]


async def test_a_pending_order_cannot_be_fulfilled(
    admin: httpx.AsyncClient, database: Database
) -> None:
    order = await confirmed_order(database)
    await change_status(database, SYSTEM, id=str(order.id), status="cancelled")
    response = await ship(admin, order, await line_of(admin, order), 1)
    assert response.status_code == 409


async def test_fulfilling_needs_orders_update(
    client: httpx.AsyncClient, database: Database
) -> None:
    order = await confirmed_order(database)
    response = await client.post(
        f"/api/orders/{order.id}/fulfillments", json={"lines": [{"lineId": "x", "quantity": 1}]}
    )
    assert response.status_code == 401


@pytest.mark.parametrize("count", [2, 6])
async def test_orders_list_with_lines_and_fulfillments_is_constant_in_n(
    admin: httpx.AsyncClient, database: Database, count: int
) -> None:
    for i in range(count):
        await confirmed_order(database, slug="mug" if i == 0 else f"mug-{i}")
    await admin.get("/api/orders")  # the admin key's first use records lastUsedAt
    with count_queries(database) as queries:
        response = await admin.get("/api/orders")
    assert len(response.json()["data"]) == count
    # the key, the page, the count, lines, payments, fulfillments
    assert queries.count == 6, queries.statements
