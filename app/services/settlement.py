"""Money that moves through the provider: charges and refunds, each settled in two short
transactions around the provider call and never inside one (DESIGN §10).

A charge is first written as a `pending` payment row (with the order's stock already held);
the provider is asked with no transaction open, under the idempotency key `charge:<row id>`;
a second transaction then turns the holds into sales and marks the order paid, or undoes the
attempt. A refund is written as `refund_pending`, asked for under `refund:<row id>`, and
completed the same way. A process that dies in between leaves the pending row behind: the
same request retried, or the server's reconciler, asks the provider again with the same key,
which answers the first outcome without moving money twice. So the provider may have taken
money only while a row says so, and that row always ends with an order paid, or refunded.
"""

from __future__ import annotations

import contextlib
import logging
import uuid
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import delete, func, select, update

from app import payments
from app.auth.actor import SYSTEM, Actor
from app.db import Database, UnitOfWork
from app.errors import Conflict, NotFound, ValidationFailed
from app.ids import uuid7
from app.models.base import utcnow
from app.models.carts import Cart
from app.models.orders import Order, OrderLine, Payment
from app.models.promotions import Promotion, PromotionRedemption
from app.services.audit import record_change
from app.services.inventory.batch import consume_holds, hold_lines
from app.services.inventory.reservations import release
from app.services.marketplace.split import record_split

log = logging.getLogger(__name__)

# Holds that wait for the provider's answer (a crash and a retry must fit in them).
SETTLE_HOLD = timedelta(minutes=15)
# The reconciler resumes rows left pending longer than this (a live request is done by then).
RESUME_AFTER = timedelta(minutes=2)
REFUNDABLE = ("refund_pending", "refunded")


@dataclass(frozen=True, slots=True)
class Settled:
    """What a charge came to: `paid`, `declined` (with the provider's message), or
    `refunded` (paid, but the stock was gone: the money goes back)."""

    order: Order | None
    outcome: str
    message: str | None = None


def outcome_of(order: Order | None) -> str:
    """What a settled checkout came to, read from its order: gone (declined), cancelled
    (refunded: the stock was gone), or paid."""
    if order is None:
        return "declined"
    return "refunded" if order.status == "cancelled" else "paid"


def open_charge(
    uow: UnitOfWork, order: Order, *, payment_method_id: str, kind: str, amount: int
) -> Payment:
    """Record the attempt before the provider is asked: its id is the idempotency key."""
    attempt = Payment(
        id=uuid7(),
        order_id=order.id,
        provider=payments.provider().name,
        provider_reference="",
        payment_method_id=payment_method_id,
        amount=amount,
        currency=order.currency,
        status="pending",
        kind=kind,
    )
    uow.session.add(attempt)
    order.payment_status = "processing"
    return attempt


async def pending_charge(database: Database, order_id: uuid.UUID) -> Payment | None:
    """The order's charge still waiting for the provider's answer, if any."""
    async with database.read_session() as session:
        return await session.scalar(
            select(Payment).where(Payment.order_id == order_id, Payment.status == "pending")
        )


async def charge(
    database: Database, actor: Actor, attempt: Payment, *, request_id: str | None = None
) -> Settled:
    """Ask the provider for a pending charge (again, if it was asked before) and settle it."""
    answer = await payments.provider().charge(
        amount=attempt.amount,
        currency=attempt.currency,
        payment_method_id=attempt.payment_method_id,
        idempotency_key=f"charge:{attempt.id}",
    )
    try:
        async with database.unit_of_work(request_id=request_id) as uow:
            settled = await _settle(uow, actor, attempt, answer)
            await uow.commit()
    except StockGone:
        async with database.unit_of_work(request_id=request_id) as uow:
            settled = await _settle(uow, actor, attempt, answer, stock_gone=True)
            await uow.commit()
    if settled.outcome == "refunded" and settled.order is not None:
        await complete_refunds(database, actor, settled.order.id, request_id=request_id)
    return settled


async def _settle(
    uow: UnitOfWork,
    actor: Actor,
    attempt: Payment,
    answer: payments.Charge,
    *,
    stock_gone: bool = False,
) -> Settled:
    order = await uow.session.scalar(
        select(Order).where(Order.id == attempt.order_id).with_for_update()
    )
    row = await uow.session.scalar(
        select(Payment).where(Payment.id == attempt.id).with_for_update()
    )
    if order is None or row is None:  # a concurrent settlement undid a declined checkout
        return Settled(None, "declined", answer.message)
    if row.status != "pending":  # settled meanwhile by a retry, the reconciler or a webhook
        outcome = "paid" if row.status == "succeeded" else "declined"
        return Settled(order, outcome, row.reason)
    row.updated_at = utcnow()
    if not answer.succeeded:
        return await _declined(uow, actor, order, row, answer.message)
    row.status = "succeeded"
    row.provider_reference = answer.reference
    placed = row.kind == "checkout"
    return await record_paid(uow, actor, order, placed=placed, reason="paid", stock_gone=stock_gone)


async def record_paid(
    uow: UnitOfWork,
    actor: Actor,
    order: Order,
    *,
    placed: bool,
    reason: str,
    stock_gone: bool = False,
) -> Settled:
    """A charge succeeded: the holds become sales and the order is paid (`placed`: this is
    the moment a checkout's order is created, for its event). If the stock is gone (its
    holds lapsed and it was sold meanwhile), selling raises StockGone; the caller rolls
    back and calls again with `stock_gone`: the order is cancelled and refunded."""
    before = order.snapshot()
    if not stock_gone:
        await sell_order(uow, actor, order)
        order.payment_status = "paid"
        order.updated_at = utcnow()
        record_change(
            uow, actor, event="orders.create" if placed else "orders.update",
            entity_type="order", entity_id=str(order.id),
            before=None if placed else before, after=order.snapshot(), reason=reason,
        )  # fmt: skip
        if placed:
            await record_split(uow, actor, order)
        return Settled(order, "paid")
    await release_order_holds(uow, actor, order)
    await give_back_promotions(uow, order)
    order.status = "cancelled"
    await open_refund(uow, order, reason="The stock ran out before the payment settled.")
    await uow.session.flush()
    record_change(
        uow, actor, event="orders.statusChange", entity_type="order", entity_id=str(order.id),
        before=before, after=order.snapshot(), reason="stock ran out; payment refunded",
    )  # fmt: skip
    return Settled(order, "refunded", "The stock ran out before the payment settled.")


async def _declined(
    uow: UnitOfWork, actor: Actor, order: Order, attempt: Payment, message: str | None
) -> Settled:
    """A checkout's order goes as if it had never been (its number stays a gap, its stock and
    promotion uses come back, its cart reopens); an order placed unpaid stays, unpaid."""
    if attempt.kind != "checkout":
        before = order.snapshot()
        attempt.status = "failed"
        attempt.reason = message
        order.payment_status = "pending"
        order.updated_at = utcnow()
        record_change(
            uow, actor, event="orders.update", entity_type="order", entity_id=str(order.id),
            before=before, after=order.snapshot(), reason=f"payment declined: {message}",
        )  # fmt: skip
        return Settled(order, "declined", message)
    await release_order_holds(uow, actor, order)
    await give_back_promotions(uow, order)
    if order.cart_id is not None:
        await uow.session.execute(
            update(Cart)
            .where(Cart.id == order.cart_id)
            .values(status="active", updated_at=utcnow())
        )
    await uow.session.execute(delete(Order).where(Order.id == order.id))
    return Settled(None, "declined", message)


class StockGone(Exception):
    """The order's holds lapsed and its stock was sold meanwhile: the transaction that tried
    to sell it must be rolled back, and the payment refunded in a fresh one."""


async def sell_order(uow: UnitOfWork, actor: Actor, order: Order) -> None:
    """Turn the order's holds into sales; a line whose holds lapsed is taken afresh if the
    stock is there, else StockGone. A line whose product was deleted since (its stock and
    holds went with it) is StockGone too."""
    lines = (
        await uow.session.execute(
            select(OrderLine.entity_id, OrderLine.variant_id, func.sum(OrderLine.quantity))
            .where(OrderLine.order_id == order.id)
            .group_by(OrderLine.entity_id, OrderLine.variant_id)
        )
    ).all()
    stocked = [(e, v, q) for e, v, q in lines if e is not None]
    if len(stocked) < len(lines):
        raise StockGone
    reason = f"order {order.number}"
    sold = await consume_holds(uow, actor, reference_id=str(order.id), reason=reason)
    short = [(e, v, q - sold.get((e, v), 0)) for e, v, q in stocked if q > sold.get((e, v), 0)]
    if not short:
        return
    try:
        await hold_lines(
            uow, actor, lines=short, reference_id=str(order.id),
            expires_at=utcnow() + SETTLE_HOLD, reason=reason,
        )  # fmt: skip
    except Conflict:
        raise StockGone from None
    await consume_holds(uow, actor, reference_id=str(order.id), reason=reason)


async def release_order_holds(uow: UnitOfWork, actor: Actor, order: Order) -> None:
    with contextlib.suppress(NotFound):  # nothing held
        await release(uow, actor, reference_id=str(order.id))


async def give_back_promotions(uow: UnitOfWork, order: Order) -> None:
    """The order's promotion uses no longer count (a cancelled or undone order)."""
    used = (
        await uow.session.scalars(
            delete(PromotionRedemption)
            .where(PromotionRedemption.order_id == str(order.id))
            .returning(PromotionRedemption.promotion_id)
        )
    ).all()
    if used:
        await uow.session.execute(
            update(Promotion)
            .where(Promotion.id.in_(used), Promotion.usage_count > 0)
            .values(usage_count=Promotion.usage_count - 1)
        )


# --- refunds ------------------------------------------------------------------------------


async def _payments(uow: UnitOfWork, order: Order) -> list[Payment]:
    """Every charge and refund of the order (a handful of rows)."""
    query = select(Payment).where(Payment.order_id == order.id)
    return list((await uow.session.scalars(query)).all())


async def refundable(uow: UnitOfWork, order: Order) -> tuple[Payment | None, int]:
    """The order's captured charge and what of it is not yet refunded (or being refunded)."""
    rows = await _payments(uow, order)
    captured = next((p for p in rows if p.amount > 0 and p.status == "succeeded"), None)
    if captured is None:
        return None, 0
    back = sum(-p.amount for p in rows if p.kind == "refund" and p.status in REFUNDABLE)
    return captured, captured.amount - back


async def open_refund(
    uow: UnitOfWork, order: Order, *, amount: int | None = None, reason: str | None = None
) -> Payment | None:
    """Record a refund of `amount` (default: all that is left) to be asked of the provider
    after commit; None when nothing was captured or everything is refunded already."""
    captured, left = await refundable(uow, order)
    if captured is None or left == 0:
        if amount is not None:
            raise Conflict("The order has no captured payment left to refund.")
        return None
    amount = left if amount is None else amount
    if not 1 <= amount <= left:
        raise ValidationFailed.field("amount", f"Between 1 and {left} (minor units).")
    refund = Payment(
        id=uuid7(),
        order_id=order.id,
        provider=captured.provider,
        provider_reference=captured.provider_reference,
        payment_method_id=captured.payment_method_id,
        amount=-amount,
        currency=captured.currency,
        status="refund_pending",
        kind="refund",
        reason=reason,
    )
    uow.session.add(refund)
    order.payment_status = "refund_pending"
    order.updated_at = utcnow()
    await uow.session.flush()
    return refund


async def complete_refunds(
    database: Database, actor: Actor, order_id: uuid.UUID, *, request_id: str | None = None
) -> None:
    """Ask the provider for every pending refund of the order, then record each answer. A
    provider that cannot be reached leaves the refund pending for the next try."""
    async with database.read_session() as session:
        pending = (
            await session.scalars(
                select(Payment).where(
                    Payment.order_id == order_id, Payment.status == "refund_pending"
                )
            )
        ).all()
    for refund in pending:
        try:
            answer = await payments.provider().refund(
                reference=refund.provider_reference,
                amount=-refund.amount,
                currency=refund.currency,
                idempotency_key=f"refund:{refund.id}",
            )
        except Exception:  # the provider is out of reach: the row stays pending
            log.exception("refund %s: provider call failed; left pending", refund.id)
            continue
        async with database.unit_of_work(request_id=request_id) as uow:
            order = await uow.session.scalar(
                select(Order).where(Order.id == order_id).with_for_update()
            )
            row = await uow.session.get(Payment, refund.id, with_for_update=True)
            if order is None or row is None or row.status != "refund_pending":
                continue
            before = order.snapshot()
            row.status = "refunded" if answer.succeeded else "refund_failed"
            row.provider_reference = answer.reference
            row.updated_at = utcnow()
            await uow.session.flush()
            order.payment_status = await payment_status(uow, order)
            order.updated_at = utcnow()
            await uow.session.flush()
            record_change(
                uow, actor, event="orders.update", entity_type="order",
                entity_id=str(order.id), before=before, after=order.snapshot(),
                reason=f"refund {row.status}: {-row.amount} {row.currency}",
            )  # fmt: skip
            await uow.commit()


async def payment_status(uow: UnitOfWork, order: Order) -> str:
    """What the order's payment rows add up to."""
    rows = await _payments(uow, order)
    captured = sum(p.amount for p in rows if p.amount > 0 and p.status == "succeeded")
    back = sum(-p.amount for p in rows if p.kind == "refund" and p.status == "refunded")
    if any(p.status == "refund_pending" for p in rows):
        return "refund_pending"
    if any(p.status == "pending" for p in rows):
        return "processing"
    if captured and back >= captured:
        return "refunded"
    if back:
        return "partially_refunded"
    return "paid" if captured else "pending"


# --- the reconciler -----------------------------------------------------------------------


async def reconcile(database: Database, *, older_than: timedelta = RESUME_AFTER) -> int:
    """Finish what a crash left half done: charges still pending and refunds still pending
    from before `older_than` ago. Returns how many rows it took up."""
    cutoff = utcnow() - older_than
    async with database.read_session() as session:
        rows = (
            await session.execute(
                select(Payment.id, Payment.order_id, Payment.status)
                .where(
                    Payment.status.in_(("pending", "refund_pending")),
                    Payment.updated_at <= cutoff,
                )
                .order_by(Payment.created_at)
                .limit(100)
            )
        ).all()
    for payment_id, order_id, status in rows:
        try:
            if status == "pending":
                attempt = await pending_charge(database, order_id)
                if attempt is not None:
                    await charge(database, SYSTEM, attempt)
            else:
                await complete_refunds(database, SYSTEM, order_id)
        except Exception:
            log.exception("reconciling payment %s failed", payment_id)
    return len(rows)
