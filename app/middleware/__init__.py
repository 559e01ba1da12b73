"""Plain ASGI middleware, one concern a module, wired in one place (`app.main`)."""

from __future__ import annotations

from collections.abc import Iterable

from starlette.types import Message, Receive, Scope, Send

from app.errors import AppError
from app.rest.dialects import dialect_for_path

# The messages that start a response, whose headers every middleware may add to: an HTTP
# response and a websocket's 101 (a refused websocket is accepted, then closed).
RESPONSE_STARTS = frozenset({"http.response.start", "websocket.accept"})
# A websocket close reason is at most 123 bytes of UTF-8 (RFC 6455 §5.5).
CLOSE_REASON_BYTES = 123


class ResponseStatus:
    """A `send` that passes every message on and notes the status the response started with:
    500 until one starts, as an exception that escapes the app is answered 500 by
    Starlette's outermost layer. What the access log and the telemetry layer record."""

    def __init__(self, send: Send) -> None:
        self.send = send
        self.status = 500

    async def __call__(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            self.status = message["status"]
        await self.send(message)


def request_id_of(scope: Scope) -> str | None:
    request_id: str | None = scope.get("state", {}).get("request_id")
    return request_id


def header(scope: Scope, name: bytes) -> str | None:
    """The first value of a request header (name in lower case), decoded as latin-1."""
    headers: Iterable[tuple[bytes, bytes]] = scope.get("headers", ())
    for key, value in headers:
        if key == name:
            return value.decode("latin-1")
    return None


def cookie_values(scope: Scope, name: str) -> list[str]:
    """Every value the request's Cookie header gives the cookie `name`, empty ones included."""
    cookies = header(scope, b"cookie") or ""
    pairs = (part.strip().partition("=") for part in cookies.split(";"))
    return [value for key, _, value in pairs if key == name]


async def send_error(
    scope: Scope,
    receive: Receive,
    send: Send,
    error: AppError,
    headers: dict[str, str] | None = None,
) -> None:
    """Answer with `error` in the dialect that the request's path speaks.

    A websocket is refused the way GraphQL websocket clients understand: accepted, then closed
    with 4000 + the HTTP status (4401, 4403, 4429, the codes of the graphql-ws protocols) and
    the message as the reason. A browser sees that code; a refused handshake would reach it as
    a bare 1006.
    """
    dialect = dialect_for_path(scope["path"])
    if scope["type"] == "websocket":
        status, _ = dialect.status(error)
        await close_websocket(scope, receive, send, 4000 + status, error.message, headers)
        return
    response = dialect.error_response(error, request_id_of(scope), headers)
    await response(scope, receive, send)


async def close_websocket(
    scope: Scope,
    receive: Receive,
    send: Send,
    code: int,
    reason: str,
    headers: dict[str, str] | None = None,
) -> None:
    """Accept a websocket handshake (with the first subprotocol it offers, as a browser fails
    a handshake that answers none) and close it at once with `code` and `reason`."""
    message = await receive()
    if message["type"] != "websocket.connect":
        return  # the client left before its handshake was answered
    offered = scope.get("subprotocols") or []
    await send(
        {
            "type": "websocket.accept",
            "subprotocol": offered[0] if offered else None,
            "headers": [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()],
        }
    )
    await send({"type": "websocket.close", "code": code, "reason": close_reason(reason)})


def close_reason(message: str) -> str:
    """`message` cut to what a close frame can carry."""
    encoded = message.encode()
    if len(encoded) <= CLOSE_REASON_BYTES:
        return message
    return encoded[: CLOSE_REASON_BYTES - 3].decode(errors="ignore") + "..."
