"""Checkout under real concurrency: no oversell, and one Idempotency-Key makes one order.

The races run on PostgreSQL, where transactions overlap: every attempt runs the checkout
service on a dedicated pool (one connection each), all released together by a barrier. SQLite
takes its write lock up front (BEGIN IMMEDIATE) and serialises writers, so those races cannot
happen there and skip on it; the provider-overlap test runs on both.
"""

from __future__ import annotations

import asyncio
from collections import Counter

import pytest
from sqlalchemy import func, select

from app import payments
from app.auth.actor import SYSTEM
from app.db import Database
from app.errors import CheckoutFailed
from app.models.carts import Cart
from app.models.inventory import InventoryLevel, Reservation
from app.models.orders import Order, Payment
from app.services import carts as cart_service
from app.services.checkout import CheckoutRequest, checkout
from tests.api.test_checkout import product

SQLITE_REASON = "SQLite serialises writers (BEGIN IMMEDIATE), so the race cannot happen there"


def require_concurrent_database(database: Database) -> None:
    if database.is_sqlite:
        pytest.skip(SQLITE_REASON)


async def make_cart(database: Database, entity_id: str, quantity: int = 1) -> str:
    async with database.unit_of_work() as uow:
        cart = await cart_service.create_cart(uow, SYSTEM, currency="USD")
        await cart_service.add_item(
            uow, SYSTEM, cart_id=str(cart.id), entity_id=entity_id, quantity=quantity
        )
        await uow.commit()
    return str(cart.id)


async def test_50_concurrent_checkouts_of_10_units_sell_exactly_10(
    database: Database, database_url: str
) -> None:
    require_concurrent_database(database)
    mug = await product(database, "mug", 1250, stock=10)
    carts = [await make_cart(database, str(mug.id)) for _ in range(50)]

    racers = Database(database_url, pool_size=25)  # 25 + 25 overflow: one connection each
    barrier = asyncio.Barrier(len(carts))

    async def attempt(cart: str) -> str:
        await barrier.wait()
        try:
            order, replayed = await checkout(
                racers, SYSTEM, CheckoutRequest(cart_id=cart, payment_method_id="pm_card_visa")
            )
        except CheckoutFailed:
            return "failed"
        assert replayed is False
        return order.number

    try:
        # Anything but an order or CheckoutFailed (a deadlock, a 500) fails the test.
        outcomes = await asyncio.wait_for(
            asyncio.gather(*(attempt(cart) for cart in carts)), timeout=60
        )
    finally:
        await racers.dispose()

    numbers = [o for o in outcomes if o != "failed"]
    assert Counter("failed" if o == "failed" else "order" for o in outcomes) == {
        "order": 10,
        "failed": 40,
    }
    assert len(set(numbers)) == 10  # distinct order numbers
    async with database.read_session() as session:
        level = await session.scalar(select(InventoryLevel).where(InventoryLevel.sku == "mug"))
        assert level is not None
        assert (level.quantity, level.reserved_quantity, level.available_quantity) == (0, 0, 0)
        active = await session.scalar(
            select(func.count()).select_from(Reservation).where(Reservation.status == "active")
        )
        assert active == 0
        stored = (await session.scalars(select(Order.number))).all()
        assert sorted(stored) == sorted(numbers)
        assert await session.scalar(select(func.count()).select_from(Payment)) == 10
        statuses = Counter((await session.scalars(select(Cart.status))).all())
    assert statuses == {"checked_out": 10, "active": 40}


async def test_20_concurrent_checkouts_with_one_idempotency_key_make_one_order(
    database: Database, database_url: str
) -> None:
    require_concurrent_database(database)
    mug = await product(database, "mug", 1250, stock=100)
    cart = await make_cart(database, str(mug.id), quantity=2)
    request = CheckoutRequest(cart_id=cart, payment_method_id="pm_card_visa")

    racers = Database(database_url, pool_size=25)
    barrier = asyncio.Barrier(20)

    async def attempt() -> tuple[str, bool] | str:
        await barrier.wait()
        try:
            order, replayed = await checkout(racers, SYSTEM, request, idempotency_key="same-key")
        except CheckoutFailed as error:
            return f"CHECKOUT_FAILED: {error.message}"
        return str(order.id), replayed

    try:
        outcomes = await asyncio.wait_for(asyncio.gather(*(attempt() for _ in range(20))), 60)
    finally:
        await racers.dispose()

    async with database.read_session() as session:
        orders = (await session.scalars(select(Order))).all()
        payments = await session.scalar(select(func.count()).select_from(Payment))
        level = await session.scalar(select(InventoryLevel).where(InventoryLevel.sku == "mug"))
    assert len(orders) == 1 and payments == 1
    assert level is not None and level.available_quantity == 98
    failures = [o for o in outcomes if isinstance(o, str)]
    assert failures == [], Counter(failures)  # every retry answers the order, none fails
    assert {order_id for order_id, _ in outcomes} == {str(orders[0].id)}  # type: ignore[misc]
    assert sum(1 for _, replayed in outcomes if not replayed) == 1  # type: ignore[misc]


async def test_checkouts_of_different_products_call_the_provider_in_parallel(
    database: Database, database_url: str
) -> None:
    """With the provider at 200 ms (1 s on SQLite), no lock or transaction spans the call:
    20 checkouts of 20 products have their provider calls in flight together (on SQLite too,
    whose writers queue only for the short transactions on either side)."""
    products = [await product(database, f"p{i}", 1000 + i, stock=5) for i in range(20)]
    carts = [await make_cart(database, str(p.id)) for p in products]
    # SQLite runs the transactions on either side one at a time; a slower provider keeps
    # the measure about overlap rather than about how fast those queue on a busy machine.
    slow = payments.TestProvider(latency=1.0 if database.is_sqlite else 0.2)
    previous = payments.use(slow)
    racers = Database(database_url, pool_size=25)
    barrier = asyncio.Barrier(len(carts))

    async def attempt(cart: str) -> Order:
        await barrier.wait()
        order, _ = await checkout(
            racers, SYSTEM, CheckoutRequest(cart_id=cart, payment_method_id="pm_card_visa")
        )
        return order

    try:
        orders = await asyncio.wait_for(asyncio.gather(*(attempt(c) for c in carts)), 60)
    finally:
        payments.use(previous)
        await racers.dispose()
    assert len({o.id for o in orders}) == 20
    assert {o.payment_status for o in orders} == {"paid"}
    assert slow.calls == 20
    assert slow.peak >= 10, slow.peak  # one at a time would be 1
