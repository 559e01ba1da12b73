"""Engines, sessions and the unit of work.

Session policy (decided once, here): a command (mutation, REST write) runs in exactly one
`UnitOfWork`, which commits once at the boundary and rolls back unless committed. Reads that
GraphQL resolves concurrently never share an `AsyncSession`: each list resolver or DataLoader
batch opens its own short `read_session()` from the pool, because Strawberry resolves sibling
fields concurrently and one session cannot run two statements at once.

Round trips (decided here too): on PostgreSQL a read session runs in autocommit, so a read
sends its statements and nothing else: no BEGIN before them and no ROLLBACK after (psycopg
sends no ROLLBACK outside a transaction, and the pool's reset on return only switches the
connection back to transactions, which sends nothing either). Under READ COMMITTED every
statement took its own snapshot inside the transaction as well, so reads see what they saw
before; what they lose is nothing they used (no read session locks rows or writes: each
statement would commit by itself). A side effect, and a gain: psycopg prepares a statement
that a connection has run 5 times (the server then skips parsing and planning it), and a
ROLLBACK used to discard those counts, so reads never got there; now they do. Units of work
keep their transactions. SQLite keeps its BEGIN for reads: there it is no network round trip
(the database is in-process) and it gives a read's statements one snapshot.

Nor does a checkout ping the server first (`pool_pre_ping`, one more round trip per session).
A connection that died meanwhile (server restarted, backend killed, network cut) fails its
first statement instead: SQLAlchemy sees the disconnect, drops that connection and every
other pooled connection made before it, and the request answers 503 with `Retry-After`
(`unavailable`); the next request gets fresh connections. So a server restart costs the
requests in flight at that moment one retryable 503 each, in exchange for one round trip
fewer on every request.
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import psycopg
from sqlalchemy import Insert, Table, event, exc, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from app.errors import ServiceUnavailable

SQLITE_BUSY_TIMEOUT_MS = 10_000
# SQLite's result codes (the low byte of an extended code) for a database that cannot serve
# now: busy or locked by another writer, an I/O error, a full disk, a file it cannot open.
SQLITE_UNAVAILABLE = frozenset(
    {
        sqlite3.SQLITE_BUSY,
        sqlite3.SQLITE_LOCKED,
        sqlite3.SQLITE_IOERR,
        sqlite3.SQLITE_FULL,
        sqlite3.SQLITE_CANTOPEN,
    }
)


def unavailable(error: BaseException) -> ServiceUnavailable | None:
    """The answer to a database fault that is no one's mistake and may pass, or None for any
    other error (a bug, answered 500). The one place that tells them apart: the GraphQL error
    formatter (and so every REST route), the middleware and the websocket handlers ask it.

    Such faults: the server cannot be reached or restarts (psycopg's OperationalError, a
    connection SQLAlchemy invalidated, an InterfaceError on a closed connection), no pooled
    connection came free in time, a statement ran past the statement timeout (QueryCanceled;
    deadlocks and lock timeouts are OperationalErrors too, and retrying helps them alike), and
    SQLite's write lock stayed busy past the busy timeout ("database is locked").
    """
    for cause in _causes(error):
        if isinstance(cause, psycopg.errors.QueryCanceled):
            return ServiceUnavailable("The database did not answer in time; retry shortly.")
        if isinstance(cause, exc.TimeoutError):
            return ServiceUnavailable("The database is busy (no connection free); retry shortly.")
        if isinstance(cause, sqlite3.OperationalError) and (
            getattr(cause, "sqlite_errorcode", 0) & 0xFF in SQLITE_UNAVAILABLE
        ):
            return ServiceUnavailable("The database is busy (locked); retry shortly.")
        if isinstance(cause, psycopg.OperationalError | psycopg.InterfaceError) or (
            isinstance(cause, exc.DBAPIError) and cause.connection_invalidated
        ):
            return ServiceUnavailable()
    return None


def _causes(error: BaseException) -> Iterator[BaseException]:
    """`error`, then what it wraps: a DBAPIError's driver error, each exception's cause."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen and len(seen) < 8:
        seen.add(id(current))
        yield current
        orig = getattr(current, "orig", None)
        if isinstance(orig, BaseException) and id(orig) not in seen:
            yield orig
            seen.add(id(orig))
        current = current.__cause__


def normalize_url(url: str) -> str:
    """Pin the async drivers: `postgresql://` means psycopg 3, `sqlite://` means aiosqlite."""
    if url.startswith("postgresql://") or url.startswith("postgres://"):
        return "postgresql+psycopg://" + url.split("://", 1)[1]
    if url.startswith("sqlite://"):
        return "sqlite+aiosqlite://" + url.split("://", 1)[1]
    return url


def _configure_sqlite(engine: AsyncEngine, busy_timeout_ms: int) -> None:
    # The driver's own transaction handling is switched off so that we emit BEGIN ourselves:
    # a unit of work takes the write lock up front (BEGIN IMMEDIATE), so two writers queue on
    # busy_timeout instead of failing when a read lock cannot be upgraded.
    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(connection: Any) -> None:
        immediate = connection.get_execution_options().get("sqlite_immediate", False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def insert_ignoring_duplicates(database: Database, table: Table, keys: list[str]) -> Insert:
    """INSERT ... ON CONFLICT (keys) DO NOTHING, in the database's own dialect."""
    if database.is_sqlite:
        return sqlite.insert(table).on_conflict_do_nothing(index_elements=keys)
    return postgresql.insert(table).on_conflict_do_nothing(index_elements=keys)


def _postgres_options(existing: str | tuple[str, ...] | None, statement_timeout_ms: int) -> str:
    """The connection's `options` (the URL's own, e.g. a search_path, kept) with the
    statement timeout, set at connect: no statement of any session outlives it."""
    given = " ".join(existing) if isinstance(existing, tuple) else existing or ""
    timeout = f"-c statement_timeout={int(statement_timeout_ms)}" if statement_timeout_ms else ""
    return f"{given} {timeout}".strip()


class Database:
    """One engine and its session factory; the app holds one per process.

    `statement_timeout_ms` (PostgreSQL; 0: none) cancels any statement that runs longer,
    which then answers 503 (`unavailable`). SQLite cannot cancel a statement; a writer there
    waits `busy_timeout_ms` for the write lock, then fails the same way.

    `replica_url`: a read replica of this database, with an engine (and a pool of the same
    size) of its own, which `replica_session()` reads from; everything else reads and writes
    here. Without one, `replica_session()` is `read_session()`.
    """

    def __init__(
        self,
        url: str,
        *,
        pool_size: int = 10,
        echo: bool = False,
        statement_timeout_ms: int = 0,
        busy_timeout_ms: int = SQLITE_BUSY_TIMEOUT_MS,
        replica_url: str | None = None,
    ):
        self.url = normalize_url(url)
        parsed = make_url(self.url)
        self.dialect = parsed.get_backend_name()
        options: dict[str, Any] = {"echo": echo}
        if self.dialect == "sqlite":
            if parsed.database and parsed.database != ":memory:":
                Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
            options["connect_args"] = {"timeout": busy_timeout_ms / 1000}
        else:
            options.update(pool_size=pool_size, max_overflow=pool_size)
            options["connect_args"] = {"connect_timeout": 5}
            if statement_timeout_ms:
                options["connect_args"]["options"] = _postgres_options(
                    parsed.query.get("options"), statement_timeout_ms
                )
        self.engine = create_async_engine(self.url, **options)
        if self.dialect == "sqlite":
            _configure_sqlite(self.engine, busy_timeout_ms)
        self.sessionmaker = async_sessionmaker(self.engine, expire_on_commit=False)
        # Reads on PostgreSQL run in autocommit: no BEGIN before their statements and no
        # ROLLBACK after (see the module's docstring). The pool is the same one.
        self._read_sessionmaker = (
            self.sessionmaker
            if self.dialect == "sqlite"
            else async_sessionmaker(
                self.engine.execution_options(isolation_level="AUTOCOMMIT"),
                expire_on_commit=False,
            )
        )
        self.replica = (
            Database(
                replica_url,
                pool_size=pool_size,
                echo=echo,
                statement_timeout_ms=statement_timeout_ms,
            )
            if replica_url
            else None
        )
        # Called after a unit of work commits with the key set in its session's `info`
        # (an outbox event written, a job queued): this process's dispatcher and job runner
        # start at once instead of at their next poll.
        self._commit_hooks: dict[str, list[Callable[[], None]]] = {}

    def on_commit(self, key: str, hook: Callable[[], None]) -> Callable[[], None]:
        """Call `hook` after each commit whose session's `info` holds `key`; returns the
        function that removes it."""
        self._commit_hooks.setdefault(key, []).append(hook)
        return lambda: self._commit_hooks[key].remove(hook)

    def committed(self, info: dict[Any, Any]) -> None:
        for key, hooks in self._commit_hooks.items():
            if info.pop(key, False):
                for hook in hooks:
                    hook()

    @property
    def is_sqlite(self) -> bool:
        return self.dialect == "sqlite"

    def unit_of_work(self, *, request_id: str | None = None) -> UnitOfWork:
        return UnitOfWork(self, request_id=request_id)

    @contextlib.asynccontextmanager
    async def read_session(self) -> AsyncIterator[AsyncSession]:
        """A short session for reads only: on PostgreSQL it runs in autocommit (each statement
        commits by itself), so a write belongs in a `unit_of_work()`."""
        async with self._read_sessionmaker() as session:
            yield session

    def replica_session(self) -> contextlib.AbstractAsyncContextManager[AsyncSession]:
        """A short read session for reads that tolerate replication lag (they may miss the
        latest commits): the replica's, else `read_session()`. Never for a read that follows
        a write of the same request, nor for anything a unit of work decides on."""
        return (self.replica or self).read_session()

    async def ping(self) -> bool:
        """Whether the database answers a trivial query."""
        try:
            async with self.engine.connect() as connection:
                await connection.execute(text("SELECT 1"))
        except Exception:
            return False
        return True

    async def dispose(self) -> None:
        await self.engine.dispose()
        if self.replica is not None:
            await self.replica.dispose()


class UnitOfWork:
    """One transaction for one command. It rolls back unless `commit()` was called.

    `request_id` travels with it so that audit entries and outbox events written inside the
    transaction can name the request that caused them.
    """

    session: AsyncSession

    def __init__(self, database: Database, *, request_id: str | None = None):
        self.database = database
        self.request_id = request_id
        self._committed = False

    async def __aenter__(self) -> UnitOfWork:
        self.session = self.database.sessionmaker()
        if self.database.is_sqlite:
            await self.session.connection(execution_options={"sqlite_immediate": True})
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        try:
            if not self._committed:
                await self.session.rollback()
        finally:
            await self.session.close()

    async def commit(self) -> None:
        await self.session.commit()
        self._committed = True
        self.database.committed(self.session.info)
