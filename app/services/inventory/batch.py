"""Selling many lines at once: the paid checkout's stock take in a fixed number of statements.

All candidate levels of all lines are locked in one SELECT ... FOR UPDATE, in a fixed order
(warehouse code, SKU), so concurrent checkouts queue instead of deadlocking (SQLite's BEGIN
IMMEDIATE serialises writers already). Expired holds on those levels are released; each line
is spread over its levels (warehouse code order) from the locked rows; then one guarded
UPDATE takes every unit, one executemany inserts the movements, and the audit entries and
events (same shape as a single change's) flush as one insert per table.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import and_, case, or_, select, update

from app.auth.actor import SYSTEM, Actor
from app.db import UnitOfWork
from app.errors import Conflict
from app.events.outbox import add_event
from app.ids import uuid7
from app.models.base import utcnow
from app.models.catalog import CatalogEntity
from app.models.inventory import InventoryLevel, InventoryMovement, Reservation, Warehouse
from app.services.audit import record_change
from app.services.inventory.levels import give_back, level_state, seen_as_written

Line = tuple[Any, Any, int]


def _uuid(value: Any) -> uuid.UUID:
    return value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))


async def sell_lines(
    uow: UnitOfWork,
    actor: Actor,
    *,
    lines: list[Line],
    reference_id: str,
    reason: str,
) -> None:
    """Take every line's quantity off the shelf as a sale, all or nothing (Conflict names
    the first SKU that cannot be covered)."""
    if not lines:
        return
    wanted = [(_uuid(e), _uuid(v) if v is not None else None, q) for e, v, q in lines]
    matches = [
        and_(InventoryLevel.entity_id == e, InventoryLevel.variant_id == v)
        if v is not None
        else InventoryLevel.entity_id == e
        for e, v, _ in wanted
    ]
    query = (
        select(InventoryLevel, CatalogEntity.allow_backorder)
        .join(Warehouse, Warehouse.id == InventoryLevel.warehouse_id)
        .join(CatalogEntity, CatalogEntity.id == InventoryLevel.entity_id)
        .where(Warehouse.active.is_(True), or_(*matches))
        .order_by(Warehouse.code, InventoryLevel.sku)
        .execution_options(populate_existing=True)
    )
    if not uow.database.is_sqlite:
        query = query.with_for_update(of=InventoryLevel)
    rows = (await uow.session.execute(query)).all()
    levels = [level for level, _ in rows]
    backorder = {level.id: bool(flag) for level, flag in rows}
    await _release_expired(uow, [level.id for level in levels])

    # Allocate in Python from the locked rows, in warehouse code order.
    left = {level.id: level.available_quantity for level in levels}
    takes: dict[uuid.UUID, int] = {}
    for entity_id, variant_id, quantity in wanted:
        candidates = [
            level
            for level in levels
            if level.entity_id == entity_id
            and (variant_id is None or level.variant_id == variant_id)
        ]
        remaining = quantity
        for level in candidates:
            take = remaining if backorder[level.id] else min(remaining, max(left[level.id], 0))
            if take > 0:
                takes[level.id] = takes.get(level.id, 0) + take
                left[level.id] -= take
                remaining -= take
            if remaining == 0:
                break
        if remaining:
            available = quantity - remaining
            sku = candidates[0].sku if candidates else str(variant_id or entity_id)
            raise Conflict(
                f"Not enough stock of {sku}: {quantity} requested, {available} available.",
                details={"sku": sku, "quantity": f"{available} available."},
            )

    taken = [level for level in levels if level.id in takes]
    before = {level.id: level_state(level) for level in taken}
    amount = case(*[(InventoryLevel.id == level.id, takes[level.id]) for level in taken])
    guards = [
        InventoryLevel.id == level.id
        if backorder[level.id]
        else and_(
            InventoryLevel.id == level.id,
            InventoryLevel.quantity - InventoryLevel.reserved_quantity >= takes[level.id],
        )
        for level in taken
    ]
    result = await uow.session.execute(
        update(InventoryLevel)
        .where(InventoryLevel.id.in_([level.id for level in taken]), or_(*guards))
        .values(quantity=InventoryLevel.quantity - amount, last_updated=utcnow())
        .returning(InventoryLevel.id, InventoryLevel.quantity, InventoryLevel.reserved_quantity)
        .execution_options(synchronize_session=False)
    )
    updated = {row[0]: (row[1], row[2]) for row in result.all()}
    if len(updated) != len(taken):
        short = next(level for level in taken if level.id not in updated)
        raise Conflict(
            f"Not enough stock of {short.sku}.",
            details={"sku": short.sku},
        )
    for level in taken:
        seen_as_written(level, *updated[level.id])

    now = utcnow()
    await uow.session.execute(
        InventoryMovement.__table__.insert(),
        [
            {
                "id": uuid7(),
                "level_id": level.id,
                "type": "sale",
                "delta": -takes[level.id],
                "reserved_delta": 0,
                "reason": reason,
                "reference_id": reference_id,
                "actor_id": actor.id,
                "created_at": now,
            }
            for level in taken
        ],
    )
    for level in taken:
        was = before[level.id]
        after = level_state(level)
        record_change(
            uow,
            actor,
            event="inventory.afterAdjust",
            entity_type="inventory",
            entity_id=str(level.id),
            before=was,
            after={
                **after,
                "type": "sale",
                "delta": -takes[level.id],
                "reservedDelta": 0,
                "referenceId": reference_id,
            },
            reason=reason,
        )
        point = level.reorder_point
        if point > 0 and was["availableQuantity"] > point >= after["availableQuantity"]:
            add_event(
                uow.session,
                type="inventory.low_stock",
                entity_type="inventory",
                entity_id=str(level.id),
                data={**after, "entityId": str(level.entity_id)},
                actor_id=actor.id,
                request_id=uow.request_id,
            )
    await uow.session.flush()


async def _release_expired(uow: UnitOfWork, level_ids: list[uuid.UUID]) -> None:
    """Release the expired holds of these (locked) levels: one SELECT, and a release per
    expired reservation only when there are any."""
    if not level_ids:
        return
    query = (
        select(Reservation)
        .where(
            Reservation.level_id.in_(level_ids),
            Reservation.status == "active",
            Reservation.expires_at <= utcnow(),
        )
        .order_by(Reservation.level_id, Reservation.id)
    )
    if not uow.database.is_sqlite:
        query = query.with_for_update(skip_locked=True)
    for reservation in (await uow.session.scalars(query)).all():
        await give_back(uow, SYSTEM, reservation, status="expired")
