"""The marketplace's aftercare (issue 14, part 5): disputes a shopper opens on a delivered
sub-order, returns of some of its units, and reviews of the vendor.

Each names the sub-order, its vendor and the shopper (`customer_id`, copied from the order at
creation) so that every scoped read is one indexed filter. Money moves only through the
ledger's `record_refund` and the order's payment refund path.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, IdMixin, utcnow

DISPUTE_STATUSES = ("open", "responded", "escalated", "resolved")
DISPUTE_REASONS = ("not_received", "not_as_described", "damaged", "other")
DISPUTE_OUTCOMES = ("refund_full", "refund_partial", "no_refund")
RETURN_STATUSES = ("requested", "shipped_back", "received")
MESSAGE_LENGTH = 2000
TITLE_LENGTH = 200
BODY_LENGTH = 5000
TRACKING_LENGTH = 200
CARRIER_LENGTH = 100
REASON_LENGTH = 500


class Dispute(IdMixin, Base):
    """A shopper's complaint about a delivered sub-order, answered by its vendor and settled
    by marketplace:admin (possibly with a refund)."""

    __tablename__ = "disputes"
    __table_args__ = (
        Index("ix_disputes_status_id", "status", "id"),
        Index("ix_disputes_vendor_id_id", "vendor_id", "id"),
        Index("ix_disputes_vendor_id_status_id", "vendor_id", "status", "id"),
        Index("ix_disputes_customer_id_id", "customer_id", "id"),
        Index("ix_disputes_sub_order_id", "sub_order_id"),
        # One unresolved dispute per sub-order at a time: the backstop of the row lock.
        Index(
            "uq_disputes_sub_order_id_unresolved",
            "sub_order_id",
            unique=True,
            sqlite_where=text("status != 'resolved'"),
            postgresql_where=text("status != 'resolved'"),
        ),
    )

    sub_order_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("sub_orders.id", ondelete="CASCADE"))
    vendor_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("vendors.id"))
    customer_id: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(20), default="open")
    reason: Mapped[str] = mapped_column(String(30))
    message: Mapped[str] = mapped_column(Text)
    response: Mapped[str | None] = mapped_column(Text)
    # Who escalated it: customer or vendor.
    escalated_by: Mapped[str | None] = mapped_column(String(20))
    escalation_message: Mapped[str | None] = mapped_column(Text)
    outcome: Mapped[str | None] = mapped_column(String(20))
    refund_amount: Mapped[int | None] = mapped_column(BigInteger)
    resolution_note: Mapped[str | None] = mapped_column(String(REASON_LENGTH))
    currency: Mapped[str] = mapped_column(String(3))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    responded_at: Mapped[datetime | None]
    escalated_at: Mapped[datetime | None]
    resolved_at: Mapped[datetime | None]


class Return(IdMixin, Base):
    """Units of a delivered sub-order going back to its vendor: requested, shipped back
    (tracked), received (restocked and refunded)."""

    __tablename__ = "returns"
    __table_args__ = (
        Index("ix_returns_status_id", "status", "id"),
        Index("ix_returns_vendor_id_id", "vendor_id", "id"),
        Index("ix_returns_vendor_id_status_id", "vendor_id", "status", "id"),
        Index("ix_returns_customer_id_id", "customer_id", "id"),
        Index("ix_returns_sub_order_id", "sub_order_id"),
    )

    sub_order_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("sub_orders.id", ondelete="CASCADE"))
    vendor_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("vendors.id"))
    customer_id: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(20), default="requested")
    reason: Mapped[str] = mapped_column(String(REASON_LENGTH))
    # What the units cost the shopper (their share of their lines' totals): refunded on
    # receipt.
    amount: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    tracking_number: Mapped[str | None] = mapped_column(String(TRACKING_LENGTH))
    carrier: Mapped[str | None] = mapped_column(String(CARRIER_LENGTH))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    shipped_back_at: Mapped[datetime | None]
    received_at: Mapped[datetime | None]


class ReturnLine(IdMixin, Base):
    """Units of one order line in a return, and what they cost."""

    __tablename__ = "return_lines"
    __table_args__ = (
        Index("ix_return_lines_return_id", "return_id"),
        Index("ix_return_lines_order_line_id", "order_line_id"),
    )

    return_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("returns.id", ondelete="CASCADE"))
    order_line_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("order_lines.id", ondelete="CASCADE")
    )
    quantity: Mapped[int] = mapped_column(Integer)
    amount: Mapped[int] = mapped_column(BigInteger)


class Review(IdMixin, Base):
    """A shopper's rating (1-5) of a vendor for one delivered sub-order: one per sub-order."""

    __tablename__ = "reviews"
    __table_args__ = (
        Index("ix_reviews_vendor_id_id", "vendor_id", "id"),
        Index("ix_reviews_vendor_id_rating_id", "vendor_id", "rating", "id"),
        Index("ix_reviews_customer_id_id", "customer_id", "id"),
    )

    vendor_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("vendors.id"))
    sub_order_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("sub_orders.id", ondelete="CASCADE"), unique=True
    )
    customer_id: Mapped[str] = mapped_column(String(64))
    rating: Mapped[int] = mapped_column(Integer)
    title: Mapped[str | None] = mapped_column(String(TITLE_LENGTH))
    body: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
