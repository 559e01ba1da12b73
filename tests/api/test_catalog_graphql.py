"""The catalog through GraphQL: visibility, look-ahead prefetching, query counts, keyset pages."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy import select

from app.db import Database
from app.models.audit import Event
from app.resolvers.selection import Selected
from tests.support.catalog import make_brand, make_category, make_entity
from tests.support.cost import without_cost
from tests.support.queries import count_queries

STOREFRONT = """query Storefront {
  catalogEntities(filter: {status: ACTIVE}, limit: 100) {
    totalCount
    items {
      id slug type
      attributes(locale: "en") { title description }
      variants { id sku optionValues { value } }
      categories { id name slug }
      brands { id name slug }
    }
  }
}"""


async def gql(client: httpx.AsyncClient, query: str, **variables: Any) -> dict[str, Any]:
    response = await client.post("/graphql", json={"query": query, "variables": variables})
    assert response.status_code == 200, response.text
    return response.json()


async def make_catalog(database: Database, count: int) -> None:
    category = await make_category(database, slug="shirts")
    brand = await make_brand(database, slug="acme")
    for i in range(count):
        await make_entity(
            database, slug=f"shirt-{i:03d}", sizes=("S", "M", "L"), category=category, brand=brand
        )


@pytest.mark.parametrize("count", [5, 50])
async def test_storefront_listing_costs_the_same_statements_for_5_and_50(
    client: httpx.AsyncClient, database: Database, count: int
) -> None:
    await make_catalog(database, count)
    with count_queries(database) as queries:
        body = await gql(client, STOREFRONT)
    result = body["data"]["catalogEntities"]
    assert result["totalCount"] == count and len(result["items"]) == count
    item = result["items"][0]
    assert len(item["variants"]) == 3 and item["variants"][0]["optionValues"][0]["value"]
    assert item["categories"][0]["slug"] == "shirts" and item["brands"][0]["slug"] == "acme"
    assert item["attributes"]["title"]
    # The page with its count (one statement), then one each: attributes, variants with
    # their option values (joined), categories and brands (one UNION ALL).
    assert queries.count == 4, queries.statements


WITH_STOCK_AND_PRICES = """{
  catalogEntities(limit: 100) {
    totalCount
    items {
      slug stock price { amount } p10: price(quantity: 10) { amount }
      variants { sku available price { amount currency } }
      inventory { sku availableQuantity }
    }
  }
}"""


@pytest.mark.parametrize("count", [5, 50])
async def test_listing_with_inventory_and_prices_costs_the_same_for_5_and_50(
    client: httpx.AsyncClient, database: Database, count: int
) -> None:
    await make_catalog(database, count)
    await stock_and_price_everything(database)
    with count_queries(database) as queries:
        body = await gql(client, WITH_STOCK_AND_PRICES)
    items = body["data"]["catalogEntities"]["items"]
    assert len(items) == count
    item = items[0]
    assert item["stock"] == 3 * 7 and [v["available"] for v in item["variants"]] == [7, 7, 7]
    assert item["price"] == {"amount": 1500} and item["p10"] == {"amount": 1200}
    assert item["variants"][0]["price"] == {"amount": 1500, "currency": "USD"}
    # page with its count, variants, inventory levels (expired holds summed in), prices (no
    # modifier may apply, so their statement is not sent)
    assert queries.count == 4, queries.statements


async def stock_and_price_everything(database: Database) -> None:
    """7 units of every SKU in one warehouse; 15.00 USD a unit, 12.00 from 10 units."""
    from app.auth.actor import SYSTEM
    from app.models.catalog import CatalogEntity, Variant
    from app.services.inventory.levels import set_level
    from app.services.inventory.warehouses import create_warehouse
    from app.services.pricing.prices import create_price

    async with database.unit_of_work() as uow:
        await create_warehouse(uow, SYSTEM, code="MAIN", name="Main")
        for sku in (await uow.session.scalars(select(Variant.sku))).all():
            await set_level(uow, SYSTEM, sku=sku, quantity=7)
        for entity_id in (await uow.session.scalars(select(CatalogEntity.id))).all():
            await create_price(uow, SYSTEM, entity_id=str(entity_id), currency="USD", amount=1500)
            await create_price(
                uow, SYSTEM, entity_id=str(entity_id), currency="USD", amount=1200, min_quantity=10
            )
        await uow.commit()


async def test_variant_prices_alone_fall_back_to_the_entity_s_and_each_asks_its_own_quantity(
    client: httpx.AsyncClient, database: Database
) -> None:
    """Only the variants' `price` selected: no entity-level price is resolved for its own
    sake, yet a variant without a price of its own still shows the entity's; an entity's
    `price(quantity: 10)` beside its variants' `price` resolves both quantities."""
    from app.auth.actor import SYSTEM
    from app.models.catalog import Variant
    from app.services.pricing.prices import create_price

    await make_catalog(database, 1)
    async with database.unit_of_work() as uow:
        variants = {v.sku: v for v in (await uow.session.scalars(select(Variant))).all()}
        entity_id = str(variants["SHIRT-000-S"].entity_id)
        for amount, variant, least in ((1500, None, 1), (1200, None, 10), (1400, "SHIRT-000-M", 1)):
            await create_price(
                uow,
                SYSTEM,
                entity_id=entity_id,
                variant_id=str(variants[variant].id) if variant else None,
                currency="USD",
                amount=amount,
                min_quantity=least,
            )
        await uow.commit()
    only_variants = "{ catalogEntities { items { variants { sku price { amount } } } } }"
    [item] = (await gql(client, only_variants))["data"]["catalogEntities"]["items"]
    assert {v["sku"]: v["price"] for v in item["variants"]} == {
        "SHIRT-000-L": {"amount": 1500},
        "SHIRT-000-M": {"amount": 1400},
        "SHIRT-000-S": {"amount": 1500},
    }
    both = (
        "{ catalogEntities { items { bulk: price(quantity: 10) { amount } "
        "variants { sku price { amount } bulk: price(quantity: 10) { amount } } } } }"
    )
    [item] = (await gql(client, both))["data"]["catalogEntities"]["items"]
    assert item["bulk"] == {"amount": 1200}
    assert {v["sku"]: (v["price"], v["bulk"]) for v in item["variants"]} == {
        "SHIRT-000-L": ({"amount": 1500}, {"amount": 1200}),
        # A variant's own prices win over the entity's, tiers or not.
        "SHIRT-000-M": ({"amount": 1400}, {"amount": 1400}),
        "SHIRT-000-S": ({"amount": 1500}, {"amount": 1200}),
    }


async def test_only_selected_relations_are_fetched(
    client: httpx.AsyncClient, database: Database
) -> None:
    await make_catalog(database, 3)
    with count_queries(database) as queries:
        body = await gql(client, "{ catalogEntities { items { slug brands { slug } } } }")
    assert [i["brands"] for i in body["data"]["catalogEntities"]["items"]] == [
        [{"slug": "acme"}]
    ] * 3
    assert queries.count == 2, queries.statements  # page, brands: no totalCount, no count


async def test_fragments_aliases_and_include_directives_are_followed(
    client: httpx.AsyncClient, database: Database
) -> None:
    await make_entity(database, slug="mug", sizes=("S",))
    query = """query($withVariants: Boolean!) {
      catalogEntities {
        items {
          ...Texts
          german: attributes(locale: "de") { locale title }
          variants @include(if: $withVariants) { sku }
          categories @skip(if: true) { slug }
        }
      }
    }
    fragment Texts on CatalogEntity { english: attributes(locale: "en") { title } }"""
    with count_queries(database) as queries:
        body = await gql(client, query, withVariants=True)
    [item] = body["data"]["catalogEntities"]["items"]
    assert item["english"] == {"title": "Mug"}
    assert item["german"] == {"locale": "en", "title": "Mug"}  # falls back to en
    assert item["variants"] == [{"sku": "MUG-S"}]
    assert "categories" not in item
    assert queries.count == 3, queries.statements  # page, attributes, variants


async def test_anonymous_sees_only_active_entities(
    client: httpx.AsyncClient, admin: httpx.AsyncClient, database: Database
) -> None:
    await make_entity(database, slug="live")
    await make_entity(database, slug="draft-one", status="draft")
    listing = "{ catalogEntities { totalCount items { slug } } }"
    anonymous = (await gql(client, listing))["data"]["catalogEntities"]
    staff = (await gql(admin, listing))["data"]["catalogEntities"]
    assert [i["slug"] for i in anonymous["items"]] == ["live"]
    assert sorted(i["slug"] for i in staff["items"]) == ["draft-one", "live"]
    hidden = await gql(client, '{ catalogEntity(idOrSlug: "draft-one") { slug } }')
    assert hidden["errors"][0]["extensions"]["code"] == "NOT_FOUND"
    seen = await gql(admin, '{ catalogEntity(idOrSlug: "draft-one") { slug status } }')
    assert seen["data"]["catalogEntity"] == {"slug": "draft-one", "status": "DRAFT"}


async def test_keyset_pages_match_page_limit_without_gaps_or_repeats_under_inserts(
    client: httpx.AsyncClient, database: Database
) -> None:
    for i in range(7):
        await make_entity(database, slug=f"item-{i}")
    by_page: list[str] = []
    for page in (1, 2, 3):
        body = await gql(
            client,
            "query($p: Int) { catalogEntities(page: $p, limit: 3) { items { slug } } }",
            p=page,
        )
        by_page += [i["slug"] for i in body["data"]["catalogEntities"]["items"]]
    assert len(by_page) == 7 and len(set(by_page)) == 7

    walked: list[str] = []
    after = None
    inserted = 0
    while True:
        body = await gql(
            client,
            """query($after: String) {
              catalogEntities(first: 3, after: $after) {
                items { slug } pageInfo { hasNextPage endCursor }
              }
            }""",
            after=after,
        )
        result = body["data"]["catalogEntities"]
        walked += [i["slug"] for i in result["items"]]
        inserted += 1
        await make_entity(database, slug=f"late-{inserted}")  # newest: sorts before the cursor
        if not result["pageInfo"]["hasNextPage"]:
            break
        after = result["pageInfo"]["endCursor"]
    assert walked == by_page


@pytest.mark.parametrize("sort", ["slug:asc", "slug:desc", "createdAt:asc", "status:asc"])
async def test_keyset_follows_every_sort(
    client: httpx.AsyncClient, database: Database, sort: str
) -> None:
    for i, status in enumerate(["active", "active", "active", "active", "active"]):
        await make_entity(database, slug=f"s-{(i * 3) % 5}", status=status)
    expected = [
        i["slug"]
        for i in (
            await gql(client, f'{{ catalogEntities(sort: "{sort}") {{ items {{ slug }} }} }}')
        )["data"]["catalogEntities"]["items"]
    ]
    walked: list[str] = []
    after = None
    while True:
        body = await gql(
            client,
            """query($sort: String, $after: String) {
              catalogEntities(sort: $sort, first: 2, after: $after) {
                items { slug } pageInfo { hasNextPage endCursor }
              }
            }""",
            sort=sort,
            after=after,
        )
        result = body["data"]["catalogEntities"]
        walked += [i["slug"] for i in result["items"]]
        if not result["pageInfo"]["hasNextPage"]:
            break
        after = result["pageInfo"]["endCursor"]
    assert walked == expected
    if sort.startswith("slug"):
        assert expected == sorted(expected, reverse=sort.endswith("desc"))


async def test_filters_by_category_brand_type_and_status(
    admin: httpx.AsyncClient, database: Database
) -> None:
    shirts = await make_category(database, slug="shirts")
    acme = await make_brand(database, slug="acme")
    await make_entity(database, slug="a", category=shirts)
    await make_entity(database, slug="b", brand=acme, type="service")
    await make_entity(database, slug="c", status="draft")

    async def slugs(filter: dict[str, str]) -> list[str]:
        body = await gql(
            admin,
            'query($f: CatalogEntityFilter) { catalogEntities(filter: $f, sort: "slug:asc") '
            "{ items { slug } } }",
            f=filter,
        )
        return [i["slug"] for i in body["data"]["catalogEntities"]["items"]]

    assert await slugs({"category": str(shirts.id)}) == ["a"]
    assert await slugs({"brand": str(acme.id)}) == ["b"]
    assert await slugs({"type": "SERVICE"}) == ["b"]
    assert await slugs({"status": "DRAFT"}) == ["c"]
    bad = await gql(admin, "{ catalogEntities(filter: {type: SPACESHIP}) { totalCount } }")
    assert bad["errors"][0]["extensions"]["code"] == "VALIDATION_FAILED"
    assert "Value 'SPACESHIP' does not exist in 'EntityType' enum" in bad["errors"][0]["message"]


async def test_category_tree_is_built_in_one_statement(
    client: httpx.AsyncClient, database: Database
) -> None:
    apparel = await make_category(database, slug="apparel")
    await make_category(database, slug="shirts", parent=apparel)
    await make_category(database, slug="home")
    with count_queries(database) as queries:
        body = await gql(client, "{ categoryTree { slug children { slug children { slug } } } }")
    assert body["data"]["categoryTree"] == [
        {"slug": "apparel", "children": [{"slug": "shirts", "children": []}]},
        {"slug": "home", "children": []},
    ]
    assert queries.count == 1


async def test_mutations_emit_catalog_events_in_the_outbox(
    admin: httpx.AsyncClient, database: Database
) -> None:
    created = await gql(
        admin,
        'mutation { createCatalogEntity(input: {type: PRODUCT, slug: "kettle"}) { id } }',
    )
    entity_id = created["data"]["createCatalogEntity"]["id"]
    await gql(
        admin,
        "mutation($id: ID!) { publishCatalogEntity(input: {id: $id}) { status } }",
        id=entity_id,
    )
    deleted = await gql(
        admin,
        "mutation($id: ID!) { deleteCatalogEntity(input: {id: $id}) { slug variants { sku } } }",
        id=entity_id,
    )
    assert deleted["data"]["deleteCatalogEntity"] == {"slug": "kettle", "variants": []}
    async with database.read_session() as session:
        events = (
            await session.scalars(
                select(Event).where(Event.entity_id == entity_id).order_by(Event.id)
            )
        ).all()
    assert [e.type for e in events] == ["catalog.create", "catalog.update", "catalog.delete"]
    assert events[1].data["after"]["status"] == "active"


async def test_catalog_writes_need_catalog_permissions(client: httpx.AsyncClient) -> None:
    body = await gql(
        client, 'mutation { createCatalogEntity(input: {type: PRODUCT, slug: "x"}) { id } }'
    )
    assert body["errors"][0]["extensions"]["code"] == "UNAUTHORIZED"


EDGES = """query Edges($after: String) {
  catalogEntities(first: 2, after: $after, sort: "slug:asc") {
    edges { cursor node { slug variants { sku } brands { slug } } }
    nodes { slug }
    pageInfo { endCursor hasNextPage }
  }
}"""


@pytest.mark.parametrize("count", [5, 50])
async def test_edges_carry_cursors_that_resume_the_list_and_relations_under_node(
    client: httpx.AsyncClient, database: Database, count: int
) -> None:
    """Cursor Connections: `edges { cursor node }` beside `items`/`nodes`, each cursor
    resuming after its item; relations selected under `node` are prefetched like `items`."""
    await make_catalog(database, count)
    with count_queries(database) as queries:
        body = await gql(client, EDGES)
    result = body["data"]["catalogEntities"]
    edges = result["edges"]
    assert [e["node"]["slug"] for e in edges] == ["shirt-000", "shirt-001"]
    assert [n["slug"] for n in result["nodes"]] == ["shirt-000", "shirt-001"]
    assert edges[-1]["cursor"] == result["pageInfo"]["endCursor"]
    assert len(edges[0]["node"]["variants"]) == 3 and edges[0]["node"]["brands"][0]["slug"]
    assert queries.count == 3, queries.statements  # the page, variants, brands
    after_first = await gql(client, EDGES, after=edges[0]["cursor"])
    slugs = [e["node"]["slug"] for e in after_first["data"]["catalogEntities"]["edges"]]
    assert slugs == ["shirt-001", "shirt-002"]


@pytest.mark.parametrize("count", [5, 50])
async def test_relations_the_look_ahead_missed_are_loaded_in_batches_not_failed(
    client: httpx.AsyncClient,
    database: Database,
    count: int,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """DESIGN §8's fallback: when the plan misses (here: it is made to plan nothing), every
    relation is still answered, the same as planned, through DataLoaders that batch all the
    entities of the page, so the statements stay as many for 5 entities as for 50."""
    await make_catalog(database, count)
    planned = await gql(client, STOREFRONT)
    monkeypatch.setattr(Selected, "items", lambda self: Selected([]))
    with count_queries(database) as queries:
        unplanned = await gql(client, STOREFRONT)
    assert without_cost(unplanned) == without_cost(planned)
    # The page with its count, then two batches (one per set of arguments asked: `attributes`
    # with a locale, and the rest), each the entities again and every relation once (media
    # included; categories and brands together, variants with their option values).
    assert queries.count == 17, queries.statements
