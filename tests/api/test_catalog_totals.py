"""The totals of the catalog listings (GraphQL `totalCount`, the REST dialects' `total`) are
what the caller may see, counted: read from catalog_entity_counts when no category, brand or
vendor narrows the list and the caller is no vendor's user, counted row by row otherwise."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import httpx
import pytest
from sqlalchemy import exists, func, or_, select, text, update

from app.db import Database
from app.models.catalog import CatalogEntity, entity_categories
from tests.support.catalog import make_category, make_entity
from tests.support.marketplace import MadeVendor, make_vendor

LISTING = """query($f: CatalogEntityFilter) {
  catalogEntities(filter: $f, limit: 2) { totalCount items { slug } } }"""
WORDS = {"ACTIVE": "active", "DRAFT": "draft", "PRODUCT": "product", "SERVICE": "service"}


@dataclass(frozen=True)
class Shop:
    category: str
    vendor: MadeVendor


async def make_shop(database: Database) -> Shop:
    """Entities of every visibility: active, draft, archived; products and services; some
    in a category; a vendor's draft its user sees and anonymous callers do not."""
    mugs = await make_category(database, slug="mugs")
    made = [
        ("mug", "active", "product", True),
        ("cup", "active", "product", False),
        ("fitting", "active", "service", True),
        ("jug", "draft", "product", True),
        ("repair", "draft", "service", False),
        ("vase", "archived", "product", False),
    ]
    for slug, status, type, in_category in made:
        await make_entity(
            database, slug=slug, status=status, type=type, category=mugs if in_category else None
        )
    vendor = await make_vendor(database, "acme")
    own = await make_entity(database, slug="acme-pot", status="draft", category=mugs)
    async with database.unit_of_work() as uow:
        await uow.session.execute(
            update(CatalogEntity)
            .where(CatalogEntity.id == own.id)
            .values(vendor_id=uuid.UUID(vendor.id))
        )
        await uow.commit()
    return Shop(category=str(mugs.id), vendor=vendor)


async def visible_count(
    database: Database, filter: dict[str, str], *, everything: bool, vendor: str | None = None
) -> int:
    """count(*) of the entities the caller may see that match `filter`."""
    statement = select(func.count()).select_from(CatalogEntity)
    if not everything:
        visible = CatalogEntity.status == "active"
        if vendor is not None:
            visible = or_(visible, CatalogEntity.vendor_id == uuid.UUID(vendor))
        statement = statement.where(visible)
    if "status" in filter:
        statement = statement.where(CatalogEntity.status == WORDS[filter["status"]])
    if "type" in filter:
        statement = statement.where(CatalogEntity.type == WORDS[filter["type"]])
    if "category" in filter:
        statement = statement.where(
            exists().where(
                entity_categories.c.entity_id == CatalogEntity.id,
                entity_categories.c.category_id == uuid.UUID(filter["category"]),
            )
        )
    async with database.read_session() as session:
        return (await session.execute(statement)).scalar_one()


async def total(client: httpx.AsyncClient, filter: dict[str, str], **headers: str) -> int:
    response = await client.post(
        "/graphql", json={"query": LISTING, "variables": {"f": filter}}, headers=headers
    )
    body = response.json()
    assert response.status_code == 200 and "errors" not in body, response.text
    return int(body["data"]["catalogEntities"]["totalCount"])


def filters(shop: Shop) -> list[dict[str, str]]:
    return [
        {},
        {"status": "ACTIVE"},
        {"status": "DRAFT"},
        {"type": "PRODUCT"},
        {"type": "SERVICE", "status": "ACTIVE"},
        {"category": shop.category},
        {"category": shop.category, "status": "DRAFT"},
    ]


async def test_total_count_is_what_anonymous_and_staff_may_see(
    client: httpx.AsyncClient, admin: httpx.AsyncClient, database: Database
) -> None:
    shop = await make_shop(database)
    for filter in filters(shop):
        anonymous = await visible_count(database, filter, everything=False)
        staff = await visible_count(database, filter, everything=True)
        assert (await total(client, filter), await total(admin, filter)) == (anonymous, staff)
    # The numbers themselves, so that the truth above is no copy of the code under test.
    assert await total(client, {}) == 3 and await total(admin, {}) == 7
    assert await total(client, {"status": "DRAFT"}) == 0
    assert await total(admin, {"status": "DRAFT", "type": "PRODUCT"}) == 2


async def test_total_count_of_a_vendors_user_counts_its_own_in_every_status(
    client: httpx.AsyncClient, database: Database
) -> None:
    shop = await make_shop(database)
    for filter in filters(shop):
        expected = await visible_count(database, filter, everything=False, vendor=shop.vendor.id)
        assert await total(client, filter, **shop.vendor.cookie) == expected, filter
    assert await total(client, {}, **shop.vendor.cookie) == 4


async def test_unnarrowed_totals_are_read_from_the_counts_and_narrowed_ones_counted(
    client: httpx.AsyncClient, admin: httpx.AsyncClient, database: Database
) -> None:
    """Skewing the counts shows which totals they answer: the ones with no category, brand
    or vendor filter, for callers who are no vendor's user."""
    shop = await make_shop(database)
    async with database.unit_of_work() as uow:
        await uow.session.execute(
            text("UPDATE catalog_entity_counts SET entities = entities + 100")
        )
        await uow.commit()
    assert await total(client, {}) == 3 + 2 * 100  # (active, product), (active, service)
    assert await total(admin, {"type": "SERVICE"}) == 2 + 2 * 100  # active and draft rows
    assert await total(client, {"category": shop.category}) == 2
    assert await total(client, {}, **shop.vendor.cookie) == 4


@pytest.mark.parametrize("status", [None, "active", "draft"])
async def test_the_rest_listings_total_what_the_caller_may_see(
    client: httpx.AsyncClient, admin: httpx.AsyncClient, database: Database, status: str | None
) -> None:
    shop = await make_shop(database)
    filter = {"status": status.upper()} if status else {}
    query = {"status": status, "limit": "2"} if status else {"limit": "2"}
    for caller, everything in ((client, False), (admin, True)):
        expected = await visible_count(database, filter, everything=everything)
        engine = await caller.get("/api/catalog/entities", params=query)
        assert engine.status_code == 200, engine.text
        assert engine.json()["meta"]["pagination"]["total"] == expected
    category = await client.get("/api/catalog/entities", params={"category": shop.category})
    assert category.json()["meta"]["pagination"]["total"] == 2
    for caller, everything in ((client, False), (admin, True)):
        gateway = await caller.get("/api/v1/products", params={"limit": "2"})
        assert gateway.status_code == 200, gateway.text
        expected = await visible_count(database, {}, everything=everything)
        assert gateway.json()["pagination"]["total"] == expected
        assert gateway.headers["x-total-count"] == str(expected)
