"""The GraphQL cost budget: a leaky bucket of points per principal (DESIGN §9).

Each principal (the verified credential, else the client address: the rate limiter's key)
has a bucket of `capacity` points that refills at `restore_rate` points a second. An
operation takes its requested cost from the bucket before it runs; one that finds too few
points is refused whole and takes nothing, so a throttled client loses nothing by retrying
once the bucket holds enough again.

The buckets live in this process's memory, or in Redis when `REDIS_URL` is set so that every
process of a deployment drains the same bucket. Redis keeps the arithmetic in one script that
reads the server's clock, so processes with skewed clocks agree. A store that is down, or
silent past the rate limiter's `REDIS_TIMEOUT_SECONDS`, lets operations through (logged), as
the rate limiter does.
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass
from typing import Protocol

# The rate limiter's bound on a wait for Redis: a Redis that stops answering costs an
# operation REDIS_TIMEOUT_SECONDS, then it goes through.
from app.middleware.rate_limit import redis_client

log = logging.getLogger(__name__)

NAMESPACE = "cartograph-cost"
# Past this many buckets in memory, the ones that have refilled (and so say nothing a new
# bucket would not) are dropped.
MEMORY_PRUNE_AT = 10_000

# KEYS[1]: the bucket; ARGV: capacity, restore rate (points/s), cost. Answers {taken, points
# left} (points as a string: Lua numbers become integers on the way out).
TAKE_SCRIPT = """
local capacity = tonumber(ARGV[1])
local rate = tonumber(ARGV[2])
local cost = tonumber(ARGV[3])
local clock = redis.call('TIME')
local now = tonumber(clock[1]) + tonumber(clock[2]) / 1000000
local state = redis.call('HMGET', KEYS[1], 'points', 'at')
local points = tonumber(state[1]) or capacity
local at = tonumber(state[2]) or now
points = math.min(capacity, points + math.max(0, now - at) * rate)
local taken = 0
if cost <= points then
  points = points - cost
  taken = 1
end
redis.call('HSET', KEYS[1], 'points', tostring(points), 'at', tostring(now))
redis.call('EXPIRE', KEYS[1], math.ceil(capacity / rate) + 1)
return {taken, tostring(points)}
"""


@dataclass(frozen=True, slots=True)
class Balance:
    """A bucket's answer to one operation."""

    taken: bool
    available: float
    capacity: int
    restore_rate: float

    def retry_after(self, cost: int) -> int:
        """Whole seconds until the bucket holds `cost` points (at least one)."""
        return max(1, math.ceil((cost - self.available) / self.restore_rate))

    @property
    def status(self) -> dict[str, float]:
        """Shopify's `throttleStatus`, as every GraphQL response reports it."""
        return {
            "maximumAvailable": self.capacity,
            "currentlyAvailable": math.floor(self.available),
            "restoreRate": self.restore_rate,
        }


class BucketStore(Protocol):
    async def take(self, key: str, cost: int, capacity: int, rate: float) -> tuple[bool, float]:
        """Take `cost` points if the bucket holds them; whether it did, and what is left."""
        ...


class MemoryBuckets:
    """One process's buckets: points and when they were last counted."""

    def __init__(self) -> None:
        self.buckets: dict[str, tuple[float, float]] = {}

    async def take(self, key: str, cost: int, capacity: int, rate: float) -> tuple[bool, float]:
        now = time.monotonic()
        points, at = self.buckets.get(key, (capacity, now))
        points = min(capacity, points + (now - at) * rate)
        taken = cost <= points
        if taken:
            points -= cost
        self.buckets[key] = (points, now)
        if len(self.buckets) > MEMORY_PRUNE_AT:
            self._prune(now, capacity, rate)
        return taken, points

    def _prune(self, now: float, capacity: int, rate: float) -> None:
        full = [k for k, (p, at) in self.buckets.items() if p + (now - at) * rate >= capacity]
        for key in full:
            del self.buckets[key]


class RedisBuckets:
    def __init__(self, url: str) -> None:
        self.client = redis_client(url)
        self.script = self.client.register_script(TAKE_SCRIPT)

    async def take(self, key: str, cost: int, capacity: int, rate: float) -> tuple[bool, float]:
        taken, points = await self.script(keys=[key], args=[capacity, rate, cost])
        return bool(taken), float(points)


class CostBudget:
    """Every principal's bucket, in one store."""

    def __init__(self, *, capacity: int, restore_rate: float, redis_url: str | None) -> None:
        self.capacity = capacity
        self.restore_rate = restore_rate
        self.store: BucketStore = RedisBuckets(redis_url) if redis_url else MemoryBuckets()

    async def take(self, principal: str, cost: int) -> Balance | None:
        """Take `cost` points from `principal`'s bucket (0 only reads it); None when the store
        is down."""
        try:
            taken, available = await self.store.take(
                f"{NAMESPACE}:{principal}", cost, self.capacity, self.restore_rate
            )
        except Exception:
            log.exception("cost budget storage unavailable; operation let through")
            return None
        return Balance(taken, available, self.capacity, self.restore_rate)
