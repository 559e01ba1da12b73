"""Price resolution: the one place that decides what something costs. Carts, checkout and
every face (GraphQL, both REST dialects) ask here; none computes a price of its own.

For one (entity, variant, currency, customer groups, quantity, moment):

1. Candidates are the entity's price records in that currency whose window contains the
   moment (`valid_from <= at < valid_until`, a null bound open), whose `min_quantity` is at
   most the quantity, and that are public or for one of the given groups.
2. The variant's own candidates win over the entity's variant-less ones; the entity's are
   the fallback when the variant has none that apply (or no variant was asked for).
3. The best price is the LOWEST amount among what is left (a tier, a group price or a sale
   window that is cheaper always wins; a dearer one never takes over a cheaper one). Ties go
   to a group price over a public one, then the higher tier, then the newest record.
4. Active modifiers whose scope matches (entity, group, minimum quantity, window, and
   currency where they name one) are applied to that amount in ascending `priority`, then
   creation order, each to the result of the one before; the price never goes below zero.

No price record, no price: None. There is no currency conversion.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, bindparam, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from app.models.base import utcnow
from app.models.catalog import CatalogEntity
from app.models.pricing import Price, PriceModifier
from app.services.catalog.loading import columns
from app.services.catalog.rules import Problems
from app.services.pricing.rules import check_currency


@dataclass(frozen=True, slots=True, kw_only=True)
class PriceQuery:
    """What to price: hashable, so a batch answers with a dict keyed by its queries.

    For a catalog page: `[PriceQuery(entity_id=e, variant_id=v, currency="USD") for e, v in
    pairs]`.
    """

    entity_id: uuid.UUID
    currency: str
    variant_id: uuid.UUID | None = None
    customer_group_ids: frozenset[uuid.UUID] = field(default_factory=frozenset)
    quantity: int = 1
    # Computed once: a batch hashes each query several times, and a UUID's hash is Python.
    _hash: int = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        fields = (
            self.entity_id,
            self.currency,
            self.variant_id,
            self.customer_group_ids,
            self.quantity,
        )
        object.__setattr__(self, "_hash", hash(fields))

    def __hash__(self) -> int:
        return self._hash


@dataclass(frozen=True, slots=True)
class AppliedModifier:
    # A row of the modifier's columns, read by attribute like the model.
    modifier: PriceModifier
    # Minor units this modifier took off the amount it was given.
    discount: int


@dataclass(frozen=True, slots=True)
class ResolvedPrice:
    """The unit price: `base_amount` from the chosen record, `amount` after modifiers."""

    currency: str
    base_amount: int
    amount: int
    # The chosen record: a row of its columns, read by attribute like the model.
    price: Price
    modifiers: tuple[AppliedModifier, ...] = ()

    @property
    def discount(self) -> int:
        return self.base_amount - self.amount


def _in_window(model: Any) -> ColumnElement[bool]:
    """Valid at the bound moment `at`."""
    return and_(
        or_(model.valid_from.is_(None), model.valid_from <= bindparam("at")),
        or_(model.valid_until.is_(None), model.valid_until > bindparam("at")),
    )


def _in_groups(
    column: InstrumentedAttribute[uuid.UUID | None], grouped: bool
) -> ColumnElement[bool]:
    """Public, or (`grouped`) for one of the bound `groups`."""
    if not grouped:
        return column.is_(None)
    return or_(column.is_(None), column.in_(bindparam("groups", expanding=True)))


def _check(queries: list[PriceQuery]) -> None:
    problems = Problems()
    for currency in dict.fromkeys(query.currency for query in queries):
        check_currency(problems, currency)
    if min(query.quantity for query in queries) < 1:
        problems.add("quantity", "At least 1.")
    problems.raise_if_any()


async def resolve_prices(
    session: AsyncSession,
    items: Iterable[PriceQuery],
    *,
    at: datetime | None = None,
    statuses: Collection[str] | None = None,
) -> dict[PriceQuery, ResolvedPrice | None]:
    """Resolve many prices at once, in at most two statements whatever their number (the
    candidate prices, then the modifiers, only when one may apply): what a listing calls for
    a page of entities.

    `at` is the moment for every item (default now); `statuses` limits the entities priced
    to those statuses (what the caller may see), None meaning all.
    """
    queries = list(dict.fromkeys(items))
    if not queries:
        return {}
    _check(queries)
    groups = {g for q in queries for g in q.customer_group_ids}
    bound: dict[str, Any] = {
        "entity_ids": list({q.entity_id for q in queries}),
        "currencies": list({q.currency for q in queries}),
        "most": max(q.quantity for q in queries),
        "at": at or utcnow(),
    }
    if groups:
        bound["groups"] = list(groups)
    if statuses is not None:
        bound["statuses"] = list(statuses)
    statement = _candidates(grouped=bool(groups), limited=statuses is not None)
    # Typed Price: rows standing in for the model, whose attribute names they carry.
    candidates: dict[tuple[uuid.UUID, str], list[Any]] = defaultdict(list)
    any_modifier = False
    for price in (await session.execute(statement, bound)).all():
        candidates[price.entity_id, price.currency].append(price)
        any_modifier = any_modifier or bool(price.modified)
    chosen = {q: _best(candidates.get((q.entity_id, q.currency), []), q) for q in queries}
    if not any(chosen.values()):
        return dict.fromkeys(queries)
    modifiers = await _modifiers(session, bound) if any_modifier else []
    return {
        q: _apply(price, modifiers, q) if price is not None else None for q, price in chosen.items()
    }


async def resolve_price(
    session: AsyncSession,
    *,
    entity_id: uuid.UUID,
    currency: str,
    variant_id: uuid.UUID | None = None,
    customer_group_ids: Iterable[uuid.UUID] = (),
    quantity: int = 1,
    at: datetime | None = None,
    statuses: Collection[str] | None = None,
) -> ResolvedPrice | None:
    """The best unit price of one entity (or variant) for these groups and this quantity."""
    query = PriceQuery(
        entity_id=entity_id,
        variant_id=variant_id,
        currency=currency,
        customer_group_ids=frozenset(customer_group_ids),
        quantity=quantity,
    )
    return (await resolve_prices(session, [query], at=at, statuses=statuses))[query]


def _best(candidates: list[Price], query: PriceQuery) -> Price | None:
    """The lowest of the variant's own eligible prices, else of the entity's; ties to a
    group price, then the higher tier, then the newest record. One pass: a listing asks
    this of every variant on the page."""
    own: Price | None = None
    shared: Price | None = None
    for price in candidates:
        if price.min_quantity > query.quantity or (
            price.customer_group_id is not None
            and price.customer_group_id not in query.customer_group_ids
        ):
            continue
        if price.variant_id is None:
            shared = _better(price, shared)
        elif price.variant_id == query.variant_id:
            own = _better(price, own)
    return own or shared


def _better(price: Price, than: Price | None) -> Price:
    return price if than is None or _rank(price) < _rank(than) else than


def _rank(price: Price) -> tuple[int, bool, int, int]:
    return (price.amount, price.customer_group_id is None, -price.min_quantity, -price.id.int)


# The statements are built once per shape and bound per call (building one and computing its
# cache key cost more than running it): `entity_ids`, `currencies`, `most` (the largest
# quantity), `at`, and `groups` and `statuses` where the shape has them.


@lru_cache(maxsize=4)
def _candidates(*, grouped: bool, limited: bool) -> Select[Any]:
    """The candidate prices of a batch, with whether some modifier may apply riding along (an
    uncorrelated EXISTS, evaluated once: without one, the modifiers' statement is not sent).
    Plain rows, not Price objects: a resolution reads prices, never writes them (a row has a
    Price's attributes by name)."""
    modified = (
        select(PriceModifier.id).where(*_modifier_conditions(grouped)).exists().label("modified")
    )
    statement = select(*columns(Price), modified).where(
        Price.entity_id.in_(bindparam("entity_ids", expanding=True)),
        Price.currency.in_(bindparam("currencies", expanding=True)),
        Price.min_quantity <= bindparam("most"),
        _in_groups(Price.customer_group_id, grouped),
        _in_window(Price),
    )
    if limited:
        statement = statement.join(CatalogEntity, CatalogEntity.id == Price.entity_id).where(
            CatalogEntity.status.in_(bindparam("statuses", expanding=True))
        )
    return statement


def _modifier_conditions(grouped: bool) -> list[ColumnElement[bool]]:
    """What an active modifier that may apply to some item of the batch matches."""
    return [
        PriceModifier.active.is_(True),
        or_(
            PriceModifier.entity_id.is_(None),
            PriceModifier.entity_id.in_(bindparam("entity_ids", expanding=True)),
        ),
        or_(
            PriceModifier.currency.is_(None),
            PriceModifier.currency.in_(bindparam("currencies", expanding=True)),
        ),
        or_(PriceModifier.min_quantity.is_(None), PriceModifier.min_quantity <= bindparam("most")),
        _in_groups(PriceModifier.customer_group_id, grouped),
        _in_window(PriceModifier),
    ]


@lru_cache(maxsize=2)
def _modifiers_statement(grouped: bool) -> Select[Any]:
    return (
        select(*columns(PriceModifier))
        .where(*_modifier_conditions(grouped))
        .order_by(PriceModifier.priority, PriceModifier.id)
    )


async def _modifiers(session: AsyncSession, bound: dict[str, Any]) -> list[PriceModifier]:
    """Every active modifier that may apply to some item of the batch, in applying order."""
    statement = _modifiers_statement("groups" in bound)
    return list[Any]((await session.execute(statement, bound)).all())


def _matches(modifier: PriceModifier, query: PriceQuery) -> bool:
    return (
        (modifier.entity_id is None or modifier.entity_id == query.entity_id)
        and (modifier.currency is None or modifier.currency == query.currency)
        and (modifier.min_quantity is None or modifier.min_quantity <= query.quantity)
        and (
            modifier.customer_group_id is None
            or modifier.customer_group_id in query.customer_group_ids
        )
    )


def discount_of(modifier: PriceModifier, amount: int) -> int:
    """What `modifier` takes off `amount`: a percentage rounded half up to the minor unit,
    never more than the amount itself."""
    if modifier.kind == "percentage":
        return min((amount * modifier.value + 50) // 100, amount)
    return min(modifier.value, amount)


def _apply(price: Price, modifiers: list[PriceModifier], query: PriceQuery) -> ResolvedPrice:
    amount = price.amount
    applied: list[AppliedModifier] = []
    for modifier in modifiers:
        if not _matches(modifier, query):
            continue
        off = discount_of(modifier, amount)
        if off > 0:
            amount -= off
            applied.append(AppliedModifier(modifier, off))
    return ResolvedPrice(
        currency=price.currency,
        base_amount=price.amount,
        amount=amount,
        price=price,
        modifiers=tuple(applied),
    )
