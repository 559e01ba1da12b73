"""The marketplace: vendors who sell through the store, and the sub-orders checkout splits an
order into, one per vendor among its lines.

A vendor's users link to it (`users.vendor_id`), as a customer's user links to the customer;
catalog entities a vendor owns name it (`catalog_entities.vendor_id`, null for the house's
own). Order lines name the sub-order they belong to (`order_lines.sub_order_id`).
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, IdMixin, JSONType, postgresql_only, utcnow

VENDOR_STATUSES = ("pending", "active", "rejected", "suspended")
SUB_ORDER_STATUSES = ("pending", "confirmed", "shipped", "delivered", "cancelled")
NAME_LENGTH = 200
SLUG_LENGTH = 200
EMAIL_LENGTH = 254
PHONE_LENGTH = 32
WEBSITE_LENGTH = 500
DESCRIPTION_LENGTH = 5000
REASON_LENGTH = 500
TRACKING_LENGTH = 200
CARRIER_LENGTH = 100


class Vendor(IdMixin, Base):
    """A seller: its public profile, and where it stands (pending until approved)."""

    __tablename__ = "vendors"
    __table_args__ = (
        Index("ix_vendors_status_id", "status", "id"),
        # `search` is a substring match on the name: a trigram index on PostgreSQL.
        postgresql_only(
            Index(
                "ix_vendors_name_trgm",
                "name",
                postgresql_using="gin",
                postgresql_ops={"name": "gin_trgm_ops"},
            )
        ),
    )

    name: Mapped[str] = mapped_column(String(NAME_LENGTH))
    slug: Mapped[str] = mapped_column(String(SLUG_LENGTH), unique=True)
    # Stored trimmed and lower-case.
    email: Mapped[str] = mapped_column(String(EMAIL_LENGTH))
    description: Mapped[str | None] = mapped_column(Text)
    phone: Mapped[str | None] = mapped_column(String(PHONE_LENGTH))
    website: Mapped[str | None] = mapped_column(String(WEBSITE_LENGTH))
    address: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    status: Mapped[str] = mapped_column(String(20), default="pending")
    # Why it was rejected or suspended (null when active or pending).
    status_reason: Mapped[str | None] = mapped_column(String(REASON_LENGTH))
    approved_at: Mapped[datetime | None]
    created_by: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class SubOrder(IdMixin, Base):
    """One vendor's part of an order (or the house's part, `vendor_id` null, in an order that
    has vendor lines too): its lines are the order lines naming it."""

    __tablename__ = "sub_orders"
    __table_args__ = (
        Index("ix_sub_orders_order_id", "order_id"),
        Index("ix_sub_orders_vendor_id_id", "vendor_id", "id"),
        Index("ix_sub_orders_vendor_id_status_id", "vendor_id", "status", "id"),
        Index("ix_sub_orders_status_id", "status", "id"),
    )

    order_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"))
    # Copied from the order, so that the vendor, who cannot read the order, can ship it.
    order_number: Mapped[str] = mapped_column(String(20))
    shipping_address: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    vendor_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("vendors.id"))
    status: Mapped[str] = mapped_column(String(20), default="pending")
    currency: Mapped[str] = mapped_column(String(3))
    # The sum of its lines' totals (minor units); shipping is not split (the order has none).
    total: Mapped[int] = mapped_column(Integer)
    tracking_number: Mapped[str | None] = mapped_column(String(TRACKING_LENGTH))
    carrier: Mapped[str | None] = mapped_column(String(CARRIER_LENGTH))
    cancel_reason: Mapped[str | None] = mapped_column(String(REASON_LENGTH))
    # Who cancelled it: `vendor` (its own user), `marketplace` (marketplace:admin) or `order`
    # (cancelled with its parent order); null while not cancelled. Performance counts `vendor`.
    cancelled_by: Mapped[str | None] = mapped_column(String(20))
    confirmed_at: Mapped[datetime | None]
    shipped_at: Mapped[datetime | None]
    delivered_at: Mapped[datetime | None]
    cancelled_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


# What a vendor's document proves (a closed set), and where its review stands.
DOCUMENT_KINDS = ("business_license", "tax_certificate", "identity", "bank_statement", "other")
DOCUMENT_STATUSES = ("pending", "approved", "rejected")


class VendorDocument(IdMixin, Base):
    """A file a vendor hands in for review (a licence, a tax certificate ...): a media asset,
    never public, approved or rejected by marketplace:admin."""

    __tablename__ = "vendor_documents"
    __table_args__ = (
        Index("ix_vendor_documents_vendor_id_id", "vendor_id", "id"),
        Index("ix_vendor_documents_vendor_id_status_id", "vendor_id", "status", "id"),
        Index("ix_vendor_documents_media_asset_id", "media_asset_id"),
    )

    vendor_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("vendors.id", ondelete="CASCADE"))
    media_asset_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("media_assets.id", ondelete="CASCADE")
    )
    kind: Mapped[str] = mapped_column(String(30))
    status: Mapped[str] = mapped_column(String(20), default="pending")
    # Why it was rejected (null otherwise).
    reason: Mapped[str | None] = mapped_column(String(REASON_LENGTH))
    reviewed_by: Mapped[str | None] = mapped_column(String(64))
    reviewed_at: Mapped[datetime | None]
    created_by: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
