"""`X-Request-Id` on every response: a sane inbound id is echoed, otherwise one is made."""

from __future__ import annotations

import re
import uuid
from contextvars import ContextVar

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.middleware import RESPONSE_STARTS, header

SANE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:\-]{1,128}$")
# The id of the request being served, for log lines written anywhere below this middleware
# (tasks started inside the request inherit it); None outside a request.
REQUEST_ID: ContextVar[str | None] = ContextVar("cartograph_request_id", default=None)


def current_request_id() -> str | None:
    return REQUEST_ID.get()


class RequestIdMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        inbound = header(scope, b"x-request-id")
        request_id = inbound if inbound and SANE_REQUEST_ID.match(inbound) else _new_id()
        scope.setdefault("state", {})["request_id"] = request_id
        token = REQUEST_ID.set(request_id)

        async def send_with_id(message: Message) -> None:
            if message["type"] in RESPONSE_STARTS:
                message.setdefault("headers", [])
                MutableHeaders(scope=message)["X-Request-Id"] = request_id
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            REQUEST_ID.reset(token)


def _new_id() -> str:
    return f"req_{uuid.uuid4().hex}"
