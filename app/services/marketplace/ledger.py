"""The vendors' balance ledger: commissions taken at delivery, refunds, adjustments, and
reading balances and entries.

A vendor's balance, per currency, is the sum of its balance entries, always (there is no
balance column). Entries are appended and never changed; each has a unique key naming the
fact it records, so the same fact cannot be counted twice. The kinds, signed:

- `sale_credit` (+): a delivered sub-order line's total (after discounts), at delivery;
- `commission_debit` (-): the commission on that line; a positive one gives commission back
  on money refunded afterwards (the marketplace keeps no commission on refunded money);
- `refund_debit` (-): money given back to the shopper out of a delivered sub-order
  (`record_refund`, the entry point returns and disputes use too);
- `payout_debit` (-): a payout sent or in flight; a positive one reverses a failed payout;
- `adjustment` (±): marketplace:admin's correction, with a reason.

The house's own sub-orders (no vendor) have no ledger. Only delivered sub-orders earn: a
sub-order cancelled before delivery never reached the ledger, so it owes nothing back.
"""

from __future__ import annotations

import uuid
from collections import defaultdict

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.actor import Actor
from app.db import UnitOfWork
from app.errors import Conflict, NotFound, ValidationFailed
from app.ids import parse_uuid
from app.models.base import utcnow
from app.models.catalog import entity_categories
from app.models.ledger import (
    COMMISSION_STATUSES,
    ENTRY_KINDS,
    KEY_LENGTH,
    REASON_LENGTH,
    BalanceEntry,
    Commission,
)
from app.models.marketplace import SubOrder, Vendor
from app.models.orders import OrderLine
from app.money import currency_problem
from app.pagination import Page, PageRequest, SortKey, paginate
from app.services.audit import record_change
from app.services.marketplace import ADMIN
from app.services.marketplace.commissions import candidate_rules, commission_of, resolve
from app.services.marketplace.vendors import require_vendor_user
from app.text import trimmed

ENTRY_ORDER = (SortKey(BalanceEntry.id, descending=True),)
COMMISSION_ORDER = (SortKey(Commission.id, descending=True),)
MAX_ADJUSTMENT = 10**12


def scope_of(actor: Actor) -> uuid.UUID | None:
    """None for marketplace:admin (every vendor); a vendor's user's own vendor; anyone else
    is refused (UNAUTHORIZED or FORBIDDEN)."""
    if actor.can(ADMIN):
        return None
    if actor.vendor_id is None:
        actor.require(ADMIN)
    return uuid.UUID(require_vendor_user(actor))


def add_entry(
    uow: UnitOfWork,
    actor: Actor,
    *,
    vendor_id: uuid.UUID,
    kind: str,
    amount: int,
    currency: str,
    key: str,
    sub_order_id: uuid.UUID | None = None,
    commission_id: uuid.UUID | None = None,
    payout_id: uuid.UUID | None = None,
    reason: str | None = None,
) -> BalanceEntry:
    """Append one entry (flushed with the unit of work; a repeated key is a unique
    violation, which rolls the whole change back)."""
    assert kind in ENTRY_KINDS and len(key) <= KEY_LENGTH
    entry = BalanceEntry(
        vendor_id=vendor_id, kind=kind, amount=amount, currency=currency, key=key,
        sub_order_id=sub_order_id, commission_id=commission_id, payout_id=payout_id,
        reason=reason, created_by=actor.id,
    )  # fmt: skip
    uow.session.add(entry)
    return entry


# --- delivery --------------------------------------------------------------------------------


async def record_delivery(uow: UnitOfWork, actor: Actor, sub_order: SubOrder) -> list[Commission]:
    """A vendor's sub-order was delivered (in this transaction): per line, the commission the
    rules decide, the sale credited and the commission debited."""
    if sub_order.vendor_id is None:
        return []
    vendor_id = sub_order.vendor_id
    lines = list(
        await uow.session.scalars(
            select(OrderLine).where(OrderLine.sub_order_id == sub_order.id).order_by(OrderLine.id)
        )
    )
    entity_ids = {line.entity_id for line in lines if line.entity_id is not None}
    categories: dict[uuid.UUID, set[uuid.UUID]] = defaultdict(set)
    if entity_ids:
        rows = await uow.session.execute(
            select(entity_categories.c.entity_id, entity_categories.c.category_id).where(
                entity_categories.c.entity_id.in_(entity_ids)
            )
        )
        for entity_id, category_id in rows.all():
            categories[entity_id].add(category_id)
    rules = await candidate_rules(uow.session, vendor_id)
    at = sub_order.delivered_at or utcnow()
    made = []
    for line in lines:
        rule = resolve(
            rules, vendor_id=vendor_id, currency=sub_order.currency, at=at,
            categories=categories.get(line.entity_id, set()) if line.entity_id else set(),
        )  # fmt: skip
        amount = commission_of(rule, basis=line.total, quantity=line.quantity)
        commission = Commission(
            sub_order_id=sub_order.id, order_line_id=line.id,
            vendor_id=vendor_id, rule_id=rule.id if rule else None, basis=line.total,
            amount=amount, currency=sub_order.currency, status="accrued",
        )  # fmt: skip
        uow.session.add(commission)
        made.append(commission)
    await uow.session.flush()
    for line, commission in zip(lines, made, strict=True):
        add_entry(
            uow, actor, vendor_id=vendor_id, kind="sale_credit", amount=line.total,
            currency=sub_order.currency, key=f"sale:{line.id}", sub_order_id=sub_order.id,
            commission_id=commission.id,
        )  # fmt: skip
        if commission.amount:
            add_entry(
                uow, actor, vendor_id=vendor_id, kind="commission_debit",
                amount=-commission.amount, currency=sub_order.currency,
                key=f"commission:{line.id}", sub_order_id=sub_order.id,
                commission_id=commission.id,
            )  # fmt: skip
        record_change(
            uow, actor, event="commissions.create", entity_type="commission",
            entity_id=str(commission.id), after=commission.snapshot(),
        )  # fmt: skip
    await uow.session.flush()
    return made


# --- refunds and adjustments -----------------------------------------------------------------


async def record_refund(
    uow: UnitOfWork,
    actor: Actor,
    *,
    sub_order_id: str,
    amount: int,
    reason: str | None,
    key: str | None = None,
) -> list[BalanceEntry]:
    """Money given back to the shopper out of a delivered vendor sub-order: the vendor is
    debited `amount` (`refund_debit`) and given back the commission on it (a positive
    `commission_debit`, in proportion, so that a full refund returns all of it exactly and
    marks the commissions `reversed`). At most what the sub-order earned, less what was
    refunded already (CONFLICT beyond that, or when it is not delivered).

    `key` names the refund for the caller (a return's or a dispute's id): the same key again
    records nothing and answers the entries it recorded. marketplace:admin only (returns and
    disputes call it as the actor who settles them).
    """
    actor.require(ADMIN)
    reason = trimmed(reason, "reason", REASON_LENGTH, required=True, missing="Say why.")
    if amount < 1:
        raise ValidationFailed.field("amount", "At least 1 (minor units).")
    if key is not None and not 1 <= len(key) <= 80:
        raise ValidationFailed.field("key", "1 to 80 characters.")
    parsed = parse_uuid(sub_order_id)
    sub_order = None
    if parsed is not None:
        sub_order = await uow.session.scalar(
            select(SubOrder).where(SubOrder.id == parsed).with_for_update()
        )
    if sub_order is None:
        raise NotFound("Sub-order not found.")
    # Keys are the sub-order's: the same caller key on another sub-order is another refund.
    name = f"{sub_order.id}:{key or uuid.uuid4()}"
    if key is not None:
        done = list(
            await uow.session.scalars(
                select(BalanceEntry)
                .where(BalanceEntry.key.in_((f"refund:{name}", f"refund-commission:{name}")))
                .order_by(BalanceEntry.id)
            )
        )
        if done:
            return done
    if sub_order.vendor_id is None or sub_order.status != "delivered":
        raise Conflict(
            "Only a delivered vendor sub-order has money in the ledger to refund.",
            details={"status": sub_order.status},
        )
    # A payout run reads the balance under this lock: a refund is never half-seen by it.
    await uow.session.execute(
        select(Vendor.id).where(Vendor.id == sub_order.vendor_id).with_for_update()
    )
    earned, taken = (
        await uow.session.execute(
            select(func.coalesce(func.sum(Commission.basis), 0),
                   func.coalesce(func.sum(Commission.amount), 0))
            .where(Commission.sub_order_id == sub_order.id)
        )
    ).one()  # fmt: skip
    earned, taken = int(earned), int(taken)  # PostgreSQL sums to NUMERIC
    refunded_before = -int(
        await uow.session.scalar(
            select(func.coalesce(func.sum(BalanceEntry.amount), 0)).where(
                BalanceEntry.sub_order_id == sub_order.id, BalanceEntry.kind == "refund_debit"
            )
        )
        or 0
    )
    if refunded_before + amount > earned:
        raise Conflict(
            f"At most {earned - refunded_before} is left to refund on this sub-order.",
            details={"refundable": str(earned - refunded_before)},
        )
    # Commission given back so far and after: floor(taken * refunded / earned) each time,
    # so the steps add up to exactly `taken` at a full refund.
    returned_before = taken * refunded_before // earned if earned else 0
    returned_after = taken * (refunded_before + amount) // earned if earned else 0
    entries = [
        add_entry(
            uow,
            actor,
            vendor_id=sub_order.vendor_id,
            kind="refund_debit",
            amount=-amount,
            currency=sub_order.currency,
            key=f"refund:{name}",
            sub_order_id=sub_order.id,
            reason=reason,
        )
    ]
    if returned_after > returned_before:
        entries.append(
            add_entry(
                uow,
                actor,
                vendor_id=sub_order.vendor_id,
                kind="commission_debit",
                amount=returned_after - returned_before,
                currency=sub_order.currency,
                key=f"refund-commission:{name}",
                sub_order_id=sub_order.id,
                reason=reason,
            )
        )
    if refunded_before + amount == earned:
        await uow.session.execute(
            update(Commission)
            .where(Commission.sub_order_id == sub_order.id)
            .values(status="reversed", updated_at=utcnow())
        )
    await uow.session.flush()
    for entry in entries:
        record_change(
            uow, actor, event="balanceEntries.create", entity_type="balance_entry",
            entity_id=str(entry.id), after=entry.snapshot(), reason=reason,
        )  # fmt: skip
    return entries


async def adjust_balance(
    uow: UnitOfWork,
    actor: Actor,
    *,
    vendor_id: str,
    amount: int,
    currency: str,
    reason: str | None,
) -> BalanceEntry:
    """marketplace:admin's correction of a vendor's balance (signed, not zero, with a
    reason)."""
    actor.require(ADMIN)
    reason = trimmed(reason, "reason", REASON_LENGTH, required=True, missing="Say why.")
    if amount == 0 or abs(amount) > MAX_ADJUSTMENT:
        raise ValidationFailed.field("amount", "Not zero; signed minor units.")
    if (problem := currency_problem(currency)) is not None:
        raise ValidationFailed.field("currency", problem)
    parsed = parse_uuid(vendor_id)
    vendor = None
    if parsed is not None:
        vendor = await uow.session.scalar(
            select(Vendor).where(Vendor.id == parsed).with_for_update()
        )
    if vendor is None:
        raise NotFound("Vendor not found.")
    entry = add_entry(
        uow, actor, vendor_id=vendor.id, kind="adjustment", amount=amount, currency=currency,
        key=f"adjustment:{uuid.uuid4()}", reason=reason,
    )  # fmt: skip
    await uow.session.flush()
    record_change(
        uow, actor, event="balanceEntries.create", entity_type="balance_entry",
        entity_id=str(entry.id), after=entry.snapshot(), reason=reason,
    )  # fmt: skip
    return entry


# --- reading ---------------------------------------------------------------------------------


async def balances_by_vendor(
    session: AsyncSession, vendor_ids: list[uuid.UUID]
) -> dict[uuid.UUID, dict[str, int]]:
    """Each vendor's balance per currency (the sum of its entries), in one statement."""
    found: dict[uuid.UUID, dict[str, int]] = {id: {} for id in vendor_ids}
    if vendor_ids:
        rows = await session.execute(
            select(BalanceEntry.vendor_id, BalanceEntry.currency, func.sum(BalanceEntry.amount))
            .where(BalanceEntry.vendor_id.in_(set(vendor_ids)))
            .group_by(BalanceEntry.vendor_id, BalanceEntry.currency)
            .order_by(BalanceEntry.vendor_id, BalanceEntry.currency)
        )
        for vendor_id, currency, total in rows.all():
            found[vendor_id][currency] = int(total)
    return found


async def balance_of(session: AsyncSession, vendor_id: uuid.UUID, currency: str) -> int:
    total = await session.scalar(
        select(func.coalesce(func.sum(BalanceEntry.amount), 0)).where(
            BalanceEntry.vendor_id == vendor_id, BalanceEntry.currency == currency
        )
    )
    return int(total or 0)


async def reachable_vendor(session: AsyncSession, actor: Actor, id: str | None) -> uuid.UUID:
    """The vendor whose ledger `actor` reads: None is the vendor user's own; marketplace:admin
    reads any; a vendor's user reaches no other (NOT_FOUND, as a missing one)."""
    scope = scope_of(actor)
    if id is None:
        return uuid.UUID(require_vendor_user(actor))
    parsed = parse_uuid(id)
    found = await session.scalar(select(Vendor.id).where(Vendor.id == parsed)) if parsed else None
    if found is None or (scope is not None and found != scope):
        raise NotFound("Vendor not found.")
    return found


async def list_entries(
    session: AsyncSession,
    actor: Actor,
    *,
    vendor_id: str | None,
    page: PageRequest,
    kind: str | None = None,
    currency: str | None = None,
) -> Page[BalanceEntry]:
    """A vendor's entries, newest first (None: the vendor user's own)."""
    owner = await reachable_vendor(session, actor, vendor_id)
    statement = select(BalanceEntry).where(BalanceEntry.vendor_id == owner)
    if kind is not None:
        if kind not in ENTRY_KINDS:
            raise ValidationFailed.field("kind", f"One of {', '.join(ENTRY_KINDS)}.")
        statement = statement.where(BalanceEntry.kind == kind)
    if currency is not None:
        statement = statement.where(BalanceEntry.currency == currency)
    return await paginate(session, statement, keys=ENTRY_ORDER, request=page)


async def list_commissions(
    session: AsyncSession,
    actor: Actor,
    *,
    page: PageRequest,
    vendor_id: str | None = None,
    status: str | None = None,
    sub_order_id: str | None = None,
) -> Page[Commission]:
    """Newest first: marketplace:admin's of every vendor, a vendor's user its own (a vendor
    filter naming another vendor finds nothing)."""
    scope = scope_of(actor)
    statement = select(Commission)
    nothing = uuid.UUID(int=0)
    if scope is not None:
        statement = statement.where(Commission.vendor_id == scope)
    if vendor_id is not None:
        statement = statement.where(Commission.vendor_id == (parse_uuid(vendor_id) or nothing))
    if sub_order_id is not None:
        statement = statement.where(
            Commission.sub_order_id == (parse_uuid(sub_order_id) or nothing)
        )
    if status is not None:
        if status not in COMMISSION_STATUSES:
            raise ValidationFailed.field("status", f"One of {', '.join(COMMISSION_STATUSES)}.")
        statement = statement.where(Commission.status == status)
    return await paginate(session, statement, keys=COMMISSION_ORDER, request=page)
