"""The CSRF Origin check: an unsafe request (or a websocket handshake) that rides on the
session cookie must come from an allowed origin (or the server's own). Requests with an API
key or Bearer token carry their credential explicitly and are exempt, as browsers never add
those by themselves.

GraphQL file uploads (multipart/form-data POSTs to /graphql) are a "simple" CORS request a
page on any site can send without a preflight, so they must also carry a header no simple
request can (Apollo's rule): `Apollo-Require-Preflight`, `X-Apollo-Operation-Name` or
`GraphQL-Preflight`, whatever their credential.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Receive, Scope, Send

from app.errors import Forbidden
from app.middleware import cookie_values, header, send_error

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})
PREFLIGHT_HEADERS = (b"apollo-require-preflight", b"x-apollo-operation-name", b"graphql-preflight")
PREFLIGHT_REFUSAL = (
    "A multipart GraphQL request must carry an Apollo-Require-Preflight header (or "
    "X-Apollo-Operation-Name, or GraphQL-Preflight)."
)


class CsrfOriginMiddleware:
    def __init__(self, app: ASGIApp, *, allowed_origins: frozenset[str], cookie_name: str):
        self.app = app
        self.allowed_origins = allowed_origins
        self.cookie_name = cookie_name

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if _unpreflighted_upload(scope):
            await send_error(scope, receive, send, Forbidden(PREFLIGHT_REFUSAL))
            return
        if (
            scope["type"] in ("http", "websocket")
            and self._needs_check(scope)
            and not self._origin_ok(scope)
        ):
            await send_error(scope, receive, send, Forbidden("Cross-origin request refused."))
            return
        await self.app(scope, receive, send)

    def _needs_check(self, scope: Scope) -> bool:
        # A websocket handshake is a GET, but what it opens can run mutations.
        if scope["type"] == "http" and scope["method"] in SAFE_METHODS:
            return False
        if header(scope, b"x-api-key") or header(scope, b"authorization"):
            return False
        return bool(cookie_values(scope, self.cookie_name))

    def _origin_ok(self, scope: Scope) -> bool:
        return origin_allowed(scope, self.allowed_origins)


def _unpreflighted_upload(scope: Scope) -> bool:
    if scope["type"] != "http" or scope["method"] != "POST" or scope["path"] != "/graphql":
        return False
    content_type = (header(scope, b"content-type") or "").lower()
    if not content_type.startswith("multipart/form-data"):
        return False
    return not any(header(scope, name) for name in PREFLIGHT_HEADERS)


WEB_SCHEMES = {"ws": "http", "wss": "https"}


def origin_allowed(scope: Scope, allowed_origins: frozenset[str]) -> bool:
    """Whether the request's Origin is the server's own or an allowed one (no Origin: no)."""
    origin = header(scope, b"origin")
    if not origin:
        return False
    origin = origin.rstrip("/")
    host = header(scope, b"host")
    # A page's websocket handshake names the page's origin (http), the scope its own (ws).
    scheme = WEB_SCHEMES.get(scope.get("scheme", "http"), scope.get("scheme", "http"))
    own = f"{scheme}://{host}" if host else None
    return origin == own or origin in allowed_origins
