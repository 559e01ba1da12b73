"""Outgoing webhooks: the endpoints integrators register and the log of each delivery attempt."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, IdMixin, utcnow

ENDPOINT_STATUSES = ("active", "disabled")
# `pending`: this attempt failed and another is scheduled; `failed`: no attempt follows it.
DELIVERY_STATUSES = ("succeeded", "failed", "pending")
URL_LENGTH = 2048
# What a delivery keeps of the receiver's answer: enough to see what it said, no more.
SNIPPET_BYTES = 1024


class WebhookEndpoint(IdMixin, Base):
    __tablename__ = "webhook_endpoints"
    # The secret signs every delivery, so it is kept (unlike an API key's), but never audited.
    __audit_exclude__ = frozenset({"secret"})
    __table_args__ = (Index("ix_webhook_endpoints_status_id", "status", "id"),)

    url: Mapped[str] = mapped_column(String(URL_LENGTH))
    description: Mapped[str | None] = mapped_column(String(500))
    events: Mapped[list[str]]
    secret: Mapped[str] = mapped_column(String(100))
    status: Mapped[str] = mapped_column(String(16), default="active")
    disabled_reason: Mapped[str | None] = mapped_column(String(500))
    # The first failed attempt since the last success; null while deliveries succeed.
    failing_since: Mapped[datetime | None]
    created_by: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class WebhookDelivery(IdMixin, Base):
    """One attempt to deliver one event to one endpoint, as the receiver answered it."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        Index("ix_webhook_deliveries_endpoint_id_id", "endpoint_id", "id"),
        Index("ix_webhook_deliveries_endpoint_id_status_id", "endpoint_id", "status", "id"),
        Index("ix_webhook_deliveries_event_id_endpoint_id", "event_id", "endpoint_id"),
    )

    endpoint_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("webhook_endpoints.id", ondelete="CASCADE")
    )
    # Not a foreign key: the outbox may be pruned while the delivery log is kept.
    event_id: Mapped[uuid.UUID]
    event_type: Mapped[str] = mapped_column(String(100))
    attempt: Mapped[int]
    status: Mapped[str] = mapped_column(String(16))
    response_status: Mapped[int | None]
    latency_ms: Mapped[int | None]
    response_body: Mapped[str | None] = mapped_column(Text)
    error: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
