"""Promotions: discount codes and their redemptions.

`value` is whole percent (1 to 100) for the percentage types and for `buy_x_get_y` (the
share taken off the free units; 100 = free), minor units of `currency` for
`fixed_amount_off_order`, and 0 for `free_shipping`. A validity window is half open, as
prices' are: from `valid_from` (inclusive) until `valid_until` (exclusive), a null bound open.
How a promotion applies to a cart is `app.services.promotions`' business.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import Boolean, CheckConstraint, ForeignKey, Index, Integer, String, false, true
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, IdMixin, utcnow

PROMOTION_TYPES = (
    "percentage_off_order",
    "fixed_amount_off_order",
    "percentage_off_items",
    "buy_x_get_y",
    "free_shipping",
)
WINDOW_ORDER = "valid_until IS NULL OR valid_from IS NULL OR valid_until > valid_from"


class Promotion(IdMixin, Base):
    """A code a customer enters for a discount, with its window, limits and eligibility."""

    __tablename__ = "promotions"
    __table_args__ = (
        CheckConstraint(
            "type IN ({})".format(", ".join(f"'{t}'" for t in PROMOTION_TYPES)), name="type"
        ),
        CheckConstraint("value >= 0", name="value_not_negative"),
        CheckConstraint("usage_count >= 0", name="usage_count_not_negative"),
        CheckConstraint(WINDOW_ORDER, name="valid_window"),
        # GET /promotions lists the active ones in creation order; the window is a filter.
        Index("ix_promotions_active_id", "active", "id"),
        Index("ix_promotions_active_valid_until", "active", "valid_until"),
    )

    # Stored upper-case: codes are matched case-insensitively.
    code: Mapped[str] = mapped_column(String(50), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    type: Mapped[str] = mapped_column(String(30))
    value: Mapped[int] = mapped_column(Integer)
    # Required for fixed_amount_off_order and with min_subtotal; otherwise any currency.
    currency: Mapped[str | None] = mapped_column(String(3))
    valid_from: Mapped[datetime | None]
    valid_until: Mapped[datetime | None]
    usage_limit: Mapped[int | None] = mapped_column(Integer)
    per_customer_limit: Mapped[int | None] = mapped_column(Integer)
    # Raised by checkout when an order redeems the code.
    usage_count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    min_subtotal: Mapped[int | None] = mapped_column(Integer)
    # Empty lists: no restriction.
    customer_group_ids: Mapped[list[str]] = mapped_column(default=list)
    entity_ids: Mapped[list[str]] = mapped_column(default=list)
    category_ids: Mapped[list[str]] = mapped_column(default=list)
    buy_quantity: Mapped[int | None] = mapped_column(Integer)
    get_quantity: Mapped[int | None] = mapped_column(Integer)
    stackable: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    active: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class PromotionRedemption(IdMixin, Base):
    """One use of a promotion by one order, written by checkout; per-customer limits count
    these."""

    __tablename__ = "promotion_redemptions"
    __table_args__ = (
        Index("ix_promotion_redemptions_promotion_id_customer_id", "promotion_id", "customer_id"),
    )

    promotion_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("promotions.id", ondelete="CASCADE"))
    order_id: Mapped[str] = mapped_column(String(64))
    customer_id: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
