"""Records every HTTP request (not websockets, not `/static`) in the access log.

Placed just inside the request-id middleware, so it sees the final status of every request,
including the 401, 413 and 429 that inner middleware answer, and the request id. It only
hands a record to the writer's in-memory buffer (`app.services.access_log`): the request
never waits for the database.
"""

from __future__ import annotations

import time

from starlette.types import ASGIApp, Receive, Scope, Send

from app.auth.actor import Actor
from app.middleware import ResponseStatus, request_id_of
from app.services.access_log import AccessLogWriter, entry

SKIPPED_PREFIXES = ("/static/",)


class AccessLogMiddleware:
    def __init__(self, app: ASGIApp, *, writer: AccessLogWriter) -> None:
        self.app = app
        self.writer = writer

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path: str = scope.get("path", "")
        if scope["type"] != "http" or path == "/static" or path.startswith(SKIPPED_PREFIXES):
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        sending = ResponseStatus(send)
        try:
            await self.app(scope, receive, sending)
        finally:
            # The actor is there once authentication ran (absent when it refused).
            found = scope.get("state", {}).get("actor")
            actor = found if isinstance(found, Actor) and found.kind != "anonymous" else None
            client = scope.get("client")
            self.writer.record(
                entry(
                    method=scope.get("method", "GET"),
                    path=path,
                    status=sending.status,
                    duration_ms=round((time.perf_counter() - started) * 1000),
                    user_id=actor.id if actor is not None else None,
                    actor_type=actor.kind if actor is not None else None,
                    ip_address=client[0] if client else None,
                    request_id=request_id_of(scope),
                )
            )
