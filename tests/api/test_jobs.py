"""Jobs through their public faces: seed 003's cron runner (`GET /api/jobs/run`, `*:*`) and
failed-job admin (`GET /api/admin/jobs/failed`, `POST /api/admin/jobs/:id/retry`,
`jobs:admin`), GraphQL `jobs`/`job`/`retryJob`/`runJobs`, and a `cartograph worker` process."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import uuid
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from starlette.applications import Starlette

from app.db import Database
from app.jobs import JobContext, enqueue, handler, run_pending
from app.models.audit import AuditEntry
from app.models.jobs import Job
from tests.conftest import client_with, settings_for
from tests.support.cost import without_cost

FAILING = {"left": 0}


@handler("test.api_job", retry_delays=(0,))
async def api_job(context: JobContext, payload: dict[str, Any]) -> None:
    """Fails while FAILING["left"] > 0."""
    if FAILING["left"] > 0:
        FAILING["left"] -= 1
        raise RuntimeError(f"boom {payload['n']}")


async def _failed_job(database: Database, n: int = 1) -> str:
    """A job that has failed for good (one attempt allowed, and it failed)."""
    async with database.unit_of_work() as uow:
        job = enqueue(uow.session, "test.api_job", {"n": n}, max_attempts=1)
        await uow.commit()
    FAILING["left"] = 1
    assert await run_pending(database, settings_for(database.url)) == 1
    return str(job.id)


async def _job(database: Database, job_id: str) -> Job:
    async with database.read_session() as session:
        job = await session.get(Job, uuid.UUID(job_id))
    assert job is not None
    return job


async def test_a_failed_job_is_listed_retried_and_run_again_by_the_cron_route(
    admin: httpx.AsyncClient, database: Database
) -> None:
    job_id = await _failed_job(database)

    listed = await admin.get("/api/admin/jobs/failed")
    assert listed.status_code == 200, listed.text
    body = listed.json()
    assert [job["id"] for job in body["data"]] == [job_id]
    assert body["data"][0] | {"createdAt": None, "updatedAt": None, "finishedAt": None} == {
        "id": job_id,
        "queue": "default",
        "kind": "test.api_job",
        "payload": {"n": 1},
        "status": "failed",
        "priority": 0,
        "runAt": body["data"][0]["runAt"],
        "attempts": 1,
        "maxAttempts": 1,
        "lastError": "boom 1",
        "lockedBy": None,
        "lockedUntil": None,
        "createdAt": None,
        "updatedAt": None,
        "finishedAt": None,
    }
    assert body["meta"]["pagination"] == {"page": 1, "limit": 20, "total": 1, "totalPages": 1}

    retried = await admin.post(f"/api/admin/jobs/{job_id}/retry")
    assert retried.status_code == 200, retried.text
    assert retried.json()["data"]["status"] == "pending"
    assert retried.json()["data"]["attempts"] == 0
    assert (await admin.get("/api/admin/jobs/failed")).json()["data"] == []

    ran = await admin.get("/api/jobs/run", params={"queue": "default", "limit": 5})
    assert ran.status_code == 200, ran.text
    assert ran.json()["data"] == {"queue": "default", "processed": 1}
    job = await _job(database, job_id)
    assert (job.status, job.attempts, job.last_error) == ("succeeded", 1, None)
    async with database.read_session() as session:
        entries = (
            await session.scalars(select(AuditEntry).where(AuditEntry.entity_type == "job"))
        ).all()
    assert [(e.event, e.entity_id, e.before["status"], e.after["status"]) for e in entries] == [
        ("jobs.retry", job_id, "failed", "pending")
    ]

    again = await admin.post(f"/api/admin/jobs/{job_id}/retry")
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "CONFLICT"


async def test_job_routes_refuse_bad_input_and_missing_permissions(
    app: Starlette, admin: httpx.AsyncClient, database: Database
) -> None:
    job_id = await _failed_job(database)
    assert (await admin.post(f"/api/admin/jobs/{uuid.uuid4()}/retry")).status_code == 404
    assert (await admin.post("/api/admin/jobs/not-an-id/retry")).status_code == 404
    for limit in ("0", "101", "many"):
        response = await admin.get("/api/jobs/run", params={"limit": limit})
        assert response.status_code == 422, (limit, response.text)
        assert response.json()["error"]["code"] == "VALIDATION_FAILED"

    async for jobs_admin in client_with(app, database, "jobs:admin"):
        assert (await jobs_admin.get("/api/admin/jobs/failed")).status_code == 200
        # The cron runner runs any kind of job: it needs `*:*`.
        assert (await jobs_admin.get("/api/jobs/run")).status_code == 403
    async for reader in client_with(app, database, "orders:read"):
        assert (await reader.get("/api/admin/jobs/failed")).status_code == 403
        assert (await reader.post(f"/api/admin/jobs/{job_id}/retry")).status_code == 403
    assert (await _job(database, job_id)).status == "failed", "refusals changed nothing"


async def test_jobs_over_graphql(admin: httpx.AsyncClient, database: Database) -> None:
    job_id = await _failed_job(database)
    listed = await admin.post(
        "/graphql",
        json={
            "query": '{ jobs(filter: {status: FAILED, kind: "test.api_job"}) '
            "{ items { id status lastError } totalCount } "
            f'job(id: "{job_id}") {{ attempts maxAttempts payload }} }}'
        },
    )
    assert without_cost(listed.json()) == {
        "data": {
            "jobs": {
                "items": [{"id": job_id, "status": "FAILED", "lastError": "boom 1"}],
                "totalCount": 1,
            },
            "job": {"attempts": 1, "maxAttempts": 1, "payload": {"n": 1}},
        }
    }
    retried = await admin.post(
        "/graphql",
        json={
            "query": "mutation($id: ID!) { retryJob(input: {id: $id}) { status } "
            "runJobs(limit: 3) { queue processed } }",
            "variables": {"id": job_id},
        },
    )
    assert without_cost(retried.json()) == {
        "data": {
            "retryJob": {"status": "PENDING"},
            "runJobs": {"queue": "default", "processed": 1},
        }
    }


@pytest.mark.one_backend
async def test_a_worker_process_runs_queued_jobs_until_stopped(
    database: Database, database_url: str
) -> None:
    async with database.unit_of_work() as uow:
        # No handler in the worker knows this kind: the worker records that it ran it and why
        # it failed, which is what this test reads.
        job = enqueue(uow.session, "test.worker_only", {})
        await uow.commit()
    environment = {
        **os.environ,
        "CARTOGRAPH_DATABASE_URL": database_url,
        "CARTOGRAPH_JOBS_POLL_SECONDS": "0.1",
    }
    worker = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "app.cli",
        "worker",
        "--no-dispatch",
        env=environment,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        async with asyncio.timeout(30):
            while (await _job(database, str(job.id))).status != "failed":  # noqa: ASYNC110
                await asyncio.sleep(0.1)
    finally:
        worker.send_signal(signal.SIGTERM)
        _, stderr = await asyncio.wait_for(worker.communicate(), 30)
    assert worker.returncode == 0, stderr.decode()
    assert (await _job(database, str(job.id))).last_error == "No handler for 'test.worker_only'."
