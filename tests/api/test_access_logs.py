"""Access logs: every HTTP request recorded (without waiting for the database), read through
GraphQL `accessLogs` and the gateway's `GET /api/v1/logs` (seed 002) with `logs:read`."""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from starlette.applications import Starlette

from app.db import Database
from app.main import create_app
from app.models.base import utcnow
from app.models.logs import AccessLogEntry
from app.services.access_log import AccessLogWriter, entry
from tests.conftest import client_for, client_with, settings_for
from tests.support.cost import without_cost
from tests.support.queries import count_queries

LOGS = "/api/v1/logs"
LIST = """query L($filter: LogFilter, $first: Int, $after: String, $limit: Int) {
  accessLogs(filter: $filter, first: $first, after: $after, limit: $limit) {
    items { timestamp level message userId ipAddress method path status durationMs requestId }
    totalCount pageInfo { hasNextPage endCursor } } }"""


@pytest.fixture(scope="module")
def logged_module_app(shared_database: Database) -> Starlette:
    return create_app(settings_for(shared_database.url, access_log=True), database=shared_database)


@pytest.fixture
def app(logged_module_app: Starlette, database: Database) -> Starlette:
    """The module's app with access logs on, its buffer emptied for this test."""
    writer = logged_module_app.state.access_log
    writer.buffer.clear()
    writer.dropped = 0
    writer.capacity = 10_000
    return logged_module_app


def writer_of(app: Starlette) -> AccessLogWriter:
    writer: AccessLogWriter = app.state.access_log
    return writer


async def rows(database: Database) -> list[AccessLogEntry]:
    async with database.read_session() as session:
        found = await session.scalars(
            select(AccessLogEntry).order_by(AccessLogEntry.timestamp, AccessLogEntry.id)
        )
    return list(found)


async def seed(database: Database, *entries: dict[str, Any]) -> None:
    writer = AccessLogWriter(database)
    for made in entries:
        writer.record(made)
    await writer.flush()


def at(days_ago: float, status: int = 200, path: str = "/api/health") -> dict[str, Any]:
    return entry(
        method="GET",
        path=path,
        status=status,
        duration_ms=3,
        user_id=None,
        actor_type=None,
        ip_address="10.0.0.1",
        request_id=None,
        timestamp=utcnow() - timedelta(days=days_ago),
    )


def iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


# ---- recording -------------------------------------------------------------------------------


async def test_a_request_is_recorded_with_its_actor_status_and_timing(
    app: Starlette, admin: httpx.AsyncClient, admin_key: str, database: Database
) -> None:
    response = await admin.get("/api/health", headers={"x-request-id": "req-logged-1"})
    assert response.status_code == 200
    assert await rows(database) == []  # nothing written while the request ran
    assert await writer_of(app).flush() == 1

    [row] = await rows(database)
    assert (row.method, row.path, row.status, row.level) == ("GET", "/api/health", 200, "info")
    assert row.request_id == "req-logged-1"
    assert row.actor_type == "api_key" and row.user_id is not None
    assert row.ip_address == "127.0.0.1"
    assert row.duration_ms >= 0
    assert row.message == f"GET /api/health answered 200 in {row.duration_ms} ms"
    assert abs((utcnow() - row.timestamp).total_seconds()) < 60


async def test_refused_and_unknown_requests_are_warnings_without_a_user(
    app: Starlette, database: Database
) -> None:
    async with client_for(app, headers={"x-api-key": "ck_not_a_real_key"}) as refused:
        assert (await refused.get(LOGS)).status_code == 401
    async with client_for(app) as anonymous:
        assert (await anonymous.get("/api/v1/nothing-here")).status_code == 404
        assert (await anonymous.get(LOGS)).status_code == 401
    await writer_of(app).flush()
    found = await rows(database)
    assert [(r.path, r.status, r.level, r.user_id, r.actor_type) for r in found] == [
        (LOGS, 401, "warn", None, None),
        ("/api/v1/nothing-here", 404, "warn", None, None),
        (LOGS, 401, "warn", None, None),
    ]


async def test_the_query_string_is_never_stored(
    app: Starlette, admin: httpx.AsyncClient, database: Database
) -> None:
    await admin.get("/api/health", params={"token": "s3cr3t-t0ken", "page": "2"})
    await writer_of(app).flush()
    [row] = await rows(database)
    assert row.path == "/api/health"
    stored = [getattr(row, c.key) for c in AccessLogEntry.__table__.columns]
    assert not any("s3cr3t" in str(value) for value in stored)


async def test_static_files_are_not_recorded(app: Starlette, database: Database) -> None:
    async with client_for(app) as anonymous:
        await anonymous.get("/static/swagger/swagger-ui.css")
    assert len(writer_of(app).buffer) == 0


async def test_a_full_buffer_drops_and_counts_without_blocking(
    app: Starlette, admin: httpx.AsyncClient, database: Database
) -> None:
    writer = writer_of(app)
    writer.capacity = 2
    for _ in range(2):
        assert (await admin.get("/api/health")).status_code == 200
    # The buffer is full: the request still answers at once; its entry is dropped, counted.
    answered = await asyncio.wait_for(admin.get("/api/health"), timeout=5)
    assert answered.status_code == 200
    assert (len(writer.buffer), writer.dropped) == (2, 1)
    assert writer.record(at(0)) is False and writer.dropped == 2
    assert await writer.flush() == 2
    assert len(await rows(database)) == 2


async def test_entries_are_written_in_batches_of_one_insert(database: Database) -> None:
    writer = AccessLogWriter(database, batch_size=50)
    for _ in range(120):
        writer.record(at(0))
    with count_queries(database) as counted:
        assert await writer.flush() == 120
    inserts = [q for q in counted.statements if q.lstrip().upper().startswith("INSERT")]
    assert len(inserts) == 3
    assert len(await rows(database)) == 120


async def test_a_failed_flush_is_logged_not_raised(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # A database without the table: every write fails.
    empty = Database(f"sqlite+aiosqlite:///{tmp_path / 'empty.db'}")
    try:
        writer = AccessLogWriter(empty)
        writer.record(at(0))
        with caplog.at_level(logging.ERROR, logger="app.access_log"):
            assert await writer.flush() == 0
        assert writer.dropped == 1 and not writer.buffer
        assert "access log entries failed" in caplog.text
    finally:
        await empty.dispose()


async def test_retention_deletes_old_entries_and_zero_keeps_them(database: Database) -> None:
    await seed(database, at(40), at(31), at(29), at(0))
    assert await AccessLogWriter(database, retention_days=0).prune() == 0
    assert len(await rows(database)) == 4
    assert await AccessLogWriter(database, retention_days=30).prune() == 2
    left = await rows(database)
    assert len(left) == 2
    assert all(utcnow() - r.timestamp < timedelta(days=30) for r in left)


async def test_the_lifespan_writes_in_the_background_and_at_shutdown(
    database: Database,
) -> None:
    app = create_app(
        settings_for(database.url, access_log=True, access_log_flush_seconds=0.05),
        database=database,
    )
    async with app.router.lifespan_context(app), client_for(app) as anonymous:
        await anonymous.get("/api/health")
        for _ in range(100):
            if await rows(database):
                break
            await asyncio.sleep(0.05)
        assert len(await rows(database)) == 1  # flushed by the background task
        await anonymous.get("/api/health?x=1")
    # The last one was written at shutdown.
    assert len(await rows(database)) == 2


async def test_turned_off_nothing_is_recorded(database: Database) -> None:
    app = create_app(settings_for(database.url, access_log=False), database=database)
    assert app.state.access_log is None
    async with client_for(app) as anonymous:
        assert (await anonymous.get("/api/health")).status_code == 200
    assert await rows(database) == []


# ---- reading: GraphQL ------------------------------------------------------------------------


async def gql(http: httpx.AsyncClient, query: str, **variables: Any) -> dict[str, Any]:
    response = await http.post("/graphql", json={"query": query, "variables": variables})
    assert response.status_code == 200, response.text
    return without_cost(response.json())


async def test_graphql_lists_newest_first_with_filters_and_pages(
    app: Starlette, database: Database
) -> None:
    await seed(database, at(3, 500, "/a"), at(2, 404, "/b"), at(1, 200, "/c"), at(0.5, 201, "/d"))
    async for reader in client_with(app, database, "logs:read"):
        every = (await gql(reader, LIST))["data"]["accessLogs"]
        assert [e["path"] for e in every["items"]] == ["/d", "/c", "/b", "/a"]
        assert every["totalCount"] == 4
        first = every["items"][0]
        assert first["level"] == "INFO" and first["status"] == 201
        assert first["message"] == "GET /d answered 201 in 3 ms"
        assert (first["userId"], first["ipAddress"], first["durationMs"]) == (None, "10.0.0.1", 3)

        async def paths(http: httpx.AsyncClient = reader, **filter: Any) -> list[str]:
            body = await gql(http, LIST, filter=filter)
            return [e["path"] for e in body["data"]["accessLogs"]["items"]]

        assert await paths(level="WARN") == ["/b"]
        assert await paths(level="ERROR") == ["/a"]
        assert await paths(level="INFO") == ["/d", "/c"]
        since = iso(utcnow() - timedelta(days=2.5))
        until = iso(utcnow() - timedelta(days=0.75))
        assert await paths(startDate=since) == ["/d", "/c", "/b"]
        assert await paths(endDate=until) == ["/c", "/b", "/a"]
        assert await paths(startDate=since, endDate=until, level="INFO") == ["/c"]

        page = (await gql(reader, LIST, first=3))["data"]["accessLogs"]
        assert page["pageInfo"]["hasNextPage"] is True
        rest = await gql(reader, LIST, first=3, after=page["pageInfo"]["endCursor"])
        assert [e["path"] for e in rest["data"]["accessLogs"]["items"]] == ["/a"]

        reversed_ = await gql(reader, LIST, filter={"startDate": until, "endDate": since})
        assert reversed_["errors"][0]["extensions"]["code"] == "VALIDATION_FAILED"


async def test_graphql_needs_logs_read(app: Starlette, database: Database) -> None:
    async for other in client_with(app, database, "users:read"):
        body = await gql(other, LIST)
        assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
        assert body["data"] is None


# ---- reading: the gateway (seed 002) ---------------------------------------------------------


async def test_gateway_logs_as_documented(
    app: Starlette, admin: httpx.AsyncClient, database: Database
) -> None:
    await admin.get("/api/health", headers={"x-request-id": "req-gw-1"})
    await writer_of(app).flush()
    [row] = await rows(database)
    response = await admin.get(LOGS)
    assert response.status_code == 200
    body = response.json()
    assert body["success"] is True and set(body["meta"]) == {"timestamp", "requestId"}
    assert body["data"] == [
        {
            "timestamp": iso(row.timestamp),
            "level": "info",
            "message": row.message,
            "userId": row.user_id,
            "ipAddress": "127.0.0.1",
            "method": "GET",
            "path": "/api/health",
            "status": 200,
            "durationMs": row.duration_ms,
            "requestId": "req-gw-1",
        }
    ]
    assert body["pagination"] == {"page": 1, "limit": 20, "total": 1, "pages": 1}
    assert response.headers["x-total-count"] == "1"


async def test_gateway_logs_filter_and_page(admin: httpx.AsyncClient, database: Database) -> None:
    await seed(database, *(at(i, 404 if i % 2 else 200, f"/p{i}") for i in range(5)))

    def paths(response: httpx.Response) -> list[str]:
        assert response.status_code == 200, response.text
        return [e["path"] for e in response.json()["data"]]

    assert paths(await admin.get(LOGS, params={"level": "warn"})) == ["/p1", "/p3"]
    since = iso(utcnow() - timedelta(days=2.5))
    until = iso(utcnow() - timedelta(days=0.5))
    assert paths(await admin.get(LOGS, params={"startDate": since, "endDate": until})) == [
        "/p1",
        "/p2",
    ]
    by_page = await admin.get(LOGS, params={"page": 2, "limit": 2})
    assert paths(by_page) == ["/p2", "/p3"]
    assert by_page.json()["pagination"] == {"page": 2, "limit": 2, "total": 5, "pages": 3}


async def test_gateway_logs_refuse_bad_input_and_callers_without_logs_read(
    app: Starlette, admin: httpx.AsyncClient, database: Database
) -> None:
    for params in (
        {"level": "fatal"},
        {"startDate": "yesterday"},
        {"startDate": "2026-02-01T00:00:00Z", "endDate": "2026-01-01T00:00:00Z"},
    ):
        bad = await admin.get(LOGS, params=params)
        assert bad.status_code == 400, params
        assert bad.json()["error"]["code"] == "VALIDATION_ERROR"
    async with client_for(app) as anonymous:
        assert (await anonymous.get(LOGS)).status_code == 401
    async for other in client_with(app, database, "users:read"):
        assert (await other.get(LOGS)).status_code == 403


async def test_a_path_with_nul_or_of_any_length_is_stored(
    app: Starlette, database: Database
) -> None:
    async with client_for(app) as anonymous:
        assert (await anonymous.get("/api/v1/no%00where")).status_code == 404
        assert (await anonymous.get("/api/v1/" + "x" * 5000)).status_code in (404, 414)
    assert await writer_of(app).flush() == 2
    stored = [r.path for r in await rows(database)]
    assert stored[0] == "/api/v1/no%00where"
    assert stored[1].startswith("/api/v1/xxx") and len(stored[1]) == 2048


async def test_answers_of_inner_middleware_are_recorded(app: Starlette, database: Database) -> None:
    limit = app.state.settings.max_body_bytes
    async with client_for(app) as anonymous:
        too_big = await anonymous.post(
            "/graphql", content=b"x" * (limit + 1), headers={"content-type": "application/json"}
        )
    assert too_big.status_code == 413
    await writer_of(app).flush()
    [row] = await rows(database)
    assert (row.method, row.path, row.status, row.level) == ("POST", "/graphql", 413, "warn")
    assert row.request_id == too_big.headers["x-request-id"]
