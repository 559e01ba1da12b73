"""Catalog search (seed 003, `/api/search` and `/api/search/suggest`; GraphQL `search`,
`suggest`) on both databases: relevance, typo tolerance, facets over the whole result,
paging, prefix suggestions, what anonymous callers see, an index in step with the catalog's
transaction, and query text that must not reach the search engine's syntax."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from app.auth.actor import ANONYMOUS, SYSTEM, Actor
from app.db import Database
from app.models.search import SearchDocument, SearchTitleWord
from app.pagination import PageRequest
from app.search import backend as search_backend
from app.search.backend import SearchResult
from app.services import search as search_service
from app.services.catalog import attributes, entities, taxonomy, variants
from tests.support.queries import count_queries

SEARCH = "/api/search"
SUGGEST = "/api/search/suggest"


@dataclass
class Shop:
    ids: dict[str, str]
    brands: dict[str, str]


async def _entity(
    database: Database,
    slug: str,
    title: str,
    description: str,
    *,
    status: str = "active",
    type: str = "product",
    sku: str | None = None,
    category: str | None = None,
    brand: str | None = None,
) -> str:
    async with database.unit_of_work() as uow:
        entity = await entities.create_entity(uow, SYSTEM, type=type, slug=slug, status=status)
        id = str(entity.id)
        await attributes.set_attributes(
            uow, SYSTEM, entity_id=id, locale="en", title=title, description=description
        )
        if sku:
            await variants.create_variant(uow, SYSTEM, entity_id=id, sku=sku)
        for kind, target in (("category", category), ("brand", brand)):
            if target:
                await taxonomy.link(
                    uow, SYSTEM, entity_id=id, kind=kind, target_id=target, add=True
                )
        await uow.commit()
    return id


@pytest.fixture
async def shop(database: Database) -> Shop:
    async with database.unit_of_work() as uow:
        footwear = await taxonomy.create_category(uow, SYSTEM, name="Footwear", slug="footwear")
        kitchen = await taxonomy.create_category(uow, SYSTEM, name="Kitchen", slug="kitchen")
        acme = await taxonomy.create_brand(uow, SYSTEM, name="Acme", slug="acme")
        zenith = await taxonomy.create_brand(uow, SYSTEM, name="Zenith", slug="zenith")
        await uow.commit()
    cats = {"footwear": str(footwear.id), "kitchen": str(kitchen.id)}
    brands = {"acme": str(acme.id), "zenith": str(zenith.id)}
    ids = {
        "shoe": await _entity(
            database, "trail-shoe", "Trail Running Shoe", "Light and quick on rocks.",
            sku="SHOE-001", category=cats["footwear"], brand=brands["acme"],
        ),
        "sock": await _entity(
            database, "wool-sock", "Wool Sock", "Pairs well with any running shoe.",
            category=cats["footwear"], brand=brands["zenith"],
        ),
        "kettle": await _entity(
            database, "steel-kettle", "Steel Kettle", "Boils water.",
            category=cats["kitchen"], brand=brands["acme"],
        ),
        "guide": await _entity(
            database, "running-guide", "Running Guide", "A book on pacing.",
            type="digitalDownload",
        ),
        "draft": await _entity(
            database, "proto-shoe", "Prototype Running Shoe", "Not out yet.", status="draft",
            category=cats["footwear"],
        ),
    }  # fmt: skip
    return Shop(ids, brands)


def slugs(body: dict[str, Any]) -> list[str]:
    return [hit["slug"] for hit in body["data"]]


async def test_a_title_match_ranks_above_a_description_match(
    client: httpx.AsyncClient, shop: Shop
) -> None:
    response = await client.get(SEARCH, params={"q": "shoe"})
    assert response.status_code == 200
    body = response.json()
    # The draft shoe is not public; the sock mentions a shoe only in its description.
    assert slugs(body) == ["trail-shoe", "wool-sock"]
    assert body["data"][0]["score"] > body["data"][1]["score"]
    assert body["data"][0] == {
        "id": shop.ids["shoe"],
        "type": "product",
        "status": "active",
        "slug": "trail-shoe",
        "title": "Trail Running Shoe",
        "score": body["data"][0]["score"],
    }
    assert body["meta"] == {
        "total": 2, "totalExact": True, "page": 1, "limit": 20, "totalPages": 1, "facets": {},
    }  # fmt: skip


async def test_skus_brands_and_categories_are_searched(
    client: httpx.AsyncClient, shop: Shop
) -> None:
    assert slugs((await client.get(SEARCH, params={"q": "SHOE-001"})).json()) == ["trail-shoe"]
    found = (await client.get(SEARCH, params={"q": "acme"})).json()
    assert sorted(slugs(found)) == ["steel-kettle", "trail-shoe"]
    found = (await client.get(SEARCH, params={"q": "kitchen"})).json()
    assert slugs(found) == ["steel-kettle"]


async def test_a_typo_still_finds(client: httpx.AsyncClient, shop: Shop) -> None:
    body = (await client.get(SEARCH, params={"q": "ketle"})).json()
    assert slugs(body)[0] == "steel-kettle"


async def test_facets_count_the_whole_result_not_the_page(
    client: httpx.AsyncClient, shop: Shop
) -> None:
    params = {"limit": "1", "facets": "type,category,brand,status"}
    body = (await client.get(SEARCH, params=params)).json()
    assert len(body["data"]) == 1
    meta = body["meta"]
    assert (meta["total"], meta["page"], meta["limit"], meta["totalPages"]) == (4, 1, 1, 4)

    def counts(field: str) -> dict[str, int]:
        return {value["value"]: value["count"] for value in meta["facets"][field]}

    assert counts("type") == {"product": 3, "digitalDownload": 1}
    assert counts("category") == {"footwear": 2, "kitchen": 1}
    assert counts("brand") == {"acme": 2, "zenith": 1}
    assert counts("status") == {"active": 4}
    assert {"value": "acme", "label": "Acme", "count": 2} in meta["facets"]["brand"]


async def test_filters_narrow_the_result_and_its_facets(
    client: httpx.AsyncClient, shop: Shop
) -> None:
    params = {"category": "footwear", "brand": shop.brands["acme"], "facets": "brand"}
    body = (await client.get(SEARCH, params=params)).json()
    assert slugs(body) == ["trail-shoe"]
    assert body["meta"]["facets"] == {"brand": [{"value": "acme", "label": "Acme", "count": 1}]}
    body = (await client.get(SEARCH, params={"q": "running", "type": "digitalDownload"})).json()
    assert slugs(body) == ["running-guide"]


async def _search(
    database: Database,
    q: str,
    *,
    actor: Actor = ANONYMOUS,
    facets: tuple[str, ...] = (),
    page: PageRequest | None = None,
    **options: Any,
) -> SearchResult:
    async with database.read_session() as session:
        return await search_service.search(
            session, actor, q=q, type=None, category=None, brand=None, status=None,
            facets=facets, page=page or PageRequest(), **options,
        )  # fmt: skip


async def test_past_the_cap_the_total_is_the_cap_and_pages_end_there(
    database: Database, shop: Shop
) -> None:
    """A search ranks and counts at most `max_results` matches (200 unless told): the
    shop's 4 public entities with a cap of 3 count as 3, not exactly; with a cap of 4,
    exactly 4."""
    capped = await _search(database, "", facets=("type",), max_results=3)
    assert (len(capped.hits), capped.total, capped.total_exact) == (3, 3, False)
    assert sum(value.count for value in capped.facets["type"]) == 3
    second = await _search(database, "", page=PageRequest(offset=2, limit=2), max_results=3)
    assert (len(second.hits), second.total, second.total_exact) == (1, 3, False)
    past = await _search(database, "", page=PageRequest(offset=4, limit=2), max_results=3)
    assert (past.hits, past.total, past.total_exact) == ([], 3, False)
    exact = await _search(database, "", facets=("type",), max_results=4)
    assert (len(exact.hits), exact.total, exact.total_exact) == (4, 4, True)
    assert sum(value.count for value in exact.facets["type"]) == 4
    assert search_service.MAX_RESULTS == 200


async def test_a_typos_near_matches_are_capped_like_any_result(
    database: Database, shop: Shop, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`runing` matches nothing exactly and nearly matches two titles: both, counted exactly;
    with the fuzzy cap at 1, one of them, counted as the cap and not exactly."""
    both = await _search(database, "runing", facets=("type",))
    assert sorted(hit.slug for hit in both.hits) == ["running-guide", "trail-shoe"]
    assert (both.total, both.total_exact) == (2, True)
    monkeypatch.setattr(search_backend, "FUZZY_RESULTS", 1)
    capped = await _search(database, "runing", facets=("type",))
    assert (len(capped.hits), capped.total, capped.total_exact) == (1, 1, False)
    assert sum(value.count for value in capped.facets["type"]) == 1


async def test_a_search_is_one_statement_and_a_typo_one_more(
    database: Database, shop: Shop
) -> None:
    """Page, count and every facet come from one statement; the fuzzy fallback (only when
    nothing matched) adds its own, and on PostgreSQL, the first time, a look-up of where
    pg_trgm lives."""
    everything = ("type", "category", "brand", "status")
    search_backend.TRIGRAM_SCHEMAS.clear()  # as in a process that has not searched yet
    with count_queries(database) as queries:
        found = await _search(database, "shoe", facets=everything)
    assert [hit.slug for hit in found.hits] == ["trail-shoe", "wool-sock"]
    assert queries.count == 1, queries.statements
    with count_queries(database) as queries:
        found = await _search(database, "ketle", facets=everything)
    assert [hit.slug for hit in found.hits][:1] == ["steel-kettle"]
    assert queries.count == (2 if database.is_sqlite else 3), queries.statements
    with count_queries(database) as queries:  # where pg_trgm lives is known by now
        found = await _search(database, "ketle", facets=everything)
    assert [hit.slug for hit in found.hits][:1] == ["steel-kettle"]
    assert queries.count == 2, queries.statements
    with count_queries(database) as queries:
        found = await _search(database, "", facets=everything, page=PageRequest(offset=8))
    assert (found.hits, found.total) == ([], 4)  # past the last page, still counted
    assert queries.count == 1, queries.statements
    with count_queries(database) as queries:
        async with database.read_session() as session:
            suggested = await search_service.suggest(
                session, ANONYMOUS, prefix="run", type=None, limit=None
            )
    assert len(suggested) == 2
    assert queries.count == 1, queries.statements


async def test_pages_hold_disjoint_hits_in_rank_order(
    client: httpx.AsyncClient, shop: Shop
) -> None:
    first = (await client.get(SEARCH, params={"limit": "3"})).json()
    second = (await client.get(SEARCH, params={"limit": "3", "page": "2"})).json()
    assert len(first["data"]) == 3 and len(second["data"]) == 1
    assert not set(slugs(first)) & set(slugs(second))
    assert second["meta"]["page"] == 2 and second["meta"]["total"] == 4
    # Found by the OpenAPI fuzzer: a page far past the end is empty, and still counted.
    far = await client.get(SEARCH, params={"q": "shoe", "page": "1000000000"})
    assert far.status_code == 200, far.text
    assert (far.json()["data"], far.json()["meta"]["total"]) == ([], 2)


async def test_anonymous_callers_find_active_entities_only(
    client: httpx.AsyncClient, admin: httpx.AsyncClient, shop: Shop
) -> None:
    refused = await client.get(SEARCH, params={"status": "draft"})
    assert refused.status_code == 422
    assert refused.json()["error"]["code"] == "VALIDATION_FAILED"
    everything = (await admin.get(SEARCH, params={"q": "shoe"})).json()
    assert set(slugs(everything)) == {"trail-shoe", "proto-shoe", "wool-sock"}
    drafts = (await admin.get(SEARCH, params={"status": "draft"})).json()
    assert slugs(drafts) == ["proto-shoe"]


async def test_suggest_completes_a_prefix_of_public_titles(
    client: httpx.AsyncClient, admin: httpx.AsyncClient, shop: Shop
) -> None:
    response = await client.get(SUGGEST, params={"prefix": "Runn"})
    assert response.status_code == 200
    body = response.json()
    titles = [item["title"] for item in body["data"]]
    assert titles == ["Running Guide", "Trail Running Shoe"]  # starting with it first
    assert set(body["data"][0]) == {"id", "type", "slug", "title"}
    limited = (await admin.get(SUGGEST, params={"prefix": "runn", "limit": "5"})).json()
    assert len(limited["data"]) == 3  # the draft too, for a caller with catalog:read
    typed = await client.get(SUGGEST, params={"prefix": "run", "type": "digitalDownload"})
    assert [item["slug"] for item in typed.json()["data"]] == ["running-guide"]
    missing = await client.get(SUGGEST)
    assert missing.status_code == 422


async def test_a_changed_title_is_found_in_its_own_transaction_and_after_it(
    client: httpx.AsyncClient, database: Database, shop: Shop
) -> None:
    async with database.unit_of_work() as uow:
        await attributes.set_attributes(
            uow, SYSTEM, entity_id=shop.ids["kettle"], locale="en", title="Copper Teapot"
        )
        inside = await search_service.search(
            uow.session, SYSTEM, q="teapot", type=None, category=None, brand=None,
            status=None, facets=(), page=PageRequest(),
        )  # fmt: skip
        assert [hit.slug for hit in inside.hits] == ["steel-kettle"]
        await uow.commit()
    assert slugs((await client.get(SEARCH, params={"q": "teapot"})).json()) == ["steel-kettle"]
    assert (await client.get(SEARCH, params={"q": "steel"})).json()["data"] == []
    # A renamed brand is found under its new name; a deleted entity is gone.
    async with database.unit_of_work() as uow:
        await taxonomy.update_brand(uow, SYSTEM, id=shop.brands["zenith"], name="Northwind")
        await entities.delete_entity(uow, SYSTEM, id=shop.ids["shoe"])
        await uow.commit()
    assert slugs((await client.get(SEARCH, params={"q": "northwind"})).json()) == ["wool-sock"]
    assert slugs((await client.get(SEARCH, params={"q": "SHOE-001"})).json()) == []


async def test_suggestions_follow_a_changed_title_in_its_transaction(
    client: httpx.AsyncClient, database: Database, shop: Shop
) -> None:
    async def suggested(prefix: str) -> list[str]:
        response = await client.get(SUGGEST, params={"prefix": prefix})
        return [item["slug"] for item in response.json()["data"]]

    assert await suggested("stee") == ["steel-kettle"]
    async with database.unit_of_work() as uow:
        await attributes.set_attributes(
            uow, SYSTEM, entity_id=shop.ids["kettle"], locale="en", title="Copper Teapot"
        )
        await entities.update_entity(uow, SYSTEM, id=shop.ids["sock"], status="archived")
        await uow.commit()
    assert await suggested("copp") == ["steel-kettle"]
    assert await suggested("stee") == []
    assert await suggested("wool") == []  # archived: not public any more
    assert await suggested("tea") == ["steel-kettle"]
    assert await suggested("copper tea") == ["steel-kettle"]
    assert await suggested("trail tea") == []
    async with database.unit_of_work() as uow:
        await entities.delete_entity(uow, SYSTEM, id=shop.ids["kettle"])
        await uow.commit()
    assert await suggested("copp") == []
    async with database.read_session() as session:
        words = await session.scalar(select(func.count()).select_from(SearchTitleWord))
        documents = await session.scalar(select(func.count()).select_from(SearchDocument))
    # PostgreSQL keeps each title's distinct words ("Trail Running Shoe", "Wool Sock",
    # "Running Guide", "Prototype Running Shoe"); SQLite's FTS5 table needs none.
    assert (documents, words) == (4, 0 if database.is_sqlite else 3 + 2 + 2 + 3)


HOSTILE = [
    '" OR 1=1 --',
    "'; DROP TABLE search_documents; --",
    'NEAR("a" "b") AND title : x* OR ^y {titles}: -z',
    "a\x00b",
    '"""',
    "*",
    "x" * 400,
    # Found by the OpenAPI fuzzer: FTS5 wants AND spelled out next to a parenthesised group.
    "!\u00c8\x1d\u00c4:%t X\x02=O\u00fd\u00c1>\x0c\u00fcW(\u00e9\u00c5\x0c",
    "a-b c-d -e-f or",
]


async def test_hostile_query_text_is_only_words(client: httpx.AsyncClient, shop: Shop) -> None:
    """SQL, NUL and FTS5 or tsquery syntax are searched as the words they hold (one setup
    for all of them: the shop is what costs)."""
    for q in HOSTILE:
        response = await client.get(SEARCH, params={"q": q, "facets": "type"})
        assert response.status_code == 200, (q, response.text)
        suggested = await client.get(SUGGEST, params={"prefix": q})
        assert suggested.status_code == 200, (q, suggested.text)

    async def search(q: str) -> list[str]:
        return sorted(slugs((await client.get(SEARCH, params={"q": q})).json()))

    # The websearch syntax means the same on both databases.
    assert await search('"trail running" or KETTLE') == ["steel-kettle", "trail-shoe"]
    assert await search("shoe -wool") == ["trail-shoe"]
    assert await search("-wool") == []


async def test_a_query_over_500_characters_is_refused(client: httpx.AsyncClient) -> None:
    response = await client.get(SEARCH, params={"q": "x" * 10_000})
    assert response.status_code == 422
    assert response.json()["error"]["details"] == {"q": "At most 500 characters."}


async def test_graphql_search_and_suggest(client: httpx.AsyncClient, shop: Shop) -> None:
    query = """
    query($q: String, $f: [SearchFacetField!]) {
      search(q: $q, facets: $f, limit: 1) {
        items { slug type status }
        totalCount
        totalCountExact
        pageInfo { page limit totalPages hasNextPage }
        facets { field values { value label count } }
      }
      suggest(prefix: "wool") { slug title type }
    }"""
    response = await client.post(
        "/graphql", json={"query": query, "variables": {"q": "shoe", "f": ["TYPE"]}}
    )
    body = response.json()
    assert "errors" not in body, body
    found = body["data"]["search"]
    assert found["items"] == [{"slug": "trail-shoe", "type": "PRODUCT", "status": "ACTIVE"}]
    assert (found["totalCount"], found["totalCountExact"]) == (2, True)
    assert found["pageInfo"] == {"page": 1, "limit": 1, "totalPages": 2, "hasNextPage": True}
    assert found["facets"] == [
        {"field": "TYPE", "values": [{"value": "product", "label": "product", "count": 2}]}
    ]
    assert body["data"]["suggest"] == [
        {"slug": "wool-sock", "title": "Wool Sock", "type": "PRODUCT"}
    ]
    refused = await client.post(
        "/graphql", json={"query": "{ search(status: DRAFT) { totalCount } }"}
    )
    assert refused.json()["errors"][0]["extensions"]["code"] == "VALIDATION_FAILED"
