"""Live events between processes: what the dispatcher publishes after commit reaches every
GraphQL subscription, in whichever server process its socket is open.

One interface, `LiveEvents`, over three backends chosen from the settings: Redis when
`CARTOGRAPH_REDIS_URL` is set, else PostgreSQL LISTEN/NOTIFY when the database is PostgreSQL,
else in-process (the embedded SQLite default, one process).

Why not `broadcaster` (encode), the library the issue suggests: we tried it first. Its Redis
backend never delivered a message with the redis-py we run (8.x): its listener starts reading
before the SUBSCRIBE is confirmed, finds no subscription and stops for good, so every
subscriber waits forever. Its PostgreSQL backend needs asyncpg, a second driver for the same
database; neither of its network backends reconnects after a dropped connection; its queues
are unbounded; and its memory backend lives in a private module. What remained of use was
forty lines of glue, so the three backends below are ours, each a few dozen lines over the
clients we already run (redis-py, psycopg 3), and each reconnects with back-off.

Live delivery is at most once: an event published while a process is disconnected from the
backend, or to a subscriber that fell `queue_size` events behind, is not replayed (the socket
is told, and may resubscribe). Webhooks are the durable path; subscriptions are for screens.

Messages travel whole as JSON, but PostgreSQL refuses a NOTIFY payload of 8000 bytes or more:
a bigger message travels as a reference (its id, type and entity) and each receiving process
reads the event's row once to restore it. Measured on the demo data (`cartograph seed
--demo`: 350 events), an event's data is 190 to 1,530 bytes (an order status change ~1,500, a
stock adjustment ~600), so a reference is the exception (a catalog entity with long
attributes) and the common path costs no query at all; sending references always would cost
one read per event per process.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import AsyncIterator, Callable
from typing import Any, Protocol

import orjson
import psycopg
from redis.asyncio import Redis
from redis.exceptions import RedisError
from sqlalchemy.engine import make_url

from app.db import Database
from app.events.dispatcher import event_message
from app.models.audit import Event as EventRow

log = logging.getLogger("app.events.live")

CHANNEL = "cartograph_events"
# PostgreSQL's NOTIFY payload must be shorter than 8000 bytes.
NOTIFY_LIMIT = 7999
# Waits between reconnection attempts (seconds), the last one repeated.
BACKOFF = (0.2, 0.5, 1.0, 2.0, 5.0)
# How long an idle LISTEN connection waits before it checks it is still alive.
LISTEN_HEALTH_SECONDS = 30.0
# How long start-up waits for the backend before it serves without (and keeps trying).
START_TIMEOUT = 5.0

Message = dict[str, Any]
Deliver = Callable[[str], None]


class Backend(Protocol):
    """Carries text messages on one channel between processes. `connect` starts listening
    (each message received goes to `deliver`) and sets `ready` once it listens; losing the
    connection later must not stop it: it listens again when it can."""

    ready: asyncio.Event

    async def connect(self, deliver: Deliver) -> None: ...

    async def disconnect(self) -> None: ...

    async def publish(self, text: str) -> None: ...


class MemoryBackend:
    """One process: a message published is delivered here, to this process, at once."""

    def __init__(self) -> None:
        self.ready = asyncio.Event()
        self._deliver: Deliver | None = None

    async def connect(self, deliver: Deliver) -> None:
        self._deliver = deliver
        self.ready.set()

    async def disconnect(self) -> None:
        self._deliver = None
        self.ready.clear()

    async def publish(self, text: str) -> None:
        if self._deliver is not None:
            self._deliver(text)


async def _retry_after(failures: int, what: str, error: Exception) -> None:
    delay = BACKOFF[min(failures, len(BACKOFF) - 1)]
    log.warning("%s lost (%s); trying again in %s s", what, error, delay)
    await asyncio.sleep(delay)


def psycopg_conninfo(database_url: str) -> str:
    """The libpq URL of an SQLAlchemy one (`postgresql+psycopg://...` less the driver)."""
    url = make_url(database_url).set(drivername="postgresql")
    return url.render_as_string(hide_password=False)


class PostgresBackend:
    """LISTEN/NOTIFY over psycopg 3. One connection listens; publishing uses a second one (a
    connection waiting for notifications runs no statement meanwhile)."""

    def __init__(self, database_url: str) -> None:
        self.ready = asyncio.Event()
        self._conninfo = psycopg_conninfo(database_url)
        self._listener: asyncio.Task[None] | None = None
        self._publisher: psycopg.AsyncConnection[Any] | None = None
        self._publish_lock = asyncio.Lock()

    async def connect(self, deliver: Deliver) -> None:
        self._listener = asyncio.create_task(self._listen(deliver))

    async def disconnect(self) -> None:
        await _cancel(self._listener)
        self.ready.clear()
        if self._publisher is not None:
            await self._publisher.close()
            self._publisher = None

    async def publish(self, text: str) -> None:
        async with self._publish_lock:
            for attempt in range(2):
                try:
                    if self._publisher is None or self._publisher.closed:
                        self._publisher = await psycopg.AsyncConnection.connect(
                            self._conninfo, autocommit=True
                        )
                    await self._publisher.execute("SELECT pg_notify(%s, %s)", (CHANNEL, text))
                    return
                except psycopg.OperationalError:
                    # The connection dropped since the last publish: one fresh try.
                    self._publisher = None
                    if attempt:
                        raise

    async def _listen(self, deliver: Deliver) -> None:
        failures = 0
        while True:
            try:
                async with await psycopg.AsyncConnection.connect(
                    self._conninfo, autocommit=True
                ) as connection:
                    await connection.execute(f"LISTEN {CHANNEL}")
                    self.ready.set()
                    failures = 0
                    while True:
                        async for notify in connection.notifies(timeout=LISTEN_HEALTH_SECONDS):
                            deliver(notify.payload)
                        # Quiet for a while: make sure the connection still answers.
                        await connection.execute("SELECT 1")
            except psycopg.OperationalError as error:
                await _retry_after(failures, "LISTEN connection", error)
                failures += 1


class RedisBackend:
    """Redis PUBLISH/SUBSCRIBE over redis-py's asyncio client."""

    def __init__(self, url: str) -> None:
        self.ready = asyncio.Event()
        self._client = Redis.from_url(url)
        self._listener: asyncio.Task[None] | None = None

    async def connect(self, deliver: Deliver) -> None:
        self._listener = asyncio.create_task(self._listen(deliver))

    async def disconnect(self) -> None:
        await _cancel(self._listener)
        self.ready.clear()
        await self._client.aclose()

    async def publish(self, text: str) -> None:
        await self._client.publish(CHANNEL, text)

    async def _listen(self, deliver: Deliver) -> None:
        failures = 0
        while True:
            try:
                async with self._client.pubsub() as pubsub:
                    await pubsub.subscribe(CHANNEL)
                    self.ready.set()
                    failures = 0
                    async for message in pubsub.listen():
                        if message["type"] == "message":
                            deliver(message["data"].decode())
            except (RedisError, OSError) as error:
                await _retry_after(failures, "Redis subscription", error)
                failures += 1


async def _cancel(task: asyncio.Task[None] | None) -> None:
    if task is not None:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


class Subscriber:
    """One subscription's queue of messages, bounded: a subscriber that falls behind is
    dropped (`overflowed`) rather than holding the whole process's memory."""

    def __init__(self, size: int) -> None:
        self.queue: asyncio.Queue[Message | None] = asyncio.Queue(maxsize=size)
        self.overflowed = False

    def offer(self, message: Message) -> None:
        if self.overflowed:
            return
        try:
            self.queue.put_nowait(message)
        except asyncio.QueueFull:
            self.overflowed = True
            self.end()

    def end(self) -> None:
        """End the iteration after what is queued (the oldest message goes to make room)."""
        if self.queue.full():
            self.queue.get_nowait()
        self.queue.put_nowait(None)

    async def messages(self) -> AsyncIterator[Message]:
        while (message := await self.queue.get()) is not None:
            yield message


class SubscriberOverflow(Exception):
    """The subscriber fell too far behind the events and was dropped."""


class LiveEvents:
    """The process's live fan-out: `publish` after commit, `subscribe` per GraphQL
    subscription. The backend delivers each message once to the process; it is decoded (and,
    when it came as a reference, read) once, then offered to every local subscriber.

    Started by the app's lifespan; `publish` and `subscribe` also start it on first use (an
    app served without its lifespan, as in tests)."""

    def __init__(
        self,
        backend: Backend,
        *,
        database: Database,
        max_message_bytes: int | None = None,
        queue_size: int = 100,
    ) -> None:
        self.backend = backend
        self.database = database
        self.max_message_bytes = max_message_bytes
        self.queue_size = queue_size
        self.subscribers: set[Subscriber] = set()
        self._inbox: asyncio.Queue[str] = asyncio.Queue()
        self._started = False
        self._start_lock = asyncio.Lock()
        self._fan_out: asyncio.Task[None] | None = None

    @classmethod
    def for_settings(
        cls, *, redis_url: str | None, database: Database, queue_size: int = 100
    ) -> LiveEvents:
        """Redis when there is one, else PostgreSQL's LISTEN/NOTIFY, else in-process."""
        if redis_url:
            return cls(RedisBackend(redis_url), database=database, queue_size=queue_size)
        if not database.is_sqlite:
            return cls(
                PostgresBackend(database.url),
                database=database,
                max_message_bytes=NOTIFY_LIMIT,
                queue_size=queue_size,
            )
        return cls(MemoryBackend(), database=database, queue_size=queue_size)

    async def start(self) -> None:
        """Connect to the backend and wait (bounded) until it listens; when it cannot be
        reached, serve without it and keep trying in the background."""
        async with self._start_lock:
            if self._started:
                return
            self._fan_out = asyncio.create_task(self._run())
            await self.backend.connect(self._inbox.put_nowait)
            self._started = True
            try:
                await asyncio.wait_for(self.backend.ready.wait(), START_TIMEOUT)
            except TimeoutError:
                log.warning("live events: the backend is unreachable; still trying")

    async def stop(self) -> None:
        async with self._start_lock:
            if not self._started:
                return
            await self.backend.disconnect()
            await _cancel(self._fan_out)
            for subscriber in list(self.subscribers):
                subscriber.end()
            self._started = False

    async def publish(self, messages: list[Message]) -> None:
        """Send `messages` (the dispatcher's `event_message` dicts) to every process."""
        if not messages:
            return
        await self.start()
        for message in messages:
            await self.backend.publish(self.encode(message))

    def encode(self, message: Message) -> str:
        """The message as JSON, or a reference to its row when it would not fit the backend."""
        text = orjson.dumps(message).decode()
        if self.max_message_bytes is not None and len(text.encode()) > self.max_message_bytes:
            reference = {k: message.get(k) for k in ("id", "type", "entityType", "entityId")}
            text = orjson.dumps({**reference, "reference": True}).decode()
        return text

    @contextlib.asynccontextmanager
    async def subscribe(self) -> AsyncIterator[AsyncIterator[Message]]:
        """Every message published from now on, in this process, until the block ends.
        Raises `SubscriberOverflow` from the iteration when the subscriber fell behind."""
        await self.start()
        subscriber = Subscriber(self.queue_size)
        self.subscribers.add(subscriber)
        try:
            yield self._iterate(subscriber)
        finally:
            self.subscribers.discard(subscriber)

    async def _iterate(self, subscriber: Subscriber) -> AsyncIterator[Message]:
        async for message in subscriber.messages():
            yield message
        if subscriber.overflowed:
            raise SubscriberOverflow

    async def _run(self) -> None:
        while True:
            text = await self._inbox.get()
            try:
                message = await self._decode(text)
            except Exception:
                log.exception("live event dropped: it could not be read")
                continue
            if message is not None:
                for subscriber in list(self.subscribers):
                    subscriber.offer(message)

    async def _decode(self, text: str) -> Message | None:
        message: Message = orjson.loads(text)
        if not message.pop("reference", False):
            return message
        # Too big for the backend: the row holds it (committed before it was published).
        async with self.database.read_session() as session:
            row = await session.get(EventRow, uuid.UUID(message["id"]))
        return event_message(row) if row is not None else None
