"""GraphQL subscriptions to domain events (DESIGN §10): `events(types:)`, the stream webhooks
carry, and typed conveniences that answer the changed object as it is now.

Authorised by the rules of the reads (`app.services.live`): `events` leaves out silently what
the actor could not read; a typed subscription checks its entity at subscribe time as the
query would (NOT_FOUND for an order or cart the actor may not see) and reads it again, as the
actor, after each event, so the client gets current state, never an older copy, and a
subscription whose entity the actor can no longer read ends with that error. The socket
re-checks the credential before each delivery (`app.resolvers.websocket`), and the actor it
finds is the one these checks use.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncGenerator, AsyncIterator
from datetime import datetime
from typing import Annotated, Any, cast

import strawberry
from strawberry import Info
from strawberry.scalars import JSON

from app.errors import NotFound, RateLimited, Unauthorized, ValidationFailed
from app.events.pubsub import LiveEvents, Message, SubscriberOverflow
from app.ids import parse_uuid
from app.models.catalog import CatalogEntity
from app.resolvers.carts import CartType
from app.resolvers.context import Context
from app.resolvers.inventory import InventoryLevelType
from app.resolvers.orders import OrderType
from app.resolvers.permissions import requires
from app.services import carts as cart_service
from app.services import live
from app.services import orders as order_service
from app.services.inventory import queries as inventory_queries

MAX_LIMIT = 10_000
ORDER_STATUS_CHANGE = "orders.statusChange"
CART_CHANGE = "cart.update"
STOCK_CHANGE = "inventory.afterAdjust"


@strawberry.type(name="Event", description="A domain event, as webhooks carry it.")
class EventType:
    id: strawberry.ID = strawberry.field(description="The event's id (its idempotency key).")
    type: str = strawberry.field(description="The event's name, e.g. orders.statusChange.")
    occurred_at: datetime = strawberry.field(description="When the change committed (UTC).")
    entity_type: str = strawberry.field(description="The kind of entity changed, e.g. order.")
    entity_id: strawberry.ID = strawberry.field(description="The id of the entity changed.")
    data: JSON = strawberry.field(description="The event's payload (for most: before, after).")

    @classmethod
    def from_message(cls, message: Message) -> EventType:
        return cls(
            id=strawberry.ID(message["id"]),
            type=message["type"],
            occurred_at=datetime.fromisoformat(message["occurredAt"]),
            entity_type=message["entityType"],
            entity_id=strawberry.ID(message["entityId"]),
            data=cast(JSON, message.get("data") or {}),
        )


def _live(info: Info[Context, None]) -> LiveEvents:
    live_events = info.context.live
    if live_events is None:  # an app built without live events (never in `create_app`)
        raise RuntimeError("no live events on this app")
    return live_events


async def _messages(info: Info[Context, None]) -> AsyncIterator[Message]:
    """Every event published from now on; a subscriber that falls behind is ended with
    RATE_LIMITED (it may subscribe again)."""
    async with _live(info).subscribe() as messages:
        try:
            async for message in messages:
                yield message
        except SubscriberOverflow:
            raise RateLimited(
                "The subscription fell too far behind the events and was ended; subscribe again."
            ) from None


async def _hears(info: Info[Context, None], message: Message) -> bool:
    actor = info.context.actor
    if live.hears_by_permission(actor, message["entityType"]):
        return True
    if not live.may_own(actor, message["entityType"]):
        return False
    async with info.context.read() as session:
        return await live.owns(session, actor, message["entityType"], message["entityId"])


@strawberry.type
class EventSubscriptions:
    @strawberry.subscription(
        description="Domain events as they commit, those of entities the caller may read "
        "(others are left out). Needs a credential."
    )
    async def events(
        self,
        info: Info[Context, None],
        types: Annotated[
            list[str] | None,
            strawberry.argument(
                description="Only events with one of these names (e.g. orders.statusChange). "
                "Default: all."
            ),
        ] = None,
        limit: Annotated[
            int | None,
            strawberry.argument(
                description=f"End the subscription after this many events, 1 to {MAX_LIMIT}. "
                "Default: never."
            ),
        ] = None,
    ) -> AsyncGenerator[EventType, None]:
        if info.context.actor.is_anonymous:
            raise Unauthorized("Authentication required.")
        if limit is not None and not 1 <= limit <= MAX_LIMIT:
            raise ValidationFailed.field("limit", f"Must be between 1 and {MAX_LIMIT}.")
        wanted = frozenset(types) if types else None
        sent = 0
        async for message in _messages(info):
            if wanted is not None and message["type"] not in wanted:
                continue
            if not await _hears(info, message):
                continue
            yield EventType.from_message(message)
            sent += 1
            if sent == limit:
                return

    @strawberry.subscription(
        description="The order, as it is now, each time its status changes. Who may read the "
        "order (orders:read, its customer, a guest with its access token) may subscribe; "
        "NOT_FOUND otherwise."
    )
    async def order_status_changed(
        self,
        info: Info[Context, None],
        order_id: Annotated[strawberry.ID, strawberry.argument(description="The order's id.")],
        access_token: Annotated[
            str | None,
            strawberry.argument(description="A guest order's access token (from checkout)."),
        ] = None,
    ) -> AsyncGenerator[OrderType, None]:
        order = await _order(info, order_id, access_token)
        async for message in _messages(info):
            if message["type"] == ORDER_STATUS_CHANGE and message["entityId"] == str(order):
                yield await _order_now(info, str(order), access_token)

    @strawberry.subscription(
        description="The cart, priced now, each time it changes. Who may read the cart may "
        "subscribe (its id opens a customerless cart); NOT_FOUND otherwise."
    )
    async def cart_updated(
        self,
        info: Info[Context, None],
        cart_id: Annotated[strawberry.ID, strawberry.argument(description="The cart's id.")],
    ) -> AsyncGenerator[CartType, None]:
        current = await _cart(info, cart_id)
        cart = str(current.cart.id)
        async for message in _messages(info):
            if message["type"] == CART_CHANGE and message["entityId"] == cart:
                yield CartType.from_view(await _cart(info, cart))

    @strawberry.subscription(
        description="A stock level of the catalog entity (product), as it is now, each time "
        "it is adjusted. Needs inventory:read; NOT_FOUND for an unknown entity.",
        permission_classes=[requires("inventory:read")],
    )
    async def inventory_level_changed(
        self,
        info: Info[Context, None],
        entity_id: Annotated[
            strawberry.ID,
            strawberry.argument(description="The catalog entity's (product's) id."),
        ],
    ) -> AsyncGenerator[InventoryLevelType, None]:
        entity = await _entity(info, entity_id)
        async for message in _messages(info):
            if message["type"] != STOCK_CHANGE:
                continue
            info.context.actor.require("inventory:read")
            level = await _level(info, message["entityId"])
            if level is not None and level.entity_id == entity:
                yield InventoryLevelType.from_view(level)


async def _order(info: Info[Context, None], order_id: str, access_token: str | None) -> uuid.UUID:
    async with info.context.read() as session:
        order = await order_service.get_order(
            session, info.context.actor, order_id, access_token=access_token
        )
    return order.id


async def _order_now(info: Info[Context, None], order_id: str, access_token: str | None) -> Any:
    async with info.context.read() as session:
        order = await order_service.get_order(
            session, info.context.actor, order_id, access_token=access_token
        )
        [view] = await order_service.views(session, [order])
    return OrderType.from_view(view)


async def _cart(info: Info[Context, None], cart_id: str) -> cart_service.CartView:
    async with info.context.read() as session:
        return await cart_service.view(session, info.context.actor, id=cart_id)


async def _entity(info: Info[Context, None], entity_id: str) -> uuid.UUID:
    parsed = parse_uuid(entity_id)
    async with info.context.read() as session:
        entity = await session.get(CatalogEntity, parsed) if parsed else None
    if entity is None:
        raise NotFound("Catalog entity not found.")
    return entity.id


async def _level(info: Info[Context, None], level_id: str) -> inventory_queries.LevelView | None:
    parsed = parse_uuid(level_id)
    if parsed is None:
        return None
    async with info.context.read() as session:
        views = await inventory_queries.views_by_id(session, [parsed])
    return views[0] if views else None
