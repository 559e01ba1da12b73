"""The OAuth 2.0 endpoints over HTTP: form-encoded requests as the RFCs say, JSON answers,
OAuth error bodies (`{"error": "invalid_grant", "error_description": ...}`) with the RFCs'
status codes. They are not rows of the REST route table (they run no GraphQL operation);
authlib answers them through `app/auth/oauth.py`.

- `GET /api/oauth/authorize`: validates the request (client, redirect URI, scope, PKCE S256)
  and shows the signed-in session user a minimal consent page; anonymous: 401 with a sign-in
  hint. Errors before the redirect URI is known are answered here (400), never redirected.
- `POST /api/oauth/authorize`: the consent form's answer (a cookie-riding form post, so it
  passes the CSRF Origin check); redirects to the client with a code, or `access_denied`.
- `POST /api/oauth/token`, `POST /api/oauth/revoke` (RFC 7009), `POST /api/oauth/introspect`
  (RFC 7662): clients authenticate with HTTP Basic or form fields (the authentication
  middleware leaves their `Authorization` header to them).
- `GET /.well-known/oauth-authorization-server`: RFC 8414 metadata.
"""

from __future__ import annotations

import base64
import binascii
import html
import re
import uuid
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qsl

from starlette.requests import Request as HttpRequest
from starlette.responses import HTMLResponse, Response
from starlette.routing import BaseRoute, Route

from app.auth import oauth
from app.auth.actor import ANONYMOUS, Actor
from app.config import Settings
from app.db import Database
from app.middleware.authentication import INTROSPECT, REVOKE, TOKEN, header_credential
from app.models.oauth import GRANT_TYPES
from app.responses import JSONResponse
from app.rest.components import ref

AUTHORIZE = "/api/oauth/authorize"
METADATA = "/.well-known/oauth-authorization-server"
# The consent page may not be framed (clickjacking) nor load anything.
PAGE_HEADERS = {
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; "
    "frame-ancestors 'none'; form-action 'self'",
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
}
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


# RFC 6749 Appendix A: every parameter is printable ASCII; those authlib may quote in an
# error description must also hold neither `"` nor `\` (it refuses to build such an error).
PRINTABLE = re.compile(r"[\x20-\x7e]*")
QUOTABLE = re.compile(r"[\x20-\x21\x23-\x5b\x5d-\x7e]*")
OPAQUE = frozenset({"state", "client_secret"})


def _problem(params: oauth.Request) -> str | None:
    """Why the request cannot be an OAuth request (a parameter or the Basic credentials
    outside OAuth's characters), refused before authlib sees it; None when it may be."""
    for name, values in params.payload.datalist.items():
        allowed = PRINTABLE if name in OPAQUE else QUOTABLE
        if any(allowed.fullmatch(value) is None for value in values):
            return f"Parameter {name[:40]!a} holds characters OAuth does not allow."
    authorization = params.headers.get("authorization") or ""
    scheme, _, encoded = authorization.partition(" ")
    if scheme.lower() == "basic":
        try:
            decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            return "The Basic credentials are not base64 of UTF-8 text."
        if PRINTABLE.fullmatch(decoded) is None:
            return "The Basic credentials hold characters OAuth does not allow."
    return None


def _invalid(description: str, status: int = 400) -> Response:
    error = "invalid_client" if status == 401 else "invalid_request"
    return JSONResponse(
        {"error": error, "error_description": description}, status_code=status, headers=NO_STORE
    )


async def _read(request: HttpRequest) -> oauth.Request:
    """authlib's view of `request`: its headers, and its parameters from the query of a GET
    or the form-encoded body of a POST, never both (a secret in a URL is not taken)."""
    if request.method == "GET":
        return oauth.Request(
            "GET", str(request.url), request.headers, parse_qsl(request.url.query, True), []
        )
    form: list[tuple[str, str]] = []
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type == "application/x-www-form-urlencoded":
        body = (await request.body()).decode("utf-8", errors="replace")
        form = parse_qsl(body, keep_blank_values=True)
    return oauth.Request(request.method, str(request.url), request.headers, [], form)


def _respond(answer: oauth.Answer) -> Response:
    headers = {k: v for k, v in answer.headers if k.lower() != "content-type"}
    if isinstance(answer.body, dict):
        return JSONResponse(answer.body, status_code=answer.status, headers=headers)
    return Response(status_code=answer.status, headers=headers)


def _session_user(request: HttpRequest) -> oauth.UserView | None:
    """The user signed in by the session cookie: only a browser session consents (a token
    acting for a user cannot mint codes for other clients)."""
    actor: Actor = request.scope.get("state", {}).get("actor", ANONYMOUS)
    if actor.kind != "user" or actor.id is None or header_credential(request.scope) is not None:
        return None
    return oauth.UserView(id=uuid.UUID(actor.id), name=actor.name or "")


def _page(title: str, body: str, status: int = 200) -> HTMLResponse:
    document = (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        f"<title>{html.escape(title)}</title>"
        "<style>body{font-family:sans-serif;max-width:32rem;margin:3rem auto}</style>"
        f"</head><body>{body}</body></html>"
    )
    return HTMLResponse(document, status_code=status, headers=PAGE_HEADERS)


def _consent_page(consent: oauth.Consent, user: oauth.UserView, params: oauth.Request) -> Response:
    hidden = "".join(
        f'<input type="hidden" name="{html.escape(k)}" value="{html.escape(v)}">'
        for k, v in params.payload.data.items()
        if k != "decision"
    )
    scopes = "".join(f"<li><code>{html.escape(s)}</code></li>" for s in consent.scopes)
    body = (
        f"<h1>Allow {html.escape(consent.client_name)}?</h1>"
        f"<p>Signed in as {html.escape(user.name)}. "
        f"<strong>{html.escape(consent.client_name)}</strong> asks to act for you with:</p>"
        f"<ul>{scopes}</ul>"
        f"<p>You will be sent back to <code>{html.escape(consent.redirect_uri)}</code>.</p>"
        f'<form method="post" action="{AUTHORIZE}">{hidden}'
        '<button type="submit" name="decision" value="approve">Allow</button> '
        '<button type="submit" name="decision" value="deny">Deny</button>'
        "</form>"
    )
    return _page("Authorize access", body)


def _sign_in_page() -> Response:
    body = (
        "<h1>Sign in first</h1><p>Sign in (<code>POST /api/auth/sign-in/email</code>) in this "
        "browser, then open this page again to decide whether to allow the application.</p>"
    )
    return _page("Sign in required", body, status=401)


def oauth_routes(settings: Settings, database: Database) -> list[BaseRoute]:
    lifetimes = oauth.Lifetimes(
        access=timedelta(seconds=settings.oauth_access_token_seconds),
        refresh=timedelta(seconds=settings.oauth_refresh_token_seconds),
    )

    async def authorize(request: HttpRequest) -> Response:
        params = await _read(request)
        if (problem := _problem(params)) is not None:
            return _invalid(problem)
        user = _session_user(request)
        if request.method == "GET":
            consent = await oauth.run(database, lifetimes, params, "consent", user=user)
            if isinstance(consent, oauth.Answer):
                return _respond(consent)
            if user is None:
                return _sign_in_page()
            return _consent_page(consent, user, params)
        if user is None:
            return _sign_in_page()
        approved = params.form.get("decision") == "approve"
        answer = await oauth.run(
            database, lifetimes, params, "authorize", user=user if approved else None
        )
        assert isinstance(answer, oauth.Answer)
        return _respond(answer)

    def endpoint(action: str) -> Any:
        async def handle(request: HttpRequest) -> Response:
            params = await _read(request)
            if (problem := _problem(params)) is not None:
                return _invalid(problem, 401 if "Basic" in problem else 400)
            answer = await oauth.run(database, lifetimes, params, action)
            assert isinstance(answer, oauth.Answer)
            response = _respond(answer)
            response.headers.update(NO_STORE)
            return response

        return handle

    async def metadata(request: HttpRequest) -> Response:
        issuer = str(request.base_url).rstrip("/")
        return JSONResponse(
            {
                "issuer": issuer,
                "authorization_endpoint": issuer + AUTHORIZE,
                "token_endpoint": issuer + TOKEN,
                "revocation_endpoint": issuer + REVOKE,
                "introspection_endpoint": issuer + INTROSPECT,
                "response_types_supported": ["code"],
                "grant_types_supported": list(GRANT_TYPES),
                "code_challenge_methods_supported": ["S256"],
                "token_endpoint_auth_methods_supported": [*oauth.CONFIDENTIAL_METHODS, "none"],
                "revocation_endpoint_auth_methods_supported": [
                    *oauth.CONFIDENTIAL_METHODS,
                    "none",
                ],
                "introspection_endpoint_auth_methods_supported": list(oauth.CONFIDENTIAL_METHODS),
            }
        )

    return [
        Route(AUTHORIZE, authorize, methods=["GET", "POST"]),
        Route(TOKEN, endpoint("token"), methods=["POST"]),
        Route(REVOKE, endpoint("revocation"), methods=["POST"]),
        Route(INTROSPECT, endpoint("introspection"), methods=["POST"]),
        Route(METADATA, metadata, methods=["GET"]),
    ]


# ---- the OpenAPI description (they are not rows of the route table) --------------------------

_STRING: dict[str, Any] = {"type": "string"}
_HINT = {**_STRING, "enum": ["access_token", "refresh_token"]}
_CLIENT_FIELDS = {
    "client_id": {**_STRING, "description": "For client_secret_post or a public client."},
    "client_secret": {**_STRING, "description": "For client_secret_post."},
}
_AUTHORIZE_FIELDS: dict[str, Any] = {
    "response_type": {**_STRING, "enum": ["code"]},
    "client_id": _STRING,
    "redirect_uri": {**_STRING, "description": "One of the client's, exactly."},
    "scope": {**_STRING, "description": "Space-delimited; default: all the client's scopes."},
    "state": _STRING,
    "code_challenge": {**_STRING, "description": "BASE64URL(SHA256(code_verifier))."},
    "code_challenge_method": {**_STRING, "enum": ["S256"]},
}
# Registered as components by `build_openapi`.
OAUTH_SCHEMAS: dict[str, Any] = {
    "OAuthError": {
        "type": "object",
        "description": "An OAuth error (RFC 6749 §5.2).",
        "required": ["error"],
        "properties": {
            "error": {**_STRING, "example": "invalid_grant"},
            "error_description": _STRING,
            "error_uri": _STRING,
        },
    },
    "OAuthTokenRequest": {
        "type": "object",
        "description": "A token request, form-encoded (RFC 6749 §4).",
        "properties": {
            "grant_type": {**_STRING, "enum": list(GRANT_TYPES)},
            "scope": _STRING,
            "code": _STRING,
            "redirect_uri": _STRING,
            "code_verifier": _STRING,
            "refresh_token": _STRING,
            **_CLIENT_FIELDS,
        },
    },
    "OAuthTokens": {
        "type": "object",
        "description": "Issued tokens (a refresh token for grants acting for a user).",
        "required": ["access_token", "token_type", "expires_in"],
        "properties": {
            "access_token": _STRING,
            "token_type": {**_STRING, "enum": ["Bearer"]},
            "expires_in": {"type": "integer"},
            "scope": _STRING,
            "refresh_token": _STRING,
        },
    },
    "OAuthTokenReference": {
        "type": "object",
        "description": "A token to revoke or introspect, form-encoded.",
        "properties": {"token": _STRING, "token_type_hint": _HINT, **_CLIENT_FIELDS},
    },
    "OAuthRevocation": {"type": "object", "description": "Empty (RFC 7009 §2.2)."},
    "OAuthIntrospection": {
        "type": "object",
        "description": "Whether a token is active, and what it is (RFC 7662 §2.2).",
        "required": ["active"],
        "properties": {
            "active": {"type": "boolean"},
            "scope": _STRING,
            "client_id": _STRING,
            "token_type": _STRING,
            "exp": {"type": "integer"},
            "iat": {"type": "integer"},
            "sub": _STRING,
        },
    },
    "OAuthDecision": {
        "type": "object",
        "description": "The consent page's form: the authorization request and the decision.",
        "properties": {
            **_AUTHORIZE_FIELDS,
            "decision": {**_STRING, "enum": ["approve", "deny"]},
        },
    },
    "OAuthMetadata": {
        "type": "object",
        "description": "Authorization server metadata (RFC 8414).",
        "additionalProperties": True,
    },
}
_FORM = "application/x-www-form-urlencoded"
_ENGINE_ERROR = ref("EngineError")


def _json(schema: Any, description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _either(description: str) -> dict[str, Any]:
    """An OAuth error from authlib, or the engine's error from the middleware."""
    return _json({"anyOf": [ref("OAuthError"), _ENGINE_ERROR]}, description)


_COMMON: dict[str, Any] = {
    "413": _json(_ENGINE_ERROR, "Body too large"),
    "429": _json(_ENGINE_ERROR, "Rate limited"),
    "503": _json(_ENGINE_ERROR, "The database is unavailable; retry shortly"),
}
_HTML = {"text/html": {"schema": _STRING}}
_REDIRECT = {
    "description": "Back to the client's redirect URI with `code` and `state`, or `error`",
    "headers": {"Location": {"schema": _STRING}},
}
_SIGN_IN = {
    "description": "Not signed in (a page), or a refused credential",
    "content": {**_HTML, "application/json": {"schema": _ENGINE_ERROR}},
}
_AUTHORIZE_REFUSED = _either("Unknown client, redirect URI not registered, bad parameter")


def _endpoint(
    operation_id: str, summary: str, body: str, ok: dict[str, Any], description: str
) -> dict[str, Any]:
    return {
        "post": {
            "operationId": operation_id,
            "summary": summary,
            "description": description,
            "tags": ["oauth"],
            "security": [{"clientBasic": []}, {}],
            "requestBody": {"required": True, "content": {_FORM: {"schema": ref(body)}}},
            "responses": {
                "200": ok,
                "400": _either("Invalid request, grant, scope or client (OAuth error)"),
                "401": _either("The client did not authenticate (invalid_client)"),
                "403": _json(_ENGINE_ERROR, "A cookie-riding request from a foreign origin"),
                **_COMMON,
            },
        }
    }


OAUTH_PATHS: dict[str, Any] = {
    AUTHORIZE: {
        "get": {
            "operationId": "oauth_authorize",
            "summary": "OAuth 2.0 authorization request (consent page)",
            "description": "Authorization code with PKCE (S256 required). Shows the session "
            "cookie's user a consent page; anonymous: 401 with a sign-in hint.",
            "tags": ["oauth"],
            "security": [],
            "parameters": [
                {"name": name, "in": "query", "required": False, "schema": schema}
                for name, schema in _AUTHORIZE_FIELDS.items()
            ],
            "responses": {
                "200": {"description": "The consent page", "content": _HTML},
                "302": _REDIRECT,
                "400": _AUTHORIZE_REFUSED,
                "401": _SIGN_IN,
                **_COMMON,
            },
        },
        "post": {
            "operationId": "oauth_authorize_decision",
            "summary": "The consent page's answer",
            "description": "A form post from the consent page, with the session cookie (and "
            "so under the CSRF Origin check): `decision=approve` issues a code.",
            "tags": ["oauth"],
            "security": [],
            "requestBody": {
                "required": True,
                "content": {_FORM: {"schema": ref("OAuthDecision")}},
            },
            "responses": {
                "302": _REDIRECT,
                "400": _AUTHORIZE_REFUSED,
                "401": _SIGN_IN,
                "403": _json(_ENGINE_ERROR, "A foreign origin (CSRF)"),
                **_COMMON,
            },
        },
    },
    TOKEN: _endpoint(
        "oauth_token",
        "OAuth 2.0 token endpoint",
        "OAuthTokenRequest",
        _json(ref("OAuthTokens"), "Tokens"),
        "client_credentials, authorization_code (with code_verifier) and refresh_token (each "
        "use rotates it; a replayed one revokes its family).",
    ),
    REVOKE: _endpoint(
        "oauth_revoke",
        "OAuth 2.0 token revocation (RFC 7009)",
        "OAuthTokenReference",
        _json(ref("OAuthRevocation"), "Revoked, or no token of this client's"),
        "Revoking a refresh token ends its whole grant.",
    ),
    INTROSPECT: _endpoint(
        "oauth_introspect",
        "OAuth 2.0 token introspection (RFC 7662)",
        "OAuthTokenReference",
        _json(ref("OAuthIntrospection"), "Whether the token is active, and what it is"),
        "Confidential clients only, about their own tokens (another's is `active: false`).",
    ),
    METADATA: {
        "get": {
            "operationId": "oauth_metadata",
            "summary": "OAuth 2.0 authorization server metadata (RFC 8414)",
            "tags": ["oauth"],
            "security": [],
            "responses": {"200": _json(ref("OAuthMetadata"), "The metadata"), **_COMMON},
        }
    },
}
