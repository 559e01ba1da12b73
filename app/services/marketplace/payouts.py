"""Payouts: a vendor's balance sent to it through the payout provider, each exactly once.

A payout is made in three steps, never holding the database while the provider is asked
(DESIGN §10):

1. one short transaction locks the vendor's row (FOR UPDATE; SQLite's single writer does the
   same), reads its balance in the currency, and, when there is enough and no payout of it is
   in flight, writes the payout (`pending`) and its `payout_debit` (key
   `payout:<id>:<attempt>`), then commits. A second run, concurrent or repeated, waits on the
   lock and then finds the balance already debited: it pays nothing. A unique index allows one
   pending payout per vendor and currency as the backstop;
2. the provider is asked with no transaction open, under the idempotency key `<id>:<attempt>`;
3. a second transaction records the answer: `paid`, or `failed` with the debit reversed (a
   positive `payout_debit`), so a failed payout's money is back in the balance at once.

A failed payout may be retried (marketplace:admin): the same payout, its attempt counted up,
debited again (if the balance still covers it) and sent under the new attempt's key; a retry
of a payout that is not failed is a CONFLICT, so two retries send it once. A process that dies
between steps 1 and 3 leaves the payout pending: the next run asks the provider again with
the same key (which answers the first outcome, moving no money twice) and records it.

A run pays every active vendor whose balance in a currency is at least that currency's
minimum (`CARTOGRAPH_PAYOUT_MINIMUM`) the whole balance. `schedule_payout` (the gateway's
POST /commissions) pays one vendor now, the amount given or its whole balance, whatever the
minimum. Suspended, rejected and pending vendors are not paid.
"""

from __future__ import annotations

import logging
import uuid
from datetime import timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app import payouts as payout_providers
from app.auth.actor import Actor
from app.db import Database, UnitOfWork
from app.errors import Conflict, NotFound, ValidationFailed
from app.ids import parse_uuid, uuid7
from app.models.base import utcnow
from app.models.ledger import MESSAGE_LENGTH, PAYOUT_STATUSES, BalanceEntry, Payout
from app.models.marketplace import Vendor
from app.money import currency_problem
from app.pagination import Page, PageRequest, SortKey, paginate
from app.payouts import Minimums
from app.services.audit import record_change
from app.services.marketplace import ADMIN
from app.services.marketplace.ledger import add_entry, balance_of, scope_of
from app.services.marketplace.vendors import require_vendor_user

log = logging.getLogger(__name__)

ENTITY = "payout"
PAYOUT_ORDER = (SortKey(Payout.id, descending=True),)
# A pending payout older than this was left by a process that died: the next run resumes it.
RESUME_AFTER = timedelta(minutes=2)


def _key(payout: Payout) -> str:
    return f"{payout.id}:{payout.attempt}"


# --- step 1: the payout and its debit --------------------------------------------------------


async def _lock_active_vendor(uow: UnitOfWork, vendor_id: uuid.UUID) -> Vendor | None:
    return await uow.session.scalar(
        select(Vendor).where(Vendor.id == vendor_id, Vendor.status == "active").with_for_update()
    )


async def _in_flight(session: AsyncSession, vendor_id: uuid.UUID, currency: str) -> bool:
    found = await session.scalar(
        select(Payout.id).where(
            Payout.vendor_id == vendor_id, Payout.currency == currency, Payout.status == "pending"
        )
    )
    return found is not None


def _debit(uow: UnitOfWork, actor: Actor, payout: Payout) -> None:
    add_entry(
        uow, actor, vendor_id=payout.vendor_id, kind="payout_debit", amount=-payout.amount,
        currency=payout.currency, key=f"payout:{_key(payout)}", payout_id=payout.id,
    )  # fmt: skip


async def _open(
    database: Database,
    actor: Actor,
    *,
    vendor_id: uuid.UUID,
    currency: str,
    minimum: int,
    amount: int | None,
    request_id: str | None,
) -> Payout | None:
    """Step 1 for one vendor and currency: the pending payout, committed, or None when there
    is nothing (left) to pay. `amount` None: the whole balance, if at least `minimum`."""
    async with database.unit_of_work(request_id=request_id) as uow:
        vendor = await _lock_active_vendor(uow, vendor_id)
        if vendor is None or await _in_flight(uow.session, vendor_id, currency):
            return None
        balance = await balance_of(uow.session, vendor_id, currency)
        paying = balance if amount is None else amount
        if paying < max(minimum, 1) or paying > balance:
            return None
        payout = Payout(
            id=uuid7(), vendor_id=vendor_id, amount=paying, currency=currency, status="pending",
            attempt=1, provider=payout_providers.provider().name, created_by=actor.id,
        )  # fmt: skip
        uow.session.add(payout)
        await uow.session.flush()
        _debit(uow, actor, payout)
        await uow.session.flush()
        record_change(
            uow, actor, event="payouts.create", entity_type=ENTITY, entity_id=str(payout.id),
            after=payout.snapshot(),
        )  # fmt: skip
        await uow.commit()
    return payout


# --- steps 2 and 3: the provider, then its answer recorded -----------------------------------


async def _send(database: Database, actor: Actor, payout: Payout, request_id: str | None) -> Payout:
    """Ask the provider (no transaction is open here) and record its answer. A provider that
    raises leaves the payout pending, for the next run to resume under the same key."""
    try:
        transfer = await payout_providers.provider().transfer(
            vendor_id=str(payout.vendor_id), amount=payout.amount, currency=payout.currency,
            idempotency_key=_key(payout),
        )  # fmt: skip
    except Exception:
        log.exception("payout %s: the provider failed; the next run resumes it", payout.id)
        return payout
    async with database.unit_of_work(request_id=request_id) as uow:
        row = await uow.session.scalar(
            select(Payout).where(Payout.id == payout.id).with_for_update()
        )
        assert row is not None
        if row.status != "pending" or row.attempt != payout.attempt:
            return row  # another process recorded this answer already
        before = row.snapshot()
        now = utcnow()
        row.updated_at = now
        row.provider_reference = transfer.reference
        if transfer.succeeded:
            row.status, row.paid_at, row.failure_message = "paid", now, None
            event = "payouts.paid"
        else:
            row.status, row.failed_at = "failed", now
            row.failure_message = (transfer.message or "Refused by the provider.")[:MESSAGE_LENGTH]
            add_entry(
                uow, actor, vendor_id=row.vendor_id, kind="payout_debit", amount=row.amount,
                currency=row.currency, key=f"payout-failed:{_key(row)}", payout_id=row.id,
                reason=row.failure_message,
            )  # fmt: skip
            event = "payouts.failed"
        await uow.session.flush()
        record_change(
            uow, actor, event=event, entity_type=ENTITY, entity_id=str(row.id),
            before=before, after=row.snapshot(), reason=row.failure_message,
        )  # fmt: skip
        await uow.commit()
    return row


async def _resume_stale(database: Database, actor: Actor, request_id: str | None) -> list[Payout]:
    async with database.read_session() as session:
        stale = list(
            await session.scalars(
                select(Payout)
                .where(Payout.status == "pending", Payout.updated_at < utcnow() - RESUME_AFTER)
                .order_by(Payout.id)
            )
        )
    return [await _send(database, actor, payout, request_id) for payout in stale]


# --- the commands ----------------------------------------------------------------------------


async def run_payouts(
    database: Database, actor: Actor, *, minimums: Minimums, request_id: str | None = None
) -> list[Payout]:
    """Pay every active vendor whose balance in a currency reaches its minimum (see the
    module); answers the payouts this run made or resumed, as they ended."""
    actor.require(ADMIN)
    done = await _resume_stale(database, actor, request_id)
    async with database.read_session() as session:
        rows = await session.execute(
            select(BalanceEntry.vendor_id, BalanceEntry.currency)
            .join(Vendor, Vendor.id == BalanceEntry.vendor_id)
            .where(Vendor.status == "active")
            .group_by(BalanceEntry.vendor_id, BalanceEntry.currency)
            .having(func.sum(BalanceEntry.amount) > 0)
            .order_by(BalanceEntry.vendor_id, BalanceEntry.currency)
        )
        candidates = rows.all()
    for vendor_id, currency in candidates:
        payout = await _open(
            database, actor, vendor_id=vendor_id, currency=currency,
            minimum=minimums.of(currency), amount=None, request_id=request_id,
        )  # fmt: skip
        if payout is not None:
            done.append(await _send(database, actor, payout, request_id))
    return done


async def schedule_payout(
    database: Database,
    actor: Actor,
    *,
    vendor_id: str,
    currency: str,
    amount: int | None = None,
    request_id: str | None = None,
) -> Payout:
    """Pay one active vendor now: `amount` (at most its balance) or its whole balance, with no
    minimum (marketplace:admin)."""
    actor.require(ADMIN)
    if (problem := currency_problem(currency)) is not None:
        raise ValidationFailed.field("currency", problem)
    if amount is not None and amount < 1:
        raise ValidationFailed.field("amount", "At least 1 (minor units).")
    parsed = parse_uuid(vendor_id)
    async with database.read_session() as session:
        vendor = await session.get(Vendor, parsed) if parsed else None
        if vendor is None:
            raise NotFound("Vendor not found.")
        if vendor.status != "active":
            raise Conflict(f"The vendor is {vendor.status}: only an active vendor is paid.",
                           details={"status": vendor.status})  # fmt: skip
        if await _in_flight(session, vendor.id, currency):
            raise Conflict("A payout of this vendor in this currency is in flight.")
        balance = await balance_of(session, vendor.id, currency)
    payout = await _open(
        database, actor, vendor_id=vendor.id, currency=currency, minimum=1, amount=amount,
        request_id=request_id,
    )  # fmt: skip
    if payout is None:
        raise Conflict(
            f"The vendor's {currency} balance ({balance}) does not cover the payout.",
            details={"balance": str(balance)},
        )
    return await _send(database, actor, payout, request_id)


async def retry_payout(
    database: Database, actor: Actor, *, id: str, request_id: str | None = None
) -> Payout:
    """Send a failed payout again (see the module): CONFLICT unless it is failed, its vendor
    active and its balance covers it."""
    actor.require(ADMIN)
    parsed = parse_uuid(id)
    async with database.unit_of_work(request_id=request_id) as uow:
        payout = None
        if parsed is not None:
            payout = await uow.session.scalar(
                select(Payout).where(Payout.id == parsed).with_for_update()
            )
        if payout is None:
            raise NotFound("Payout not found.")
        if payout.status != "failed":
            raise Conflict(f"Only a failed payout is retried; this one is {payout.status}.",
                           details={"status": payout.status})  # fmt: skip
        if await _lock_active_vendor(uow, payout.vendor_id) is None:
            raise Conflict("The vendor is not active: it is not paid.")
        if await _in_flight(uow.session, payout.vendor_id, payout.currency):
            raise Conflict("A payout of this vendor in this currency is in flight.")
        balance = await balance_of(uow.session, payout.vendor_id, payout.currency)
        if balance < payout.amount:
            raise Conflict(
                f"The vendor's balance ({balance}) no longer covers this payout.",
                details={"balance": str(balance)},
            )
        before = payout.snapshot()
        payout.attempt += 1
        payout.status, payout.failure_message, payout.failed_at = "pending", None, None
        payout.provider = payout_providers.provider().name
        payout.updated_at = utcnow()
        _debit(uow, actor, payout)
        await uow.session.flush()
        record_change(
            uow, actor, event="payouts.retry", entity_type=ENTITY, entity_id=str(payout.id),
            before=before, after=payout.snapshot(),
        )  # fmt: skip
        await uow.commit()
    return await _send(database, actor, payout, request_id)


# --- reading ---------------------------------------------------------------------------------


async def get_payout(session: AsyncSession, actor: Actor, id: str) -> Payout:
    """marketplace:admin reads any; a vendor's user its own (another's is NOT_FOUND)."""
    scope = scope_of(actor)
    parsed = parse_uuid(id)
    payout = await session.get(Payout, parsed) if parsed else None
    if payout is None or (scope is not None and payout.vendor_id != scope):
        raise NotFound("Payout not found.")
    return payout


async def list_payouts(
    session: AsyncSession,
    actor: Actor,
    *,
    page: PageRequest,
    mine: bool = False,
    vendor_id: str | None = None,
    status: str | None = None,
) -> Page[Payout]:
    """Newest first. `mine`: the vendor's user's own (anyone else is refused); otherwise
    marketplace:admin's view of all, narrowed by vendor and status."""
    if mine:
        scope: uuid.UUID | None = uuid.UUID(require_vendor_user(actor))
    else:
        actor.require(ADMIN)
        scope = None
    statement = select(Payout)
    if scope is not None:
        statement = statement.where(Payout.vendor_id == scope)
    if vendor_id is not None:
        nothing = uuid.UUID(int=0)
        statement = statement.where(Payout.vendor_id == (parse_uuid(vendor_id) or nothing))
    if status is not None:
        if status not in PAYOUT_STATUSES:
            raise ValidationFailed.field("status", f"One of {', '.join(PAYOUT_STATUSES)}.")
        statement = statement.where(Payout.status == status)
    return await paginate(session, statement, keys=PAYOUT_ORDER, request=page)
