"""Live events in tests: drive the dispatcher, wait for subscribers, publish made-up events.

ASGI and in-loop uvicorn tests run without the app's lifespan, so no dispatcher loop runs:
`dispatch` does one round, as the loop would after a commit. A subscription registers with
the process's `LiveEvents` some time after its `subscribe` message (the protocol has no
acknowledgement for it): `until_subscribed` waits for that before a test makes its change.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Collection
from typing import Any

from starlette.applications import Starlette

from app.events.dispatcher import dispatch_pending
from app.events.pubsub import LiveEvents
from app.ids import uuid7
from app.models.base import utcnow

TIMEOUT = 5.0


async def dispatch(app: Starlette) -> int:
    """One dispatcher round: committed events to the app's live subscribers."""
    return await dispatch_pending(app.state.database, publish=app.state.live.publish)


async def until_subscribed(
    live: LiveEvents,
    count: int = 1,
    *,
    besides: Collection[object] = (),
    wait_at_most: float = TIMEOUT,
) -> None:
    """Wait (at most `wait_at_most` seconds) until `count` subscriptions listen in this
    process, leaving out those in `besides` (the ones listening before: a closed socket's may
    still be unwinding)."""
    async with asyncio.timeout(wait_at_most):
        while len(live.subscribers - set(besides)) < count:  # noqa: ASYNC110 (no event)
            await asyncio.sleep(0.01)


async def tick(
    live: LiveEvents, count: int, *, besides: Collection[object] = (), wait_at_most: float = TIMEOUT
) -> None:
    """Once a new subscription listens (waiting at most `wait_at_most` seconds), publish
    `count` made-up `test.tick` events (of an API key: heard with apiKeys:manage or
    audit:read)."""
    await until_subscribed(live, besides=besides, wait_at_most=wait_at_most)
    await live.publish([made_up(n=n) for n in range(count)])


@contextlib.asynccontextmanager
async def ticking(live: LiveEvents, every: float = 0.05) -> AsyncIterator[None]:
    """A `test.tick` event every `every` seconds while the block runs."""

    async def run() -> None:
        while True:
            await live.publish([made_up()])
            await asyncio.sleep(every)

    task = asyncio.create_task(run())
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


def made_up(
    type: str = "test.tick", *, entity_type: str = "api_key", entity_id: str = "k", **data: Any
) -> dict[str, Any]:
    """An event message as the dispatcher publishes it, for an event no domain emits."""
    return {
        "id": str(uuid7()),
        "type": type,
        "occurredAt": utcnow().isoformat().replace("+00:00", "Z"),
        "entityType": entity_type,
        "entityId": entity_id,
        "actorId": None,
        "data": data,
    }
