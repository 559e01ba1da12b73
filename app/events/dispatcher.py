"""The dispatcher: reads committed events from the outbox in order and fans them out.

One round (`dispatch_pending`) is one transaction: it claims the oldest undispatched events
(`UPDATE events SET dispatched_at … WHERE id IN (SELECT … FOR UPDATE SKIP LOCKED) RETURNING`),
runs every registered fan-out on them inside that transaction (webhooks enqueue one delivery
job per endpoint and event there), and commits. So each event is fanned out exactly once,
whichever of several server processes claims it, and an event whose process died before the
round committed is still undispatched and claimed by the next round, after a restart if need
be. What the fan-outs queue is then delivered at least once by the job queue, with the event
id as the receiver's idempotency key.

After the commit, the round publishes the events to live subscribers (`publish`, the pub/sub
of `app.events.pubsub`); those are connections open now, so a crash between commit and
publish loses the live copy only, never the webhook delivery.

`Dispatcher` runs rounds until cancelled: at once after this process commits an event (the
`EVENTS_ADDED` hook), else every `poll_seconds` for events other processes committed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.db import Database
from app.events.outbox import EVENTS_ADDED
from app.models.audit import Event
from app.models.base import utcnow

log = logging.getLogger("app.events")

FanOut = Callable[[AsyncSession, Sequence[Event]], Awaitable[None]]
Publish = Callable[[list[dict[str, Any]]], Awaitable[None]]

FANOUTS: list[FanOut] = []
BATCH = 100


def on_dispatch(fan_out: FanOut) -> FanOut:
    """Register a fan-out, run inside the transaction that marks events dispatched."""
    FANOUTS.append(fan_out)
    return fan_out


def event_message(event: Event) -> dict[str, Any]:
    """An event as subscribers and webhook bodies carry it."""
    return {
        "id": str(event.id),
        "type": event.type,
        "occurredAt": event.occurred_at.isoformat().replace("+00:00", "Z"),
        "entityType": event.entity_type,
        "entityId": event.entity_id,
        "actorId": event.actor_id,
        "data": event.data,
    }


async def dispatch_pending(
    database: Database, *, publish: Publish | None = None, limit: int = BATCH
) -> int:
    """One round: claim up to `limit` undispatched events, fan them out, commit, publish.
    Returns how many events it dispatched."""
    undispatched = select(Event.id).where(Event.dispatched_at.is_(None))
    candidates = undispatched.order_by(Event.id).limit(limit)
    if not database.is_sqlite:
        candidates = candidates.with_for_update(skip_locked=True)
    statement = (
        update(Event)
        .where(Event.id.in_(candidates.scalar_subquery()), Event.dispatched_at.is_(None))
        .values(dispatched_at=utcnow())
        .returning(Event)
        .execution_options(synchronize_session=False)
    )
    # A read first: an idle round (the common case) takes no write lock, which on SQLite
    # would hold off every other writer for as long as it lasts.
    async with database.read_session() as session:
        if await session.scalar(undispatched.limit(1)) is None:
            return 0
    async with database.unit_of_work() as uow:
        events = sorted((await uow.session.scalars(statement)).all(), key=lambda e: e.id)
        if not events:
            return 0
        for fan_out in FANOUTS:
            await fan_out(uow.session, events)
        await uow.commit()
    if publish is not None:
        try:
            await publish([event_message(event) for event in events])
        except Exception:
            log.exception("publishing %d events to live subscribers failed", len(events))
    return len(events)


class Dispatcher:
    """Dispatches until cancelled; a failed round (the database away) is logged and retried
    at the next poll, and the events it held stay undispatched."""

    def __init__(
        self, database: Database, *, publish: Publish | None = None, poll_seconds: float = 1.0
    ):
        self.database = database
        self.publish = publish
        self.poll_seconds = poll_seconds
        self._wake = asyncio.Event()

    def wake(self) -> None:
        self._wake.set()

    async def run(self) -> None:
        remove = self.database.on_commit(EVENTS_ADDED, self.wake)
        try:
            while True:
                self._wake.clear()
                try:
                    dispatched = await dispatch_pending(self.database, publish=self.publish)
                except Exception:
                    log.exception("dispatch round failed")
                    dispatched = 0
                if dispatched >= BATCH:
                    continue
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), self.poll_seconds)
        finally:
            remove()
