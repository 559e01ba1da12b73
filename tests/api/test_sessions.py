"""The session cookie: who it makes the request, and when it stops working."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest
from sqlalchemy import select, update
from starlette.applications import Starlette

from app.db import Database
from app.models.base import utcnow
from app.models.users import User, UserSession
from app.services.sessions import LAST_SEEN_RESOLUTION
from tests.support.users import cookie_client, make_user, session_token

CREATE_CART = 'mutation { createCart(input: {currency: "USD"}) { customerId } }'
API_KEYS = "{ apiKeys { totalCount } }"


async def graphql(http: httpx.AsyncClient, query: str) -> dict:
    response = await http.post("/graphql", json={"query": query})
    assert response.status_code == 200, response.text
    return response.json()


async def test_a_customer_cookie_opens_the_customers_own_cart(
    app: Starlette, database: Database
) -> None:
    user = await make_user(database)
    async with cookie_client(app, await session_token(database, user)) as http:
        body = await graphql(http, CREATE_CART)
    assert body["data"]["createCart"]["customerId"] == str(user.customer_id)


async def test_roles_give_a_session_its_permissions(app: Starlette, database: Database) -> None:
    customer = await make_user(database)
    staff = await make_user(database, email="root@example.com", roles=("admin",), customer=False)
    async with cookie_client(app, await session_token(database, customer)) as http:
        refused = await graphql(http, API_KEYS)
    async with cookie_client(app, await session_token(database, staff)) as http:
        allowed = await graphql(http, API_KEYS)
    assert refused["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert allowed["data"]["apiKeys"]["totalCount"] == 0


@pytest.mark.parametrize("ended", ["revoked", "expired", "idle", "inactive user", "unknown"])
async def test_a_dead_session_cookie_is_anonymous_not_refused(
    app: Starlette, database: Database, ended: str
) -> None:
    user = await make_user(database)
    token = await session_token(database, user)
    async with database.unit_of_work() as uow:
        sessions = update(UserSession).where(UserSession.user_id == user.id)
        if ended == "revoked":
            await uow.session.execute(sessions.values(revoked_at=utcnow()))
        elif ended == "expired":
            await uow.session.execute(sessions.values(expires_at=utcnow()))
        elif ended == "idle":
            await uow.session.execute(sessions.values(idle_timeout_seconds=0))
        elif ended == "inactive user":
            await uow.session.execute(
                update(User).where(User.id == user.id).values(status="inactive")
            )
        else:
            token = token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")
        await uow.commit()
    async with cookie_client(app, token) as http:
        body = await graphql(http, CREATE_CART)
        health = await http.get("/api/health")
    # Anonymous: the cart belongs to no one, and public routes still answer.
    assert body["data"]["createCart"]["customerId"] is None
    assert health.status_code == 200


async def test_a_header_credential_wins_over_the_cookie(
    app: Starlette, database: Database, admin_key: str
) -> None:
    user = await make_user(database)
    token = await session_token(database, user)
    async with cookie_client(app, token, headers={"x-api-key": admin_key}) as http:
        body = await graphql(http, API_KEYS)
    assert body["data"]["apiKeys"]["totalCount"] == 1


async def test_last_seen_is_written_at_most_once_a_minute(
    app: Starlette, database: Database
) -> None:
    user = await make_user(database)
    token = await session_token(database, user)
    async with database.unit_of_work() as uow:
        stale = utcnow() - LAST_SEEN_RESOLUTION - timedelta(seconds=1)
        await uow.session.execute(update(UserSession).values(last_seen_at=stale))
        await uow.commit()
    async with cookie_client(app, token) as http:
        await graphql(http, CREATE_CART)
    async with database.read_session() as session:
        row = await session.scalar(select(UserSession))
    assert row is not None and row.last_seen_at > stale
