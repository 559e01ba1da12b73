"""One layer that times each HTTP request once and hands the result to whichever of metrics,
the request's trace span and the JSON access line are on; it also answers `GET /metrics`.

Placed just inside the request-id middleware: it sees every final status (the 401, 413 and
429 of inner layers too) and the request id, and a scrape passes no rate limit,
authentication or access log (the scrape has its own bearer token). `create_app` leaves it
out when all three are off.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from starlette.requests import Request
from starlette.types import ASGIApp, Receive, Scope, Send

from app.middleware import ResponseStatus, request_id_of
from app.resolvers.view import OPERATION_KEY
from app.telemetry.logs import ACCESS_LOGGER
from app.telemetry.metrics import UNMATCHED, Metrics
from app.telemetry.tracing import Tracing

METRICS_PATH = "/metrics"

access_log = logging.getLogger(ACCESS_LOGGER)


def route_of(scope: Scope) -> str:
    """The template of the route that served the request (Starlette puts it in the scope),
    never the raw path, so that ids in paths do not become label values."""
    route = scope.get("route")
    path = getattr(route, "path", None)
    return path if isinstance(path, str) else UNMATCHED


class TelemetryMiddleware:
    def __init__(
        self,
        app: ASGIApp,
        *,
        metrics: Metrics | None,
        tracing: Tracing | None,
        access_lines: bool,
    ) -> None:
        self.app = app
        self.metrics = metrics
        self.tracing = tracing
        self.access_lines = access_lines

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if (
            self.metrics is not None
            and scope["path"] == METRICS_PATH
            and scope["method"] in ("GET", "HEAD")
        ):
            response = await self.metrics.scrape(Request(scope, receive))
            await response(scope, receive, send)
            return
        if self.tracing is None:
            await self._serve(scope, receive, send, None)
            return
        method = scope["method"]
        attributes = {
            "http.request.method": method,
            "url.path": scope["path"],
            "cartograph.request_id": request_id_of(scope) or "",
        }
        with self.tracing.request_span(method, scope.get("headers", ()), attributes) as span:
            await self._serve(scope, receive, send, span)

    async def _serve(self, scope: Scope, receive: Receive, send: Send, span: Any) -> None:
        started = time.perf_counter()
        sending = ResponseStatus(send)
        try:
            await self.app(scope, receive, sending)
        finally:
            self._record(scope, sending.status, time.perf_counter() - started, span)

    def _record(self, scope: Scope, status: int, seconds: float, span: Any) -> None:
        method: str = scope["method"]
        route = route_of(scope)
        operation: str | None = scope.get("state", {}).get(OPERATION_KEY)
        if self.metrics is not None:
            label = self.metrics.operation_label(operation) if operation is not None else ""
            self.metrics.observe(method, route, label, status, seconds)
        if span is not None:
            _finish_span(span, method, route, operation, status)
        if self.access_lines:
            state = scope.get("state", {})
            actor = state.get("actor")
            client = scope.get("client")
            access_log.info(
                "%s %s answered %d in %.1f ms",
                method,
                scope["path"],
                status,
                seconds * 1000,
                extra={
                    "method": method,
                    "path": scope["path"],
                    "route": route,
                    "operation": operation,
                    "status": status,
                    "duration_ms": round(seconds * 1000, 3),
                    "actor_type": getattr(actor, "kind", None),
                    "user_id": getattr(actor, "id", None),
                    "ip_address": client[0] if client else None,
                    "request_id": request_id_of(scope),
                },
            )


def _finish_span(span: Any, method: str, route: str, operation: str | None, status: int) -> None:
    from opentelemetry.trace import Status, StatusCode

    span.update_name(f"{method} {route}" + (f" {operation}" if operation else ""))
    span.set_attribute("http.route", route)
    span.set_attribute("http.response.status_code", status)
    if operation:
        span.set_attribute("graphql.operation.name", operation)
    if status >= 500:
        span.set_status(Status(StatusCode.ERROR))
