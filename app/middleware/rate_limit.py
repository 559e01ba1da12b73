"""Rate limiting with the `limits` library: per credential, else per client address.

Storage is in memory for one process, or Redis (`REDIS_URL`) so that every process of a
scaled-out deployment counts against the same window. Every response carries
`X-RateLimit-Limit/-Remaining/-Reset`; a refused one also carries `Retry-After`.
"""

from __future__ import annotations

import hashlib
import logging
import math
import time

from limits import RateLimitItem, parse
from limits.aio.storage import MemoryStorage, RedisStorage, Storage
from limits.aio.strategies import FixedWindowRateLimiter
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.errors import RateLimited
from app.middleware import header, send_error

log = logging.getLogger(__name__)

EXEMPT_PREFIXES = ("/static/",)


def make_storage(redis_url: str | None) -> Storage:
    if redis_url:
        uri = "async+" + redis_url if not redis_url.startswith("async+") else redis_url
        return RedisStorage(uri, implementation="redispy")
    return MemoryStorage()


def client_key(scope: Scope) -> str:
    """Whom a request counts against: a digest of its credential, else its address.

    The digest keeps plaintext keys out of the storage; an invented credential buys nothing,
    since it is refused with 401 and still counted against its own small window.
    """
    credential = header(scope, b"x-api-key") or header(scope, b"authorization")
    if credential:
        return "cred:" + hashlib.sha256(credential.encode()).hexdigest()[:32]
    client = scope.get("client")
    return "addr:" + (client[0] if client else "unknown")


class RateLimitMiddleware:
    def __init__(self, app: ASGIApp, *, limit: str, storage: Storage) -> None:
        self.app = app
        self.item: RateLimitItem = parse(limit)
        self.limiter = FixedWindowRateLimiter(storage)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        # Websocket handshakes count too: each one may present a credential to check.
        if scope["type"] not in ("http", "websocket") or scope["path"].startswith(EXEMPT_PREFIXES):
            await self.app(scope, receive, send)
            return
        key = client_key(scope)
        try:
            allowed = await self.limiter.hit(self.item, "cartograph", key)
            reset, remaining = await self.limiter.get_window_stats(self.item, "cartograph", key)
        except Exception:
            # A rate-limit store that is down must not take the API down with it.
            log.exception("rate-limit storage unavailable; request let through")
            await self.app(scope, receive, send)
            return
        headers = {
            "X-RateLimit-Limit": str(self.item.amount),
            "X-RateLimit-Remaining": str(remaining),
            "X-RateLimit-Reset": str(math.ceil(reset)),
        }
        if not allowed:
            retry_after = max(1, math.ceil(reset - time.time()))
            await send_error(
                scope,
                receive,
                send,
                RateLimited("Rate limit exceeded; retry later."),
                {**headers, "Retry-After": str(retry_after)},
            )
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] in ("http.response.start", "websocket.http.response.start"):
                MutableHeaders(scope=message).update(headers)
            await send(message)

        await self.app(scope, receive, send_with_headers)
