"""OAuth 2.0 authorization code with PKCE, end to end against a real uvicorn server: the
signed-in user's browser (session cookie) consents, the app exchanges the code for tokens,
and the tokens act for that user. Refresh rotation and the refusals (wrong verifier, replayed
code, unregistered redirect URI, missing PKCE, foreign origin) are tried the same way."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import httpx
import pytest
from sqlalchemy import func, select
from starlette.applications import Starlette

from app.db import Database
from app.models.oauth import OAuthAuthorizationCode, OAuthToken
from app.models.users import User
from app.services.apikeys import hash_key
from tests.support.oauth import (
    REDIRECT,
    TOKEN,
    app_client,
    authorize_params,
    bearer,
    client_auth,
    pkce,
)
from tests.support.server import serving
from tests.support.users import COOKIE, make_user, session_token

AUTHORIZE = "/api/oauth/authorize"
CREATE_CART = 'mutation { createCart(input: {currency: "USD"}) { customerId } }'


@pytest.fixture
async def server(app: Starlette) -> AsyncIterator[str]:
    async with serving(app) as base_url:
        yield base_url


def http(base_url: str, headers: dict[str, str] | None = None) -> httpx.AsyncClient:
    return httpx.AsyncClient(base_url=base_url, headers=headers or {}, timeout=10)


async def signed_in(database: Database, base_url: str, user: User) -> httpx.AsyncClient:
    """The user's browser: their session cookie, and this server's own Origin on its posts."""
    token = await session_token(database, user)
    return http(base_url, {"cookie": f"{COOKIE}={token}", "origin": base_url})


def redirect_query(response: httpx.Response) -> dict[str, str]:
    assert response.status_code == 302, response.text
    location = urlsplit(response.headers["location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == REDIRECT
    return dict(parse_qsl(location.query))


async def consent(browser: httpx.AsyncClient, params: dict[str, str]) -> dict[str, str]:
    """Open the consent page, approve, and return the redirect's query (code and state)."""
    page = await browser.get(AUTHORIZE, params=params)
    assert page.status_code == 200, page.text
    assert "Shop App" in page.text and 'value="approve"' in page.text
    assert page.headers["x-frame-options"] == "DENY"
    return redirect_query(await browser.post(AUTHORIZE, data={**params, "decision": "approve"}))


async def exchange(
    base_url: str, client: Any, secret: str | None, code: str, verifier: str, **extra: str
) -> httpx.Response:
    data = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": REDIRECT,
        "code_verifier": verifier,
        **({} if secret else {"client_id": client.client_id}),
        **extra,
    }
    async with http(base_url) as backend:
        return await backend.post(TOKEN, data=data, auth=client_auth(client, secret))


async def create_cart(base_url: str, token: str) -> httpx.Response:
    async with http(base_url, bearer(token)) as app_http:
        return await app_http.post("/graphql", json={"query": CREATE_CART})


async def test_the_code_flow_with_pkce_acts_for_the_user_as_their_customer(
    database: Database, server: str
) -> None:
    user = await make_user(database)
    client, secret = await app_client(database)
    verifier, challenge = pkce()
    async with await signed_in(database, server, user) as browser:
        answer = await consent(browser, authorize_params(client, challenge))
    assert answer["state"] == "xyz"

    response = await exchange(server, client, secret, answer["code"], verifier)
    assert response.status_code == 200, response.text
    tokens = response.json()
    assert tokens["token_type"] == "Bearer"
    assert tokens["access_token"].startswith("cat_")
    assert tokens["refresh_token"].startswith("crt_")
    assert tokens["scope"] == "customer"
    assert response.headers["cache-control"] == "no-store"

    cart = await create_cart(server, tokens["access_token"])
    assert cart.json()["data"]["createCart"]["customerId"] == str(user.customer_id)
    # Stored only as digests.
    async with database.read_session() as session:
        row = await session.scalar(select(OAuthToken))
        code_row = await session.scalar(select(OAuthAuthorizationCode))
    assert row is not None and row.access_token_hash == hash_key(tokens["access_token"])
    assert row.user_id == user.id
    assert code_row is not None and code_row.code_hash == hash_key(answer["code"])


async def test_a_public_client_completes_the_flow_with_pkce_alone(
    database: Database, server: str
) -> None:
    user = await make_user(database)
    client, secret = await app_client(database, confidential=False)
    assert secret is None
    verifier, challenge = pkce()
    async with await signed_in(database, server, user) as browser:
        answer = await consent(browser, authorize_params(client, challenge))
    response = await exchange(server, client, None, answer["code"], verifier)
    assert response.status_code == 200, response.text
    # Without the verifier, a public client has nothing else to prove the code is its own.
    async with await signed_in(database, server, user) as browser:
        again = await consent(browser, authorize_params(client, challenge))
    refused = await exchange(server, client, None, again["code"], "", code_verifier="")
    assert refused.status_code == 400
    assert refused.json()["error"] == "invalid_request"


async def test_a_wrong_verifier_is_refused_and_spends_the_code(
    database: Database, server: str
) -> None:
    user = await make_user(database)
    client, secret = await app_client(database)
    verifier, challenge = pkce()
    async with await signed_in(database, server, user) as browser:
        answer = await consent(browser, authorize_params(client, challenge))
    wrong, _ = pkce()
    refused = await exchange(server, client, secret, answer["code"], wrong)
    assert refused.status_code == 400
    assert refused.json()["error"] == "invalid_grant"
    # One attempt per code: the right verifier now comes too late.
    late = await exchange(server, client, secret, answer["code"], verifier)
    assert late.json()["error"] == "invalid_grant"
    async with database.read_session() as session:
        assert await session.scalar(select(OAuthToken)) is None


async def test_a_replayed_code_is_refused_and_revokes_what_it_issued(
    database: Database, server: str
) -> None:
    user = await make_user(database)
    client, secret = await app_client(database)
    verifier, challenge = pkce()
    async with await signed_in(database, server, user) as browser:
        answer = await consent(browser, authorize_params(client, challenge))
    first = await exchange(server, client, secret, answer["code"], verifier)
    assert first.status_code == 200
    token = first.json()["access_token"]
    assert (await create_cart(server, token)).status_code == 200

    replay = await exchange(server, client, secret, answer["code"], verifier)
    assert replay.status_code == 400
    assert replay.json()["error"] == "invalid_grant"
    assert (await create_cart(server, token)).status_code == 401
    refresh = await refresh_with(server, client, secret, first.json()["refresh_token"])
    assert refresh.json()["error"] == "invalid_grant"


async def test_an_unregistered_redirect_uri_is_refused_without_redirecting(
    database: Database, server: str
) -> None:
    user = await make_user(database)
    client, _ = await app_client(database)
    _, challenge = pkce()
    params = authorize_params(client, challenge, redirect_uri="https://evil.example.com/cb")
    async with await signed_in(database, server, user) as browser:
        page = await browser.get(AUTHORIZE, params=params)
        post = await browser.post(AUTHORIZE, data={**params, "decision": "approve"})
    for response in (page, post):
        assert response.status_code == 400
        assert "location" not in response.headers
        assert response.json()["error"] == "invalid_request"
    async with database.read_session() as session:
        assert await session.scalar(select(OAuthAuthorizationCode)) is None


async def test_a_code_is_bound_to_its_redirect_uri(database: Database, server: str) -> None:
    user = await make_user(database)
    client, secret = await app_client(database)
    verifier, challenge = pkce()
    async with await signed_in(database, server, user) as browser:
        answer = await consent(browser, authorize_params(client, challenge))
    refused = await exchange(
        server, client, secret, answer["code"], verifier, redirect_uri="https://app.example.com/x"
    )
    assert refused.status_code == 400
    assert refused.json()["error"] == "invalid_grant"


@pytest.mark.parametrize(
    "overrides",
    [{"code_challenge": None, "code_challenge_method": None}, {"code_challenge_method": "plain"}],
    ids=["no challenge", "plain method"],
)
async def test_pkce_with_s256_is_required(
    database: Database, server: str, overrides: dict[str, Any]
) -> None:
    user = await make_user(database)
    client, _ = await app_client(database)
    _, challenge = pkce()
    async with await signed_in(database, server, user) as browser:
        response = await browser.get(
            AUTHORIZE, params=authorize_params(client, challenge, **overrides)
        )
    assert redirect_query(response)["error"] == "invalid_request"


async def test_a_scope_beyond_the_client_is_refused(database: Database, server: str) -> None:
    user = await make_user(database)
    client, _ = await app_client(database)
    _, challenge = pkce()
    params = authorize_params(client, challenge, scope="customer orders:read")
    async with await signed_in(database, server, user) as browser:
        response = await browser.get(AUTHORIZE, params=params)
    assert redirect_query(response)["error"] == "invalid_scope"


async def test_denying_sends_access_denied_back(database: Database, server: str) -> None:
    user = await make_user(database)
    client, _ = await app_client(database)
    _, challenge = pkce()
    params = authorize_params(client, challenge)
    async with await signed_in(database, server, user) as browser:
        response = await browser.post(AUTHORIZE, data={**params, "decision": "deny"})
    answer = redirect_query(response)
    assert (answer["error"], answer["state"]) == ("access_denied", "xyz")
    assert "code" not in answer


async def test_an_anonymous_browser_is_asked_to_sign_in(database: Database, server: str) -> None:
    client, _ = await app_client(database)
    _, challenge = pkce()
    params = authorize_params(client, challenge)
    async with http(server, {"origin": server}) as browser:
        page = await browser.get(AUTHORIZE, params=params)
        post = await browser.post(AUTHORIZE, data={**params, "decision": "approve"})
    assert page.status_code == post.status_code == 401
    assert "Sign in" in page.text


async def test_consent_from_a_foreign_origin_is_refused(database: Database, server: str) -> None:
    user = await make_user(database)
    client, _ = await app_client(database)
    _, challenge = pkce()
    params = authorize_params(client, challenge)
    token = await session_token(database, user)
    foreign = {"cookie": f"{COOKIE}={token}", "origin": "https://evil.example.com"}
    async with http(server, foreign) as browser:
        response = await browser.post(AUTHORIZE, data={**params, "decision": "approve"})
    assert response.status_code == 403
    async with database.read_session() as session:
        assert await session.scalar(select(OAuthAuthorizationCode)) is None


async def test_an_access_token_cannot_consent_for_its_user(database: Database, server: str) -> None:
    user = await make_user(database)
    client, secret = await app_client(database)
    tokens = await full_flow(database, server, user, client, secret)
    _, challenge = pkce()
    async with http(server, bearer(tokens["access_token"])) as app_http:
        response = await app_http.post(
            AUTHORIZE, data={**authorize_params(client, challenge), "decision": "approve"}
        )
    assert response.status_code == 401


# ---- refresh tokens ---------------------------------------------------------------------------


async def full_flow(
    database: Database, server: str, user: User, client: Any, secret: str | None, **params: str
) -> dict[str, Any]:
    verifier, challenge = pkce()
    async with await signed_in(database, server, user) as browser:
        answer = await consent(browser, authorize_params(client, challenge, **params))
    response = await exchange(server, client, secret, answer["code"], verifier)
    assert response.status_code == 200, response.text
    tokens: dict[str, Any] = response.json()
    return tokens


async def refresh_with(
    base_url: str, client: Any, secret: str | None, refresh_token: str
) -> httpx.Response:
    async with http(base_url) as backend:
        return await backend.post(
            TOKEN,
            data={"grant_type": "refresh_token", "refresh_token": refresh_token},
            auth=client_auth(client, secret),
        )


async def test_refreshing_rotates_the_refresh_token(database: Database, server: str) -> None:
    user = await make_user(database)
    client, secret = await app_client(database)
    first = await full_flow(database, server, user, client, secret)
    rotated = await refresh_with(server, client, secret, first["refresh_token"])
    assert rotated.status_code == 200, rotated.text
    second = rotated.json()
    assert second["refresh_token"] != first["refresh_token"]
    assert second["scope"] == "customer"
    assert (await create_cart(server, second["access_token"])).status_code == 200
    # The old one is spent; the new one works once in turn.
    old = await refresh_with(server, client, secret, first["refresh_token"])
    assert old.status_code == 400 and old.json()["error"] == "invalid_grant"


async def test_a_replayed_refresh_token_revokes_its_family(database: Database, server: str) -> None:
    user = await make_user(database)
    client, secret = await app_client(database)
    first = await full_flow(database, server, user, client, secret)
    second = (await refresh_with(server, client, secret, first["refresh_token"])).json()
    replay = await refresh_with(server, client, secret, first["refresh_token"])
    assert replay.json()["error"] == "invalid_grant"
    # Whoever holds the newer tokens (the thief or the app) lost them too.
    assert (await create_cart(server, second["access_token"])).status_code == 401
    newer = await refresh_with(server, client, secret, second["refresh_token"])
    assert newer.json()["error"] == "invalid_grant"


async def test_another_clients_refresh_token_is_refused(database: Database, server: str) -> None:
    user = await make_user(database)
    client, secret = await app_client(database)
    other, other_secret = await app_client(database)
    tokens = await full_flow(database, server, user, client, secret)
    stolen = await refresh_with(server, other, other_secret, tokens["refresh_token"])
    assert stolen.json()["error"] == "invalid_grant"
    # The rightful client still refreshes.
    assert (await refresh_with(server, client, secret, tokens["refresh_token"])).status_code == 200


# ---- what a user's token may do ---------------------------------------------------------------


async def test_a_users_token_holds_their_permissions_within_its_scopes(
    database: Database, server: str
) -> None:
    staff = await make_user(database, email="root@example.com", roles=("admin",), customer=False)
    client, secret = await app_client(database, scopes=("audit:read", "apiKeys:manage"))
    tokens = await full_flow(database, server, staff, client, secret, scope="audit:read")
    async with http(server, bearer(tokens["access_token"])) as app_http:
        audit = await app_http.get("/api/audit")
        keys = await app_http.get("/api/v1/api-keys")
    assert audit.status_code == 200
    assert keys.status_code == 403


async def test_a_customer_scope_is_needed_to_act_as_the_customer(
    database: Database, server: str
) -> None:
    user = await make_user(database)
    client, secret = await app_client(database, scopes=("customer", "catalog:read"))
    tokens = await full_flow(database, server, user, client, secret, scope="catalog:read")
    cart = await create_cart(server, tokens["access_token"])
    assert cart.json()["data"]["createCart"]["customerId"] is None


async def test_two_exchanges_of_one_code_at_once_issue_one_set_of_tokens(
    database: Database, server: str
) -> None:
    user = await make_user(database)
    client, secret = await app_client(database)
    verifier, challenge = pkce()
    async with await signed_in(database, server, user) as browser:
        answer = await consent(browser, authorize_params(client, challenge))
    first, second = await asyncio.gather(
        exchange(server, client, secret, answer["code"], verifier),
        exchange(server, client, secret, answer["code"], verifier),
    )
    assert sorted([first.status_code, second.status_code]) == [200, 400]
    async with database.read_session() as session:
        assert await session.scalar(select(func.count()).select_from(OAuthToken)) <= 1


async def test_two_refreshes_of_one_token_at_once_rotate_it_once(
    database: Database, server: str
) -> None:
    user = await make_user(database)
    client, secret = await app_client(database)
    tokens = await full_flow(database, server, user, client, secret)
    first, second = await asyncio.gather(
        refresh_with(server, client, secret, tokens["refresh_token"]),
        refresh_with(server, client, secret, tokens["refresh_token"]),
    )
    assert sorted([first.status_code, second.status_code]) == [200, 400]
