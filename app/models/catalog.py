"""The catalog: entities with localized attributes, categories, brands, options and variants."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Boolean,
    Column,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
    false,
)
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, IdMixin, JSONType, utcnow

ENTITY_TYPES = ("product", "digitalDownload", "service", "bundle", "giftCard")
ENTITY_STATUSES = ("draft", "active", "archived", "discontinued")


class CatalogEntity(IdMixin, Base):
    __tablename__ = "catalog_entities"
    __table_args__ = (
        Index("ix_catalog_entities_status_id", "status", "id"),
        Index("ix_catalog_entities_type_id", "type", "id"),
        Index("ix_catalog_entities_created_at_id", "created_at", "id"),
        Index("ix_catalog_entities_updated_at_id", "updated_at", "id"),
        Index("ix_catalog_entities_vendor_id_id", "vendor_id", "id"),
    )

    type: Mapped[str] = mapped_column(String(32))
    slug: Mapped[str] = mapped_column(String(200), unique=True)
    status: Mapped[str] = mapped_column(String(20), default="draft")
    # `metadata` is taken by SQLAlchemy's declarative base; the column keeps the name.
    meta: Mapped[dict[str, Any]] = mapped_column("metadata", JSONType, default=dict)
    # Whether stock may be sold below zero (pre-orders, made to order).
    allow_backorder: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    # The marketplace vendor selling it; null for the house's own.
    vendor_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("vendors.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class CatalogEntityCount(Base):
    """How many entities have one (status, type): the listings' totals without counting.

    Written only by the database's triggers on catalog_entities (migration 0025), in the
    transaction of each write, so it is exact whoever writes; never by the application."""

    __tablename__ = "catalog_entity_counts"

    status: Mapped[str] = mapped_column(String(20), primary_key=True)
    type: Mapped[str] = mapped_column(String(32), primary_key=True)
    entities: Mapped[int] = mapped_column(Integer)


class CatalogAttributes(IdMixin, Base):
    """The texts of one entity in one locale."""

    __tablename__ = "catalog_attributes"
    __table_args__ = (UniqueConstraint("entity_id", "locale"),)

    entity_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("catalog_entities.id", ondelete="CASCADE")
    )
    locale: Mapped[str] = mapped_column(String(16))
    title: Mapped[str | None] = mapped_column(String(500))
    description: Mapped[str | None] = mapped_column(Text)
    seo_title: Mapped[str | None] = mapped_column(String(500))
    seo_description: Mapped[str | None] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class Category(IdMixin, Base):
    __tablename__ = "categories"
    __table_args__ = (Index("ix_categories_parent_id_position", "parent_id", "position"),)

    parent_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("categories.id", ondelete="RESTRICT")
    )
    name: Mapped[str] = mapped_column(String(200))
    slug: Mapped[str] = mapped_column(String(200), unique=True)
    description: Mapped[str | None] = mapped_column(Text)
    position: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class Brand(IdMixin, Base):
    __tablename__ = "brands"

    name: Mapped[str] = mapped_column(String(200))
    slug: Mapped[str] = mapped_column(String(200), unique=True)
    description: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


entity_categories = Table(
    "entity_categories",
    Base.metadata,
    Column("entity_id", ForeignKey("catalog_entities.id", ondelete="CASCADE"), primary_key=True),
    Column("category_id", ForeignKey("categories.id", ondelete="CASCADE"), primary_key=True),
    Index("ix_entity_categories_category_id_entity_id", "category_id", "entity_id"),
)

entity_brands = Table(
    "entity_brands",
    Base.metadata,
    Column("entity_id", ForeignKey("catalog_entities.id", ondelete="CASCADE"), primary_key=True),
    Column("brand_id", ForeignKey("brands.id", ondelete="CASCADE"), primary_key=True),
    Index("ix_entity_brands_brand_id_entity_id", "brand_id", "entity_id"),
)


class OptionType(IdMixin, Base):
    """An axis of variation of one entity (Size, Colour)."""

    __tablename__ = "option_types"
    __table_args__ = (UniqueConstraint("entity_id", "name"),)

    entity_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("catalog_entities.id", ondelete="CASCADE")
    )
    name: Mapped[str] = mapped_column(String(100))
    position: Mapped[int] = mapped_column(Integer, default=0)


class OptionValue(IdMixin, Base):
    __tablename__ = "option_values"
    __table_args__ = (UniqueConstraint("option_type_id", "value"),)

    option_type_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("option_types.id", ondelete="CASCADE")
    )
    value: Mapped[str] = mapped_column(String(100))
    position: Mapped[int] = mapped_column(Integer, default=0)


class Variant(IdMixin, Base):
    """A sellable form of an entity: one value of each of its option types, and a SKU.

    `option_key` (the sorted option value ids) is unique per entity, so generating the option
    matrix twice cannot create the same combination twice.
    """

    __tablename__ = "variants"
    __table_args__ = (UniqueConstraint("entity_id", "option_key"),)

    entity_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("catalog_entities.id", ondelete="CASCADE"), index=True
    )
    sku: Mapped[str] = mapped_column(String(100), unique=True)
    option_key: Mapped[str] = mapped_column(String(1000), default="")
    meta: Mapped[dict[str, Any]] = mapped_column("metadata", JSONType, default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


variant_option_values = Table(
    "variant_option_values",
    Base.metadata,
    Column("variant_id", ForeignKey("variants.id", ondelete="CASCADE"), primary_key=True),
    Column("option_value_id", ForeignKey("option_values.id", ondelete="CASCADE"), primary_key=True),
)
