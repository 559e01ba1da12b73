"""OAuth 2.0 for tests: clients registered through the service, PKCE pairs, token requests."""

from __future__ import annotations

import base64
import hashlib
import secrets
from typing import Any

import httpx

from app.auth.actor import SYSTEM
from app.db import Database
from app.models.oauth import OAuthClient
from app.services.oauth import create_oauth_client

REDIRECT = "https://app.example.com/callback"
TOKEN = "/api/oauth/token"


async def make_client(
    database: Database,
    *,
    scopes: tuple[str, ...] = ("audit:read",),
    grant_types: tuple[str, ...] = ("client_credentials",),
    redirect_uris: tuple[str, ...] = (),
    confidential: bool = True,
    name: str = "Integrator",
) -> tuple[OAuthClient, str | None]:
    """A registered client and its secret (None for a public one)."""
    async with database.unit_of_work() as uow:
        client, secret = await create_oauth_client(
            uow,
            SYSTEM,
            name=name,
            redirect_uris=list(redirect_uris),
            grant_types=list(grant_types),
            scopes=list(scopes),
            confidential=confidential,
        )
        await uow.commit()
    return client, secret


async def app_client(
    database: Database, *, scopes: tuple[str, ...] = ("customer",), confidential: bool = True
) -> tuple[OAuthClient, str | None]:
    """A client for the authorization code grant (with refresh tokens) redirecting to REDIRECT."""
    return await make_client(
        database,
        scopes=scopes,
        grant_types=("authorization_code", "refresh_token"),
        redirect_uris=(REDIRECT,),
        confidential=confidential,
        name="Shop App",
    )


def pkce() -> tuple[str, str]:
    """A code verifier and its S256 challenge."""
    verifier = secrets.token_urlsafe(48)
    digest = hashlib.sha256(verifier.encode()).digest()
    return verifier, base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def client_auth(client: OAuthClient, secret: str | None) -> httpx.BasicAuth | None:
    return httpx.BasicAuth(client.client_id, secret) if secret else None


async def client_credentials(
    http: httpx.AsyncClient, client: OAuthClient, secret: str | None, scope: str | None = None
) -> httpx.Response:
    data = {"grant_type": "client_credentials", **({"scope": scope} if scope else {})}
    return await http.post(TOKEN, data=data, auth=client_auth(client, secret))


async def access_token(
    http: httpx.AsyncClient, client: OAuthClient, secret: str | None, scope: str | None = None
) -> str:
    response = await client_credentials(http, client, secret, scope)
    assert response.status_code == 200, response.text
    token: str = response.json()["access_token"]
    return token


def bearer(token: str) -> dict[str, str]:
    return {"authorization": f"Bearer {token}"}


def authorize_params(client: OAuthClient, challenge: str, **overrides: Any) -> dict[str, str]:
    params = {
        "response_type": "code",
        "client_id": client.client_id,
        "redirect_uri": REDIRECT,
        "scope": "customer",
        "state": "xyz",
        "code_challenge": challenge,
        "code_challenge_method": "S256",
    }
    params.update(overrides)
    return {k: v for k, v in params.items() if v is not None}
