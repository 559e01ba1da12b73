"""The transactional outbox: an event is a row written in the same transaction as its change.

The dispatcher (`app.events.dispatcher`) reads undispatched rows after commit and fans them
out to webhooks and live subscriptions, so no event is lost when a process dies after commit
and none is sent for a change that rolled back.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.models.audit import Event


def add_event(
    session: AsyncSession,
    *,
    type: str,
    entity_type: str,
    entity_id: str,
    data: dict[str, Any],
    actor_id: str | None = None,
    request_id: str | None = None,
) -> Event:
    event = Event(
        type=type,
        entity_type=entity_type,
        entity_id=entity_id,
        data=data,
        actor_id=actor_id,
        request_id=request_id,
    )
    session.add(event)
    session.info[EVENTS_ADDED] = True
    return event


# Set on a session that wrote an event, so that its commit wakes this process's dispatcher.
EVENTS_ADDED = "cartograph.events_added"
