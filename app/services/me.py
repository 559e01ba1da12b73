"""The signed-in customer's own records (`/me`): profile, orders, tracking, downloads, reorder.

Who "me" is comes from the session alone (`customer_of`): without a signed-in user it is
UNAUTHORIZED (an API key or an OAuth client acting for itself is no one's session); a user
without a customer record (staff) is FORBIDDEN. Everything read here is filtered by that
customer id whatever the actor's permissions, so an order of another customer is NOT_FOUND
(by id and by number) even to a customer who is also staff: /me is the customer's view.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.actor import Actor
from app.db import UnitOfWork
from app.errors import AppError, Forbidden, NotFound, Unauthorized, ValidationFailed
from app.ids import parse_uuid
from app.models.catalog import CatalogEntity
from app.models.orders import ORDER_STATUSES, Fulfillment, Order, OrderLine
from app.pagination import Page, PageRequest, SortKey, paginate
from app.services import carts as cart_service
from app.services.carts import CartView
from app.services.inventory.queries import availability, levels_for_entities
from app.services.media import attached_to

ORDER_ORDER = (SortKey(Order.id, descending=True),)
# Downloads open once the money is in, and close when it went back.
DOWNLOADABLE_PAYMENTS = ("paid", "partially_refunded")
WITHDRAWN = ("cancelled", "refunded")
NOT_PAID_NOTE = "Download links come once the order is paid (and not after it is cancelled)."
NO_FILES_NOTE = "No item of this order has a file to download."


def customer_of(actor: Actor) -> uuid.UUID:
    """The customer the caller's session belongs to."""
    if actor.kind != "user":
        raise Unauthorized("Sign in: /me answers a signed-in customer's session only.")
    parsed = parse_uuid(actor.customer_id) if actor.customer_id else None
    if parsed is None:
        raise Forbidden("This account has no customer record; /me is for customers.")
    return parsed


def _mine(customer_id: uuid.UUID) -> str:
    # Orders and carts name their customer by the id as text (see app.models.customers).
    return str(customer_id)


async def my_orders(
    session: AsyncSession, actor: Actor, *, status: str | None, page: PageRequest
) -> Page[Order]:
    """The customer's orders, newest first; `status` narrows them."""
    customer_id = customer_of(actor)
    if status is not None and status not in ORDER_STATUSES:
        raise ValidationFailed.field("status", f"One of {', '.join(ORDER_STATUSES)}.")
    statement = select(Order).where(Order.customer_id == _mine(customer_id))
    if status is not None:
        statement = statement.where(Order.status == status)
    return await paginate(session, statement, keys=ORDER_ORDER, request=page)


async def my_order(session: AsyncSession, actor: Actor, id_or_number: str) -> Order:
    """One of the customer's orders by UUID or number; anyone else's is NOT_FOUND."""
    customer_id = customer_of(actor)
    parsed = parse_uuid(id_or_number)
    found = await session.scalar(
        select(Order).where(
            Order.id == parsed if parsed else Order.number == id_or_number,
            Order.customer_id == _mine(customer_id),
        )
    )
    if found is None:
        raise NotFound("Order not found.")
    return found


async def tracking(
    session: AsyncSession, actor: Actor, id_or_number: str
) -> tuple[Order, list[Fulfillment]]:
    """The order's shipments, oldest first, each with its carrier and tracking number."""
    order = await my_order(session, actor, id_or_number)
    shipped = await session.scalars(
        select(Fulfillment).where(Fulfillment.order_id == order.id).order_by(Fulfillment.id)
    )
    return order, list(shipped.all())


@dataclass(frozen=True, slots=True)
class Download:
    """A digital item's file: a signed link that expires."""

    line_id: uuid.UUID
    entity_id: uuid.UUID | None
    sku: str | None
    title: str | None
    media_asset_id: uuid.UUID
    filename: str
    content_type: str
    byte_size: int
    url: str


async def downloads(
    session: AsyncSession, actor: Actor, order_id: str, *, sign: Callable[[str], str]
) -> tuple[Order, list[Download], str | None]:
    """The order's download links (`sign` turns a storage key into a signed, expiring URL),
    and a note when the list is empty. One link per file attached with role `download` to
    the catalog entity of each line, once the order is paid (payment `paid` or
    `partially_refunded`) and neither cancelled nor refunded."""
    order = await my_order(session, actor, order_id)
    if order.payment_status not in DOWNLOADABLE_PAYMENTS or order.status in WITHDRAWN:
        return order, [], NOT_PAID_NOTE
    lines = list(
        await session.scalars(
            select(OrderLine).where(OrderLine.order_id == order.id).order_by(OrderLine.id)
        )
    )
    entity_ids = list({line.entity_id for line in lines if line.entity_id is not None})
    files = await attached_to(session, entity_ids, roles=["download"]) if entity_ids else {}
    links = [
        Download(
            line_id=line.id,
            entity_id=line.entity_id,
            sku=line.sku,
            title=line.title,
            media_asset_id=file.asset.id,
            filename=file.asset.filename,
            content_type=file.asset.content_type,
            byte_size=file.asset.byte_size,
            url=sign(file.asset.storage_key),
        )
        for line in lines
        if line.entity_id is not None
        for file in files.get(line.entity_id, [])
    ]
    return order, links, None if links else NO_FILES_NOTE


@dataclass(frozen=True, slots=True)
class Skipped:
    """A line of the past order the new cart leaves out, and why."""

    line_id: uuid.UUID
    entity_id: uuid.UUID | None
    sku: str | None
    title: str | None
    quantity: int
    reason: str  # a ReorderSkipReason word
    message: str


# Why a line is left out: the words of the ReorderSkipReason enum.
SKIP_REASONS = {
    "discontinued": "The product or variant no longer exists.",
    "not_for_sale": "The product is not on sale now (not active).",
    "no_price": "The product has no price in the cart's currency now.",
    "out_of_stock": "Not enough stock to sell the quantity ordered.",
}


async def reorder(uow: UnitOfWork, actor: Actor, order_id: str) -> tuple[CartView, list[Skipped]]:
    """A new cart for the customer with the past order's lines, at today's prices (the cart
    prices itself). A line whose product or variant is gone, no longer active, unpriced in
    the order's currency, or without the stock for its quantity (unless the product takes
    backorders) is left out and reported."""
    order = await my_order(uow.session, actor, order_id)
    lines = list(
        (
            await uow.session.scalars(
                select(OrderLine).where(OrderLine.order_id == order.id).order_by(OrderLine.id)
            )
        ).all()
    )
    cart = await cart_service.create_cart(uow, actor, currency=order.currency)
    stock = await _available(uow.session, [line.entity_id for line in lines if line.entity_id])
    skipped: list[Skipped] = []

    def skip(line: OrderLine, reason: str) -> None:
        skipped.append(
            Skipped(line.id, line.entity_id, line.sku, line.title, line.quantity, reason,
                    SKIP_REASONS[reason])
        )  # fmt: skip

    for line in lines:
        if line.entity_id is None:  # the product was deleted (the line keeps its snapshot)
            skip(line, "discontinued")
            continue
        available = stock.get((line.entity_id, line.variant_id))
        if available is not None and not available.allows(line.quantity):
            skip(line, "out_of_stock")
            continue
        try:
            await cart_service.add_item(
                uow,
                actor,
                cart_id=str(cart.id),
                entity_id=str(line.entity_id),
                variant_id=str(line.variant_id) if line.variant_id else None,
                quantity=line.quantity,
            )
        except NotFound:
            skip(line, "not_for_sale")
        except ValidationFailed as error:
            # `entityId`: not sold in the currency; `variantId`: the variant it named is gone
            # and the product now has several.
            skip(line, "no_price" if "entityId" in (error.details or {}) else "discontinued")
        except AppError:
            skip(line, "not_for_sale")
    return await cart_service.price(uow.session, cart), skipped


@dataclass(frozen=True, slots=True)
class Stock:
    available: int
    backorder: bool

    def allows(self, quantity: int) -> bool:
        return self.backorder or self.available >= quantity


async def _available(
    session: AsyncSession, entity_ids: list[uuid.UUID]
) -> dict[tuple[uuid.UUID, uuid.UUID | None], Stock]:
    """Sellable units per (entity, variant) across active warehouses, with whether the
    product takes backorders. A product with no stock level at all is not in the answer
    (checkout's hold decides then)."""
    if not entity_ids:
        return {}
    levels = await levels_for_entities(session, entity_ids)
    backorder = dict(
        (
            await session.execute(
                select(CatalogEntity.id, CatalogEntity.allow_backorder).where(
                    CatalogEntity.id.in_(entity_ids)
                )
            )
        ).all()
    )
    found: dict[tuple[uuid.UUID, uuid.UUID | None], Stock] = {}
    for views in levels.values():
        for entry in availability(views):
            found[(entry.entity_id, entry.variant_id)] = Stock(
                entry.available_quantity, bool(backorder.get(entry.entity_id))
            )
    return found
