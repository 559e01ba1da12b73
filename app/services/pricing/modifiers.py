"""Price modifiers: discounts applied on top of the resolved price.

`percentage` takes `value` whole percent (1 to 100) off the price, rounded half up to the
minor unit; `fixed` takes `value` minor units of its `currency` off. Modifiers only ever
lower a price, and never below zero (surcharges are prices, not modifiers).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.actor import Actor
from app.db import UnitOfWork
from app.errors import NotFound
from app.ids import parse_uuid
from app.models.base import utcnow
from app.models.pricing import MODIFIER_KINDS, PriceModifier
from app.pagination import Page, PageRequest, SortKey, paginate
from app.services.audit import record_change
from app.services.catalog.entities import get_entity_by_id
from app.services.catalog.rules import Problems, check_name
from app.services.pricing.groups import get_customer_group
from app.services.pricing.rules import (
    MAX_AMOUNT,
    UNSET,
    check_currency,
    check_min_quantity,
    check_uuid,
    check_window,
)

MAX_PERCENT = 100
# The order modifiers apply in, and the order they are listed in.
MODIFIER_ORDER = (SortKey(PriceModifier.priority), SortKey(PriceModifier.id))


def _check_value(problems: Problems, kind: str, value: int, currency: str | None) -> None:
    if kind not in MODIFIER_KINDS:
        problems.add("kind", f"One of {', '.join(MODIFIER_KINDS)}.")
    elif kind == "percentage" and not 1 <= value <= MAX_PERCENT:
        problems.add("value", "Whole percent off, 1 to 100.")
    elif kind == "fixed":
        if not 1 <= value <= MAX_AMOUNT:
            problems.add("value", "Minor units (cents) off, at least 1.")
        if currency is None:
            problems.add("currency", "A fixed modifier needs the currency of its value.")


async def create_modifier(
    uow: UnitOfWork,
    actor: Actor,
    *,
    name: str,
    kind: str,
    value: int,
    currency: str | None = None,
    entity_id: str | None = None,
    customer_group_id: str | None = None,
    min_quantity: int | None = None,
    valid_from: datetime | None = None,
    valid_until: datetime | None = None,
    active: bool = True,
    priority: int = 0,
) -> PriceModifier:
    """A discount, scoped by entity, customer group, minimum quantity and window (each
    optional: a missing scope matches everything)."""
    problems = Problems()
    name = check_name(problems, name)
    _check_value(problems, kind, value, currency)
    check_currency(problems, currency)
    check_min_quantity(problems, min_quantity)
    check_window(problems, valid_from, valid_until)
    problems.raise_if_any()
    entity = await get_entity_by_id(uow, actor, entity_id) if entity_id else None
    group = await get_customer_group(uow.session, customer_group_id) if customer_group_id else None
    modifier = PriceModifier(
        name=name,
        kind=kind,
        value=value,
        currency=currency,
        entity_id=entity.id if entity else None,
        customer_group_id=group.id if group else None,
        min_quantity=min_quantity,
        valid_from=valid_from,
        valid_until=valid_until,
        active=active,
        priority=priority,
    )
    uow.session.add(modifier)
    await uow.session.flush()
    record_change(
        uow,
        actor,
        event="pricing.create",
        entity_type="price_modifier",
        entity_id=str(modifier.id),
        after=modifier.snapshot(),
    )
    return modifier


async def get_modifier(
    session: AsyncSession, id: str, *, for_update: bool = False
) -> PriceModifier:
    parsed = parse_uuid(id)
    found = await session.get(PriceModifier, parsed, with_for_update=for_update) if parsed else None
    if found is None:
        raise NotFound("Price modifier not found.")
    return found


async def update_modifier(
    uow: UnitOfWork,
    actor: Actor,
    *,
    id: str,
    name: str | None = None,
    value: int | None = None,
    currency: str | None = UNSET,
    min_quantity: int | None = UNSET,
    valid_from: datetime | None = UNSET,
    valid_until: datetime | None = UNSET,
    active: bool | None = None,
    priority: int | None = None,
) -> PriceModifier:
    """Change the given fields (deactivate with `active=False`); None clears a nullable
    field, UNSET leaves it. Kind and scope by entity and group stay as created."""
    problems = Problems()
    if name is not None:
        name = check_name(problems, name)
    check_currency(problems, None if currency is UNSET else currency)
    check_min_quantity(problems, None if min_quantity is UNSET else min_quantity)
    problems.raise_if_any()
    modifier = await get_modifier(uow.session, id, for_update=True)
    before = modifier.snapshot()
    merged_currency = modifier.currency if currency is UNSET else currency
    merged_value = modifier.value if value is None else value
    starts = modifier.valid_from if valid_from is UNSET else valid_from
    ends = modifier.valid_until if valid_until is UNSET else valid_until
    _check_value(problems, modifier.kind, merged_value, merged_currency)
    check_window(problems, starts, ends)
    problems.raise_if_any()
    if name is not None:
        modifier.name = name
    if active is not None:
        modifier.active = active
    if priority is not None:
        modifier.priority = priority
    if min_quantity is not UNSET:
        modifier.min_quantity = min_quantity
    modifier.value, modifier.currency = merged_value, merged_currency
    modifier.valid_from, modifier.valid_until = starts, ends
    modifier.updated_at = utcnow()
    await uow.session.flush()
    record_change(
        uow,
        actor,
        event="pricing.update",
        entity_type="price_modifier",
        entity_id=str(modifier.id),
        before=before,
        after=modifier.snapshot(),
    )
    return modifier


@dataclass(frozen=True, slots=True)
class ModifierFilter:
    entity_id: str | None = None
    customer_group_id: str | None = None
    active: bool | None = None


async def list_modifiers(
    session: AsyncSession, *, filter: ModifierFilter, page: PageRequest
) -> Page[PriceModifier]:
    """In the order they apply: ascending priority, then creation."""
    problems = Problems()
    entity = check_uuid(problems, filter.entity_id, "entityId")
    group = check_uuid(problems, filter.customer_group_id, "customerGroupId")
    problems.raise_if_any()
    statement = select(PriceModifier)
    if entity is not None:
        statement = statement.where(PriceModifier.entity_id == entity)
    if group is not None:
        statement = statement.where(PriceModifier.customer_group_id == group)
    if filter.active is not None:
        statement = statement.where(PriceModifier.active.is_(filter.active))
    return await paginate(session, statement, keys=MODIFIER_ORDER, request=page)
