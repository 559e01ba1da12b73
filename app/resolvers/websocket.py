"""GraphQL over websocket: both protocols, text frames, and who is asking (DESIGN §10).

Strawberry serves `graphql-transport-ws` and the legacy `graphql-ws`; this module changes
what it does by default in these ways:

- Messages leave as text frames. Strawberry sends bytes when `encode_json` returns bytes (ours
  does, through orjson), and browsers, GraphiQL and `gql` all refuse binary frames.
- The credential may come in the `connection_init` payload (browsers cannot set handshake
  headers); it is checked before `connection_ack`. Without one the handshake's credential
  stands, which the middleware has already verified.
- Before every operation the actor is resolved afresh from that credential, and the operation
  counts against the actor's rate-limit window like an HTTP request.
- Before every result an operation delivers (each event of a subscription) the credential is
  checked again, so a subscription opened with a key that is then revoked, or that expires,
  is ended at its next delivery and sends nothing more. Revocations are not pushed: the check
  on delivery is what holds in every process, and an idle socket is also closed when its key's
  known expiry passes.
- The legacy protocol runs queries and mutations too, as its clients send them.
- With the allow-list on (`app.resolvers.persisted`), an operation whose document is not a
  registered body is refused alone (QUERY_NOT_IN_SAFELIST), as over HTTP.
- A socket runs at most `max_subscriptions_per_connection` operations at once; one more is
  refused alone with RATE_LIMITED (Strawberry's own refusal carries no code). The server pings
  every `keep_alive_seconds` (`ping`; the legacy protocol's `ka`), first after one interval
  (Strawberry's legacy handler sends `ka` at once, between `connection_ack` and the answers
  clients wait for).

Refusals close the socket with 4000 + the HTTP status, as the middleware does: 4401 for a
credential refused when presented, 4403 for one withdrawn while the socket is open (revoked or
expired, found at an operation, a delivery or the expiry), 4429 for an address out of
credential lookups, 4503 when the database cannot check a `connection_init` credential. An
operation over the rate limit, or one whose actor the database cannot resolve now, is refused
alone (an `error` message with RATE_LIMITED or SERVICE_UNAVAILABLE); the socket stays open. A
result whose credential the database cannot check now is not delivered.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncGenerator, Mapping
from json import JSONDecodeError
from typing import Any

from graphql import GraphQLError, GraphQLFormattedError
from starlette.websockets import WebSocketDisconnect, WebSocketState
from strawberry.asgi import ASGIWebSocketAdapter
from strawberry.http.exceptions import (
    NonJsonMessageReceived,
    NonTextMessageReceived,
    WebSocketDisconnected,
)
from strawberry.schema import BaseSchema
from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import (
    BaseGraphQLTransportWSHandler,
)
from strawberry.subscriptions.protocols.graphql_transport_ws.types import (
    ConnectionInitMessage,
    ErrorMessage,
    SubscribeMessage,
)
from strawberry.subscriptions.protocols.graphql_ws.handlers import BaseGraphQLWSHandler
from strawberry.subscriptions.protocols.graphql_ws.types import ConnectionErrorMessage, StartMessage
from strawberry.subscriptions.protocols.graphql_ws.types import (
    ConnectionInitMessage as LegacyConnectionInitMessage,
)
from strawberry.subscriptions.protocols.graphql_ws.types import ErrorMessage as LegacyErrorMessage
from strawberry.types.execution import PreExecutionError

from app.auth.actor import Actor
from app.db import Database, unavailable
from app.errors import AppError, Forbidden, RateLimited, ServiceUnavailable, Unauthorized
from app.middleware import close_reason
from app.middleware.authentication import (
    actor_for,
    connection_params_credential,
    presented_credential,
)
from app.middleware.rate_limit import RateLimiter, address_key, retry_after
from app.models.base import utcnow
from app.resolvers.context import Context
from app.resolvers.persisted import PersistedDocuments, Refused, not_in_allow_list
from app.rest.dialects import GRAPHQL

# RFC 6455: the message is too big to process.
MESSAGE_TOO_BIG = 1009


class TextFrames(ASGIWebSocketAdapter):
    """Every message as a text frame: the protocols speak JSON text. A message over the body
    limit closes the socket with 1009 (message too big), as the server's own frame limit
    (`cartograph serve` sets uvicorn's `ws_max_size` to it) does before the message is read.

    Once the server has closed the socket (a refusal, a withdrawn credential), what is still
    on its way (an operation's `complete`, a second close) is dropped: there is no one to tell.
    """

    @property
    def closed(self) -> bool:
        return self.ws.application_state == WebSocketState.DISCONNECTED

    async def iter_json(self, *, ignore_parsing_errors: bool = False) -> AsyncGenerator[object]:
        limit: int = self.view.max_message_bytes  # type: ignore[attr-defined]
        try:
            while self.ws.application_state != WebSocketState.DISCONNECTED:
                text = await self.ws.receive_text()
                if too_big(text, limit):
                    await self.ws.close(
                        MESSAGE_TOO_BIG, close_reason(f"A message may hold at most {limit} bytes.")
                    )
                    return
                try:
                    yield self.view.decode_json(text)
                except JSONDecodeError as error:
                    if not ignore_parsing_errors:
                        raise NonJsonMessageReceived from error
        except KeyError as error:
            raise NonTextMessageReceived from error
        except WebSocketDisconnect:
            pass

    async def send_json(self, message: Mapping[str, object]) -> None:
        if self.closed:
            return
        try:
            await self.ws.send_text(self.view.encode_json_string(message))
        except WebSocketDisconnect as exc:
            raise WebSocketDisconnected from exc

    async def close(self, code: int, reason: str) -> None:
        if not self.closed:
            await super().close(code, reason)


def too_big(text: str, limit: int) -> bool:
    """Whether `text` takes more than `limit` bytes as UTF-8 (encoded only when in doubt)."""
    if len(text) > limit:
        return True
    return len(text) * 4 > limit and len(text.encode("utf-8", "surrogatepass")) > limit


def close_code(error: AppError) -> int:
    """The close code for a refusal: 4000 + its HTTP status (4401, 4403, 4429)."""
    status, _ = GRAPHQL.status(error)
    return 4000 + status


def error_payload(error: AppError) -> GraphQLFormattedError:
    return {"message": error.message, "extensions": {"code": error.code}}


class ConnectionGuard:
    """Who a connection is, checked at `connection_init` and before each operation."""

    def __init__(self, *, database: Database, limiter: RateLimiter, context: Context) -> None:
        self.database = database
        self.limiter = limiter
        self.context = context
        scope = context.request.scope if context.request is not None else {}
        self.address = address_key(scope)
        # The handshake's credential, already verified by the middleware (or none at all; a
        # session cookie of a session that had ended made the handshake anonymous).
        self.credential = None if context.actor.is_anonymous else presented_credential(scope)

    async def connect(self, payload: object) -> AppError | None:
        """Adopt the payload's credential, if it has one, once it is verified; the error to
        close with when it is refused."""
        credential = connection_params_credential(payload if isinstance(payload, Mapping) else None)
        if credential is None:
            return None
        failures = await self.limiter.failures_left(self.address)
        if failures is not None and not failures.allowed:
            return RateLimited(f"Too many refused credentials; retry in {retry_after(failures)} s.")
        try:
            actor = await actor_for(self.database, credential)
        except Exception as error:
            return _unavailable_or_raise(error)
        if actor is None:
            await self.limiter.hit_failure(self.address)
            return Unauthorized("Invalid, revoked or expired credential.")
        self.credential = credential
        self.context.actor = actor
        return None

    async def admit(self) -> AppError | None:
        """Resolve the actor afresh and count one operation. FORBIDDEN ends the connection
        (its credential was revoked or has expired); RATE_LIMITED and SERVICE_UNAVAILABLE
        (the database is down) refuse this operation."""
        refused = await self.recheck()
        if isinstance(refused, Forbidden):
            await self.limiter.hit_failure(self.address)
        if refused is not None:
            return refused
        window = await self.limiter.hit(self.context.actor, self.address)
        if window is not None and not window.allowed:
            return RateLimited(f"Rate limit exceeded; retry in {retry_after(window)} s.")
        return None

    async def recheck(self) -> AppError | None:
        """Resolve the actor afresh from the connection's credential (no lookup for an
        anonymous socket): FORBIDDEN when it was revoked or has expired since it was accepted,
        SERVICE_UNAVAILABLE when the database cannot tell now."""
        try:
            actor = await actor_for(self.database, self.credential)
        except Exception as error:
            return _unavailable_or_raise(error)
        if actor is None:
            return withdrawn()
        # Operations share the context: running subscriptions see the fresh actor too.
        self.context.actor = actor
        return None


def withdrawn() -> Forbidden:
    return Forbidden("The connection's credential was revoked or has expired.")


class CredentialWatch:
    """Ends a connection whose credential is withdrawn: checked before each delivered result,
    and at the key's expiry when it has one (`expire_at`)."""

    def __init__(self, handler: Any, guard: ConnectionGuard) -> None:
        self.handler = handler
        self.guard = guard
        self.expiry: asyncio.Task[None] | None = None

    async def end(self, error: AppError) -> None:
        await self.handler.websocket.close(close_code(error), close_reason(error.message))

    async def delivered(self, source: AsyncGenerator[Any, None]) -> AsyncGenerator[Any, None]:
        """`source`'s results, each after the credential is found still good; when it is not,
        the socket is closed (4403) and nothing more is sent. A result whose check the database
        cannot make now is held back (never sent unchecked)."""
        async with contextlib.aclosing(source):
            async for result in source:
                refused = await self.guard.recheck()
                if isinstance(refused, Forbidden):
                    await self.end(refused)
                    return
                if refused is None:
                    yield result

    def expire_at(self, actor: Actor) -> None:
        """(Re)arm the close at `actor`'s expiry (none for a key that never expires)."""
        self.cancel()
        if actor.expires_at is not None:
            delay = (actor.expires_at - utcnow()).total_seconds()
            self.expiry = asyncio.create_task(self._expire(delay))

    async def _expire(self, delay: float) -> None:
        await asyncio.sleep(max(delay, 0))
        await self.end(withdrawn())

    def cancel(self) -> None:
        if self.expiry is not None:
            self.expiry.cancel()
            self.expiry = None


class Rechecked:
    """The schema as a connection sees it: every result an operation yields passes the
    connection's `CredentialWatch` first.

    `graphql-transport-ws` asks `stream`. The legacy handler asks `subscribe`, which in
    Strawberry admits subscriptions only, so a query or mutation (which that protocol's clients
    send too) failed as an internal error; here it is `stream` as well, which runs all three, a
    query or mutation yielding one result.
    """

    def __init__(
        self, schema: BaseSchema, watch: CredentialWatch, documents: PersistedDocuments
    ) -> None:
        self.schema = schema
        self.watch = watch
        self.documents = documents

    async def stream(self, *args: Any, **kwargs: Any) -> AsyncGenerator[Any, None]:
        query = args[0] if args else kwargs.get("query")
        if not self.documents.allows(query):
            return refusal(not_in_allow_list())
        return self.watch.delivered(await self.schema.stream(*args, **kwargs))

    subscribe = stream


async def refusal(refused: Refused) -> AsyncGenerator[Any, None]:
    """An operation refused before it runs, as both protocols send a pre-execution error."""
    yield PreExecutionError(
        data=None, errors=[GraphQLError(refused.message, extensions={"code": refused.code})]
    )


def _unavailable_or_raise(error: Exception) -> ServiceUnavailable:
    """SERVICE_UNAVAILABLE for a database fault that may pass; anything else is re-raised."""
    fault = unavailable(error)
    if fault is None:
        raise error
    return fault


# Refusals of one operation, after which the socket stays open.
OPERATION_REFUSALS = (RateLimited, ServiceUnavailable)


def too_many_operations(limit: int | None, running: int) -> RateLimited | None:
    """RATE_LIMITED when a socket already runs `limit` operations (Strawberry's own refusal
    carries no code)."""
    if limit is not None and running >= limit:
        return RateLimited(
            f"At most {limit} operations may run at once on one connection; "
            "complete one or open another connection."
        )
    return None


class KeepAlive:
    """Sends `message` every `interval` seconds, the first one `interval` after the start:
    clients (and proxies) see an idle socket is alive, and a dead peer is found by the
    failed send."""

    def __init__(self, send: Any, message: dict[str, str], interval: float) -> None:
        self.send = send
        self.message = message
        self.interval = interval
        self.task: asyncio.Task[None] | None = None

    def start(self) -> None:
        if self.interval:
            self.task = asyncio.create_task(self._run(self.interval))

    async def _run(self, interval: float) -> None:
        # A peer gone between two pings: the socket's own handler ends the connection.
        with contextlib.suppress(WebSocketDisconnected):
            while True:
                await asyncio.sleep(interval)
                await self.send(self.message)

    def cancel(self) -> None:
        if self.task is not None:
            self.task.cancel()
            self.task = None


def _documents(handler: Any) -> PersistedDocuments:
    documents: PersistedDocuments = handler.view.documents
    return documents


def _guard(handler: Any) -> ConnectionGuard:
    view = handler.view
    return ConnectionGuard(database=view.database, limiter=view.limiter, context=handler.context)


class TransportWSHandler(BaseGraphQLTransportWSHandler[Context, None]):
    """`graphql-transport-ws`, with the credential checks of `ConnectionGuard`."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.guard = _guard(self)
        self.watch = CredentialWatch(self, self.guard)
        # A stand-in, not a BaseSchema: the handler only calls its `stream`.
        self.schema = Rechecked(self.schema, self.watch, _documents(self))  # type: ignore[assignment]
        # The view is our `GraphQLApp`; Strawberry types it as its base class.
        interval: float = self.view.keep_alive_seconds  # type: ignore[attr-defined]
        self.keep_alive = KeepAlive(self.websocket.send_json, {"type": "ping"}, interval)

    async def handle_connection_init(self, message: ConnectionInitMessage) -> None:
        # A second init (4429) or a late one is the base class's to refuse, unchecked.
        if not (self.connection_init_received or self.connection_timed_out):
            refused = await self.guard.connect(message.get("payload"))
            if refused is not None:
                await self.websocket.close(close_code(refused), close_reason(refused.message))
                return
        await super().handle_connection_init(message)
        if self.connection_acknowledged:
            self.watch.expire_at(self.context.actor)
            self.keep_alive.start()

    async def shutdown(self) -> None:
        self.watch.cancel()
        self.keep_alive.cancel()
        await super().shutdown()

    async def handle_subscribe(self, message: SubscribeMessage) -> None:
        # Before `connection_ack` the base class closes with 4401 without running anything.
        if self.connection_acknowledged:
            refused = (
                too_many_operations(self.max_subscriptions_per_connection, len(self.operations))
                or await self.guard.admit()
            )
            if isinstance(refused, OPERATION_REFUSALS):
                await self.send_message(
                    ErrorMessage(id=message["id"], type="error", payload=[error_payload(refused)])
                )
                return
            if refused is not None:
                await self.websocket.close(close_code(refused), close_reason(refused.message))
                return
        await super().handle_subscribe(message)


class LegacyWSHandler(BaseGraphQLWSHandler[Context, None]):
    """The legacy `graphql-ws` (subscriptions-transport-ws), guarded the same way."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.guard = _guard(self)
        self.watch = CredentialWatch(self, self.guard)
        # A stand-in, not a BaseSchema: the handler only calls its `subscribe`.
        self.schema = Rechecked(self.schema, self.watch, _documents(self))  # type: ignore[assignment]

    async def handle_connection_init(self, message: LegacyConnectionInitMessage) -> None:
        refused = await self.guard.connect(message.get("payload"))
        if refused is not None:
            # The protocol's refusal is `connection_error`; the close code says which.
            await self.send_message(
                ConnectionErrorMessage(
                    type="connection_error", payload=dict(error_payload(refused))
                )
            )
            await self.websocket.close(close_code(refused), close_reason(refused.message))
            return
        await super().handle_connection_init(message)
        if self.connection_acknowledged:
            self.watch.expire_at(self.context.actor)

    async def cleanup(self) -> None:
        self.watch.cancel()
        await super().cleanup()

    async def handle_keep_alive(self) -> None:
        # Strawberry's sends `ka` at once, then every interval; after the interval, as above.
        assert self.keep_alive_interval
        while True:
            await asyncio.sleep(self.keep_alive_interval)
            await self.send_message({"type": "ka"})

    async def handle_start(self, message: StartMessage) -> None:
        if self.connection_acknowledged:
            running = len(self.tasks) - (message["id"] in self.tasks)
            refused = (
                too_many_operations(self.max_subscriptions_per_connection, running)
                or await self.guard.admit()
            )
            if isinstance(refused, OPERATION_REFUSALS):
                await self.send_message(
                    LegacyErrorMessage(
                        type="error", id=message["id"], payload=error_payload(refused)
                    )
                )
                return
            if refused is not None:
                await self.websocket.close(close_code(refused), close_reason(refused.message))
                return
        await super().handle_start(message)
