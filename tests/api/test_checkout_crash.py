"""A real server killed (SIGKILL) after the provider took the money and before checkout's
second transaction: after a restart, the same Idempotency-Key ends with exactly one paid
order, or with no order and the money refunded; never money without an order.

The test provider keeps its record in a file (CARTOGRAPH_TEST_PROVIDER_LEDGER), as a real
provider keeps its own, and records a charge before its 3 s latency elapses: the test waits
for the charge to appear there and kills the server inside that window.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select, update

from app import payments
from app.auth.actor import SYSTEM
from app.db import Database
from app.models.base import utcnow
from app.models.inventory import InventoryLevel, Reservation
from app.models.orders import Order, Payment
from app.services import settlement
from app.services.checkout import CheckoutRequest, checkout
from tests.api.test_checkout import product
from tests.api.test_checkout_concurrency import make_cart
from tests.support.catalog import entity_by_slug
from tests.support.factories import make_api_key
from tests.support.server import RunningServer, running_server

KEY = "crash-retry-1"
# One order, paid once, its two mugs sold and nothing left held.
PAID_ONCE = {
    "orders": [("pending", "paid")],
    "payments": [("checkout", "succeeded", 2500)],
    "stock": (3, 0),
    "active holds": 0,
}


@contextlib.contextmanager
def server(database_url: str, ledger: Path, latency_ms: int) -> Iterator[RunningServer]:
    with running_server(
        database_url,
        CARTOGRAPH_TEST_PROVIDER_LATENCY_MS=str(latency_ms),
        CARTOGRAPH_TEST_PROVIDER_LEDGER=str(ledger),
        CARTOGRAPH_RESERVATION_SWEEP_SECONDS="0",  # nothing but the test moves the holds
        CARTOGRAPH_RATE_LIMIT="1000/minute",
    ) as running:
        yield running


async def checkout_killed_after_the_charge(
    database: Database, database_url: str, ledger: Path, key: str
) -> dict[str, Any]:
    """A cart of 2 mugs (5 in stock) checked out on a server that is killed once the
    provider has charged; returns the request body to retry with."""
    mug = await product(database, "mug", 1250, stock=5)
    cart = await make_cart(database, str(mug.id), quantity=2)
    body = {"cartId": cart, "paymentMethodId": "pm_card_visa"}
    with server(database_url, ledger, latency_ms=3000) as first:
        assert first.process is not None
        async with httpx.AsyncClient(base_url=first.base_url, timeout=30) as http:
            request = asyncio.create_task(
                http.post(
                    "/api/checkout",
                    json=body,
                    headers={"x-api-key": key, "Idempotency-Key": KEY},
                )
            )
            for _ in range(500):
                if payments.Ledger(ledger).entries("charge"):
                    break
                await asyncio.sleep(0.01)
            assert len(payments.Ledger(ledger).entries("charge")) == 1, "the provider never charged"
            os.kill(first.process.pid, signal.SIGKILL)
            first.process.wait(timeout=10)
            with pytest.raises(httpx.TransportError):
                await request
    return body


async def state(database: Database) -> dict[str, Any]:
    async with database.read_session() as session:
        orders = (await session.execute(select(Order.status, Order.payment_status))).all()
        paid = (await session.execute(select(Payment.kind, Payment.status, Payment.amount))).all()
        level = await session.scalar(select(InventoryLevel).where(InventoryLevel.sku == "mug"))
        active = await session.scalar(
            select(func.count()).select_from(Reservation).where(Reservation.status == "active")
        )
    assert level is not None
    return {
        "orders": sorted(tuple(o) for o in orders),
        "payments": sorted(tuple(p) for p in paid),
        "stock": (level.quantity, level.reserved_quantity),
        "active holds": active,
    }


async def test_after_a_crash_between_charge_and_settlement_a_retry_makes_one_paid_order(
    database: Database, database_url: str, tmp_path: Path
) -> None:
    ledger = tmp_path / "provider.jsonl"
    _, key = await make_api_key(database)
    body = await checkout_killed_after_the_charge(database, database_url, ledger, key)
    # Killed mid-way: the order waits with its stock held and its charge pending.
    assert await state(database) == {
        "orders": [("pending", "processing")],
        "payments": [("checkout", "pending", 2500)],
        "stock": (5, 2),
        "active holds": 1,
    }

    with server(database_url, ledger, latency_ms=0) as second:
        async with httpx.AsyncClient(base_url=second.base_url, timeout=30) as http:
            retry = await http.post(
                "/api/checkout", json=body, headers={"x-api-key": key, "Idempotency-Key": KEY}
            )
            again = await http.post(
                "/api/checkout", json=body, headers={"x-api-key": key, "Idempotency-Key": KEY}
            )
    assert retry.status_code == 201, retry.text
    assert retry.json()["data"]["paymentStatus"] == "paid"
    assert again.json()["data"]["id"] == retry.json()["data"]["id"]
    assert len(payments.Ledger(ledger).entries("charge")) == 1  # asked twice, charged once
    assert await state(database) == PAID_ONCE


async def test_after_a_crash_the_reconciler_settles_without_a_retry(
    database: Database, database_url: str, tmp_path: Path
) -> None:
    ledger = tmp_path / "provider.jsonl"
    _, key = await make_api_key(database)
    await checkout_killed_after_the_charge(database, database_url, ledger, key)
    # The reconciler in this process asks the same provider record (the ledger file).
    previous = payments.use(payments.TestProvider(ledger=ledger))
    try:
        assert await settlement.reconcile(database, older_than=timedelta(0)) == 1
    finally:
        payments.use(previous)
    assert len(payments.Ledger(ledger).entries("charge")) == 1
    assert await state(database) == PAID_ONCE


async def test_reconcilers_of_several_processes_at_once_settle_a_crashed_checkout_once(
    database: Database, database_url: str, tmp_path: Path
) -> None:
    """Every `serve` process runs the reconciler (docs/deployment.md advises one worker per
    core): three at once take up the same pending charge, ask the provider under the same
    idempotency key (one charge) and settle it once (the payment row, locked, is pending for
    one of them only)."""
    ledger = tmp_path / "provider.jsonl"
    _, key = await make_api_key(database)
    await checkout_killed_after_the_charge(database, database_url, ledger, key)
    racers = [Database(database_url) for _ in range(3)]
    previous = payments.use(payments.TestProvider(ledger=ledger))
    try:
        taken = await asyncio.wait_for(
            asyncio.gather(
                *(settlement.reconcile(racer, older_than=timedelta(0)) for racer in racers)
            ),
            timeout=60,
        )
    finally:
        payments.use(previous)
        for racer in racers:
            await racer.dispose()
    assert sum(taken) >= 1, taken
    assert len(payments.Ledger(ledger).entries("charge")) == 1
    assert await state(database) == PAID_ONCE


async def test_after_a_crash_whose_stock_was_sold_meanwhile_the_money_goes_back(
    database: Database, database_url: str, tmp_path: Path
) -> None:
    ledger = tmp_path / "provider.jsonl"
    _, key = await make_api_key(database)
    body = await checkout_killed_after_the_charge(database, database_url, ledger, key)
    # Long after: the holds have lapsed and all five mugs went to someone else.
    async with database.unit_of_work() as uow:
        await uow.session.execute(
            update(Reservation).values(expires_at=utcnow() - timedelta(seconds=1))
        )
        await uow.commit()
    mug_id = (await entity_by_slug(database, "mug")).id
    other = await make_cart(database, str(mug_id), quantity=5)
    await checkout(database, SYSTEM, CheckoutRequest(cart_id=other, payment_method_id="pm_ok"))

    with server(database_url, ledger, latency_ms=0) as second:
        async with httpx.AsyncClient(base_url=second.base_url, timeout=30) as http:
            retry = await http.post(
                "/api/checkout", json=body, headers={"x-api-key": key, "Idempotency-Key": KEY}
            )
    assert retry.status_code == 422, retry.text
    assert "refunded" in str(retry.json()["error"])
    [charge] = payments.Ledger(ledger).entries(
        "charge"
    )  # the other order paid through this process's own provider
    [back] = payments.Ledger(ledger).entries("refund")
    assert (back["charge"], back["amount"]) == (charge["reference"], 2500)
    assert await state(database) == {
        "orders": [("cancelled", "refunded"), ("pending", "paid")],
        "payments": [
            ("checkout", "succeeded", 2500),
            ("checkout", "succeeded", 6250),
            ("refund", "refunded", -2500),
        ],
        "stock": (0, 0),
        "active holds": 0,
    }
