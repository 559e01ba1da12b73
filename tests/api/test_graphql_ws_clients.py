"""Standard clients subscribe: `gql`'s WebsocketsTransport on both protocols, and GraphiQL's
own client (graphql-ws, in Node), against uvicorn.

The key travels in the `connection_init` payload only, never in a handshake header (as from a
browser, which cannot set one): the query and the mutation need it, the subscription streams
with it. Before the fix every message was a binary frame, which both clients refuse, and a
mutation over the legacy protocol was an internal error.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
from gql import Client, GraphQLRequest, gql
from gql.client import AsyncClientSession
from gql.transport.exceptions import TransportConnectionFailed, TransportQueryError
from gql.transport.websockets import WebsocketsTransport
from sqlalchemy import select
from starlette.applications import Starlette
from websockets.exceptions import ConnectionClosed

from app.db import Database
from app.models.apikeys import ApiKey
from app.services.apikeys import generate_key
from tests.support.cost import without_cost
from tests.support.factories import make_api_key
from tests.support.live import tick
from tests.support.node import node_for, run_node
from tests.support.server import serving

TIMEOUT = 5
# Made-up events that the key (apiKeys:manage) hears, published by `tick`.
TICKS = 'subscription { events(types: ["test.tick"], limit: LIMIT) { id type } }'
PROTOCOLS = [WebsocketsTransport.GRAPHQLWS_SUBPROTOCOL, WebsocketsTransport.APOLLO_SUBPROTOCOL]


@pytest.fixture
async def url(app: Starlette) -> AsyncIterator[str]:
    async with serving(app) as base_url:
        yield base_url.replace("http://", "ws://", 1) + "/graphql"


@pytest.fixture
async def key(database: Database) -> str:
    _, plaintext = await make_api_key(database, name="gql", permissions=["apiKeys:manage"])
    return plaintext


@contextlib.asynccontextmanager
async def session(
    url: str, protocol: str, init_payload: dict[str, Any] | None
) -> AsyncIterator[AsyncClientSession]:
    transport = WebsocketsTransport(
        url=url,
        subprotocols=[protocol],
        init_payload=init_payload or {},
        connect_timeout=TIMEOUT,
        close_timeout=TIMEOUT,
        ack_timeout=TIMEOUT,
    )
    client = Client(transport=transport, fetch_schema_from_transport=False, execute_timeout=TIMEOUT)
    async with client as connected:
        yield connected


@pytest.mark.parametrize("protocol", PROTOCOLS)
async def test_query_with_the_key_in_connection_init(url: str, key: str, protocol: str) -> None:
    async with session(url, protocol, {"x-api-key": key}) as gql_session:
        result = await gql_session.execute(gql("{ apiKeys { totalCount items { name } } }"))

    assert result == {"apiKeys": {"totalCount": 1, "items": [{"name": "gql"}]}}


@pytest.mark.parametrize("protocol", PROTOCOLS)
async def test_mutation_with_the_key_in_connection_init(
    url: str, key: str, protocol: str, database: Database
) -> None:
    mutation = GraphQLRequest(
        """mutation Create($input: CreateApiKeyInput!) {
            createApiKey(input: $input) { id name permissions key }
        }""",
        variable_values={
            "input": {"name": f"minted over {protocol}", "permissions": ["apiKeys:manage"]}
        },
    )

    async with session(url, protocol, {"Authorization": f"Bearer {key}"}) as gql_session:
        result = await gql_session.execute(mutation)

    created = result["createApiKey"]
    assert created["name"] == f"minted over {protocol}"
    assert created["permissions"] == ["apiKeys:manage"]
    assert created["key"].startswith("ck_")
    async with database.read_session() as read:
        names = set(await read.scalars(select(ApiKey.name)))
    assert names == {"gql", f"minted over {protocol}"}


@pytest.mark.parametrize("protocol", PROTOCOLS)
async def test_subscription_with_the_key_in_connection_init(
    app: Starlette, url: str, key: str, protocol: str
) -> None:
    subscription = gql(TICKS.replace("LIMIT", "3"))
    listening = set(app.state.live.subscribers)

    async with session(url, protocol, {"x-api-key": key}) as gql_session:
        publishing = asyncio.create_task(tick(app.state.live, 3, besides=listening))
        ticks = [result async for result in gql_session.subscribe(subscription)]
        await publishing

    assert len(ticks) == 3
    assert all(t["events"]["type"] == "test.tick" for t in ticks)


@pytest.mark.parametrize("protocol", PROTOCOLS)
async def test_without_the_key_the_query_is_unauthorized(url: str, protocol: str) -> None:
    async with session(url, protocol, None) as gql_session:
        with pytest.raises(TransportQueryError) as refused:
            await gql_session.execute(gql("{ apiKeys { totalCount } }"))

    assert refused.value.errors is not None
    assert refused.value.errors[0]["extensions"]["code"] == "UNAUTHORIZED"


async def test_an_invented_key_fails_the_connection_with_4401(url: str) -> None:
    with pytest.raises(TransportConnectionFailed) as failed:
        async with session(url, PROTOCOLS[0], {"x-api-key": generate_key()}):
            pytest.fail("the connection was acknowledged")

    closed = failed.value.__cause__
    assert isinstance(closed, ConnectionClosed)
    assert closed.rcvd is not None and closed.rcvd.code == 4401


async def graphiql_client(url: str, headers: dict[str, str]) -> dict[str, Any]:
    """What GraphiQL's subscription client gets with `headers` in its Headers tab (its
    subscription: `TICKS` for two events)."""
    node = node_for("graphql-ws")
    output = await run_node(
        node,
        "--experimental-websocket",
        "graphiql_client.mjs",
        url,
        json.dumps(headers),
        TICKS.replace("LIMIT", "2"),
    )
    return json.loads(output)


async def test_graphiql_client_queries_and_subscribes_with_its_headers_tab(
    app: Starlette, url: str, key: str
) -> None:
    listening = set(app.state.live.subscribers)
    client = asyncio.create_task(graphiql_client(url, {"x-api-key": key}))
    await tick(app.state.live, 2, besides=listening)
    outcome = await client

    assert [without_cost(result) for result in outcome["query"]] == [
        {"data": {"apiKeys": {"totalCount": 1}}}
    ]
    assert len(outcome["subscription"]) == 2
    assert all(t["data"]["events"]["type"] == "test.tick" for t in outcome["subscription"])


async def test_graphiql_client_with_an_invented_key_is_closed_with_4401(url: str) -> None:
    outcome = await graphiql_client(url, {"X-API-Key": generate_key()})

    assert outcome == {
        "closed": {"code": 4401, "reason": "Invalid, revoked or expired credential."}
    }
