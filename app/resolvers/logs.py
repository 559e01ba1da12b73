"""GraphQL for the access log (`logs:read`): `accessLogs`, newest first."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import strawberry
from strawberry import Info

from app.models.logs import AccessLogEntry
from app.resolvers.arguments import AfterArg, FirstArg, LimitArg, OffsetArg, PageArg, page_request
from app.resolvers.enums import LogLevel
from app.resolvers.pagination import Connection, to_connection
from app.resolvers.permissions import requires
from app.services import access_log as service

READ = "logs:read"


@strawberry.type(name="LogEntry", description="One HTTP request the server answered.")
class LogEntryType:
    timestamp: datetime = strawberry.field(description="When the request arrived.")
    level: LogLevel = strawberry.field(description="info below 400, warn for 4xx, error for 5xx.")
    message: str = strawberry.field(
        description="What happened, e.g. `GET /api/v1/products answered 200 in 12 ms`."
    )
    user_id: str | None = strawberry.field(
        description="The id of the actor (API key, user or OAuth client); null when anonymous "
        "or when its credential was refused."
    )
    ip_address: str | None = strawberry.field(description="The client's address, if known.")
    method: str = strawberry.field(description="The HTTP method, e.g. GET.")
    path: str = strawberry.field(
        description="The path asked for, without the query string (which may hold tokens)."
    )
    status: int = strawberry.field(description="The HTTP status answered.")
    duration_ms: int = strawberry.field(description="How long the answer took, in milliseconds.")
    request_id: str | None = strawberry.field(
        description="The request's X-Request-Id, to match it with audit entries and logs."
    )

    @classmethod
    def from_row(cls, row: AccessLogEntry) -> LogEntryType:
        return cls(
            timestamp=row.timestamp,
            level=LogLevel.of(row.level),
            message=row.message,
            user_id=row.user_id,
            ip_address=row.ip_address,
            method=row.method,
            path=row.path,
            status=row.status,
            duration_ms=row.duration_ms,
            request_id=row.request_id,
        )


@strawberry.input(description="Which access-log entries to list; every given criterion holds.")
class LogFilter:
    start_date: datetime | None = strawberry.field(
        default=None, description="Only requests at or after this time."
    )
    end_date: datetime | None = strawberry.field(
        default=None,
        description="Only requests at or before this time; not before startDate.",
    )
    level: LogLevel | None = strawberry.field(default=None, description="Only this level.")


@strawberry.type
class LogQueries:
    @strawberry.field(
        description="The access log, newest first. Needs logs:read.",
        permission_classes=[requires(READ)],
    )
    async def access_logs(
        self,
        info: Info,
        filter: Annotated[
            LogFilter | None,
            strawberry.argument(description="By time and level. Default: all."),
        ] = None,
        page: PageArg = None,
        limit: LimitArg = None,
        offset: OffsetArg = None,
        first: FirstArg = None,
        after: AfterArg = None,
    ) -> Connection[LogEntryType]:
        request = page_request(page=page, limit=limit, offset=offset, first=first, after=after)
        given = filter or LogFilter()
        criteria = service.LogFilter(start=given.start_date, end=given.end_date, level=given.level)
        async with info.context.read() as session:
            result = await service.list_access_logs(session, filter=criteria, page=request)
        return to_connection(result, LogEntryType.from_row)
