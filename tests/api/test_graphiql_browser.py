"""GraphiQL's own page (GET /graphql) in headless Chromium, against uvicorn: the key typed in
its Headers tab reaches its subscription client, and refusals show in its result pane.

`tests/js/graphiql_browser.mjs` drives the page with playwright-core and Debian's Chromium as
a person would: it clicks the Headers tab, types into the editors key by key and clicks the
run button. The subscription is to made-up events that the key hears (published by the test
once it listens): what a key changes there is a refusal (an invented or revoked key closes the
socket with 4401) and the key's use (its `lastUsedAt`). Without Node, playwright-core or
Chromium these tests are skipped, and fail under `CI=true` (`tests/support/node.py`).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from starlette.applications import Starlette

from app.db import Database
from app.events.pubsub import LiveEvents
from app.models.apikeys import ApiKey
from app.services.apikeys import generate_key
from tests.support.cost import without_cost
from tests.support.factories import make_api_key
from tests.support.live import tick
from tests.support.node import NodeSession, chromium, node_for, node_session
from tests.support.server import serving

# Bounds from this side; the page's own steps time out sooner (graphiql_browser.mjs).
LOAD_TIMEOUT = 40.0
RUN_TIMEOUT = 30.0

TICKS = 'subscription { events(types: ["test.tick"], limit: 3) { id occurredAt } }'
REFUSED = "Socket closed with event 4401 Invalid, revoked or expired credential."


def key_header(key: str) -> str:
    """What a person types in the Headers tab."""
    return json.dumps({"x-api-key": key})


@dataclass
class GraphiQL:
    """GraphiQL's page in Chromium, and the server it was loaded from."""

    session: NodeSession
    base_url: str
    live: LiveEvents

    async def run(self, headers: str, query: str) -> list[dict[str, Any]]:
        """Type `headers` in the Headers tab and `query` in the editor, click run: every
        result the result pane showed, in order."""
        answer = await self.session.ask({"headers": headers, "query": query}, RUN_TIMEOUT)
        assert "error" not in answer, answer
        return [json.loads(text) for text in answer["results"]]

    async def run_ticks(self, headers: str, count: int = 3) -> list[dict[str, Any]]:
        """`run` a `TICKS` subscription, publishing `count` events once it listens."""
        listening = set(self.live.subscribers)
        running = asyncio.create_task(self.run(headers, TICKS))
        # The page types both editors key by key first.
        await tick(self.live, count, besides=listening, wait_at_most=RUN_TIMEOUT)
        return await running


@pytest.fixture(scope="module")
async def graphiql(module_app: Starlette) -> AsyncIterator[GraphiQL]:
    """One server and one page for the module (starting Chromium and loading GraphiQL is most
    of a test's cost); each run replaces what both editors hold."""
    node = node_for("playwright-core")
    browser = chromium()
    async with contextlib.AsyncExitStack() as stack:
        base_url = await stack.enter_async_context(serving(module_app))
        page = await stack.enter_async_context(
            node_session(node, "graphiql_browser.mjs", browser, f"{base_url}/graphql")
        )
        ready = await page.read(LOAD_TIMEOUT)
        assert ready == {"ready": True}, ready
        yield GraphiQL(page, base_url, module_app.state.live)


def messages(results: list[dict[str, Any]]) -> list[str]:
    return [error["message"] for result in results for error in result.get("errors", [])]


def assert_ticks(results: list[dict[str, Any]], count: int) -> None:
    """`count` events, one after another, and nothing else (but each one's cost)."""
    results = [without_cost(result) for result in results]
    assert all(set(result) == {"data"} for result in results), results
    events = [result["data"]["events"] for result in results]
    assert len(events) == count, results
    assert all(event["occurredAt"].endswith("Z") for event in events)
    assert len({event["id"] for event in events}) == count


async def last_used(database: Database, key_id: Any) -> datetime | None:
    async with database.read_session() as read:
        return await read.scalar(select(ApiKey.last_used_at).where(ApiKey.id == key_id))


async def test_a_subscription_streams_with_the_key_typed_in_the_headers_tab(
    graphiql: GraphiQL, database: Database
) -> None:
    key, plaintext = await make_api_key(database, name="graphiql", permissions=["apiKeys:manage"])
    assert await last_used(database, key.id) is None  # the page loaded without it

    results = await graphiql.run_ticks(key_header(plaintext))

    assert_ticks(results, 3)
    # The socket presented the key: GraphiQL's queries go over HTTP, and none ran.
    assert await last_used(database, key.id) is not None


async def test_an_invented_key_in_the_headers_tab_is_refused_in_the_result_pane(
    graphiql: GraphiQL,
) -> None:
    results = await graphiql.run(key_header(generate_key()), TICKS)

    assert messages(results) == [REFUSED]
    assert all("data" not in result for result in results)


async def test_a_key_revoked_over_http_is_refused_on_the_next_run(
    graphiql: GraphiQL, database: Database, admin_key: str
) -> None:
    key, plaintext = await make_api_key(database, name="graphiql", permissions=["apiKeys:manage"])
    assert_ticks(await graphiql.run_ticks(key_header(plaintext)), 3)

    async with httpx.AsyncClient(base_url=graphiql.base_url, timeout=5) as http:
        revoked = await http.post(
            "/graphql",
            headers={"x-api-key": admin_key},
            json={
                "query": "mutation($id: ID!) { revokeApiKey(input: {id: $id}) { id revokedAt } }",
                "variables": {"id": str(key.id)},
            },
        )
    assert revoked.status_code == 200
    assert revoked.json()["data"]["revokeApiKey"]["revokedAt"] is not None

    results = await graphiql.run(key_header(plaintext), TICKS)

    assert messages(results) == [REFUSED]
    assert all("data" not in result for result in results)


async def test_the_headers_tab_carries_the_key_of_a_query_too(
    graphiql: GraphiQL, database: Database
) -> None:
    _, plaintext = await make_api_key(database, name="graphiql", permissions=["apiKeys:manage"])
    query = "{ apiKeys { totalCount } }"

    without = await graphiql.run("{}", query)
    with_key = await graphiql.run(key_header(plaintext), query)

    assert len(without) == 1 and without[0]["data"] is None
    assert messages(without) == ["Authentication required."]
    assert without[0]["errors"][0]["extensions"]["code"] == "UNAUTHORIZED"
    assert [without_cost(result) for result in with_key] == [
        {"data": {"apiKeys": {"totalCount": 1}}}
    ]
