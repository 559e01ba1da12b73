"""Returns: units of a delivered sub-order going back to its vendor.

requested (the signed-in customer, on their own delivered sub-order: lines, quantities and a
reason) -> shipped_back (the customer, with a tracking number and carrier) -> received (the
vendor's user while its vendor is active, or marketplace:admin): the units are put back in
stock where they were sold from (`return` movements), and their price is refunded, through
the ledger (`record_refund`, keyed `return:<id>`) and the order's payment. Any other move is
a CONFLICT naming the allowed one.

A line's units can be returned at most once each: a return asks for at most the line's
quantity less what earlier returns asked for. What the units cost is their share of the line's
total (after discounts), the last unit taking the rounding, so returning every unit of a line
refunds its total exactly.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Sequence

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.actor import Actor
from app.db import Database, UnitOfWork
from app.errors import Conflict, NotFound, ValidationFailed
from app.ids import parse_uuid
from app.models.aftercare import (
    CARRIER_LENGTH,
    REASON_LENGTH,
    RETURN_STATUSES,
    TRACKING_LENGTH,
    Return,
    ReturnLine,
)
from app.models.base import utcnow
from app.models.inventory import InventoryLevel
from app.models.marketplace import SubOrder
from app.models.orders import OrderLine
from app.pagination import Page, PageRequest, SortKey
from app.services import settlement
from app.services.audit import record_change
from app.services.inventory.levels import apply_change
from app.services.marketplace import ADMIN
from app.services.marketplace.aftercare import (
    customers_sub_order,
    give_money_back,
    list_reached,
    reached,
    require_customer,
    require_delivered,
)
from app.services.marketplace.sub_orders import net_sold
from app.services.marketplace.vendors import require_selling
from app.text import trimmed

ENTITY = "return"
RETURN_ORDER = (SortKey(Return.id, descending=True),)
TRANSITIONS = {"requested": ("shipped_back",), "shipped_back": ("received",), "received": ()}
MAX_LINES = 100
NOT_FOUND = "Return not found."


def _conflict(row: Return, target: str) -> Conflict:
    allowed = TRANSITIONS[row.status]
    return Conflict(
        f"Cannot move a return from {row.status} to {target}; "
        f"allowed next states: {', '.join(allowed) or 'none'}.",
        details={"status": row.status, "allowed": ", ".join(allowed)},
    )


async def create_return(
    uow: UnitOfWork,
    actor: Actor,
    *,
    sub_order_id: str,
    lines: Sequence[tuple[str, int]],
    reason: str | None,
) -> Return:
    """The customer asks to send units of their delivered sub-order back (see the module)."""
    reason = trimmed(reason, "reason", REASON_LENGTH, required=True)
    if not 1 <= len(lines) <= MAX_LINES:
        raise ValidationFailed.field("lines", f"1 to {MAX_LINES} lines.")
    customer_id = require_customer(actor)
    sub_order = await customers_sub_order(uow.session, actor, sub_order_id, lock=True)
    require_delivered(sub_order, "a return")
    own = {
        line.id: line
        for line in await uow.session.scalars(
            select(OrderLine).where(OrderLine.sub_order_id == sub_order.id)
        )
    }
    asked = await returned_quantities(uow.session, list(own))
    wanted: dict[uuid.UUID, int] = {}
    for index, (line_id, quantity) in enumerate(lines):
        parsed = parse_uuid(line_id)
        line = own.get(parsed) if parsed else None
        if line is None or line.id in wanted:
            raise ValidationFailed.field(
                f"lines.{index}.lineId", "A line of this sub-order, named once."
            )
        left = line.quantity - asked.get(line.id, 0)
        if left == 0:
            raise Conflict(
                "Every unit of this line is being returned or was returned already.",
                details={f"lines.{index}.lineId": "Nothing left to return."},
            )
        if not 1 <= quantity <= left:
            raise ValidationFailed.field(f"lines.{index}.quantity", f"Between 1 and {left}.")
        wanted[line.id] = quantity
    assert sub_order.vendor_id is not None
    row = Return(
        id=uuid.uuid4(), sub_order_id=sub_order.id, vendor_id=sub_order.vendor_id,
        customer_id=customer_id, status="requested", reason=reason, amount=0,
        currency=sub_order.currency,
    )  # fmt: skip
    uow.session.add(row)
    for wanted_id, quantity in wanted.items():
        line, before = own[wanted_id], asked.get(wanted_id, 0)
        amount = _share(line, before + quantity) - _share(line, before)
        row.amount += amount
        uow.session.add(
            ReturnLine(return_id=row.id, order_line_id=wanted_id, quantity=quantity, amount=amount)
        )
    await uow.session.flush()
    record_change(
        uow, actor, event="returns.create", entity_type=ENTITY, entity_id=str(row.id),
        after=row.snapshot(), reason=reason,
    )  # fmt: skip
    return row


def _share(line: OrderLine, units: int) -> int:
    """What the first `units` units of the line cost (floor, so all units cost the total)."""
    return line.total * units // line.quantity


async def returned_quantities(
    session: AsyncSession, line_ids: list[uuid.UUID]
) -> dict[uuid.UUID, int]:
    """Units of each line asked back by any return so far."""
    if not line_ids:
        return {}
    rows = await session.execute(
        select(ReturnLine.order_line_id, func.sum(ReturnLine.quantity))
        .where(ReturnLine.order_line_id.in_(line_ids))
        .group_by(ReturnLine.order_line_id)
    )
    return {line_id: int(total) for line_id, total in rows.all()}


async def _locked(session: AsyncSession, id: str) -> Return | None:
    parsed = parse_uuid(id)
    if parsed is None:
        return None
    return await session.scalar(select(Return).where(Return.id == parsed).with_for_update())


async def ship_back(
    uow: UnitOfWork,
    actor: Actor,
    *,
    id: str,
    tracking_number: str | None,
    carrier: str | None,
) -> Return:
    """The customer has sent the units back: requested -> shipped_back, tracked."""
    tracking = trimmed(tracking_number, "trackingNumber", TRACKING_LENGTH, required=True)
    carried = trimmed(carrier, "carrier", CARRIER_LENGTH, required=True)
    require_customer(actor)
    row = await _locked(uow.session, id)
    if row is None or not actor.is_customer(row.customer_id):
        raise NotFound(NOT_FOUND)
    if row.status != "requested":
        raise _conflict(row, "shipped_back")
    before = row.snapshot()
    row.status, row.tracking_number, row.carrier = "shipped_back", tracking, carried
    row.shipped_back_at = row.updated_at = utcnow()
    await uow.session.flush()
    record_change(
        uow, actor, event="returns.statusChange", entity_type=ENTITY, entity_id=str(row.id),
        before=before, after=row.snapshot(),
    )  # fmt: skip
    return row


async def receive_return(
    database: Database, actor: Actor, *, id: str, request_id: str | None = None
) -> Return:
    """The vendor (active) or marketplace:admin received the units: shipped_back ->
    received, restocked and refunded (the shopper's refund is asked of the provider after
    commit)."""
    async with database.unit_of_work(request_id=request_id) as uow:
        if not actor.can(ADMIN) and actor.vendor_id is None:
            actor.require(ADMIN)  # UNAUTHORIZED when anonymous, else FORBIDDEN
        row = await _locked(uow.session, id)
        if row is None or not (actor.can(ADMIN) or actor.is_vendor(row.vendor_id)):
            raise NotFound(NOT_FOUND)
        if not actor.can(ADMIN):
            await require_selling(uow.session, actor)
        if row.status != "shipped_back":
            raise _conflict(row, "received")
        sub_order = await uow.session.get(SubOrder, row.sub_order_id)
        assert sub_order is not None
        before = row.snapshot()
        await _restock(uow, actor, row, sub_order)
        order_id = await give_money_back(
            uow, actor, sub_order=sub_order, amount=row.amount,
            reason=f"return {row.id}: {row.reason}"[:REASON_LENGTH], key=f"return:{row.id}",
        )  # fmt: skip
        row.status = "received"
        row.received_at = row.updated_at = utcnow()
        await uow.session.flush()
        record_change(
            uow, actor, event="returns.statusChange", entity_type=ENTITY, entity_id=str(row.id),
            before=before, after=row.snapshot(),
        )  # fmt: skip
        return_id = row.id
        await uow.commit()
    await settlement.complete_refunds(database, actor, order_id, request_id=request_id)
    async with database.read_session() as session:
        done = await session.get(Return, return_id)
    assert done is not None
    return done


async def _restock(uow: UnitOfWork, actor: Actor, row: Return, sub_order: SubOrder) -> None:
    """Put each returned unit back on a level its order sold it from, and count the units as
    refunded on their order lines."""
    pairs = (
        await uow.session.execute(
            select(ReturnLine, OrderLine)
            .join(OrderLine, OrderLine.id == ReturnLine.order_line_id)
            .where(ReturnLine.return_id == row.id)
            .order_by(ReturnLine.id)
        )
    ).all()
    reference = str(sub_order.order_id)
    for returned, line in pairs:
        line.refunded_quantity = min(line.quantity, line.refunded_quantity + returned.quantity)
        if line.entity_id is None:
            continue
        statement = select(InventoryLevel.id).where(InventoryLevel.entity_id == line.entity_id)
        if line.variant_id is not None:
            statement = statement.where(InventoryLevel.variant_id == line.variant_id)
        level_ids = list(await uow.session.scalars(statement))
        left = returned.quantity
        for level_id, sold in await net_sold(uow.session, reference, level_ids):
            units = min(left, sold)
            level = await uow.session.get(InventoryLevel, level_id, with_for_update=True)
            assert level is not None
            await apply_change(
                uow, actor, level, type="return", delta=units, reason=f"return {row.id}",
                reference_id=reference, backorder=True,
            )  # fmt: skip
            left -= units
            if left == 0:
                break


async def get_return(session: AsyncSession, actor: Actor, id: str) -> Return:
    """marketplace:admin reads any; the vendor's user and the customer their own."""
    return await reached(session, actor, Return, id, NOT_FOUND)


async def list_returns(
    session: AsyncSession,
    actor: Actor,
    *,
    page: PageRequest,
    status: str | None = None,
    vendor_id: str | None = None,
    sub_order_id: str | None = None,
) -> Page[Return]:
    """Newest first: marketplace:admin's all, a vendor's user its vendor's, a customer their
    own."""
    return await list_reached(
        session,
        actor,
        Return,
        statuses=RETURN_STATUSES,
        order=RETURN_ORDER,
        page=page,
        status=status,
        vendor_id=vendor_id,
        sub_order_id=sub_order_id,
    )


async def lines_by_return(
    session: AsyncSession, ids: list[uuid.UUID]
) -> dict[uuid.UUID, list[ReturnLine]]:
    """The lines of any number of returns, in one statement."""
    found: dict[uuid.UUID, list[ReturnLine]] = defaultdict(list)
    if ids:
        rows = await session.scalars(
            select(ReturnLine).where(ReturnLine.return_id.in_(ids)).order_by(ReturnLine.id)
        )
        for line in rows:
            found[line.return_id].append(line)
    return {id: found[id] for id in ids}
