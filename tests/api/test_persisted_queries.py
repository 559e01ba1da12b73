"""Automatic persisted queries (Apollo's protocol) and the allow-list of registered documents,
over GraphQL over HTTP through the ASGI app; APQ across two apps sharing Redis.

Every document a test registers ends in a comment of its own (`unique`): its hash is then new
to any store, Redis included, which outlives the test run.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import ValidationError
from starlette.applications import Starlette
from websockets.asyncio.client import connect
from websockets.typing import Subprotocol

from app import cli
from app.config import Settings
from app.resolvers.persisted import ManifestError, MemoryDocuments, RedisDocuments
from tests.conftest import client_for
from tests.support.cost import without_cost
from tests.support.redis import require_redis
from tests.support.server import serving

# Nothing here differs by database (documents are kept in memory or Redis, headers are HTTP's):
# one backend, PostgreSQL when it is there.
pytestmark = pytest.mark.one_backend

ACCEPT_GRAPHQL_RESPONSE = {"accept": "application/graphql-response+json"}
NOT_FOUND = {
    "errors": [
        {"message": "PersistedQueryNotFound", "extensions": {"code": "PERSISTED_QUERY_NOT_FOUND"}}
    ]
}
MISMATCH = {
    "errors": [
        {
            "message": "provided sha does not match query",
            "extensions": {"code": "VALIDATION_FAILED"},
        }
    ]
}


def unique(query: str) -> str:
    return f"{query}\n# {secrets.token_hex(8)}"


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def persisted(key: str, version: object = 1) -> dict[str, Any]:
    return {"persistedQuery": {"version": version, "sha256Hash": key}}


def by_hash(key: str) -> dict[str, str]:
    """GET parameters that send a hash alone."""
    return {"extensions": json.dumps(persisted(key))}


# --- APQ ---------------------------------------------------------------------------------


@pytest.mark.parametrize("accept", [{}, ACCEPT_GRAPHQL_RESPONSE], ids=["json", "graphql-response"])
async def test_an_unknown_hash_alone_is_persisted_query_not_found_with_200(
    client: httpx.AsyncClient, accept: dict[str, str]
) -> None:
    key = sha256(unique("{ ping }"))

    posted = await client.post("/graphql", json={"extensions": persisted(key)}, headers=accept)
    got = await client.get("/graphql", params=by_hash(key), headers=accept)

    for response in (posted, got):
        assert response.status_code == 200
        assert response.json() == NOT_FOUND
        assert response.headers["cache-control"] == "no-store"


async def test_a_hash_with_its_query_runs_and_then_the_hash_alone_runs_it(
    client: httpx.AsyncClient,
) -> None:
    query = unique("{ ping }")
    key = sha256(query)

    registered = await client.post("/graphql", json={"query": query, "extensions": persisted(key)})
    posted = await client.post("/graphql", json={"extensions": persisted(key)})
    got = await client.get("/graphql", params=by_hash(key))

    for response in (registered, posted, got):
        assert response.status_code == 200
        assert without_cost(response.json()) == {"data": {"ping": "pong"}}


async def test_a_get_by_hash_asks_for_a_result_even_accepting_anything(
    client: httpx.AsyncClient,
) -> None:
    # curl sends Accept: */*, which without a query would otherwise be GraphiQL's page.
    response = await client.get(
        "/graphql", params=by_hash(sha256(unique("{ ping }"))), headers={"accept": "*/*"}
    )

    assert response.json() == NOT_FOUND


async def test_variables_and_operation_name_apply_to_a_document_run_by_hash(
    client: httpx.AsyncClient,
) -> None:
    query = unique('query A { ping } query B($n: Int!) { suggest(prefix: "x", limit: $n) { id } }')
    key = sha256(query)
    await client.post(
        "/graphql",
        json={"query": query, "operationName": "A", "extensions": persisted(key)},
    )

    response = await client.get(
        "/graphql",
        params={**by_hash(key), "operationName": "B", "variables": json.dumps({"n": 3})},
    )

    assert without_cost(response.json()) == {"data": {"suggest": []}}


@pytest.mark.parametrize("accept", [{}, ACCEPT_GRAPHQL_RESPONSE], ids=["json", "graphql-response"])
async def test_a_hash_that_is_not_the_querys_is_400_and_stores_nothing(
    client: httpx.AsyncClient, accept: dict[str, str]
) -> None:
    query = unique("{ ping }")
    wrong = sha256(unique("{ ping }"))

    response = await client.post(
        "/graphql", json={"query": query, "extensions": persisted(wrong)}, headers=accept
    )
    either = [
        await client.post("/graphql", json={"extensions": persisted(key)})
        for key in (wrong, sha256(query))
    ]

    assert response.status_code == 400
    assert response.json() == MISMATCH
    assert [r.json() for r in either] == [NOT_FOUND, NOT_FOUND]


@pytest.mark.parametrize(
    ("extensions", "message"),
    [
        (persisted("a" * 64, version=2), "Unsupported persisted query version"),
        (persisted("a" * 64, version="1"), "Unsupported persisted query version"),
        ({"persistedQuery": {"sha256Hash": "a" * 64}}, "Unsupported persisted query version"),
        ({"persistedQuery": "a" * 64}, "extensions.persistedQuery must be an object"),
        (persisted(42), "sha256Hash must be a string"),  # type: ignore[arg-type]
        (persisted(""), "sha256Hash must be a string"),
        (persisted("a" * 257), "sha256Hash must be a string"),
    ],
    ids=["version 2", "version '1'", "no version", "not an object", "number", "empty", "long"],
)
async def test_a_malformed_persisted_query_is_400(
    client: httpx.AsyncClient, extensions: dict[str, Any], message: str
) -> None:
    posted = await client.post("/graphql", json={"extensions": extensions})
    got = await client.get("/graphql", params={"extensions": json.dumps(extensions)})

    for response in (posted, got):
        assert response.status_code == 400
        error = response.json()["errors"][0]
        assert error["extensions"]["code"] == "VALIDATION_FAILED"
        assert message in error["message"]


@pytest.mark.parametrize(
    "query",
    ["{ noSuchField }", "{ ping ", "{ " + "ping " * 60 + "}"],
    ids=["does not validate", "does not parse", "over the token limit"],
)
async def test_a_document_that_never_runs_is_not_remembered(
    make_app: Callable[..., Starlette], query: str
) -> None:
    async with client_for(make_app(graphql_max_tokens=50)) as client:
        query = unique(query)
        key = sha256(query)
        first = await client.post("/graphql", json={"query": query, "extensions": persisted(key)})
        again = await client.post("/graphql", json={"extensions": persisted(key)})

    assert first.json()["data"] is None
    assert first.json()["errors"][0]["extensions"]["code"] == "VALIDATION_FAILED"
    assert again.json() == NOT_FOUND


async def test_a_document_longer_than_the_limit_runs_but_is_not_remembered(
    make_app: Callable[..., Starlette],
) -> None:
    async with client_for(make_app(graphql_apq_max_bytes=40)) as client:
        short, long = unique("{ ping }"), unique("{ ping serverTime version }")
        results = [
            await client.post(
                "/graphql", json={"query": query, "extensions": persisted(sha256(query))}
            )
            for query in (short, long)
        ]
        again = [
            await client.post("/graphql", json={"extensions": persisted(sha256(query))})
            for query in (short, long)
        ]

    assert len(short.encode()) <= 40 < len(long.encode())
    assert [r.json()["data"]["ping"] for r in results] == ["pong", "pong"]
    assert without_cost(again[0].json()) == {"data": {"ping": "pong"}}
    assert again[1].json() == NOT_FOUND


async def test_the_process_keeps_at_most_cache_size_documents_least_recently_used_first(
    make_app: Callable[..., Starlette],
) -> None:
    async with client_for(make_app(graphql_apq_cache_size=2)) as client:
        queries = [unique("{ ping }") for _ in range(3)]
        for query in queries[:2]:
            await client.post(
                "/graphql", json={"query": query, "extensions": persisted(sha256(query))}
            )
        # The first is used again, so the second is the least recently used when a third comes.
        await client.post("/graphql", json={"extensions": persisted(sha256(queries[0]))})
        await client.post(
            "/graphql", json={"query": queries[2], "extensions": persisted(sha256(queries[2]))}
        )
        found = [
            (await client.post("/graphql", json={"extensions": persisted(sha256(q))})).json()
            for q in queries
        ]

    assert [f == NOT_FOUND for f in found] == [False, True, False]


async def test_a_mutation_by_hash_runs_over_post_only(admin: httpx.AsyncClient) -> None:
    mutation = unique(
        'mutation { createApiKey(input: {name: "apq", permissions: ["audit:read"]}) { name } }'
    )
    key = sha256(mutation)

    registered = await admin.post(
        "/graphql", json={"query": mutation, "extensions": persisted(key)}
    )
    over_get = await admin.get("/graphql", params=by_hash(key))
    over_post = await admin.post("/graphql", json={"extensions": persisted(key)})
    listed = await admin.post("/graphql", json={"query": "{ apiKeys { totalCount } }"})

    assert registered.json()["data"] == {"createApiKey": {"name": "apq"}}
    assert over_get.status_code == 405
    assert over_get.json()["errors"][0]["message"] == "Mutations need POST."
    assert over_post.json()["data"] == {"createApiKey": {"name": "apq"}}
    assert listed.json()["data"]["apiKeys"]["totalCount"] == 3  # the admin's and two by APQ


async def test_with_apq_off_a_hash_is_persisted_query_not_supported(
    make_app: Callable[..., Starlette],
) -> None:
    query = unique("{ ping }")
    async with client_for(make_app(graphql_apq=False)) as client:
        alone = await client.post("/graphql", json={"extensions": persisted(sha256(query))})
        with_query = await client.post(
            "/graphql", json={"query": query, "extensions": persisted(sha256(query))}
        )
        plain = await client.post("/graphql", json={"query": query})

    unsupported = {
        "errors": [
            {
                "message": "PersistedQueryNotSupported",
                "extensions": {"code": "PERSISTED_QUERY_NOT_SUPPORTED"},
            }
        ]
    }
    assert alone.status_code == with_query.status_code == 200
    assert alone.json() == with_query.json() == unsupported
    assert without_cost(plain.json()) == {"data": {"ping": "pong"}}


async def test_memory_documents_drop_the_least_recently_used() -> None:
    store = MemoryDocuments(2)
    await store.put("a", "A")
    await store.put("b", "B")
    assert await store.get("a") == "A"
    await store.put("c", "C")

    assert [await store.get(k) for k in "abc"] == ["A", None, "C"]


# --- APQ shared through Redis -------------------------------------------------------------


@pytest.fixture
def redis_url() -> str:
    return require_redis()


async def test_a_hash_one_process_learnt_runs_in_another_through_redis(
    make_app: Callable[..., Starlette], redis_url: str
) -> None:
    query = unique("{ ping }")
    key = sha256(query)
    first, second = make_app(redis_url=redis_url), make_app(redis_url=redis_url)

    async with client_for(first) as one, client_for(second) as other:
        before = await other.post("/graphql", json={"extensions": persisted(key)})
        await one.post("/graphql", json={"query": query, "extensions": persisted(key)})
        after = await other.get("/graphql", params=by_hash(key))

    assert before.json() == NOT_FOUND
    assert without_cost(after.json()) == {"data": {"ping": "pong"}}


async def test_redis_keeps_at_most_size_documents_least_recently_used_first(
    redis_url: str,
) -> None:
    namespace = f"cartograph-apq-test-{secrets.token_hex(6)}"
    store = RedisDocuments(redis_url, size=2, namespace=namespace)
    try:
        await store.put("a", "A")
        await store.put("b", "B")
        assert await store.get("a") == "A"  # used: "b" is now the oldest
        await store.put("c", "C")

        assert [await store.get(k) for k in "abc"] == ["A", None, "C"]
        assert await store.client.hlen(f"{namespace}:documents") == 2
        assert await store.client.zcard(f"{namespace}:used") == 2
    finally:
        await store.client.delete(*store.keys)
        await store.client.aclose()


async def test_with_redis_down_each_process_keeps_its_own(
    make_app: Callable[..., Starlette],
) -> None:
    query = unique("{ ping }")
    key = sha256(query)
    # Nothing listens on port 1: every Redis call fails, and is logged.
    async with client_for(make_app(redis_url="redis://127.0.0.1:1/15")) as client:
        registered = await client.post(
            "/graphql", json={"query": query, "extensions": persisted(key)}
        )
        again = await client.post("/graphql", json={"extensions": persisted(key)})
        unknown = await client.post(
            "/graphql", json={"extensions": persisted(sha256(unique("{ ping }")))}
        )

    assert registered.json()["data"] == again.json()["data"] == {"ping": "pong"}
    assert unknown.json() == NOT_FOUND


# --- the manifest and the allow-list --------------------------------------------------------

LISTING = "query Listing {\n  catalogEntities(limit: 5) {\n    totalCount\n  }\n}"
PING = "query Ping {\n  ping\n}"
EVENTS = 'subscription Ticks {\n  events(types: ["test.tick"], limit: 1) {\n    id\n  }\n}'


def write_manifest(path: Path, operations: list[dict[str, str]]) -> Path:
    path.write_text(
        json.dumps(
            {"format": "apollo-persisted-query-manifest", "version": 1, "operations": operations}
        )
    )
    return path


@pytest.fixture
def manifest(tmp_path: Path) -> Path:
    return write_manifest(
        tmp_path / "manifest.json",
        [
            {"id": sha256(PING), "name": "Ping", "type": "query", "body": PING},
            # Any id will do: Apollo's tools make hashes, but the id is the manifest's to say.
            {"id": "listing-v1", "name": "Listing", "type": "query", "body": LISTING},
            {"id": "ticks", "name": "Ticks", "type": "subscription", "body": EVENTS},
        ],
    )


@pytest.fixture
async def listed(
    make_app: Callable[..., Starlette], manifest: Path
) -> AsyncIterator[httpx.AsyncClient]:
    """A client of an app that runs registered documents only."""
    app = make_app(graphql_persisted_queries=manifest, graphql_allow_list=True)
    async with client_for(app) as client:
        yield client


async def test_registered_documents_run_by_id_with_the_allow_list_off(
    make_app: Callable[..., Starlette], manifest: Path
) -> None:
    async with client_for(make_app(graphql_persisted_queries=manifest)) as client:
        got = await client.get("/graphql", params=by_hash("listing-v1"))
        posted = await client.post("/graphql", json={"extensions": persisted(sha256(PING))})
        free = await client.post("/graphql", json={"query": "{ version }"})

    assert without_cost(got.json()) == {"data": {"catalogEntities": {"totalCount": 0}}}
    assert without_cost(posted.json()) == {"data": {"ping": "pong"}}
    assert "version" in free.json()["data"]


async def test_the_allow_list_runs_registered_documents_by_id_or_by_their_text(
    listed: httpx.AsyncClient,
) -> None:
    by_id = await listed.get("/graphql", params=by_hash("listing-v1"))
    by_text = await listed.post("/graphql", json={"query": PING})
    by_both = await listed.post(
        "/graphql", json={"query": LISTING, "extensions": persisted("listing-v1")}
    )

    assert without_cost(by_id.json()) == {"data": {"catalogEntities": {"totalCount": 0}}}
    assert without_cost(by_text.json()) == {"data": {"ping": "pong"}}
    assert without_cost(by_both.json()) == {"data": {"catalogEntities": {"totalCount": 0}}}


@pytest.mark.parametrize(
    "query",
    ["{ ping }", PING + " ", "{ __schema { queryType { name } } }"],
    ids=["unregistered", "registered text changed", "introspection"],
)
async def test_the_allow_list_refuses_any_other_text(listed: httpx.AsyncClient, query: str) -> None:
    posted = await listed.post("/graphql", json={"query": query})
    got = await listed.get("/graphql", params={"query": query})

    for response in (posted, got):
        assert response.status_code == 400
        assert response.json()["errors"][0]["extensions"]["code"] == "QUERY_NOT_IN_SAFELIST"
        assert "allow-list" in response.json()["errors"][0]["message"]


async def test_the_allow_list_refuses_unknown_ids_and_apq_registration(
    listed: httpx.AsyncClient,
) -> None:
    query = unique("{ ping }")
    key = sha256(query)

    register = await listed.post("/graphql", json={"query": query, "extensions": persisted(key)})
    then = await listed.post("/graphql", json={"extensions": persisted(key)})

    assert register.status_code == 400
    assert register.json()["errors"][0]["extensions"]["code"] == "QUERY_NOT_IN_SAFELIST"
    assert then.status_code == 400
    assert then.json() == {
        "errors": [
            {
                "message": f"Persisted query '{key}' is not in the allow-list of registered "
                "documents.",
                "extensions": {"code": "PERSISTED_QUERY_NOT_IN_LIST"},
            }
        ]
    }


async def test_a_registered_id_with_another_text_is_a_mismatch(
    listed: httpx.AsyncClient,
) -> None:
    response = await listed.post(
        "/graphql", json={"query": "{ ping }", "extensions": persisted("listing-v1")}
    )

    assert response.status_code == 400
    assert response.json() == MISMATCH


async def test_graphiqls_page_still_loads_with_the_allow_list_on(
    listed: httpx.AsyncClient,
) -> None:
    response = await listed.get("/graphql", headers={"accept": "text/html"})

    assert response.status_code == 200
    assert "GraphiQL" in response.text


async def test_the_allow_list_holds_on_the_websocket(
    make_app: Callable[..., Starlette], manifest: Path
) -> None:
    app = make_app(graphql_persisted_queries=manifest, graphql_allow_list=True)
    async with (
        serving(app) as base_url,
        connect(
            base_url.replace("http://", "ws://") + "/graphql",
            subprotocols=[Subprotocol("graphql-transport-ws")],
            open_timeout=5,
            close_timeout=5,
        ) as socket,
    ):
        await socket.send(json.dumps({"type": "connection_init"}))
        assert json.loads(await socket.recv(decode=True))["type"] == "connection_ack"
        await socket.send(
            json.dumps({"id": "1", "type": "subscribe", "payload": {"query": "{ ping }"}})
        )
        refused = json.loads(await socket.recv(decode=True))
        await socket.send(json.dumps({"id": "2", "type": "subscribe", "payload": {"query": PING}}))
        ran = json.loads(await socket.recv(decode=True))

    assert refused["type"] == "error" and refused["id"] == "1"
    assert refused["payload"][0]["extensions"]["code"] == "QUERY_NOT_IN_SAFELIST"
    assert ran["type"] == "next" and ran["payload"]["data"] == {"ping": "pong"}


def test_the_allow_list_needs_a_manifest() -> None:
    with pytest.raises(ValidationError, match="CARTOGRAPH_GRAPHQL_PERSISTED_QUERIES"):
        Settings(graphql_allow_list=True)


@pytest.mark.parametrize(
    ("operations", "problem"),
    [
        ([{"id": "x", "name": "X", "type": "query", "body": "{ noSuchField }"}], "x: Cannot"),
        ([{"id": "x", "name": "X", "type": "query", "body": "{ ping "}], "x: Syntax Error"),
        ([{"id": "x", "name": "X", "type": "fetch", "body": "{ ping }"}], "type must be"),
        ([{"id": "x", "name": "X", "type": "query"}], "needs string id, name, type, body"),
        (
            [
                {"id": "x", "name": "X", "type": "query", "body": "{ ping }"},
                {"id": "x", "name": "X", "type": "query", "body": "{ version }"},
            ],
            "registered twice",
        ),
    ],
    ids=["does not validate", "does not parse", "bad type", "no body", "two bodies for an id"],
)
def test_a_bad_manifest_stops_start_up_naming_the_operation(
    make_app: Callable[..., Starlette],
    tmp_path: Path,
    operations: list[dict[str, str]],
    problem: str,
) -> None:
    path = write_manifest(tmp_path / "bad.json", operations)

    with pytest.raises(ManifestError, match=problem):
        make_app(graphql_persisted_queries=path)


def test_a_manifest_of_another_format_stops_start_up(
    make_app: Callable[..., Starlette], tmp_path: Path
) -> None:
    path = tmp_path / "other.json"
    path.write_text(json.dumps({"format": "relay", "version": 1, "operations": []}))

    with pytest.raises(ManifestError, match="apollo-persisted-query-manifest"):
        make_app(graphql_persisted_queries=path)


async def test_the_cli_writes_a_manifest_the_server_serves_by_id(
    make_app: Callable[..., Starlette], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "listing.graphql").write_text(
        "query Listing { catalogEntities(limit: 2) { items { ...Card } } }\nquery Ping { ping }\n"
    )
    (tmp_path / "card.graphql").write_text("fragment Card on CatalogEntity { slug }\n")

    code = cli.main(
        ["documents", "manifest", str(tmp_path / "listing.graphql"), str(tmp_path / "card.graphql")]
    )
    manifest = json.loads(capsys.readouterr().out)
    (tmp_path / "manifest.json").write_text(json.dumps(manifest))
    app = make_app(graphql_persisted_queries=tmp_path / "manifest.json", graphql_allow_list=True)
    listing = manifest["operations"][0]
    async with client_for(app) as client:
        response = await client.get("/graphql", params=by_hash(listing["id"]))

    assert code == 0
    assert manifest["format"] == "apollo-persisted-query-manifest"
    assert [(o["name"], o["type"]) for o in manifest["operations"]] == [
        ("Listing", "query"),
        ("Ping", "query"),
    ]
    assert listing["id"] == sha256(listing["body"])
    assert "fragment Card on CatalogEntity" in listing["body"]
    assert without_cost(response.json()) == {"data": {"catalogEntities": {"items": []}}}


def test_the_cli_refuses_an_anonymous_operation(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "a.graphql").write_text("{ ping }")

    code = cli.main(["documents", "manifest", str(tmp_path / "a.graphql")])

    assert code == 1
    assert "every operation needs a name" in capsys.readouterr().err
