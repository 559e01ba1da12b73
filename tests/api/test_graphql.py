"""The GraphQL endpoint: limits, caches, error codes, query counts, keyset pagination."""

from __future__ import annotations

import time
from collections.abc import Callable

import httpx
import pytest
from starlette.applications import Starlette
from strawberry.extensions.parser_cache import _get_parse_cache
from strawberry.extensions.validation_cache import _get_validate_cache

from app.db import Database
from app.resolvers.schema import CACHE_SIZE
from app.services import apikeys as apikeys_service
from tests.conftest import client_for
from tests.support.factories import make_api_key
from tests.support.queries import count_queries


def code(response: httpx.Response) -> str:
    return response.json()["errors"][0]["extensions"]["code"]


async def test_depth_limit_refuses_deep_queries(make_app: Callable[..., Starlette]) -> None:
    async with client_for(make_app(graphql_max_depth=1)) as client:
        deep = await client.post("/graphql", json={"query": "{ apiKeys { pageInfo { page } } }"})
        shallow = await client.post("/graphql", json={"query": "{ apiKeys { totalCount } }"})
    assert code(deep) == "VALIDATION_FAILED"
    assert "exceeds maximum operation depth of 1" in deep.json()["errors"][0]["message"]
    assert code(shallow) == "UNAUTHORIZED"


async def test_deep_introspection_is_refused(client: httpx.AsyncClient) -> None:
    cycle = "fields { type { " * 4 + "name" + " } }" * 4
    response = await client.post(
        "/graphql", json={"query": f"{{ __schema {{ types {{ {cycle} }} }} }}"}
    )
    assert code(response) == "VALIDATION_FAILED"
    assert "introspection" in response.json()["errors"][0]["message"].lower()


async def test_alias_limit_refuses_alias_floods(client: httpx.AsyncClient) -> None:
    query = "{ " + " ".join(f"a{i}: ping" for i in range(31)) + " }"
    response = await client.post("/graphql", json={"query": query})
    assert code(response) == "VALIDATION_FAILED"
    assert "aliases" in response.json()["errors"][0]["message"]
    allowed = "{ " + " ".join(f"a{i}: ping" for i in range(30)) + " }"
    assert "errors" not in (await client.post("/graphql", json={"query": allowed})).json()


def fragment_fan(levels: int, field: str) -> str:
    """A document each of whose fragments spreads the next twice: 2^levels fields expanded."""
    fragments = " ".join(
        f"fragment F{i} on Query {{ {field} ...F{i + 1} ...F{i + 1} }}" for i in range(levels)
    )
    return f"{{ ...F0 }} {fragments} fragment F{levels} on Query {{ ping }}"


async def test_depth_and_aliases_are_measured_in_time_linear_in_the_document(
    client: httpx.AsyncClient,
) -> None:
    started = time.perf_counter()
    fanned = await client.post("/graphql", json={"query": fragment_fan(20, "ping")})
    aliased = await client.post("/graphql", json={"query": fragment_fan(20, "p: ping")})
    elapsed = time.perf_counter() - started

    assert fanned.json()["data"] == {"ping": "pong"}
    assert code(aliased) == "VALIDATION_FAILED"
    assert aliased.json()["errors"][0]["message"] == f"{2**20 - 1} aliases found. Allowed: 30"
    assert elapsed < 2.0  # a walk of every spread (a million fields) took 36 s


async def test_token_limit_refuses_huge_documents(client: httpx.AsyncClient) -> None:
    query = "{ " + "ping " * 5001 + "}"
    response = await client.post("/graphql", json={"query": query})
    assert code(response) == "VALIDATION_FAILED"
    assert "token" in response.json()["errors"][0]["message"].lower()


async def test_syntax_errors_are_validation_failures(client: httpx.AsyncClient) -> None:
    response = await client.post("/graphql", json={"query": "{ ping "})
    assert code(response) == "VALIDATION_FAILED"


async def test_parsing_and_validation_are_cached_across_requests(
    client: httpx.AsyncClient,
) -> None:
    query = "{ ping version }"
    await client.post("/graphql", json={"query": query})
    parse_hits = _get_parse_cache(CACHE_SIZE).cache_info().hits
    validate_hits = _get_validate_cache(CACHE_SIZE).cache_info().hits
    for _ in range(3):
        await client.post("/graphql", json={"query": query})
    assert _get_parse_cache(CACHE_SIZE).cache_info().hits == parse_hits + 3
    assert _get_validate_cache(CACHE_SIZE).cache_info().hits == validate_hits + 3


async def test_unexpected_errors_are_masked(
    admin: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("secret internals")

    monkeypatch.setattr(apikeys_service, "list_api_keys", broken)
    graphql = await admin.post("/graphql", json={"query": "{ apiKeys { totalCount } }"})
    rest = await admin.get("/api/v1/api-keys")
    assert graphql.json()["errors"][0] == {
        "message": "Internal server error.",
        "locations": [{"line": 1, "column": 3}],
        "path": ["apiKeys"],
        "extensions": {"code": "INTERNAL_ERROR"},
    }
    assert rest.status_code == 500
    assert rest.json()["error"] == {
        "code": "INTERNAL_ERROR",
        "message": "Internal server error.",
        "details": {},
    }
    assert "secret" not in graphql.text + rest.text


async def test_responses_are_json_with_utc_z_times(client: httpx.AsyncClient) -> None:
    response = await client.post("/graphql", json={"query": "{ serverTime }"})
    assert response.headers["content-type"] == "application/json"
    assert response.json()["data"]["serverTime"].endswith("Z")


@pytest.mark.parametrize("n", [5, 50])
async def test_listing_keys_costs_the_same_statements_for_any_length(
    admin: httpx.AsyncClient, database: Database, n: int
) -> None:
    for i in range(n - 1):
        await make_api_key(database, name=f"k{i}")
    query = "{ apiKeys(limit: 100) { totalCount items { id name permissions } } }"
    await admin.post("/graphql", json={"query": query})  # first use records lastUsedAt
    with count_queries(database) as queries:
        response = await admin.post("/graphql", json={"query": query})
    assert response.json()["data"]["apiKeys"]["totalCount"] == n
    # One to resolve the caller's key, one count, one page.
    assert queries.count == 3, queries.statements


KEYSET = """query($first: Int, $after: String) {
  apiKeys(first: $first, after: $after) {
    items { id } pageInfo { hasNextPage endCursor page }
  }
}"""


async def test_keyset_pages_match_page_limit_and_survive_inserts(
    admin: httpx.AsyncClient, database: Database
) -> None:
    for i in range(6):
        await make_api_key(database, name=f"k{i}")
    by_page = []
    for page in (1, 2, 3):
        response = await admin.post(
            "/graphql",
            json={"query": f"{{ apiKeys(page: {page}, limit: 3) {{ items {{ id }} }} }}"},
        )
        by_page += [item["id"] for item in response.json()["data"]["apiKeys"]["items"]]
    assert len(by_page) == 7 and len(set(by_page)) == 7

    walked: list[str] = []
    after = None
    while True:
        response = await admin.post(
            "/graphql", json={"query": KEYSET, "variables": {"first": 3, "after": after}}
        )
        result = response.json()["data"]["apiKeys"]
        walked += [item["id"] for item in result["items"]]
        assert (result["pageInfo"]["page"] is None) == (after is not None)
        # Newer rows arrive between reads; the cursor neither repeats nor skips a row.
        await make_api_key(database, name="late arrival")
        if not result["pageInfo"]["hasNextPage"]:
            break
        after = result["pageInfo"]["endCursor"]
    assert walked == by_page


@pytest.mark.parametrize("cursor", ["garbage", "W10", "eyJ4IjoxfQ"])
async def test_a_forged_cursor_is_a_validation_error(admin: httpx.AsyncClient, cursor: str) -> None:
    response = await admin.post(
        "/graphql", json={"query": KEYSET, "variables": {"first": 2, "after": cursor}}
    )
    assert code(response) == "VALIDATION_FAILED"
    assert response.json()["errors"][0]["extensions"]["details"] == {
        "after": "Not a cursor this list issued."
    }


async def test_cursor_and_page_cannot_be_combined(admin: httpx.AsyncClient) -> None:
    response = await admin.post(
        "/graphql", json={"query": '{ apiKeys(page: 2, after: "x") { totalCount } }'}
    )
    assert code(response) == "VALIDATION_FAILED"
