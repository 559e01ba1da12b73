"""GraphQL subscriptions over a real websocket (graphql-transport-ws), served by uvicorn.

ASGITransport speaks no websocket, so each test starts uvicorn on a free port in the test's
own event loop and talks to it with the `websockets` client. Every wait is bounded.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from typing import Any

import orjson
import pytest
import uvicorn
from starlette.applications import Starlette
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import InvalidStatus
from websockets.typing import Subprotocol

from app.auth.actor import SYSTEM
from app.db import Database
from app.models.apikeys import ApiKey
from app.services.apikeys import revoke_api_key
from tests.support.factories import make_api_key

TIMEOUT = 5.0
PROTOCOL = Subprotocol("graphql-transport-ws")
THREE_TICKS = "subscription { serverTime(count: 3, intervalSeconds: 0.05) }"


@pytest.fixture
async def server_url(make_app: Callable[..., Starlette]) -> AsyncIterator[str]:
    """ws:// URL of /graphql on a uvicorn server running the app on the test database."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))  # the port is ours from here on: no race for a free one
    port = listener.getsockname()[1]
    config = uvicorn.Config(
        make_app(),
        host="127.0.0.1",
        port=port,
        log_level="warning",
        log_config=None,  # leave the test run's logging configuration alone
        lifespan="off",
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve(sockets=[listener]))
    try:
        async with asyncio.timeout(TIMEOUT):
            while not server.started:
                if task.done():
                    task.result()  # raises whatever stopped the server from starting
                    raise RuntimeError("uvicorn stopped before it started")
                await asyncio.sleep(0.01)
        yield f"ws://127.0.0.1:{port}/graphql"
    finally:
        server.should_exit = True
        async with asyncio.timeout(TIMEOUT):
            await task
        listener.close()


def open_socket(url: str, headers: dict[str, str] | None = None) -> connect:
    return connect(
        url,
        subprotocols=[PROTOCOL],
        additional_headers=headers or {},
        open_timeout=TIMEOUT,
        close_timeout=TIMEOUT,
    )


@contextlib.asynccontextmanager
async def graphql_ws(
    url: str, headers: dict[str, str] | None = None
) -> AsyncIterator[ClientConnection]:
    """An acknowledged graphql-transport-ws connection."""
    async with open_socket(url, headers) as ws:
        assert ws.subprotocol == PROTOCOL
        await send(ws, {"type": "connection_init"})
        assert await receive(ws) == {"type": "connection_ack"}
        yield ws


async def send(ws: ClientConnection, message: dict[str, Any]) -> None:
    async with asyncio.timeout(TIMEOUT):
        await ws.send(json.dumps(message))


async def receive(ws: ClientConnection) -> dict[str, Any]:
    async with asyncio.timeout(TIMEOUT):
        return json.loads(await ws.recv())


async def subscribe(ws: ClientConnection, id: str, query: str) -> None:
    await send(ws, {"id": id, "type": "subscribe", "payload": {"query": query}})


async def three_ticks(ws: ClientConnection, id: str = "1") -> list[str]:
    """Subscribe to three clock ticks; return their values after checking the framing."""
    await subscribe(ws, id, THREE_TICKS)
    messages = [await receive(ws) for _ in range(3)]
    assert await receive(ws) == {"id": id, "type": "complete"}
    for message in messages:
        assert message.keys() == {"id", "type", "payload"}
        assert (message["id"], message["type"]) == (id, "next")
        assert message["payload"].keys() == {"data"}
    return [message["payload"]["data"]["serverTime"] for message in messages]


async def test_server_time_streams_count_ticks_then_completes(server_url: str) -> None:
    async with graphql_ws(server_url) as ws:
        started = asyncio.get_running_loop().time()
        ticks = await three_ticks(ws)
        elapsed = asyncio.get_running_loop().time() - started

    assert all(tick.endswith("Z") for tick in ticks), ticks
    times = [datetime.fromisoformat(tick) for tick in ticks]
    assert all(t.tzinfo == UTC for t in times)
    assert times == sorted(times)
    assert elapsed >= 0.09  # two waits of intervalSeconds between three ticks


@pytest.mark.parametrize(
    ("arguments", "field", "problem"),
    [
        ("count: 0", "count", "Must be between 1 and 3600."),
        ("count: 3601", "count", "Must be between 1 and 3600."),
        ("count: 1, intervalSeconds: 0.001", "intervalSeconds", "Must be between 0.01 and 60."),
        ("count: 1, intervalSeconds: 61", "intervalSeconds", "Must be between 0.01 and 60."),
    ],
)
async def test_out_of_range_argument_is_a_validation_failed_result_then_complete(
    server_url: str, arguments: str, field: str, problem: str
) -> None:
    async with graphql_ws(server_url) as ws:
        await subscribe(ws, "7", f"subscription {{ serverTime({arguments}) }}")
        result = await receive(ws)
        done = await receive(ws)

    assert result == {
        "id": "7",
        "type": "next",
        "payload": {
            "data": None,
            "errors": [
                {
                    "message": f"{field}: {problem}",
                    "extensions": {"code": "VALIDATION_FAILED", "details": {field: problem}},
                }
            ],
        },
    }
    assert done == {"id": "7", "type": "complete"}


async def test_invalid_document_is_an_error_message_and_the_connection_stays_usable(
    server_url: str,
) -> None:
    async with graphql_ws(server_url) as ws:
        await subscribe(ws, "bad", 'subscription { serverTime(count: "x") }')
        error = await receive(ws)
        # `error` ends the operation without `complete`; the next message is the next one's.
        ticks = await three_ticks(ws, id="good")

    assert error == {
        "id": "bad",
        "type": "error",
        "payload": [
            {
                "message": 'Int cannot represent non-integer value: "x"',
                "locations": [{"line": 1, "column": 34}],
                "extensions": {"code": "VALIDATION_FAILED"},
            }
        ],
    }
    assert len(ticks) == 3


async def test_unknown_key_is_refused_at_the_handshake(server_url: str) -> None:
    # uvicorn supports ASGI's websocket.http.response, so the handshake gets a real 401.
    with pytest.raises(InvalidStatus) as refused:
        async with open_socket(server_url, {"x-api-key": "ck_bogus"}):
            pytest.fail("the handshake was accepted")

    response = refused.value.response
    assert response.status_code == 401
    assert orjson.loads(response.body)["errors"][0]["extensions"]["code"] == "UNAUTHORIZED"
    assert response.headers["x-request-id"].startswith("req_")
    assert response.headers["x-ratelimit-limit"]


async def test_revoked_key_cannot_subscribe(server_url: str, database: Database) -> None:
    key, plaintext = await make_api_key(database, name="subscriber")
    async with database.unit_of_work() as uow:
        await revoke_api_key(uow, SYSTEM, id=key.id)
        await uow.commit()

    with pytest.raises(InvalidStatus) as refused:
        async with open_socket(server_url, {"x-api-key": plaintext}):
            pytest.fail("the handshake was accepted")

    assert refused.value.response.status_code == 401


async def test_cookie_handshake_from_a_foreign_origin_is_refused(server_url: str) -> None:
    headers = {"cookie": "cartograph_session=abc", "origin": "https://evil.example.net"}
    with pytest.raises(InvalidStatus) as refused:
        async with open_socket(server_url, headers):
            pytest.fail("the handshake was accepted")

    assert refused.value.response.status_code == 403
    assert orjson.loads(refused.value.response.body)["errors"][0]["extensions"]["code"] == (
        "FORBIDDEN"
    )


@pytest.mark.parametrize("scheme", ["x-api-key", "bearer"])
async def test_valid_key_subscribes_and_is_recorded_as_used(
    server_url: str, database: Database, scheme: str
) -> None:
    key, plaintext = await make_api_key(database, name="subscriber", permissions=["audit:read"])
    headers = (
        {"x-api-key": plaintext}
        if scheme == "x-api-key"
        else {"authorization": f"Bearer {plaintext}"}
    )

    async with graphql_ws(server_url, headers) as ws:
        ticks = await three_ticks(ws)

    assert len(ticks) == 3
    async with database.read_session() as session:
        stored = await session.get(ApiKey, key.id)
    assert stored is not None and stored.last_used_at is not None
