"""Orders: numbers, reading, and the documented status machine."""

from __future__ import annotations

import hmac
import secrets
import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.actor import Actor
from app.db import Database, UnitOfWork, insert_ignoring_duplicates
from app.errors import Conflict, NotFound, ValidationFailed
from app.ids import parse_uuid
from app.models.base import utcnow
from app.models.inventory import InventoryLevel
from app.models.orders import (
    ORDER_STATUSES,
    Fulfillment,
    Order,
    OrderLine,
    OrderSequence,
    Payment,
)
from app.pagination import Page, PageRequest, SortKey, paginate
from app.services import settlement
from app.services.apikeys import hash_key
from app.services.audit import record_change
from app.services.inventory.levels import apply_change
from app.services.marketplace import sub_orders

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
# A guest order's access token: shown once, in the checkout answer; stored as SHA-256.
ACCESS_TOKEN_PREFIX = "ot_"


def new_access_token() -> str:
    return ACCESS_TOKEN_PREFIX + secrets.token_urlsafe(32)


def access_token_hash(token: str) -> str:
    return hash_key(token)


def token_opens(order: Order, token: str | None) -> bool:
    """Whether `token` is the order's access token (compared in constant time)."""
    if not token or order.access_token_hash is None or len(token) > 200:
        return False
    return hmac.compare_digest(order.access_token_hash, hash_key(token))


# A number an order already has (restored or imported behind the counter) is passed over;
# past this many in a row, checkout is refused with the reason (each attempt on PostgreSQL
# still moves the sequence on, so a retry gets further).
NUMBER_SKIPS = 100
# PostgreSQL: the next value of the sequence as a number, or no row when an order has it.
FREE_NUMBER = text(
    "SELECT number FROM (SELECT 'ORD-' || CAST(:year AS text) || '-' || "
    "lpad(CAST(n AS text), greatest(6, length(CAST(n AS text))), '0') AS number "
    "FROM (SELECT nextval('order_number_seq') AS n) AS taken) AS candidate "
    "WHERE NOT EXISTS (SELECT 1 FROM orders WHERE orders.number = candidate.number)"
)


async def next_number(uow: UnitOfWork, year: int) -> str:
    """ORD-YYYY-NNNNNN from a source that never makes one checkout wait for another.

    PostgreSQL: `nextval('order_number_seq')`, which takes no lock a transaction keeps and is
    not rolled back: numbers are unique and increasing, with gaps where a checkout failed,
    and keep counting across years (the year in the number is the order's). SQLite: the
    year's counter row, incremented in the checkout's own transaction; SQLite serialises
    writers anyway, so this adds no wait, and a rolled-back checkout gives its number back.

    A number some order already has (the counter behind orders restored or imported) is
    passed over rather than failing the checkout on the unique number; on PostgreSQL that
    check rides in the same statement.
    """
    if not uow.database.is_sqlite:
        for _ in range(NUMBER_SKIPS):
            number = await uow.session.scalar(FREE_NUMBER, {"year": year})
            if number is not None:
                return str(number)
    else:
        await uow.session.execute(
            insert_ignoring_duplicates(uow.database, OrderSequence.__table__, ["year"]),
            [{"year": year, "last": 0}],
        )
        for _ in range(NUMBER_SKIPS):
            last = await uow.session.scalar(
                update(OrderSequence)
                .where(OrderSequence.year == year)
                .values(last=OrderSequence.last + 1)
                .returning(OrderSequence.last)
            )
            number = f"ORD-{year}-{last:06d}"
            if await uow.session.scalar(select(Order.id).where(Order.number == number)) is None:
                return number
    raise Conflict(
        f"The next {NUMBER_SKIPS} order numbers are all taken: the order number counter is "
        "behind the orders (restored or imported without it). Move it past them "
        "(PostgreSQL: setval('order_number_seq', ...)); on PostgreSQL each attempt also moves "
        "it on, so trying again gets further."
    )


@dataclass(frozen=True, slots=True)
class OrderView:
    order: Order
    lines: list[OrderLine]
    payments: list[Payment]
    fulfillments: list[Fulfillment]


def _may_see(actor: Actor, order: Order) -> bool:
    if actor.can(READ_ALL):
        return True
    return actor.is_customer(order.customer_id)


async def get_order(
    session: AsyncSession,
    actor: Actor,
    id_or_number: str,
    *,
    lock: bool = False,
    write: bool = False,
    access_token: str | None = None,
) -> Order:
    """By UUID or ORD-YYYY-NNNNNN; another customer's order is NOT_FOUND. `access_token`
    (a guest order's, from its checkout answer) opens that one order to anyone holding it; a
    wrong one is NOT_FOUND, as an unknown order.

    `write`: the caller is a command whose permission (orders:update, orders:create) was
    checked, which covers every order as catalog writes cover every status; without it a key
    holding orders:update alone could not find the order it may change."""
    parsed = parse_uuid(id_or_number)
    query = select(Order).where(Order.id == parsed if parsed else Order.number == id_or_number)
    if lock:
        query = query.with_for_update()
    order = await session.scalar(query)
    if order is None or not (write or _may_see(actor, order) or token_opens(order, access_token)):
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
        if actor.customer_id is None:
            actor.require(READ_ALL)  # UNAUTHORIZED when anonymous, else FORBIDDEN
        statement = statement.where(Order.customer_id == actor.customer_id)
    if status is not None:
        statement = statement.where(Order.status == status)
    return await paginate(
        session, statement, keys=(SortKey(Order.id, descending=True),), request=page
    )


async def change_status(
    database: Database,
    actor: Actor,
    *,
    id: str,
    status: str,
    reason: str | None = None,
    request_id: str | None = None,
) -> Order:
    """Move along the documented machine; anything else is a CONFLICT naming the allowed
    next states. Cancelling puts back what was sold, releases what is held, gives the
    promotion uses back and refunds what was captured; `refunded` refunds what is left.
    Refunds are asked of the provider after commit (`settlement.complete_refunds`)."""
    if status not in ORDER_STATUSES:
        raise ValidationFailed.field("status", f"One of {', '.join(ORDER_STATUSES)}.")
    if reason is not None and len(reason) > 500:
        raise ValidationFailed.field("reason", "At most 500 characters.")
    async with database.unit_of_work(request_id=request_id) as uow:
        order = await get_order(uow.session, actor, id, lock=True, write=True)
        allowed = TRANSITIONS[order.status]
        if status not in allowed:
            names = ", ".join(allowed) or "none"
            raise Conflict(
                f"Cannot move an order from {order.status} to {status}; "
                f"allowed next states: {names}.",
                details={"status": order.status, "allowed": ", ".join(allowed)},
            )
        if order.payment_status == "processing" and status in ("cancelled", "refunded"):
            raise Conflict("A payment for this order is being processed; try again shortly.")
        before = order.snapshot()
        refund = None
        if status == "cancelled":
            await sub_orders.cancel_with_parent(uow, actor, order, reason)
            await _restock(uow, actor, order)
            await settlement.release_order_holds(uow, actor, order)
            await settlement.give_back_promotions(uow, order)
            refund = await settlement.open_refund(uow, order, reason=reason or "order cancelled")
        if status == "refunded":
            refund = await settlement.open_refund(uow, order, reason=reason or "order refunded")
            if refund is None and order.payment_status != "refunded":
                raise Conflict("The order has no captured payment to refund.")
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
        await uow.commit()
    if refund is not None:
        await settlement.complete_refunds(database, actor, order.id, request_id=request_id)
    return await _reread(database, order.id)


async def refund_order(
    database: Database,
    actor: Actor,
    *,
    id: str,
    amount: int | None = None,
    currency: str | None = None,
    lines: Sequence[tuple[str, int]] | None = None,
    reason: str | None = None,
    request_id: str | None = None,
) -> Order:
    """Refund part of what was captured: an amount, or units of lines (each line's share of
    its total, the last unit taking the rounding, so refunding every unit refunds the line's
    total exactly). Never more than is left; the status stays, `paymentStatus` follows."""
    if (amount is None) == (not lines):
        raise ValidationFailed.field("amount", "Give an amount or lines, not both.")
    if reason is not None and len(reason) > 500:
        raise ValidationFailed.field("reason", "At most 500 characters.")
    if lines is not None and len(lines) > 100:
        raise ValidationFailed.field("lines", "At most 100 lines.")
    async with database.unit_of_work(request_id=request_id) as uow:
        order = await get_order(uow.session, actor, id, lock=True, write=True)
        if order.payment_status == "processing":
            raise Conflict("A payment for this order is being processed; try again shortly.")
        if currency is not None and currency != order.currency:
            raise ValidationFailed.field("currency", f"The order is in {order.currency}.")
        if lines:
            amount = await _refund_lines(uow, order, lines)
        before = order.snapshot()
        await settlement.open_refund(uow, order, amount=amount, reason=reason or "refund")
        record_change(
            uow,
            actor,
            event="orders.update",
            entity_type="order",
            entity_id=str(order.id),
            before=before,
            after=order.snapshot(),
            reason=f"refund of {amount} {order.currency} requested",
        )
        await uow.commit()
    await settlement.complete_refunds(database, actor, order.id, request_id=request_id)
    return await _reread(database, order.id)


async def _refund_lines(uow: UnitOfWork, order: Order, wanted: Sequence[tuple[str, int]]) -> int:
    rows = {
        str(line.id): line
        for line in (
            await uow.session.scalars(
                select(OrderLine).where(OrderLine.order_id == order.id).with_for_update()
            )
        ).all()
    }
    amount = 0
    for index, (line_id, quantity) in enumerate(wanted):
        line = rows.get(str(parse_uuid(line_id))) if parse_uuid(line_id) else None
        if line is None:
            raise ValidationFailed.field(f"lines.{index}.lineId", "Not a line of this order.")
        left = line.quantity - line.refunded_quantity
        if not 1 <= quantity <= left:
            raise ValidationFailed.field(f"lines.{index}.quantity", f"Between 1 and {left}.")
        done = line.total * line.refunded_quantity // line.quantity
        line.refunded_quantity += quantity
        amount += line.total * line.refunded_quantity // line.quantity - done
    if amount == 0:
        raise ValidationFailed.field("lines", "These units cost nothing to refund.")
    return amount


async def _reread(database: Database, order_id: uuid.UUID) -> Order:
    async with database.read_session() as session:
        order = await session.get(Order, order_id)
    assert order is not None
    return order


async def _restock(uow: UnitOfWork, actor: Actor, order: Order) -> None:
    """Put a cancelled order's units back where they were sold from (its sale movements),
    less what was returned already (a cancelled marketplace sub-order's)."""
    for level_id, units in await sub_orders.net_sold(uow.session, str(order.id)):
        level = await uow.session.get(InventoryLevel, level_id)
        assert level is not None
        await apply_change(
            uow,
            actor,
            level,
            type="return",
            delta=units,
            reason="order cancelled",
            reference_id=str(order.id),
            backorder=True,
        )
