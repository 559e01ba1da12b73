"""Access logs: one row per HTTP request, written in batches by `app.services.access_log`."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, String
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, IdMixin

LOG_LEVELS = ("info", "warn", "error")
PATH_LENGTH = 2048


def level_of(status: int) -> str:
    """`info` below 400, `warn` for 4xx, `error` for 5xx."""
    if status >= 500:
        return "error"
    if status >= 400:
        return "warn"
    return "info"


class AccessLogEntry(IdMixin, Base):
    __tablename__ = "access_log_entries"
    __table_args__ = (
        Index("ix_access_log_entries_timestamp", "timestamp"),
        Index("ix_access_log_entries_level_timestamp", "level", "timestamp"),
    )

    timestamp: Mapped[datetime]
    level: Mapped[str] = mapped_column(String(8))
    message: Mapped[str] = mapped_column(String(2200))
    # The actor's id (API key, user, OAuth client), null when anonymous or refused.
    user_id: Mapped[str | None] = mapped_column(String(64))
    actor_type: Mapped[str | None] = mapped_column(String(16))
    ip_address: Mapped[str | None] = mapped_column(String(64))
    method: Mapped[str] = mapped_column(String(16))
    # Without the query string: it may hold tokens.
    path: Mapped[str] = mapped_column(String(PATH_LENGTH))
    status: Mapped[int]
    duration_ms: Mapped[int]
    request_id: Mapped[str | None] = mapped_column(String(128))
