"""Marketplace money for tests: vendor sub-orders ready to deliver (made straight in the tables:
checkout's split is tested on its own), delivering them through the real service, commission
rules, and a fresh test payout provider installed for the test."""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import func, insert, select

from app import payouts
from app.auth.actor import SYSTEM
from app.db import Database
from app.models.catalog import entity_categories
from app.models.ledger import BalanceEntry
from app.models.marketplace import SubOrder
from app.models.orders import Order, OrderLine
from app.services.marketplace import commissions as rule_service
from app.services.marketplace import ledger as ledger_service
from app.services.marketplace.sub_orders import move_sub_order

_numbers = itertools.count(1)


@contextmanager
def fresh_payout_provider() -> Iterator[payouts.TestPayoutProvider]:
    """A fresh test payout provider for the block (the process's is put back after)."""
    fresh = payouts.TestPayoutProvider()
    previous = payouts.use(fresh)
    try:
        yield fresh
    finally:
        payouts.use(previous)


async def shipped_sub_order(
    database: Database,
    vendor_id: str,
    *lines: tuple[int, int],
    currency: str = "USD",
    entity_ids: list[uuid.UUID | None] | None = None,
) -> str:
    """A paid order with one shipped sub-order of `vendor_id`, its lines (total, quantity)."""
    entity_ids = entity_ids or [None] * len(lines)
    total = sum(t for t, _ in lines)
    number = f"L{uuid.uuid4().hex[:8]}{next(_numbers)}"
    async with database.unit_of_work() as uow:
        order = Order(
            number=number,
            status="partially_fulfilled",
            payment_status="paid",
            currency=currency,
            subtotal=total,
            total=total,
        )
        uow.session.add(order)
        await uow.session.flush()
        sub_order = SubOrder(
            order_id=order.id,
            order_number=number,
            vendor_id=uuid.UUID(vendor_id),
            status="shipped",
            currency=currency,
            total=total,
            tracking_number="1Z",
            carrier="UPS",
        )
        uow.session.add(sub_order)
        await uow.session.flush()
        for (line_total, quantity), entity_id in zip(lines, entity_ids, strict=True):
            uow.session.add(
                OrderLine(
                    order_id=order.id,
                    entity_id=entity_id,
                    quantity=quantity,
                    unit_price=line_total // max(quantity, 1),
                    total=line_total,
                    sub_order_id=sub_order.id,
                    title="thing",
                )
            )
        await uow.commit()
    return str(sub_order.id)


async def deliver(database: Database, sub_order_id: str) -> None:
    async with database.unit_of_work() as uow:
        await move_sub_order(uow, SYSTEM, id=sub_order_id, status="delivered")
        await uow.commit()


async def sale(database: Database, vendor_id: str, *lines: tuple[int, int], **kw: Any) -> str:
    """A delivered sub-order of `vendor_id` (the ledger has credited it): its id."""
    made = await shipped_sub_order(database, vendor_id, *lines, **kw)
    await deliver(database, made)
    return made


async def make_rule(database: Database, **given: Any) -> str:
    async with database.unit_of_work() as uow:
        rule = await rule_service.create_rule(
            uow, SYSTEM, input=rule_service.RuleInput(**{"name": "rule", **given})
        )
        await uow.commit()
    return str(rule.id)


async def in_category(database: Database, entity_id: uuid.UUID, category_id: uuid.UUID) -> None:
    async with database.unit_of_work() as uow:
        await uow.session.execute(
            insert(entity_categories).values(entity_id=entity_id, category_id=category_id)
        )
        await uow.commit()


async def balance(database: Database, vendor_id: str, currency: str = "USD") -> int:
    async with database.read_session() as session:
        found = await ledger_service.balances_by_vendor(session, [uuid.UUID(vendor_id)])
    return found[uuid.UUID(vendor_id)].get(currency, 0)


async def entries(database: Database, vendor_id: str) -> list[tuple[str, int]]:
    """(kind, amount) of the vendor's entries, oldest first."""
    async with database.read_session() as session:
        rows = await session.execute(
            select(BalanceEntry.kind, BalanceEntry.amount)
            .where(BalanceEntry.vendor_id == uuid.UUID(vendor_id))
            .order_by(BalanceEntry.id)
        )
        return [(kind, amount) for kind, amount in rows.all()]


async def entry_sum(database: Database, vendor_id: str, currency: str = "USD") -> int:
    async with database.read_session() as session:
        total = await session.scalar(
            select(func.coalesce(func.sum(BalanceEntry.amount), 0)).where(
                BalanceEntry.vendor_id == uuid.UUID(vendor_id), BalanceEntry.currency == currency
            )
        )
    return int(total or 0)
