"""Count the SQL statements a block of code sends: the query-count helper every domain uses.

    with count_queries(database) as queries:
        await client.post("/graphql", json=...)
    assert queries.count == 3, queries.statements

Transaction control (BEGIN, COMMIT, ROLLBACK, SAVEPOINT) and connection setup (PRAGMA) are
not counted: only statements that read or write data.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

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
