"""Holding and selling many lines at once: checkout's stock steps in a fixed number of
statements, whatever the number of lines.

`hold_lines` reserves every line across its levels (warehouse code order). The allocation is
computed from a plain read; what makes it safe is the guarded UPDATE alone
(`quantity - reserved_quantity >= take` on every row it touches), which PostgreSQL re-checks
on the newest row version when a concurrent checkout got there first. The rows are locked in
id order just before it, only so that two checkouts touching the same levels queue instead of
deadlocking. A shortfall undoes what the attempt took and tries again from a fresh read.

`consume_holds` turns an order's live holds into sales: the units leave the shelf and the
hold together. Neither step locks anything but the rows it changes, and both run in short
transactions that never wait on a payment provider.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, case, or_, select, update

from app.auth.actor import Actor
from app.db import UnitOfWork
from app.errors import Conflict
from app.events.outbox import add_event
from app.ids import uuid7
from app.models.base import utcnow
from app.models.catalog import CatalogEntity
from app.models.inventory import InventoryLevel, InventoryMovement, Reservation, Warehouse
from app.services.audit import record_change
from app.services.inventory.levels import level_state, release_expired, seen_as_written

Line = tuple[uuid.UUID, uuid.UUID | None, int]
ATTEMPTS = 3


@dataclass(frozen=True, slots=True)
class _Take:
    level: InventoryLevel
    quantity: int


async def hold_lines(
    uow: UnitOfWork,
    actor: Actor,
    *,
    lines: list[Line],
    reference_id: str,
    expires_at: datetime,
    reason: str = "reserved",
) -> None:
    """Reserve every line's quantity until `expires_at`, all or nothing (Conflict names the
    first SKU that cannot be covered)."""
    if not lines:
        return
    for attempt in range(ATTEMPTS):
        levels, backorder = await _candidates(uow, lines, release=attempt == 0)
        takes = _allocate(lines, levels, backorder)
        short = await _guarded_hold(uow, takes, backorder)
        if short is None:
            break
        if attempt == ATTEMPTS - 1:
            raise Conflict(f"Not enough stock of {short.sku}.", details={"sku": short.sku})
    now = utcnow()
    await uow.session.execute(
        Reservation.__table__.insert(),
        [
            {
                "id": uuid7(),
                "level_id": take.level.id,
                "quantity": take.quantity,
                "status": "active",
                "reference_id": reference_id,
                "expires_at": expires_at,
                "created_at": now,
                "updated_at": now,
            }
            for take in takes
        ],
    )
    await _record_batch(
        uow, actor, takes, type="reservation", on_hand=False, reference_id=reference_id,
        reason=reason,
    )  # fmt: skip


async def consume_holds(
    uow: UnitOfWork, actor: Actor, *, reference_id: str, reason: str
) -> dict[tuple[uuid.UUID, uuid.UUID | None], int]:
    """Sell every live hold of `reference_id` (expired ones not yet swept still hold their
    units, so they count); returns the units sold per (entity, variant)."""
    query = (
        select(Reservation, InventoryLevel)
        .join(InventoryLevel, InventoryLevel.id == Reservation.level_id)
        .where(Reservation.reference_id == reference_id, Reservation.status == "active")
        .order_by(Reservation.level_id, Reservation.id)
        .execution_options(populate_existing=True)
    )
    if not uow.database.is_sqlite:
        query = query.with_for_update(of=Reservation)
    rows = (await uow.session.execute(query)).all()
    if not rows:
        return {}
    per_level: dict[uuid.UUID, int] = {}
    levels: dict[uuid.UUID, InventoryLevel] = {}
    sold: dict[tuple[uuid.UUID, uuid.UUID | None], int] = {}
    for reservation, level in rows:
        per_level[level.id] = per_level.get(level.id, 0) + reservation.quantity
        levels[level.id] = level
        key = (level.entity_id, level.variant_id)
        sold[key] = sold.get(key, 0) + reservation.quantity
    takes = [_Take(levels[id], quantity) for id, quantity in per_level.items()]
    await _lock_in_order(uow, sorted(per_level))
    amount = case(*[(InventoryLevel.id == t.level.id, t.quantity) for t in takes])
    result = await uow.session.execute(
        update(InventoryLevel)
        .where(InventoryLevel.id.in_(list(per_level)))
        .values(
            quantity=InventoryLevel.quantity - amount,
            reserved_quantity=InventoryLevel.reserved_quantity - amount,
            last_updated=utcnow(),
        )
        .returning(InventoryLevel.id, InventoryLevel.quantity, InventoryLevel.reserved_quantity)
        .execution_options(synchronize_session=False)
    )
    before = {}
    for id, quantity, reserved in result.all():
        # What the update started from, then what it left.
        seen_as_written(levels[id], quantity + per_level[id], reserved + per_level[id])
        before[id] = level_state(levels[id])
        seen_as_written(levels[id], quantity, reserved)
    await uow.session.execute(
        update(Reservation)
        .where(Reservation.id.in_([r.id for r, _ in rows]))
        .values(status="consumed", updated_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    await _record_batch(
        uow, actor, takes, type="sale", on_hand=True, reference_id=reference_id, reason=reason,
        before=before,
    )  # fmt: skip
    return sold


async def _candidates(
    uow: UnitOfWork, wanted: list[Line], *, release: bool
) -> tuple[list[InventoryLevel], dict[uuid.UUID, bool]]:
    """Every level of every line in an active warehouse (warehouse code order), read fresh
    without a lock; the first attempt also releases their expired holds."""
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
    rows = (await uow.session.execute(query)).all()
    levels = [level for level, _ in rows]
    if release:
        await release_expired(
            uow, now=utcnow(), level_ids=[level.id for level in levels], limit=None
        )
    return levels, {level.id: bool(flag) for level, flag in rows}


def _allocate(
    wanted: list[Line],
    levels: list[InventoryLevel],
    backorder: dict[uuid.UUID, bool],
) -> list[_Take]:
    """Spread each line over its levels in order, from what the read saw as available."""
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
    return [_Take(level, takes[level.id]) for level in levels if level.id in takes]


async def _guarded_hold(
    uow: UnitOfWork, takes: list[_Take], backorder: dict[uuid.UUID, bool]
) -> InventoryLevel | None:
    """Add every take to its level's reserved units in one UPDATE that matches a row only
    while it still has the units available; None when every row matched, else the first
    level that did not (and nothing of this attempt stays taken)."""
    ids = sorted(t.level.id for t in takes)
    # Lock order only (see the module's docstring): the guard below decides.
    await _lock_in_order(uow, ids)
    amount = case(*[(InventoryLevel.id == t.level.id, t.quantity) for t in takes])
    guards = [
        InventoryLevel.id == t.level.id
        if backorder[t.level.id]
        else and_(
            InventoryLevel.id == t.level.id,
            InventoryLevel.quantity - InventoryLevel.reserved_quantity >= t.quantity,
        )
        for t in takes
    ]
    result = await uow.session.execute(
        update(InventoryLevel)
        .where(InventoryLevel.id.in_(ids), or_(*guards))
        .values(reserved_quantity=InventoryLevel.reserved_quantity + amount, last_updated=utcnow())
        .returning(InventoryLevel.id, InventoryLevel.quantity, InventoryLevel.reserved_quantity)
        .execution_options(synchronize_session=False)
    )
    updated = {row[0]: (row[1], row[2]) for row in result.all()}
    if len(updated) == len(takes):
        for take in takes:
            quantity, reserved = updated[take.level.id]
            # The state before is what the update started from.
            seen_as_written(take.level, quantity, reserved - take.quantity)
        return None
    if updated:
        undo = case(*[(InventoryLevel.id == t.level.id, t.quantity) for t in takes])
        await uow.session.execute(
            update(InventoryLevel)
            .where(InventoryLevel.id.in_(list(updated)))
            .values(reserved_quantity=InventoryLevel.reserved_quantity - undo)
            .execution_options(synchronize_session=False)
        )
    return next(t.level for t in takes if t.level.id not in updated)


async def _lock_in_order(uow: UnitOfWork, ids: list[uuid.UUID]) -> None:
    """Lock these levels in id order (PostgreSQL; SQLite's writers are serialised already),
    so that every multi-row stock change queues behind another instead of deadlocking."""
    if not uow.database.is_sqlite:
        await uow.session.execute(
            select(InventoryLevel.id)
            .where(InventoryLevel.id.in_(ids))
            .order_by(InventoryLevel.id)
            .with_for_update()
        )


async def _record_batch(
    uow: UnitOfWork,
    actor: Actor,
    takes: Iterable[_Take],
    *,
    type: str,
    on_hand: bool,
    reference_id: str,
    reason: str,
    before: dict[uuid.UUID, dict[str, Any]] | None = None,
) -> None:
    """The movements (one executemany), then the audit entries and events of every level,
    low-stock events included (the unit of work's next flush inserts them, one statement per
    table with whatever else it writes). Without `before`, each
    level object still shows its state before the change, and is moved here to after it."""
    takes = list(takes)
    now = utcnow()
    reserved_sign = -1 if on_hand else 1
    rows = []
    states: list[tuple[_Take, dict[str, Any], dict[str, Any]]] = []
    for take in takes:
        level = take.level
        if before is None:
            was = level_state(level)
            seen_as_written(level, level.quantity, level.reserved_quantity + take.quantity)
        else:
            was = before[level.id]
        delta = -take.quantity if on_hand else 0
        reserved_delta = reserved_sign * take.quantity
        rows.append(
            {
                "id": uuid7(),
                "level_id": level.id,
                "type": type,
                "delta": delta,
                "reserved_delta": reserved_delta,
                "reason": reason,
                "reference_id": reference_id,
                "actor_id": actor.id,
                "created_at": now,
            }
        )
        after = {
            **level_state(level),
            "type": type,
            "delta": delta,
            "reservedDelta": reserved_delta,
            "referenceId": reference_id,
        }
        states.append((take, was, after))
    await uow.session.execute(InventoryMovement.__table__.insert(), rows)
    for take, was, after in states:
        level = take.level
        record_change(
            uow,
            actor,
            event="inventory.afterAdjust",
            entity_type="inventory",
            entity_id=str(level.id),
            before=was,
            after=after,
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
