"""Background jobs: a durable queue in the database, served by SQLite and PostgreSQL alike.

Why our own table and not procrastinate: procrastinate is PostgreSQL-only, and Cartograph's
embedded default is SQLite; a job written in the same transaction as the change that causes it
(a webhook delivery beside the event it delivers) needs the queue in the same database. The
semantics are procrastinate's: a job is claimed by one worker under a lease
(`FOR UPDATE SKIP LOCKED` on PostgreSQL, so several workers never take the same row; SQLite has
one writer at a time, so the claim's single `UPDATE … RETURNING` is atomic there), retried with
back-off, and claimed again when its worker died and the lease passed.

- `enqueue` adds a job to the caller's transaction: it exists if and only if the change does.
- `handler` registers the coroutine that runs a kind of job. It is called with no transaction
  open (it may call a webhook target or a mail server, DESIGN §10) and opens its own unit of
  work for writes. Returning is success; an exception is a failed attempt, retried after the
  kind's `retry_delays` (with up to 10% jitter) until `max_attempts`; `RetryLater` picks the
  delay (a `Retry-After`); `GiveUp` fails the job now.
- `run_pending` claims due jobs and runs them; `JobRunner` does so in a loop (in-process under
  `cartograph serve`, alone under `cartograph worker`); `GET /api/jobs/run` does it once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import random
import socket
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, delete, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.config import Settings
from app.db import Database
from app.models.base import utcnow
from app.models.jobs import ERROR_LENGTH, Job

log = logging.getLogger("app.jobs")

DEFAULT_QUEUE = "default"
DEFAULT_RETRY_DELAYS: tuple[float, ...] = (5, 30, 120, 600, 1800)
JITTER = 0.1
# How often a runner deletes old succeeded jobs.
PRUNE_EVERY_SECONDS = 3600.0


@dataclass(frozen=True, slots=True)
class JobContext:
    """What a handler is given beside its payload."""

    database: Database
    settings: Settings
    job_id: str
    attempt: int
    max_attempts: int

    @property
    def last_attempt(self) -> bool:
        """Whether a failure now fails the job for good (no attempt follows)."""
        return self.attempt >= self.max_attempts


JobHandler = Callable[[JobContext, dict[str, Any]], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class Kind:
    name: str
    run: JobHandler
    retry_delays: tuple[float, ...]


HANDLERS: dict[str, Kind] = {}


class RetryLater(Exception):
    """This attempt failed; try again after `seconds` (a target's `Retry-After`)."""

    def __init__(self, seconds: float, reason: str):
        super().__init__(reason)
        self.seconds = seconds


class GiveUp(Exception):
    """This job cannot succeed (its subject is gone): fail it now, with no more attempts."""


def handler(
    kind: str, *, retry_delays: Sequence[float] = DEFAULT_RETRY_DELAYS
) -> Callable[[JobHandler], JobHandler]:
    """Register the coroutine that runs jobs of `kind`."""

    def register(run: JobHandler) -> JobHandler:
        if kind in HANDLERS:
            raise ValueError(f"A handler for job kind {kind!r} is already registered.")
        HANDLERS[kind] = Kind(kind, run, tuple(retry_delays))
        return run

    return register


def enqueue(
    session: AsyncSession,
    kind: str,
    payload: dict[str, Any],
    *,
    queue: str = DEFAULT_QUEUE,
    priority: int = 0,
    run_at: datetime | None = None,
    max_attempts: int = 5,
) -> Job:
    """Add a job to the session's transaction (it commits, or not, with the caller's change)."""
    job = Job(
        queue=queue,
        kind=kind,
        payload=payload,
        priority=priority,
        run_at=run_at or utcnow(),
        max_attempts=max_attempts,
    )
    session.add(job)
    session.info[JOBS_ADDED] = True
    return job


# Set on a session that added a job, so that the commit can wake this process's runner.
JOBS_ADDED = "cartograph.jobs_added"


def worker_name() -> str:
    """Who holds a lease: host and process, for an operator reading the table."""
    return f"{socket.gethostname()}:{os.getpid()}"[:100]


async def claim(
    database: Database,
    *,
    queue: str | None,
    limit: int,
    lease_seconds: float,
    worker: str,
) -> list[Job]:
    """Take up to `limit` due jobs (highest priority, then oldest first) and lease them.

    Due: pending with `run_at` passed, or running with an expired lease (its worker died).
    One statement, `UPDATE … WHERE id IN (SELECT … FOR UPDATE SKIP LOCKED) RETURNING`, so two
    workers on PostgreSQL skip each other's rows instead of waiting or taking them twice.
    """
    now = utcnow()
    due = or_(
        and_(Job.status == "pending", Job.run_at <= now),
        and_(Job.status == "running", Job.locked_until < now),
    )
    candidates = select(Job.id).where(due)
    if queue is not None:
        candidates = candidates.where(Job.queue == queue)
    candidates = candidates.order_by(Job.priority.desc(), Job.run_at, Job.id).limit(limit)
    if not database.is_sqlite:
        candidates = candidates.with_for_update(skip_locked=True)
    statement = (
        update(Job)
        .where(Job.id.in_(candidates.scalar_subquery()))
        .values(
            status="running",
            attempts=Job.attempts + 1,
            locked_by=worker,
            locked_until=now + timedelta(seconds=lease_seconds),
            updated_at=now,
        )
        .returning(Job)
        .execution_options(synchronize_session=False)
    )
    # A read first: an idle poll (the common case) takes no write lock.
    async with database.read_session() as session:
        if await session.scalar(select(Job.id).where(due).limit(1)) is None:
            return []
    async with database.unit_of_work() as uow:
        jobs = list((await uow.session.scalars(statement)).all())
        await uow.commit()
    return sorted(jobs, key=lambda job: (-job.priority, job.run_at, job.id))


async def run_pending(
    database: Database,
    settings: Settings,
    *,
    queue: str | None = None,
    limit: int = 10,
    worker: str | None = None,
) -> int:
    """Claim due jobs and run them concurrently; the number run."""
    jobs = await claim(
        database,
        queue=queue,
        limit=limit,
        lease_seconds=settings.job_lease_seconds,
        worker=worker or worker_name(),
    )
    if jobs:
        await asyncio.gather(*(run_job(database, settings, job) for job in jobs))
    return len(jobs)


async def run_job(database: Database, settings: Settings, job: Job) -> None:
    """Run one claimed job and record how it ended. The outcome is written only while this
    worker still holds the lease, so a job that outlived its lease and was taken by another
    worker is not overwritten by the first."""
    kind = HANDLERS.get(job.kind)
    if job.attempts > job.max_attempts:
        # Claimed again after a worker died on its last attempt.
        await _finish(database, job, status="failed", error="The worker running it stopped.")
        return
    if kind is None:
        await _finish(database, job, status="failed", error=f"No handler for {job.kind!r}.")
        return
    context = JobContext(database, settings, str(job.id), job.attempts, job.max_attempts)
    try:
        await asyncio.wait_for(kind.run(context, job.payload), settings.job_lease_seconds)
    except GiveUp as error:
        await _finish(database, job, status="failed", error=str(error) or "Gave up.")
    except Exception as error:
        reason = _describe(error)
        if job.attempts >= job.max_attempts:
            log.warning("job %s (%s) failed for good: %s", job.id, job.kind, reason)
            await _finish(database, job, status="failed", error=reason)
            return
        delay = error.seconds if isinstance(error, RetryLater) else _delay(kind, job.attempts)
        await _finish(
            database,
            job,
            status="pending",
            error=reason,
            run_at=utcnow() + timedelta(seconds=max(0.0, delay)),
        )
    else:
        await _finish(database, job, status="succeeded", error=None)


def _delay(kind: Kind, attempt: int) -> float:
    """The wait after failed attempt number `attempt` (1-based), with up to 10% jitter so
    that many jobs failing together do not all come back in the same instant."""
    delays = kind.retry_delays or DEFAULT_RETRY_DELAYS
    base = delays[min(attempt, len(delays)) - 1]
    return base * (1 + random.uniform(0, JITTER))


def _describe(error: BaseException) -> str:
    if isinstance(error, TimeoutError):
        return "Timed out: the job outlived its lease."
    text = str(error) or type(error).__name__
    return text[:ERROR_LENGTH]


async def _finish(
    database: Database,
    job: Job,
    *,
    status: str,
    error: str | None,
    run_at: datetime | None = None,
) -> None:
    now = utcnow()
    values: dict[str, Any] = {
        "status": status,
        "last_error": error[:ERROR_LENGTH] if error else None,
        "locked_by": None,
        "locked_until": None,
        "updated_at": now,
        "finished_at": now if status in ("succeeded", "failed") else None,
    }
    if run_at is not None:
        values["run_at"] = run_at
    async with database.unit_of_work() as uow:
        await uow.session.execute(
            update(Job)
            .where(Job.id == job.id, Job.locked_by == job.locked_by, Job.attempts == job.attempts)
            .values(**values)
            .execution_options(synchronize_session=False)
        )
        await uow.commit()


async def prune(database: Database, *, older_than_days: int) -> int:
    """Delete succeeded jobs finished more than `older_than_days` ago (failed ones stay for an
    operator to read and retry)."""
    cutoff = utcnow() - timedelta(days=older_than_days)
    async with database.unit_of_work() as uow:
        result = await uow.session.execute(
            delete(Job).where(Job.status == "succeeded", Job.finished_at < cutoff)
        )
        await uow.commit()
    return int(getattr(result, "rowcount", 0) or 0)


class JobRunner:
    """Runs due jobs until cancelled: at once when this process queued one (`wake`), else
    every `poll_seconds` (jobs queued by other processes, retries coming due, leases expiring).
    A failed round (the database away) is logged and tried again at the next poll."""

    def __init__(
        self,
        database: Database,
        settings: Settings,
        *,
        queue: str | None = None,
        concurrency: int | None = None,
    ):
        self.database = database
        self.settings = settings
        self.queue = queue
        self.concurrency = concurrency or settings.jobs_concurrency
        self.worker = worker_name()
        self._wake = asyncio.Event()
        self._pruned_at = 0.0

    def wake(self) -> None:
        self._wake.set()

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        remove = self.database.on_commit(JOBS_ADDED, self.wake)
        try:
            while True:
                self._wake.clear()
                try:
                    ran = await run_pending(
                        self.database,
                        self.settings,
                        queue=self.queue,
                        limit=self.concurrency,
                        worker=self.worker,
                    )
                    if loop.time() - self._pruned_at > PRUNE_EVERY_SECONDS:
                        self._pruned_at = loop.time()
                        await prune(
                            self.database, older_than_days=self.settings.jobs_retention_days
                        )
                except Exception:
                    log.exception("job round failed")
                    ran = 0
                if ran >= self.concurrency:
                    continue
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), self.settings.jobs_poll_seconds)
        finally:
            remove()
