"""Orders: numbers, reading, and the documented status machine."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app import payments
from app.auth.actor import Actor
from app.db import UnitOfWork, insert_ignoring_duplicates
from app.errors import Conflict, NotFound, ValidationFailed
from app.ids import parse_uuid
from app.models.base import utcnow
from app.models.inventory import InventoryLevel, InventoryMovement
from app.models.orders import (
    ORDER_STATUSES,
    Fulfillment,
    Order,
    OrderLine,
    OrderSequence,
    Payment,
)
from app.pagination import Page, PageRequest, SortKey, paginate
from app.services.audit import record_change
from app.services.inventory.levels import apply_change

# Exactly seed 003's machine: pending -> confirmed -> processing -> partially_fulfilled |
# fulfilled -> refunded; cancel from pending, confirmed, processing, partially_fulfilled.
TRANSITIONS: dict[str, tuple[str, ...]] = {
    "pending": ("confirmed", "cancelled"),
    "confirmed": ("processing", "cancelled"),
    "processing": ("partially_fulfilled", "fulfilled", "cancelled"),
    "partially_fulfilled": ("fulfilled", "refunded", "cancelled"),
    "fulfilled": ("refunded",),
    "cancelled": (),
    "refunded": (),
}
READ_ALL = "orders:read"


async def next_number(uow: UnitOfWork, year: int) -> str:
    """ORD-YYYY-NNNNNN: the year's counter, incremented under its row lock, so concurrent
    checkouts get distinct, gap-free numbers (a rolled-back checkout gives its number back)."""
    await uow.session.execute(
        insert_ignoring_duplicates(uow.database, OrderSequence.__table__, ["year"]),
        [{"year": year, "last": 0}],
    )
    last = await uow.session.scalar(
        update(OrderSequence)
        .where(OrderSequence.year == year)
        .values(last=OrderSequence.last + 1)
        .returning(OrderSequence.last)
    )
    return f"ORD-{year}-{last:06d}"


@dataclass(frozen=True, slots=True)
class OrderView:
    order: Order
    lines: list[OrderLine]
    payments: list[Payment]
    fulfillments: list[Fulfillment]


def _may_see(actor: Actor, order: Order) -> bool:
    if actor.can(READ_ALL):
        return True
    return actor.kind == "user" and order.customer_id is not None and actor.id == order.customer_id


async def get_order(
    session: AsyncSession, actor: Actor, id_or_number: str, *, lock: bool = False
) -> Order:
    """By UUID or ORD-YYYY-NNNNNN; another customer's order is NOT_FOUND."""
    parsed = parse_uuid(id_or_number)
    query = select(Order).where(Order.id == parsed if parsed else Order.number == id_or_number)
    if lock:
        query = query.with_for_update()
    order = await session.scalar(query)
    if order is None or not _may_see(actor, order):
        raise NotFound("Order not found.")
    return order


async def views(session: AsyncSession, orders: list[Order]) -> list[OrderView]:
    """Orders with their lines, payments and fulfillments: three statements whatever their
    number."""
    ids = [o.id for o in orders]
    lines = (await session.scalars(
        select(OrderLine).where(OrderLine.order_id.in_(ids)).order_by(OrderLine.id)
    )).all() if ids else []  # fmt: skip
    payments = (await session.scalars(
        select(Payment).where(Payment.order_id.in_(ids)).order_by(Payment.id)
    )).all() if ids else []  # fmt: skip
    shipped = (await session.scalars(
        select(Fulfillment).where(Fulfillment.order_id.in_(ids)).order_by(Fulfillment.id)
    )).all() if ids else []  # fmt: skip
    return [
        OrderView(
            order,
            [line for line in lines if line.order_id == order.id],
            [p for p in payments if p.order_id == order.id],
            [f for f in shipped if f.order_id == order.id],
        )
        for order in orders
    ]


async def list_orders(
    session: AsyncSession, actor: Actor, *, status: str | None, page: PageRequest
) -> Page[Order]:
    """Newest first. Staff (orders:read) see all; a customer sees their own."""
    if status is not None and status not in ORDER_STATUSES:
        raise ValidationFailed.field("status", f"One of {', '.join(ORDER_STATUSES)}.")
    statement = select(Order)
    if not actor.can(READ_ALL):
        if actor.kind != "user":
            actor.require(READ_ALL)  # UNAUTHORIZED when anonymous, else FORBIDDEN
        statement = statement.where(Order.customer_id == actor.id)
    if status is not None:
        statement = statement.where(Order.status == status)
    return await paginate(
        session, statement, keys=(SortKey(Order.id, descending=True),), request=page
    )


async def change_status(
    uow: UnitOfWork, actor: Actor, *, id: str, status: str, reason: str | None = None
) -> Order:
    """Move along the documented machine; anything else is a CONFLICT naming the allowed
    next states. Cancelling returns the stock; refunding refunds through the provider."""
    if status not in ORDER_STATUSES:
        raise ValidationFailed.field("status", f"One of {', '.join(ORDER_STATUSES)}.")
    if reason is not None and len(reason) > 500:
        raise ValidationFailed.field("reason", "At most 500 characters.")
    order = await get_order(uow.session, actor, id, lock=True)
    allowed = TRANSITIONS[order.status]
    if status not in allowed:
        names = ", ".join(allowed) or "none"
        raise Conflict(
            f"Cannot move an order from {order.status} to {status}; allowed next states: {names}.",
            details={"status": order.status, "allowed": ", ".join(allowed)},
        )
    before = order.snapshot()
    if status == "cancelled":
        await _restock(uow, actor, order)
    if status == "refunded":
        await _refund(uow, order)
    order.status = status
    order.updated_at = utcnow()
    await uow.session.flush()
    record_change(
        uow,
        actor,
        event="orders.statusChange",
        entity_type="order",
        entity_id=str(order.id),
        before=before,
        after=order.snapshot(),
        reason=reason,
    )
    return order


async def _restock(uow: UnitOfWork, actor: Actor, order: Order) -> None:
    """Put a cancelled order's units back where they were sold from (its sale movements)."""
    sold = (
        await uow.session.execute(
            select(InventoryMovement.level_id, InventoryMovement.delta)
            .where(
                InventoryMovement.reference_id == str(order.id),
                InventoryMovement.type == "sale",
            )
            .order_by(InventoryMovement.level_id)
        )
    ).all()
    for level_id, delta in sold:
        level = await uow.session.get(InventoryLevel, level_id)
        assert level is not None
        await apply_change(
            uow,
            actor,
            level,
            type="return",
            delta=-delta,
            reason="order cancelled",
            reference_id=str(order.id),
            backorder=True,
        )


async def _refund(uow: UnitOfWork, order: Order) -> None:
    paid = await uow.session.scalar(
        select(Payment).where(Payment.order_id == order.id, Payment.status == "succeeded")
    )
    if paid is None:
        raise Conflict("The order has no captured payment to refund.")
    provider = payments.provider()
    refund = await provider.refund(
        reference=paid.provider_reference,
        amount=paid.amount,
        currency=paid.currency,
        idempotency_key=f"refund:{paid.id}",
    )
    await uow.session.execute(
        insert(Payment).values(
            id=uuid.uuid4(),
            order_id=order.id,
            provider=provider.name,
            provider_reference=refund.reference,
            payment_method_id=paid.payment_method_id,
            amount=-paid.amount,
            currency=paid.currency,
            status="refunded" if refund.succeeded else "refund_failed",
            created_at=utcnow(),
        )
    )
    order.payment_status = "refunded"
