"""Inventory levels: every change is one conditional atomic UPDATE plus its movement, audit
entry and `inventory.afterAdjust` event; `inventory.low_stock` fires when availability
crosses the reorder point downwards. Stock never goes below what is reserved (available
never below zero) unless the entity allows backorder."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.attributes import set_committed_value

from app.auth.actor import SYSTEM, Actor
from app.db import UnitOfWork, insert_ignoring_duplicates
from app.errors import Conflict, NotFound, ValidationFailed
from app.events.outbox import add_event
from app.ids import parse_uuid, uuid7
from app.models.base import utcnow
from app.models.catalog import CatalogEntity, Variant
from app.models.inventory import (
    MOVEMENT_TYPES,
    InventoryLevel,
    InventoryMovement,
    Reservation,
    Warehouse,
)
from app.services.audit import record_change

MAX_BULK = 100
MAX_QUANTITY = 1_000_000_000
# Adjustment types the caller may give, and the sign each puts on a positive quantity.
ADJUST_SIGNS = {"restock": 1, "return": 1, "sale": -1, "damage": -1, "correction": 0}


@dataclass(frozen=True, slots=True)
class Change:
    """What one change did to one level."""

    level: InventoryLevel
    delta: int
    reserved_delta: int


def level_state(level: InventoryLevel) -> dict[str, Any]:
    return {
        "sku": level.sku,
        "warehouseId": str(level.warehouse_id),
        "quantity": level.quantity,
        "reservedQuantity": level.reserved_quantity,
        "availableQuantity": level.available_quantity,
        "reorderPoint": level.reorder_point,
        "reorderQuantity": level.reorder_quantity,
    }


async def _allows_backorder(session: AsyncSession, entity_id: uuid.UUID) -> bool:
    return bool(
        await session.scalar(
            select(CatalogEntity.allow_backorder).where(CatalogEntity.id == entity_id)
        )
    )


async def apply_change(
    uow: UnitOfWork,
    actor: Actor,
    level: InventoryLevel,
    *,
    type: str,
    delta: int = 0,
    reserved_delta: int = 0,
    reason: str | None = None,
    reference_id: str | None = None,
    backorder: bool | None = None,
    before: dict[str, Any] | None = None,
) -> Change:
    """Move a level by `delta` on hand and `reserved_delta` reserved, in one conditional
    UPDATE: it matches only while the result keeps available >= 0 (and reserved >= 0).
    A level that does not match is refused with CONFLICT and is left as it was.

    A change that lowers availability first releases the level's expired holds, so what
    reads show as available is what can be taken. `before` is the state to audit when the
    caller changed the level already (reorder settings)."""
    assert type in MOVEMENT_TYPES
    if backorder is None:
        backorder = await _allows_backorder(uow.session, level.entity_id)
    if delta < 0 or reserved_delta > 0:
        await release_expired(uow, level_ids=[level.id], now=utcnow())
    new_quantity = InventoryLevel.quantity + delta
    new_reserved = InventoryLevel.reserved_quantity + reserved_delta
    conditions = [InventoryLevel.id == level.id, new_reserved >= 0]
    if not backorder:
        conditions += [new_quantity >= 0, new_quantity - new_reserved >= 0]
    result = await uow.session.execute(
        update(InventoryLevel)
        .where(*conditions)
        .values(quantity=new_quantity, reserved_quantity=new_reserved, last_updated=utcnow())
        .returning(InventoryLevel.quantity, InventoryLevel.reserved_quantity)
        .execution_options(synchronize_session=False)
    )
    row = result.first()
    if row is None:
        current = await uow.session.get(InventoryLevel, level.id, populate_existing=True)
        available = current.available_quantity if current else 0
        raise Conflict(
            f"Not enough stock of {level.sku}: {available} available.",
            details={"sku": level.sku, "available": str(available)},
        )
    # The state before is what the update started from, whatever this object last saw.
    seen_as_written(level, row[0] - delta, row[1] - reserved_delta)
    before = {**level_state(level), **(before or {})} if before else level_state(level)
    seen_as_written(level, row[0], row[1])
    await _record(uow, actor, level, before, type, delta, reserved_delta, reason, reference_id)
    return Change(level=level, delta=delta, reserved_delta=reserved_delta)


def seen_as_written(level: InventoryLevel, quantity: int, reserved: int) -> None:
    """Show the object what the UPDATE left in the row, without marking it changed: the
    row is already written, and a flush must not write absolute values over it."""
    set_committed_value(level, "quantity", quantity)
    set_committed_value(level, "reserved_quantity", reserved)


async def _record(
    uow: UnitOfWork,
    actor: Actor,
    level: InventoryLevel,
    before: dict[str, Any] | None,
    type: str,
    delta: int,
    reserved_delta: int,
    reason: str | None,
    reference_id: str | None,
) -> None:
    uow.session.add(
        InventoryMovement(
            level_id=level.id,
            type=type,
            delta=delta,
            reserved_delta=reserved_delta,
            reason=reason,
            reference_id=reference_id,
            actor_id=actor.id,
        )
    )
    after = level_state(level)
    record_change(
        uow,
        actor,
        event="inventory.afterAdjust",
        entity_type="inventory",
        entity_id=str(level.id),
        before=before,
        after={
            **after,
            "type": type,
            "delta": delta,
            "reservedDelta": reserved_delta,
            "referenceId": reference_id,
        },
        reason=reason,
    )
    was = (before or {}).get("availableQuantity")
    now = after["availableQuantity"]
    if level.reorder_point > 0 and was is not None and was > level.reorder_point >= now:
        add_event(
            uow.session,
            type="inventory.low_stock",
            entity_type="inventory",
            entity_id=str(level.id),
            data={**after, "entityId": str(level.entity_id)},
            actor_id=actor.id,
            request_id=uow.request_id,
        )


async def give_back(
    uow: UnitOfWork, actor: Actor, reservation: Reservation, *, status: str
) -> None:
    """End a live reservation (`released`, `consumed` or `expired`), returning its units."""
    level = await uow.session.get(InventoryLevel, reservation.level_id)
    assert level is not None
    await apply_change(
        uow,
        actor,
        level,
        type="release",
        reserved_delta=-reservation.quantity,
        reference_id=reservation.reference_id,
        reason=status,
        backorder=True,
    )
    reservation.status = status
    reservation.updated_at = utcnow()


async def release_expired(
    uow: UnitOfWork,
    *,
    now: datetime,
    level_ids: Sequence[uuid.UUID] | None = None,
    limit: int | None = 200,
) -> int:
    """Release expired reservations (of these levels, or any); returns how many. Rows another
    transaction is releasing are skipped (SKIP LOCKED), so sweepers never wait on each other."""
    if level_ids is not None and not level_ids:
        return 0
    query = (
        select(Reservation)
        .where(Reservation.status == "active", Reservation.expires_at <= now)
        .order_by(Reservation.level_id, Reservation.id)
        .limit(limit)
    )
    if level_ids is not None:
        query = query.where(Reservation.level_id.in_(level_ids))
    if not uow.database.is_sqlite:
        query = query.with_for_update(skip_locked=True)
    expired = list((await uow.session.scalars(query)).all())
    for reservation in expired:
        await give_back(uow, SYSTEM, reservation, status="expired")
    return len(expired)


def _check_reason(reason: str | None) -> None:
    if reason is not None and len(reason) > 500:
        raise ValidationFailed.field("reason", "At most 500 characters.")


def _check_quantity(value: int, field: str, *, signed: bool = False) -> None:
    if abs(value) > MAX_QUANTITY or (not signed and value < 0):
        raise ValidationFailed.field(
            field, f"Must be {'between -' if signed else 'between 0 and '}{MAX_QUANTITY}."
        )


async def default_warehouse(session: AsyncSession) -> Warehouse:
    warehouse = await session.scalar(
        select(Warehouse).where(Warehouse.active.is_(True)).order_by(Warehouse.code).limit(1)
    )
    if warehouse is None:
        raise Conflict("No active warehouse: create one first (POST /api/inventory/warehouses).")
    return warehouse


async def sku_owner(session: AsyncSession, sku: str) -> tuple[uuid.UUID, uuid.UUID | None]:
    """The entity and variant a SKU names; an unknown SKU is NOT_FOUND."""
    found = (
        await session.execute(select(Variant.entity_id, Variant.id).where(Variant.sku == sku))
    ).first()
    if found is not None:
        return found[0], found[1]
    entity = await session.scalar(select(CatalogEntity.id).where(CatalogEntity.slug == sku))
    if entity is None:
        raise NotFound(f"Unknown SKU {sku}.", details={"sku": "Unknown."})
    return entity, None


async def level_for_sku(
    uow: UnitOfWork, sku: str, *, warehouse_id: str | None, create: bool
) -> InventoryLevel:
    """The SKU's level in the given warehouse; without one, its only level, else the default
    warehouse's. `create` makes an empty level where there is none."""
    entity_id, variant_id = await sku_owner(uow.session, sku)
    query = select(InventoryLevel).where(InventoryLevel.sku == sku).with_for_update()
    if warehouse_id is not None:
        warehouse = parse_uuid(warehouse_id)
        if warehouse is None or await uow.session.get(Warehouse, warehouse) is None:
            raise NotFound("Warehouse not found.")
        query = query.where(InventoryLevel.warehouse_id == warehouse)
    levels = list((await uow.session.scalars(query.order_by(InventoryLevel.warehouse_id))).all())
    if len(levels) == 1:
        return levels[0]
    if len(levels) > 1:
        raise ValidationFailed.field(
            "warehouseId", f"{sku} is stocked in {len(levels)} warehouses; name one."
        )
    if not create:
        raise NotFound(f"No stock of {sku} is recorded.")
    target = (
        await uow.session.get(Warehouse, parse_uuid(warehouse_id))
        if warehouse_id
        else await default_warehouse(uow.session)
    )
    assert target is not None
    return await _create_level(uow, entity_id, variant_id, target, sku)


async def _create_level(
    uow: UnitOfWork,
    entity_id: uuid.UUID,
    variant_id: uuid.UUID | None,
    warehouse: Warehouse,
    sku: str,
) -> InventoryLevel:
    """Make the level, or take the one a concurrent request just made, locked either way."""
    await uow.session.execute(
        insert_ignoring_duplicates(uow.database, InventoryLevel.__table__, ["warehouse_id", "sku"]),
        [
            {
                "id": uuid7(),
                "entity_id": entity_id,
                "variant_id": variant_id,
                "warehouse_id": warehouse.id,
                "sku": sku,
                "quantity": 0,
                "reserved_quantity": 0,
                "reorder_point": 0,
                "reorder_quantity": 0,
                "last_updated": utcnow(),
            }
        ],
    )
    level = await uow.session.scalar(
        select(InventoryLevel)
        .where(InventoryLevel.warehouse_id == warehouse.id, InventoryLevel.sku == sku)
        .with_for_update()
    )
    assert level is not None
    return level


async def level_for_entity(
    uow: UnitOfWork, *, entity_id: str, variant_id: str | None, warehouse_id: str
) -> InventoryLevel:
    """The (entity, variant, warehouse) level, made on first use. An entity with one variant
    may leave the variant out; its SKU names the level."""
    entity = (
        await uow.session.get(CatalogEntity, parse_uuid(entity_id))
        if parse_uuid(entity_id)
        else None
    )
    if entity is None:
        raise NotFound("Entity not found.")
    warehouse = (
        await uow.session.get(Warehouse, parse_uuid(warehouse_id))
        if parse_uuid(warehouse_id)
        else None
    )
    if warehouse is None:
        raise NotFound("Warehouse not found.")
    variants = list(
        (await uow.session.scalars(select(Variant).where(Variant.entity_id == entity.id))).all()
    )
    if variant_id is not None:
        variant = next((v for v in variants if str(v.id) == str(parse_uuid(variant_id))), None)
        if variant is None:
            raise NotFound("Variant not found for this entity.")
    elif len(variants) > 1:
        raise ValidationFailed.field("variantId", "The entity has several variants; name one.")
    else:
        variant = variants[0] if variants else None
    sku = variant.sku if variant else entity.slug
    level = await uow.session.scalar(
        select(InventoryLevel)
        .where(InventoryLevel.warehouse_id == warehouse.id, InventoryLevel.sku == sku)
        .with_for_update()
    )
    if level is None:
        level = await _create_level(uow, entity.id, variant.id if variant else None, warehouse, sku)
    return level


async def adjust_level(
    uow: UnitOfWork,
    actor: Actor,
    level: InventoryLevel,
    *,
    type: str,
    quantity: int,
    reason: str | None = None,
    reference_id: str | None = None,
) -> Change:
    """restock/return add `quantity`, sale/damage take it away, correction adds it signed."""
    if type not in ADJUST_SIGNS:
        raise ValidationFailed.field("type", f"One of {', '.join(ADJUST_SIGNS)}.")
    sign = ADJUST_SIGNS[type]
    _check_quantity(quantity, "quantity", signed=sign == 0)
    if sign and quantity <= 0:
        raise ValidationFailed.field("quantity", f"A {type} takes a positive quantity.")
    if quantity == 0:
        raise ValidationFailed.field("quantity", "Must not be zero.")
    _check_reason(reason)
    delta = quantity * sign if sign else quantity
    return await apply_change(
        uow, actor, level, type=type, delta=delta, reason=reason, reference_id=reference_id
    )


async def adjust_by_sku(
    uow: UnitOfWork,
    actor: Actor,
    *,
    sku: str,
    adjustment: int,
    reason: str | None = None,
    reference_id: str | None = None,
    warehouse_id: str | None = None,
) -> Change:
    """The gateway's signed adjustment: positive restocks, negative removes."""
    if adjustment == 0:
        raise ValidationFailed.field("adjustment", "Must not be zero.")
    _check_quantity(adjustment, "adjustment", signed=True)
    _check_reason(reason)
    level = await level_for_sku(uow, sku, warehouse_id=warehouse_id, create=adjustment > 0)
    return await apply_change(
        uow,
        actor,
        level,
        type="restock" if adjustment > 0 else "correction",
        delta=adjustment,
        reason=reason,
        reference_id=reference_id,
    )


async def set_level(
    uow: UnitOfWork,
    actor: Actor,
    *,
    sku: str,
    quantity: int | None = None,
    reorder_point: int | None = None,
    reorder_quantity: int | None = None,
    reason: str | None = None,
    warehouse_id: str | None = None,
    level: InventoryLevel | None = None,
) -> Change:
    """Set the absolute quantity (an inventory sync) and/or the reorder settings. The new
    quantity may not be below what is reserved."""
    for value, field in ((quantity, "quantity"), (reorder_point, "reorderPoint"),
                         (reorder_quantity, "reorderQuantity")):  # fmt: skip
        if value is not None:
            _check_quantity(value, field)
    _check_reason(reason)
    if level is None:
        level = await level_for_sku(uow, sku, warehouse_id=warehouse_id, create=True)
    before = level_state(level)
    if reorder_point is not None or reorder_quantity is not None:
        level.reorder_point = reorder_point if reorder_point is not None else level.reorder_point
        level.reorder_quantity = (
            reorder_quantity if reorder_quantity is not None else level.reorder_quantity
        )
        level.last_updated = utcnow()
        await uow.session.flush()
    delta = (quantity - level.quantity) if quantity is not None else 0
    if delta == 0:
        if before != level_state(level):
            await _record(uow, actor, level, before, "correction", 0, 0, reason, None)
        return Change(level=level, delta=0, reserved_delta=0)
    if quantity is not None and quantity < level.reserved_quantity:
        raise Conflict(
            f"{sku}: {level.reserved_quantity} are reserved; the quantity cannot be lower.",
            details={"quantity": f"At least {level.reserved_quantity} (reserved)."},
        )
    return await apply_change(
        uow,
        actor,
        level,
        type="correction",
        delta=delta,
        reason=reason,
        backorder=False,
        before={k: v for k, v in before.items() if k in ("reorderPoint", "reorderQuantity")},
    )


async def bulk_set(
    uow: UnitOfWork,
    actor: Actor,
    *,
    updates: list[tuple[str, int]],
    reason: str | None = None,
    warehouse_id: str | None = None,
) -> list[Change]:
    """Set up to 100 SKUs at once, all or nothing. Rows are locked in SKU order, so two bulk
    updates over overlapping SKUs queue behind each other instead of deadlocking."""
    if not updates:
        raise ValidationFailed.field("updates", "Give at least one update.")
    if len(updates) > MAX_BULK:
        raise ValidationFailed.field("updates", f"At most {MAX_BULK} SKUs per request.")
    skus = [sku for sku, _ in updates]
    if len(set(skus)) != len(skus):
        raise ValidationFailed.field("updates", "Each SKU at most once.")
    for index, (_, quantity) in enumerate(updates):
        _check_quantity(quantity, f"updates.{index}.quantity")
    _check_reason(reason)
    changes = []
    for sku, quantity in sorted(updates):
        level = await level_for_sku(uow, sku, warehouse_id=warehouse_id, create=True)
        changes.append(
            await set_level(uow, actor, sku=sku, quantity=quantity, reason=reason, level=level)
        )
    return changes
