"""GraphQL for the audit trail."""

from __future__ import annotations

from datetime import datetime

import strawberry
from strawberry import Info

from app.models.audit import AuditEntry
from app.resolvers.arguments import page_request
from app.resolvers.pagination import Connection, to_connection
from app.resolvers.permissions import requires
from app.resolvers.rows import from_row
from app.resolvers.scalars import JSON
from app.services.audit import AuditFilter, list_audit_entries

AUDIT_DEFAULT_LIMIT = 50


@strawberry.type(name="AuditEntry")
class AuditEntryType:
    id: strawberry.ID
    occurred_at: datetime
    actor_type: str
    actor_id: str | None
    event: str
    entity_type: str
    entity_id: str
    before: JSON | None
    after: JSON | None
    reason: str | None
    request_id: str | None

    @classmethod
    def from_row(cls, row: AuditEntry) -> AuditEntryType:
        return from_row(cls, row)


@strawberry.input
class AuditEntryFilter:
    entity_type: str | None = None
    entity_id: str | None = None
    event: str | None = None
    actor_id: str | None = None
    from_: datetime | None = strawberry.field(default=None, name="from")
    to: datetime | None = None


@strawberry.type
class AuditQueries:
    @strawberry.field(permission_classes=[requires("audit:read")])
    async def audit_entries(
        self,
        info: Info,
        filter: AuditEntryFilter | None = None,
        page: int | None = None,
        limit: int | None = None,
        offset: int | None = None,
        first: int | None = None,
        after: str | None = None,
    ) -> Connection[AuditEntryType]:
        """Newest first; `limit` defaults to 50 and is capped at 100."""
        request = page_request(
            page=page,
            limit=limit,
            offset=offset,
            first=first,
            after=after,
            default_limit=AUDIT_DEFAULT_LIMIT,
        )
        given = filter or AuditEntryFilter()
        criteria = AuditFilter(
            entity_type=given.entity_type,
            entity_id=given.entity_id,
            event=given.event,
            actor_id=given.actor_id,
            occurred_from=given.from_,
            occurred_to=given.to,
        )
        async with info.context.read() as session:
            result = await list_audit_entries(session, filter=criteria, page=request)
        return to_connection(result, AuditEntryType.from_row)
