"""GraphQL for the audit trail."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import strawberry
from strawberry import Info

from app.models.audit import AuditEntry
from app.resolvers.arguments import AfterArg, FirstArg, LimitArg, OffsetArg, PageArg, page_request
from app.resolvers.enums import ActorType
from app.resolvers.pagination import Connection, to_connection
from app.resolvers.permissions import requires
from app.resolvers.rows import from_row
from app.resolvers.scalars import JSON
from app.services.audit import AuditFilter, list_audit_entries

AUDIT_DEFAULT_LIMIT = 50


@strawberry.type(
    description=(
        "A recorded change: who did what to which entity, with its state before and after."
    ),
    name="AuditEntry",
)
class AuditEntryType:
    id: strawberry.ID = strawberry.field(description="The audit entry's id.")
    occurred_at: datetime = strawberry.field(description="When the change happened.")
    actor_type: ActorType = strawberry.field(description="What kind of actor made the change.")
    actor_id: str | None = strawberry.field(
        description=(
            "Who made the change: the API key's or user's id, or system; null for an "
            "anonymous actor."
        )
    )
    event: str = strawberry.field(description="What happened, e.g. catalog.create.")
    entity_type: str = strawberry.field(
        description="The kind of entity changed, e.g. catalog_entity."
    )
    entity_id: str = strawberry.field(description="The id of the entity changed.")
    before: JSON | None = strawberry.field(
        description="The entity's recorded state before the change; null when it was created."
    )
    after: JSON | None = strawberry.field(
        description="The entity's recorded state after the change; null when it was deleted."
    )
    reason: str | None = strawberry.field(description="The reason given for the change, if any.")
    request_id: str | None = strawberry.field(
        description="The id of the request that made the change, to match it with logs."
    )

    @classmethod
    def from_row(cls, row: AuditEntry) -> AuditEntryType:
        return from_row(cls, row)


@strawberry.input(description="Which audit entries to list; every given criterion must hold.")
class AuditEntryFilter:
    entity_type: str | None = strawberry.field(
        default=None, description="Only changes to this kind of entity, e.g. catalog_entity."
    )
    entity_id: str | None = strawberry.field(
        default=None, description="Only changes to the entity with this id."
    )
    event: str | None = strawberry.field(
        default=None, description="Only this event, e.g. catalog.create."
    )
    actor_id: str | None = strawberry.field(
        default=None,
        description="Only changes made by this actor: an API key or user id, or system.",
    )
    from_: datetime | None = strawberry.field(
        description="Only changes at or after this time.", default=None, name="from"
    )
    to: datetime | None = strawberry.field(
        default=None, description="Only changes at or before this time."
    )


@strawberry.type
class AuditQueries:
    @strawberry.field(
        description=(
            "The audit trail, newest first; `limit` defaults to 50 and is "
            "capped at 100. Needs audit:read."
        ),
        permission_classes=[requires("audit:read")],
    )
    async def audit_entries(
        self,
        info: Info,
        filter: Annotated[
            AuditEntryFilter | None,
            strawberry.argument(description="Which entries to list. Default: all."),
        ] = None,
        page: PageArg = None,
        limit: LimitArg = None,
        offset: OffsetArg = None,
        first: FirstArg = None,
        after: AfterArg = None,
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
