"""Notifications: each message to a person (an e-mail or a text message), kept with how its
sending went. A row is written in the transaction of the command that asks for it, together
with the `notification.send` job that sends it (`app.notifications.jobs`)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, IdMixin, JSONType, utcnow

CHANNELS = ("email", "sms")
NOTIFICATION_STATUSES = ("queued", "sent", "failed")
NOTIFICATION_KINDS = ("password_reset", "email_verification", "order_confirmation", "custom")
RECIPIENT_LENGTH = 254
SUBJECT_LENGTH = 200
ERROR_LENGTH = 1000


class Notification(IdMixin, Base):
    __tablename__ = "notifications"
    # Ids are UUIDv7: newest first is id descending, and each filter's index ends with it.
    __table_args__ = (
        Index("ix_notifications_status_id", "status", "id"),
        Index("ix_notifications_channel_id", "channel", "id"),
        Index("ix_notifications_user_id_id", "user_id", "id"),
    )

    # The user it was sent to, when it went to one (an order confirmation goes to a customer).
    user_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    kind: Mapped[str] = mapped_column(String(32))
    channel: Mapped[str] = mapped_column(String(8))
    # An e-mail address or a phone number, as it was when the notification was asked for.
    recipient: Mapped[str] = mapped_column(String(RECIPIENT_LENGTH))
    subject: Mapped[str | None] = mapped_column(String(SUBJECT_LENGTH))
    # The text as stored and listed. A one-time link is never part of it: the sender mints the
    # link's token when it sends (see `app.notifications.jobs`), so no plaintext token is kept.
    body: Mapped[str] = mapped_column(Text)
    # What the sender needs besides the text, never secret (a reset link's redirect target).
    data: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    status: Mapped[str] = mapped_column(String(8), default="queued")
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str | None] = mapped_column(String(ERROR_LENGTH))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None]
