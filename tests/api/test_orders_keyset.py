"""The GraphQL orders list reaches deep pages by keyset: a cursor far down the list costs the
statements of the first page, and its page is read with `WHERE id < :cursor` on an index,
never by skipping rows with OFFSET (the issue's page 1000; the latency is bench/'s)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import event, insert

from app.db import Database
from app.ids import uuid7
from app.models.base import utcnow
from app.models.orders import Order

ORDERS = 300
PAGE = 5
DEEP = 30  # the page read through a cursor: the 146th to 150th order, newest first
QUERY = """
query Orders($after: String, $status: OrderStatus) {
  orders(first: 5, after: $after, status: $status) {
    totalCount items { id number } pageInfo { endCursor hasNextPage hasPreviousPage }
  }
}"""


async def seed_orders(database: Database) -> list[str]:
    """ORDERS paid orders, one a minute, every third pending; their ids newest first."""
    start = utcnow() - timedelta(days=1)
    rows: list[dict[str, Any]] = []
    for n in range(ORDERS):
        at = start + timedelta(minutes=n)
        rows.append(
            {
                "id": uuid7(),
                "number": f"ORD-2026-{n + 1:06d}",
                "status": "pending" if n % 3 == 0 else "confirmed",
                "payment_status": "paid",
                "currency": "USD",
                "subtotal": 1000 + n,
                "total": 1000 + n,
                "promotion_codes": [],
                "created_at": at,
                "updated_at": at,
            }
        )
    async with database.engine.begin() as connection:
        await connection.execute(insert(Order), rows)
    return [str(row["id"]) for row in reversed(rows)]


@contextmanager
def statements(database: Database) -> Iterator[list[tuple[str, Any]]]:
    """The data statements a block sends, with their parameters (for EXPLAIN)."""
    sent: list[tuple[str, Any]] = []

    def record(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        if statement.lstrip().upper().startswith(("SELECT", "INSERT", "UPDATE", "DELETE")):
            sent.append((statement, parameters))

    engine = database.engine.sync_engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        yield sent
    finally:
        event.remove(engine, "before_cursor_execute", record)


async def orders(admin: httpx.AsyncClient, **variables: Any) -> dict[str, Any]:
    response = await admin.post("/graphql", json={"query": QUERY, "variables": variables})
    body = response.json()
    assert response.status_code == 200 and "errors" not in body, response.text
    result: dict[str, Any] = body["data"]["orders"]
    return result


def page_statement(sent: list[tuple[str, Any]]) -> tuple[str, Any]:
    [found] = [(sql, params) for sql, params in sent if "LIMIT" in sql.upper()]
    return found


async def deep_cursor(admin: httpx.AsyncClient, status: str | None = None) -> tuple[str, int]:
    """Walk the list page by page to page DEEP: the cursor that opens it, and how many
    orders the pages before it held."""
    after, seen = None, 0
    for _ in range(DEEP - 1):
        page = await orders(admin, after=after, status=status)
        seen += len(page["items"])
        after = page["pageInfo"]["endCursor"]
    assert after is not None
    return after, seen


@pytest.mark.parametrize("status", [None, "CONFIRMED"])
async def test_a_deep_cursor_costs_what_the_first_page_costs_and_uses_no_offset(
    admin: httpx.AsyncClient, database: Database, status: str | None
) -> None:
    ids = await seed_orders(database)
    if status is not None:
        ids = [id for n, id in enumerate(ids) if (ORDERS - 1 - n) % 3 != 0]
    cursor, skipped = await deep_cursor(admin, status)
    assert skipped == (DEEP - 1) * PAGE

    with statements(database) as first_sent:
        first = await orders(admin, status=status)
    with statements(database) as deep_sent:
        deep = await orders(admin, after=cursor, status=status)

    assert [o["id"] for o in first["items"]] == ids[:PAGE]
    assert [o["id"] for o in deep["items"]] == ids[skipped : skipped + PAGE]
    assert deep["totalCount"] == first["totalCount"] == len(ids)
    assert deep["pageInfo"]["hasPreviousPage"] and deep["pageInfo"]["hasNextPage"]
    # The same statements, bar the keyset condition: the key, the count, the page, and the
    # lines, payments and fulfillments of its orders.
    assert len(deep_sent) == len(first_sent) == 6, [sql for sql, _ in deep_sent]
    sql, parameters = page_statement(deep_sent)
    assert "WHERE orders.id < " in sql or "AND orders.id < " in sql, sql
    if database.is_sqlite:  # SQLAlchemy's SQLite dialect writes OFFSET always: here 0
        assert sql.rstrip().endswith("OFFSET ?") and parameters[-1] == 0, (sql, parameters)
    else:
        assert "OFFSET" not in sql.upper(), sql


@pytest.mark.parametrize("status", [None, "CONFIRMED"])
async def test_the_deep_page_is_an_index_range_scan_on_postgresql(
    admin: httpx.AsyncClient, database: Database, status: str | None
) -> None:
    """With sequential scans and sorts priced out, the planner can still answer the deep page
    only if the keyset condition is an index condition: a range scan, backwards for newest
    first, that stops after the page (of the primary key, or of status and id; with a status
    that most orders have, the primary key with the status as a filter is as good)."""
    if database.is_sqlite:
        pytest.skip("EXPLAIN's plan is PostgreSQL's; SQLite runs the same SQL")
    await seed_orders(database)
    cursor, _ = await deep_cursor(admin, status)
    with statements(database) as sent:
        await orders(admin, after=cursor, status=status)
    sql, parameters = page_statement(sent)
    async with database.engine.connect() as connection:  # rolled back when it closes
        await connection.exec_driver_sql("SET LOCAL enable_seqscan = off")
        await connection.exec_driver_sql("SET LOCAL enable_sort = off")
        explained = await connection.exec_driver_sql(f"EXPLAIN {sql}", parameters)
        plan = "\n".join(row[0] for row in explained)
    assert "Index Scan Backward using " in plan, plan
    [condition] = [line for line in plan.splitlines() if "Index Cond:" in line]
    assert "id < '" in condition, plan
    assert "Sort" not in plan and "Offset" not in plan, plan
