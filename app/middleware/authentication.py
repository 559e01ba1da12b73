"""Resolve the actor from `x-api-key` or `Authorization: Bearer`; anonymous without either.

A presented credential that is unknown, revoked or expired is refused at once with 401,
rather than silently downgraded to anonymous; one that cannot be a key by its shape is
refused without a database lookup. The rate limiter runs first and asks `identify` so that it
can count the request against the verified principal; the answer is kept in the scope, so a
credential is looked up once per request whoever asks.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Receive, Scope, Send

from app.auth.actor import ANONYMOUS, Actor
from app.db import Database
from app.errors import Unauthorized
from app.middleware import header, send_error
from app.services.apikeys import authenticate

IDENTITY = "identity"


def presented_credential(scope: Scope) -> str | None:
    """The credential as presented, normalised so that every spelling of a key is that key:
    surrounding whitespace goes and the `Bearer` scheme matches in any case. An Authorization
    header of another scheme is presented whole, to be refused."""
    api_key = header(scope, b"x-api-key")
    if api_key:
        return api_key.strip()
    authorization = header(scope, b"authorization")
    if not authorization:
        return None
    parts = authorization.split(None, 1)
    if len(parts) == 2 and parts[0].lower() == "bearer":
        return parts[1].strip()
    return authorization.strip()


async def identify(scope: Scope, database: Database) -> Actor | None:
    """The request's actor (ANONYMOUS when it presents nothing), or None when its credential
    is refused. Resolved on the first call and kept in the scope for the next."""
    state = scope.setdefault("state", {})
    if IDENTITY not in state:
        credential = presented_credential(scope)
        state[IDENTITY] = (
            ANONYMOUS if credential is None else await authenticate(database, credential)
        )
    return state[IDENTITY]


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
