"""A database fault that escapes a handler is a 503 with `Retry-After`, not a 500.

The routes turn the faults `app.db.unavailable` recognises into SERVICE_UNAVAILABLE
themselves (GraphQL's error formatter, and so every REST route); this catches what is
raised outside them: looking up a credential (the rate limiter and authentication ask the
database), the payment webhook, the health of anything added later. A websocket handshake is
closed with 4503. Anything else passes on, to be logged and answered as INTERNAL_ERROR.
"""

from __future__ import annotations

import logging

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.db import unavailable
from app.middleware import request_id_of, send_error

log = logging.getLogger(__name__)


class ServiceUnavailableMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] in ("http.response.start", "websocket.accept", "websocket.close"):
                started = True
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except Exception as error:
            fault = unavailable(error)
            if fault is None or started:
                raise
            log.warning("database unavailable [request %s]: %s", request_id_of(scope), error)
            await send_error(scope, receive, send, fault)
