"""Reading stock: level listings (the gateway's Inventory objects), availability checks,
movement history. Availability never counts holds whose reservation has expired."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, bindparam, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.errors import NotFound, ValidationFailed
from app.ids import parse_uuid
from app.models.base import utcnow
from app.models.catalog import CatalogAttributes, CatalogEntity
from app.models.inventory import (
    InventoryLevel,
    InventoryLevelCount,
    InventoryMovement,
    Reservation,
    Warehouse,
)
from app.pagination import Page, PageRequest, SortKey, paginate
from app.services.catalog.attributes import DEFAULT_LOCALE
from app.services.catalog.loading import among_ids, columns
from app.services.inventory.reservations import expired_holds

LEVEL_ORDER = (SortKey(InventoryLevel.sku), SortKey(InventoryLevel.id))


@dataclass(frozen=True, slots=True)
class LevelFilter:
    warehouse_id: str | None = None
    low_stock: bool | None = None
    sku_prefix: str | None = None
    entity_id: str | None = None
    sku: str | None = None
    # Where stock can be sold from: reservations skip inactive warehouses.
    active_warehouses: bool = False


# The levels stock is sold from, for availability (`levels_for_entities`, `units_available`).
SELLABLE = LevelFilter(active_warehouses=True)


def expired_units(now: datetime | ColumnElement[datetime]) -> ColumnElement[int]:
    """Units of a level's holds that expired but are not swept yet (a correlated subquery)."""
    return (
        select(func.coalesce(func.sum(Reservation.quantity), 0))
        .where(
            Reservation.level_id == InventoryLevel.id,
            Reservation.status == "active",
            Reservation.expires_at <= now,
        )
        .scalar_subquery()
    )


def live_reserved(now: datetime | ColumnElement[datetime]) -> ColumnElement[int]:
    """A level's reserved quantity without the holds that expired but are not swept yet."""
    return InventoryLevel.reserved_quantity - expired_units(now)


def _levels(filter: LevelFilter) -> Select[Any]:
    """Levels with their warehouse's and product's names, as one statement."""
    return _joined().where(*_conditions(filter))


def _joined() -> Select[Any]:
    return (
        select(
            *columns(InventoryLevel),
            Warehouse.name.label("warehouse_name"),
            CatalogAttributes.title.label("product_name"),
        )
        .join(Warehouse, Warehouse.id == InventoryLevel.warehouse_id)
        .outerjoin(
            CatalogAttributes,
            and_(
                CatalogAttributes.entity_id == InventoryLevel.entity_id,
                CatalogAttributes.locale == DEFAULT_LOCALE,
            ),
        )
    )


def _warehouse(filter: LevelFilter) -> uuid.UUID | None:
    if filter.warehouse_id is None:
        return None
    warehouse = parse_uuid(filter.warehouse_id)
    if warehouse is None:
        raise ValidationFailed.field("warehouse_id", "Must be a warehouse id.")
    return warehouse


def _conditions(filter: LevelFilter) -> list[ColumnElement[bool]]:
    """The filter's WHERE conditions, on inventory_levels (and on warehouses, joined, for
    `active_warehouses`)."""
    conditions: list[ColumnElement[bool]] = []
    warehouse = _warehouse(filter)
    if warehouse is not None:
        conditions.append(InventoryLevel.warehouse_id == warehouse)
    if filter.entity_id is not None:
        conditions.append(InventoryLevel.entity_id == parse_uuid(filter.entity_id))
    if filter.sku is not None:
        conditions.append(InventoryLevel.sku == filter.sku)
    if filter.sku_prefix:
        escaped = filter.sku_prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        conditions.append(InventoryLevel.sku.like(f"{escaped}%", escape="\\"))
    if filter.low_stock is not None:
        available = InventoryLevel.quantity - live_reserved(utcnow())
        low = and_(InventoryLevel.reorder_point > 0, available <= InventoryLevel.reorder_point)
        conditions.append(low if filter.low_stock else ~low)
    if filter.active_warehouses:
        conditions.append(Warehouse.active.is_(True))
    return conditions


def _counted(filter: LevelFilter, conditions: list[ColumnElement[bool]]) -> Select[Any]:
    """The total of the levels `conditions` (`filter`'s) select, without counting the page's
    statement: from inventory_level_counts (a row per warehouse, not every level) when at
    most a warehouse or active warehouses narrow the list, else a count of the levels alone
    (the product's texts, outer-joined on a unique (entity, locale), never change it; the
    warehouse, joined on the level's foreign key, only through `active_warehouses`)."""
    narrowed = (filter.low_stock, filter.sku_prefix or None, filter.entity_id, filter.sku)
    if all(value is None for value in narrowed):
        kept = select(func.coalesce(func.sum(InventoryLevelCount.levels), 0))
        warehouse = _warehouse(filter)
        if warehouse is not None:
            kept = kept.where(InventoryLevelCount.warehouse_id == warehouse)
        if filter.active_warehouses:
            kept = kept.join(Warehouse, Warehouse.id == InventoryLevelCount.warehouse_id).where(
                Warehouse.active.is_(True)
            )
        return kept
    statement = select(func.count()).select_from(InventoryLevel)
    if filter.active_warehouses:
        statement = statement.join(Warehouse, Warehouse.id == InventoryLevel.warehouse_id)
    return statement.where(*conditions)


@dataclass(slots=True)
class LevelView:
    """A level as read: counts with expired holds no longer reserved."""

    id: uuid.UUID
    sku: str
    entity_id: uuid.UUID
    variant_id: uuid.UUID | None
    warehouse_id: uuid.UUID
    warehouse_name: str | None
    product_name: str | None
    quantity: int
    reserved_quantity: int
    reorder_point: int
    reorder_quantity: int
    last_updated: datetime

    @property
    def available_quantity(self) -> int:
        return self.quantity - self.reserved_quantity


def _view(row: Any, expired: int) -> LevelView:
    return LevelView(
        id=row.id,
        sku=row.sku,
        entity_id=row.entity_id,
        variant_id=row.variant_id,
        warehouse_id=row.warehouse_id,
        warehouse_name=row.warehouse_name,
        product_name=row.product_name,
        quantity=row.quantity,
        reserved_quantity=row.reserved_quantity - expired,
        reorder_point=row.reorder_point,
        reorder_quantity=row.reorder_quantity,
        last_updated=row.last_updated,
    )


async def _views(session: AsyncSession, rows: list[Any]) -> list[LevelView]:
    stale = await expired_holds(session, [row.id for row in rows], utcnow())
    return [_view(row, stale.get(row.id, 0)) for row in rows]


async def list_levels(
    session: AsyncSession, *, filter: LevelFilter, page: PageRequest
) -> Page[LevelView]:
    """By SKU. Three statements: the page, its count (`_counted`), and expired holds on the
    page."""
    conditions = _conditions(filter)
    result = await paginate(
        session,
        _joined().where(*conditions),
        keys=LEVEL_ORDER,
        request=page,
        count=_counted(filter, conditions),
    )
    result.items = await _views(session, result.items)
    return result


async def levels_of(
    session: AsyncSession, *, sku: str, warehouse_id: str | None
) -> list[LevelView]:
    """Every level of one SKU (or its level in one warehouse); none is NOT_FOUND."""
    statement = _levels(LevelFilter(sku=sku, warehouse_id=warehouse_id))
    rows = list((await session.execute(statement.order_by(InventoryLevel.warehouse_id))).all())
    if not rows:
        raise NotFound(f"No stock of {sku} is recorded.", details={"sku": "Unknown."})
    return await _views(session, rows)


async def views_by_id(session: AsyncSession, ids: list[uuid.UUID]) -> list[LevelView]:
    """Levels as read, in the order of `ids` (a command's answer, after it committed)."""
    rows = (await session.execute(_levels(LevelFilter()).where(InventoryLevel.id.in_(ids)))).all()
    views = {view.id: view for view in await _views(session, list(rows))}
    return [views[id] for id in ids if id in views]


async def levels_for_entities(
    session: AsyncSession,
    entity_ids: list[uuid.UUID],
    *,
    statuses: Collection[str] | None = None,
) -> dict[uuid.UUID, list[LevelView]]:
    """Each entity's sellable levels (active warehouses), for availability checks and catalog
    listings: one statement whatever the count. With `statuses`, only entities in one of
    them count (what the caller may see); the others have no levels, as an unknown id.
    One statement: expired holds are summed per level by a subquery of it."""
    if not entity_ids:
        return {}
    statement = (
        _levels(SELLABLE)
        .add_columns(expired_units(utcnow()).label("expired_units"))
        .where(InventoryLevel.entity_id.in_(entity_ids))
    )
    if statuses is not None:
        visible = select(CatalogEntity.id).where(
            CatalogEntity.id.in_(entity_ids), CatalogEntity.status.in_(statuses)
        )
        statement = statement.where(InventoryLevel.entity_id.in_(visible))
    rows = list(
        (
            await session.execute(
                statement.order_by(InventoryLevel.sku, InventoryLevel.warehouse_id)
            )
        ).all()
    )
    grouped: dict[uuid.UUID, list[LevelView]] = defaultdict(list)
    for row in rows:
        grouped[row.entity_id].append(_view(row, int(row.expired_units)))
    return grouped


async def units_available(
    session: AsyncSession, entity_ids: list[uuid.UUID]
) -> dict[uuid.UUID, dict[uuid.UUID | None, int]]:
    """Each entity's units available per variant (None: levels of the entity itself), across
    active warehouses, expired holds not reserved: what `levels_for_entities` would sum, summed
    by the database instead (one row per variant, not one per level with every column). An
    entity or variant with no level is absent."""
    if not entity_ids:
        return {}
    rows = await session.execute(_units_available(), {"ids": entity_ids, "now": utcnow()})
    grouped: dict[uuid.UUID, dict[uuid.UUID | None, int]] = defaultdict(dict)
    for entity_id, variant_id, units in rows:
        grouped[entity_id][variant_id] = int(units)
    return grouped


@cache
def _units_available() -> Select[uuid.UUID, uuid.UUID | None, int]:
    """`units_available`'s statement, built once and bound per call (`ids`, `now`)."""
    return (
        select(
            InventoryLevel.entity_id,
            InventoryLevel.variant_id,
            func.sum(InventoryLevel.quantity - live_reserved(bindparam("now"))),
        )
        .join(Warehouse, Warehouse.id == InventoryLevel.warehouse_id)
        .where(among_ids(InventoryLevel.entity_id), *_conditions(SELLABLE))
        .group_by(InventoryLevel.entity_id, InventoryLevel.variant_id)
    )


@dataclass(slots=True)
class Availability:
    entity_id: uuid.UUID
    variant_id: uuid.UUID | None
    sku: str
    quantity: int = 0
    reserved_quantity: int = 0
    warehouses: list[LevelView] = field(default_factory=list)

    @property
    def available_quantity(self) -> int:
        return self.quantity - self.reserved_quantity


def availability(levels: list[LevelView]) -> list[Availability]:
    """Per SKU (variant) across warehouses."""
    by_sku: dict[str, Availability] = {}
    for level in levels:
        entry = by_sku.setdefault(
            level.sku,
            Availability(entity_id=level.entity_id, variant_id=level.variant_id, sku=level.sku),
        )
        entry.quantity += level.quantity
        entry.reserved_quantity += level.reserved_quantity
        entry.warehouses.append(level)
    return list(by_sku.values())


async def list_movements(
    session: AsyncSession, *, level_ids: list[uuid.UUID], page: PageRequest
) -> Page[InventoryMovement]:
    """Newest first."""
    statement = select(InventoryMovement).where(InventoryMovement.level_id.in_(level_ids))
    return await paginate(
        session, statement, keys=(SortKey(InventoryMovement.id, descending=True),), request=page
    )
