"""Reservations: units held for a cart or an order until released, consumed or expired.

A reservation takes from the entity's levels in a fixed order (warehouse code), each take a
conditional UPDATE that matches only while enough is available; if the levels together cannot
cover the request the whole unit of work is refused, so nothing stays held. Expired
reservations stop counting at once (availability reads subtract only live holds) and are
swept: before each new reservation and by the server's sweeper.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.actor import Actor
from app.db import UnitOfWork
from app.errors import Conflict, NotFound, ValidationFailed
from app.ids import parse_uuid
from app.models.base import utcnow
from app.models.catalog import CatalogEntity, Variant
from app.models.inventory import InventoryLevel, Reservation, Warehouse
from app.services.inventory.levels import apply_change, give_back, release_expired

DEFAULT_TTL = timedelta(minutes=15)
MAX_TTL = timedelta(days=7)
SWEEP_BATCH = 200


async def reserve(
    uow: UnitOfWork,
    actor: Actor,
    *,
    entity_id: str,
    variant_id: str | None = None,
    quantity: int,
    reference_id: str | None = None,
    ttl: timedelta = DEFAULT_TTL,
) -> list[Reservation]:
    """Hold `quantity` units across the entity's (variant's) levels in active warehouses."""
    if not 1 <= quantity <= 100_000:
        raise ValidationFailed.field("quantity", "Between 1 and 100000.")
    if not timedelta(seconds=1) <= ttl <= MAX_TTL:
        raise ValidationFailed.field("expiresInSeconds", "Between 1 second and 7 days.")
    entity_uuid = parse_uuid(entity_id)
    entity = await uow.session.get(CatalogEntity, entity_uuid) if entity_uuid else None
    if entity is None:
        raise NotFound("Entity not found.")
    query = (
        select(InventoryLevel)
        .join(Warehouse, Warehouse.id == InventoryLevel.warehouse_id)
        .where(InventoryLevel.entity_id == entity.id, Warehouse.active.is_(True))
        .order_by(Warehouse.code, InventoryLevel.sku)
    )
    if variant_id is not None:
        variant = parse_uuid(variant_id)
        if variant is None or (await uow.session.get(Variant, variant)) is None:
            raise NotFound("Variant not found.")
        query = query.where(InventoryLevel.variant_id == variant)
    await sweep_expired(uow, now=utcnow())
    levels = list((await uow.session.scalars(query)).all())
    remaining = quantity
    held: list[Reservation] = []
    expires_at = utcnow() + ttl
    for level in levels:
        taken = await _take(uow, actor, level, remaining, entity.allow_backorder, reference_id)
        if taken:
            reservation = Reservation(
                level_id=level.id,
                quantity=taken,
                reference_id=reference_id,
                expires_at=expires_at,
            )
            uow.session.add(reservation)
            held.append(reservation)
            remaining -= taken
        if remaining == 0:
            break
    if remaining:
        available = quantity - remaining
        raise Conflict(
            f"Not enough stock: {quantity} requested, {available} available.",
            details={"quantity": f"{available} available."},
        )
    await uow.session.flush()
    return held


async def _take(
    uow: UnitOfWork,
    actor: Actor,
    level: InventoryLevel,
    wanted: int,
    backorder: bool,
    reference_id: str | None,
) -> int:
    """Hold as much of `wanted` as the level has. Each try reads the level fresh and takes
    with a conditional update that re-checks under the row lock; when another request took
    stock in between, it tries again with what is left."""
    for _ in range(3):
        await uow.session.refresh(level)
        take = wanted if backorder else min(wanted, level.available_quantity)
        if take <= 0:
            return 0
        try:
            await apply_change(
                uow,
                actor,
                level,
                type="reservation",
                reserved_delta=take,
                reference_id=reference_id,
                reason="reserved",
                backorder=backorder,
            )
        except Conflict:
            continue
        return take
    return 0


async def release(
    uow: UnitOfWork,
    actor: Actor,
    *,
    reservation_id: str | None = None,
    reference_id: str | None = None,
    status: str = "released",
) -> list[Reservation]:
    """Give back the units of one reservation, or of every live one with `reference_id`."""
    if (reservation_id is None) == (reference_id is None):
        raise ValidationFailed.field("reservationId", "Give a reservationId or a referenceId.")
    query = select(Reservation).where(Reservation.status == "active").with_for_update()
    if reservation_id is not None:
        parsed = parse_uuid(reservation_id)
        if parsed is None:
            raise NotFound("Reservation not found.")
        query = query.where(Reservation.id == parsed)
    else:
        query = query.where(Reservation.reference_id == reference_id)
    reservations = list((await uow.session.scalars(query.order_by(Reservation.level_id))).all())
    if not reservations:
        raise NotFound("No live reservation matches.")
    for reservation in reservations:
        await give_back(uow, actor, reservation, status=status)
    return reservations


async def sweep_expired(uow: UnitOfWork, *, now: datetime) -> int:
    """Release reservations whose time is up, wherever they are; returns how many."""
    return await release_expired(uow, now=now, limit=SWEEP_BATCH)


async def expired_holds(
    session: AsyncSession, level_ids: list[uuid.UUID], now: datetime
) -> dict[uuid.UUID, int]:
    """Units still counted as reserved on each level although their reservation expired."""
    if not level_ids:
        return {}
    rows = await session.execute(
        select(Reservation.level_id, func.sum(Reservation.quantity))
        .where(
            Reservation.level_id.in_(level_ids),
            Reservation.status == "active",
            Reservation.expires_at <= now,
        )
        .group_by(Reservation.level_id)
    )
    return {level_id: int(total) for level_id, total in rows}
