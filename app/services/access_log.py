"""Access logs: recorded without slowing requests, read with `logs:read`.

The middleware (`app.middleware.access_log`) hands each finished request to an
`AccessLogWriter`, which only appends to a bounded in-memory buffer: when the buffer is full
the record is dropped and counted, never waited for. A background task started in the app's
lifespan (`AccessLogWriter.run`) writes the buffer in batches, one multi-row INSERT each,
every `flush_seconds` and once more at shutdown, and now and then deletes the entries older
than the retention. A failed write is logged and its batch dropped: logging must never take a
request, or the process, down with it.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.db import Database
from app.errors import ValidationFailed
from app.ids import uuid7
from app.models.base import utcnow
from app.models.logs import LOG_LEVELS, PATH_LENGTH, AccessLogEntry, level_of
from app.pagination import Page, PageRequest, SortKey, paginate

log = logging.getLogger("app.access_log")

BUFFER_CAPACITY = 10_000
BATCH_SIZE = 500
# How often the retention sweep runs (the flush runs every `flush_seconds`).
PRUNE_EVERY_SECONDS = 3600.0
LOG_ORDER = (
    SortKey(AccessLogEntry.timestamp, descending=True),
    SortKey(AccessLogEntry.id, descending=True),
)


def clean_path(path: str) -> str:
    """A path fit to store: NUL (which PostgreSQL refuses in text) escaped, at most
    PATH_LENGTH characters. The query string is never part of it."""
    return path.replace("\x00", "%00")[:PATH_LENGTH]


def entry(
    *,
    method: str,
    path: str,
    status: int,
    duration_ms: int,
    user_id: str | None,
    actor_type: str | None,
    ip_address: str | None,
    request_id: str | None,
    timestamp: datetime | None = None,
) -> dict[str, Any]:
    """One row of `access_log_entries`, as the batch INSERT takes it."""
    path = clean_path(path)
    return {
        "id": uuid7(),
        "timestamp": timestamp or utcnow(),
        "level": level_of(status),
        "message": f"{method} {path} answered {status} in {duration_ms} ms",
        "user_id": user_id,
        "actor_type": actor_type,
        "ip_address": ip_address,
        "method": method[:16],
        "path": path,
        "status": status,
        "duration_ms": duration_ms,
        "request_id": request_id,
    }


class AccessLogWriter:
    """The buffer between requests and the table; one per app."""

    def __init__(
        self,
        database: Database,
        *,
        flush_seconds: float = 1.0,
        retention_days: int = 30,
        capacity: int = BUFFER_CAPACITY,
        batch_size: int = BATCH_SIZE,
    ) -> None:
        self.database = database
        self.flush_seconds = flush_seconds
        self.retention_days = retention_days
        self.capacity = capacity
        self.batch_size = batch_size
        self.buffer: deque[dict[str, Any]] = deque()
        self.dropped = 0

    def record(self, row: dict[str, Any]) -> bool:
        """Buffer one entry; False (and one more drop counted) when the buffer is full."""
        if len(self.buffer) >= self.capacity:
            self.dropped += 1
            return False
        self.buffer.append(row)
        return True

    async def flush(self) -> int:
        """Write what is buffered, a batch per INSERT; the number of entries written. A
        failed batch is logged and dropped, not raised."""
        written = 0
        while self.buffer:
            batch = [self.buffer.popleft() for _ in range(min(self.batch_size, len(self.buffer)))]
            try:
                async with self.database.unit_of_work() as uow:
                    await uow.session.execute(insert(AccessLogEntry).values(batch))
                    await uow.commit()
            except Exception:
                self.dropped += len(batch)
                log.exception("writing %d access log entries failed; dropped", len(batch))
                break
            written += len(batch)
        return written

    async def prune(self, now: datetime | None = None) -> int:
        """Delete the entries older than the retention (none when it is 0); how many."""
        if self.retention_days <= 0:
            return 0
        cutoff = (now or utcnow()) - timedelta(days=self.retention_days)
        try:
            async with self.database.unit_of_work() as uow:
                result = await uow.session.execute(
                    delete(AccessLogEntry).where(AccessLogEntry.timestamp < cutoff)
                )
                await uow.commit()
        except Exception:
            log.exception("deleting old access log entries failed")
            return 0
        return int(getattr(result, "rowcount", 0) or 0)

    async def run(self) -> None:
        """The background task: flush every `flush_seconds`, prune every hour (and at
        start); cancelled at shutdown, after which the owner calls `flush` once more."""
        next_prune = time.monotonic()
        while True:
            if time.monotonic() >= next_prune:
                await self.prune()
                next_prune = time.monotonic() + PRUNE_EVERY_SECONDS
            await asyncio.sleep(self.flush_seconds)
            await self.flush()


# ---- reading ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class LogFilter:
    start: datetime | None = None
    end: datetime | None = None
    level: str | None = None


async def list_access_logs(
    session: AsyncSession, *, filter: LogFilter, page: PageRequest
) -> Page[AccessLogEntry]:
    """Newest first; `start` and `end` inclusive."""
    if filter.start is not None and filter.end is not None and filter.start > filter.end:
        raise ValidationFailed.field("startDate", "Must not be after endDate.")
    statement = select(AccessLogEntry)
    if filter.level is not None:
        if filter.level not in LOG_LEVELS:
            raise ValidationFailed.field("level", "Must be info, warn or error.")
        statement = statement.where(AccessLogEntry.level == filter.level)
    if filter.start is not None:
        statement = statement.where(AccessLogEntry.timestamp >= filter.start)
    if filter.end is not None:
        statement = statement.where(AccessLogEntry.timestamp <= filter.end)
    return await paginate(session, statement, keys=LOG_ORDER, request=page)
