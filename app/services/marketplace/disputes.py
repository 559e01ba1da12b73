"""Disputes: a shopper's complaint about one of their delivered vendor sub-orders.

open (the signed-in customer: a reason and a message; one unresolved dispute per sub-order)
-> responded (the vendor's user answers) -> escalated (the customer or the vendor asks the
marketplace to decide; also straight from open, when the vendor does not answer) -> resolved
(marketplace:admin, from any unresolved state, with an outcome and a note). Any other move is
a CONFLICT naming the allowed next states.

Outcomes: `refund_full` (what is left to refund on the sub-order), `refund_partial` (an
amount, at most that), `no_refund`. A refund moves through the ledger (`record_refund`, keyed
`dispute:<id>`) and the order's payment, like a received return.
"""

from __future__ import annotations

import uuid

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.actor import Actor
from app.db import Database, UnitOfWork
from app.errors import Conflict, Forbidden, NotFound, ValidationFailed
from app.ids import parse_uuid
from app.models.aftercare import (
    DISPUTE_OUTCOMES,
    DISPUTE_REASONS,
    DISPUTE_STATUSES,
    MESSAGE_LENGTH,
    REASON_LENGTH,
    Dispute,
)
from app.models.base import utcnow
from app.models.ledger import BalanceEntry, Commission
from app.models.marketplace import SubOrder
from app.pagination import Page, PageRequest, SortKey
from app.services import settlement
from app.services.audit import record_change
from app.services.marketplace import ADMIN
from app.services.marketplace.aftercare import (
    customers_sub_order,
    give_money_back,
    list_reached,
    reach_of,
    reached,
    require_customer,
    require_delivered,
)
from app.services.marketplace.vendors import require_vendor_user
from app.text import trimmed

ENTITY = "dispute"
DISPUTE_ORDER = (SortKey(Dispute.id, descending=True),)
TRANSITIONS = {
    "open": ("responded", "escalated", "resolved"),
    "responded": ("escalated", "resolved"),
    "escalated": ("resolved",),
    "resolved": (),
}
NOT_FOUND = "Dispute not found."
STAMPS = {"responded": "responded_at", "escalated": "escalated_at", "resolved": "resolved_at"}


async def open_dispute(
    uow: UnitOfWork, actor: Actor, *, sub_order_id: str, reason: str, message: str | None
) -> Dispute:
    """The customer disputes their delivered sub-order (see the module)."""
    if reason not in DISPUTE_REASONS:
        raise ValidationFailed.field("reason", f"One of {', '.join(DISPUTE_REASONS)}.")
    text = trimmed(message, "message", MESSAGE_LENGTH, required=True)
    customer_id = require_customer(actor)
    sub_order = await customers_sub_order(uow.session, actor, sub_order_id, lock=True)
    require_delivered(sub_order, "a dispute")
    assert sub_order.vendor_id is not None and text is not None
    busy = await uow.session.scalar(
        select(Dispute.id).where(Dispute.sub_order_id == sub_order.id, Dispute.status != "resolved")
    )
    row = Dispute(
        sub_order_id=sub_order.id, vendor_id=sub_order.vendor_id, customer_id=customer_id,
        status="open", reason=reason, message=text, currency=sub_order.currency,
    )  # fmt: skip
    if busy is None:
        uow.session.add(row)
        try:
            async with uow.session.begin_nested():
                await uow.session.flush()
        except IntegrityError:
            busy = uuid.UUID(int=0)  # opened concurrently
    if busy is not None:
        raise Conflict(
            "This sub-order has an unresolved dispute already.", details={"disputeId": str(busy)}
        )
    record_change(
        uow, actor, event="disputes.create", entity_type=ENTITY, entity_id=str(row.id),
        after=row.snapshot(), reason=reason,
    )  # fmt: skip
    return row


async def _locked(session: AsyncSession, id: str) -> Dispute | None:
    parsed = parse_uuid(id)
    if parsed is None:
        return None
    return await session.scalar(select(Dispute).where(Dispute.id == parsed).with_for_update())


def _check_move(row: Dispute, target: str) -> None:
    allowed = TRANSITIONS[row.status]
    if target not in allowed:
        raise Conflict(
            f"Cannot move a dispute from {row.status} to {target}; "
            f"allowed next states: {', '.join(allowed) or 'none'}.",
            details={"status": row.status, "allowed": ", ".join(allowed)},
        )


def _moved(uow: UnitOfWork, actor: Actor, row: Dispute, target: str, before: dict) -> None:  # type: ignore[type-arg]
    row.status = target
    setattr(row, STAMPS[target], utcnow())
    row.updated_at = utcnow()
    record_change(
        uow, actor, event="disputes.statusChange", entity_type=ENTITY, entity_id=str(row.id),
        before=before, after=row.snapshot(),
    )  # fmt: skip


async def respond_to_dispute(
    uow: UnitOfWork, actor: Actor, *, id: str, message: str | None
) -> Dispute:
    """The vendor's user answers an open dispute on its sub-order: open -> responded."""
    text = trimmed(message, "message", MESSAGE_LENGTH, required=True)
    require_vendor_user(actor)
    row = await _locked(uow.session, id)
    if row is None or not actor.is_vendor(row.vendor_id):
        raise NotFound(NOT_FOUND)
    _check_move(row, "responded")
    before = row.snapshot()
    row.response = text
    _moved(uow, actor, row, "responded", before)
    await uow.session.flush()
    return row


async def escalate_dispute(
    uow: UnitOfWork, actor: Actor, *, id: str, message: str | None = None
) -> Dispute:
    """The customer or the vendor asks marketplace:admin to decide: open or responded ->
    escalated."""
    text = trimmed(message, "message", MESSAGE_LENGTH, required=False)
    reach = reach_of(actor)
    row = await _locked(uow.session, id)
    if row is None or not reach.reaches(row):
        raise NotFound(NOT_FOUND)
    if actor.is_vendor(row.vendor_id):
        side = "vendor"
    elif actor.is_customer(row.customer_id):
        side = "customer"
    else:
        raise Forbidden("The customer or the vendor escalates; marketplace:admin resolves.")
    _check_move(row, "escalated")
    before = row.snapshot()
    row.escalated_by, row.escalation_message = side, text
    _moved(uow, actor, row, "escalated", before)
    await uow.session.flush()
    return row


async def refundable_on(session: AsyncSession, sub_order_id: uuid.UUID) -> int:
    """What the ledger has left to refund on a delivered sub-order: what it earned (its
    commissions' basis) less the refunds recorded on it."""
    earned = await session.scalar(
        select(func.coalesce(func.sum(Commission.basis), 0)).where(
            Commission.sub_order_id == sub_order_id
        )
    )
    refunded = await session.scalar(
        select(func.coalesce(func.sum(BalanceEntry.amount), 0)).where(
            BalanceEntry.sub_order_id == sub_order_id, BalanceEntry.kind == "refund_debit"
        )
    )
    return int(earned or 0) + int(refunded or 0)


async def resolve_dispute(
    database: Database,
    actor: Actor,
    *,
    id: str,
    outcome: str,
    amount: int | None = None,
    note: str | None = None,
    request_id: str | None = None,
) -> Dispute:
    """marketplace:admin decides: any unresolved state -> resolved, refunding as the outcome
    says (the shopper's refund is asked of the provider after commit)."""
    actor.require(ADMIN)
    if outcome not in DISPUTE_OUTCOMES:
        raise ValidationFailed.field("outcome", f"One of {', '.join(DISPUTE_OUTCOMES)}.")
    if outcome == "refund_partial" and (amount is None or amount < 1):
        raise ValidationFailed.field("amount", "A partial refund needs an amount (minor units).")
    if outcome != "refund_partial" and amount is not None:
        raise ValidationFailed.field("amount", "Only a partial refund takes an amount.")
    note = trimmed(note, "note", REASON_LENGTH, required=True)
    order_id = None
    async with database.unit_of_work(request_id=request_id) as uow:
        row = await _locked(uow.session, id)
        if row is None:
            raise NotFound(NOT_FOUND)
        _check_move(row, "resolved")
        before = row.snapshot()
        if outcome != "no_refund":
            sub_order = await uow.session.get(SubOrder, row.sub_order_id)
            assert sub_order is not None
            if outcome == "refund_full":
                amount = await refundable_on(uow.session, sub_order.id)
                if amount < 1:
                    raise Conflict("Nothing is left to refund on this sub-order.")
            assert amount is not None
            order_id = await give_money_back(
                uow, actor, sub_order=sub_order, amount=amount,
                reason=f"dispute {row.id}: {note}"[:REASON_LENGTH], key=f"dispute:{row.id}",
            )  # fmt: skip
        row.outcome, row.refund_amount, row.resolution_note = outcome, amount, note
        _moved(uow, actor, row, "resolved", before)
        await uow.session.flush()
        dispute_id = row.id
        await uow.commit()
    if order_id is not None:
        await settlement.complete_refunds(database, actor, order_id, request_id=request_id)
    async with database.read_session() as session:
        done = await session.get(Dispute, dispute_id)
    assert done is not None
    return done


async def list_disputes(
    session: AsyncSession,
    actor: Actor,
    *,
    page: PageRequest,
    status: str | None = None,
    vendor_id: str | None = None,
    sub_order_id: str | None = None,
) -> Page[Dispute]:
    """Newest first: marketplace:admin's all, a vendor's user its vendor's, a customer their
    own."""
    return await list_reached(
        session,
        actor,
        Dispute,
        statuses=DISPUTE_STATUSES,
        order=DISPUTE_ORDER,
        page=page,
        status=status,
        vendor_id=vendor_id,
        sub_order_id=sub_order_id,
    )


async def get_dispute(session: AsyncSession, actor: Actor, id: str) -> Dispute:
    """marketplace:admin reads any; the vendor's user and the customer their own."""
    return await reached(session, actor, Dispute, id, NOT_FOUND)
