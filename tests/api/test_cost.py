"""GraphQL query cost (issue 10): priced before it runs, refused over the limit, and drawn
from a budget per principal that refills; list arguments bounded; websocket messages within
the body limit.

The two amplification requests of the attacker's probe (30 aliases of `inventoryCheck` over
12,000 ids; 30 aliases of a 100-item `catalogEntities` page with relations) are refused before
any SQL statement runs, with their cost reported, while a storefront listing of 20 items with
variants, prices and stock runs.
"""

from __future__ import annotations

import asyncio
import json
import math
import time
import uuid
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest
from graphql import GraphQLList, GraphQLNonNull, GraphQLObjectType, get_named_type, parse
from pydantic import ValidationError
from sqlalchemy import func, select
from starlette.applications import Starlette
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed
from websockets.typing import Subprotocol

from app.auth.actor import SYSTEM
from app.config import Settings
from app.db import Database
from app.models.orders import Order
from app.resolvers.cost import LIST_SIZES, price
from app.resolvers.schema import build_schema
from app.services.inventory import levels as level_service
from app.services.inventory import warehouses as warehouse_service
from tests.conftest import client_for
from tests.support.catalog import make_brand, make_category, make_entity
from tests.support.factories import make_api_key
from tests.support.pricing import make_price, variants_of
from tests.support.queries import count_queries
from tests.support.rate_limit import STORAGES, client_at, redis_url_for, unique_address
from tests.support.server import running_server, serving

GRAPHQL_RESPONSE = {"accept": "application/graphql-response+json"}
MAX_COST = 5000
TIMEOUT = 15.0  # generous: a busy machine starts servers slowly
PROTOCOL = Subprotocol("graphql-transport-ws")


def aliased(count: int, field: str) -> str:
    return " ".join(f"a{i}: {field}" for i in range(count))


INVENTORY_AMPLIFICATION = (
    "query Amplify($ids: [ID!]!) { "
    + aliased(30, "inventoryCheck(entityIds: $ids) { sku availableQuantity warehouses { sku } }")
    + " }"
)
CATALOG_AMPLIFICATION = (
    "{ "
    + aliased(
        30,
        "catalogEntities(limit: 100) { items { slug variants { sku optionValues { value } } "
        "categories { slug } brands { name } inventory { sku quantity } } }",
    )
    + " }"
)
# 20 products, each with its price and stock, its variants with theirs, and what a
# storefront shows beside them.
STOREFRONT = """{
  catalogEntities(limit: 20) {
    totalCount
    items {
      slug name stock price { amount currency formatted }
      variants { sku available price { amount currency } optionValues { optionType value } }
      categories { slug } brands { name }
    }
    pageInfo { endCursor hasNextPage }
  }
}"""
STOREFRONT_COST = 3 + 20 * (1 + 1 + 10 * (1 + 1 + 3) + 3 + 1)
ONE_PAGE = "{ catalogEntities(limit: 100) { items { slug } } }"  # 2 + 100
NINE_PAGES = "{ " + aliased(9, "catalogEntities(limit: 100) { items { slug } }") + " }"  # 918


def cost_of(body: dict[str, Any]) -> dict[str, Any]:
    return body["extensions"]["cost"]


def codes(body: dict[str, Any]) -> list[str]:
    return [error["extensions"]["code"] for error in body.get("errors", [])]


async def post(client: httpx.AsyncClient, query: str, **variables: Any) -> httpx.Response:
    return await client.post(
        "/graphql", json={"query": query, "variables": variables}, headers=GRAPHQL_RESPONSE
    )


# --- the amplification requests -------------------------------------------------------------


async def test_thirty_inventory_checks_over_12000_ids_are_refused_before_any_statement(
    client: httpx.AsyncClient, database: Database
) -> None:
    ids = [str(uuid.uuid4()) for _ in range(12_000)]
    with count_queries(database) as queries:
        started = time.perf_counter()
        response = await post(client, INVENTORY_AMPLIFICATION, ids=ids)
        elapsed = time.perf_counter() - started

    assert response.status_code == 400, response.text
    body = response.json()
    assert "data" not in body
    assert codes(body) == ["VALIDATION_FAILED", "QUERY_TOO_COSTLY"]
    assert body["errors"][0]["extensions"]["details"] == {
        "entityIds": "At most 100 items (12000 given)."
    }
    # Each id an availability (1) with its warehouses (3 levels by estimate), 30 times.
    assert cost_of(body)["requestedQueryCost"] == 30 * 12_000 * (1 + 3)
    assert queries.count == 0, queries.statements
    assert elapsed < 2.0  # loosely (0 statements is the proof): the probe took 31 s


async def test_thirty_catalog_pages_of_100_with_relations_are_refused_before_any_statement(
    client: httpx.AsyncClient, database: Database
) -> None:
    await make_entity(database, slug="tee", sizes=("S", "M"))
    with count_queries(database) as queries:
        started = time.perf_counter()
        response = await post(client, CATALOG_AMPLIFICATION)
        elapsed = time.perf_counter() - started

    assert response.status_code == 400, response.text
    body = response.json()
    assert "data" not in body
    assert codes(body) == ["QUERY_TOO_COSTLY"]
    per_page = 2 + 100 * (1 + 10 * (1 + 3) + 3 + 1 + 10)
    assert cost_of(body)["requestedQueryCost"] == 30 * per_page
    assert body["errors"][0]["extensions"]["details"] == {
        "requestedQueryCost": 30 * per_page,
        "maxCost": MAX_COST,
    }
    assert queries.count == 0, queries.statements
    assert elapsed < 2.0  # loosely (0 statements is the proof): the probe took 3.9 s


async def stocked_catalog(database: Database, count: int) -> None:
    """`count` active products of two sizes, each priced and each variant in stock."""
    async with database.unit_of_work() as uow:
        main = await warehouse_service.create_warehouse(uow, SYSTEM, code="MAIN", name="Main")
        await uow.commit()
    category = await make_category(database, slug="shirts")
    brand = await make_brand(database, slug="acme")
    for i in range(count):
        entity = await make_entity(
            database, slug=f"shirt-{i:02d}", sizes=("S", "M"), category=category, brand=brand
        )
        await make_price(database, entity, amount=1999)
        async with database.unit_of_work() as uow:
            for variant in (await variants_of(database, entity)).values():
                level = await level_service.level_for_entity(
                    uow,
                    entity_id=str(entity.id),
                    variant_id=str(variant.id),
                    warehouse_id=str(main.id),
                )
                await level_service.adjust_level(uow, SYSTEM, level, type="restock", quantity=5)
            await uow.commit()


async def test_a_storefront_listing_of_20_items_with_variants_prices_and_stock_runs(
    app: Starlette, database: Database
) -> None:
    await stocked_catalog(database, 20)
    async with client_at(app) as client:
        response = await post(client, STOREFRONT)

    assert response.status_code == 200, response.text
    body = response.json()
    assert "errors" not in body
    items = body["data"]["catalogEntities"]["items"]
    assert len(items) == 20
    for item in items:
        assert item["price"]["amount"] == 1999 and item["stock"] == 10
        assert [v["available"] for v in item["variants"]] == [5, 5]
        assert all(v["price"]["amount"] == 1999 for v in item["variants"])
    assert cost_of(body) == {
        "requestedQueryCost": STOREFRONT_COST,
        "throttleStatus": {
            "maximumAvailable": 50_000,
            "currentlyAvailable": 50_000 - STOREFRONT_COST,
            "restoreRate": 5000.0,
        },
    }
    assert STOREFRONT_COST < MAX_COST


# --- list arguments --------------------------------------------------------------------------


async def test_a_list_argument_over_100_items_is_a_validation_error_before_any_statement(
    client: httpx.AsyncClient, database: Database
) -> None:
    query = "query($ids: [ID!]!) { inventoryCheck(entityIds: $ids) { sku } }"
    with count_queries(database) as queries:
        refused = await post(client, query, ids=[str(uuid.uuid4()) for _ in range(101)])
    assert queries.count == 0
    allowed = await post(client, query, ids=[str(uuid.uuid4()) for _ in range(100)])

    assert refused.status_code == 400
    assert refused.json()["errors"] == [
        {
            "message": "entityIds: At most 100 items (101 given).",
            "extensions": {
                "code": "VALIDATION_FAILED",
                "details": {"entityIds": "At most 100 items (101 given)."},
            },
        }
    ]
    assert allowed.status_code == 200
    assert allowed.json()["data"] == {"inventoryCheck": []}


async def test_the_same_document_is_priced_by_its_variables(client: httpx.AsyncClient) -> None:
    query = "query($ids: [ID!]!) { inventoryCheck(entityIds: $ids) { sku } }"
    costs = [
        cost_of((await post(client, query, ids=[str(uuid.uuid4())] * n)).json())
        for n in (7, 8, 7, 90)
    ]
    assert [c["requestedQueryCost"] for c in costs] == [7, 8, 7, 90]


async def test_a_list_inside_an_input_is_bounded_with_its_path(admin: httpx.AsyncClient) -> None:
    query = """mutation($input: PlaceOrderInput!) { placeOrder(input: $input) { id } }"""
    items = [{"sku": f"SKU-{i}", "quantity": 1} for i in range(101)]
    body = (await post(admin, query, input={"currency": "USD", "items": items})).json()

    assert codes(body) == ["VALIDATION_FAILED"]
    assert body["errors"][0]["extensions"]["details"] == {
        "input.items": "At most 100 items (101 given)."
    }


async def test_the_engine_inventory_check_over_100_ids_is_422(
    client: httpx.AsyncClient, database: Database
) -> None:
    ids = ",".join(str(uuid.uuid4()) for _ in range(101))
    with count_queries(database) as queries:
        response = await client.get("/api/inventory/check", params={"entityIds": ids})

    assert response.status_code == 422
    assert response.json() == {
        "error": {
            "code": "VALIDATION_FAILED",
            "message": "entityIds: At most 100 items (101 given).",
            "details": {"entityIds": "At most 100 items (101 given)."},
        }
    }
    assert queries.count == 0


async def test_a_gateway_order_of_101_items_is_400_and_changes_nothing(
    admin: httpx.AsyncClient, database: Database
) -> None:
    items = [{"sku": f"SKU-{i}", "quantity": 1} for i in range(101)]
    response = await admin.post("/api/v1/orders", json={"items": items})

    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["code"] == "VALIDATION_ERROR"
    assert error["details"] == {"items": "At most 100 items (101 given)."}
    async with database.read_session() as session:
        assert await session.scalar(select(func.count()).select_from(Order)) == 0


# --- the budget ------------------------------------------------------------------------------


@pytest.fixture(params=STORAGES)
def budgeted(request: pytest.FixtureRequest, make_app: Callable[..., Starlette]) -> Starlette:
    """An app whose principals each have 1000 points, refilled at 50 a second."""
    return make_app(
        graphql_max_cost=1000,
        graphql_cost_budget=1000,
        graphql_cost_restore_rate=50,
        redis_url=redis_url_for(request.param),
    )


async def test_a_spent_budget_is_throttled_with_a_retry_hint_then_refills(
    budgeted: Starlette, database: Database
) -> None:
    async with client_at(budgeted) as client:
        first = await post(client, NINE_PAGES)
        with count_queries(database) as queries:
            second = await post(client, NINE_PAGES)
        left = cost_of(second.json())["throttleStatus"]["currentlyAvailable"]
        # The throttled query took nothing: wait for one page's worth to refill.
        await asyncio.sleep(math.ceil((102 - left) / 50 * 10) / 10 + 0.1)
        third = await post(client, ONE_PAGE)

    assert first.status_code == 200
    assert cost_of(first.json()) == {
        "requestedQueryCost": 918,
        "throttleStatus": {"maximumAvailable": 1000, "currentlyAvailable": 82, "restoreRate": 50},
    }
    assert second.status_code == 429
    body = second.json()
    assert "data" not in body and codes(body) == ["THROTTLED"]
    retry = int(second.headers["retry-after"])
    assert retry == body["errors"][0]["extensions"]["details"]["retryAfter"]
    assert retry >= math.ceil((918 - left - 1) / 50) >= 16
    assert body["errors"][0]["message"].endswith(f"retry in {retry} s.")
    assert cost_of(body)["requestedQueryCost"] == 918 and left < 918
    assert queries.count == 0
    assert third.status_code == 200 and "errors" not in third.json()


async def test_each_credential_has_a_budget_of_its_own(
    budgeted: Starlette, database: Database
) -> None:
    _, key = await make_api_key(database, name="shop", permissions=["catalog:read"])
    address = unique_address()
    async with client_at(budgeted, address) as anonymous:
        await post(anonymous, NINE_PAGES)
        spent = await post(anonymous, NINE_PAGES)
    async with client_at(budgeted, address, headers={"x-api-key": key}) as keyed:
        # The same address, another principal; its header spelled as a bearer token too.
        first = await post(keyed, NINE_PAGES)
    async with client_at(budgeted, address, headers={"authorization": f"bearer  {key}"}) as bearer:
        second = await post(bearer, NINE_PAGES)

    assert codes(spent.json()) == ["THROTTLED"]
    assert first.status_code == 200
    assert cost_of(first.json())["throttleStatus"]["currentlyAvailable"] == 82
    assert codes(second.json()) == ["THROTTLED"]  # the key's bucket, whatever the spelling


async def test_rest_routes_are_not_charged(budgeted: Starlette) -> None:
    async with client_at(budgeted) as client:
        for _ in range(5):
            listed = await client.get("/api/catalog/entities?limit=100&include=variants")
            assert listed.status_code == 200
            assert "extensions" not in listed.json()
        after = await post(client, NINE_PAGES)

    assert cost_of(after.json())["throttleStatus"]["currentlyAvailable"] == 82


async def test_a_budget_smaller_than_the_largest_query_is_refused_at_start_up() -> None:
    with pytest.raises(ValidationError, match="CARTOGRAPH_GRAPHQL_COST_BUDGET"):
        Settings(graphql_max_cost=1000, graphql_cost_budget=999)
    assert Settings(graphql_cost_budget=0).graphql_cost_budget == 0


async def test_no_budget_reports_the_cost_alone(make_app: Callable[..., Starlette]) -> None:
    async with client_for(make_app(graphql_cost_budget=0)) as client:
        for _ in range(3):
            body = (await post(client, NINE_PAGES)).json()
            assert "errors" not in body
            assert cost_of(body) == {"requestedQueryCost": 918}


# --- every response --------------------------------------------------------------------------


async def test_every_response_reports_its_cost(app: Starlette) -> None:
    async with client_at(app) as client:
        ping = (await client.post("/graphql", json={"query": "{ ping }"})).json()
        broken = (await client.post("/graphql", json={"query": "{ ping "})).json()
        unknown = (await client.post("/graphql", json={"query": "{ nope }"})).json()

    full = {"maximumAvailable": 50_000, "currentlyAvailable": 50_000, "restoreRate": 5000.0}
    assert ping == {
        "data": {"ping": "pong"},
        "extensions": {"cost": {"requestedQueryCost": 0, "throttleStatus": full}},
    }
    for body in (broken, unknown):
        assert codes(body) == ["VALIDATION_FAILED"]
        assert cost_of(body) == {"requestedQueryCost": 0, "throttleStatus": full}


# --- websockets ------------------------------------------------------------------------------


def websocket_url(base_url: str) -> str:
    return base_url.replace("http://", "ws://", 1) + "/graphql"


@pytest.fixture
async def server_url(app: Starlette) -> AsyncIterator[str]:
    async with serving(app) as base_url:
        yield websocket_url(base_url)


async def acknowledged(ws: ClientConnection) -> None:
    await ws.send('{"type": "connection_init", "payload": {}}')
    async with asyncio.timeout(TIMEOUT):
        assert await ws.recv() == '{"type":"connection_ack"}'


async def next_message(ws: ClientConnection) -> dict[str, Any]:
    async with asyncio.timeout(TIMEOUT):
        return json.loads(await ws.recv())


async def subscribe(ws: ClientConnection, id: str, query: str) -> None:
    await ws.send(json.dumps({"id": id, "type": "subscribe", "payload": {"query": query}}))


async def test_a_websocket_operation_over_the_cost_limit_is_refused_and_the_socket_stays(
    server_url: str, database: Database
) -> None:
    async with connect(server_url, subprotocols=[PROTOCOL], open_timeout=TIMEOUT) as ws:
        await acknowledged(ws)
        with count_queries(database) as queries:
            await subscribe(ws, "costly", CATALOG_AMPLIFICATION)
            refused = await next_message(ws)
        await subscribe(ws, "cheap", "{ ping }")
        answered = await next_message(ws)

    assert refused["id"] == "costly" and refused["type"] == "error"
    assert [e["extensions"]["code"] for e in refused["payload"]] == ["QUERY_TOO_COSTLY"]
    assert queries.count == 0
    assert answered["type"] == "next"
    assert answered["payload"]["data"] == {"ping": "pong"}
    assert answered["payload"]["extensions"]["cost"]["requestedQueryCost"] == 0


async def test_a_websocket_message_over_the_body_limit_closes_the_socket_with_1009(
    make_app: Callable[..., Starlette],
) -> None:
    # uvicorn in-process keeps its own 16 MiB frame limit: the app's check is what refuses.
    async with serving(make_app(max_body_bytes=4096)) as base_url:
        url = websocket_url(base_url)
        async with connect(url, subprotocols=[PROTOCOL], open_timeout=TIMEOUT) as ws:
            await acknowledged(ws)
            await subscribe(ws, "big", "{ ping }" + " " * 4096)
            with pytest.raises(ConnectionClosed):
                await next_message(ws)
        async with connect(url, subprotocols=[PROTOCOL], open_timeout=TIMEOUT) as fine:
            await acknowledged(fine)
            await subscribe(fine, "small", "{ ping }" + " " * 3900)
            answered = await next_message(fine)

    assert ws.close_code == 1009
    assert ws.close_reason == "A message may hold at most 4096 bytes."
    assert answered["payload"]["data"] == {"ping": "pong"}


def test_cartograph_serve_refuses_websocket_frames_over_the_body_limit(database_url: str) -> None:
    async def send_big(url: str) -> ClientConnection:
        async with connect(url, subprotocols=[PROTOCOL], open_timeout=TIMEOUT) as ws:
            await acknowledged(ws)
            await subscribe(ws, "big", "{ ping }" + " " * 8192)
            with pytest.raises(ConnectionClosed):
                await next_message(ws)
        return ws

    with running_server(database_url, CARTOGRAPH_MAX_BODY_BYTES="4096") as server:
        ws = asyncio.run(send_big(websocket_url(server.base_url)))

    assert ws.close_code == 1009
    # Refused by the server's frame limit, before the app read the message.
    assert ws.close_reason != "A message may hold at most 4096 bytes."


# --- how a query is priced -------------------------------------------------------------------


def priced(query: str, **variables: Any) -> int:
    schema = build_schema()._schema
    result = price(schema, parse(query), None, variables, max_list_length=100)
    assert result is not None
    return result.cost


@pytest.mark.parametrize(
    ("query", "cost"),
    [
        ("{ ping }", 0),
        ('{ catalogEntity(idOrSlug: "x") { slug } }', 1),
        ('{ catalogEntity(idOrSlug: "x") { slug variants { sku } } }', 1 + 10),
        (
            '{ catalogEntity(idOrSlug: "x") { price { amount } '
            "variants { optionValues { value } } } }",
            1 + 1 + 10 * (1 + 3),
        ),
        ("{ catalogEntities { totalCount } }", 2),
        ("{ catalogEntities { items { slug } } }", 2 + 20),
        ("{ catalogEntities(limit: 5) { items { slug } } }", 2 + 5),
        ("{ catalogEntities(first: 5) { nodes { slug } } }", 2 + 5),
        ("{ catalogEntities(limit: 1000) { items { slug } } }", 2 + 100),
        ("{ catalogEntities(limit: 5) { edges { cursor node { slug } } } }", 2 + 5 * (1 + 1)),
        (
            "{ catalogEntities(limit: 5) { items { slug } nodes { slug } "
            "pageInfo { endCursor } } }",
            2 + 5 + 5 + 1,
        ),
        ("{ auditEntries { items { id } } }", 2 + 50),
        ("{ categoryTree { slug children { slug children { slug } } } }", 10 * (1 + 5 * (1 + 5))),
        ('mutation { createBrand(input: {name: "A", slug: "a"}) { id } }', 10 + 1),
        ("{ __schema { types { name fields { name } } } }", 0),
    ],
)
def test_prices(query: str, cost: int) -> None:
    assert priced(query) == cost


def test_fragments_and_directives_are_priced_as_they_run() -> None:
    spread = """query($deep: Boolean!) { catalogEntities(limit: 100) { ...Page } }
      fragment Page on CatalogEntityConnection {
        items { slug variants @include(if: $deep) { sku } } }"""
    inline = """{ catalogEntities(limit: 100) {
      ... on CatalogEntityConnection { items { slug categories @skip(if: true) { slug } } } } }"""

    assert priced(spread, deep=True) == 2 + 100 * (1 + 10)
    assert priced(spread, deep=False) == 2 + 100
    assert priced(inline) == 2 + 100


def test_a_list_sized_by_its_argument_costs_its_length() -> None:
    query = "query($ids: [ID!]!) { inventoryCheck(entityIds: $ids) { sku warehouses { sku } } }"
    assert priced(query, ids=["a"] * 7) == 7 * (1 + 3)


def test_suggestions_cost_the_count_asked_for() -> None:
    """`suggest` is priced at its `limit` (default 10), capped at the 50 it returns at most."""
    query = 'query($n: Int) { suggest(prefix: "a", limit: $n) { slug } }'
    assert priced(query, n=3) == 3
    assert priced(query) == 10
    assert priced('{ suggest(prefix: "a") { slug } }') == 10
    assert priced(query, n=10_000) == 50


def test_fragments_spread_many_times_are_priced_once() -> None:
    # Each level spreads the next twice: 2^20 fields if walked naively.
    levels = 20
    fragments = " ".join(
        f'fragment F{i} on Query {{ a: catalogEntity(idOrSlug: "x") {{ slug }} '
        f"...F{i + 1} ...F{i + 1} }}"
        for i in range(levels)
    )
    query = f"{{ ...F0 }} {fragments} fragment F{levels} on Query {{ ping }}"
    started = time.perf_counter()
    cost = priced(query)
    assert time.perf_counter() - started < 1.0
    assert cost == sum(2**i for i in range(levels))


def test_every_list_without_pages_has_a_size() -> None:
    """A new list field needs a decision in `LIST_SIZES`: its typical size, or the argument
    it answers for."""
    schema = build_schema()._schema
    unsized = []
    for type_ in schema.type_map.values():
        if not isinstance(type_, GraphQLObjectType) or type_.name.startswith("__"):
            continue
        for name, definition in type_.fields.items():
            unwrapped = definition.type
            while isinstance(unwrapped, GraphQLNonNull):
                unwrapped = unwrapped.of_type
            paged = "pageInfo" in getattr(get_named_type(definition.type), "fields", {})
            is_object_list = isinstance(unwrapped, GraphQLList) and isinstance(
                get_named_type(definition.type), GraphQLObjectType
            )
            connection_items = "pageInfo" in type_.fields and name in ("items", "nodes", "edges")
            coordinate = f"{type_.name}.{name}"
            if is_object_list and not (paged or connection_items or coordinate in LIST_SIZES):
                unsized.append(coordinate)
    assert unsized == []
    for coordinate in LIST_SIZES:
        type_name, field_name = coordinate.split(".")
        assert field_name in schema.get_type(type_name).fields, coordinate  # type: ignore[union-attr]
