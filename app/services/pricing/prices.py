"""Price records: create, update and list. Which price applies is `resolution`'s business."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.actor import Actor
from app.db import UnitOfWork
from app.errors import NotFound, ValidationFailed
from app.ids import parse_uuid
from app.models.base import utcnow
from app.models.catalog import Variant
from app.models.pricing import Price
from app.pagination import Page, PageRequest, SortKey, paginate
from app.services.audit import record_change
from app.services.catalog.entities import get_entity_by_id
from app.services.catalog.rules import Problems
from app.services.pricing.groups import get_customer_group
from app.services.pricing.rules import (
    UNSET,
    check_amount,
    check_currency,
    check_min_quantity,
    check_uuid,
    check_window,
)

PRICE_ORDER = (SortKey(Price.id),)


async def _variant_of(session: AsyncSession, entity_id: uuid.UUID, variant_id: str) -> uuid.UUID:
    parsed = parse_uuid(variant_id)
    variant = await session.get(Variant, parsed) if parsed else None
    if variant is None:
        raise NotFound("Variant not found.")
    if variant.entity_id != entity_id:
        raise ValidationFailed.field("variantId", "Not a variant of this entity.")
    return variant.id


async def create_price(
    uow: UnitOfWork,
    actor: Actor,
    *,
    entity_id: str,
    currency: str,
    amount: int,
    variant_id: str | None = None,
    customer_group_id: str | None = None,
    min_quantity: int = 1,
    valid_from: datetime | None = None,
    valid_until: datetime | None = None,
) -> Price:
    """A price of an entity, or of one of its variants, in minor units of `currency`.

    Unknown entities, variants and groups are NOT_FOUND; a variant of another entity is a
    VALIDATION_FAILED. Overlapping records are allowed: resolution picks the best.
    """
    problems = Problems()
    check_currency(problems, currency)
    check_amount(problems, amount)
    check_min_quantity(problems, min_quantity)
    check_window(problems, valid_from, valid_until)
    problems.raise_if_any()
    entity = await get_entity_by_id(uow, actor, entity_id)
    variant = await _variant_of(uow.session, entity.id, variant_id) if variant_id else None
    group = await get_customer_group(uow.session, customer_group_id) if customer_group_id else None
    price = Price(
        entity_id=entity.id,
        variant_id=variant,
        currency=currency,
        amount=amount,
        customer_group_id=group.id if group else None,
        min_quantity=min_quantity,
        valid_from=valid_from,
        valid_until=valid_until,
    )
    uow.session.add(price)
    await uow.session.flush()
    record_change(
        uow,
        actor,
        event="pricing.create",
        entity_type="price",
        entity_id=str(price.id),
        after=price.snapshot(),
    )
    return price


async def get_price(session: AsyncSession, id: str, *, for_update: bool = False) -> Price:
    parsed = parse_uuid(id)
    price = await session.get(Price, parsed, with_for_update=for_update) if parsed else None
    if price is None:
        raise NotFound("Price not found.")
    return price


async def update_price(
    uow: UnitOfWork,
    actor: Actor,
    *,
    id: str,
    currency: str | None = None,
    amount: int | None = None,
    customer_group_id: str | None = UNSET,
    min_quantity: int | None = None,
    valid_from: datetime | None = UNSET,
    valid_until: datetime | None = UNSET,
) -> Price:
    """Change the given fields; None for a group or a window end clears it, UNSET leaves it.
    The entity and variant of a price do not change: create another price instead."""
    problems = Problems()
    check_currency(problems, currency)
    if amount is not None:
        check_amount(problems, amount)
    check_min_quantity(problems, min_quantity)
    problems.raise_if_any()
    price = await get_price(uow.session, id, for_update=True)
    before = price.snapshot()
    starts = price.valid_from if valid_from is UNSET else valid_from
    ends = price.valid_until if valid_until is UNSET else valid_until
    check_window(problems, starts, ends)
    problems.raise_if_any()
    if customer_group_id is not UNSET:
        price.customer_group_id = (
            (await get_customer_group(uow.session, customer_group_id)).id
            if customer_group_id is not None
            else None
        )
    if currency is not None:
        price.currency = currency
    if amount is not None:
        price.amount = amount
    if min_quantity is not None:
        price.min_quantity = min_quantity
    price.valid_from, price.valid_until = starts, ends
    price.updated_at = utcnow()
    await uow.session.flush()
    record_change(
        uow,
        actor,
        event="pricing.update",
        entity_type="price",
        entity_id=str(price.id),
        before=before,
        after=price.snapshot(),
    )
    return price


@dataclass(frozen=True, slots=True)
class PriceFilter:
    entity_id: str | None = None
    variant_id: str | None = None
    currency: str | None = None
    customer_group_id: str | None = None


async def list_prices(
    session: AsyncSession, *, filter: PriceFilter, page: PageRequest
) -> Page[Price]:
    """Every price record (all groups, tiers and windows, expired ones too), oldest first."""
    problems = Problems()
    conditions = {
        Price.entity_id: check_uuid(problems, filter.entity_id, "entityId"),
        Price.variant_id: check_uuid(problems, filter.variant_id, "variantId"),
        Price.customer_group_id: check_uuid(problems, filter.customer_group_id, "customerGroupId"),
    }
    check_currency(problems, filter.currency)
    problems.raise_if_any()
    statement = select(Price)
    for column, value in conditions.items():
        if value is not None:
            statement = statement.where(column == value)
    if filter.currency is not None:
        statement = statement.where(Price.currency == filter.currency)
    return await paginate(session, statement, keys=PRICE_ORDER, request=page)
