"""Inventory: warehouses, one level per SKU and warehouse, its movements and reservations."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, IdMixin, JSONType, utcnow

MOVEMENT_TYPES = (
    "restock", "sale", "return", "damage", "correction", "reservation", "release", "transfer",
)  # fmt: skip
RESERVATION_STATUSES = ("active", "released", "consumed", "expired")


class Warehouse(IdMixin, Base):
    __tablename__ = "warehouses"

    code: Mapped[str] = mapped_column(String(50), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    address: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class InventoryLevel(IdMixin, Base):
    """Stock of one SKU in one warehouse. `quantity` is on hand; `reserved_quantity` is held
    for carts and orders; what can be sold is the difference. Both move only through
    conditional updates, each recorded as an InventoryMovement."""

    __tablename__ = "inventory_levels"
    __table_args__ = (
        UniqueConstraint("warehouse_id", "sku"),
        CheckConstraint("reserved_quantity >= 0", name="reserved_not_negative"),
        Index("ix_inventory_levels_sku_warehouse_id", "sku", "warehouse_id"),
        Index("ix_inventory_levels_entity_id", "entity_id"),
        Index("ix_inventory_levels_variant_id", "variant_id"),
    )

    entity_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("catalog_entities.id", ondelete="CASCADE")
    )
    variant_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("variants.id", ondelete="CASCADE")
    )
    warehouse_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("warehouses.id"))
    sku: Mapped[str] = mapped_column(String(200))
    quantity: Mapped[int] = mapped_column(Integer, default=0)
    reserved_quantity: Mapped[int] = mapped_column(Integer, default=0)
    reorder_point: Mapped[int] = mapped_column(Integer, default=0)
    reorder_quantity: Mapped[int] = mapped_column(Integer, default=0)
    last_updated: Mapped[datetime] = mapped_column(default=utcnow)

    @property
    def available_quantity(self) -> int:
        return self.quantity - self.reserved_quantity


class InventoryLevelCount(Base):
    """How many levels one warehouse holds: the inventory listings' totals without counting.

    Written only by the database's triggers on inventory_levels (migration 0026), in the
    transaction of each write, so it is exact whoever writes; never by the application. A
    warehouse's count is the sum of its rows: on PostgreSQL each writing transaction adds to
    a row of its own (`tx`, its id: no writer waits for another) and folds the committed
    rows of others into it; on SQLite `tx` is 0."""

    __tablename__ = "inventory_level_counts"

    warehouse_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    tx: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    levels: Mapped[int] = mapped_column(Integer)


class InventoryMovement(IdMixin, Base):
    """One change to a level: the sum of a level's deltas is its quantity, the sum of its
    reserved deltas its reserved quantity."""

    __tablename__ = "inventory_movements"
    __table_args__ = (Index("ix_inventory_movements_level_id_id", "level_id", "id"),)

    level_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("inventory_levels.id", ondelete="CASCADE")
    )
    type: Mapped[str] = mapped_column(String(20))
    delta: Mapped[int] = mapped_column(Integer, default=0)
    reserved_delta: Mapped[int] = mapped_column(Integer, default=0)
    reason: Mapped[str | None] = mapped_column(String(500))
    reference_id: Mapped[str | None] = mapped_column(String(200))
    actor_id: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Reservation(IdMixin, Base):
    """Units held on one level until released, consumed by an order, or expired."""

    __tablename__ = "inventory_reservations"
    __table_args__ = (
        Index("ix_inventory_reservations_status_expires_at", "status", "expires_at"),
        Index("ix_inventory_reservations_reference_id", "reference_id"),
    )

    level_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("inventory_levels.id", ondelete="CASCADE")
    )
    quantity: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(20), default="active")
    reference_id: Mapped[str | None] = mapped_column(String(200))
    expires_at: Mapped[datetime]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
