"""Resolve the actor from `x-api-key` or `Authorization: Bearer`; anonymous without either.

A presented credential that is unknown, revoked or expired is refused at once with 401,
rather than silently downgraded to anonymous.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Receive, Scope, Send

from app.auth.actor import ANONYMOUS
from app.db import Database
from app.errors import Unauthorized
from app.middleware import header, send_error
from app.services.apikeys import authenticate


def presented_credential(scope: Scope) -> str | None:
    api_key = header(scope, b"x-api-key")
    if api_key:
        return api_key.strip()
    authorization = header(scope, b"authorization")
    if authorization:
        scheme, _, token = authorization.partition(" ")
        return token.strip() if scheme.lower() == "bearer" else authorization
    return None


class AuthenticationMiddleware:
    def __init__(self, app: ASGIApp, *, database: Database) -> None:
        self.app = app
        self.database = database

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        actor = ANONYMOUS
        credential = presented_credential(scope)
        if credential is not None:
            resolved = await authenticate(self.database, credential)
            if resolved is None:
                await send_error(
                    scope, receive, send, Unauthorized("Invalid, revoked or expired credential.")
                )
                return
            actor = resolved
        scope.setdefault("state", {})["actor"] = actor
        await self.app(scope, receive, send)
