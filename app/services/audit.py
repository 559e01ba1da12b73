"""The audit trail: every change is recorded with its event, in the change's transaction."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.actor import Actor
from app.db import UnitOfWork
from app.events.outbox import add_event
from app.models.audit import AuditEntry
from app.pagination import Page, PageRequest, SortKey, paginate

AUDIT_ORDER = (SortKey(AuditEntry.id, descending=True),)


def record_change(
    uow: UnitOfWork,
    actor: Actor,
    *,
    event: str,
    entity_type: str,
    entity_id: str,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    reason: str | None = None,
) -> AuditEntry:
    """Write the audit entry and the outbox event for one change; both commit with it."""
    entry = AuditEntry(
        actor_type=actor.kind,
        actor_id=actor.id,
        event=event,
        entity_type=entity_type,
        entity_id=entity_id,
        before=before,
        after=after,
        reason=reason,
        request_id=uow.request_id,
    )
    uow.session.add(entry)
    add_event(
        uow.session,
        type=event,
        entity_type=entity_type,
        entity_id=entity_id,
        data={"entityType": entity_type, "entityId": entity_id, "before": before, "after": after},
        actor_id=actor.id,
        request_id=uow.request_id,
    )
    return entry


@dataclass(frozen=True, slots=True)
class AuditFilter:
    entity_type: str | None = None
    entity_id: str | None = None
    event: str | None = None
    actor_id: str | None = None
    occurred_from: datetime | None = None
    occurred_to: datetime | None = None


async def list_audit_entries(
    session: AsyncSession, *, filter: AuditFilter, page: PageRequest
) -> Page[AuditEntry]:
    """Newest first."""
    statement = select(AuditEntry)
    conditions = {
        AuditEntry.entity_type: filter.entity_type,
        AuditEntry.entity_id: filter.entity_id,
        AuditEntry.event: filter.event,
        AuditEntry.actor_id: filter.actor_id,
    }
    for column, value in conditions.items():
        if value is not None:
            statement = statement.where(column == value)
    if filter.occurred_from is not None:
        statement = statement.where(AuditEntry.occurred_at >= filter.occurred_from)
    if filter.occurred_to is not None:
        statement = statement.where(AuditEntry.occurred_at <= filter.occurred_to)
    return await paginate(session, statement, keys=AUDIT_ORDER, request=page)
