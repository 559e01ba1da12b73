"""The totals of the inventory listings (the gateway's `pagination.total` and X-Total-Count,
GraphQL `inventoryLevels { totalCount }`) are the levels listed: read from
inventory_level_counts when at most a warehouse narrows the list, counted otherwise."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from app.db import Database
from app.models.inventory import InventoryLevel, Warehouse
from tests.api.test_inventory_gateway import INVENTORY, gql, listed, make_warehouse, stocked
from tests.services.test_inventory_level_counts import INFLATE
from tests.support.catalog import make_entity
from tests.support.queries import count_queries

LEVELS = "query($f: InventoryLevelFilter) { inventoryLevels(filter: $f, limit: 2) { totalCount } }"


@pytest.fixture
async def spread(database: Database) -> dict[str, Warehouse]:
    """Seven levels: four in MAIN, three in WEST; TEE-S and CAP-BLUE low."""
    main = await make_warehouse(database, code="MAIN", name="Main")
    west = await make_warehouse(database, code="WEST", name="West")
    await make_entity(database, slug="tee", sizes=("S", "M", "L"))
    await make_entity(database, slug="cap", sizes=("Blue", "Red"))
    for sku, quantity, warehouse, reorder in [
        ("TEE-S", 3, main, 5), ("TEE-M", 50, main, 5), ("CAP-RED", 9, main, 8),
        ("CAP-BLUE", 1, main, None), ("TEE-L", 20, west, None), ("CAP-BLUE", 4, west, 4),
        ("TEE-S", 8, west, None),
    ]:  # fmt: skip
        await stocked(database, sku, quantity, warehouse=warehouse, reorder_point=reorder)
    return {"main": main, "west": west}


async def count_of(database: Database, **where: Any) -> int:
    """count(*) of the levels matching `where` (column: value; `sku_prefix`: a LIKE)."""
    statement = select(func.count()).select_from(InventoryLevel)
    for key, value in where.items():
        if key == "sku_prefix":
            statement = statement.where(InventoryLevel.sku.startswith(value))
        else:
            statement = statement.where(getattr(InventoryLevel, key) == value)
    async with database.read_session() as session:
        return (await session.execute(statement)).scalar_one()


async def total(admin: httpx.AsyncClient, **params: str) -> tuple[int, int]:
    """The gateway's total and how many it listed (all of them: one page of 100)."""
    response = await admin.get(INVENTORY, params={"per_page": "100", **params})
    items = listed(response)
    return response.json()["pagination"]["total"], len(items)


async def test_the_gateway_total_is_a_count_of_what_it_lists(
    admin: httpx.AsyncClient, database: Database, spread: dict[str, Warehouse]
) -> None:
    main, west = spread["main"], spread["west"]
    assert await total(admin) == (7, 7) and await count_of(database) == 7
    assert await total(admin, warehouse_id=str(main.id)) == (4, 4)
    assert await count_of(database, warehouse_id=main.id) == 4
    assert await total(admin, warehouse_id=str(west.id)) == (3, 3)
    # Filters the counters cannot answer count the levels.
    assert await total(admin, sku_prefix="TEE-") == (4, 4)
    assert await count_of(database, sku_prefix="TEE-") == 4
    assert await total(admin, sku_prefix="CAP-", warehouse_id=str(west.id)) == (1, 1)
    assert await total(admin, low_stock="true") == (2, 2)
    assert await total(admin, low_stock="false", warehouse_id=str(main.id)) == (3, 3)
    # Paged: the total is all of them, whichever page.
    response = await admin.get(INVENTORY, params={"per_page": "3", "page": "3"})
    assert len(listed(response)) == 1
    assert response.json()["pagination"] == {"page": 3, "limit": 3, "total": 7, "pages": 3}


async def test_graphql_total_count_is_the_same(
    admin: httpx.AsyncClient, database: Database, spread: dict[str, Warehouse]
) -> None:
    async def count(filter: dict[str, Any]) -> int:
        data = await gql(admin, LEVELS, f=filter)
        return int(data["inventoryLevels"]["totalCount"])

    assert await count({}) == 7
    assert await count({"warehouseId": str(spread["west"].id)}) == 3
    assert await count({"skuPrefix": "CAP"}) == 3


async def test_the_unfiltered_totals_come_from_the_counter_rows(
    admin: httpx.AsyncClient, database: Database, spread: dict[str, Warehouse]
) -> None:
    """Counter rows made wrong on purpose: the totals that read them show it, the counted
    ones do not; the levels listed are the same."""
    async with database.unit_of_work() as uow:
        await uow.session.execute(INFLATE)
        await uow.commit()
    assert await total(admin) == (207, 7)
    assert await total(admin, warehouse_id=str(spread["main"].id)) == (104, 4)
    assert await total(admin, sku_prefix="CAP") == (3, 3)
    data = await gql(admin, LEVELS, f={})
    assert data["inventoryLevels"]["totalCount"] == 207


@pytest.mark.parametrize(
    ("params", "counter"),
    [({}, "FROM inventory_level_counts"), ({"sku_prefix": "TEE"}, "FROM inventory_levels WHERE")],
)
async def test_a_listing_costs_the_same_statements_read_or_counted(
    admin: httpx.AsyncClient,
    database: Database,
    spread: dict[str, Warehouse],
    params: dict[str, str],
    counter: str,
) -> None:
    with count_queries(database) as queries:
        listed(await admin.get(INVENTORY, params=params))
    # Besides the key: the total (from the counters, or the levels alone: no join), the
    # page, the expired holds on the page.
    listing = [s for s in queries.statements if "api_keys" not in s]
    assert len(listing) == 3, queries.statements
    count = " ".join(listing[0].split())
    assert counter in count and "JOIN" not in count, count
