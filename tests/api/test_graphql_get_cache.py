"""What HTTP caches may keep of GraphQL answers: anonymous catalog reads over GET are public
(`Cache-Control: public, max-age=N`, `Vary`, `ETag`, 304), everything else is `no-store`."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable

import httpx
import pytest
from starlette.applications import Starlette
from starlette.datastructures import Headers

from app.db import Database
from app.resolvers.http_cache import anonymous, public_operation
from tests.conftest import client_for
from tests.support.catalog import make_brand, make_entity

# Nothing here differs by database (documents are kept in memory or Redis, headers are HTTP's):
# one backend, PostgreSQL when it is there.
pytestmark = pytest.mark.one_backend

PUBLIC = "public, max-age=60"
VARY = "Accept, Authorization, X-Api-Key, Cookie"
LISTING = "{ catalogEntities(limit: 5) { totalCount items { slug name } } }"


@pytest.fixture
async def catalog(database: Database) -> None:
    await make_entity(database, slug="blue-widget")
    await make_brand(database, slug="acme")


async def test_an_anonymous_catalog_read_over_get_is_public(
    client: httpx.AsyncClient, catalog: None
) -> None:
    response = await client.get("/graphql", params={"query": LISTING})

    assert response.status_code == 200
    assert response.json()["data"]["catalogEntities"]["items"][0]["slug"] == "blue-widget"
    assert response.headers["cache-control"] == PUBLIC
    assert response.headers["vary"] == VARY
    etag = response.headers["etag"]
    assert etag == '"' + hashlib.blake2b(response.content, digest_size=16).hexdigest() + '"'
    # One client's budget is not a shared cache's to hand on; the requested cost stays.
    assert response.json()["extensions"]["cost"] == {"requestedQueryCost": 7}


async def test_the_same_answer_keeps_its_etag_and_a_matching_if_none_match_is_304(
    client: httpx.AsyncClient, catalog: None
) -> None:
    first = await client.get("/graphql", params={"query": LISTING})
    etag = first.headers["etag"]

    second = await client.get("/graphql", params={"query": LISTING})
    held = await client.get(
        "/graphql", params={"query": LISTING}, headers={"if-none-match": f'W/"x", {etag}'}
    )
    stale = await client.get(
        "/graphql", params={"query": LISTING}, headers={"if-none-match": '"stale"'}
    )

    assert second.headers["etag"] == etag
    assert held.status_code == 304
    assert held.content == b""
    assert held.headers["etag"] == etag
    assert held.headers["cache-control"] == PUBLIC
    assert held.headers["vary"] == VARY
    assert stale.status_code == 200
    assert stale.content == first.content


@pytest.mark.parametrize(
    "query",
    [
        '{ catalogEntity(idOrSlug: "blue-widget") { slug } }',
        "{ brands { items { slug } } categories { items { slug } } categoryTree { slug } }",
        '{ search(q: "widget") { totalCount } suggest(prefix: "bl") { slug } }',
        "query { ...Root } fragment Root on Query { catalogEntities { totalCount } }",
        "{ ... on Query { brands { totalCount } } __typename }",
    ],
    ids=["entity", "taxonomy", "search", "fragment", "inline fragment"],
)
async def test_every_public_catalog_root_field_is_public(
    client: httpx.AsyncClient, catalog: None, query: str
) -> None:
    response = await client.get("/graphql", params={"query": query})

    assert "errors" not in response.json(), response.json()
    assert response.headers["cache-control"] == PUBLIC


@pytest.mark.parametrize(
    ("query", "why"),
    [
        ("{ ping }", "not a catalog field"),
        ("{ catalogEntities { totalCount } serverTime }", "one field is not public"),
        ("query { ...Root } fragment Root on Query { version }", "a fragment's field is not"),
        ("{ __schema { queryType { name } } }", "introspection"),
        ("{ catalogEntities { items { inventory { id } } } }", "an error in the answer"),
        ("{ apiKeys { totalCount } }", "a refused field"),
    ],
)
async def test_any_other_anonymous_get_is_no_store(
    client: httpx.AsyncClient, catalog: None, query: str, why: str
) -> None:
    response = await client.get("/graphql", params={"query": query})

    assert response.headers["cache-control"] == "no-store", why
    assert response.headers["vary"] == VARY
    assert "etag" not in response.headers


async def test_a_get_with_a_credential_is_no_store(admin: httpx.AsyncClient, catalog: None) -> None:
    response = await admin.get("/graphql", params={"query": LISTING})

    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["vary"] == VARY
    assert "throttleStatus" in response.json()["extensions"]["cost"]


async def test_post_is_no_store_without_vary(client: httpx.AsyncClient, catalog: None) -> None:
    response = await client.post("/graphql", json={"query": LISTING})

    assert response.headers["cache-control"] == "no-store"
    assert "vary" not in response.headers


async def test_request_errors_over_get_are_no_store(client: httpx.AsyncClient) -> None:
    responses = [
        await client.get("/graphql", params={"query": "{ catalogEntities "}),
        await client.get("/graphql", params={"query": "mutation { createCart(input: {}) { id } }"}),
        await client.get("/graphql", params={"extensions": '{"persistedQuery": 1}'}),
    ]

    assert [r.status_code for r in responses] == [200, 405, 400]
    assert {r.headers["cache-control"] for r in responses} == {"no-store"}


async def test_with_max_age_0_nothing_is_public(
    make_app: Callable[..., Starlette], catalog: None
) -> None:
    async with client_for(make_app(graphql_get_max_age=0)) as client:
        response = await client.get("/graphql", params={"query": LISTING})

    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-store"


async def test_a_catalog_read_by_persisted_hash_over_get_is_public(
    client: httpx.AsyncClient, catalog: None
) -> None:
    # What a CDN caches: short GET URLs, one per document and variables.
    query = LISTING + "\n# by hash"
    key = hashlib.sha256(query.encode()).hexdigest()
    extensions = json.dumps({"persistedQuery": {"version": 1, "sha256Hash": key}})
    await client.post("/graphql", json={"query": query, "extensions": json.loads(extensions)})

    response = await client.get("/graphql", params={"extensions": extensions})

    assert response.json()["data"]["catalogEntities"]["totalCount"] == 1
    assert response.headers["cache-control"] == PUBLIC


@pytest.mark.parametrize(
    ("headers", "is_anonymous"),
    [
        ({}, True),
        ({"cookie": "theme=dark"}, True),
        ({"cookie": "cartograph_session=abc"}, False),
        ({"authorization": ""}, False),
        ({"authorization": "Bearer ck_x"}, False),
        ({"x-api-key": "anything"}, False),
    ],
)
def test_anonymous_means_no_credential_of_any_kind(
    headers: dict[str, str], is_anonymous: bool
) -> None:
    cookies = dict(
        part.strip().split("=", 1) for part in headers.get("cookie", "").split(";") if part
    )

    assert anonymous(Headers(headers), cookies, "cartograph_session") is is_anonymous


@pytest.mark.parametrize(
    ("query", "operation_name", "public"),
    [
        ("query A { brands { totalCount } } query B { ping }", "A", True),
        ("query A { brands { totalCount } } query B { ping }", "B", False),
        ("query A { brands { totalCount } } query B { ping }", None, False),
        ("{ ...F } fragment F on Query { ...F brands { totalCount } }", None, True),
        ("{ ...Missing }", None, False),
        ("subscription { events { id } }", None, False),
        ("{ brands ", None, False),
    ],
)
def test_public_operation_judges_the_operation_run(
    query: str, operation_name: str | None, public: bool
) -> None:
    assert public_operation(query, operation_name) is public
