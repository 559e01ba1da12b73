"""Orders: what checkout made of a cart, with line snapshots, payments and the number."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, IdMixin, JSONType, utcnow

ORDER_STATUSES = (
    "pending", "confirmed", "processing", "partially_fulfilled", "fulfilled", "cancelled",
    "refunded",
)  # fmt: skip


PAYMENT_STATUSES = (
    "pending", "processing", "paid", "refund_pending", "partially_refunded", "refunded",
)  # fmt: skip


class OrderSequence(Base):
    """SQLite's order counter per year (PostgreSQL uses the `order_number_seq` sequence)."""

    __tablename__ = "order_sequences"

    year: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    last: Mapped[int] = mapped_column(Integer, default=0)


class Order(IdMixin, Base):
    __tablename__ = "orders"
    __audit_exclude__ = frozenset({"access_token_hash"})
    __table_args__ = (
        Index("ix_orders_status_id", "status", "id"),
        Index("ix_orders_customer_id_id", "customer_id", "id"),
    )

    number: Mapped[str] = mapped_column(String(20), unique=True)
    status: Mapped[str] = mapped_column(String(30), default="pending")
    payment_status: Mapped[str] = mapped_column(String(20), default="pending")
    currency: Mapped[str] = mapped_column(String(3))
    customer_id: Mapped[str | None] = mapped_column(String(64))
    cart_id: Mapped[uuid.UUID | None] = mapped_column(index=True)
    # Money, in minor units (the same meanings on carts and in promotion validation):
    # subtotal = list prices x quantities; modifier_discount_total = what price modifiers took
    # off; discount_total = that plus what promotion codes took off; total = subtotal -
    # discount_total + shipping_total.
    subtotal: Mapped[int] = mapped_column(Integer)
    modifier_discount_total: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    discount_total: Mapped[int] = mapped_column(Integer, default=0)
    shipping_total: Mapped[int] = mapped_column(Integer, default=0)
    total: Mapped[int] = mapped_column(Integer)
    promotion_codes: Mapped[list[str]] = mapped_column(JSONType, default=list)
    shipping_address: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    # Checkout retried with the same key (and body) answers the same order.
    idempotency_key: Mapped[str | None] = mapped_column(String(200), unique=True)
    request_hash: Mapped[str | None] = mapped_column(String(64))
    # A guest order's access token (SHA-256 digest; the token is shown once, in the checkout
    # answer): with it, the shopper reads the order without an account.
    access_token_hash: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class OrderLine(IdMixin, Base):
    """A snapshot of what was bought: later catalog or price changes leave it as it was."""

    __tablename__ = "order_lines"

    order_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("orders.id", ondelete="CASCADE"), index=True
    )
    entity_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("catalog_entities.id", ondelete="SET NULL")
    )
    variant_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("variants.id", ondelete="SET NULL")
    )
    sku: Mapped[str | None] = mapped_column(String(200))
    title: Mapped[str | None] = mapped_column(String(500))
    quantity: Mapped[int] = mapped_column(Integer)
    # The unit's list price, and its price after modifiers; `discount` is the line's share
    # of the promotion codes' discount; total = unit_price x quantity - discount.
    list_price: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    unit_price: Mapped[int] = mapped_column(Integer)
    discount: Mapped[int] = mapped_column(Integer, default=0)
    total: Mapped[int] = mapped_column(Integer)
    fulfilled_quantity: Mapped[int] = mapped_column(Integer, default=0)
    refunded_quantity: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # The marketplace sub-order the line belongs to (null in an order that was not split).
    sub_order_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("sub_orders.id", ondelete="CASCADE"), index=True
    )


class Payment(IdMixin, Base):
    """Money moved for an order: a charge (amount > 0) or a refund (amount < 0).

    `kind`: `checkout` (charged by checkout), `payment` (paying an order placed unpaid, or a
    provider's late payment), `refund`. `status`: `pending` while the provider is being
    asked (a row left pending by a crash is resumed with the same idempotency key),
    `succeeded`, `failed`; refunds: `refund_pending`, `refunded`, `refund_failed`.
    """

    __tablename__ = "payments"
    __table_args__ = (Index("ix_payments_status_created_at", "status", "created_at"),)

    order_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("orders.id", ondelete="CASCADE"), index=True
    )
    provider: Mapped[str] = mapped_column(String(30))
    provider_reference: Mapped[str] = mapped_column(String(200))
    payment_method_id: Mapped[str] = mapped_column(String(200))
    amount: Mapped[int] = mapped_column(Integer)
    currency: Mapped[str] = mapped_column(String(3))
    status: Mapped[str] = mapped_column(String(20))
    kind: Mapped[str] = mapped_column(String(20), default="checkout", server_default="checkout")
    reason: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class Fulfillment(IdMixin, Base):
    """A shipment of some of an order's lines."""

    __tablename__ = "fulfillments"

    order_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("orders.id", ondelete="CASCADE"), index=True
    )
    status: Mapped[str] = mapped_column(String(20), default="shipped")
    carrier: Mapped[str | None] = mapped_column(String(100))
    tracking_number: Mapped[str | None] = mapped_column(String(200))
    # [{"lineId": ..., "quantity": ...}]
    lines: Mapped[list[dict[str, Any]]] = mapped_column(JSONType)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class PaymentWebhookEvent(Base):
    """A provider event, stored once before it is handled: a replay finds it and stops."""

    __tablename__ = "payment_webhook_events"

    id: Mapped[str] = mapped_column(String(200), primary_key=True)
    type: Mapped[str] = mapped_column(String(100))
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
