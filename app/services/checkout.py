"""Checkout: a cart becomes an order in one unit of work, or nothing happens at all.

The pipeline: lock the cart; price it on the server; apply the promotion codes; give the
order its number (and claim the idempotency key); take the stock across warehouses (a paid
order sells every line at once, in a fixed number of statements; an unpaid one reserves it);
take the payment; count the promotions' use; close the cart.
Any failure before commit is CHECKOUT_FAILED and the transaction rolls back: no order, no
stock held, no promotion use. The same Idempotency-Key with the same body answers the same
order; with another body it is a CONFLICT; a concurrent duplicate waits on the key's unique
index and then answers the order the first one made.
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
from sqlalchemy import insert, select, update
from sqlalchemy.exc import IntegrityError

from app import payments
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
from app.models.inventory import InventoryLevel, Reservation
from app.models.orders import Order, OrderLine, Payment
from app.models.promotions import Promotion, PromotionRedemption
from app.services import carts as cart_service
from app.services.audit import record_change
from app.services.catalog.rules import Problems, check_address
from app.services.inventory.batch import sell_lines
from app.services.inventory.levels import apply_change
from app.services.inventory.reservations import reserve
from app.services.orders import get_order, next_number
from app.services.promotions.evaluation import (
    CartContext,
    CartLine,
    allocate,
    can_combine,
    evaluate,
)
from app.services.promotions.rules import normalize_code

log = logging.getLogger(__name__)
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
) -> tuple[Order, bool]:
    """Run the pipeline in its own unit of work; returns (order, replayed)."""
    _check(request, idempotency_key)
    fingerprint = request.fingerprint()
    if idempotency_key is not None:
        async with database.unit_of_work(request_id=request_id) as uow:
            if (done := await _replay(uow, idempotency_key, fingerprint)) is not None:
                return done, True
    try:
        async with database.unit_of_work(request_id=request_id) as uow:
            order, replayed = await _pipeline(uow, actor, request, idempotency_key, fingerprint)
            await uow.commit()
            return order, replayed
    except IntegrityError:
        # A concurrent checkout with the same key committed first: answer its order.
        if idempotency_key is None:
            raise
        async with database.unit_of_work(request_id=request_id) as uow:
            done = await _replay(uow, idempotency_key, fingerprint)
        if done is None:
            raise
        return done, True


async def _pipeline(
    uow: UnitOfWork,
    actor: Actor,
    request: CheckoutRequest,
    idempotency_key: str | None,
    fingerprint: str,
) -> tuple[Order, bool]:
    cart = await cart_service.get_cart(uow.session, actor, request.cart_id, lock=True)
    # A duplicate that queued on the cart's lock finds the order the first one made.
    if idempotency_key is not None and (done := await _replay(uow, idempotency_key, fingerprint)):
        return done, True
    try:
        view = await _priced_cart(uow, cart, request)
    except NotFound:
        raise
    except AppError as error:
        raise CheckoutFailed(error.message, details=error.details) from None
    cart = view.cart
    context = CartContext(
        currency=cart.currency,
        customer_id=cart.customer_id,
        customer_group_ids=frozenset(),
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
    subtotal = view.total
    total = max(0, subtotal - discount)
    order = Order(
        number=await next_number(uow, utcnow().year),
        currency=cart.currency,
        customer_id=cart.customer_id,
        cart_id=cart.id,
        subtotal=subtotal,
        discount_total=discount,
        total=total,
        promotion_codes=[p.code for p in promotions],
        shipping_address=request.shipping_address,
        idempotency_key=idempotency_key,
        request_hash=fingerprint,
    )
    uow.session.add(order)
    await uow.session.flush()  # claims the idempotency key: a duplicate waits here
    shares = allocate(discount, [line.unit_price * line.quantity for line in context.lines])
    for line, view_line, share in zip(context.lines, view.lines, shares, strict=True):
        uow.session.add(
            OrderLine(
                order_id=order.id,
                entity_id=line.entity_id,
                variant_id=line.variant_id,
                sku=view_line.sku,
                title=view_line.title,
                quantity=line.quantity,
                unit_price=line.unit_price,
                discount=share,
                total=line.unit_price * line.quantity - share,
            )
        )
    paying = request.payment_method_id is not None
    await _take_stock(uow, actor, order, context, sell=paying)
    if request.payment_method_id is not None:
        await _pay(uow, order, request.payment_method_id)
    await _count_use(uow, order, promotions)
    cart.status = "checked_out"
    cart.updated_at = utcnow()
    await uow.session.flush()
    record_change(
        uow,
        actor,
        event="orders.create",
        entity_type="order",
        entity_id=str(order.id),
        after=order.snapshot(),
    )
    return order, False


async def _priced_cart(uow: UnitOfWork, cart: Any, request: CheckoutRequest) -> Any:
    if cart.status != "active":
        raise ValidationFailed.field("cartId", "The cart is checked out already.")
    if request.currency is not None and request.currency != cart.currency:
        raise ValidationFailed.field("currency", f"The cart is in {cart.currency}.")
    view = await cart_service.price(uow.session, cart)
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
        (
            await uow.session.scalars(
                select(Promotion).where(Promotion.code.in_(codes)).with_for_update()
            )
        ).all()
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


async def _take_stock(
    uow: UnitOfWork, actor: Actor, order: Order, cart: CartContext, *, sell: bool
) -> None:
    """A paid order sells every line at once (`sell_lines`: the guarded decrement under row
    locks is the atomic take, no reservation is made); an unpaid order reserves every line
    (atomically, across warehouses) and keeps its reservations until it is paid (or they
    expire)."""
    if sell:
        try:
            await sell_lines(
                uow,
                actor,
                lines=[(line.entity_id, line.variant_id, line.quantity) for line in cart.lines],
                reference_id=str(order.id),
                reason=f"order {order.number}",
            )
        except (Conflict, NotFound) as error:
            raise CheckoutFailed(f"Out of stock: {error.message}") from None
        return
    for line in sorted(cart.lines, key=lambda line: (str(line.entity_id), str(line.variant_id))):
        try:
            await reserve(
                uow,
                actor,
                entity_id=str(line.entity_id),
                variant_id=str(line.variant_id) if line.variant_id else None,
                quantity=line.quantity,
                reference_id=str(order.id),
                ttl=UNPAID_HOLD,
            )
        except (Conflict, NotFound) as error:
            raise CheckoutFailed(f"Out of stock: {error.message}") from None


async def _sell(uow: UnitOfWork, actor: Actor, order: Order, held: list[Reservation]) -> None:
    """Turn reservations into sales: the units leave the shelf and the hold."""
    for reservation in held:
        level = await uow.session.get(InventoryLevel, reservation.level_id)
        assert level is not None
        await apply_change(
            uow,
            actor,
            level,
            type="sale",
            delta=-reservation.quantity,
            reserved_delta=-reservation.quantity,
            reference_id=str(order.id),
            reason=f"order {order.number}",
            backorder=True,
        )
        reservation.status = "consumed"


async def _pay(uow: UnitOfWork, order: Order, payment_method_id: str) -> None:
    if order.total == 0:
        order.payment_status = "paid"
        return
    provider = payments.provider()
    charge = await provider.charge(
        amount=order.total,
        currency=order.currency,
        payment_method_id=payment_method_id,
        idempotency_key=f"order:{order.id}",
    )
    if not charge.succeeded:
        raise CheckoutFailed(f"Payment declined: {charge.message}", details={"payment": "declined"})
    await uow.session.execute(
        insert(Payment).values(
            id=uuid.uuid4(),
            order_id=order.id,
            provider=provider.name,
            provider_reference=charge.reference,
            payment_method_id=payment_method_id,
            amount=order.total,
            currency=order.currency,
            status="succeeded",
            created_at=utcnow(),
        )
    )
    order.payment_status = "paid"


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
        order, _ = await _pipeline(uow, actor, request, None, request.fingerprint())
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
    """Pay an order placed unpaid: the amount must be the order's. A declined payment is
    PAYMENT_FAILED and changes nothing (the stock stays reserved for a retry)."""
    if not payment_method_id.startswith("pm_") or len(payment_method_id) > 200:
        raise ValidationFailed.field("paymentMethodId", "A payment method id (pm_...).")
    async with database.unit_of_work(request_id=request_id) as uow:
        order = await get_order(uow.session, actor, order_id, lock=True)
        if order.payment_status != "pending":
            raise Conflict(f"The order is {order.payment_status} already.")
        if amount != order.total or currency != order.currency:
            raise ValidationFailed(
                "The amount and currency must be the order's total.",
                details={"amount": f"{order.total} {order.currency} (minor units)."},
            )
        held = list(
            (
                await uow.session.scalars(
                    select(Reservation).where(
                        Reservation.reference_id == str(order.id),
                        Reservation.status == "active",
                        Reservation.expires_at > utcnow(),
                    )
                )
            ).all()
        )
        lines = await uow.session.scalars(
            select(OrderLine.quantity).where(OrderLine.order_id == order.id)
        )
        if sum(r.quantity for r in held) < sum(lines.all()):
            raise Conflict("The order's stock reservation has expired; place it again.")
        provider = payments.provider()
        charge = await provider.charge(
            amount=order.total,
            currency=order.currency,
            payment_method_id=payment_method_id,
            idempotency_key=f"order:{order.id}:{uuid.uuid4()}",
        )
        if not charge.succeeded:
            raise PaymentFailed(f"Payment declined: {charge.message}")
        await _sell(uow, actor, order, held)
        payment = Payment(
            order_id=order.id,
            provider=provider.name,
            provider_reference=charge.reference,
            payment_method_id=payment_method_id,
            amount=order.total,
            currency=order.currency,
            status="succeeded",
        )
        uow.session.add(payment)
        before = order.snapshot()
        order.payment_status = "paid"
        order.updated_at = utcnow()
        await uow.session.flush()
        record_change(
            uow,
            actor,
            event="orders.update",
            entity_type="order",
            entity_id=str(order.id),
            before=before,
            after=order.snapshot(),
            reason="paid",
        )
        await uow.commit()
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
