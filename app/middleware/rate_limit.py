"""Rate limiting with the `limits` library, keyed on who is verified to be asking.

A request counts against the window of its verified principal (`actor:api_key:<id>`), else
against its client address (`addr:<ip>`). Anonymous requests and refused credentials share
the address's window, so inventing keys buys no fresh window; every spelling of one key
(`Bearer K`, `bearer  K`, `x-api-key: K`) shares one window, as the window belongs to the
actor the key resolves to, never to the raw header.

Order: this middleware runs outside body limit, CSRF and authentication, so that their
refusals (413, 403, 401) are counted and carry the headers too. It learns the principal
before it counts by asking authentication (`identify`), which looks a credential up once per
request and keeps the answer in the scope; the authentication middleware further in answers
a refused credential with 401 from that same answer.

Refused credentials also count in a smaller window per address (`auth_failure_limit`). Once
it is used up, that address's credentials are refused with 429 before any lookup, so spraying
well-shaped invented keys costs the database a bounded number of lookups. The price: a real
key sent from that address waits for the window too.

Storage is in memory for one process, or Redis (`REDIS_URL`) so that every process of a
scaled-out deployment counts against the same window; a store that is down, or does not
answer within `REDIS_TIMEOUT_SECONDS`, lets requests through (logged). Every counted
response carries `X-RateLimit-Limit/-Remaining/-Reset` of the window it counted against; a
refused one also carries `Retry-After`.

The windows live in one `RateLimiter`, which the GraphQL websocket handlers share: each
operation on a socket counts like a request against its actor's window, and a credential that
a `connection_init` presents goes through the same failure window as a header's (DESIGN §9).
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass

import redis.asyncio as redis
from limits import RateLimitItem, parse
from limits.aio.storage import MemoryStorage, RedisStorage, Storage
from limits.aio.strategies import FixedWindowRateLimiter
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.auth.actor import Actor
from app.db import Database
from app.errors import RateLimited
from app.middleware import RESPONSE_STARTS, send_error
from app.middleware.authentication import identify, presented_credential

log = logging.getLogger(__name__)

EXEMPT_PREFIXES = ("/static/",)
NAMESPACE = "cartograph"
FAILURES_NAMESPACE = "cartograph-auth-failures"


# How long a request waits for Redis (to connect, then for each answer) before it goes on
# without it. redis-py waits forever by default: a Redis that stops answering (a network
# partition, a stalled server) would hold every request.
REDIS_TIMEOUT_SECONDS = 0.5


def redis_client(url: str) -> redis.Redis:
    """A redis-py client for work a request waits on (cost budgets, persisted queries), with
    the same bound as the rate limiter's storage: a silent Redis costs REDIS_TIMEOUT_SECONDS,
    then the caller goes on without it. The URL may carry the `limits` library's `async+`
    prefix; redis-py wants none."""
    return redis.Redis.from_url(
        url.removeprefix("async+"),
        socket_timeout=REDIS_TIMEOUT_SECONDS,
        socket_connect_timeout=REDIS_TIMEOUT_SECONDS,
    )


def make_storage(redis_url: str | None) -> Storage:
    if redis_url:
        uri = "async+" + redis_url if not redis_url.startswith("async+") else redis_url
        return RedisStorage(
            uri,
            implementation="redispy",
            socket_timeout=REDIS_TIMEOUT_SECONDS,
            socket_connect_timeout=REDIS_TIMEOUT_SECONDS,
        )
    return MemoryStorage()


def address_key(scope: Scope) -> str:
    client = scope.get("client")
    return "addr:" + (client[0] if client else "unknown")


def principal_key(actor: Actor | None, address: str) -> str:
    """Whom a request counts against: its verified actor, else its address."""
    if actor is None or actor.is_anonymous:
        return address
    return f"actor:{actor.kind}:{actor.id}"


@dataclass(frozen=True, slots=True)
class Window:
    """One window's verdict on a request, and what the response says about it."""

    allowed: bool
    limit: int
    remaining: int
    reset: float

    @property
    def headers(self) -> dict[str, str]:
        return {
            "X-RateLimit-Limit": str(self.limit),
            "X-RateLimit-Remaining": str(self.remaining),
            "X-RateLimit-Reset": str(math.ceil(self.reset)),
        }


class RateLimiter:
    """The windows in one store: every principal's, and every address's refused credentials."""

    def __init__(self, *, limit: str, auth_failure_limit: str, storage: Storage) -> None:
        self.item: RateLimitItem = parse(limit)
        self.failures: RateLimitItem = parse(auth_failure_limit)
        self.strategy = FixedWindowRateLimiter(storage)

    async def hit(self, actor: Actor | None, address: str) -> Window | None:
        """Count one request (or websocket operation) against its principal's window."""
        return await self._count(self.item, NAMESPACE, principal_key(actor, address))

    async def failures_left(self, address: str) -> Window | None:
        """Whether `address` may still have a credential looked up (nothing is counted)."""
        return await self._count(self.failures, FAILURES_NAMESPACE, address, hit=False)

    async def hit_failure(self, address: str) -> None:
        """Count one refused credential against its address."""
        await self._count(self.failures, FAILURES_NAMESPACE, address)

    async def _count(
        self, item: RateLimitItem, namespace: str, key: str, *, hit: bool = True
    ) -> Window | None:
        """Hit (or only test) one window; None when the store is down."""
        try:
            if hit:
                allowed = await self.strategy.hit(item, namespace, key)
            else:
                allowed = await self.strategy.test(item, namespace, key)
            reset, remaining = await self.strategy.get_window_stats(item, namespace, key)
        except Exception:
            # A rate-limit store that is down must not take the API down with it.
            log.exception("rate-limit storage unavailable; request let through")
            return None
        return Window(allowed, item.amount, remaining, reset)


def retry_after(window: Window) -> int:
    """Whole seconds until `window` resets (at least one)."""
    return max(1, math.ceil(window.reset - time.time()))


class RateLimitMiddleware:
    def __init__(self, app: ASGIApp, *, limiter: RateLimiter, database: Database) -> None:
        self.app = app
        self.limiter = limiter
        self.database = database

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        # Websocket handshakes count too: each one may present a credential to check.
        if scope["type"] not in ("http", "websocket") or scope["path"].startswith(EXEMPT_PREFIXES):
            await self.app(scope, receive, send)
            return
        window = await self._window_for(scope)
        if window is None:
            await self.app(scope, receive, send)
            return
        if not window.allowed:
            await self._refuse(scope, receive, send, window)
            return

        headers = window.headers

        async def send_with_headers(message: Message) -> None:
            if message["type"] in RESPONSE_STARTS:
                message.setdefault("headers", [])
                MutableHeaders(scope=message).update(headers)
            await send(message)

        await self.app(scope, receive, send_with_headers)

    async def _window_for(self, scope: Scope) -> Window | None:
        """The window this request counts against, hit once; None when the store is down."""
        address = address_key(scope)
        if presented_credential(scope) is not None:
            # Before any lookup: an address that keeps failing gets no more of them.
            failures = await self.limiter.failures_left(address)
            if failures is None or not failures.allowed:
                return failures
        actor = await identify(scope, self.database)
        if actor is None:
            await self.limiter.hit_failure(address)
        return await self.limiter.hit(actor, address)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send, window: Window) -> None:
        await send_error(
            scope,
            receive,
            send,
            RateLimited("Rate limit exceeded; retry later."),
            {**window.headers, "Retry-After": str(retry_after(window))},
        )
