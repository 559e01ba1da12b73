"""Fixtures: every database test runs on SQLite and, with TEST_DATABASE_URL, on PostgreSQL.

Each backend is migrated once per test session (with Alembic, as in production); each test
starts from empty tables. Under pytest-xdist each worker has its own SQLite file and its own
PostgreSQL schema, so workers never see each other's rows.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import httpx
import psycopg
import pytest
from argon2 import PasswordHasher
from sqlalchemy import text
from sqlalchemy.engine import make_url
from starlette.applications import Starlette

from app.auth import passwords
from app.config import Settings
from app.db import Database
from app.main import create_app
from app.migrations import upgrade
from app.models import Base, CatalogEntityCount, InventoryLevelCount
from tests.support.factories import make_api_key

TEST_DATABASE_URL = os.environ.get("TEST_DATABASE_URL")

# In this process, passwords are hashed with argon2id at its cheapest (1 pass over 1 MiB):
# OWASP's 19 MiB and 2 passes cost ~90 ms of CPU per hash or check, hundreds of times over
# the suite. Everything else about them is the same (a hash records its own parameters, an
# older one is rehashed at sign-in). The production parameters are asserted on the hash
# that the `cartograph user set-password` subprocess stores (tests/test_cli.py), and every
# server that tests start in a subprocess hashes with them.
passwords.HASHER = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
# Uploaded media of the test apps: one directory per test process, never the worktree's var/.
MEDIA_DIR = tempfile.mkdtemp(prefix="cartograph-media-")
# Kept by triggers on catalog_entities (migration 0025).
COUNTS = CatalogEntityCount.__tablename__
# Kept by triggers on inventory_levels (migration 0026).
LEVEL_COUNTS = InventoryLevelCount.__tablename__
BACKENDS = ["sqlite", *(["postgresql"] if TEST_DATABASE_URL else [])]


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "one_backend: a whole-app run (a fuzzer, the README tour) that finds nothing more on a "
        "second backend than its own tests do: run on PostgreSQL when it is there, else SQLite",
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """With PostgreSQL at hand, `one_backend` tests leave out their SQLite run (deselected,
    and reported as such, not skipped)."""
    if not TEST_DATABASE_URL:
        return
    dropped = [
        item
        for item in items
        if item.get_closest_marker("one_backend")
        and getattr(item, "callspec", None) is not None
        and item.callspec.params.get("database_url") == "sqlite"
    ]
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = [item for item in items if item not in dropped]


def pytest_report_header(config: pytest.Config) -> list[str]:
    if TEST_DATABASE_URL:
        return ["database tests: SQLite and PostgreSQL (TEST_DATABASE_URL)"]
    return ["database tests: SQLite only (TEST_DATABASE_URL is not set)"]


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if not TEST_DATABASE_URL:
        terminalreporter.write_line(
            "NOTE: TEST_DATABASE_URL is not set: database tests ran on SQLite only."
        )


def _admin_dsn() -> str:
    assert TEST_DATABASE_URL
    base = make_url(TEST_DATABASE_URL)
    return base.set(drivername="postgresql").render_as_string(hide_password=False)


def _schema_name(worker: str) -> str:
    """This run's and this worker's own schema: two runs at once (a developer and CI, or two
    developers) never drop each other's tables."""
    run = os.environ.get("PYTEST_XDIST_TESTRUNUID") or f"{os.getpid()}"
    return f"cg_test_{run[:24]}_{worker}"


def _postgres_url(schema: str) -> str:
    """A schema of its own in the test database, created afresh.

    Its sessions commit with `synchronous_commit=off`: a commit returns before its WAL
    reaches the disk. That changes only what a crash of the PostgreSQL server would lose
    (no test crashes it); visibility, locks, isolation and constraints are the same. On
    this CI machine a commit waited ~9 ms for the disk against ~0.3 ms without, and the
    PostgreSQL half of the suite commits tens of thousands of times. The servers that
    tests start in a subprocess get the same URL, so the same setting."""
    assert TEST_DATABASE_URL
    with psycopg.connect(_admin_dsn(), autocommit=True) as connection:
        connection.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        connection.execute(f'CREATE SCHEMA "{schema}"')
    base = make_url(TEST_DATABASE_URL)
    options = f"-csearch_path={schema} -csynchronous_commit=off"
    url = base.set(drivername="postgresql+psycopg", query={**base.query, "options": options})
    return url.render_as_string(hide_password=False)


@pytest.fixture(scope="session", params=BACKENDS)
def database_url(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    if request.param == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp_path_factory.mktemp('db') / 'test.db'}"
        upgrade(url)
        yield url
        return
    schema = _schema_name(worker)
    url = _postgres_url(schema)
    upgrade(url)
    yield url
    with psycopg.connect(_admin_dsn(), autocommit=True) as connection:
        connection.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


@pytest.fixture(scope="session")
async def shared_database(database_url: str) -> AsyncIterator[Database]:
    database = Database(database_url, pool_size=20)
    yield database
    await database.dispose()


async def truncate_all(database: Database) -> None:
    """Empty every table, children first. DELETE, not TRUNCATE, on PostgreSQL too: a test
    leaves a handful of rows, and TRUNCATE's fixed cost per table (new files for each) made
    emptying ~40 tables take 280 ms against DELETE's 15 ms, minutes over the suite. (The one
    sequence, order numbers, is no column's, so TRUNCATE never restarted it either.)"""
    tables = [t.name for t in reversed(Base.metadata.sorted_tables)]
    # Last: deleting catalog_entities and inventory_levels updates them (their triggers),
    # and would count below zero.
    for counts in (COUNTS, LEVEL_COUNTS):
        tables.remove(counts)
        tables.append(counts)
    async with database.engine.begin() as connection:
        if database.is_sqlite:
            # Self-references (a category's parent) are checked at commit, when all are gone.
            await connection.execute(text("PRAGMA defer_foreign_keys = ON"))
        for table in tables:
            await connection.execute(text(f'DELETE FROM "{table}"'))


@pytest.fixture
async def database(shared_database: Database) -> Database:
    """The backend's database, emptied for this test."""
    await truncate_all(shared_database)
    return shared_database


def settings_for(database_url: str, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "database_url": database_url,
        "rate_limit": "100000/minute",
        "auth_failure_limit": "100000/minute",
        # Off unless a test turns it on: its writes would disturb tests that count statements
        # or compare the whole database (tests/api/test_access_logs.py turns it on).
        "access_log": False,
        "media_dir": MEDIA_DIR,
    }
    values.update(overrides)
    return Settings(**values)


@pytest.fixture
def make_app(database: Database) -> Callable[..., Starlette]:
    """Build an app on the test database; keyword arguments override settings."""

    def build(**overrides: Any) -> Starlette:
        return create_app(settings_for(database.url, **overrides), database=database)

    return build


@pytest.fixture(scope="module")
def module_app(shared_database: Database) -> Starlette:
    """One app per test module: building it is most of a small test's cost, and an app holds
    no state between requests but the rate limiter's counters (the database is emptied per
    test). Tests that need other settings build their own with `make_app`."""
    return create_app(settings_for(shared_database.url), database=shared_database)


@pytest.fixture
def app(module_app: Starlette, database: Database) -> Starlette:
    return module_app


def client_for(app: Starlette, **kwargs: Any) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://testserver", **kwargs
    )


async def client_with(
    app: Starlette, database: Database, *permissions: str
) -> AsyncIterator[httpx.AsyncClient]:
    """A client whose key holds exactly `permissions`."""
    _, plaintext = await make_api_key(database, permissions=list(permissions), name="scoped")
    async with client_for(app, headers={"x-api-key": plaintext}) as http:
        yield http


@pytest.fixture
async def client(app: Starlette) -> AsyncIterator[httpx.AsyncClient]:
    async with client_for(app) as http:
        yield http


@pytest.fixture
async def admin_key(database: Database) -> str:
    """The plaintext of a `*:*` key."""
    _, plaintext = await make_api_key(database, name="admin")
    return plaintext


@pytest.fixture
async def admin(app: Starlette, admin_key: str) -> AsyncIterator[httpx.AsyncClient]:
    """A client that sends the admin key on every request."""
    async with client_for(app, headers={"x-api-key": admin_key}) as http:
        yield http
