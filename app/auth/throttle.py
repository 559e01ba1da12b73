"""Sign-in throttling: progressive back-off per account and address, never a lock-out.

Three counts, all of failed sign-ins (a success costs nothing and clears its pair's count):

- per (account, address): after `free_failures` failures, each further failure makes the
  next attempt of that pair wait 1, 2, 4 ... seconds, at most `max_backoff` seconds. This is
  what slows a password guesser down; the account's owner signing in from elsewhere is not
  affected, and a guesser can only ever slow down their own address.
- per account, from every address (`account_failures`, looser): the same bounded back-off for
  the whole account, against guessing spread over many addresses. Anyone can trigger this
  one, so it only ever delays (at most `max_backoff` seconds a try), never locks out.
- per address (`address_limit`, a `limits` window): failures from one address across every
  account (credential stuffing); past it, that address waits for the window.

The account is keyed by the normalised e-mail address as typed, so an unknown address is
throttled exactly like a real one and the answers tell nothing. Counts live in the `limits`
storage (memory, or Redis with REDIS_URL, shared by every process); a storage that is down
lets sign-ins through (logged), as the request rate limiter does. Counts expire
`FAILURE_MEMORY` after their first failure.
"""

from __future__ import annotations

import hashlib
import logging
import math
import time
from dataclasses import dataclass

from limits import RateLimitItem, parse
from limits.aio.storage import Storage
from limits.aio.strategies import FixedWindowRateLimiter

from app.errors import RateLimited

log = logging.getLogger(__name__)

NAMESPACE = "cartograph-sign-in"
FAILURE_MEMORY = 15 * 60  # seconds a failure is remembered


def backoff_seconds(failures: int, *, free: int, cap: int) -> int:
    """How long the attempt after `failures` failures waits: 0 up to `free - 1` failures,
    then 1, 2, 4 ... seconds, never more than `cap`."""
    if failures < free:
        return 0
    exponent = failures - free
    return cap if exponent >= cap.bit_length() else min(cap, 2**exponent)


class TooManySignIns(RateLimited):
    """A throttled sign-in: RATE_LIMITED (engine 429 TOO_MANY_REQUESTS) with Retry-After."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(f"Too many failed sign-ins; retry in {retry_after} s.")
        self.retry_after = retry_after


def _digest(text: str) -> str:
    # Keys never hold an e-mail address in the clear (Redis may be shared, its keys listed).
    return hashlib.sha256(text.encode()).hexdigest()[:32]


@dataclass(frozen=True, slots=True)
class SignInThrottle:
    storage: Storage
    free_failures: int
    account_failures: int
    max_backoff: int
    address_limit: RateLimitItem

    @classmethod
    def build(
        cls,
        storage: Storage,
        *,
        free_failures: int,
        account_failures: int,
        max_backoff: int,
        address_limit: str,
    ) -> SignInThrottle:
        return cls(storage, free_failures, account_failures, max_backoff, parse(address_limit))

    def _keys(self, email: str, address: str) -> tuple[str, str]:
        account = _digest(email)
        return f"{NAMESPACE}/pair/{account}/{address}", f"{NAMESPACE}/account/{account}"

    async def check(self, email: str, address: str) -> None:
        """Raise TooManySignIns when this attempt must wait."""
        try:
            waits = [await self._wait_left(key) for key in self._keys(email, address)]
            window = FixedWindowRateLimiter(self.storage)
            if not await window.test(self.address_limit, NAMESPACE, address):
                reset, _ = await window.get_window_stats(self.address_limit, NAMESPACE, address)
                waits.append(max(1, math.ceil(reset - time.time())))
        except Exception:
            log.exception("sign-in throttle storage unavailable; attempt let through")
            return
        if (longest := max(waits, default=0)) > 0:
            raise TooManySignIns(longest)

    async def failed(self, email: str, address: str) -> None:
        """Count a failed attempt; the next one of the pair (or account) may have to wait."""
        pair, account = self._keys(email, address)
        try:
            await FixedWindowRateLimiter(self.storage).hit(self.address_limit, NAMESPACE, address)
            await self._count(pair, self.free_failures)
            await self._count(account, self.account_failures)
        except Exception:
            log.exception("sign-in throttle storage unavailable; failure not counted")

    async def succeeded(self, email: str, address: str) -> None:
        """A correct password clears its pair's failures (not the account's: the guessing
        elsewhere goes on)."""
        pair, _ = self._keys(email, address)
        try:
            await self.storage.clear(f"{pair}/failures")
            await self.storage.clear(f"{pair}/wait")
        except Exception:
            log.exception("sign-in throttle storage unavailable; failures not cleared")

    async def _count(self, key: str, free: int) -> None:
        failures = await self.storage.incr(f"{key}/failures", FAILURE_MEMORY)
        wait = backoff_seconds(failures, free=free, cap=self.max_backoff)
        if wait > 0:
            await self.storage.clear(f"{key}/wait")
            await self.storage.incr(f"{key}/wait", wait)

    async def _wait_left(self, key: str) -> int:
        if await self.storage.get(f"{key}/wait") <= 0:
            return 0
        left = await self.storage.get_expiry(f"{key}/wait") - time.time()
        return max(1, math.ceil(left)) if left > 0 else 0
