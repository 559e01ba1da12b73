"""Scale-out: two `cartograph serve` processes on one PostgreSQL database and one Redis share
their rate limits, their cost budgets and their live events (DESIGN §6), and `--workers 2`
runs two worker processes behind one port that share them the same way.

Black-box: real subprocesses on free ports, real sockets, nothing of the servers' memory
visible to the test. Each scenario uses API keys of its own, so its windows and buckets are
fresh in a Redis that other test runs may share (the keys are actor ids, unique per key).
Needs PostgreSQL (TEST_DATABASE_URL) and Redis (TEST_REDIS_URL): skipped without them, and an
error under `CI=true`. The last tests need neither: a "Redis" that accepts connections and
never answers shows what a stalled or partitioned Redis costs a request.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from websockets.asyncio.client import connect
from websockets.typing import Subprotocol

from app.db import Database
from app.middleware.rate_limit import REDIS_TIMEOUT_SECONDS, RateLimiter, make_storage
from app.resolvers.budget import CostBudget
from app.resolvers.persisted import MemoryDocuments, RedisDocuments, SharedDocuments
from tests.api.test_checkout import product
from tests.support.factories import make_api_key
from tests.support.server import RunningServer, running_servers

TEST_DATABASE_URL = os.environ.get("TEST_DATABASE_URL")
TEST_REDIS_URL = os.environ.get("TEST_REDIS_URL")
TIMEOUT = 10.0  # generous: servers on a loaded two-core machine answer slowly
PROTOCOL = Subprotocol("graphql-transport-ws")
LIMIT = 6  # requests per window, per principal
PING = {"query": "{ ping }"}
# Costs 2 + 60 points: on a budget of 100, once and never twice.
SIXTY = {"query": "{ catalogEntities(limit: 60) { items { slug } } }"}
LEVEL_CHANGED = (
    "subscription L($id: ID!) { inventoryLevelChanged(entityId: $id) { entityId sku quantity } }"
)
RESTOCK = 'mutation { adjustInventoryBySku(input: {sku: "mug", adjustment: 1}) { quantity } }'
# What both processes share: Redis for windows, buckets and live events; small limits.
SHARED = {
    "CARTOGRAPH_RATE_LIMIT": f"{LIMIT}/hour",
    "CARTOGRAPH_AUTH_FAILURE_LIMIT": "100000/minute",
    "CARTOGRAPH_GRAPHQL_MAX_COST": "100",
    "CARTOGRAPH_GRAPHQL_COST_BUDGET": "100",
    "CARTOGRAPH_GRAPHQL_COST_RESTORE_RATE": "0.01",
    "CARTOGRAPH_ACCESS_LOG": "false",
}


def require_services(database: Database) -> str:
    """The Redis URL, once PostgreSQL and Redis are both there; else skip (fail under CI)."""
    on_ci = os.environ.get("CI", "").lower() == "true"
    if database.is_sqlite:
        if on_ci and not TEST_DATABASE_URL:
            pytest.fail("CI must run the scale-out test: TEST_DATABASE_URL is not set")
        pytest.skip("processes share one database server: the PostgreSQL run covers it")
    if not TEST_REDIS_URL:
        if on_ci:
            pytest.fail("CI must run the scale-out test: TEST_REDIS_URL is not set")
        pytest.skip("TEST_REDIS_URL is not set")
    return TEST_REDIS_URL


async def post_graphql(base_url: str, key: str, body: dict[str, str]) -> httpx.Response:
    # A connection per request: nothing of one request's connection helps the next. The
    # GraphQL-over-HTTP media type, whose refusals have their own status (429 THROTTLED).
    headers = {"x-api-key": key, "accept": "application/graphql-response+json"}
    async with httpx.AsyncClient(base_url=base_url, timeout=TIMEOUT) as http:
        return await http.post("/graphql", json=body, headers=headers)


async def test_server_processes_share_a_rate_limit_a_cost_budget_and_live_events(
    database: Database,
) -> None:
    redis_url = require_services(database)
    mug = await product(database, "mug", stock=10)
    _, counted = await make_api_key(database, name="counted")
    _, spender = await make_api_key(database, name="spender")
    _, listener = await make_api_key(database, name="listener", permissions=["inventory:read"])
    _, stocker = await make_api_key(database, name="stocker", permissions=["inventory:update"])

    # Three processes: `serve --workers 2` on one port, a plain `serve` on another. The first
    # dispatches no events: whatever its subscriber hears, the second process published, and
    # it came through Redis.
    with running_servers(
        database.url,
        {"CARTOGRAPH_DISPATCHER": "false"},
        {},
        serve_args=[("--workers", "2")],
        REDIS_URL=redis_url,
        **SHARED,
    ) as [first, second]:
        assert first.process is not None
        assert len(uvicorn_workers(first.process.pid)) == 2
        await shared_rate_limit([first.base_url, second.base_url], counted)
        await shared_cost_budget(first.base_url, second.base_url, spender)
        await subscription_across_processes(first, second, listener, stocker, str(mug.id))


async def shared_rate_limit(base_urls: list[str], key: str) -> None:
    """LIMIT requests alternate between the processes and use up one window; the next one is
    refused by whichever process gets it."""
    answers = [await post_graphql(base_urls[n % 2], key, PING) for n in range(LIMIT + 2)]

    statuses = [a.status_code for a in answers]
    assert statuses == [200] * LIMIT + [429, 429], [a.text for a in answers]
    remaining = [int(a.headers["x-ratelimit-remaining"]) for a in answers]
    assert remaining == [*range(LIMIT - 1, -1, -1), 0, 0]
    refused = answers[LIMIT].json()
    assert refused["errors"][0]["extensions"]["code"] == "RATE_LIMITED", refused
    assert int(answers[LIMIT].headers["retry-after"]) > 0


async def shared_cost_budget(spending: str, refusing: str, key: str) -> None:
    """62 points spent on one process leave 38 of 100 for the other, which refuses 62 more."""
    spent = await post_graphql(spending, key, SIXTY)
    refused = await post_graphql(refusing, key, SIXTY)

    assert spent.status_code == 200, spent.text
    assert spent.json()["extensions"]["cost"]["throttleStatus"]["currentlyAvailable"] == 38
    assert refused.status_code == 429, refused.text
    body = refused.json()
    assert [e["extensions"]["code"] for e in body["errors"]] == ["THROTTLED"]
    cost = body["extensions"]["cost"]
    assert cost["requestedQueryCost"] == 62
    assert cost["throttleStatus"]["currentlyAvailable"] == 38


async def subscription_across_processes(
    listening: RunningServer, changing: RunningServer, listener: str, stocker: str, mug: str
) -> None:
    """A subscription on one process hears a change made through the other."""
    url = listening.base_url.replace("http://", "ws://", 1) + "/graphql"
    # The key in the handshake: an anonymous one would count against this address's window,
    # which the start-up health checks used up.
    headers = {"x-api-key": listener}
    async with connect(
        url, subprotocols=[PROTOCOL], additional_headers=headers, open_timeout=TIMEOUT
    ) as ws:
        await ws.send(json.dumps({"type": "connection_init", "payload": {}}))
        assert json.loads(await asyncio.wait_for(ws.recv(), TIMEOUT)) == {"type": "connection_ack"}
        subscribe = {"query": LEVEL_CHANGED, "variables": {"id": mug}}
        await ws.send(json.dumps({"id": "1", "type": "subscribe", "payload": subscribe}))
        # The protocol does not say when a subscription listens: restock until it hears one.
        # Each restock is an event of its own; the first one heard may be any of them.
        made: list[int] = []
        heard: dict[str, Any] | None = None
        await asyncio.sleep(0.3)
        # Fewer restocks than the stocker's window allows, each waited for a while.
        while heard is None and len(made) < LIMIT - 1:
            restocked = await post_graphql(changing.base_url, stocker, {"query": RESTOCK})
            assert restocked.status_code == 200, restocked.text
            made.append(restocked.json()["data"]["adjustInventoryBySku"]["quantity"])
            with contextlib.suppress(TimeoutError):
                heard = json.loads(await asyncio.wait_for(ws.recv(), 2.0))

    assert heard is not None, f"no event reached the other process after {len(made)} restocks"
    assert heard["id"] == "1" and heard["type"] == "next", heard
    level = heard["payload"]["data"]["inventoryLevelChanged"]
    assert (level["entityId"], level["sku"]) == (mug, "mug")
    assert level["quantity"] in made and made[0] == 11, (level, made)


def uvicorn_workers(supervisor: int) -> list[int]:
    """The worker processes that uvicorn's `supervisor` spawned (not its resource tracker)."""
    children = Path(f"/proc/{supervisor}/task/{supervisor}/children").read_text().split()
    return [
        pid
        for pid in map(int, children)
        if b"spawn_main" in Path(f"/proc/{pid}/cmdline").read_bytes()
    ]


# ---- a Redis that stops answering ----------------------------------------------------------


@contextlib.asynccontextmanager
async def silent_redis() -> AsyncIterator[str]:
    """The URL of a server that accepts connections and never answers."""
    held: list[asyncio.StreamWriter] = []

    async def accept(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        held.append(writer)

    server = await asyncio.start_server(accept, "127.0.0.1", 0)
    try:
        yield f"redis://127.0.0.1:{server.sockets[0].getsockname()[1]}/0"
    finally:
        for writer in held:
            writer.close()
        server.close()


async def test_a_silent_redis_delays_a_rate_limited_request_by_the_timeout_alone() -> None:
    async with silent_redis() as url:
        limiter = RateLimiter(
            limit="10/minute", auth_failure_limit="10/minute", storage=make_storage(url)
        )
        started = time.monotonic()
        window = await asyncio.wait_for(limiter.hit(None, "addr:10.0.0.1"), 10)
        waited = time.monotonic() - started

    assert window is None  # no verdict: the request goes through
    assert REDIS_TIMEOUT_SECONDS <= waited < REDIS_TIMEOUT_SECONDS + 1.5


async def test_a_silent_redis_delays_a_priced_operation_by_the_timeout_alone() -> None:
    async with silent_redis() as url:
        budget = CostBudget(capacity=100, restore_rate=1, redis_url=url)
        started = time.monotonic()
        balance = await asyncio.wait_for(budget.take("actor:api_key:k", 10), 10)
        waited = time.monotonic() - started

    assert balance is None  # no verdict: the operation runs
    assert REDIS_TIMEOUT_SECONDS <= waited < REDIS_TIMEOUT_SECONDS + 1.5


async def test_a_silent_redis_delays_a_persisted_query_by_the_timeout_alone() -> None:
    async with silent_redis() as url:
        store = SharedDocuments(MemoryDocuments(10), RedisDocuments(url, 10))
        started = time.monotonic()
        document = await asyncio.wait_for(store.get("0" * 64), 10)
        waited = time.monotonic() - started

    assert document is None  # a miss: the client sends the query again
    assert REDIS_TIMEOUT_SECONDS <= waited < REDIS_TIMEOUT_SECONDS + 1.5
