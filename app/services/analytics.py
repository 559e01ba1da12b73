"""Analytics queries (`analytics:read`): the semantic layer's SELECT, run in one snapshot.

PostgreSQL runs it in a REPEATABLE READ READ ONLY transaction under its own statement timeout
(`SET LOCAL`, shorter than the server's); SQLite in one read transaction (WAL: a reader sees
the database as of its first read). Either way every total of an answer comes from the same
committed state, whatever checkouts commit meanwhile, and the row limit bounds its size.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import text

from app.analytics.members import MODELS
from app.analytics.query import (
    DEFAULT_LIMIT,
    GRANULARITIES,
    MAX_LIMIT,
    RANGE_OPERATORS,
    SET_OPERATORS,
    build_select,
    parse_query,
)
from app.db import Database


@dataclass(frozen=True, slots=True)
class AnalyticsResult:
    rows: list[dict[str, Any]]
    limit: int
    # More rows matched than the limit let through.
    truncated: bool


def _bucket(value: Any) -> str:
    """A bucket's start as a UTC instant: PostgreSQL answers a timestamp, SQLite a date."""
    if isinstance(value, str):
        value = date.fromisoformat(value[:10])
    if isinstance(value, datetime):
        value = value.date()
    return f"{value.isoformat()}T00:00:00Z"


async def run_query(database: Database, raw: dict[str, Any], *, timeout_ms: int) -> AnalyticsResult:
    """Answer one query: rows keyed by member (`orders.createdAt.day` for a time bucket)."""
    query = parse_query(raw)
    statement, keys = build_select(query, database.dialect)
    buckets = {td.column for td in query.time_dimensions if td.granularity}
    ids = {key for key, d in query.dimensions if d.type == "id"}
    empty = {key: m.empty for key, m in query.measures}
    async with database.sessionmaker() as session:
        if not database.is_sqlite:
            await session.execute(
                text("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            )
            if timeout_ms:
                await session.execute(text(f"SET LOCAL statement_timeout = {int(timeout_ms)}"))
        found = (await session.execute(statement)).all()
        await session.rollback()
    rows = []
    for record in found[: query.limit]:
        row: dict[str, Any] = {}
        for key, value in zip(keys, record, strict=True):
            if key in buckets:
                value = _bucket(value)
            elif key in ids and value is not None:
                value = str(value)
            elif key in empty and value is None:
                value = empty[key]
            row[key] = value
        rows.append(row)
    return AnalyticsResult(rows, query.limit, len(found) > query.limit)


def meta() -> dict[str, Any]:
    """What may be asked: every model's members with their types, and the query's words."""
    return {
        "models": [
            {
                "name": model.name,
                "title": model.title,
                "measures": [
                    {"name": f"{model.name}.{m.name}", "title": m.title, "type": m.type}
                    for m in model.measures.values()
                ],
                "dimensions": [
                    {"name": f"{model.name}.{d.name}", "title": d.title, "type": d.type}
                    for d in model.dimensions.values()
                ],
            }
            for model in MODELS.values()
        ],
        "granularities": list(GRANULARITIES),
        "operators": [*SET_OPERATORS, *RANGE_OPERATORS],
        "defaultLimit": DEFAULT_LIMIT,
        "maxLimit": MAX_LIMIT,
    }
