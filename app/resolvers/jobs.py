"""GraphQL for background jobs (`jobs:admin`): list, read, retry a failed one, run due ones."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import strawberry
from strawberry import Info

from app.errors import ValidationFailed
from app.jobs import DEFAULT_QUEUE, run_pending
from app.models.jobs import Job
from app.resolvers.arguments import AfterArg, FirstArg, LimitArg, OffsetArg, PageArg, page_request
from app.resolvers.enums import JobStatus
from app.resolvers.pagination import Connection, to_connection
from app.resolvers.permissions import requires
from app.resolvers.rows import from_row
from app.resolvers.scalars import JSON
from app.services import jobs as service

ADMIN = "jobs:admin"
# The cron runner runs any kind of job, so it needs the widest grant (seed 003).
RUN = "*:*"
MAX_RUN_LIMIT = 100


@strawberry.type(name="Job", description="A unit of background work in the durable queue.")
class JobType:
    id: strawberry.ID
    queue: str = strawberry.field(description="The queue it waits in, e.g. default, webhooks.")
    kind: str = strawberry.field(description="Which handler runs it, e.g. webhook.deliver.")
    payload: JSON = strawberry.field(description="The handler's arguments.")
    status: JobStatus
    priority: int = strawberry.field(description="Higher runs first among due jobs.")
    run_at: datetime = strawberry.field(description="When it is (or was) due.")
    attempts: int = strawberry.field(description="Attempts made so far (a claim counts one).")
    max_attempts: int = strawberry.field(description="Attempts allowed before it fails.")
    last_error: str | None = strawberry.field(description="Why its last attempt failed.")
    locked_by: str | None = strawberry.field(description="The worker running it (host:pid).")
    locked_until: datetime | None = strawberry.field(description="When its lease ends.")
    created_at: datetime
    updated_at: datetime
    finished_at: datetime | None = strawberry.field(description="When it succeeded or failed.")

    @classmethod
    def from_row(cls, row: Job) -> JobType:
        return from_row(cls, row, status=JobStatus.of(row.status))


@strawberry.input(description="Which jobs to list; every given criterion holds.")
class JobFilter:
    status: JobStatus | None = strawberry.field(default=None, description="Only this status.")
    queue: str | None = strawberry.field(default=None, description="Only this queue.")
    kind: str | None = strawberry.field(default=None, description="Only this kind.")


@strawberry.input(description="Which failed job to queue again.")
class JobIdInput:
    id: strawberry.ID


@strawberry.type(description="What one run of due jobs did.")
class JobRun:
    queue: str = strawberry.field(description="The queue run.")
    processed: int = strawberry.field(description="How many jobs were claimed and run.")


@strawberry.type
class JobQueries:
    @strawberry.field(
        description="Background jobs, newest first. Needs jobs:admin.",
        permission_classes=[requires(ADMIN)],
    )
    async def jobs(
        self,
        info: Info,
        filter: Annotated[
            JobFilter | None, strawberry.argument(description="By status, queue and kind.")
        ] = None,
        page: PageArg = None,
        limit: LimitArg = None,
        offset: OffsetArg = None,
        first: FirstArg = None,
        after: AfterArg = None,
    ) -> Connection[JobType]:
        request = page_request(page=page, limit=limit, offset=offset, first=first, after=after)
        given = filter or JobFilter()
        criteria = service.JobFilter(status=given.status, queue=given.queue, kind=given.kind)
        async with info.context.read() as session:
            result = await service.list_jobs(session, filter=criteria, page=request)
        return to_connection(result, JobType.from_row)

    @strawberry.field(
        description="One job. Needs jobs:admin.", permission_classes=[requires(ADMIN)]
    )
    async def job(self, info: Info, id: strawberry.ID) -> JobType:
        async with info.context.read() as session:
            return JobType.from_row(await service.get_job(session, id))


@strawberry.type
class JobMutations:
    @strawberry.mutation(
        description="Queue a failed job again, due now, with fresh attempts. Needs jobs:admin; "
        "a job that has not failed is a CONFLICT.",
        permission_classes=[requires(ADMIN)],
    )
    async def retry_job(self, info: Info, input: JobIdInput) -> JobType:
        async with info.context.command() as uow:
            job = await service.retry_job(uow, info.context.actor, input.id)
        return JobType.from_row(job)

    @strawberry.mutation(
        description="Claim and run the due jobs of one queue now (a cron target, for "
        "deployments that run no worker), at most `limit` (1-100). Needs *:*.",
        permission_classes=[requires(RUN)],
    )
    async def run_jobs(
        self,
        info: Info,
        queue: Annotated[str, strawberry.argument(description="The queue to run.")] = DEFAULT_QUEUE,
        limit: Annotated[int, strawberry.argument(description="At most this many jobs.")] = 10,
    ) -> JobRun:
        if not 1 <= limit <= MAX_RUN_LIMIT:
            raise ValidationFailed.field("limit", f"must be between 1 and {MAX_RUN_LIMIT}.")
        settings = info.context.request.scope["app"].state.settings
        processed = await run_pending(info.context.database, settings, queue=queue, limit=limit)
        return JobRun(queue=queue, processed=processed)
