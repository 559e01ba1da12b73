"""Reading and retrying background jobs (`jobs:admin`); the queue itself is `app.jobs`."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.actor import Actor
from app.db import UnitOfWork
from app.errors import Conflict, NotFound
from app.ids import parse_uuid
from app.jobs import JOBS_ADDED
from app.models.base import utcnow
from app.models.jobs import Job
from app.pagination import Page, PageRequest, SortKey, paginate
from app.services.audit import record_change

JOB_ORDER = (SortKey(Job.id, descending=True),)


@dataclass(frozen=True, slots=True)
class JobFilter:
    status: str | None = None
    queue: str | None = None
    kind: str | None = None


async def list_jobs(session: AsyncSession, *, filter: JobFilter, page: PageRequest) -> Page[Job]:
    """Newest first."""
    statement = select(Job)
    for column, value in (
        (Job.status, filter.status),
        (Job.queue, filter.queue),
        (Job.kind, filter.kind),
    ):
        if value is not None:
            statement = statement.where(column == value)
    return await paginate(session, statement, keys=JOB_ORDER, request=page)


async def get_job(session: AsyncSession, job_id: str) -> Job:
    key = parse_uuid(job_id)
    job = await session.get(Job, key) if key is not None else None
    if job is None:
        raise NotFound(f"No job {job_id}.")
    return job


async def retry_job(uow: UnitOfWork, actor: Actor, job_id: str) -> Job:
    """Queue a failed job again, due now, with its attempts counted afresh."""
    before = await get_job(uow.session, job_id)
    if before.status != "failed":
        raise Conflict(f"Only a failed job can be retried; this one is {before.status}.")
    snapshot = before.snapshot()
    now = utcnow()
    job = (
        await uow.session.scalars(
            update(Job)
            .where(Job.id == before.id, Job.status == "failed")
            .values(status="pending", attempts=0, run_at=now, finished_at=None, updated_at=now)
            .returning(Job)
            .execution_options(populate_existing=True)
        )
    ).one_or_none()
    if job is None:
        raise Conflict("The job changed meanwhile; read it again.")
    uow.session.info[JOBS_ADDED] = True
    record_change(
        uow,
        actor,
        event="jobs.retry",
        entity_type="job",
        entity_id=str(job.id),
        before=snapshot,
        after=job.snapshot(),
    )
    return job
