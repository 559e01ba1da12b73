"""Pricing: price records (tiers, customer groups, validity windows), customer groups and
price modifiers.

Amounts are integers of minor units with an ISO 4217 code. A validity window is half open:
a row applies from `valid_from` (inclusive) until `valid_until` (exclusive); a null end is
open. How a price is chosen is `app.services.pricing.resolution`'s business.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Column,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    true,
)
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, IdMixin, UTCDateTime, utcnow

MODIFIER_KINDS = ("percentage", "fixed")
WINDOW_ORDER = "valid_until IS NULL OR valid_from IS NULL OR valid_until > valid_from"


class CustomerGroup(IdMixin, Base):
    """A named set of customers (wholesale, staff, VIP) that prices and modifiers can target."""

    __tablename__ = "customer_groups"

    name: Mapped[str] = mapped_column(String(100), unique=True)
    description: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


# Customers are their own domain (later); membership names them by id until then.
customer_group_members = Table(
    "customer_group_members",
    Base.metadata,
    Column(
        "customer_group_id",
        ForeignKey("customer_groups.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("customer_id", String(64), primary_key=True),
    Column("created_at", UTCDateTime(), nullable=False, default=utcnow),
    Index("ix_customer_group_members_customer_id", "customer_id"),
)


class Price(IdMixin, Base):
    """What one unit of an entity (or one of its variants) costs in one currency, for
    everyone or one customer group, from `min_quantity` units up, within a window."""

    __tablename__ = "prices"
    __table_args__ = (
        CheckConstraint("amount >= 0", name="amount_not_negative"),
        CheckConstraint("min_quantity >= 1", name="min_quantity_positive"),
        CheckConstraint(WINDOW_ORDER, name="valid_window"),
        Index("ix_prices_entity_id_variant_id_currency", "entity_id", "variant_id", "currency"),
        Index("ix_prices_variant_id", "variant_id"),
        Index("ix_prices_customer_group_id", "customer_group_id"),
        Index("ix_prices_currency_id", "currency", "id"),
    )

    entity_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("catalog_entities.id", ondelete="CASCADE")
    )
    variant_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("variants.id", ondelete="CASCADE")
    )
    currency: Mapped[str] = mapped_column(String(3))
    amount: Mapped[int] = mapped_column(Integer)
    customer_group_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("customer_groups.id", ondelete="CASCADE")
    )
    min_quantity: Mapped[int] = mapped_column(Integer, default=1)
    valid_from: Mapped[datetime | None]
    valid_until: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class PriceModifier(IdMixin, Base):
    """A discount on resolved prices: `percentage` takes `value` percent (1 to 100, whole
    percents) off, `fixed` takes `value` minor units of `currency` off. The scope columns
    narrow where it applies; a null scope column matches everything."""

    __tablename__ = "price_modifiers"
    __table_args__ = (
        CheckConstraint("kind IN ('percentage', 'fixed')", name="kind"),
        CheckConstraint("value >= 0", name="value_not_negative"),
        CheckConstraint(WINDOW_ORDER, name="valid_window"),
        Index("ix_price_modifiers_active_priority_id", "active", "priority", "id"),
        Index("ix_price_modifiers_entity_id", "entity_id"),
        Index("ix_price_modifiers_customer_group_id", "customer_group_id"),
    )

    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(20))
    value: Mapped[int] = mapped_column(Integer)
    # Required for `fixed`; on a `percentage` modifier it limits it to that currency.
    currency: Mapped[str | None] = mapped_column(String(3))
    entity_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("catalog_entities.id", ondelete="CASCADE")
    )
    customer_group_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("customer_groups.id", ondelete="CASCADE")
    )
    min_quantity: Mapped[int | None] = mapped_column(Integer)
    valid_from: Mapped[datetime | None]
    valid_until: Mapped[datetime | None]
    active: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    # Modifiers apply in ascending priority (0 first), then in creation order.
    priority: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
