"""Sub-orders: one vendor's part of an order, and its status machine.

pending -> confirmed -> shipped (tracking number and carrier required) -> delivered; cancel
from pending or confirmed (with a reason). Any other move is a CONFLICT naming the current
status and the allowed next ones. A vendor's user moves its own vendor's sub-orders while
the vendor is active; `marketplace:admin` moves any (the house's part included).

Cancelling a sub-order gives its stock back as cancelling an order does: its units held for
the order are released, those sold are returned to where they were sold from. The money
side (refunding the cancelled part of a paid order) is not done here. Delivery credits the
vendor's balance and takes the commission, in the same transaction (`ledger.record_delivery`).

The parent order follows its sub-orders, only ever forward along the order machine, and
records `orders.statusChange` when it moves: every live (not cancelled) sub-order delivered
-> fulfilled; some shipped or delivered -> partially_fulfilled; all confirmed or further ->
processing; some confirmed -> confirmed; every sub-order cancelled -> cancelled (its stock
was given back sub-order by sub-order). An order already cancelled or refunded stays so.
"""

from __future__ import annotations

import uuid
from collections import defaultdict

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.actor import Actor
from app.db import UnitOfWork
from app.errors import Conflict, NotFound, ValidationFailed
from app.ids import parse_uuid
from app.models.base import utcnow
from app.models.inventory import InventoryLevel, InventoryMovement, Reservation
from app.models.marketplace import (
    CARRIER_LENGTH,
    REASON_LENGTH,
    SUB_ORDER_STATUSES,
    TRACKING_LENGTH,
    SubOrder,
)
from app.models.orders import Order, OrderLine
from app.pagination import Page, PageRequest, SortKey, paginate
from app.services import settlement
from app.services.audit import record_change
from app.services.inventory.levels import apply_change, give_back
from app.services.marketplace import ADMIN, ledger
from app.services.marketplace.split import ENTITY
from app.services.marketplace.vendors import require_selling, require_vendor_user
from app.text import trimmed

TRANSITIONS: dict[str, tuple[str, ...]] = {
    "pending": ("confirmed", "cancelled"),
    "confirmed": ("shipped", "cancelled"),
    "shipped": ("delivered",),
    "delivered": (),
    "cancelled": (),
}
# The parent order's states a sub-order can move it to, in the order machine's order.
ORDER_RANK = {"pending": 0, "confirmed": 1, "processing": 2, "partially_fulfilled": 3,
              "fulfilled": 4}  # fmt: skip
SUB_ORDER_ORDER = (SortKey(SubOrder.id, descending=True),)
STAMPS = {"confirmed": "confirmed_at", "shipped": "shipped_at", "delivered": "delivered_at",
          "cancelled": "cancelled_at"}  # fmt: skip


# --- reading ---------------------------------------------------------------------------------


def _scope(actor: Actor) -> uuid.UUID | None:
    """None for `marketplace:admin` (every sub-order); a vendor's user's vendor id; anyone
    else is refused (UNAUTHORIZED or FORBIDDEN)."""
    if actor.can(ADMIN):
        return None
    if actor.vendor_id is None:
        actor.require(ADMIN)
    return uuid.UUID(require_vendor_user(actor))


async def get_sub_order(session: AsyncSession, actor: Actor, id: str) -> SubOrder:
    """`marketplace:admin` reads any; a vendor's user its own vendor's, another's is NOT_FOUND."""
    vendor_id = _scope(actor)
    parsed = parse_uuid(id)
    found = None
    if parsed is not None:
        found = await session.scalar(select(SubOrder).where(SubOrder.id == parsed))
    if found is None or (vendor_id is not None and found.vendor_id != vendor_id):
        raise NotFound("Sub-order not found.")
    return found


async def list_sub_orders(
    session: AsyncSession,
    actor: Actor,
    *,
    page: PageRequest,
    mine: bool = False,
    vendor_id: str | None = None,
    status: str | None = None,
    order_id: str | None = None,
) -> Page[SubOrder]:
    """Newest first. `mine`: the vendor's user's own (anyone else is refused); otherwise
    `marketplace:admin`'s view of all, narrowed by vendor, status and order."""
    if mine:
        scope: uuid.UUID | None = uuid.UUID(require_vendor_user(actor))
    else:
        actor.require(ADMIN)
        scope = None
    if status is not None and status not in SUB_ORDER_STATUSES:
        raise ValidationFailed.field("status", f"One of {', '.join(SUB_ORDER_STATUSES)}.")
    statement = select(SubOrder)
    if scope is not None:
        statement = statement.where(SubOrder.vendor_id == scope)
    # An id that is no UUID names nothing: the nil UUID matches no row either.
    nothing = uuid.UUID(int=0)
    if vendor_id is not None:
        statement = statement.where(SubOrder.vendor_id == (parse_uuid(vendor_id) or nothing))
    if order_id is not None:
        statement = statement.where(SubOrder.order_id == (parse_uuid(order_id) or nothing))
    if status is not None:
        statement = statement.where(SubOrder.status == status)
    return await paginate(session, statement, keys=SUB_ORDER_ORDER, request=page)


async def lines_by_sub_order(
    session: AsyncSession, ids: list[uuid.UUID]
) -> dict[uuid.UUID, list[OrderLine]]:
    """The lines of any number of sub-orders, in one statement."""
    found: dict[uuid.UUID, list[OrderLine]] = {id: [] for id in ids}
    if ids:
        rows = await session.scalars(
            select(OrderLine).where(OrderLine.sub_order_id.in_(ids)).order_by(OrderLine.id)
        )
        for line in rows:
            assert line.sub_order_id is not None
            found[line.sub_order_id].append(line)
    return found


async def sub_orders_by_order(
    session: AsyncSession, order_ids: list[uuid.UUID]
) -> dict[uuid.UUID, list[SubOrder]]:
    """The sub-orders of any number of orders, in one statement."""
    found: dict[uuid.UUID, list[SubOrder]] = {id: [] for id in order_ids}
    if order_ids:
        rows = await session.scalars(
            select(SubOrder).where(SubOrder.order_id.in_(order_ids)).order_by(SubOrder.id)
        )
        for row in rows:
            found[row.order_id].append(row)
    return found


# --- moving ----------------------------------------------------------------------------------


async def move_sub_order(
    uow: UnitOfWork,
    actor: Actor,
    *,
    id: str,
    status: str,
    tracking_number: str | None = None,
    carrier: str | None = None,
    reason: str | None = None,
) -> SubOrder:
    """Move along the machine (see the module); the parent order follows in the same
    transaction."""
    if status not in SUB_ORDER_STATUSES:
        raise ValidationFailed.field("status", f"One of {', '.join(SUB_ORDER_STATUSES)}.")
    tracking_number = trimmed(tracking_number, "trackingNumber", TRACKING_LENGTH)
    carrier = trimmed(carrier, "carrier", CARRIER_LENGTH)
    reason = trimmed(reason, "reason", REASON_LENGTH)
    if status == "shipped":
        problems = {
            name: "Required to ship."
            for name, value in (("trackingNumber", tracking_number), ("carrier", carrier))
            if value is None
        }
        if problems:
            raise ValidationFailed("A shipment needs a tracking number and a carrier.",
                                   details=problems)  # fmt: skip
    if status == "cancelled" and reason is None:
        raise ValidationFailed.field("reason", "Say why the sub-order is cancelled.")
    found = await get_sub_order(uow.session, actor, id)
    if not actor.can(ADMIN):
        await require_selling(uow.session, actor)
    # The order's lock first, then the sub-order's: the order's own commands (cancelling it
    # cancels its sub-orders) take them in that order too.
    order = await uow.session.scalar(
        select(Order).where(Order.id == found.order_id).with_for_update()
    )
    sub_order = await uow.session.scalar(
        select(SubOrder)
        .where(SubOrder.id == found.id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    assert order is not None and sub_order is not None
    allowed = TRANSITIONS[sub_order.status]
    if status not in allowed:
        raise Conflict(
            f"Cannot move a sub-order from {sub_order.status} to {status}; "
            f"allowed next states: {', '.join(allowed) or 'none'}.",
            details={"status": sub_order.status, "allowed": ", ".join(allowed)},
        )
    if status == "cancelled" and order.payment_status == "processing":
        raise Conflict("A payment for this order is being processed; try again shortly.")
    before = sub_order.snapshot()
    now = utcnow()
    if status == "shipped":
        sub_order.tracking_number, sub_order.carrier = tracking_number, carrier
    if status == "cancelled":
        sub_order.cancel_reason = reason
        # Performance counts a vendor's own cancellations against it, not the marketplace's.
        sub_order.cancelled_by = "marketplace" if actor.can(ADMIN) else "vendor"
        await _give_back_stock(uow, actor, order, sub_order)
    sub_order.status = status
    setattr(sub_order, STAMPS[status], now)
    sub_order.updated_at = now
    await uow.session.flush()
    record_change(
        uow, actor, event="subOrders.statusChange", entity_type=ENTITY,
        entity_id=str(sub_order.id), before=before, after=sub_order.snapshot(), reason=reason,
    )  # fmt: skip
    if status == "delivered":
        # The vendor earns at delivery, in this transaction (the ledger's rules).
        await ledger.record_delivery(uow, actor, sub_order)
    await _follow(uow, actor, order)
    return sub_order


async def _give_back_stock(
    uow: UnitOfWork, actor: Actor, order: Order, sub_order: SubOrder
) -> None:
    """Release the order's holds on the sub-order's items and return what was sold of them
    (the items of one vendor are in its sub-order only, so the levels are its own)."""
    lines = (
        await uow.session.scalars(select(OrderLine).where(OrderLine.sub_order_id == sub_order.id))
    ).all()
    wanted = {(line.entity_id, line.variant_id) for line in lines if line.entity_id is not None}
    if not wanted:
        return
    levels = (
        await uow.session.execute(
            select(InventoryLevel.id, InventoryLevel.entity_id, InventoryLevel.variant_id).where(
                InventoryLevel.entity_id.in_({entity for entity, _ in wanted})
            )
        )
    ).all()
    level_ids = [
        id for id, entity, variant in levels
        if (entity, variant) in wanted or (entity, None) in wanted
    ]  # fmt: skip
    if not level_ids:
        return
    reference = str(order.id)
    held = await uow.session.scalars(
        select(Reservation)
        .where(
            Reservation.reference_id == reference,
            Reservation.status == "active",
            Reservation.level_id.in_(level_ids),
        )
        .order_by(Reservation.level_id)
        .with_for_update()
    )
    for reservation in held.all():
        await give_back(uow, actor, reservation, status="released")
    for level_id, delta in await net_sold(uow.session, reference, level_ids):
        level = await uow.session.get(InventoryLevel, level_id, with_for_update=True)
        assert level is not None
        await apply_change(
            uow, actor, level, type="return", delta=delta, reason="sub-order cancelled",
            reference_id=reference, backorder=True,
        )  # fmt: skip


async def net_sold(
    session: AsyncSession, reference: str, level_ids: list[uuid.UUID] | None = None
) -> list[tuple[uuid.UUID, int]]:
    """Per level, the units an order sold and has not had returned yet (level order)."""
    statement = select(InventoryMovement.level_id, InventoryMovement.delta).where(
        InventoryMovement.reference_id == reference,
        InventoryMovement.type.in_(("sale", "return")),
    )
    if level_ids is not None:
        statement = statement.where(InventoryMovement.level_id.in_(level_ids))
    totals: dict[uuid.UUID, int] = defaultdict(int)
    for level_id, delta in (await session.execute(statement)).all():
        totals[level_id] -= delta
    return sorted(((k, v) for k, v in totals.items() if v > 0), key=lambda kv: str(kv[0]))


def _target(statuses: list[str]) -> str | None:
    live = [s for s in statuses if s != "cancelled"]
    if not statuses:
        return None
    if not live:
        return "cancelled"
    if all(s == "delivered" for s in live):
        return "fulfilled"
    if any(s in ("shipped", "delivered") for s in live):
        return "partially_fulfilled"
    if all(s == "confirmed" for s in live):
        return "processing"
    if any(s == "confirmed" for s in live):
        return "confirmed"
    return "pending"


async def _follow(uow: UnitOfWork, actor: Actor, order: Order) -> None:
    statuses = list(
        await uow.session.scalars(select(SubOrder.status).where(SubOrder.order_id == order.id))
    )
    target = _target(statuses)
    if target is None or order.status in ("cancelled", "refunded") or target == order.status:
        return
    if target != "cancelled" and ORDER_RANK[target] <= ORDER_RANK[order.status]:
        return
    before = order.snapshot()
    if target == "cancelled":
        await settlement.give_back_promotions(uow, order)
    order.status = target
    order.updated_at = utcnow()
    await uow.session.flush()
    record_change(
        uow, actor, event="orders.statusChange", entity_type="order", entity_id=str(order.id),
        before=before, after=order.snapshot(), reason="follows its sub-orders",
    )  # fmt: skip


async def cancel_with_parent(
    uow: UnitOfWork, actor: Actor, order: Order, reason: str | None
) -> None:
    """The order is being cancelled as a whole: its sub-orders not yet shipped are cancelled
    with it (their stock is the order's to give back)."""
    rows = await uow.session.scalars(
        select(SubOrder)
        .where(SubOrder.order_id == order.id, SubOrder.status.in_(("pending", "confirmed")))
        .order_by(SubOrder.id)
        .with_for_update()
    )
    now = utcnow()
    for sub_order in rows.all():
        before = sub_order.snapshot()
        sub_order.status = "cancelled"
        sub_order.cancel_reason = reason or "order cancelled"
        sub_order.cancelled_by = "order"
        sub_order.cancelled_at = sub_order.updated_at = now
        await uow.session.flush()
        record_change(
            uow, actor, event="subOrders.statusChange", entity_type=ENTITY,
            entity_id=str(sub_order.id), before=before, after=sub_order.snapshot(),
            reason=sub_order.cancel_reason,
        )  # fmt: skip
