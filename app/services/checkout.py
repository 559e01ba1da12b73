"""Checkout: a cart becomes an order, in two short transactions around the payment provider.

The first locks the cart, prices it on the server, applies the promotion codes (counting
their use), gives the order its number (claiming the idempotency key), holds the stock
across warehouses and writes a pending charge. The provider is then asked with no
transaction or row lock open (`settlement.charge`), so checkouts of different products pay
in parallel. The second turns the holds into sales and marks the order paid; a decline
undoes the first (stock, promotion uses, cart) and is CHECKOUT_FAILED. Any failure inside
the first is CHECKOUT_FAILED and rolls back: no order, no stock held, no promotion use.
The same Idempotency-Key with the same body answers the same order (settling it first if
its charge is still pending); with another body it is a CONFLICT; a concurrent duplicate
queues on the cart's lock (or the key's unique index) and then answers the first one's order.
"""

from __future__ import annotations

import hashlib
import logging
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import orjson
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError

from app.auth.actor import Actor
from app.db import Database, UnitOfWork
from app.errors import (
    AppError,
    CheckoutFailed,
    Conflict,
    NotFound,
    PaymentFailed,
    ValidationFailed,
)
from app.models.base import utcnow
from app.models.carts import Cart
from app.models.inventory import Reservation
from app.models.orders import Order, OrderLine, Payment
from app.models.promotions import Promotion, PromotionRedemption
from app.services import carts as cart_service
from app.services import settlement
from app.services.audit import record_change
from app.services.catalog.rules import Problems, check_address
from app.services.customers import require_customer
from app.services.inventory.batch import hold_lines
from app.services.marketplace.split import record_split, split_order
from app.services.orders import access_token_hash, get_order, next_number
from app.services.pricing.groups import READ_GROUP_PRICES, get_customer_group
from app.services.promotions.evaluation import (
    CartContext,
    CartLine,
    allocate,
    can_combine,
    evaluate,
)
from app.services.promotions.rules import normalize_code

log = logging.getLogger(__name__)
# Naming the order's customer (`customerId`) is placing an order for someone else.
PLACE_FOR_OTHERS = "orders:create"
# How long an order placed unpaid holds its stock.
UNPAID_HOLD = timedelta(minutes=30)


@dataclass(frozen=True, slots=True, kw_only=True)
class CheckoutRequest:
    cart_id: str
    # None places the order unpaid: its stock stays reserved until `pay_order` (gateway).
    payment_method_id: str | None
    currency: str | None = None
    customer_id: str | None = None
    customer_group_ids: tuple[str, ...] = ()
    promotion_codes: tuple[str, ...] = ()
    shipping_address: dict[str, Any] | None = None

    def fingerprint(self) -> str:
        body = orjson.dumps(
            {
                "cartId": self.cart_id,
                "paymentMethodId": self.payment_method_id,
                "currency": self.currency,
                "customerId": self.customer_id,
                "customerGroupIds": sorted(self.customer_group_ids),
                "promotionCodes": sorted(normalize_code(c) for c in self.promotion_codes),
                "shippingAddress": self.shipping_address,
            },
            option=orjson.OPT_SORT_KEYS,
        )
        return hashlib.sha256(body).hexdigest()


def _check(request: CheckoutRequest, idempotency_key: str | None) -> None:
    problems = Problems()
    method = request.payment_method_id
    if method is not None and (not method.startswith("pm_") or len(method) > 200):
        problems.add("paymentMethodId", "A payment method id (pm_...).")
    if idempotency_key is not None and not 1 <= len(idempotency_key) <= 200:
        problems.add("Idempotency-Key", "1 to 200 characters.")
    check_address(problems, request.shipping_address, "shippingAddress")
    if len(request.promotion_codes) > 5:
        problems.add("promotionCodes", "At most 5 codes.")
    problems.raise_if_any()


async def _replay(uow: UnitOfWork, key: str, fingerprint: str) -> Order | None:
    existing = await uow.session.scalar(select(Order).where(Order.idempotency_key == key))
    if existing is None:
        return None
    if existing.request_hash != fingerprint:
        raise Conflict("This Idempotency-Key was used with another request body.")
    # Kept as read: the read-only unit of work rolls back, which would expire it.
    uow.session.expunge(existing)
    return existing


async def checkout(
    database: Database,
    actor: Actor,
    request: CheckoutRequest,
    *,
    idempotency_key: str | None = None,
    request_id: str | None = None,
    access_token: str | None = None,
) -> tuple[Order, bool]:
    """Place the order and take its payment; returns (order, replayed). A guest order (no
    customer) keeps the digest of `access_token` (`orders.new_access_token()`), which the
    caller shows once: a replayed order keeps the digest of the token its first request
    made, so `orders.token_opens(order, access_token)` tells whether to show it.

    Two short transactions around the provider call, which runs with none open: the first
    holds the stock and writes the order with a pending charge; the second turns the holds
    into sales (or undoes it all on a decline). An order found under the Idempotency-Key
    with its charge still pending (a crash, or a duplicate racing this one) is settled by
    asking the provider again under the same key, which moves no money twice."""
    _check(request, idempotency_key)
    fingerprint = request.fingerprint()
    order: Order | None = None
    attempt: Payment | None = None  # the charge this request opened
    if idempotency_key is not None:
        async with database.unit_of_work(request_id=request_id) as uow:
            order = await _replay(uow, idempotency_key, fingerprint)
    replayed = order is not None
    if order is None:
        try:
            async with database.unit_of_work(request_id=request_id) as uow:
                opened = await _open(
                    uow, actor, request, idempotency_key, fingerprint, access_token
                )
                await uow.commit()
            order, attempt, replayed = opened
        except IntegrityError:
            # A concurrent checkout with the same key committed first: answer its order.
            if idempotency_key is None:
                raise
            async with database.unit_of_work(request_id=request_id) as uow:
                order = await _replay(uow, idempotency_key, fingerprint)
            if order is None:
                raise
            replayed = True
    if order.payment_status != "processing":
        return order, replayed
    attempt = attempt or await settlement.pending_charge(database, order.id)
    if attempt is not None:
        settled = await settlement.charge(database, actor, attempt, request_id=request_id)
    else:  # settled by another request between our read and now
        async with database.read_session() as session:
            found = await session.get(Order, order.id)
        settled = settlement.Settled(found, settlement.outcome_of(found))
    if settled.outcome == "declined" or settled.order is None:
        raise CheckoutFailed(
            f"Payment declined: {settled.message or 'the provider refused it'}",
            details={"payment": "declined"},
        )
    if settled.outcome == "refunded":
        raise CheckoutFailed(settled.message or "Refunded.", details={"payment": "refunded"})
    return settled.order, replayed


async def _open(
    uow: UnitOfWork,
    actor: Actor,
    request: CheckoutRequest,
    idempotency_key: str | None,
    fingerprint: str,
    access_token: str | None = None,
) -> tuple[Order, Payment | None, bool]:
    """The first transaction: the order, its lines and its stock held, the promotion uses
    counted, the cart closed, and (when paying) a pending charge. Returns the order, that
    charge, and whether the order was found under the key instead (made by a duplicate)."""
    cart = await cart_service.get_cart(uow.session, actor, request.cart_id, lock=True)
    # A duplicate that queued on the cart's lock finds the order the first one made.
    if idempotency_key is not None and (done := await _replay(uow, idempotency_key, fingerprint)):
        return done, None, True
    extra_groups = await _customer(uow, actor, request, cart)
    try:
        view = await _priced_cart(uow, cart, request, extra_groups)
    except NotFound:
        raise
    except AppError as error:
        raise CheckoutFailed(error.message, details=error.details) from None
    cart = view.cart
    context = CartContext(
        currency=cart.currency,
        customer_id=cart.customer_id,
        customer_group_ids=view.customer_group_ids,
        lines=tuple(
            CartLine(
                entity_id=line.item.entity_id,
                variant_id=line.item.variant_id,
                quantity=line.item.quantity,
                unit_price=line.unit_price or 0,
            )
            for line in view.lines
        ),
    )
    promotions, discount = await _promotions(uow, request, context)
    total = max(0, view.total - discount)
    order = Order(
        number=await next_number(uow, utcnow().year),
        currency=cart.currency,
        customer_id=cart.customer_id,
        cart_id=cart.id,
        subtotal=view.subtotal,
        modifier_discount_total=view.discount_total,
        discount_total=view.discount_total + discount,
        total=total,
        promotion_codes=[p.code for p in promotions],
        shipping_address=request.shipping_address,
        idempotency_key=idempotency_key,
        request_hash=fingerprint,
        payment_status=_payment_status(request, total),
        access_token_hash=access_token_hash(access_token)
        if access_token and cart.customer_id is None
        else None,
    )
    uow.session.add(order)
    await uow.session.flush()  # claims the idempotency key: a duplicate waits here
    shares = allocate(discount, [line.unit_price * line.quantity for line in context.lines])
    order_lines = [
        OrderLine(
            order_id=order.id,
            entity_id=line.entity_id,
            variant_id=line.variant_id,
            sku=view_line.sku,
            title=view_line.title,
            quantity=line.quantity,
            list_price=view_line.base_unit_price or 0,
            unit_price=line.unit_price,
            discount=share,
            total=line.unit_price * line.quantity - share,
        )
        for line, view_line, share in zip(context.lines, view.lines, shares, strict=True)
    ]
    uow.session.add_all(order_lines)
    # The marketplace's split: one sub-order per vendor among the lines (same transaction).
    await split_order(uow, order, order_lines)
    paying = request.payment_method_id is not None
    hold = settlement.SETTLE_HOLD if paying else UNPAID_HOLD
    try:
        await hold_lines(
            uow,
            actor,
            lines=[(line.entity_id, line.variant_id, line.quantity) for line in context.lines],
            reference_id=str(order.id),
            expires_at=utcnow() + hold,
            reason=f"order {order.number}",
        )
    except (Conflict, NotFound) as error:
        raise CheckoutFailed(f"Out of stock: {error.message}") from None
    await _count_use(uow, order, promotions)
    cart.status = "checked_out"
    cart.updated_at = utcnow()
    if request.payment_method_id is not None and order.total > 0:
        attempt = settlement.open_charge(
            uow, order, payment_method_id=request.payment_method_id, kind="checkout",
            amount=order.total,
        )  # fmt: skip
        await uow.session.flush()
        return order, attempt, False
    if paying:  # nothing to charge: sold at once
        await settlement.sell_order(uow, actor, order)
    await uow.session.flush()
    record_change(
        uow,
        actor,
        event="orders.create",
        entity_type="order",
        entity_id=str(order.id),
        after=order.snapshot(),
    )
    await record_split(uow, actor, order)
    return order, None, False


def _payment_status(request: CheckoutRequest, total: int) -> str:
    """A charge about to be asked for is `processing`; nothing to charge is `paid`; an order
    placed unpaid is `pending`."""
    if request.payment_method_id is None:
        return "pending"
    return "processing" if total > 0 else "paid"


async def _customer(
    uow: UnitOfWork, actor: Actor, request: CheckoutRequest, cart: Cart
) -> frozenset[uuid.UUID]:
    """Whose order this is, and which groups price it, exactly as the cart and `validate`
    would: the cart's customer (a signed-in customer's own) and their memberships. Only a
    caller placing orders for others (`orders:create`), or that customer, may name
    `customerId`, which must exist and cannot take over another customer's cart. Only staff
    (`pricing:update`, as for group prices and `validate`) may name extra groups; returns
    those."""
    if request.customer_id is not None:
        if not actor.is_customer(request.customer_id):
            actor.require(PLACE_FOR_OTHERS)
        customer = await require_customer(uow.session, request.customer_id)
        if cart.customer_id not in (None, str(customer.id)):
            raise CheckoutFailed(
                "The cart belongs to another customer.",
                details={"customerId": "Not the cart's customer."},
            )
        cart.customer_id = str(customer.id)
    if not request.customer_group_ids:
        return frozenset()
    if not actor.can(READ_GROUP_PRICES):
        raise ValidationFailed.field(
            "customerGroupIds",
            "Only staff (pricing:update) may name groups; the customer's own always apply.",
        )
    groups = set()
    for index, value in enumerate(request.customer_group_ids):
        try:
            groups.add((await get_customer_group(uow.session, value)).id)
        except NotFound:
            raise ValidationFailed.field(f"customerGroupIds.{index}", "Unknown group.") from None
    return frozenset(groups)


async def _priced_cart(
    uow: UnitOfWork, cart: Any, request: CheckoutRequest, extra_groups: frozenset[uuid.UUID]
) -> Any:
    if cart.status != "active":
        raise ValidationFailed.field("cartId", "The cart is checked out already.")
    if request.currency is not None and request.currency != cart.currency:
        raise ValidationFailed.field("currency", f"The cart is in {cart.currency}.")
    view = await cart_service.price(uow.session, cart, extra_groups=extra_groups)
    if not view.lines:
        raise ValidationFailed.field("cartId", "The cart is empty.")
    unpriced = [line.sku or str(line.item.entity_id) for line in view.lines if line.price is None]
    if unpriced:
        raise ValidationFailed.field("cartId", f"No price for {', '.join(unpriced)}.")
    return view


async def _promotions(
    uow: UnitOfWork, request: CheckoutRequest, context: CartContext
) -> tuple[list[Promotion], int]:
    codes = list(dict.fromkeys(normalize_code(c) for c in request.promotion_codes))
    if not codes:
        return [], 0
    found = list(
        (await uow.session.scalars(select(Promotion).where(Promotion.code.in_(codes)))).all()
    )
    missing = set(codes) - {p.code for p in found}
    if missing:
        raise CheckoutFailed(f"Unknown promotion code: {', '.join(sorted(missing))}.")
    if not can_combine(found):
        raise CheckoutFailed("These promotion codes cannot be combined.")
    discount = 0
    for promotion in sorted(found, key=lambda p: p.code):
        evaluation = await evaluate(uow.session, promotion, context)
        if not evaluation.valid:
            raise CheckoutFailed(
                f"Promotion {promotion.code}: {evaluation.message}",
                details={"promotionCodes": evaluation.reason or "invalid"},
            )
        discount += evaluation.discount
    return found, min(discount, context.subtotal)


async def _count_use(uow: UnitOfWork, order: Order, promotions: list[Promotion]) -> None:
    """Count each code's use; a limit reached meanwhile fails the checkout (rolled back)."""
    for promotion in promotions:
        counted = await uow.session.scalar(
            update(Promotion)
            .where(
                Promotion.id == promotion.id,
                (Promotion.usage_limit.is_(None)) | (Promotion.usage_count < Promotion.usage_limit),
            )
            .values(usage_count=Promotion.usage_count + 1)
            .returning(Promotion.usage_count)
        )
        if counted is None:
            raise CheckoutFailed(f"Promotion {promotion.code} has been used up.")
        uow.session.add(
            PromotionRedemption(
                promotion_id=promotion.id, order_id=str(order.id), customer_id=order.customer_id
            )
        )


async def place_order(
    database: Database,
    actor: Actor,
    *,
    currency: str,
    items: list[tuple[str, str | None, int]],
    customer_id: str | None = None,
    shipping_address: dict[str, Any] | None = None,
    request_id: str | None = None,
) -> Order:
    """The gateway's POST /orders: a cart made of `items` (entity, variant, quantity) and
    checked out unpaid, all in one unit of work; payment follows with `pay_order`."""
    if not items:
        raise ValidationFailed.field("items", "Give at least one item.")
    async with database.unit_of_work(request_id=request_id) as uow:
        cart = await cart_service.create_cart(
            uow, actor, currency=currency, customer_id=customer_id
        )
        for index, (entity_id, variant_id, quantity) in enumerate(items):
            try:
                await cart_service.add_item(
                    uow,
                    actor,
                    cart_id=str(cart.id),
                    entity_id=entity_id,
                    variant_id=variant_id,
                    quantity=quantity,
                )
            except AppError as error:
                details = {f"items.{index}.{k}": v for k, v in (error.details or {}).items()}
                raise type(error)(error.message, details=details or None) from None
        request = CheckoutRequest(
            cart_id=str(cart.id), payment_method_id=None, shipping_address=shipping_address
        )
        _check(request, None)
        order, _, _ = await _open(uow, actor, request, None, request.fingerprint())
        await uow.commit()
    return order


async def pay_order(
    database: Database,
    actor: Actor,
    *,
    order_id: str,
    payment_method_id: str,
    amount: int,
    currency: str,
    request_id: str | None = None,
) -> Payment:
    """Pay an order placed unpaid: the amount must be the order's. A cancelled order cannot
    be paid (CONFLICT, nothing charged). A declined payment is PAYMENT_FAILED and leaves the
    order unpaid with its stock still held for a retry."""
    if not payment_method_id.startswith("pm_") or len(payment_method_id) > 200:
        raise ValidationFailed.field("paymentMethodId", "A payment method id (pm_...).")
    async with database.unit_of_work(request_id=request_id) as uow:
        order = await get_order(uow.session, actor, order_id, lock=True, write=True)
        if order.status == "cancelled":
            raise Conflict("The order is cancelled; it cannot be paid.")
        if order.payment_status != "pending":
            raise Conflict(f"The order is {order.payment_status} already.")
        if amount != order.total or currency != order.currency:
            raise ValidationFailed(
                "The amount and currency must be the order's total.",
                details={"amount": f"{order.total} {order.currency} (minor units)."},
            )
        held = (
            await uow.session.execute(
                select(func.coalesce(func.sum(Reservation.quantity), 0)).where(
                    Reservation.reference_id == str(order.id),
                    Reservation.status == "active",
                    Reservation.expires_at > utcnow(),
                )
            )
        ).scalar_one()
        wanted = (
            await uow.session.execute(
                select(func.coalesce(func.sum(OrderLine.quantity), 0)).where(
                    OrderLine.order_id == order.id
                )
            )
        ).scalar_one()
        if held < wanted:
            raise Conflict("The order's stock reservation has expired; place it again.")
        attempt = settlement.open_charge(
            uow, order, payment_method_id=payment_method_id, kind="payment", amount=order.total
        )
        order.updated_at = utcnow()
        await uow.commit()
    settled = await settlement.charge(database, actor, attempt, request_id=request_id)
    if settled.outcome == "declined":
        raise PaymentFailed(f"Payment declined: {settled.message or 'the provider refused it'}")
    async with database.read_session() as session:
        payment = await session.get(Payment, attempt.id)
    assert payment is not None
    return payment


# Work that follows a committed checkout (notifications, webhooks): registered by the domains
# that provide it. A hook's failure does not undo the order; it is reported as a hook error.
AfterCheckout = Callable[[Order], Awaitable[None]]
AFTER_CHECKOUT: list[AfterCheckout] = []


async def run_after_hooks(order: Order) -> list[str]:
    """Run every after-checkout hook; the messages of those that failed, named."""
    errors = []
    for hook in AFTER_CHECKOUT:
        try:
            await hook(order)
        except Exception as error:  # a hook's fault must not turn a placed order into a 500
            log.warning("after-checkout hook %s failed", hook.__name__, exc_info=error)
            errors.append(f"{hook.__name__}: {error}")
    return errors
