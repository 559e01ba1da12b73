"""Rate limits that invented keys cannot dodge (DESIGN §9).

A verified key counts against a window of its own, whatever its spelling; anonymous requests
and refused credentials count against the client address; a credential that cannot be one of
our keys by its shape is refused without a database statement; and an address that keeps
failing has its credentials refused before they are looked up.
"""

from __future__ import annotations

import logging
import secrets
import time
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.types import Message, Scope

from app.auth.actor import SYSTEM
from app.db import Database
from app.services.apikeys import generate_key, is_well_formed, revoke_api_key
from tests.api.test_subscriptions import graphql_ws, receive, send, websocket_url
from tests.support.cost import without_cost
from tests.support.factories import make_api_key
from tests.support.queries import count_queries
from tests.support.rate_limit import STORAGES, client_at, redis_url_for, unique_address
from tests.support.server import serving

LIMIT = 5
KEYS = "/api/v1/api-keys"
HEALTH = "/api/health"


@pytest.fixture(params=STORAGES)
def build(
    request: pytest.FixtureRequest, make_app: Callable[..., Starlette]
) -> Callable[..., Starlette]:
    """An app on this storage with a window of LIMIT a minute (other settings overridable)."""

    def build_app(**overrides: Any) -> Starlette:
        settings = {"rate_limit": f"{LIMIT}/minute", "redis_url": redis_url_for(request.param)}
        return make_app(**(settings | overrides))

    return build_app


@pytest.fixture
def limited(build: Callable[..., Starlette]) -> Starlette:
    return build()


def remaining(responses: list[httpx.Response]) -> list[str]:
    return [r.headers["x-ratelimit-remaining"] for r in responses]


def assert_rate_limited(response: httpx.Response, *, limit: int) -> None:
    gateway = response.request.url.path.startswith("/api/v1/")
    assert response.status_code == 429
    assert response.json()["error"]["code"] == ("RATE_LIMITED" if gateway else "TOO_MANY_REQUESTS")
    assert response.headers["x-ratelimit-limit"] == str(limit)
    assert response.headers["x-ratelimit-remaining"] == "0"
    assert int(response.headers["x-ratelimit-reset"]) >= int(time.time())
    assert 1 <= int(response.headers["retry-after"]) <= 60


# ---- refused credentials count against the address -----------------------------------------


INVENTED: dict[str, Callable[[], dict[str, str]]] = {
    "unknown key": lambda: {"x-api-key": generate_key()},
    "unknown bearer key": lambda: {"authorization": f"Bearer {generate_key()}"},
    "malformed key": lambda: {"x-api-key": "ck_" + secrets.token_hex(8)},
    "other scheme": lambda: {"authorization": "Basic " + secrets.token_hex(8)},
}


@pytest.mark.parametrize("invent", INVENTED.values(), ids=INVENTED.keys())
async def test_rotating_invented_credentials_is_limited_like_the_address(
    limited: Starlette, invent: Callable[[], dict[str, str]]
) -> None:
    async with client_at(limited) as client:
        refused = [await client.get(KEYS, headers=invent()) for _ in range(LIMIT)]
        one_more = await client.get(KEYS, headers=invent())
        anonymous = await client.get(HEALTH)

    assert [r.status_code for r in refused] == [401] * LIMIT
    assert {r.json()["error"]["code"] for r in refused} == {"UNAUTHORIZED"}
    assert {r.headers["x-ratelimit-limit"] for r in refused} == {str(LIMIT)}
    assert remaining(refused) == ["4", "3", "2", "1", "0"]
    assert_rate_limited(one_more, limit=LIMIT)
    assert_rate_limited(anonymous, limit=LIMIT)


async def test_a_revoked_key_counts_against_the_address_not_its_own_window(
    limited: Starlette, database: Database
) -> None:
    key, plaintext = await make_api_key(database)
    async with client_at(limited) as client:
        verified = await client.get(HEALTH, headers={"x-api-key": plaintext})
        async with database.unit_of_work() as uow:
            await revoke_api_key(uow, SYSTEM, id=key.id)
            await uow.commit()
        revoked = await client.get(HEALTH, headers={"x-api-key": plaintext})
        anonymous = await client.get(HEALTH)

    assert verified.status_code == 200 and verified.headers["x-ratelimit-remaining"] == "4"
    assert revoked.status_code == 401 and revoked.headers["x-ratelimit-remaining"] == "4"
    assert anonymous.status_code == 200 and anonymous.headers["x-ratelimit-remaining"] == "3"


async def test_websocket_handshakes_with_invented_keys_count_against_the_address(
    limited: Starlette,
) -> None:
    address = unique_address()

    async def invented_handshake() -> tuple[int, dict[str, str]]:
        return await handshake(limited, address, {"x-api-key": generate_key()})

    refused = [await invented_handshake() for _ in range(LIMIT)]
    one_more = await invented_handshake()
    async with client_at(limited, address) as client:
        anonymous = await client.get(HEALTH)

    assert [code for code, _ in refused] == [4401] * LIMIT
    assert [headers["x-ratelimit-remaining"] for _, headers in refused] == ["4", "3", "2", "1", "0"]
    assert one_more[0] == 4429 and one_more[1]["retry-after"]
    assert anonymous.status_code == 429


async def handshake(
    app: Starlette, address: str, headers: dict[str, str]
) -> tuple[int, dict[str, str]]:
    """Open a websocket on /graphql as uvicorn would; return the close code that refuses it
    and the headers of the 101 that precedes the close."""
    scope: Scope = {
        "type": "websocket",
        "asgi": {"version": "3.0"},
        "scheme": "ws",
        "path": "/graphql",
        "raw_path": b"/graphql",
        "root_path": "",
        "query_string": b"",
        "headers": [(b"host", b"testserver")]
        + [(name.encode(), value.encode()) for name, value in headers.items()],
        "client": (address, 1),
        "server": ("testserver", 80),
        "subprotocols": ["graphql-transport-ws"],
    }
    incoming: list[Message] = [{"type": "websocket.connect"}]
    sent: list[Message] = []

    async def receive() -> Message:
        return incoming.pop(0) if incoming else {"type": "websocket.disconnect", "code": 1000}

    async def send(message: Message) -> None:
        sent.append(message)

    await app(scope, receive, send)
    accept, close = sent
    assert (accept["type"], close["type"]) == ("websocket.accept", "websocket.close"), sent
    return close["code"], {k.decode(): v.decode() for k, v in accept["headers"]}


# ---- verified keys count against windows of their own --------------------------------------


async def test_every_spelling_of_one_key_shares_its_window(
    limited: Starlette, database: Database
) -> None:
    _, key = await make_api_key(database)
    spellings = [
        {"authorization": f"Bearer {key}"},
        {"authorization": f"bearer {key}"},
        {"authorization": f"Bearer  {key}"},
        {"authorization": f" BEARER\t{key} "},
        {"x-api-key": key},
        {"x-api-key": f" {key} "},
    ]
    responses = []
    for headers in spellings:  # each from an address of its own: the window is the key's
        async with client_at(limited) as client:
            responses.append(await client.get(HEALTH, headers=headers))

    assert [r.status_code for r in responses[:LIMIT]] == [200] * LIMIT
    assert remaining(responses[:LIMIT]) == ["4", "3", "2", "1", "0"]
    assert_rate_limited(responses[LIMIT], limit=LIMIT)


async def test_verified_keys_and_anonymous_traffic_from_one_address_count_apart(
    limited: Starlette, database: Database
) -> None:
    _, first = await make_api_key(database, name="first")
    _, second = await make_api_key(database, name="second")
    async with client_at(limited) as client:
        firsts = [await client.get(HEALTH, headers={"x-api-key": first}) for _ in range(LIMIT)]
        first_again = await client.get(HEALTH, headers={"x-api-key": first})
        second_before = await client.get(HEALTH, headers={"x-api-key": second})
        anonymous = [await client.get(HEALTH) for _ in range(LIMIT)]
        anonymous_again = await client.get(HEALTH)
        second_after = await client.get(HEALTH, headers={"x-api-key": second})

    assert remaining(firsts) == ["4", "3", "2", "1", "0"]
    assert_rate_limited(first_again, limit=LIMIT)
    assert second_before.status_code == 200
    assert second_before.headers["x-ratelimit-remaining"] == "4"
    assert [r.status_code for r in anonymous] == [200] * LIMIT
    assert remaining(anonymous) == ["4", "3", "2", "1", "0"]
    assert_rate_limited(anonymous_again, limit=LIMIT)
    assert second_after.status_code == 200
    assert second_after.headers["x-ratelimit-remaining"] == "3"


# ---- failures are cheap -----------------------------------------------------------------


def test_every_minted_key_has_the_checked_shape() -> None:
    assert all(is_well_formed(generate_key()) for _ in range(500))


WELL_SHAPED = generate_key()
WRONG_SHAPES = {
    "too short": {"x-api-key": "ck_not-a-real-key"},
    "one character short": {"x-api-key": WELL_SHAPED[:-1]},
    "one character long": {"x-api-key": WELL_SHAPED + "A"},
    "other prefix": {"x-api-key": "sk_" + WELL_SHAPED[3:]},
    "standard base64": {"x-api-key": WELL_SHAPED[:10] + "+" + WELL_SHAPED[11:]},
    "impossible last character": {"x-api-key": WELL_SHAPED[:-1] + "B"},
    "inner space": {"x-api-key": WELL_SHAPED[:20] + " " + WELL_SHAPED[21:]},
    "blank": {"x-api-key": "   "},
    "bearer without a token": {"authorization": "Bearer"},
    "other scheme": {"authorization": f"Basic {WELL_SHAPED}"},
}


@pytest.mark.parametrize("headers", WRONG_SHAPES.values(), ids=WRONG_SHAPES.keys())
async def test_a_credential_of_the_wrong_shape_is_refused_without_a_statement(
    client: httpx.AsyncClient, database: Database, headers: dict[str, str]
) -> None:
    with count_queries(database) as queries:
        response = await client.get(KEYS, headers=headers)

    assert response.status_code == 401
    assert response.json()["error"]["code"] == "UNAUTHORIZED"
    assert queries.statements == []


async def test_a_well_shaped_unknown_key_costs_exactly_its_lookup(
    client: httpx.AsyncClient, database: Database
) -> None:
    with count_queries(database) as queries:
        response = await client.get(KEYS, headers={"authorization": f"Bearer {generate_key()}"})

    assert response.status_code == 401
    assert queries.count == 1, queries.statements
    assert queries.matching("FROM api_keys") == queries.statements


async def test_an_address_that_keeps_failing_is_refused_before_any_lookup(
    build: Callable[..., Starlette], database: Database
) -> None:
    app = build(rate_limit="100/minute", auth_failure_limit="3/minute")
    _, key = await make_api_key(database)
    async with client_at(app) as client:
        failures = [await client.get(KEYS, headers={"x-api-key": generate_key()}) for _ in "abc"]
        with count_queries(database) as queries:
            invented = await client.get(KEYS, headers={"x-api-key": generate_key()})
            real = await client.get(HEALTH, headers={"x-api-key": key})
        anonymous = await client.get(HEALTH)
    async with client_at(app) as elsewhere:
        real_elsewhere = await elsewhere.get(HEALTH, headers={"x-api-key": key})

    assert [r.status_code for r in failures] == [401, 401, 401]
    assert_rate_limited(invented, limit=3)
    assert_rate_limited(real, limit=3)
    assert queries.statements == []
    assert anonymous.status_code == 200
    assert anonymous.headers["x-ratelimit-remaining"] == "96"
    assert real_elsewhere.status_code == 200


# ---- a store that is down ---------------------------------------------------------------


async def test_a_rate_limit_store_that_is_down_lets_requests_through_and_still_authenticates(
    make_app: Callable[..., Starlette], database: Database, caplog: pytest.LogCaptureFixture
) -> None:
    app = make_app(rate_limit="1/minute", redis_url="redis://127.0.0.1:1/0")
    _, key = await make_api_key(database)
    with caplog.at_level(logging.ERROR, logger="app.middleware.rate_limit"):
        async with client_at(app) as client:
            anonymous = [await client.get(HEALTH) for _ in range(3)]
            invented = await client.get(HEALTH, headers={"x-api-key": generate_key()})
            real = await client.get(HEALTH, headers={"x-api-key": key})

    assert [r.status_code for r in anonymous] == [200, 200, 200]
    assert "x-ratelimit-limit" not in anonymous[0].headers
    assert invented.status_code == 401
    assert real.status_code == 200
    assert "rate-limit storage unavailable; request let through" in caplog.messages


# ---- websocket operations share the principal's window -----------------------------------


@pytest.mark.parametrize("protocol", ["graphql-transport-ws", "graphql-ws"])
async def test_websocket_operations_and_every_spelling_over_http_share_one_window(
    build: Callable[..., Starlette], database: Database, protocol: str
) -> None:
    # Issue 10: operations sent over a websocket were never counted, and each spelling of a
    # key had a window of its own. Every count below lands in the key's one window.
    app = build()
    _, key = await make_api_key(database)
    legacy = protocol == "graphql-ws"

    async def operation(ws: Any, id: str) -> dict[str, Any]:
        """The operation's result, or the error that refused it."""
        kind = "start" if legacy else "subscribe"
        await send(ws, {"id": id, "type": kind, "payload": {"query": "{ ping }"}})
        answer = await receive(ws)
        if answer["type"] != "error":
            assert await receive(ws) == {"id": id, "type": "complete"}
        return answer

    async with client_at(app) as http:
        first = await http.get(HEALTH, headers={"authorization": f"bearer {key}"})
        async with serving(app) as base_url:
            headers = {"authorization": f"Bearer  {key}"}  # the handshake counts: 1
            async with graphql_ws(websocket_url(base_url), headers, protocol=protocol) as ws:
                ran = [await operation(ws, str(i)) for i in range(2)]
                last = await http.get(HEALTH, headers={"x-api-key": key})
                refused = await operation(ws, "over")
        over = await http.get(HEALTH, headers={"authorization": f"BEARER {key}"})

    assert first.headers["x-ratelimit-remaining"] == "4"
    assert [without_cost(r["payload"]) for r in ran] == [{"data": {"ping": "pong"}}] * 2
    assert last.status_code == 200 and last.headers["x-ratelimit-remaining"] == "0"
    assert (refused["id"], refused["type"]) == ("over", "error")
    payload = refused["payload"] if legacy else refused["payload"][0]
    assert payload["extensions"] == {"code": "RATE_LIMITED"}
    assert_rate_limited(over, limit=LIMIT)
