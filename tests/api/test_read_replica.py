"""Read-replica routing (DATABASE_REPLICA_URL): the reads that tolerate lag go to the replica,
everything else to the primary.

On PostgreSQL a second schema of the test database, migrated like the first, stands in for
the replica: it is another URL, another engine and another pool, and it holds other rows than
the primary, so each answer shows which engine gave it. (Replication itself is PostgreSQL's
business, not ours.) On SQLite there is no replica: everything reads the one file.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator
from types import SimpleNamespace
from typing import Any

import httpx
import psycopg
import pytest
from graphql import OperationType
from pydantic import ValidationError
from starlette.applications import Starlette

from app.auth.actor import ANONYMOUS, SYSTEM, Actor
from app.cli import worker_database
from app.config import Settings
from app.db import Database
from app.main import create_app
from app.migrations import upgrade
from app.resolvers.context import Context
from app.services.customers import create_customer
from tests.api.test_checkout import product
from tests.conftest import (
    _admin_dsn,
    _postgres_url,
    _schema_name,
    client_for,
    settings_for,
    truncate_all,
)
from tests.support.factories import make_api_key

CATALOG = """{
  catalogEntities { items { slug } }
  catalogEntity(idOrSlug: "replica-mug") { slug }
  search(q: "mug") { items { slug } }
  suggest(prefix: "repl") { slug }
}"""
CUSTOMERS = '{ analytics(query: {measures: ["customers.count"]}) { rows } }'


@pytest.fixture(scope="module")
def replica_url(database_url: str) -> Iterator[str | None]:
    """A migrated schema of its own standing in for the replica (None on SQLite)."""
    if not database_url.startswith("postgresql"):
        yield None
        return
    schema = _schema_name(os.environ.get("PYTEST_XDIST_WORKER", "main")) + "_replica"
    url = _postgres_url(schema)
    upgrade(url)
    yield url
    with psycopg.connect(_admin_dsn(), autocommit=True) as connection:
        connection.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


@pytest.fixture(scope="module")
async def replicated(database_url: str, replica_url: str | None) -> AsyncIterator[Database]:
    """The test database with the replica beside it, as the app's `Database`."""
    replicated = Database(database_url, pool_size=2, replica_url=replica_url)
    yield replicated
    await replicated.dispose()


@pytest.fixture(scope="module")
def replicated_app(replicated: Database) -> Starlette:
    replica = replicated.replica.url if replicated.replica else None
    return create_app(
        settings_for(replicated.url, database_replica_url=replica), database=replicated
    )


@pytest.fixture
async def routed(database: Database, replicated: Database) -> Database:
    """`replicated`, with both databases emptied for this test."""
    if replicated.replica is not None:
        await truncate_all(replicated.replica)
    return replicated


@pytest.fixture
def replica(routed: Database) -> Database:
    if routed.replica is None:
        pytest.skip("SQLite has no replica (the run without one covers it)")
    return routed.replica


@pytest.fixture
def routed_app(routed: Database, replicated_app: Starlette) -> Starlette:
    return replicated_app


async def query(http: httpx.AsyncClient, document: str) -> dict[str, Any]:
    answer = await http.post("/graphql", json={"query": document})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert "errors" not in body, body
    data: dict[str, Any] = body["data"]
    return data


def slugs(data: dict[str, Any]) -> dict[str, Any]:
    return {
        "catalogEntities": [i["slug"] for i in data["catalogEntities"]["items"]],
        "catalogEntity": data["catalogEntity"]["slug"],
        "search": [i["slug"] for i in data["search"]["items"]],
        "suggest": [s["slug"] for s in data["suggest"]],
    }


async def test_anonymous_catalog_search_and_suggest_read_the_replica(
    routed_app: Starlette, database: Database, replica: Database
) -> None:
    await product(database, "primary-mug")
    await product(replica, "replica-mug")

    async with client_for(routed_app) as anonymous:
        data = await query(anonymous, CATALOG)
        listed = await anonymous.get("/api/catalog/entities")

    assert slugs(data) == {
        "catalogEntities": ["replica-mug"],
        "catalogEntity": "replica-mug",
        "search": ["replica-mug"],
        "suggest": ["replica-mug"],
    }
    assert [e["slug"] for e in listed.json()["data"]] == ["replica-mug"], listed.text


async def test_a_signed_in_caller_reads_the_catalog_from_the_primary(
    routed_app: Starlette, database: Database, replica: Database
) -> None:
    await product(database, "primary-mug")
    await product(replica, "replica-mug")
    _, key = await make_api_key(database, permissions=["catalog:read"])

    async with client_for(routed_app, headers={"x-api-key": key}) as signed_in:
        data = await query(signed_in, "{ catalogEntities { items { slug } } }")

    assert [i["slug"] for i in data["catalogEntities"]["items"]] == ["primary-mug"]


async def test_an_anonymous_cart_is_written_and_read_on_the_primary(
    routed_app: Starlette, database: Database, replica: Database
) -> None:
    mug = await product(database, "primary-mug")

    async with client_for(routed_app) as anonymous:
        created = await query(anonymous, 'mutation { createCart(input: {currency: "USD"}) { id } }')
        cart = created["createCart"]["id"]
        added = await query(
            anonymous,
            f'mutation {{ addCartItem(input: {{cartId: "{cart}", entityId: "{mug.id}", '
            "quantity: 2}) { itemCount } }",
        )
        # The replica has no carts at all: only the primary can answer this.
        read = await query(anonymous, f'{{ cart(id: "{cart}") {{ id itemCount }} }}')

    assert added["addCartItem"]["itemCount"] == 2
    assert read["cart"] == {"id": cart, "itemCount": 2}


async def test_analytics_reports_read_the_replica(
    routed_app: Starlette, database: Database, replica: Database
) -> None:
    for where, count in ((database, 1), (replica, 3)):
        async with where.unit_of_work() as uow:
            for n in range(count):
                await create_customer(uow, SYSTEM, email=f"c{n}@example.com")
            await uow.commit()
    _, key = await make_api_key(database, permissions=["analytics:read"])

    async with client_for(routed_app, headers={"x-api-key": key}) as analyst:
        data = await query(analyst, CUSTOMERS)

    assert data["analytics"]["rows"] == [{"customers.count": 3}]


KEY = Actor(kind="api_key", id="k", permissions=frozenset({"*:*"}))


@pytest.mark.parametrize(
    ("actor", "operation", "on_replica"),
    [
        (ANONYMOUS, OperationType.QUERY, True),
        (ANONYMOUS, OperationType.MUTATION, False),
        (ANONYMOUS, OperationType.SUBSCRIPTION, False),
        (KEY, OperationType.QUERY, False),
    ],
)
async def test_only_an_anonymous_query_may_read_the_replica(
    routed: Database, replica: Database, actor: Actor, operation: OperationType, on_replica: bool
) -> None:
    context = Context(database=routed, actor=actor)
    info: Any = SimpleNamespace(operation=SimpleNamespace(operation=operation))

    async with context.read_may_lag(info) as session:
        bound = session.bind

    # Reads run on an autocommit view of an engine: the same pool, another object.
    assert bound.pool is (replica.engine if on_replica else routed.engine).pool


async def test_without_a_replica_every_read_uses_the_one_database(
    app: Starlette, database: Database
) -> None:
    await product(database, "replica-mug")
    assert database.replica is None

    async with database.replica_session() as session:
        assert session.bind.pool is database.engine.pool
    async with client_for(app) as anonymous:
        data = await query(anonymous, CATALOG)

    assert slugs(data)["catalogEntities"] == ["replica-mug"]
    assert slugs(data)["suggest"] == ["replica-mug"]


def test_the_replica_url_is_read_from_either_name_and_needs_postgresql(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    primary = "postgresql+psycopg://db/shop"
    monkeypatch.setenv("DATABASE_URL", primary)
    monkeypatch.setenv("DATABASE_REPLICA_URL", "postgresql+psycopg://replica/shop")
    assert Settings().database_replica_url == "postgresql+psycopg://replica/shop"
    monkeypatch.delenv("DATABASE_REPLICA_URL")
    monkeypatch.setenv("CARTOGRAPH_DATABASE_REPLICA_URL", "postgresql+psycopg://r2/shop")
    assert Settings().database_replica_url == "postgresql+psycopg://r2/shop"

    with pytest.raises(ValidationError, match="needs PostgreSQL"):
        Settings(database_url="sqlite+aiosqlite:///x.db", database_replica_url=primary)
    with pytest.raises(ValidationError, match="needs PostgreSQL"):
        Settings(database_url=primary, database_replica_url="sqlite:///x.db")


def test_a_worker_reads_and_writes_the_primary_alone() -> None:
    settings = Settings(
        database_url="postgresql+psycopg://db/shop",
        database_replica_url="postgresql+psycopg://replica/shop",
    )
    database = worker_database(settings)

    assert database.replica is None
    assert database.engine.url.host == "db"
