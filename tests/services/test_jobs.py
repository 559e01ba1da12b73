"""The job queue: claimed once, retried with back-off, failed for good, claimed again after a
dead worker's lease; on PostgreSQL two workers never run the same job."""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select, update

from app.db import Database
from app.jobs import (
    GiveUp,
    JobContext,
    JobRunner,
    RetryLater,
    claim,
    enqueue,
    handler,
    run_pending,
)
from app.models.base import utcnow
from app.models.jobs import Job
from tests.conftest import settings_for

RUNS: list[tuple[str, int, dict[str, Any]]] = []
OUTCOMES: dict[str, list[BaseException | None]] = {}
started = asyncio.Event()


@handler("test.record", retry_delays=(60, 600))
async def record(context: JobContext, payload: dict[str, Any]) -> None:
    """Runs as told by OUTCOMES[payload["name"]] (one entry per attempt; None succeeds)."""
    RUNS.append((context.job_id, context.attempt, payload))
    started.set()
    outcomes = OUTCOMES.get(payload.get("name", ""), [])
    outcome = outcomes.pop(0) if outcomes else None
    if payload.get("pause"):
        await asyncio.sleep(payload["pause"])
    if outcome is not None:
        raise outcome


@pytest.fixture(autouse=True)
def _reset() -> None:
    RUNS.clear()
    OUTCOMES.clear()
    started.clear()


async def _add(database: Database, **payload: Any) -> str:
    async with database.unit_of_work() as uow:
        job = enqueue(uow.session, "test.record", payload, max_attempts=payload.pop("max", 3))
        await uow.commit()
    return str(job.id)


async def _job(database: Database, job_id: str) -> Job:
    async with database.read_session() as session:
        job = await session.get(Job, uuid.UUID(job_id))
        assert job is not None
        return job


async def test_a_job_runs_once_and_succeeds(database: Database) -> None:
    job_id = await _add(database, name="ok")
    settings = settings_for(database.url)

    assert await run_pending(database, settings) == 1
    assert await run_pending(database, settings) == 0

    assert [(run[0], run[1]) for run in RUNS] == [(job_id, 1)]
    job = await _job(database, job_id)
    assert (job.status, job.attempts, job.locked_by) == ("succeeded", 1, None)
    assert job.finished_at is not None


async def test_a_job_queued_by_a_rolled_back_change_does_not_exist(database: Database) -> None:
    async with database.unit_of_work() as uow:
        enqueue(uow.session, "test.record", {"name": "never"})
        # No commit: the change, and its job, roll back.
    assert await run_pending(database, settings_for(database.url)) == 0
    async with database.read_session() as session:
        assert (await session.scalars(select(Job))).all() == []


async def test_a_failed_attempt_is_retried_after_the_kinds_delay_then_fails(
    database: Database,
) -> None:
    OUTCOMES["flaky"] = [RuntimeError("first"), RuntimeError("second"), RuntimeError("third")]
    job_id = await _add(database, name="flaky", max=3)
    settings = settings_for(database.url)

    before = utcnow()
    assert await run_pending(database, settings) == 1
    job = await _job(database, job_id)
    assert (job.status, job.attempts, job.last_error) == ("pending", 1, "first")
    # retry_delays[0] = 60 s, plus at most 10% jitter.
    assert before + timedelta(seconds=60) <= job.run_at <= utcnow() + timedelta(seconds=66.5)
    assert await run_pending(database, settings) == 0, "not due yet"

    for attempt in (2, 3):
        await _make_due(database, job_id)
        assert await run_pending(database, settings) == 1
        job = await _job(database, job_id)
        assert job.attempts == attempt
    assert (job.status, job.last_error) == ("failed", "third")
    assert job.finished_at is not None
    await _make_due(database, job_id)
    assert await run_pending(database, settings) == 0, "a failed job is not run again"


async def test_retry_later_chooses_the_delay_and_give_up_fails_at_once(
    database: Database,
) -> None:
    OUTCOMES["later"] = [RetryLater(3600, "busy, come back in an hour")]
    OUTCOMES["hopeless"] = [GiveUp("its endpoint is gone")]
    later = await _add(database, name="later", max=5)
    hopeless = await _add(database, name="hopeless", max=5)

    assert await run_pending(database, settings_for(database.url)) == 2

    job = await _job(database, later)
    assert (job.status, job.last_error) == ("pending", "busy, come back in an hour")
    assert utcnow() + timedelta(seconds=3590) < job.run_at < utcnow() + timedelta(seconds=3601)
    job = await _job(database, hopeless)
    assert (job.status, job.attempts, job.last_error) == ("failed", 1, "its endpoint is gone")


async def test_a_job_whose_worker_died_is_claimed_again_after_its_lease(
    database: Database,
) -> None:
    job_id = await _add(database, name="orphan")
    # A worker claims it and dies (never runs it, never finishes it).
    [taken] = await claim(database, queue=None, limit=10, lease_seconds=60, worker="dead:1")
    assert str(taken.id) == job_id
    settings = settings_for(database.url)
    assert await run_pending(database, settings) == 0, "the lease still holds"

    await _expire_lease(database, job_id)
    assert await run_pending(database, settings) == 1
    job = await _job(database, job_id)
    assert (job.status, job.attempts) == ("succeeded", 2)
    assert [run[1] for run in RUNS] == [2]


async def test_a_worker_that_lost_its_lease_does_not_overwrite_the_next_ones_outcome(
    database: Database,
) -> None:
    OUTCOMES["slow"] = [RuntimeError("late failure")]
    job_id = await _add(database, name="slow", pause=0.3)
    settings = settings_for(database.url)
    first = asyncio.create_task(run_pending(database, settings, worker="first:1"))
    await asyncio.wait_for(started.wait(), 5)
    # The first worker is still running when its lease passes and a second takes the job.
    await _expire_lease(database, job_id)
    OUTCOMES["slow"] = [None]
    assert await run_pending(database, settings, worker="second:1") == 1
    await first

    job = await _job(database, job_id)
    assert (job.status, job.attempts, job.last_error) == ("succeeded", 2, None)


async def test_a_job_of_an_unknown_kind_fails_saying_so(database: Database) -> None:
    async with database.unit_of_work() as uow:
        job = enqueue(uow.session, "test.nobody", {})
        await uow.commit()
    assert await run_pending(database, settings_for(database.url)) == 1
    stored = await _job(database, str(job.id))
    assert (stored.status, stored.last_error) == ("failed", "No handler for 'test.nobody'.")


async def test_queues_and_priorities(database: Database) -> None:
    async with database.unit_of_work() as uow:
        enqueue(uow.session, "test.record", {"name": "low"}, queue="mail")
        enqueue(uow.session, "test.record", {"name": "high"}, queue="mail", priority=5)
        enqueue(uow.session, "test.record", {"name": "other"}, queue="hooks")
        await uow.commit()
    settings = settings_for(database.url)

    assert await run_pending(database, settings, queue="mail", limit=1) == 1
    assert await run_pending(database, settings, queue="mail", limit=5) == 1
    assert [run[2]["name"] for run in RUNS] == ["high", "low"]
    assert await run_pending(database, settings, queue="hooks") == 1


async def test_the_runner_starts_a_job_at_once_when_this_process_queues_one(
    database: Database,
) -> None:
    runner = JobRunner(database, settings_for(database.url, jobs_poll_seconds=30))
    task = asyncio.create_task(runner.run())
    try:
        await asyncio.sleep(0.05)
        await _add(database, name="prompt")
        await asyncio.wait_for(started.wait(), 5)
    finally:
        task.cancel()
    assert RUNS[0][2] == {"name": "prompt"}


async def test_two_workers_on_postgresql_never_run_the_same_job(
    database: Database, database_url: str
) -> None:
    if database.is_sqlite:
        pytest.skip("SQLite has one writer: concurrent claiming is a PostgreSQL question")
    async with database.unit_of_work() as uow:
        for n in range(120):
            enqueue(uow.session, "test.record", {"name": f"job{n}", "pause": 0.005})
        await uow.commit()
    settings = settings_for(database.url)
    # Two workers, each with its own engine (its own connections), as two processes have.
    workers = [Database(database_url, pool_size=4) for _ in range(2)]

    async def drain(worker: Database, name: str) -> int:
        ran = 0
        while n := await run_pending(worker, settings, limit=4, worker=name):
            ran += n
        return ran

    try:
        counts = await asyncio.gather(drain(workers[0], "a:1"), drain(workers[1], "b:1"))
    finally:
        for worker in workers:
            await worker.dispose()

    runs = Counter(run[0] for run in RUNS)
    assert len(runs) == 120 and set(runs.values()) == {1}
    assert sum(counts) == 120 and min(counts) > 0, counts
    async with database.read_session() as session:
        statuses = Counter((await session.scalars(select(Job.status))).all())
    assert statuses == {"succeeded": 120}


async def _make_due(database: Database, job_id: str) -> None:
    async with database.unit_of_work() as uow:
        await uow.session.execute(
            update(Job)
            .where(Job.id == uuid.UUID(job_id))
            .values(run_at=utcnow() - timedelta(seconds=1))
        )
        await uow.commit()


async def _expire_lease(database: Database, job_id: str) -> None:
    async with database.unit_of_work() as uow:
        await uow.session.execute(
            update(Job)
            .where(Job.id == uuid.UUID(job_id))
            .values(locked_until=utcnow() - timedelta(seconds=1))
        )
        await uow.commit()
