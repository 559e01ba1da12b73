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
    """authlib's view of `request`: its headers, query and form-encoded body."""
    form: list[tuple[str, str]] = []
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if request.method == "POST" and content_type == "application/x-www-form-urlencoded":
        body = (await request.body()).decode("utf-8", errors="replace")
        form = parse_qsl(body, keep_blank_values=True)
    return oauth.Request(
        request.method,
        str(request.url),
        request.headers,
        parse_qsl(request.url.query, keep_blank_values=True),
        form,
    )


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
