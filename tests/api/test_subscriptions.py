"""GraphQL over a real websocket (uvicorn in the test's event loop, the `websockets` client).

Both protocols (`graphql-transport-ws`, legacy `graphql-ws`), text frames only; the credential
from the handshake headers or the `connection_init` payload, checked before `connection_ack`
and again before every operation; refusals close with 4401 (credential), 4403 (origin, or a
credential withdrawn while the socket is open) or 4429 (too many refused credentials). Every
wait is bounded. `test_graphql_ws_clients.py` runs the same server with the `gql` client.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from starlette.applications import Starlette
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed
from websockets.typing import Subprotocol

from app.auth.actor import SYSTEM
from app.db import Database
from app.events.pubsub import LiveEvents
from app.models.apikeys import ApiKey
from app.services.apikeys import generate_key, revoke_api_key
from tests.conftest import client_for
from tests.support.cost import without_cost
from tests.support.factories import make_api_key
from tests.support.live import tick
from tests.support.server import serving

TIMEOUT = 5.0
PROTOCOL = Subprotocol("graphql-transport-ws")
LEGACY = Subprotocol("graphql-ws")
THREE_TICKS = 'subscription { events(types: ["test.tick"], limit: 3) { id type occurredAt } }'
COUNT_KEYS = "{ apiKeys { totalCount } }"


def websocket_url(base_url: str) -> str:
    return base_url.replace("http://", "ws://", 1) + "/graphql"


@pytest.fixture
def live(app: Starlette) -> LiveEvents:
    """The server's live events, which a test publishes to."""
    return app.state.live


@pytest.fixture
async def reader(database: Database) -> dict[str, str]:
    """A connection_init payload with a key that hears the test's made-up events."""
    _, plaintext = await make_api_key(database, name="listener", permissions=["apiKeys:manage"])
    return {"x-api-key": plaintext}


@pytest.fixture
async def server_url(app: Starlette) -> AsyncIterator[str]:
    """ws:// URL of /graphql on a uvicorn server running the module's app on the test database
    (its rate-limit counters outlive a test, but its limits are far out of reach)."""
    async with serving(app) as base_url:
        yield websocket_url(base_url)


def open_socket(
    url: str, headers: dict[str, str] | None = None, protocol: Subprotocol = PROTOCOL
) -> connect:
    return connect(
        url,
        subprotocols=[protocol],
        additional_headers=headers or {},
        open_timeout=TIMEOUT,
        close_timeout=TIMEOUT,
    )


@contextlib.asynccontextmanager
async def graphql_ws(
    url: str,
    headers: dict[str, str] | None = None,
    payload: dict[str, Any] | None = None,
    protocol: Subprotocol = PROTOCOL,
) -> AsyncIterator[ClientConnection]:
    """An acknowledged connection; `payload` is the connection_init payload."""
    async with open_socket(url, headers, protocol) as ws:
        assert ws.subprotocol == protocol
        await send(ws, {"type": "connection_init", "payload": payload or {}})
        assert await receive(ws) == {"type": "connection_ack"}
        yield ws


async def send(ws: ClientConnection, message: dict[str, Any]) -> None:
    async with asyncio.timeout(TIMEOUT):
        await ws.send(json.dumps(message))


async def receive(ws: ClientConnection) -> dict[str, Any]:
    """The next message, which must come as a text frame (browsers and gql refuse binary)."""
    async with asyncio.timeout(TIMEOUT):
        frame = await ws.recv()
    assert isinstance(frame, str), f"a binary frame: {frame!r}"
    return json.loads(frame)


async def until_closed(ws: ClientConnection) -> list[dict[str, Any]]:
    """Every message until the server closes the socket (its code: `ws.close_code`)."""
    messages = []
    with contextlib.suppress(ConnectionClosed):
        while True:
            messages.append(await receive(ws))
    return messages


async def subscribe(ws: ClientConnection, id: str, query: str) -> None:
    await send(ws, {"id": id, "type": "subscribe", "payload": {"query": query}})


async def run_operation(ws: ClientConnection, id: str, query: str) -> dict[str, Any]:
    """A single-result operation on either protocol: its result's payload (less its cost,
    checked to be there), after `complete`."""
    legacy = ws.subprotocol == LEGACY
    await send(
        ws, {"id": id, "type": "start" if legacy else "subscribe", "payload": {"query": query}}
    )
    result = await receive(ws)
    assert (result["id"], result["type"]) == (id, "data" if legacy else "next"), result
    assert await receive(ws) == {"id": id, "type": "complete"}
    return without_cost(result["payload"])


async def three_ticks(ws: ClientConnection, live: LiveEvents, id: str = "1") -> list[str]:
    """Subscribe to three events (published once the subscription listens), which end it;
    return their times after checking the framing."""
    listening = set(live.subscribers)
    await subscribe(ws, id, THREE_TICKS)
    await tick(live, 3, besides=listening)
    messages = [await receive(ws) for _ in range(3)]
    assert await receive(ws) == {"id": id, "type": "complete"}
    for message in messages:
        assert message.keys() == {"id", "type", "payload"}
        assert (message["id"], message["type"]) == (id, "next")
        assert message["payload"].keys() == {"data", "extensions"}
    return [message["payload"]["data"]["events"]["occurredAt"] for message in messages]


async def test_events_stream_until_their_limit_then_complete(
    server_url: str, live: LiveEvents, reader: dict[str, str]
) -> None:
    async with graphql_ws(server_url, payload=reader) as ws:
        ticks = await three_ticks(ws, live)

    assert all(tick.endswith("Z") for tick in ticks), ticks
    times = [datetime.fromisoformat(tick) for tick in ticks]
    assert all(t.tzinfo == UTC for t in times)
    assert times == sorted(times)


@pytest.mark.parametrize(
    ("arguments", "field", "problem"),
    [
        ("limit: 0", "limit", "Must be between 1 and 10000."),
        ("limit: 10001", "limit", "Must be between 1 and 10000."),
    ],
)
async def test_out_of_range_argument_is_a_validation_failed_result_then_complete(
    server_url: str, reader: dict[str, str], arguments: str, field: str, problem: str
) -> None:
    async with graphql_ws(server_url, payload=reader) as ws:
        await subscribe(ws, "7", f"subscription {{ events({arguments}) {{ id }} }}")
        result = await receive(ws)
        done = await receive(ws)

    result["payload"] = without_cost(result["payload"])
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
    server_url: str, live: LiveEvents, reader: dict[str, str]
) -> None:
    async with graphql_ws(server_url, payload=reader) as ws:
        await subscribe(ws, "bad", 'subscription { events(limit: "x") { id } }')
        error = await receive(ws)
        # `error` ends the operation without `complete`; the next message is the next one's.
        ticks = await three_ticks(ws, live, id="good")

    assert error == {
        "id": "bad",
        "type": "error",
        "payload": [
            {
                "message": 'Int cannot represent non-integer value: "x"',
                "locations": [{"line": 1, "column": 30}],
                "extensions": {"code": "VALIDATION_FAILED"},
            }
        ],
    }
    assert len(ticks) == 3


async def test_unknown_key_in_the_handshake_closes_the_socket_with_4401(server_url: str) -> None:
    # Accepted, then closed: a browser reads the close code, never a refused handshake's status.
    async with open_socket(server_url, {"x-api-key": "ck_bogus"}) as ws:
        messages = await until_closed(ws)

    assert messages == []
    assert (ws.close_code, ws.close_reason) == (4401, "Invalid, revoked or expired credential.")
    assert ws.response is not None
    assert ws.response.headers["x-request-id"].startswith("req_")
    assert ws.response.headers["x-ratelimit-limit"]


async def test_revoked_key_in_the_handshake_closes_the_socket_with_4401(
    server_url: str, database: Database
) -> None:
    key, plaintext = await make_api_key(database, name="subscriber")
    async with database.unit_of_work() as uow:
        await revoke_api_key(uow, SYSTEM, id=key.id)
        await uow.commit()

    async with open_socket(server_url, {"x-api-key": plaintext}) as ws:
        messages = await until_closed(ws)

    assert messages == [] and ws.close_code == 4401


async def test_cookie_handshake_from_a_foreign_origin_closes_the_socket_with_4403(
    server_url: str,
) -> None:
    headers = {"cookie": "cartograph_session=abc", "origin": "https://evil.example.net"}
    async with open_socket(server_url, headers) as ws:
        messages = await until_closed(ws)

    assert messages == []
    assert (ws.close_code, ws.close_reason) == (4403, "Cross-origin request refused.")


@pytest.mark.parametrize("scheme", ["x-api-key", "bearer"])
async def test_valid_key_subscribes_and_is_recorded_as_used(
    server_url: str, live: LiveEvents, database: Database, scheme: str
) -> None:
    key, plaintext = await make_api_key(database, name="subscriber", permissions=["audit:read"])
    headers = (
        {"x-api-key": plaintext}
        if scheme == "x-api-key"
        else {"authorization": f"Bearer {plaintext}"}
    )

    async with graphql_ws(server_url, headers) as ws:
        ticks = await three_ticks(ws, live)

    assert len(ticks) == 3
    async with database.read_session() as session:
        stored = await session.get(ApiKey, key.id)
    assert stored is not None and stored.last_used_at is not None


@pytest.mark.parametrize("protocol", [PROTOCOL, LEGACY])
async def test_every_message_is_a_text_frame(server_url: str, protocol: Subprotocol) -> None:
    start = "start" if protocol == LEGACY else "subscribe"
    async with open_socket(server_url, protocol=protocol) as ws:
        await send(ws, {"type": "connection_init", "payload": {}})
        await send(ws, {"id": "1", "type": start, "payload": {"query": "{ ping }"}})
        async with asyncio.timeout(TIMEOUT):
            frames = [await ws.recv() for _ in range(3)]

    assert all(isinstance(frame, str) for frame in frames), frames
    assert [json.loads(frame)["type"] for frame in frames] == [
        "connection_ack",
        "data" if protocol == LEGACY else "next",
        "complete",
    ]


@pytest.mark.parametrize(
    "init_payload",
    [
        pytest.param(lambda key: {"x-api-key": key}, id="x-api-key"),
        pytest.param(lambda key: {"X-API-Key": f" {key} "}, id="X-API-Key"),
        pytest.param(lambda key: {"Authorization": f"Bearer {key}"}, id="Authorization"),
        pytest.param(lambda key: {"AUTHORIZATION": f"bearer {key}"}, id="AUTHORIZATION"),
        pytest.param(lambda key: {"headers": {"x-api-key": key}}, id="headers.x-api-key"),
    ],
)
async def test_key_in_connection_init_is_the_connections_actor(
    server_url: str, database: Database, init_payload: Callable[[str], dict[str, Any]]
) -> None:
    _, plaintext = await make_api_key(database, name="reader", permissions=["apiKeys:manage"])

    async with graphql_ws(server_url, payload=init_payload(plaintext)) as ws:
        counted = await run_operation(ws, "1", COUNT_KEYS)
    async with graphql_ws(server_url) as ws:
        anonymous = await run_operation(ws, "1", COUNT_KEYS)

    assert counted == {"data": {"apiKeys": {"totalCount": 1}}}
    assert anonymous["errors"][0]["extensions"]["code"] == "UNAUTHORIZED"


async def test_key_in_connection_init_wins_over_the_handshakes(
    server_url: str, database: Database
) -> None:
    _, reader = await make_api_key(database, name="reader", permissions=["apiKeys:manage"])
    _, other = await make_api_key(database, name="other", permissions=["catalog:read"])

    async with graphql_ws(server_url, {"x-api-key": other}, {"x-api-key": reader}) as ws:
        counted = await run_operation(ws, "1", COUNT_KEYS)

    assert counted == {"data": {"apiKeys": {"totalCount": 2}}}


async def test_invented_key_in_connection_init_closes_with_4401_before_ack(
    server_url: str,
) -> None:
    async with open_socket(server_url) as ws:
        await send(ws, {"type": "connection_init", "payload": {"x-api-key": generate_key()}})
        messages = await until_closed(ws)

    assert messages == []  # no connection_ack
    assert (ws.close_code, ws.close_reason) == (4401, "Invalid, revoked or expired credential.")


async def test_invented_key_in_legacy_connection_init_is_a_connection_error_and_4401(
    server_url: str,
) -> None:
    async with open_socket(server_url, protocol=LEGACY) as ws:
        await send(ws, {"type": "connection_init", "payload": {"Authorization": "Bearer nope"}})
        messages = await until_closed(ws)

    assert messages == [
        {
            "type": "connection_error",
            "payload": {
                "message": "Invalid, revoked or expired credential.",
                "extensions": {"code": "UNAUTHORIZED"},
            },
        }
    ]
    assert ws.close_code == 4401


async def test_a_second_connection_init_closes_with_4429_whatever_it_presents(
    server_url: str,
) -> None:
    async with graphql_ws(server_url) as ws:
        await send(ws, {"type": "connection_init", "payload": {"x-api-key": generate_key()}})
        messages = await until_closed(ws)

    assert messages == []
    assert (ws.close_code, ws.close_reason) == (4429, "Too many initialisation requests")


async def test_subscribing_before_connection_ack_closes_with_4401(server_url: str) -> None:
    async with open_socket(server_url) as ws:
        await subscribe(ws, "1", THREE_TICKS)
        messages = await until_closed(ws)

    assert messages == [] and ws.close_code == 4401


@pytest.mark.parametrize("protocol", [PROTOCOL, LEGACY])
async def test_key_revoked_on_an_open_socket_is_refused_on_its_next_operation(
    server_url: str, database: Database, protocol: Subprotocol
) -> None:
    key, plaintext = await make_api_key(database, name="reader", permissions=["apiKeys:manage"])

    async with graphql_ws(server_url, payload={"x-api-key": plaintext}, protocol=protocol) as ws:
        before = await run_operation(ws, "1", COUNT_KEYS)
        async with database.unit_of_work() as uow:
            await revoke_api_key(uow, SYSTEM, id=key.id)
            await uow.commit()
        await send(
            ws,
            {
                "id": "2",
                "type": "start" if protocol == LEGACY else "subscribe",
                "payload": {"query": COUNT_KEYS},
            },
        )
        after = await until_closed(ws)

    assert before == {"data": {"apiKeys": {"totalCount": 1}}}
    assert after == []  # the operation never ran
    assert (ws.close_code, ws.close_reason) == (
        4403,
        "The connection's credential was revoked or has expired.",
    )


async def test_websocket_operations_count_against_the_actors_http_window(
    make_app: Callable[..., Starlette], database: Database
) -> None:
    _, plaintext = await make_api_key(database, name="busy", permissions=["apiKeys:manage"])
    app = make_app(rate_limit="3/minute")

    async with (
        serving(app) as base_url,
        graphql_ws(websocket_url(base_url), payload={"x-api-key": plaintext}) as ws,
    ):
        # The handshake presented no key: it counted against the address, not the key.
        allowed = [await run_operation(ws, str(i), "{ ping }") for i in range(3)]
        await subscribe(ws, "over", "{ ping }")
        refused = await receive(ws)
        await send(ws, {"type": "ping"})
        still_open = await receive(ws)
    async with client_for(app, headers={"x-api-key": plaintext}) as http:
        over_http = await http.post("/graphql", json={"query": "{ ping }"})

    assert allowed == [{"data": {"ping": "pong"}}] * 3
    assert refused["id"] == "over" and refused["type"] == "error"
    assert refused["payload"][0]["extensions"] == {"code": "RATE_LIMITED"}
    assert refused["payload"][0]["message"].startswith("Rate limit exceeded; retry in ")
    assert still_open == {"type": "pong"}
    assert over_http.status_code == 429  # the same window, spent over the socket


async def test_refused_connection_init_keys_count_against_the_address(
    make_app: Callable[..., Starlette],
) -> None:
    async with serving(make_app(auth_failure_limit="2/minute")) as base_url:
        codes = []
        for _ in range(3):
            async with open_socket(websocket_url(base_url)) as ws:
                await send(
                    ws, {"type": "connection_init", "payload": {"x-api-key": generate_key()}}
                )
                await until_closed(ws)
                codes.append(ws.close_code)

    assert codes == [4401, 4401, 4429]


async def test_a_page_on_another_origin_subscribes_with_its_key_in_connection_init(
    server_url: str, live: LiveEvents, database: Database
) -> None:
    # No cookie rides along, so no origin check is needed (a browser storefront elsewhere).
    _, plaintext = await make_api_key(database, name="storefront")
    headers = {"origin": "https://shop.example.com"}

    async with graphql_ws(server_url, headers, {"x-api-key": plaintext}) as ws:
        ticks = await three_ticks(ws, live)

    assert len(ticks) == 3
