"""GraphQL over websocket: both protocols, text frames, and who is asking (DESIGN §10).

Strawberry serves `graphql-transport-ws` and the legacy `graphql-ws`; this module changes
what it does by default in four ways:

- Messages leave as text frames. Strawberry sends bytes when `encode_json` returns bytes (ours
  does, through orjson), and browsers, GraphiQL and `gql` all refuse binary frames.
- The credential may come in the `connection_init` payload (browsers cannot set handshake
  headers); it is checked before `connection_ack`. Without one the handshake's credential
  stands, which the middleware has already verified.
- Before every operation the actor is resolved afresh from that credential, so a key revoked
  while the socket is open stops working on its next operation, and the operation counts
  against the actor's rate-limit window like an HTTP request.
- The legacy protocol runs queries and mutations too, as its clients send them.

Refusals close the socket with 4000 + the HTTP status, as the middleware does: 4401 for a
refused credential, 4429 for an address out of credential lookups, 4503 when the database
cannot check a `connection_init` credential. An operation over the rate limit, or one whose
actor the database cannot resolve now, is refused alone (an `error` message with RATE_LIMITED
or SERVICE_UNAVAILABLE); the socket stays open.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Mapping
from json import JSONDecodeError
from typing import TYPE_CHECKING, Any

from graphql import GraphQLFormattedError
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

from app.db import Database, unavailable
from app.errors import AppError, RateLimited, ServiceUnavailable, Unauthorized
from app.middleware import close_reason
from app.middleware.authentication import (
    actor_for,
    connection_params_credential,
    presented_credential,
)
from app.middleware.rate_limit import RateLimiter, address_key, retry_after
from app.resolvers.context import Context
from app.rest.dialects import GRAPHQL

if TYPE_CHECKING:
    from strawberry.schema.schema import StreamResult

# RFC 6455: the message is too big to process.
MESSAGE_TOO_BIG = 1009


class TextFrames(ASGIWebSocketAdapter):
    """Every message as a text frame: the protocols speak JSON text. A message over the body
    limit closes the socket with 1009 (message too big), as the server's own frame limit
    (`cartograph serve` sets uvicorn's `ws_max_size` to it) does before the message is read."""

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
        try:
            await self.ws.send_text(self.view.encode_json_string(message))
        except WebSocketDisconnect as exc:
            raise WebSocketDisconnected from exc


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
        # The handshake's credential, already verified by the middleware (or none at all).
        self.credential = presented_credential(scope)

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
        """Resolve the actor afresh and count one operation. UNAUTHORIZED ends the connection
        (its credential was revoked or has expired); RATE_LIMITED and SERVICE_UNAVAILABLE
        (the database is down) refuse this operation."""
        try:
            actor = await actor_for(self.database, self.credential)
        except Exception as error:
            return _unavailable_or_raise(error)
        if actor is None:
            await self.limiter.hit_failure(self.address)
            return Unauthorized("The connection's credential was revoked or has expired.")
        # Operations share the context: running subscriptions see the fresh actor too.
        self.context.actor = actor
        window = await self.limiter.hit(actor, self.address)
        if window is not None and not window.allowed:
            return RateLimited(f"Rate limit exceeded; retry in {retry_after(window)} s.")
        return None


def _unavailable_or_raise(error: Exception) -> ServiceUnavailable:
    """SERVICE_UNAVAILABLE for a database fault that may pass; anything else is re-raised."""
    fault = unavailable(error)
    if fault is None:
        raise error
    return fault


# Refusals of one operation, after which the socket stays open.
OPERATION_REFUSALS = (RateLimited, ServiceUnavailable)


def _guard(handler: Any) -> ConnectionGuard:
    view = handler.view
    return ConnectionGuard(database=view.database, limiter=view.limiter, context=handler.context)


class TransportWSHandler(BaseGraphQLTransportWSHandler[Context, None]):
    """`graphql-transport-ws`, with the credential checks of `ConnectionGuard`."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.guard = _guard(self)

    async def handle_connection_init(self, message: ConnectionInitMessage) -> None:
        # A second init (4429) or a late one is the base class's to refuse, unchecked.
        if not (self.connection_init_received or self.connection_timed_out):
            refused = await self.guard.connect(message.get("payload"))
            if refused is not None:
                await self.websocket.close(close_code(refused), close_reason(refused.message))
                return
        await super().handle_connection_init(message)

    async def handle_subscribe(self, message: SubscribeMessage) -> None:
        # Before `connection_ack` the base class closes with 4401 without running anything.
        if self.connection_acknowledged:
            refused = await self.guard.admit()
            if isinstance(refused, OPERATION_REFUSALS):
                await self.send_message(
                    ErrorMessage(id=message["id"], type="error", payload=[error_payload(refused)])
                )
                return
            if refused is not None:
                await self.websocket.close(close_code(refused), close_reason(refused.message))
                return
        await super().handle_subscribe(message)


class AnyOperation:
    """The schema as the legacy handler sees it: its `subscribe` runs any operation.

    Strawberry's `graphql-ws` handler asks `schema.subscribe`, which admits subscriptions
    only, so a query or mutation (which that protocol's clients send too) failed as an
    internal error; `stream` runs all three, a query or mutation yielding one result.
    """

    def __init__(self, schema: BaseSchema) -> None:
        self.schema = schema

    async def subscribe(self, **kwargs: Any) -> StreamResult:
        return await self.schema.stream(**kwargs)


class LegacyWSHandler(BaseGraphQLWSHandler[Context, None]):
    """The legacy `graphql-ws` (subscriptions-transport-ws), guarded the same way."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # A stand-in, not a BaseSchema: the handler only calls its `subscribe`.
        self.schema = AnyOperation(self.schema)  # type: ignore[assignment]
        self.guard = _guard(self)

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

    async def handle_start(self, message: StartMessage) -> None:
        if self.connection_acknowledged:
            refused = await self.guard.admit()
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
