"""Resolve the actor from `x-api-key`, `Authorization: Bearer` or the session cookie;
anonymous without any.

A credential presented in a header that is unknown, revoked or expired is refused at once with
401 (a websocket handshake: accepted, then closed with 4401), rather than silently downgraded
to anonymous; one that cannot be a credential by its shape is refused without a database
lookup. A session cookie that no longer names a live session is different: a browser keeps
sending it after the session ends, and the storefront must still work, so the request goes on
as anonymous (routes that need a session then answer 401). A header credential wins over the
cookie. The rate limiter runs first and asks `identify` so that it can count the request
against the verified principal; the answer is kept in the scope, so a credential is looked up
once per request whoever asks. A websocket may present its credential later, in
`connection_init` (`connection_params_credential`); the GraphQL websocket handlers check that
one.
"""

from __future__ import annotations

from collections.abc import Mapping

from starlette.types import ASGIApp, Receive, Scope, Send

from app.auth.actor import ANONYMOUS, Actor
from app.auth.credentials import authenticate
from app.db import Database
from app.errors import Unauthorized
from app.middleware import cookie_values, header, send_error

IDENTITY = "identity"
# The OAuth endpoints where a client authenticates itself (HTTP Basic, RFC 6749 §2.3.1): their
# Authorization header is the client's, not a credential of ours, and is left to them.
TOKEN = "/api/oauth/token"
REVOKE = "/api/oauth/revoke"
INTROSPECT = "/api/oauth/introspect"
CLIENT_AUTHENTICATED_PATHS = frozenset({TOKEN, REVOKE, INTROSPECT})
# Set in the scope's state when the session cookie names no live session (to clear it).
STALE_SESSION = "stale_session"


def normalised_credential(api_key: str | None, authorization: str | None) -> str | None:
    """The credential as presented, normalised so that every spelling of a key is that key:
    surrounding whitespace goes and the `Bearer` scheme matches in any case. An Authorization
    value of another scheme is presented whole, to be refused."""
    if api_key:
        return api_key.strip()
    if not authorization:
        return None
    parts = authorization.split(None, 1)
    if len(parts) == 2 and parts[0].lower() == "bearer":
        return parts[1].strip()
    return authorization.strip()


def header_credential(scope: Scope) -> str | None:
    """The credential of a request's (or a websocket handshake's) headers."""
    if scope.get("path") in CLIENT_AUTHENTICATED_PATHS:
        return None
    return normalised_credential(header(scope, b"x-api-key"), header(scope, b"authorization"))


def presented_credential(scope: Scope) -> str | None:
    """The credential of a request's headers, else its session cookie's."""
    return header_credential(scope) or session_credential(scope)


def session_cookie_name(scope: Scope) -> str:
    app = scope.get("app")
    settings = getattr(getattr(app, "state", None), "settings", None)
    return settings.session_cookie if settings is not None else "cartograph_session"


def session_credential(scope: Scope) -> str | None:
    """The session token in the session cookie, or None. The CSRF Origin check refuses a
    cookie-riding unsafe request or websocket handshake from a foreign origin."""
    values = cookie_values(scope, session_cookie_name(scope))
    return next((value.strip().strip('"') for value in values if value), None)


def connection_params_credential(params: Mapping[str, object] | None) -> str | None:
    """The credential in a websocket's `connection_init` payload, which browsers use as they
    cannot set handshake headers: `x-api-key` or `Authorization` in any case, at the top level
    (GraphiQL sends its Headers tab as is) or under `headers` (Apollo's and Hasura's habit)."""
    if not params:
        return None
    nested = params.get("headers")
    for source in (params, nested if isinstance(nested, Mapping) else {}):
        values = {str(k).lower(): v for k, v in source.items() if isinstance(v, str)}
        credential = normalised_credential(values.get("x-api-key"), values.get("authorization"))
        if credential is not None:
            return credential
    return None


async def actor_for(database: Database, credential: str | None) -> Actor | None:
    """ANONYMOUS for no credential, else the actor behind it, or None when it is refused."""
    return ANONYMOUS if credential is None else await authenticate(database, credential)


async def scope_actor(scope: Scope, database: Database) -> Actor | None:
    """The actor of a request's (or handshake's) headers, else of its session cookie (a dead
    session being anonymous), else ANONYMOUS; None when a header credential is refused."""
    credential = header_credential(scope)
    if credential is not None:
        return await authenticate(database, credential)
    token = session_credential(scope)
    if token is None:
        return ANONYMOUS
    actor = await authenticate(database, token)
    if actor is None:
        scope.setdefault("state", {})[STALE_SESSION] = True
    return actor or ANONYMOUS


async def identify(scope: Scope, database: Database) -> Actor | None:
    """The request's actor (ANONYMOUS when it presents nothing), or None when its credential
    is refused. Resolved on the first call and kept in the scope for the next."""
    state = scope.setdefault("state", {})
    if IDENTITY not in state:
        state[IDENTITY] = await scope_actor(scope, database)
    actor: Actor | None = state[IDENTITY]
    return actor


class AuthenticationMiddleware:
    def __init__(self, app: ASGIApp, *, database: Database) -> None:
        self.app = app
        self.database = database

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        actor = await identify(scope, self.database)
        if actor is None:
            await send_error(
                scope, receive, send, Unauthorized("Invalid, revoked or expired credential.")
            )
            return
        scope["state"]["actor"] = actor
        await self.app(scope, receive, send)
