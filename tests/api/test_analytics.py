"""Analytics (`analytics:read`): `GET /api/analytics/meta` and `POST /api/analytics/query`
(engine dialect, seed 003), GraphQL `analyticsMeta` and `analytics(query:)`, checked against
orders placed through the checkout in this module, moved to known dates.

The tests only read, so they share one shop built once per module (nothing else runs
between them: a module's tests run together).
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select, update
from sqlalchemy.exc import DBAPIError
from starlette.applications import Starlette

from app.auth.actor import SYSTEM
from app.db import Database, unavailable
from app.models.inventory import InventoryLevel, Warehouse
from app.models.orders import Order
from app.services import analytics
from app.services.pricing.prices import create_price
from tests.api.test_checkout import cart_with, post_checkout, set_stock
from tests.conftest import client_for, truncate_all
from tests.support.catalog import make_brand, make_category, make_entity
from tests.support.cost import without_cost
from tests.support.factories import customer, make_api_key
from tests.support.pricing import make_group
from tests.support.queries import count_queries

META = "/api/analytics/meta"
QUERY = "/api/analytics/query"
GQL = """query A($query: AnalyticsQueryInput!) {
  analytics(query: $query) { rows limit truncated } }"""

# (when, product, quantity): Monday 2 March 2026 twice, the Sunday closing its week, the next
# Monday, and a Wednesday in April (whose week began on Monday 30 March).
PLACED = [
    (datetime(2026, 3, 2, 10, 0, tzinfo=UTC), "mug", 2),
    (datetime(2026, 3, 2, 23, 30, tzinfo=UTC), "mug", 1),
    (datetime(2026, 3, 8, 12, 0, tzinfo=UTC), "tee", 3),
    (datetime(2026, 3, 9, 0, 0, tzinfo=UTC), "mug", 1),
    (datetime(2026, 4, 1, 8, 15, tzinfo=UTC), "tee", 2),
]
PRICES = {"mug": 1250, "tee": 2000}
BUCKETS = {
    "day": ["2026-03-02", "2026-03-02", "2026-03-08", "2026-03-09", "2026-04-01"],
    "week": ["2026-03-02", "2026-03-02", "2026-03-02", "2026-03-09", "2026-03-30"],
    "month": ["2026-03-01", "2026-03-01", "2026-03-01", "2026-03-01", "2026-04-01"],
}


@dataclass(frozen=True, slots=True)
class Shop:
    app: Starlette
    database: Database
    key: str
    # Each placed order's total, as the checkout answered it.
    totals: list[int]


async def _product(database: Database, slug: str, category: str, brand: str) -> Any:
    made = await make_entity(
        database,
        slug=slug,
        category=await make_category(database, slug=category),
        brand=await make_brand(database, slug=brand),
    )
    async with database.unit_of_work() as uow:
        await create_price(uow, SYSTEM, entity_id=str(made.id), currency="USD", amount=PRICES[slug])
        await uow.commit()
    await set_stock(database, slug, 10)
    return made


@pytest.fixture(scope="module")
async def shop(shared_database: Database, module_app: Starlette) -> Shop:
    database = shared_database
    await truncate_all(database)
    products = {
        "mug": await _product(database, "mug", "kitchen", "acme"),
        "tee": await _product(database, "tee", "apparel", "threads"),
    }
    totals = []
    async with client_for(module_app) as anonymous:
        for when, slug, quantity in PLACED:
            cart = await cart_with(anonymous, (products[slug], quantity))
            response = await post_checkout(anonymous, cart)
            assert response.status_code == 201, response.text
            order = response.json()["data"]
            totals.append(order["total"])
            async with database.unit_of_work() as uow:
                await uow.session.execute(
                    update(Order).where(Order.id == uuid.UUID(order["id"])).values(created_at=when)
                )
                await uow.commit()
    wholesale = await make_group(database, name="Wholesale")
    for groups in ((wholesale,), (wholesale,), ()):
        await customer(database, groups=groups)
    _, key = await make_api_key(database, name="analyst", permissions=["analytics:read"])
    return Shop(module_app, database, key, totals)


@pytest.fixture
async def analyst(shop: Shop) -> AsyncIterator[httpx.AsyncClient]:
    async with client_for(shop.app, headers={"x-api-key": shop.key}) as http:
        yield http


async def query(http: httpx.AsyncClient, body: dict[str, Any]) -> list[dict[str, Any]]:
    response = await http.post(QUERY, json=body)
    assert response.status_code == 200, response.text
    rows: list[dict[str, Any]] = response.json()["data"]
    return rows


def expected_buckets(shop: Shop, granularity: str) -> list[dict[str, Any]]:
    count: dict[str, int] = defaultdict(int)
    revenue: dict[str, int] = defaultdict(int)
    for bucket, total in zip(BUCKETS[granularity], shop.totals, strict=True):
        count[bucket] += 1
        revenue[bucket] += total
    return [
        {
            f"orders.createdAt.{granularity}": f"{bucket}T00:00:00Z",
            "orders.currency": "USD",
            "orders.count": count[bucket],
            "orders.revenue": revenue[bucket],
        }
        for bucket in sorted(count)
    ]


@pytest.mark.parametrize("granularity", ["day", "week", "month"])
async def test_orders_by_granularity_match_the_orders_placed(
    shop: Shop, analyst: httpx.AsyncClient, granularity: str
) -> None:
    body = {
        "measures": ["orders.count", "orders.revenue"],
        "timeDimensions": [{"dimension": "orders.createdAt", "granularity": granularity}],
    }

    rows = await query(analyst, body)

    assert rows == expected_buckets(shop, granularity)


async def test_graphql_answers_the_same_rows(shop: Shop, analyst: httpx.AsyncClient) -> None:
    variables = {
        "query": {
            "measures": ["orders.count", "orders.revenue"],
            "timeDimensions": [{"dimension": "orders.createdAt", "granularity": "week"}],
        }
    }

    response = await analyst.post("/graphql", json={"query": GQL, "variables": variables})

    assert response.status_code == 200, response.text
    answer = without_cost(response.json())["data"]["analytics"]
    assert answer == {"rows": expected_buckets(shop, "week"), "limit": 100, "truncated": False}
    # The flat price of an analytics query, and the one object it answers.
    assert response.json()["extensions"]["cost"]["requestedQueryCost"] == 101


async def test_a_date_range_includes_its_last_day(shop: Shop, analyst: httpx.AsyncClient) -> None:
    body = {
        "measures": ["orders.count", "orders.revenue", "orders.averageOrderValue"],
        "timeDimensions": [
            {"dimension": "orders.createdAt", "dateRange": ["2026-03-02", "2026-03-08"]}
        ],
    }

    rows = await query(analyst, body)

    first_week = shop.totals[:3]
    assert rows == [
        {
            "orders.currency": "USD",
            "orders.count": 3,
            "orders.revenue": sum(first_week),
            "orders.averageOrderValue": round(sum(first_week) / 3),
        }
    ]


async def test_filters_and_order(shop: Shop, analyst: httpx.AsyncClient) -> None:
    body = {
        "measures": ["orders.count"],
        "dimensions": ["orders.currency"],
        "timeDimensions": [{"dimension": "orders.createdAt", "granularity": "day"}],
        "filters": [
            {"member": "orders.currency", "operator": "equals", "values": ["USD", "EUR"]},
            {"member": "orders.createdAt", "operator": "gte", "values": ["2026-03-08"]},
        ],
        "order": {"orders.createdAt": "desc"},
    }

    rows = await query(analyst, body)

    assert [r["orders.createdAt.day"][:10] for r in rows] == [
        "2026-04-01",
        "2026-03-09",
        "2026-03-08",
    ]
    none = {
        **body,
        "filters": [
            {
                "member": "orders.status",
                "operator": "notEquals",
                "values": [
                    r
                    for r in (
                        "pending",
                        "confirmed",
                        "processing",
                        "fulfilled",
                        "cancelled",
                        "refunded",
                        "partially_fulfilled",
                    )
                ],
            }
        ],
    }
    assert await query(analyst, none) == []


@pytest.mark.parametrize(("operator", "placed"), [("lte", 3), ("gt", 2), ("lt", 2), ("gte", 3)])
async def test_a_date_in_a_comparison_means_its_whole_day(
    analyst: httpx.AsyncClient, operator: str, placed: int
) -> None:
    body = {
        "measures": ["orders.count"],
        "filters": [{"member": "orders.createdAt", "operator": operator, "values": ["2026-03-08"]}],
    }

    assert await query(analyst, body) == [{"orders.count": placed}]


async def test_a_query_is_one_statement_in_a_read_only_snapshot(
    shop: Shop, analyst: httpx.AsyncClient
) -> None:
    body = {
        "measures": ["orderLines.unitsSold"],
        "dimensions": ["orderLines.category", "orderLines.brand"],
        "timeDimensions": [{"dimension": "orderLines.createdAt", "granularity": "month"}],
    }

    with count_queries(shop.database) as queries:
        await query(analyst, body)

    # (The key's look-up comes first; the answer is one statement.)
    statements = queries.statements
    reads = queries.matching("FROM order_lines")
    assert len(reads) == 1, statements
    if not shop.database.is_sqlite:
        at = statements.index(reads[0])
        assert statements[at - 2 : at] == [
            "SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY",
            "SET LOCAL statement_timeout = 3000",
        ]


async def test_the_statement_timeout_cancels_a_slow_query(
    shop: Shop, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No member makes a slow query on a handful of rows: one that sleeps stands in for it."""
    if shop.database.is_sqlite:
        pytest.skip("SQLite cannot cancel a statement; the row limit bounds it there")

    def sleeping(query: Any, dialect: str) -> tuple[Any, list[str]]:
        return select(func.pg_sleep(1)), ["slept"]

    monkeypatch.setattr(analytics, "build_select", sleeping)
    with pytest.raises(DBAPIError) as raised:
        await analytics.run_query(shop.database, {"measures": ["orders.count"]}, timeout_ms=50)

    assert unavailable(raised.value) is not None


async def test_order_lines_by_category_and_brand(shop: Shop, analyst: httpx.AsyncClient) -> None:
    units: dict[str, int] = defaultdict(int)
    for _, slug, quantity in PLACED:
        units[slug] += quantity

    by_category = await query(
        analyst,
        {
            "measures": ["orderLines.unitsSold", "orderLines.revenue"],
            "dimensions": ["orderLines.category"],
            "order": {"orderLines.category": "asc"},
        },
    )
    by_brand = await query(
        analyst, {"measures": ["orderLines.unitsSold"], "dimensions": ["orderLines.brand"]}
    )

    assert by_category == [
        {
            "orderLines.category": "apparel",
            "orderLines.currency": "USD",
            "orderLines.unitsSold": units["tee"],
            "orderLines.revenue": units["tee"] * PRICES["tee"],
        },
        {
            "orderLines.category": "kitchen",
            "orderLines.currency": "USD",
            "orderLines.unitsSold": units["mug"],
            "orderLines.revenue": units["mug"] * PRICES["mug"],
        },
    ]
    assert {r["orderLines.brand"]: r["orderLines.unitsSold"] for r in by_brand} == {
        "acme": units["mug"],
        "threads": units["tee"],
    }


async def test_customers_by_group_and_inventory_by_warehouse(
    shop: Shop, analyst: httpx.AsyncClient
) -> None:
    async with shop.database.read_session() as session:
        on_hand = defaultdict(int)
        for code, quantity in await session.execute(
            select(Warehouse.code, InventoryLevel.quantity).join(
                Warehouse, Warehouse.id == InventoryLevel.warehouse_id
            )
        ):
            on_hand[code] += quantity

    customers = await query(
        analyst,
        {
            "measures": ["customers.count"],
            "dimensions": ["customers.group"],
            "order": {"customers.count": "desc"},
        },
    )
    inventory = await query(
        analyst, {"measures": ["inventory.onHand"], "dimensions": ["inventory.warehouse"]}
    )

    assert customers == [
        {"customers.group": "Wholesale", "customers.count": 2},
        {"customers.group": None, "customers.count": 1},
    ]
    assert {r["inventory.warehouse"]: r["inventory.onHand"] for r in inventory} == on_hand


async def test_the_limit_bounds_the_rows_and_says_so(analyst: httpx.AsyncClient) -> None:
    body = {
        "measures": ["orders.count"],
        "timeDimensions": [{"dimension": "orders.createdAt", "granularity": "day"}],
        "limit": 2,
    }

    response = await analyst.post(QUERY, json=body)

    assert response.status_code == 200, response.text
    assert len(response.json()["data"]) == 2
    assert response.json()["meta"] == {"limit": 2, "truncated": True}


async def test_meta_lists_every_model_and_member(analyst: httpx.AsyncClient) -> None:
    response = await analyst.get(META)

    assert response.status_code == 200, response.text
    meta = response.json()["data"]
    names = {
        member["name"]
        for model in meta["models"]
        for member in model["measures"] + model["dimensions"]
    }
    assert {
        "orders.count",
        "orders.revenue",
        "orders.averageOrderValue",
        "orders.status",
        "orders.createdAt",
        "orderLines.unitsSold",
        "orderLines.category",
        "orderLines.brand",
        "orderLines.entity",
        "customers.count",
        "customers.group",
        "inventory.onHand",
        "inventory.warehouse",
    } <= names
    assert meta["granularities"] == ["day", "week", "month"]
    assert meta["maxLimit"] == 1000


BAD = [
    ({"measures": ["orders.secret"]}, "measures.0"),
    ({"measures": ["orders.count; DROP TABLE orders"]}, "measures.0"),
    ({"measures": ["orders.status"]}, "measures.0"),
    ({"measures": ["orders.count", "customers.count"]}, "measures"),
    ({"measures": []}, "measures"),
    (
        {
            "measures": ["orders.count"],
            "timeDimensions": [{"dimension": "orders.createdAt", "granularity": "year"}],
        },
        "timeDimensions.0.granularity",
    ),
    (
        {
            "measures": ["orders.count"],
            "timeDimensions": [{"dimension": "orders.status", "granularity": "day"}],
        },
        "timeDimensions.0.dimension",
    ),
    (
        {
            "measures": ["orders.count"],
            "timeDimensions": [{"dimension": "orders.createdAt", "dateRange": ["2026-13-01", "x"]}],
        },
        "timeDimensions.0.dateRange.0",
    ),
    (
        {
            "measures": ["orders.count"],
            "filters": [{"member": "orders.status", "operator": "like", "values": ["%"]}],
        },
        "filters.0.operator",
    ),
    (
        {
            "measures": ["orders.count"],
            "filters": [{"member": "orders.status", "operator": "gt", "values": ["a"]}],
        },
        "filters.0.operator",
    ),
    (
        {
            "measures": ["orderLines.count"],
            "filters": [{"member": "orderLines.entity", "operator": "equals", "values": ["x"]}],
        },
        "filters.0.values.0",
    ),
    ({"measures": ["orders.count"], "order": {"orders.total": "asc"}}, "order"),
    ({"measures": ["orders.count"], "order": {"orders.count": "sideways"}}, "order"),
    ({"measures": ["orders.count"], "limit": 1001}, "limit"),
    ({"measures": ["orders.count"], "limit": 0}, "limit"),
]


@pytest.mark.parametrize(("body", "field"), BAD)
async def test_bad_queries_are_422_naming_the_fault(
    analyst: httpx.AsyncClient, body: dict[str, Any], field: str
) -> None:
    response = await analyst.post(QUERY, json=body)

    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["code"] == "VALIDATION_FAILED"
    assert field in error["message"]


async def test_graphql_refuses_an_unknown_member_naming_it(analyst: httpx.AsyncClient) -> None:
    variables = {"query": {"measures": ["orders.secret"]}}

    response = await analyst.post("/graphql", json={"query": GQL, "variables": variables})

    error = response.json()["errors"][0]
    assert error["extensions"]["code"] == "VALIDATION_FAILED"
    assert "orders.secret" in error["extensions"]["details"]["measures.0"]
    assert response.json()["data"] is None


async def test_an_unknown_body_field_is_422(analyst: httpx.AsyncClient) -> None:
    response = await analyst.post(QUERY, json={"measures": ["orders.count"], "sql": "SELECT 1"})

    assert response.status_code == 422, response.text
    assert response.json()["error"]["code"] == "VALIDATION_FAILED"


async def test_analytics_needs_analytics_read(shop: Shop) -> None:
    _, other = await make_api_key(shop.database, name="orders only", permissions=["orders:read"])
    body = {"measures": ["orders.count"]}
    async with client_for(shop.app) as anonymous:
        assert (await anonymous.post(QUERY, json=body)).status_code == 401
        assert (await anonymous.get(META)).status_code == 401
    async with client_for(shop.app, headers={"x-api-key": other}) as http:
        refused = await http.post(QUERY, json=body)
        assert refused.status_code == 403
        assert refused.json()["error"]["code"] == "FORBIDDEN"
        assert (await http.get(META)).status_code == 403
