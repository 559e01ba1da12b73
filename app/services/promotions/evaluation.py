"""What a promotion gives a cart, or why it gives nothing.

The cart's unit prices are always the server's: `validate_code` prices every line with
`app.services.pricing.resolve_prices`, and a client's unitPrice, totalPrice or subtotal is
never read (DESIGN §9). `evaluate` trusts the `CartContext` it is given, so callers build
one only from server prices (carts and checkout do the same).

Arithmetic, all in minor units, percentages rounded half up to the minor unit:

- percentage_off_order: `value` percent of the subtotal; fixed_amount_off_order: `value`,
  at most the subtotal. Both are spread over the lines in proportion to their totals
  (largest remainder), so the line discounts add up to the discount.
- percentage_off_items: `value` percent of each qualifying line's total; a line qualifies
  when its entity is in `entity_ids` or in one of `category_ids`.
- buy_x_get_y: of the qualifying units (every unit when no entity or category is named),
  each full group of buy + get units makes `get` units free (`value` percent off them,
  100 by default); the free units are the cheapest qualifying ones.
- free_shipping: no discount on the goods, `free_shipping` set.

A discount never exceeds what it applies to, so never the subtotal.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.actor import Actor
from app.ids import parse_uuid
from app.models.base import utcnow
from app.models.catalog import entity_categories
from app.models.promotions import Promotion, PromotionRedemption
from app.services.catalog.entities import visible_statuses
from app.services.catalog.rules import Problems
from app.services.pricing import PriceQuery, resolve_prices
from app.services.pricing.groups import READ_GROUP_PRICES, customer_group_ids
from app.services.pricing.rules import MAX_AMOUNT, check_currency

MAX_LINES = 500
MAX_QUANTITY = 10_000

# The stable reasons a code gives nothing, with what to tell the shopper.
REASONS = {
    "unknown_code": "No promotion has this code.",
    "inactive": "This promotion is no longer active.",
    "not_started": "This promotion has not started yet.",
    "expired": "This promotion has expired.",
    "usage_limit_reached": "This promotion has been used up.",
    "currency_mismatch": "This promotion does not apply to carts in this currency.",
    "customer_group_not_eligible": "This promotion is not available to this customer.",
    "customer_required": "This promotion is limited per customer: a customer is needed.",
    "customer_limit_reached": "This customer has already used this promotion.",
    "item_not_priced": "An item in the cart has no price in this currency.",
    "min_subtotal_not_met": (
        "The cart's total after price modifiers is below this promotion's minimum."
    ),
    "no_qualifying_items": "No item in the cart qualifies for this promotion.",
}


@dataclass(frozen=True, slots=True, kw_only=True)
class CartLine:
    entity_id: uuid.UUID
    quantity: int
    # Minor units, from the server's price resolution: never from the client.
    unit_price: int
    variant_id: uuid.UUID | None = None

    @property
    def total(self) -> int:
        return self.unit_price * self.quantity


@dataclass(frozen=True, slots=True, kw_only=True)
class CartContext:
    currency: str
    lines: tuple[CartLine, ...] = ()
    customer_id: str | None = None
    customer_group_ids: frozenset[uuid.UUID] = field(default_factory=frozenset)

    @property
    def subtotal(self) -> int:
        return sum(line.total for line in self.lines)


@dataclass(frozen=True, slots=True)
class LineDiscount:
    line: CartLine
    discount: int


@dataclass(frozen=True, slots=True, kw_only=True)
class Evaluation:
    valid: bool
    currency: str
    subtotal: int = 0
    discount: int = 0
    free_shipping: bool = False
    reason: str | None = None
    lines: tuple[LineDiscount, ...] = ()

    @property
    def message(self) -> str | None:
        return REASONS.get(self.reason) if self.reason else None


@dataclass(frozen=True, slots=True, kw_only=True)
class Validation:
    code: str
    evaluation: Evaluation
    # Named only when the code is known and currently on offer.
    promotion: Promotion | None = None
    # The cart at list prices (the same `subtotal` as carts and orders show); the
    # evaluation's own subtotal is after price modifiers, what promotions apply to.
    list_subtotal: int = 0


@dataclass(frozen=True, slots=True, kw_only=True)
class LineItem:
    """A line as a client sends it: what and how many, never at what price."""

    entity_id: str
    quantity: int
    variant_id: str | None = None


def _percent(amount: int, percent: int) -> int:
    return min((amount * percent + 50) // 100, amount)


def allocate(total: int, amounts: Sequence[int]) -> list[int]:
    """`total` spread over `amounts` proportionally; each share is at most its amount."""
    base = sum(amounts)
    if base == 0:
        return [0] * len(amounts)
    shares = [total * a // base for a in amounts]
    rest = total - sum(shares)
    by_remainder = sorted(range(len(amounts)), key=lambda i: (-(total * amounts[i] % base), i))
    for i in by_remainder[:rest]:
        shares[i] += 1
    return shares


def state_reason(promotion: Promotion, at: datetime) -> str | None:
    """Why the promotion is not on offer at `at` at all, whatever the cart."""
    if not promotion.active:
        return "inactive"
    if promotion.valid_from is not None and at < promotion.valid_from:
        return "not_started"
    if promotion.valid_until is not None and at >= promotion.valid_until:
        return "expired"
    if promotion.usage_limit is not None and promotion.usage_count >= promotion.usage_limit:
        return "usage_limit_reached"
    return None


async def _customer_reason(
    session: AsyncSession, promotion: Promotion, cart: CartContext
) -> str | None:
    if promotion.customer_group_ids:
        wanted = {uuid.UUID(g) for g in promotion.customer_group_ids}
        if not wanted & cart.customer_group_ids:
            return "customer_group_not_eligible"
    if promotion.per_customer_limit is not None:
        if cart.customer_id is None:
            return "customer_required"
        used = await session.scalar(
            select(func.count()).where(
                PromotionRedemption.promotion_id == promotion.id,
                PromotionRedemption.customer_id == cart.customer_id,
            )
        )
        if (used or 0) >= promotion.per_customer_limit:
            return "customer_limit_reached"
    return None


async def _qualifying(
    session: AsyncSession, promotion: Promotion, lines: Sequence[CartLine]
) -> list[bool]:
    """Which lines are in the promotion's scope (everything, when it names none)."""
    if not promotion.entity_ids and not promotion.category_ids:
        return [True] * len(lines)
    entities = {uuid.UUID(e) for e in promotion.entity_ids}
    if promotion.category_ids and lines:
        categories = [uuid.UUID(c) for c in promotion.category_ids]
        rows = await session.scalars(
            select(entity_categories.c.entity_id).where(
                entity_categories.c.entity_id.in_({line.entity_id for line in lines}),
                entity_categories.c.category_id.in_(categories),
            )
        )
        entities |= set(rows.all())
    return [line.entity_id in entities for line in lines]


def _buy_x_get_y(
    promotion: Promotion, lines: Sequence[CartLine], eligible: list[bool]
) -> list[int]:
    buy, get = promotion.buy_quantity or 1, promotion.get_quantity or 1
    units = sum(line.quantity for line, ok in zip(lines, eligible, strict=True) if ok)
    free = units // (buy + get) * get
    discounts = [0] * len(lines)
    cheapest_first = sorted(
        (i for i, ok in enumerate(eligible) if ok), key=lambda i: (lines[i].unit_price, i)
    )
    for i in cheapest_first:
        if free == 0:
            break
        taken = min(free, lines[i].quantity)
        discounts[i] = taken * _percent(lines[i].unit_price, promotion.value)
        free -= taken
    return discounts


async def _line_discounts(
    session: AsyncSession, promotion: Promotion, cart: CartContext
) -> list[int] | None:
    """Per-line discounts; None when nothing in the cart qualifies."""
    totals = [line.total for line in cart.lines]
    subtotal = sum(totals)
    if promotion.type == "percentage_off_order":
        return allocate(_percent(subtotal, promotion.value), totals)
    if promotion.type == "fixed_amount_off_order":
        return allocate(min(promotion.value, subtotal), totals)
    if promotion.type == "free_shipping":
        return [0] * len(totals)
    eligible = await _qualifying(session, promotion, cart.lines)
    if promotion.type == "percentage_off_items":
        discounts = [
            _percent(t, promotion.value) if ok else 0
            for t, ok in zip(totals, eligible, strict=True)
        ]
        return discounts if any(eligible) else None
    discounts = _buy_x_get_y(promotion, cart.lines, eligible)
    return discounts if any(discounts) else None


async def evaluate(
    session: AsyncSession,
    promotion: Promotion,
    cart: CartContext,
    *,
    at: datetime | None = None,
) -> Evaluation:
    """The discount `promotion` gives `cart` at `at` (now), or the first reason it gives
    none: its state, then currency, customer eligibility, minimum subtotal, then items."""
    subtotal = cart.subtotal

    def invalid(reason: str) -> Evaluation:
        return Evaluation(valid=False, currency=cart.currency, subtotal=subtotal, reason=reason)

    reason = state_reason(promotion, at or utcnow())
    if reason is None and promotion.currency is not None and promotion.currency != cart.currency:
        reason = "currency_mismatch"
    reason = reason or await _customer_reason(session, promotion, cart)
    if reason is None and promotion.min_subtotal is not None and subtotal < promotion.min_subtotal:
        reason = "min_subtotal_not_met"
    if reason is not None:
        return invalid(reason)
    discounts = await _line_discounts(session, promotion, cart)
    if discounts is None:
        return invalid("no_qualifying_items")
    return Evaluation(
        valid=True,
        currency=cart.currency,
        subtotal=subtotal,
        discount=sum(discounts),
        free_shipping=promotion.type == "free_shipping",
        lines=tuple(LineDiscount(line, d) for line, d in zip(cart.lines, discounts, strict=True)),
    )


def can_combine(promotions: Sequence[Promotion]) -> bool:
    """The stacking rule: one promotion always applies alone; several apply together only
    when every one of them is stackable."""
    return len(promotions) <= 1 or all(p.stackable for p in promotions)


def _parse_lines(
    problems: Problems, items: Sequence[LineItem]
) -> list[tuple[uuid.UUID, uuid.UUID | None, int]]:
    if len(items) > MAX_LINES:
        problems.add("lineItems", f"At most {MAX_LINES} lines.")
    parsed = []
    for i, item in enumerate(items):
        entity = parse_uuid(item.entity_id)
        variant = parse_uuid(item.variant_id) if item.variant_id is not None else None
        if entity is None:
            problems.add(f"lineItems[{i}].entityId", "Must be an id (UUID).")
        if item.variant_id is not None and variant is None:
            problems.add(f"lineItems[{i}].variantId", "Must be an id (UUID).")
        if not 1 <= item.quantity <= MAX_QUANTITY:
            problems.add(f"lineItems[{i}].quantity", f"1 to {MAX_QUANTITY}.")
        if entity is not None:
            parsed.append((entity, variant, item.quantity))
    return parsed


async def _groups(
    session: AsyncSession, actor: Actor, customer_id: str | None, claimed: Sequence[str]
) -> frozenset[uuid.UUID]:
    """The customer's groups: their memberships, the signed-in user's, and the groups the
    caller names only when it is staff (`pricing:update`, as for group prices). A shopper
    naming a group is not believed: that would unlock group-only codes and prices."""
    groups: set[uuid.UUID] = set()
    if customer_id is not None:
        groups |= await customer_group_ids(session, customer_id)
    if actor.customer_id is not None:
        groups |= await customer_group_ids(session, actor.customer_id)
    if actor.can(READ_GROUP_PRICES):
        groups |= {g for g in (parse_uuid(value) for value in claimed) if g is not None}
    return frozenset(groups)


async def validate_code(
    session: AsyncSession,
    actor: Actor,
    *,
    code: str,
    currency: str,
    line_items: Sequence[LineItem],
    customer_id: str | None = None,
    customer_group_ids: Sequence[str] = (),
    at: datetime | None = None,
) -> Validation:
    """What `code` would take off this cart now, or the reason it would take nothing.

    Every line is priced here, with the customer's groups, by `resolve_prices`: prices,
    totals or a subtotal the client sends are ignored, so a tampered unitPrice never changes
    the discount. A line with no price in `currency` (or an entity the caller cannot see)
    makes the code invalid (`item_not_priced`). A malformed cart is a VALIDATION_FAILED;
    an unusable code is an answer (`valid=False` with a reason), not an error.
    """
    problems = Problems()
    check_currency(problems, currency)
    lines = _parse_lines(problems, line_items)
    problems.raise_if_any()
    moment = at or utcnow()
    code = code.strip().upper()

    def refused(reason: str, subtotal: int = 0, promotion: Promotion | None = None) -> Validation:
        result = Evaluation(valid=False, currency=currency, subtotal=subtotal, reason=reason)
        return Validation(code=code, evaluation=result, promotion=promotion)

    promotion = await session.scalar(select(Promotion).where(Promotion.code == code))
    if promotion is None:
        return refused("unknown_code")
    reason = state_reason(promotion, moment)
    if reason is not None:
        return refused(reason)
    groups = await _groups(session, actor, customer_id, customer_group_ids)
    queries = [
        PriceQuery(
            entity_id=entity,
            variant_id=variant,
            currency=currency,
            customer_group_ids=groups,
            quantity=quantity,
        )
        for entity, variant, quantity in lines
    ]
    prices = await resolve_prices(session, queries, at=moment, statuses=visible_statuses(actor))
    priced = [(q, price) for q in queries if (price := prices[q]) is not None]
    if len(priced) < len(queries):
        return refused("item_not_priced", promotion=promotion)
    cart = CartContext(
        currency=currency,
        customer_id=customer_id,
        customer_group_ids=groups,
        lines=tuple(
            CartLine(
                entity_id=q.entity_id,
                variant_id=q.variant_id,
                quantity=q.quantity,
                unit_price=price.amount,
            )
            for q, price in priced
        ),
    )
    if cart.subtotal > MAX_AMOUNT:
        problems.add("lineItems", "The cart's total is too large.")
        problems.raise_if_any()
    result = await evaluate(session, promotion, cart, at=moment)
    listed = sum(price.base_amount * q.quantity for q, price in priced)
    return Validation(code=code, evaluation=result, promotion=promotion, list_subtotal=listed)
