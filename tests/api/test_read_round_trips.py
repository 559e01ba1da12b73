"""A read costs its statements and nothing more (issue 15 part 2): on PostgreSQL a read session
sends no BEGIN, ROLLBACK or ping, as libpq's own trace of the wire shows; units of work keep
their transactions; a connection that died between requests answers 503 once, and the pool
then serves with fresh connections."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url
from starlette.applications import Starlette

from app.db import Database
from app.main import create_app
from tests.conftest import client_for, settings_for
from tests.support.catalog import make_brand, make_category, make_entity
from tests.support.queries import WireTrace, count_queries, round_trips

STOREFRONT = (
    "query Storefront { catalogEntities(filter: {status: ACTIVE}, limit: 20) { totalCount "
    'items { id slug type attributes(locale: "en") { title description } '
    "variants { id sku optionValues { value } } categories { id name slug } "
    "brands { id name slug } } } }"
)


def require_postgresql(database: Database) -> None:
    if database.is_sqlite:
        pytest.skip("PostgreSQL's wire: SQLite is in-process, its BEGIN is no round trip")


@contextlib.asynccontextmanager
async def app_on(url: str) -> AsyncIterator[tuple[Starlette, Database]]:
    database = Database(url, pool_size=2)
    try:
        yield create_app(settings_for(url), database=database), database
    finally:
        await database.dispose()


async def make_catalog(database: Database) -> None:
    category = await make_category(database, slug="shirts")
    brand = await make_brand(database, slug="acme")
    for i in range(3):
        await make_entity(
            database, slug=f"shirt-{i}", sizes=("S", "M"), category=category, brand=brand
        )


async def storefront(client: httpx.AsyncClient) -> dict[str, Any]:
    response = await client.post("/graphql", json={"query": STOREFRONT})
    assert response.status_code == 200, response.text
    body = response.json()
    assert "errors" not in body, body
    return body["data"]["catalogEntities"]


async def test_a_storefront_read_sends_its_statements_and_nothing_else(
    database: Database, database_url: str, tmp_path: Path
) -> None:
    require_postgresql(database)
    await make_catalog(database)
    async with app_on(database_url) as (app, own), client_for(app) as client:
        trace = WireTrace(own, str(tmp_path))
        await storefront(client)  # connects, and the dialect's first-connect queries
        with trace.window() as sent, count_queries(own) as queries:
            listing = await storefront(client)
    assert listing["totalCount"] == 3 and len(listing["items"]) == 3
    assert [len(item["variants"]) for item in listing["items"]] == [2, 2, 2]
    # One round trip per statement SQLAlchemy executed: the page with its count, then the
    # attributes, variants with their option values (joined), categories and brands (one
    # UNION ALL).
    assert queries.count == 4, queries.statements
    assert round_trips(sent) == 4, sent
    statements = [m.sql for m in sent if m.type in ("Query", "Parse")]
    assert len(statements) == 4, statements
    assert all(s.lstrip().upper().startswith("SELECT ") for s in statements), statements
    assert not [s for s in statements if s.strip().upper() in ("SELECT 1", "BEGIN", "ROLLBACK")]


PRODUCT_AND_SEARCH = """{
  catalogEntity(idOrSlug: "shirt-1") {
    slug variants { sku optionValues { value } } categories { slug } brands { name }
  }
  search(q: "shirt", limit: 2) { totalCount items { id slug type score } }
}"""


async def test_product_by_slug_and_search_send_their_statements_and_nothing_else(
    database: Database, database_url: str, tmp_path: Path
) -> None:
    require_postgresql(database)
    await make_catalog(database)
    async with app_on(database_url) as (app, own), client_for(app) as client:
        trace = WireTrace(own, str(tmp_path))
        await client.post("/graphql", json={"query": PRODUCT_AND_SEARCH})
        with trace.window() as sent, count_queries(own) as queries:
            response = await client.post("/graphql", json={"query": PRODUCT_AND_SEARCH})
    data = response.json()["data"]
    assert data["catalogEntity"]["slug"] == "shirt-1"
    assert data["catalogEntity"]["brands"] == [{"name": "Acme"}]
    assert data["search"]["totalCount"] == 3 and len(data["search"]["items"]) == 2
    assert {item["type"] for item in data["search"]["items"]} == {"PRODUCT"}
    # The product, its variants with their option values (joined), categories and brands
    # (one UNION ALL); search's one.
    assert queries.count == 4, queries.statements
    assert round_trips(sent) == 4, sent


async def test_a_unit_of_work_still_runs_in_one_transaction(
    database: Database, database_url: str, tmp_path: Path
) -> None:
    require_postgresql(database)
    async with app_on(database_url) as (_, own):
        trace = WireTrace(own, str(tmp_path))
        async with own.read_session() as session:  # the pool's first connection, a read's
            await session.execute(text("SELECT 41"))
        with trace.window() as sent:
            async with own.unit_of_work() as uow:
                await uow.session.execute(text("SELECT 42"))
                await uow.commit()
            async with own.unit_of_work() as uow:
                await uow.session.execute(text("SELECT 43"))
        with trace.window() as read:
            async with own.read_session() as session:
                await session.execute(text("SELECT 44"))
    queries = [m.sql.split()[0].upper() for m in sent if m.type == "Query"]
    assert queries == ["BEGIN", "SELECT", "COMMIT", "BEGIN", "SELECT", "ROLLBACK"], sent
    assert [m.sql for m in read] == ["SELECT 44"], read


async def test_a_write_in_a_unit_of_work_is_rolled_back_unless_committed(
    database: Database,
) -> None:
    await make_entity(database, slug="mug")
    async with database.unit_of_work() as uow:
        await uow.session.execute(text("UPDATE catalog_entities SET slug = 'cup'"))
    async with database.read_session() as session:
        assert await session.scalar(text("SELECT slug FROM catalog_entities")) == "mug"


def terminate(database_url: str, application_name: str) -> int:
    """Kill the server processes of the connections named `application_name`, as a server
    restart would; returns how many."""
    dsn = make_url(database_url).set(drivername="postgresql").render_as_string(False)
    with psycopg.connect(dsn, autocommit=True) as admin:
        rows = admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = %s",
            (application_name,),
        ).fetchall()
    return sum(1 for (killed,) in rows if killed)


async def test_connections_killed_between_requests_cost_one_503_then_the_pool_recovers(
    database: Database, database_url: str
) -> None:
    require_postgresql(database)
    await make_catalog(database)
    name = f"cg_kill_{uuid.uuid4().hex[:12]}"
    url = make_url(database_url).update_query_dict({"application_name": name})
    async with app_on(url.render_as_string(False)) as (app, own), client_for(app) as client:
        async with own.read_session() as one, own.read_session() as two:  # two pooled
            await one.execute(text("SELECT 1"))
            await two.execute(text("SELECT 1"))
        assert (await storefront(client))["totalCount"] == 3
        assert terminate(database_url, name) == 2
        # No ping at checkout: the dead connection fails the request, retryably.
        failed = await client.post("/graphql", json={"query": STOREFRONT})
        assert failed.status_code == 503, failed.text
        assert failed.headers["retry-after"] == "5"
        assert failed.json()["errors"][0]["extensions"]["code"] == "SERVICE_UNAVAILABLE"
        # That failure dropped the other dead connection too: requests that need both
        # connections at once are served.
        for listing in await asyncio.gather(storefront(client), storefront(client)):
            assert listing["totalCount"] == 3


async def test_the_count_in_the_page_holds_on_every_page_and_past_the_end(
    client: httpx.AsyncClient, database: Database
) -> None:
    listing = "query($offset: Int, $after: String) { catalogEntities(limit: 2, offset: $offset, after: $after) { totalCount items { slug } pageInfo { endCursor } } }"  # noqa: E501
    with count_queries(database) as queries:
        empty = await client.post("/graphql", json={"query": listing})
    assert empty.json()["data"]["catalogEntities"]["totalCount"] == 0
    assert queries.count == 1, queries.statements  # an empty first page: nothing to count
    await make_catalog(database)
    pages = []
    for offset in (0, 2, 4):
        with count_queries(database) as queries:
            response = await client.post(
                "/graphql", json={"query": listing, "variables": {"offset": offset}}
            )
        pages.append(response.json()["data"]["catalogEntities"])
        # A page with rows carries the count; an empty one past the end counts apart.
        assert queries.count == (1 if offset < 4 else 2), queries.statements
    assert [page["totalCount"] for page in pages] == [3, 3, 3]
    assert [len(page["items"]) for page in pages] == [2, 1, 0]
    cursor = pages[1]["pageInfo"]["endCursor"]
    variables = {"after": cursor}
    response = await client.post("/graphql", json={"query": listing, "variables": variables})
    assert response.json()["data"]["catalogEntities"] == {
        "totalCount": 3, "items": [], "pageInfo": {"endCursor": None}
    }  # fmt: skip


async def test_the_listing_reads_only_the_columns_the_query_selects(
    client: httpx.AsyncClient, database: Database
) -> None:
    await make_catalog(database)
    query = """{ catalogEntities { items { slug
      variants { sku optionValues { value position optionType } }
      categories { slug } brands { name } } } }"""
    with count_queries(database) as queries:
        response = await client.post("/graphql", json={"query": query})
    items = response.json()["data"]["catalogEntities"]["items"]
    # The option values are joined to the variants, one statement for both.
    [variants] = queries.matching("FROM variants")
    values = variants
    [categories] = queries.matching("FROM entity_categories")
    [brands] = queries.matching("FROM entity_brands")
    assert "variants.sku" in variants and "variants.metadata" not in variants
    assert "variants.created_at" not in variants and "variants.option_key" not in variants
    assert "option_values.value AS" in values and "option_values.id AS" not in values
    assert "categories.slug" in categories and "categories.description" not in categories
    assert "brands.name" in brands and "brands.slug" not in brands
    # Answered from those rows as they are: an option value's position is its place among
    # its option type's values.
    chosen = sorted(list(v["optionValues"][0].items()) for v in items[0]["variants"])
    assert chosen == sorted(
        [
            [("value", "S"), ("position", 0), ("optionType", "Size")],
            [("value", "M"), ("position", 1), ("optionType", "Size")],
        ]
    )
    assert items[0]["categories"] == [{"slug": "shirts"}]
    assert items[0]["brands"] == [{"name": "Acme"}]
