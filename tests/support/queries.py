"""Count the SQL statements a block of code sends: the query-count helper every domain uses.

    with count_queries(database) as queries:
        await client.post("/graphql", json=...)
    assert queries.count == 3, queries.statements

Transaction control (BEGIN, COMMIT, ROLLBACK, SAVEPOINT) and connection setup (PRAGMA) are
not counted: only statements that read or write data.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from psycopg import pq
from sqlalchemy import event

from app.db import Database

IGNORED_PREFIXES = ("BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE", "PRAGMA", "SELECT 1")


@dataclass
class QueryCounter:
    statements: list[str] = field(default_factory=list)

    @property
    def count(self) -> int:
        return len(self.statements)

    def matching(self, fragment: str) -> list[str]:
        return [s for s in self.statements if fragment.lower() in s.lower()]


@contextlib.contextmanager
def count_queries(database: Database) -> Iterator[QueryCounter]:
    counter = QueryCounter()

    def before_cursor_execute(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if not statement.lstrip().upper().startswith(IGNORED_PREFIXES):
            counter.statements.append(statement)

    engine = database.engine.sync_engine
    event.listen(engine, "before_cursor_execute", before_cursor_execute)
    try:
        yield counter
    finally:
        event.remove(engine, "before_cursor_execute", before_cursor_execute)


@dataclass(frozen=True)
class Sent:
    """One protocol message the client sent PostgreSQL: its type (Query, Parse, Sync, ...)
    and, for Query and Parse, the SQL."""

    type: str
    sql: str = ""


class WireTrace:
    """What a Database's connections send PostgreSQL, from libpq's own trace of each one
    (psycopg's `PGconn.trace`): proof from the wire, where `count_queries` sees only what
    SQLAlchemy executes. A BEGIN, a ROLLBACK or a pool's ping would show here.

        trace = WireTrace(database)  # before the database makes its first connection
        with trace.window() as sent:
            await client.post("/graphql", json=...)
        assert round_trips(sent) == 6

    Every connection traces from birth into a file of its own; a window flushes each trace
    (untrace) at its start and end and reads what came between.
    """

    def __init__(self, database: Database, directory: str) -> None:
        self.directory = directory
        self.connections: list[tuple[Any, Any]] = []  # (psycopg PGconn, file)
        event.listen(database.engine.sync_engine.pool, "connect", self._connected)

    def _connected(self, dbapi_connection: Any, _record: Any) -> None:
        pgconn = dbapi_connection.driver_connection.pgconn
        file = open(f"{self.directory}/{len(self.connections)}.trace", "w+b")  # noqa: SIM115
        self.connections.append((pgconn, file))
        self._trace(pgconn, file)

    @staticmethod
    def _trace(pgconn: Any, file: Any) -> None:
        if pgconn.status == pq.ConnStatus.OK:  # a closed one traces nothing more
            pgconn.trace(file.fileno())
            pgconn.set_trace_flags(pq.Trace.SUPPRESS_TIMESTAMPS | pq.Trace.REGRESS_MODE)

    def _flush(self) -> dict[int, int]:
        """Flush every trace (libpq buffers it) and return each file's size."""
        sizes = {}
        for index, (pgconn, file) in enumerate(self.connections):
            if pgconn.status == pq.ConnStatus.OK:
                pgconn.untrace()
            sizes[index] = file.seek(0, 2)
            self._trace(pgconn, file)
        return sizes

    @contextlib.contextmanager
    def window(self) -> Iterator[list[Sent]]:
        sent: list[Sent] = []
        start = self._flush()
        yield sent
        end = self._flush()
        for index, (_, file) in enumerate(self.connections):
            file.seek(start.get(index, 0))
            text = file.read(end[index] - start.get(index, 0)).decode()
            for line in text.splitlines():
                parts = line.split("\t")
                if parts[0] != "F":
                    continue
                sent.append(Sent(parts[2], _sql(parts[2], "\t".join(parts[3:]))))


def _sql(kind: str, shown: str) -> str:
    """The SQL of a traced Query (`"<sql>"`) or Parse (`"<name>" "<sql>" <n> ...`): its
    first line, as libpq prints a statement's line breaks as they are."""
    shown = shown.strip()
    if kind == "Parse" and shown.startswith('"'):
        shown = shown[shown.index('"', 1) + 1 :].strip()
    elif kind != "Query":
        return ""
    return re.sub(r'"( \d+.*)?$', "", shown.removeprefix('"'))


def round_trips(sent: list[Sent]) -> int:
    """Each Query (simple protocol) or Sync (the end of an extended-protocol statement) waits
    for the server's answer: one round trip each."""
    return sum(1 for message in sent if message.type in ("Query", "Sync"))
