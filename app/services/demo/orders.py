"""The demo shop's order history: a few dozen orders, in every status, made the way a shop
makes them.

Each is a cart checked out through `app.services.checkout.checkout` (priced on the server,
its codes counted, its stock held and sold, its payment taken by the built-in test
provider), then moved along the status machine with `app.services.orders.change_status` and
shipped with `app.services.fulfillments.create_fulfillment`. So stock, payments, refunds,
promotion uses and the audit trail agree with each other as they would in a live shop.

An order is found again by its Idempotency-Key (`demo-order-NN`): a rerun places none twice,
and moves on an order an interrupted run left short of its status (only along its planned
path: an order someone moved elsewhere by hand is left as it is).
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass

from sqlalchemy import select

from app.auth.actor import SYSTEM
from app.db import Database
from app.errors import AppError
from app.models.catalog import CatalogEntity, Variant
from app.models.orders import Order, OrderLine
from app.services import carts as cart_service
from app.services.checkout import CheckoutRequest, checkout
from app.services.demo.catalog import demo_index, demo_slug
from app.services.demo.report import SeedReport
from app.services.demo.shop import CUSTOMERS
from app.services.demo.stock import CURRENCY, is_low_stock
from app.services.fulfillments import create_fulfillment
from app.services.orders import change_status
from app.services.promotions.evaluation import LineItem, validate_code

log = logging.getLogger(__name__)

PAYMENT_METHOD = "pm_card_visa"
# Orders are made of the first products only, so a small seed has the same history.
FIRST_PRODUCTS = 60
GUEST_ADDRESS = {
    "line1": "500 Market Street",
    "city": "San Francisco",
    "state": "CA",
    "postalCode": "94105",
    "country": "US",
}
# How an order reaches each status from `pending` (where checkout leaves a paid order);
# the two fulfilment steps are shipments, not status changes.
PATHS: dict[str, tuple[str, ...]] = {
    "pending": (),
    "confirmed": ("confirmed",),
    "processing": ("confirmed", "processing"),
    "partially_fulfilled": ("confirmed", "processing", "partially_fulfilled"),
    "fulfilled": ("confirmed", "processing", "fulfilled"),
    "cancelled": ("confirmed", "cancelled"),
    "refunded": ("confirmed", "processing", "fulfilled", "refunded"),
}
ADA, GRACE, ALAN, KATHERINE, HEDY, MORGAN, SAM = (c.email for c in CUSTOMERS)
GUEST = None


@dataclass(frozen=True, slots=True)
class PlannedOrder:
    status: str
    customer: str | None
    # Codes the customer tries; one the cart does not qualify for is left out, as a
    # storefront that validates codes first would.
    codes: tuple[str, ...] = ()


PLAN = (
    PlannedOrder("pending", ADA, ("VIP20",)),
    PlannedOrder("pending", GUEST),
    PlannedOrder("pending", ALAN, ("WELCOME10",)),
    PlannedOrder("pending", MORGAN),
    PlannedOrder("confirmed", GRACE, ("VIP20",)),
    PlannedOrder("confirmed", KATHERINE, ("WELCOME10",)),
    PlannedOrder("confirmed", GUEST, ("SAVE15",)),
    PlannedOrder("processing", HEDY, ("WELCOME10",)),
    PlannedOrder("processing", SAM),
    PlannedOrder("processing", ALAN, ("SAVE15",)),
    PlannedOrder("partially_fulfilled", MORGAN),
    PlannedOrder("partially_fulfilled", ADA),
    PlannedOrder("partially_fulfilled", GUEST),
    PlannedOrder("fulfilled", GRACE),
    PlannedOrder("fulfilled", KATHERINE, ("SAVE15",)),
    PlannedOrder("fulfilled", SAM, ("VIP20",)),
    PlannedOrder("fulfilled", HEDY, ("SAVE15",)),
    PlannedOrder("fulfilled", GUEST),
    PlannedOrder("cancelled", ALAN),
    PlannedOrder("cancelled", GUEST),
    PlannedOrder("cancelled", GRACE, ("VIP20",)),
    PlannedOrder("refunded", KATHERINE),
    PlannedOrder("refunded", MORGAN),
    PlannedOrder("refunded", GUEST, ("SAVE15",)),
)


def order_key(number: int) -> str:
    return f"demo-order-{number:02d}"


@dataclass(frozen=True, slots=True)
class Sellable:
    entity_id: uuid.UUID
    variant_ids: tuple[uuid.UUID, ...]


async def place_orders(
    database: Database, *, products: int, customers: dict[str, uuid.UUID], report: SeedReport
) -> None:
    """Place (or finish) every planned order; none when there is nothing to sell."""
    keys = [order_key(n) for n in range(1, len(PLAN) + 1)]
    async with database.read_session() as session:
        rows = await session.execute(select(Order).where(Order.idempotency_key.in_(keys)))
        existing = {order.idempotency_key: order for order in rows.scalars()}
    shop = await _sellable(database, min(products, FIRST_PRODUCTS))
    for number, planned in enumerate(PLAN, start=1):
        key = order_key(number)
        order = existing.get(key)
        try:
            if order is None:
                if not shop:
                    continue
                order = await _place(database, number, planned, shop, customers)
                report.orders_created += 1
            elif order.status == planned.status:
                report.orders_skipped += 1
                continue
            if await _advance(database, order, planned.status, number) and key in existing:
                report.orders_advanced += 1
        except AppError as error:  # a store changed by hand: say so, and seed the rest
            log.warning("demo order %s: %s", key, error.message)
            report.orders_failed += 1


async def _sellable(database: Database, products: int) -> list[Sellable]:
    """The active products among the first ones that are well stocked, variants by SKU."""
    slugs = [demo_slug(i) for i in range(1, products + 1) if not is_low_stock(i)]
    if not slugs:
        return []
    async with database.read_session() as session:
        rows = (
            await session.execute(
                select(CatalogEntity.slug, CatalogEntity.id, Variant.id)
                .join(Variant, Variant.entity_id == CatalogEntity.id)
                .where(CatalogEntity.slug.in_(slugs), CatalogEntity.status == "active")
                .order_by(CatalogEntity.slug, Variant.sku)
            )
        ).all()
    variants: dict[str, list[uuid.UUID]] = {}
    entities: dict[str, uuid.UUID] = {}
    for slug, entity_id, variant_id in rows:
        entities[slug] = entity_id
        variants.setdefault(slug, []).append(variant_id)
    return [
        Sellable(entities[slug], tuple(variants[slug])) for slug in sorted(entities, key=demo_index)
    ]


def _lines(number: int, planned: PlannedOrder, shop: list[Sellable]) -> list[tuple[str, str, int]]:
    """One to three lines of one to three units, spread over the shop; an order that will be
    shipped in part has at least two units of its first line."""
    lines = []
    for j in range(1 + number % 3):
        product = shop[(7 * number + 3 * j) % len(shop)]
        variant = product.variant_ids[(number + j) % len(product.variant_ids)]
        quantity = 1 + (number + j) % 3
        if j == 0 and planned.status == "partially_fulfilled":
            quantity = max(quantity, 2)
        lines.append((str(product.entity_id), str(variant), quantity))
    return lines


async def _place(
    database: Database,
    number: int,
    planned: PlannedOrder,
    shop: list[Sellable],
    customers: dict[str, uuid.UUID],
) -> Order:
    customer_id = str(customers[planned.customer]) if planned.customer else None
    lines = _lines(number, planned, shop)
    async with database.unit_of_work() as uow:
        cart = await cart_service.create_cart(
            uow, SYSTEM, currency=CURRENCY, customer_id=customer_id
        )
        for entity_id, variant_id, quantity in lines:
            await cart_service.add_item(
                uow,
                SYSTEM,
                cart_id=str(cart.id),
                entity_id=entity_id,
                variant_id=variant_id,
                quantity=quantity,
            )
        await uow.commit()
    codes = await _usable_codes(database, planned.codes, lines, customer_id)
    address = next((c.address for c in CUSTOMERS if c.email == planned.customer), GUEST_ADDRESS)
    order, _ = await checkout(
        database,
        SYSTEM,
        CheckoutRequest(
            cart_id=str(cart.id),
            payment_method_id=PAYMENT_METHOD,
            promotion_codes=codes,
            shipping_address=address,
        ),
        idempotency_key=order_key(number),
    )
    return order


async def _usable_codes(
    database: Database,
    codes: tuple[str, ...],
    lines: list[tuple[str, str, int]],
    customer_id: str | None,
) -> tuple[str, ...]:
    items = [LineItem(entity_id=e, variant_id=v, quantity=q) for e, v, q in lines]
    usable = []
    async with database.read_session() as session:
        for code in codes:
            validation = await validate_code(
                session, SYSTEM, code=code, currency=CURRENCY, line_items=items,
                customer_id=customer_id,
            )  # fmt: skip
            if validation.evaluation.valid:
                usable.append(code)
    return tuple(usable)


async def _advance(database: Database, order: Order, target: str, number: int) -> bool:
    """Move the order along its planned path from where it is; False when there is nothing
    to do (there already, moved off the path by hand, or its payment still with the
    provider: the server's reconciler settles that first)."""
    path = PATHS[target]
    if order.status == target or (order.status != "pending" and order.status not in path):
        return False
    if order.payment_status == "processing":
        return False
    start = path.index(order.status) + 1 if order.status != "pending" else 0
    for status in path[start:]:
        if status in ("partially_fulfilled", "fulfilled"):
            await _ship(database, order.id, number, everything=status == "fulfilled")
        else:
            await change_status(database, SYSTEM, id=str(order.id), status=status)
    return True


async def _ship(database: Database, order_id: uuid.UUID, number: int, *, everything: bool) -> None:
    """Ship what is left of every line, or one unit of the first."""
    async with database.unit_of_work() as uow:
        lines = (
            await uow.session.scalars(
                select(OrderLine).where(OrderLine.order_id == order_id).order_by(OrderLine.id)
            )
        ).all()
        wanted = [(str(line.id), line.quantity - line.fulfilled_quantity) for line in lines]
        wanted = [(id, left) for id, left in wanted if left > 0]
        if not everything:
            wanted = [(wanted[0][0], 1)]
        await create_fulfillment(
            uow,
            SYSTEM,
            order_id=str(order_id),
            lines=wanted,
            carrier="UPS",
            tracking_number=f"1ZDEMO{number:08d}",
        )
        await uow.commit()
