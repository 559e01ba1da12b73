"""The payment provider's webhook: signed, stored once, confirms the order it names."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import orjson
import pytest
from sqlalchemy import func, select
from starlette.applications import Starlette

from app.auth.actor import SYSTEM
from app.db import Database
from app.models.orders import Order, PaymentWebhookEvent
from app.services import carts
from app.services.checkout import CheckoutRequest, checkout
from app.services.inventory.levels import set_level
from app.services.inventory.warehouses import create_warehouse
from app.services.payments import sign
from app.services.pricing.prices import create_price
from tests.conftest import client_for
from tests.support.catalog import make_entity

SECRET = "whsec_test_secret"
HOOK = "/api/payments/webhook"


@pytest.fixture
async def hooks(make_app: Callable[..., Starlette]) -> AsyncIterator[httpx.AsyncClient]:
    async with client_for(make_app(payment_webhook_secret=SECRET)) as client:
        yield client


async def placed_order(database: Database) -> Order:
    """A paid, pending order of 2 x 10.00 USD."""
    mug = await make_entity(database, slug="mug")
    async with database.unit_of_work() as uow:
        await create_price(uow, SYSTEM, entity_id=str(mug.id), currency="USD", amount=1000)
        await create_warehouse(uow, SYSTEM, code="MAIN", name="Main")
        await set_level(uow, SYSTEM, sku="mug", quantity=5)

        cart = await carts.create_cart(uow, SYSTEM, currency="USD")
        await carts.add_item(uow, SYSTEM, cart_id=str(cart.id), entity_id=str(mug.id), quantity=2)
        await uow.commit()
    order, _ = await checkout(
        database, SYSTEM, CheckoutRequest(cart_id=str(cart.id), payment_method_id="pm_card_visa")
    )
    return order


def event(order: Order, *, id: str = "evt_1", **intent: Any) -> bytes:
    obj = {"id": "pi_1", "amount": order.total, "currency": "usd",
           "metadata": {"orderId": str(order.id)}, **intent}  # fmt: skip
    return orjson.dumps({"id": id, "type": "payment_intent.succeeded", "data": {"object": obj}})


async def post(client: httpx.AsyncClient, body: bytes, signature: str | None) -> httpx.Response:
    headers = {"content-type": "application/json"}
    if signature is not None:
        headers["stripe-signature"] = signature
    return await client.post(HOOK, content=body, headers=headers)


async def status_of(database: Database, order: Order) -> str:
    async with database.read_session() as session:
        return (await session.get(Order, order.id)).status  # type: ignore[union-attr]


async def test_a_signed_success_confirms_the_order(
    hooks: httpx.AsyncClient, database: Database
) -> None:
    order = await placed_order(database)
    body = event(order)
    response = await post(hooks, body, sign(SECRET, body))
    assert response.status_code == 200
    assert response.json() == {"data": {"received": True, "outcome": "confirmed"}}
    assert await status_of(database, order) == "confirmed"


async def test_a_replayed_event_changes_nothing(
    hooks: httpx.AsyncClient, database: Database
) -> None:
    order = await placed_order(database)
    body = event(order)
    await post(hooks, body, sign(SECRET, body))
    again = await post(hooks, body, sign(SECRET, body))
    assert again.json()["data"]["outcome"] == "duplicate"
    async with database.read_session() as session:
        stored = await session.scalar(select(func.count()).select_from(PaymentWebhookEvent))
    assert stored == 1


# Names, not values: a signature carries the current time, and test ids must not.
BAD_SIGNATURES = {
    "missing": lambda: None,
    "garbage": lambda: "garbage",
    "stale-and-wrong": lambda: "t=123,v1=deadbeef",
    "other-secret": lambda: sign("another_secret", b"x"),
}


@pytest.mark.parametrize("kind", sorted(BAD_SIGNATURES))
async def test_a_bad_or_missing_signature_is_400_and_changes_nothing(
    hooks: httpx.AsyncClient, database: Database, kind: str
) -> None:
    order = await placed_order(database)
    response = await post(hooks, event(order), BAD_SIGNATURES[kind]())
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "INVALID_SIGNATURE"
    assert await status_of(database, order) == "pending"


async def test_a_stale_signature_is_refused(hooks: httpx.AsyncClient, database: Database) -> None:
    order = await placed_order(database)
    body = event(order)
    stale = sign(SECRET, body, timestamp=int(time.time()) - 301)
    assert (await post(hooks, body, stale)).status_code == 400
    assert await status_of(database, order) == "pending"


@pytest.mark.parametrize("change", [{"amount": 1}, {"currency": "eur"}])
async def test_an_amount_or_currency_not_the_orders_is_refused(
    hooks: httpx.AsyncClient, database: Database, change: dict[str, Any]
) -> None:
    order = await placed_order(database)
    body = event(order, **change)
    response = await post(hooks, body, sign(SECRET, body))
    assert response.status_code == 409
    assert await status_of(database, order) == "pending"
    async with database.read_session() as session:
        assert await session.scalar(select(func.count()).select_from(PaymentWebhookEvent)) == 0


async def test_without_a_configured_secret_everything_is_refused(
    client: httpx.AsyncClient, database: Database
) -> None:
    order = await placed_order(database)
    body = event(order)
    assert (await post(client, body, sign(SECRET, body))).status_code == 400


async def test_other_event_types_are_stored_and_ignored(
    hooks: httpx.AsyncClient, database: Database
) -> None:
    body = orjson.dumps({"id": "evt_x", "type": "charge.refunded", "data": {"object": {}}})
    response = await post(hooks, body, sign(SECRET, body))
    assert response.json()["data"]["outcome"] == "ignored"
