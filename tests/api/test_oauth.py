"""OAuth 2.0: client registration (GraphQL), client credentials, Bearer tokens on every face,
revocation (RFC 7009), introspection (RFC 7662) and the metadata document (RFC 8414).
The authorization code flow runs against a real server in test_oauth_authorization_code.py."""

from __future__ import annotations

import base64
import logging
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import httpx
import pytest
from sqlalchemy import func, select, update
from starlette.applications import Starlette

from app.db import Database
from app.models.audit import AuditEntry
from app.models.base import utcnow
from app.models.oauth import OAuthClient, OAuthToken
from app.services.apikeys import hash_key
from tests.api.test_subscriptions import graphql_ws, receive, send, websocket_url
from tests.conftest import client_for
from tests.support.cost import without_cost
from tests.support.oauth import (
    REDIRECT,
    TOKEN,
    access_token,
    authorize_params,
    bearer,
    client_credentials,
    make_client,
    pkce,
)
from tests.support.server import serving
from tests.support.users import cookie_client, make_user, session_token

API_KEYS = "{ apiKeys { totalCount } }"
AUDIT = "{ auditEntries { totalCount } }"
CREATE = """mutation C($input: CreateOAuthClientInput!) { createOAuthClient(input: $input) {
  id clientId clientSecret name confidential grantTypes scopes redirectUris status createdBy } }"""
LIST = "{ oauthClients { totalCount nodes { clientId clientSecret status } } }"
REVOKE = "mutation R($id: ID!) { revokeOAuthClient(input: {id: $id}) { status revokedAt } }"


async def graphql(http: httpx.AsyncClient, query: str, **variables: Any) -> dict[str, Any]:
    response = await http.post("/graphql", json={"query": query, "variables": variables})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def error_code(body: dict[str, Any]) -> str:
    return str(body["errors"][0]["extensions"]["code"])


# ---- client credentials -----------------------------------------------------------------------


async def test_a_client_credentials_token_reads_what_its_scopes_allow_and_nothing_else(
    app: Starlette, database: Database, client: httpx.AsyncClient
) -> None:
    registered, secret = await make_client(database, scopes=("audit:read", "catalog:read"))
    response = await client_credentials(client, registered, secret, "audit:read")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["token_type"] == "Bearer" and body["scope"] == "audit:read"
    assert body["expires_in"] == 3600 and "refresh_token" not in body
    async with client_for(app, headers=bearer(body["access_token"])) as http:
        assert (await http.get("/api/audit")).status_code == 200
        assert (await http.get("/api/v1/api-keys")).status_code == 403
        assert (await http.get("/api/catalog/entities?status=draft")).status_code in (200, 403)
        allowed = await graphql(http, AUDIT)
        refused = await graphql(http, API_KEYS)
    assert allowed["data"]["auditEntries"]["totalCount"] >= 0
    assert error_code(refused) == "FORBIDDEN"


async def test_without_a_scope_the_token_gets_every_scope_of_the_client(
    app: Starlette, database: Database, client: httpx.AsyncClient
) -> None:
    registered, secret = await make_client(database, scopes=("audit:read", "apiKeys:manage"))
    token = await access_token(client, registered, secret)
    async with client_for(app, headers=bearer(token)) as http:
        assert (await http.get("/api/v1/api-keys")).status_code == 200


@pytest.mark.parametrize("scope", ["orders:read", "audit:*", "customer", "not a scope"])
async def test_a_scope_beyond_the_client_is_invalid_scope(
    database: Database, client: httpx.AsyncClient, scope: str
) -> None:
    registered, secret = await make_client(database, scopes=("audit:read", "customer"))
    response = await client_credentials(client, registered, secret, scope)
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_scope"


async def test_a_wildcard_scope_of_the_client_covers_narrower_requests(
    app: Starlette, database: Database, client: httpx.AsyncClient
) -> None:
    registered, secret = await make_client(database, scopes=("audit:*",))
    token = await access_token(client, registered, secret, "audit:read")
    async with client_for(app, headers=bearer(token)) as http:
        assert (await http.get("/api/audit")).status_code == 200


@pytest.mark.parametrize("secret", ["ocs_wrong", None])
async def test_a_wrong_or_missing_secret_is_invalid_client(
    database: Database, client: httpx.AsyncClient, secret: str | None
) -> None:
    registered, _ = await make_client(database)
    if secret is None:
        response = await client.post(
            TOKEN, data={"grant_type": "client_credentials", "client_id": registered.client_id}
        )
    else:
        response = await client_credentials(client, registered, secret)
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"
    async with database.read_session() as session:
        assert await session.scalar(select(func.count()).select_from(OAuthToken)) == 0


async def test_the_secret_may_come_in_the_form(
    database: Database, client: httpx.AsyncClient
) -> None:
    registered, secret = await make_client(database)
    assert secret is not None
    response = await client.post(
        TOKEN,
        data={
            "grant_type": "client_credentials",
            "client_id": registered.client_id,
            "client_secret": secret,
        },
    )
    assert response.status_code == 200, response.text


@pytest.mark.parametrize(
    ("data", "status", "error"),
    [
        (
            {"grant_type": "password", "username": "a", "password": "b"},
            400,
            "unsupported_grant_type",
        ),
        ({}, 400, "unsupported_grant_type"),
        ({"grant_type": "authorization_code"}, 400, "unauthorized_client"),
        ({"grant_type": "refresh_token", "refresh_token": "crt_x"}, 400, "unauthorized_client"),
    ],
)
async def test_grants_the_client_may_not_use_are_refused(
    database: Database,
    client: httpx.AsyncClient,
    data: dict[str, str],
    status: int,
    error: str,
) -> None:
    registered, secret = await make_client(database)
    assert secret is not None
    response = await client.post(TOKEN, data=data, auth=(registered.client_id, secret))
    assert response.status_code == status
    assert response.json()["error"] == error


async def test_an_expired_or_revoked_token_is_refused_like_a_bad_key(
    app: Starlette, database: Database, client: httpx.AsyncClient
) -> None:
    registered, secret = await make_client(database)
    expired = await access_token(client, registered, secret)
    revoked = await access_token(client, registered, secret)
    async with database.unit_of_work() as uow:
        await uow.session.execute(
            update(OAuthToken)
            .where(OAuthToken.access_token_hash == hash_key(expired))
            .values(access_expires_at=utcnow() - timedelta(seconds=1))
        )
        await uow.session.execute(
            update(OAuthToken)
            .where(OAuthToken.access_token_hash == hash_key(revoked))
            .values(revoked_at=utcnow())
        )
        await uow.commit()
    for token in (expired, revoked, "cat_" + "A" * 43, "cat_short"):
        async with client_for(app, headers=bearer(token)) as http:
            response = await http.get("/api/audit")
        assert response.status_code == 401
        assert response.json()["error"]["code"] == "UNAUTHORIZED"


async def test_a_token_is_stored_only_as_its_digest(
    database: Database, client: httpx.AsyncClient
) -> None:
    registered, secret = await make_client(database)
    token = await access_token(client, registered, secret)
    async with database.read_session() as session:
        row = await session.scalar(select(OAuthToken))
        stored = await session.scalar(select(OAuthClient))
    assert row is not None and row.access_token_hash == hash_key(token)
    assert stored is not None and secret is not None
    assert stored.secret_hash == hash_key(secret)
    assert token not in repr(row.snapshot()) and secret not in repr(stored.snapshot())


# ---- Bearer on every face ---------------------------------------------------------------------


async def test_a_bearer_token_works_on_websockets(
    app: Starlette, database: Database, client: httpx.AsyncClient
) -> None:
    registered, secret = await make_client(database, scopes=("apiKeys:manage",))
    token = await access_token(client, registered, secret)
    async with serving(app) as base_url:
        url = websocket_url(base_url)
        for headers, payload in (
            ({"authorization": f"Bearer {token}"}, None),
            (None, {"Authorization": f"Bearer {token}"}),
        ):
            async with graphql_ws(url, headers, payload) as ws:
                await send(ws, {"id": "1", "type": "subscribe", "payload": {"query": API_KEYS}})
                result = await receive(ws)
            assert without_cost(result["payload"]) == {"data": {"apiKeys": {"totalCount": 0}}}


async def test_a_bearer_request_is_exempt_from_the_csrf_check(
    app: Starlette, database: Database, client: httpx.AsyncClient
) -> None:
    """A foreign Origin with a session cookie is refused; the same write with a Bearer token
    is not (a browser never adds the header by itself)."""
    registered, secret = await make_client(database, scopes=("apiKeys:manage",))
    token = await access_token(client, registered, secret)
    user = await make_user(database)
    create = 'mutation { createApiKey(input: {name: "k", permissions: ["apiKeys:manage"]}) { id } }'
    foreign = {"origin": "https://evil.example.com"}
    async with cookie_client(app, await session_token(database, user), headers=foreign) as http:
        refused = await http.post("/graphql", json={"query": create})
        exempt = await http.post("/graphql", json={"query": create}, headers=bearer(token))
    assert refused.status_code == 403
    assert exempt.status_code == 200 and exempt.json()["data"]["createApiKey"]["id"]


async def test_a_client_credentials_token_is_audited_as_the_client(
    app: Starlette, database: Database, client: httpx.AsyncClient
) -> None:
    registered, secret = await make_client(database, scopes=("apiKeys:manage",))
    token = await access_token(client, registered, secret)
    create = 'mutation { createApiKey(input: {name: "k", permissions: ["apiKeys:manage"]}) { id } }'
    async with client_for(app, headers=bearer(token)) as http:
        await graphql(http, create)
    async with database.read_session() as session:
        entry = await session.scalar(select(AuditEntry).where(AuditEntry.event == "apiKeys.create"))
    assert entry is not None
    assert (entry.actor_type, entry.actor_id) == ("oauth_client", str(registered.id))


# ---- revocation and introspection -------------------------------------------------------------


async def test_revoking_an_access_token_ends_it(
    app: Starlette, database: Database, client: httpx.AsyncClient
) -> None:
    registered, secret = await make_client(database)
    assert secret is not None
    token = await access_token(client, registered, secret)
    auth = (registered.client_id, secret)
    response = await client.post("/api/oauth/revoke", data={"token": token}, auth=auth)
    assert response.status_code == 200 and response.json() == {}
    async with client_for(app, headers=bearer(token)) as http:
        assert (await http.get("/api/audit")).status_code == 401
    # Revoking an unknown token is no error (RFC 7009 §2.2).
    unknown = await client.post("/api/oauth/revoke", data={"token": "nonsense"}, auth=auth)
    assert unknown.status_code == 200


async def test_a_client_cannot_revoke_another_clients_token(
    app: Starlette, database: Database, client: httpx.AsyncClient
) -> None:
    owner, owner_secret = await make_client(database)
    other, other_secret = await make_client(database)
    assert other_secret is not None
    token = await access_token(client, owner, owner_secret)
    response = await client.post(
        "/api/oauth/revoke", data={"token": token}, auth=(other.client_id, other_secret)
    )
    assert response.status_code == 400
    async with client_for(app, headers=bearer(token)) as http:
        assert (await http.get("/api/audit")).status_code == 200


async def test_revocation_needs_the_client(database: Database, client: httpx.AsyncClient) -> None:
    registered, secret = await make_client(database)
    token = await access_token(client, registered, secret)
    response = await client.post("/api/oauth/revoke", data={"token": token})
    assert response.status_code in (400, 401)
    assert response.json()["error"] == "invalid_client"


async def test_introspection_tells_active_and_inactive_tokens(
    database: Database, client: httpx.AsyncClient
) -> None:
    registered, secret = await make_client(database)
    assert secret is not None
    token = await access_token(client, registered, secret)
    auth = (registered.client_id, secret)
    active = await client.post("/api/oauth/introspect", data={"token": token}, auth=auth)
    assert active.status_code == 200
    body = active.json()
    assert body["active"] is True
    assert (body["scope"], body["client_id"], body["token_type"]) == (
        "audit:read",
        registered.client_id,
        "Bearer",
    )
    assert body["exp"] > body["iat"]
    await client.post("/api/oauth/revoke", data={"token": token}, auth=auth)
    revoked = await client.post("/api/oauth/introspect", data={"token": token}, auth=auth)
    assert revoked.json() == {"active": False}
    unknown = await client.post("/api/oauth/introspect", data={"token": "cat_x"}, auth=auth)
    assert unknown.json() == {"active": False}


async def test_introspection_needs_client_authentication(
    database: Database, client: httpx.AsyncClient
) -> None:
    registered, secret = await make_client(database)
    token = await access_token(client, registered, secret)
    anonymous = await client.post("/api/oauth/introspect", data={"token": token})
    assert anonymous.status_code == 401
    assert anonymous.json()["error"] == "invalid_client"
    wrong = await client.post(
        "/api/oauth/introspect", data={"token": token}, auth=(registered.client_id, "ocs_no")
    )
    assert wrong.status_code == 401


async def test_introspection_of_another_clients_token_is_inactive(
    database: Database, client: httpx.AsyncClient
) -> None:
    owner, owner_secret = await make_client(database)
    other, other_secret = await make_client(database)
    assert other_secret is not None
    token = await access_token(client, owner, owner_secret)
    response = await client.post(
        "/api/oauth/introspect", data={"token": token}, auth=(other.client_id, other_secret)
    )
    assert response.json() == {"active": False}


async def test_the_metadata_document_names_the_endpoints(client: httpx.AsyncClient) -> None:
    response = await client.get("/.well-known/oauth-authorization-server")
    assert response.status_code == 200
    body = response.json()
    assert body["issuer"] == "http://testserver"
    assert body["token_endpoint"] == "http://testserver/api/oauth/token"
    assert body["authorization_endpoint"] == "http://testserver/api/oauth/authorize"
    assert body["code_challenge_methods_supported"] == ["S256"]
    assert set(body["grant_types_supported"]) == {
        "authorization_code",
        "client_credentials",
        "refresh_token",
    }


# ---- registration -----------------------------------------------------------------------------

NEW_CLIENT = {
    "name": "Warehouse sync",
    "grantTypes": ["CLIENT_CREDENTIALS"],
    "scopes": ["inventory:*", "audit:read"],
}


async def test_create_oauth_client_shows_the_secret_once_and_is_audited(
    admin: httpx.AsyncClient, database: Database
) -> None:
    body = await graphql(admin, CREATE, input=NEW_CLIENT)
    made = body["data"]["createOAuthClient"]
    assert made["clientSecret"].startswith("ocs_") and made["clientId"].startswith("oc_")
    assert made["grantTypes"] == ["CLIENT_CREDENTIALS"]
    assert made["scopes"] == ["audit:read", "inventory:*"]
    assert (made["status"], made["confidential"], made["redirectUris"]) == ("ACTIVE", True, [])
    listed = await graphql(admin, LIST)
    assert listed["data"]["oauthClients"] == {
        "totalCount": 1,
        "nodes": [{"clientId": made["clientId"], "clientSecret": None, "status": "ACTIVE"}],
    }
    async with database.read_session() as session:
        entry = await session.scalar(
            select(AuditEntry).where(AuditEntry.event == "oauthClients.create")
        )
    assert entry is not None and entry.entity_id == made["id"]
    assert made["clientSecret"] not in repr(entry.after)
    # The secret works at the token endpoint.
    response = await admin.post(
        TOKEN,
        data={"grant_type": "client_credentials", "scope": "inventory:read"},
        auth=(made["clientId"], made["clientSecret"]),
    )
    assert response.status_code == 200, response.text


async def test_a_public_app_client_gets_no_secret(admin: httpx.AsyncClient) -> None:
    new = {
        "name": "Mobile app",
        "grantTypes": ["AUTHORIZATION_CODE", "REFRESH_TOKEN"],
        "scopes": ["customer"],
        "redirectUris": [REDIRECT, "http://127.0.0.1:8765/cb"],
        "confidential": False,
    }
    made = (await graphql(admin, CREATE, input=new))["data"]["createOAuthClient"]
    assert made["clientSecret"] is None and made["confidential"] is False


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"scopes": ["everything"]}, "scopes"),
        ({"scopes": []}, "scopes"),
        ({"name": "  "}, "name"),
        ({"grantTypes": ["AUTHORIZATION_CODE"]}, "redirectUris"),
        (
            {"grantTypes": ["AUTHORIZATION_CODE"], "redirectUris": ["http://app.example.com/cb"]},
            "redirectUris",
        ),
        (
            {"grantTypes": ["AUTHORIZATION_CODE"], "redirectUris": ["https://a.example/cb#x"]},
            "redirectUris",
        ),
        (
            {"grantTypes": ["AUTHORIZATION_CODE"], "redirectUris": ["javascript:alert(1)"]},
            "redirectUris",
        ),
        ({"confidential": False}, "grantTypes"),
        ({"grantTypes": ["REFRESH_TOKEN"]}, "grantTypes"),
    ],
)
async def test_a_bad_client_is_refused_and_writes_nothing(
    admin: httpx.AsyncClient, database: Database, change: dict[str, Any], field: str
) -> None:
    body = await graphql(admin, CREATE, input={**NEW_CLIENT, **change})
    assert error_code(body) == "VALIDATION_FAILED"
    assert field in body["errors"][0]["extensions"]["details"]
    async with database.read_session() as session:
        assert await session.scalar(select(func.count()).select_from(OAuthClient)) == 0


async def test_a_creator_cannot_hand_out_scopes_it_does_not_hold(
    app: Starlette, database: Database
) -> None:
    from tests.support.factories import make_api_key

    _, key = await make_api_key(database, permissions=["oauthClients:manage", "audit:read"])
    async with client_for(app, headers={"x-api-key": key}) as http:
        refused = await graphql(http, CREATE, input=NEW_CLIENT)
        allowed = await graphql(http, CREATE, input={**NEW_CLIENT, "scopes": ["audit:read"]})
    assert error_code(refused) == "FORBIDDEN"
    assert allowed["data"]["createOAuthClient"]["scopes"] == ["audit:read"]


async def test_revoking_a_client_ends_its_tokens(
    app: Starlette, admin: httpx.AsyncClient, database: Database
) -> None:
    registered, secret = await make_client(database)
    token = await access_token(admin, registered, secret)
    body = await graphql(admin, REVOKE, id=str(registered.id))
    assert body["data"]["revokeOAuthClient"]["status"] == "REVOKED"
    async with client_for(app, headers=bearer(token)) as http:
        assert (await http.get("/api/audit")).status_code == 401
    again = await client_credentials(admin, registered, secret)
    assert again.status_code == 401 and again.json()["error"] == "invalid_client"
    twice = await graphql(admin, REVOKE, id=str(registered.id))
    assert error_code(twice) == "CONFLICT"
    unknown = await graphql(admin, REVOKE, id="not-a-uuid")
    assert error_code(unknown) == "NOT_FOUND"
    listed = await graphql(admin, "{ oauthClients(status: ACTIVE) { totalCount } }")
    assert listed["data"]["oauthClients"]["totalCount"] == 0


async def test_a_revoked_clients_tokens_are_refused_even_if_not_revoked_themselves(
    app: Starlette, database: Database, client: httpx.AsyncClient
) -> None:
    registered, secret = await make_client(database)
    token = await access_token(client, registered, secret)
    async with database.unit_of_work() as uow:
        await uow.session.execute(
            update(OAuthClient).where(OAuthClient.id == registered.id).values(revoked_at=utcnow())
        )
        await uow.commit()
    async with client_for(app, headers=bearer(token)) as http:
        assert (await http.get("/api/audit")).status_code == 401


# ---- hostile input ----------------------------------------------------------------------------


def basic(raw: bytes) -> dict[str, str]:
    return {"authorization": "Basic " + base64.b64encode(raw).decode()}


@pytest.mark.parametrize(
    ("path", "data", "headers", "status", "error"),
    [
        (TOKEN, {"grant_type": 'pass"word'}, {}, 400, "invalid_request"),
        (TOKEN, {"grant_type": "client_credentials"}, basic(b"\xff\xfe:x"), 401, "invalid_client"),
        (TOKEN, {"grant_type": "client_credentials"}, basic(b"oc_\x00:x"), 401, "invalid_client"),
        (TOKEN, {"grant_type": "client_credentials"}, {"authorization": "Basic !!"}, 401,
         "invalid_client"),
        (TOKEN, {"grant_type": "client_credentials", "client_id": "a\x00", "client_secret": "x"},
         {}, 400, "invalid_request"),
        (TOKEN, {"grant_type": "client_credentials", "client_id": "é" * 300,
                 "client_secret": "x"}, {}, 400, "invalid_request"),
        ("/api/oauth/revoke", {"token": "cat_\x00"}, basic(b"a:b"), 400, "invalid_request"),
        ("/api/oauth/introspect", {"token": "x" * 5000}, basic(b"oc_x:b"), 401, "invalid_client"),
    ],
)  # fmt: skip
async def test_hostile_protocol_requests_are_oauth_errors_not_500s(
    client: httpx.AsyncClient,
    database: Database,
    path: str,
    data: dict[str, str],
    headers: dict[str, str],
    status: int,
    error: str,
) -> None:
    await make_client(database)
    response = await client.post(path, data=data, headers=headers)
    assert response.status_code == status, response.text
    assert response.json()["error"] == error


@pytest.mark.parametrize(
    "params",
    [
        {"redirect_uri": 'https://app.example.com/"cb'},
        {"response_type": 'co"de'},
        {"response_type": "codé"},
        {"client_id": "oc_\x00"},
        {"scope": "customer\\"},
    ],
)
async def test_hostile_authorization_requests_are_refused_without_redirecting(
    client: httpx.AsyncClient, database: Database, params: dict[str, str]
) -> None:
    registered, _ = await make_client(
        database,
        grant_types=("authorization_code",),
        redirect_uris=(REDIRECT,),
        scopes=("customer",),
    )
    query = {"response_type": "code", "client_id": registered.client_id, **params}
    response = await client.get("/api/oauth/authorize", params=query)
    assert response.status_code == 400
    assert "location" not in response.headers
    assert response.json()["error"] == "invalid_request"


async def test_tokens_and_secrets_are_not_logged_even_at_debug(
    app: Starlette, database: Database, client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    registered, secret = await make_client(
        database,
        grant_types=("authorization_code", "refresh_token"),
        redirect_uris=(REDIRECT,),
        scopes=("customer",),
    )
    assert secret is not None
    user = await make_user(database)
    verifier, challenge = pkce()
    params = authorize_params(registered, challenge)
    with caplog.at_level(logging.DEBUG):
        async with cookie_client(app, await session_token(database, user)) as browser:
            redirect = await browser.post(
                "/api/oauth/authorize", data={**params, "decision": "approve"}
            )
        code = dict(parse_qsl(urlsplit(redirect.headers["location"]).query))["code"]
        response = await client.post(
            TOKEN,
            data={
                "grant_type": "authorization_code",
                "code": code,
                "redirect_uri": REDIRECT,
                "code_verifier": verifier,
            },
            auth=(registered.client_id, secret),
        )
    tokens = response.json()
    assert caplog.records
    for plaintext in (secret, code, tokens["access_token"], tokens["refresh_token"]):
        assert plaintext not in caplog.text


async def test_token_parameters_in_the_query_string_are_not_taken(
    database: Database, client: httpx.AsyncClient
) -> None:
    registered, secret = await make_client(database)
    assert secret is not None
    query = {
        "grant_type": "client_credentials",
        "client_id": registered.client_id,
        "client_secret": secret,
    }
    response = await client.post(TOKEN, params=query)
    assert response.status_code in (400, 401)
    async with database.read_session() as session:
        assert await session.scalar(select(func.count()).select_from(OAuthToken)) == 0
