"""Plain ASGI middleware, one concern a module, wired in one place (`app.main`)."""

from __future__ import annotations

from starlette.types import Receive, Scope, Send

from app.errors import AppError
from app.rest.dialects import dialect_for_path

WEBSOCKET_POLICY_VIOLATION = 1008


def request_id_of(scope: Scope) -> str | None:
    return scope.get("state", {}).get("request_id")


def header(scope: Scope, name: bytes) -> str | None:
    """The first value of a request header (name in lower case), decoded as latin-1."""
    for key, value in scope.get("headers", ()):
        if key == name:
            return value.decode("latin-1")
    return None


async def send_error(
    scope: Scope,
    receive: Receive,
    send: Send,
    error: AppError,
    headers: dict[str, str] | None = None,
) -> None:
    """Answer with `error` in the dialect that the request's path speaks.

    A websocket handshake is refused with the same HTTP response where the server supports
    the ASGI `websocket.http.response` extension (uvicorn does), else closed before accept.
    """
    response = dialect_for_path(scope["path"]).error_response(error, request_id_of(scope), headers)
    if scope["type"] == "http":
        await response(scope, receive, send)
        return
    if "websocket.http.response" not in scope.get("extensions", {}):
        await send({"type": "websocket.close", "code": WEBSOCKET_POLICY_VIOLATION})
        return
    await send(
        {
            "type": "websocket.http.response.start",
            "status": response.status_code,
            "headers": response.raw_headers,
        }
    )
    await send({"type": "websocket.http.response.body", "body": response.body})
