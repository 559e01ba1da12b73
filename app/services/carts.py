"""Carts: lines of what a shopper intends to buy, and totals computed on the server.

A cart is addressed by a random id; one that names a customer is that customer's alone (and
staff's with `carts:manage`). Every read re-prices the lines through the pricing service:
the client's `unitPriceSnapshot` is kept only to tell it when the price has changed.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.actor import Actor
from app.db import UnitOfWork
from app.errors import Forbidden, NotFound, ValidationFailed
from app.events.outbox import add_event
from app.ids import parse_uuid
from app.models.base import utcnow
from app.models.carts import Cart, CartItem
from app.models.catalog import CatalogAttributes, CatalogEntity, Variant
from app.services.audit import record_change
from app.services.catalog.attributes import DEFAULT_LOCALE
from app.services.catalog.rules import Problems
from app.services.customers import require_customer
from app.services.pricing.groups import customer_group_ids
from app.services.pricing.resolution import PriceQuery, ResolvedPrice, resolve_prices
from app.services.pricing.rules import check_currency

MAX_QUANTITY = 1000
MAX_LINES = 100
MANAGE = "carts:manage"


@dataclass(frozen=True, slots=True)
class Line:
    item: CartItem
    sku: str | None
    title: str | None
    price: ResolvedPrice | None

    @property
    def unit_price(self) -> int | None:
        return self.price.amount if self.price else None

    @property
    def base_unit_price(self) -> int | None:
        return self.price.base_amount if self.price else None

    @property
    def price_changed(self) -> bool:
        snapshot = self.item.unit_price_snapshot
        return snapshot is not None and snapshot != self.unit_price


@dataclass(frozen=True, slots=True)
class CartView:
    """A cart as priced now: subtotal at base prices, discounts from price modifiers."""

    cart: Cart
    lines: list[Line]
    # The cart's customer's groups: the prices above used them, and so do promotions.
    customer_group_ids: frozenset[uuid.UUID] = frozenset()

    @property
    def subtotal(self) -> int:
        return sum((line.base_unit_price or 0) * line.item.quantity for line in self.lines)

    @property
    def discount_total(self) -> int:
        return sum(
            ((line.base_unit_price or 0) - (line.unit_price or 0)) * line.item.quantity
            for line in self.lines
        )

    @property
    def total(self) -> int:
        return self.subtotal - self.discount_total


def _owns(actor: Actor, cart: Cart) -> bool:
    if cart.customer_id is None or actor.can(MANAGE):
        return True
    return actor.is_customer(cart.customer_id)


async def get_cart(session: AsyncSession, actor: Actor, id: str, *, lock: bool = False) -> Cart:
    parsed = parse_uuid(id)
    cart = await session.get(Cart, parsed, with_for_update=lock) if parsed else None
    # Someone else's cart is answered as missing: its existence is not the caller's business.
    if cart is None or not _owns(actor, cart):
        raise NotFound("Cart not found.")
    return cart


async def create_cart(
    uow: UnitOfWork, actor: Actor, *, currency: str, customer_id: str | None = None
) -> Cart:
    """A signed-in customer's cart is theirs; naming another customer needs carts:manage.
    The customer must exist (NOT_FOUND naming customerId), checked after the permission so
    that a caller who may not name customers learns nothing about which ones exist."""
    problems = Problems()
    check_currency(problems, currency)
    if customer_id is not None and not 1 <= len(customer_id) <= 64:
        problems.add("customerId", "1 to 64 characters.")
    problems.raise_if_any()
    if actor.customer_id is not None and customer_id is None:
        customer_id = actor.customer_id
    if customer_id is not None and not (actor.can(MANAGE) or actor.is_customer(customer_id)):
        raise Forbidden("A cart can only be opened for yourself.")
    if customer_id is not None:
        customer_id = str((await require_customer(uow.session, customer_id)).id)
    cart = Cart(currency=currency, customer_id=customer_id)
    uow.session.add(cart)
    await uow.session.flush()
    record_change(
        uow,
        actor,
        event="cart.create",
        entity_type="cart",
        entity_id=str(cart.id),
        after=cart.snapshot(),
    )
    return cart


async def view(session: AsyncSession, actor: Actor, *, id: str) -> CartView:
    cart = await get_cart(session, actor, id)
    return await price(session, cart)


async def price(
    session: AsyncSession, cart: Cart, *, extra_groups: frozenset[uuid.UUID] = frozenset()
) -> CartView:
    """Re-price every line with the cart's customer's groups (and `extra_groups`, which
    staff may name at checkout): three statements whatever the number of lines."""
    rows = (
        await session.execute(
            select(CartItem, Variant.sku, CatalogAttributes.title)
            .outerjoin(Variant, Variant.id == CartItem.variant_id)
            .outerjoin(
                CatalogAttributes,
                (CatalogAttributes.entity_id == CartItem.entity_id)
                & (CatalogAttributes.locale == DEFAULT_LOCALE),
            )
            .where(CartItem.cart_id == cart.id)
            .order_by(CartItem.created_at, CartItem.id)
        )
    ).all()
    groups = extra_groups | (
        await customer_group_ids(session, cart.customer_id) if cart.customer_id else frozenset()
    )
    queries = {
        item.id: PriceQuery(
            entity_id=item.entity_id,
            variant_id=item.variant_id,
            currency=cart.currency,
            quantity=item.quantity,
            customer_group_ids=groups,
        )
        for item, _, _ in rows
    }
    resolved = await resolve_prices(session, queries.values())
    lines = [Line(item, sku, title, resolved.get(queries[item.id])) for item, sku, title in rows]
    return CartView(cart=cart, lines=lines, customer_group_ids=groups)


async def _sellable(
    session: AsyncSession, entity_id: str, variant_id: str | None
) -> tuple[CatalogEntity, Variant | None]:
    entity_uuid = parse_uuid(entity_id)
    entity = await session.get(CatalogEntity, entity_uuid) if entity_uuid else None
    if entity is None or entity.status != "active":
        raise NotFound("Entity not found or not for sale.", details={"entityId": "Not for sale."})
    variants = list(
        (await session.scalars(select(Variant).where(Variant.entity_id == entity.id))).all()
    )
    if variant_id is not None:
        variant = next((v for v in variants if str(v.id) == str(parse_uuid(variant_id))), None)
        if variant is None:
            raise NotFound("Variant not found for this entity.", details={"variantId": "Unknown."})
        return entity, variant
    if len(variants) > 1:
        raise ValidationFailed.field("variantId", "The entity has several variants; name one.")
    return entity, variants[0] if variants else None


def _check_quantity(quantity: int) -> None:
    if not 1 <= quantity <= MAX_QUANTITY:
        raise ValidationFailed.field("quantity", f"Between 1 and {MAX_QUANTITY}.")


async def add_item(
    uow: UnitOfWork,
    actor: Actor,
    *,
    cart_id: str,
    entity_id: str,
    quantity: int,
    variant_id: str | None = None,
    unit_price_snapshot: int | None = None,
) -> CartView:
    """Add a line, or add to the line that has the same entity and variant."""
    _check_quantity(quantity)
    if unit_price_snapshot is not None and unit_price_snapshot < 0:
        raise ValidationFailed.field("unitPriceSnapshot", "Must not be negative.")
    cart = await get_cart(uow.session, actor, cart_id, lock=True)
    if cart.status != "active":
        raise ValidationFailed.field("cartId", "The cart is checked out.")
    entity, variant = await _sellable(uow.session, entity_id, variant_id)
    probe = await resolve_prices(
        uow.session,
        [PriceQuery(entity_id=entity.id, variant_id=variant.id if variant else None,
                    currency=cart.currency)],
    )  # fmt: skip
    if not any(probe.values()):
        raise ValidationFailed.field("entityId", f"Not sold in {cart.currency}.")
    key = f"{entity.id}:{variant.id if variant else ''}"
    item = await uow.session.scalar(
        select(CartItem).where(CartItem.cart_id == cart.id, CartItem.line_key == key)
    )
    if item is None:
        lines = await uow.session.scalars(select(CartItem.id).where(CartItem.cart_id == cart.id))
        if len(lines.all()) >= MAX_LINES:
            raise ValidationFailed.field("cartId", f"A cart holds at most {MAX_LINES} lines.")
        item = CartItem(
            cart_id=cart.id,
            entity_id=entity.id,
            variant_id=variant.id if variant else None,
            line_key=key,
            quantity=0,
        )
        uow.session.add(item)
    _check_quantity(item.quantity + quantity)
    item.quantity += quantity
    item.unit_price_snapshot = unit_price_snapshot
    item.updated_at = cart.updated_at = utcnow()
    await uow.session.flush()
    added = {
        "cartId": str(cart.id),
        "itemId": str(item.id),
        "entityId": str(entity.id),
        "variantId": str(variant.id) if variant else None,
        "quantity": quantity,
        "lineQuantity": item.quantity,
    }
    record_change(
        uow, actor, event="cart.update", entity_type="cart", entity_id=str(cart.id), after=added
    )
    add_event(
        uow.session,
        type="cart.afterAddItem",
        entity_type="cart",
        entity_id=str(cart.id),
        data=added,
        actor_id=actor.id,
        request_id=uow.request_id,
    )
    return await price(uow.session, cart)


async def _item(uow: UnitOfWork, cart: Cart, item_id: str) -> CartItem:
    parsed = parse_uuid(item_id)
    item = await uow.session.get(CartItem, parsed) if parsed else None
    if item is None or item.cart_id != cart.id:
        raise NotFound("Cart item not found.")
    return item


async def update_item(
    uow: UnitOfWork, actor: Actor, *, cart_id: str, item_id: str, quantity: int
) -> CartView:
    _check_quantity(quantity)
    cart = await get_cart(uow.session, actor, cart_id, lock=True)
    item = await _item(uow, cart, item_id)
    before = {"quantity": item.quantity}
    item.quantity = quantity
    item.updated_at = cart.updated_at = utcnow()
    await uow.session.flush()
    record_change(
        uow,
        actor,
        event="cart.update",
        entity_type="cart",
        entity_id=str(cart.id),
        before={"itemId": str(item.id), **before},
        after={"itemId": str(item.id), "quantity": quantity},
    )
    return await price(uow.session, cart)


async def remove_item(uow: UnitOfWork, actor: Actor, *, cart_id: str, item_id: str) -> CartView:
    cart = await get_cart(uow.session, actor, cart_id, lock=True)
    item = await _item(uow, cart, item_id)
    await uow.session.delete(item)
    cart.updated_at = utcnow()
    await uow.session.flush()
    record_change(
        uow,
        actor,
        event="cart.update",
        entity_type="cart",
        entity_id=str(cart.id),
        before={"itemId": str(item.id), "quantity": item.quantity},
        after=None,
    )
    return await price(uow.session, cart)


__all__ = ["CartView", "Line", "add_item", "create_cart", "remove_item", "update_item"]
