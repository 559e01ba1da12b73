"""A credential withdrawn while in use stops working at once (issue 10, part 1).

Finding: a revoked or expired key kept full access on a websocket opened before (it even minted
a new key after revocation), as the actor was resolved once, at the handshake. Now the actor is
resolved again before every operation and before every result a subscription delivers, and a
socket whose key is revoked or expires is closed with 4403. Revoking follows the minting rule:
a key may revoke only keys whose permissions it holds itself.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

import httpx
import pytest
from sqlalchemy import func, select
from starlette.applications import Starlette
from websockets.asyncio.client import ClientConnection
from websockets.typing import Subprotocol

from app.auth.actor import SYSTEM
from app.db import Database
from app.models.apikeys import ApiKey
from app.models.base import utcnow
from app.services.apikeys import create_api_key, revoke_api_key
from tests.api.test_checkout import product
from tests.api.test_subscriptions import (
    LEGACY,
    PROTOCOL,
    graphql_ws,
    open_socket,
    receive,
    send,
    server_url,  # noqa: F401 (a fixture)
    until_closed,
)
from tests.support.cost import without_cost
from tests.support.factories import make_api_key
from tests.support.live import dispatch, made_up, tick, ticking, until_subscribed

WITHDRAWN = (4403, "The connection's credential was revoked or has expired.")
MINT = 'mutation { createApiKey(input: {name: "after", permissions: ["audit:read"]}) { id } }'
# Fed made-up events (`tick`, `ticking`), which these keys (audit:read) hear.
MANY_TICKS = 'subscription { events(types: ["test.tick"]) { id } }'


async def revoke(database: Database, key: ApiKey) -> None:
    async with database.unit_of_work() as uow:
        await revoke_api_key(uow, SYSTEM, id=key.id)
        await uow.commit()


async def key_count(database: Database) -> int:
    async with database.read_session() as session:
        return await session.scalar(select(func.count()).select_from(ApiKey)) or 0


async def start(ws: ClientConnection, id: str, query: str) -> None:
    kind = "start" if ws.subprotocol == LEGACY else "subscribe"
    await send(ws, {"id": id, "type": kind, "payload": {"query": query}})


@pytest.mark.parametrize("protocol", [PROTOCOL, LEGACY])
async def test_a_revoked_key_cannot_mint_a_key_on_a_socket_it_opened(
    server_url: str,  # noqa: F811
    database: Database,
    protocol: Subprotocol,
) -> None:
    key, plaintext = await make_api_key(database, name="admin")

    async with graphql_ws(server_url, {"x-api-key": plaintext}, protocol=protocol) as ws:
        await revoke(database, key)
        await start(ws, "1", MINT)
        after = await until_closed(ws)

    assert after == []
    assert (ws.close_code, ws.close_reason) == WITHDRAWN
    assert await key_count(database) == 1  # the revoked key alone: nothing was minted


@pytest.mark.parametrize("protocol", [PROTOCOL, LEGACY])
async def test_an_open_subscription_of_a_revoked_key_ends_with_4403_at_its_next_delivery(
    server_url: str,  # noqa: F811
    app: Starlette,
    database: Database,
    protocol: Subprotocol,
) -> None:
    key, plaintext = await make_api_key(database, name="subscriber", permissions=["audit:read"])
    live = app.state.live
    listening = set(live.subscribers)

    async with graphql_ws(server_url, payload={"x-api-key": plaintext}, protocol=protocol) as ws:
        await start(ws, "ticks", MANY_TICKS)
        await tick(live, 1, besides=listening)
        before = await receive(ws)
        await revoke(database, key)
        await live.publish([made_up()])
        after = await until_closed(ws)

    assert before["type"] == ("data" if protocol == LEGACY else "next")
    assert after == []  # the event after the revocation was not delivered
    assert (ws.close_code, ws.close_reason) == WITHDRAWN


async def expiring_key(database: Database, seconds: float) -> str:
    async with database.unit_of_work() as uow:
        _, plaintext = await create_api_key(
            uow,
            SYSTEM,
            name="short-lived",
            permissions=["audit:read"],
            expires_at=utcnow() + timedelta(seconds=seconds),
        )
        await uow.commit()
    return plaintext


async def test_an_open_subscription_of_an_expiring_key_ends_with_4403(
    server_url: str,  # noqa: F811
    app: Starlette,
    database: Database,
) -> None:
    plaintext = await expiring_key(database, 1.0)
    loop = asyncio.get_running_loop()

    async with graphql_ws(server_url, {"x-api-key": plaintext}) as ws, ticking(app.state.live):
        started = loop.time()
        await start(ws, "ticks", MANY_TICKS)
        messages = await until_closed(ws)
        lasted = loop.time() - started

    assert 0.5 <= lasted < 3, lasted  # ended at the expiry
    assert messages and all(m["type"] == "next" for m in messages)
    assert (ws.close_code, ws.close_reason) == WITHDRAWN


async def test_an_idle_socket_is_closed_when_its_key_expires(
    server_url: str,  # noqa: F811
    database: Database,
) -> None:
    plaintext = await expiring_key(database, 0.5)

    async with graphql_ws(server_url, payload={"x-api-key": plaintext}) as ws:
        messages = await until_closed(ws)

    assert messages == []
    assert (ws.close_code, ws.close_reason) == WITHDRAWN


async def test_an_anonymous_subscription_delivers_with_no_credential_to_check(
    server_url: str,  # noqa: F811
    app: Starlette,
    client: httpx.AsyncClient,
    database: Database,
) -> None:
    # A customerless cart: its id is the shopper's credential, and a socket with no key may
    # follow it.
    mug = await product(database, "mug")
    cart = (await client.post("/api/carts", json={"currency": "USD"})).json()["data"]["id"]
    live = app.state.live
    listening = set(live.subscribers)

    async with open_socket(server_url) as ws:
        await send(ws, {"type": "connection_init", "payload": {}})
        assert await receive(ws) == {"type": "connection_ack"}
        await start(ws, "t", f'subscription {{ cartUpdated(cartId: "{cart}") {{ id }} }}')
        await until_subscribed(live, besides=listening)
        for _ in range(2):
            added = await client.post(
                f"/api/carts/{cart}/items", json={"entityId": str(mug.id), "quantity": 1}
            )
            assert added.status_code == 201, added.text
        await dispatch(app)
        messages = [await receive(ws) for _ in range(2)]

    assert [m["type"] for m in messages] == ["next", "next"]
    assert all(m["payload"]["data"]["cartUpdated"]["id"] == cart for m in messages)


# ---- revoking follows the minting rule ---------------------------------------------------

REVOKE = "mutation R($id: ID!) { revokeApiKey(input: {id: $id}) { id } }"


@pytest.mark.parametrize(
    ("revoker", "target", "allowed"),
    [
        (["apiKeys:manage"], ["*:*"], False),
        (["apiKeys:manage"], ["catalog:read"], False),
        (["apiKeys:manage", "catalog:*"], ["catalog:read", "orders:read"], False),
        (["apiKeys:manage", "catalog:*"], ["catalog:read", "catalog:update"], True),
        (["apiKeys:manage"], ["apiKeys:manage"], True),
        (["*:*"], ["*:*"], True),
    ],
)
async def test_a_key_revokes_only_keys_within_its_own_grants(
    client: httpx.AsyncClient,
    database: Database,
    revoker: list[str],
    target: list[str],
    allowed: bool,
) -> None:
    _, revoker_key = await make_api_key(database, name="revoker", permissions=revoker)
    victim, _ = await make_api_key(database, name="victim", permissions=target)
    headers = {"x-api-key": revoker_key}

    graphql = await client.post(
        "/graphql", json={"query": REVOKE, "variables": {"id": str(victim.id)}}, headers=headers
    )
    async with database.read_session() as session:
        stored = await session.get(ApiKey, victim.id)

    if allowed:
        assert without_cost(graphql.json()) == {"data": {"revokeApiKey": {"id": str(victim.id)}}}
        assert stored is not None and stored.revoked_at is not None
    else:
        assert graphql.json()["data"] is None
        [error] = graphql.json()["errors"]
        assert error["extensions"] == {"code": "FORBIDDEN"}
        assert error["message"] == (
            "A key cannot revoke a key with permissions it does not hold itself."
        )
        assert stored is not None and stored.revoked_at is None


async def test_rest_revoke_of_a_wider_key_is_403_and_changes_nothing(
    client: httpx.AsyncClient, database: Database
) -> None:
    _, manager = await make_api_key(database, name="manager", permissions=["apiKeys:manage"])
    admin, admin_key = await make_api_key(database, name="admin")

    refused = await client.delete(f"/api/v1/api-keys/{admin.id}", headers={"x-api-key": manager})
    still_works = await client.get("/api/v1/api-keys", headers={"x-api-key": admin_key})

    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "FORBIDDEN"
    assert still_works.status_code == 200
    assert {k["name"]: k["status"] for k in still_works.json()["data"]} == {
        "admin": "active",
        "manager": "active",
    }


async def test_refusing_a_revocation_tells_nothing_of_the_keys_state(
    client: httpx.AsyncClient, database: Database
) -> None:
    # An already revoked wider key answers 403 too, not the 409 that would confirm its state.
    _, manager = await make_api_key(database, name="manager", permissions=["apiKeys:manage"])
    admin, _ = await make_api_key(database, name="admin")
    await revoke(database, admin)

    refused = await client.delete(f"/api/v1/api-keys/{admin.id}", headers={"x-api-key": manager})

    assert refused.status_code == 403
