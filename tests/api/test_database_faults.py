"""Faults answer honestly (issue 10 part 5): a database that is down, slow or locked makes every
face answer 503 SERVICE_UNAVAILABLE with `Retry-After`, in its own envelope, and the server
recovers by itself when the database does.

The outage is real: a PostgreSQL URL on a port nothing listens on, a TCP proxy (in this event
loop) between the app and the test's PostgreSQL that the test cuts and restores, a row lock
held past the statement timeout, SQLite's write lock held by another connection.
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import orjson
import pytest
from sqlalchemy import func, select, text
from sqlalchemy.engine import make_url
from starlette.applications import Starlette
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed
from websockets.typing import Subprotocol

from app.db import Database
from app.main import create_app
from app.models import Base
from app.models.carts import Cart
from app.models.catalog import CatalogEntity
from app.services.apikeys import generate_key
from app.services.payments import sign
from tests.conftest import client_for, settings_for
from tests.support.catalog import make_entity
from tests.support.factories import make_api_key
from tests.support.server import free_port, serving

SECRET = "whsec_faults"
RETRY_AFTER = "5"
GRAPHQL_RESPONSE = {"accept": "application/graphql-response+json"}
CATALOG_QUERY = {"query": "{ catalogEntities { totalCount } }"}


@dataclass(frozen=True)
class Probe:
    """One request to one face, and where that face's envelope keeps the error code."""

    name: str
    face: str  # graphql | engine | gateway
    method: str
    path: str
    json: Any = None
    headers: dict[str, str] | None = None
    keyed: bool = False  # sends the admin key: the credential lookup meets the fault first


def probes() -> list[Probe]:
    return [
        Probe("graphql-json", "graphql", "POST", "/graphql", CATALOG_QUERY),
        Probe("graphql-response-json", "graphql", "POST", "/graphql", CATALOG_QUERY,
              GRAPHQL_RESPONSE),
        Probe("graphql-keyed", "graphql", "POST", "/graphql", CATALOG_QUERY, keyed=True),
        Probe("engine-read", "engine", "GET", "/api/catalog/entities"),
        Probe("engine-write", "engine", "POST", "/api/carts", {"currency": "USD"}),
        Probe("engine-keyed", "engine", "GET", "/api/orders", keyed=True),
        Probe("gateway-read", "gateway", "GET", "/api/v1/products"),
        Probe("gateway-keyed", "gateway", "GET", "/api/v1/api-keys", keyed=True),
    ]  # fmt: skip


def error_code(face: str, body: Any) -> str:
    if face == "graphql":
        return body["errors"][0]["extensions"]["code"]
    if face == "gateway":
        assert body["success"] is False
    return body["error"]["code"]


async def send(client: httpx.AsyncClient, probe: Probe, key: str) -> httpx.Response:
    headers = dict(probe.headers or {})
    if probe.keyed:
        headers["x-api-key"] = key
    return await client.request(probe.method, probe.path, json=probe.json, headers=headers)


def assert_unavailable(probe: Probe, response: httpx.Response) -> None:
    assert response.status_code == 503, (probe.name, response.text)
    assert response.headers["retry-after"] == RETRY_AFTER, probe.name
    assert response.headers["x-request-id"].startswith("req_"), probe.name
    assert error_code(probe.face, response.json()) == "SERVICE_UNAVAILABLE", probe.name


def assert_served(probe: Probe, response: httpx.Response) -> None:
    assert response.status_code in (200, 201), (probe.name, response.text)
    assert "retry-after" not in response.headers


@contextlib.asynccontextmanager
async def app_on(url: str, **database_options: Any) -> AsyncIterator[Starlette]:
    database = Database(url, pool_size=2, **database_options)
    try:
        yield create_app(
            settings_for(url, payment_webhook_secret=SECRET, reservation_sweep_seconds=0),
            database=database,
        )
    finally:
        await database.dispose()


# --- a database that is not there ------------------------------------------------------------


@pytest.mark.parametrize("probe", probes(), ids=lambda p: p.name)
async def test_every_face_answers_503_with_retry_after_when_the_database_is_down(
    probe: Probe,
) -> None:
    down = f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/nothing"
    async with app_on(down) as app, client_for(app) as client:
        assert_unavailable(probe, await send(client, probe, generate_key()))


async def test_the_payment_webhook_answers_503_when_the_database_is_down() -> None:
    down = f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/nothing"
    body = orjson.dumps({"id": "evt_1", "type": "charge.refunded", "data": {"object": {}}})
    async with app_on(down) as app, client_for(app) as client:
        response = await client.post(
            "/api/payments/webhook",
            content=body,
            headers={"content-type": "application/json", "stripe-signature": sign(SECRET, body)},
        )
    assert response.status_code == 503
    assert response.headers["retry-after"] == RETRY_AFTER
    assert response.json()["error"]["code"] == "SERVICE_UNAVAILABLE"


async def test_health_says_503_with_retry_after_when_the_database_is_down() -> None:
    down = f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/nothing"
    async with app_on(down) as app, client_for(app) as client:
        response = await client.get("/api/health")
    assert response.status_code == 503
    assert response.headers["retry-after"] == RETRY_AFTER


async def test_a_websocket_credential_the_database_cannot_check_closes_with_4503() -> None:
    down = f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/nothing"
    async with app_on(down) as app, serving(app) as base_url:
        url = base_url.replace("http://", "ws://", 1) + "/graphql"
        async with connect(url, subprotocols=[Subprotocol("graphql-transport-ws")]) as socket:
            init = {"type": "connection_init", "payload": {"x-api-key": generate_key()}}
            await socket.send(orjson.dumps(init).decode())
            with pytest.raises(ConnectionClosed) as closed:
                await asyncio.wait_for(socket.recv(), 5)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 4503


# --- PostgreSQL: cut and restored, and slow ---------------------------------------------------


class TcpProxy:
    """A TCP proxy to `target` that a test can cut (every connection dropped, new ones refused)
    and restore on the same port."""

    def __init__(self, host: str, port: int) -> None:
        self.target = (host, port)
        self.port = 0
        self.server: asyncio.Server | None = None
        self.writers: set[asyncio.StreamWriter] = set()
        self.tasks: set[asyncio.Task[None]] = set()

    async def start(self) -> None:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", self.port)
        self.port = self.server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        assert self.server is not None
        self.server.close()
        await self.server.wait_closed()
        for writer in self.writers:
            writer.transport.abort()
        for task in self.tasks:
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)
        self.writers.clear()
        self.tasks.clear()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            upstream_reader, upstream_writer = await asyncio.open_connection(*self.target)
        except OSError:
            writer.transport.abort()
            return
        self.writers |= {writer, upstream_writer}
        for source, sink in ((reader, upstream_writer), (upstream_reader, writer)):
            task = asyncio.create_task(self._pipe(source, sink))
            self.tasks.add(task)
            task.add_done_callback(self.tasks.discard)

    async def _pipe(self, source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
        try:
            while chunk := await source.read(65536):
                sink.write(chunk)
                await sink.drain()
        except (ConnectionError, OSError):
            pass
        finally:
            sink.transport.abort()


def through(url: str, port: int) -> str:
    return make_url(url).set(host="127.0.0.1", port=port).render_as_string(hide_password=False)


def require_postgresql(database: Database) -> None:
    if database.is_sqlite:
        pytest.skip("a PostgreSQL fault: SQLite has no server to lose or statement to cancel")


def require_sqlite(database: Database) -> None:
    if not database.is_sqlite:
        pytest.skip("SQLite's write lock; PostgreSQL locks rows (see the statement timeout)")


async def test_an_outage_answers_503_and_the_server_recovers_without_a_restart(
    database: Database, database_url: str
) -> None:
    require_postgresql(database)
    _, key = await make_api_key(database, name="faults")
    await make_entity(database, slug="mug")
    target = make_url(database_url)
    proxy = TcpProxy(target.host or "127.0.0.1", target.port or 5432)
    await proxy.start()
    try:
        async with app_on(through(database_url, proxy.port)) as app, client_for(app) as client:
            for probe in probes():
                assert_served(probe, await send(client, probe, key))
            await proxy.stop()
            for probe in probes():
                assert_unavailable(probe, await send(client, probe, key))
            await proxy.start()
            for probe in probes():
                assert_served(probe, await send(client, probe, key))
    finally:
        await proxy.stop()


@contextlib.asynccontextmanager
async def row_locked(database: Database, table: str, id: str) -> AsyncIterator[None]:
    """Hold the row's lock (SELECT ... FOR UPDATE) in another transaction until the block ends."""
    async with database.engine.connect() as connection:
        transaction = await connection.begin()
        await connection.execute(
            text(f"SELECT id FROM {table} WHERE id = :id FOR UPDATE"), {"id": id}
        )
        try:
            yield
        finally:
            await transaction.rollback()


async def test_a_statement_past_the_timeout_answers_503_and_changes_nothing(
    database: Database, database_url: str
) -> None:
    require_postgresql(database)
    _, key = await make_api_key(database, name="faults")
    mug = await make_entity(database, slug="mug")
    headers = {"x-api-key": key}
    rename = 'mutation($id: ID!) { updateCatalogEntity(input: {id: $id, slug: "g"}) { slug } }'
    changes = [
        ("engine", "PATCH", f"/api/catalog/entities/{mug.id}", {"slug": "engine-mug"}),
        ("gateway", "PUT", f"/api/v1/products/{mug.id}", {"name": "Gateway mug"}),
        ("graphql", "POST", "/graphql", {"query": rename, "variables": {"id": str(mug.id)}}),
    ]
    async with app_on(database_url, statement_timeout_ms=300) as app, client_for(app) as client:
        # Bounded: without the timeout the change would wait for the lock for ever.
        async with asyncio.timeout(10), row_locked(database, "catalog_entities", str(mug.id)):
            for face, method, path, body in changes:
                response = await client.request(method, path, json=body, headers=headers)
                assert response.status_code == 503, (face, response.text)
                assert response.headers["retry-after"] == RETRY_AFTER
                assert error_code(face, response.json()) == "SERVICE_UNAVAILABLE"
                assert "in time" in response.text
        async with database.read_session() as session:
            unchanged = await session.get(CatalogEntity, mug.id)
        assert unchanged is not None and unchanged.slug == "mug"
        response = await client.request(*changes[0][1:3], json=changes[0][3], headers=headers)
        assert response.status_code == 200, response.text


async def test_every_server_session_has_the_statement_timeout_and_keeps_the_urls_options(
    database: Database, database_url: str
) -> None:
    require_postgresql(database)
    app = create_app(settings_for(database_url))  # its own Database, from the settings
    try:
        async with app.state.database.read_session() as session:
            assert await session.scalar(text("SHOW statement_timeout")) == "5s"
            # The URL's own options (the test schema's search_path) still apply.
            assert await session.scalar(select(func.count()).select_from(Cart)) == 0
    finally:
        await app.state.database.dispose()


# --- SQLite: the write lock held elsewhere ---------------------------------------------------


@contextlib.contextmanager
def write_locked(database: Database) -> Iterator[None]:
    """Another connection holds SQLite's write lock (BEGIN IMMEDIATE) until the block ends."""
    path = make_url(database.url).database
    assert path
    connection = sqlite3.connect(path, isolation_level=None)
    try:
        connection.execute("BEGIN IMMEDIATE")
        yield
        connection.execute("ROLLBACK")
    finally:
        connection.close()


async def row_counts(database: Database) -> dict[str, int]:
    tables = Base.metadata.sorted_tables
    statement = select(
        *(select(func.count()).select_from(t).scalar_subquery().label(t.name) for t in tables)
    )
    async with database.read_session() as session:
        return dict((await session.execute(statement)).one()._mapping)


async def test_a_locked_sqlite_database_answers_writes_503_and_serves_reads(
    database: Database, database_url: str
) -> None:
    require_sqlite(database)
    _, key = await make_api_key(database, name="faults")
    writes = [
        Probe("engine-write", "engine", "POST", "/api/carts", {"currency": "USD"}),
        Probe("gateway-write", "gateway", "POST", "/api/v1/api-keys",
              {"name": "k", "permissions": ["audit:read"]}, keyed=True),
        Probe("graphql-write", "graphql", "POST", "/graphql",
              {"query": 'mutation { createCart(input: {currency: "USD"}) { id } }'}),
    ]  # fmt: skip
    reads = [p for p in probes() if p.method == "GET" or p.face == "graphql"]
    async with app_on(database_url, busy_timeout_ms=100) as app, client_for(app) as client:
        # A first use records the key's lastUsedAt: done before the lock, a read after.
        assert (await client.get("/api/v1/api-keys", headers={"x-api-key": key})).is_success
        before = await row_counts(database)
        with write_locked(database):
            async with asyncio.timeout(10):  # writers wait 100 ms for the lock, then give up
                for probe in writes:
                    assert_unavailable(probe, await send(client, probe, key))
                for probe in reads:
                    assert_served(probe, await send(client, probe, key))
        assert await row_counts(database) == before
        for probe in writes:
            assert_served(probe, await send(client, probe, key))
