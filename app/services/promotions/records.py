"""Promotion records: create, change, deactivate, find and list."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.actor import Actor
from app.db import UnitOfWork
from app.errors import Conflict, NotFound
from app.ids import parse_uuid
from app.models.base import utcnow
from app.models.promotions import Promotion
from app.pagination import Page, PageRequest, SortKey, paginate
from app.services.audit import record_change
from app.services.catalog.rules import Problems
from app.services.promotions.rules import (
    PromotionSpec,
    canonical_ids,
    check_code,
    check_spec,
    normalize_code,
    stored_value,
)

PROMOTION_ORDER = (SortKey(Promotion.id),)
# What PATCH may change; code, type and currency stay as created.
UPDATABLE = frozenset(
    {
        "name",
        "value",
        "valid_from",
        "valid_until",
        "usage_limit",
        "per_customer_limit",
        "min_subtotal",
        "customer_group_ids",
        "entity_ids",
        "category_ids",
        "buy_quantity",
        "get_quantity",
        "stackable",
        "active",
    }
)


def _code_in_use(code: str) -> Conflict:
    return Conflict(f"The promotion code {code} is in use.", details={"code": "Already in use."})


def _audit(
    uow: UnitOfWork, actor: Actor, event: str, row: Promotion, before: dict[str, Any] | None
) -> None:
    record_change(
        uow,
        actor,
        event=event,
        entity_type="promotion",
        entity_id=str(row.id),
        before=before,
        after=row.snapshot(),
    )


async def create_promotion(
    uow: UnitOfWork, actor: Actor, *, code: str, spec: PromotionSpec
) -> Promotion:
    """A promotion; its code is stored upper-case and a code in use (any case) is a CONFLICT.

    Rules by type: percentage types take `value` 1 to 100; fixed_amount_off_order takes
    minor units and needs `currency`; buy_x_get_y needs buy/get quantities (`value`, the
    percent off the free units, defaults to 100); percentage_off_items needs entity or
    category ids. A minimum subtotal is in `currency`, which it therefore needs.
    """
    problems = Problems()
    code = check_code(problems, code)
    check_spec(problems, spec)
    problems.raise_if_any()
    await canonical_ids(uow.session, spec)
    if await uow.session.scalar(select(Promotion.id).where(Promotion.code == code)):
        raise _code_in_use(code)
    fields = {name: getattr(spec, name) for name in PromotionSpec.__dataclass_fields__}
    row = Promotion(code=code, **{**fields, "value": stored_value(spec)})
    uow.session.add(row)
    try:
        await uow.session.flush()
    except IntegrityError:
        raise _code_in_use(code) from None
    _audit(uow, actor, "promotions.create", row, None)
    return row


async def get_promotion(
    session: AsyncSession, id_or_code: str, *, for_update: bool = False
) -> Promotion:
    """By UUID or by code (any case)."""
    parsed = parse_uuid(id_or_code)
    condition = (
        or_(Promotion.id == parsed, Promotion.code == normalize_code(id_or_code))
        if parsed
        else Promotion.code == normalize_code(id_or_code)
    )
    statement = select(Promotion).where(condition)
    if for_update:
        statement = statement.with_for_update()
    row = await session.scalar(statement)
    if row is None:
        raise NotFound("Promotion not found.")
    return row


async def update_promotion(
    uow: UnitOfWork, actor: Actor, *, id: str, changes: dict[str, Any]
) -> Promotion:
    """Change the given fields (None clears a nullable one); the whole promotion is checked
    again as if it were created so, e.g., a buy_x_get_y keeps its quantities."""
    unknown = set(changes) - UPDATABLE
    if unknown:
        raise ValueError(f"not updatable: {sorted(unknown)}")
    row = await _by_id(uow.session, id)
    before = row.snapshot()
    spec = PromotionSpec.of(row)
    for name, value in changes.items():
        setattr(spec, name, value)
    problems = Problems()
    check_spec(problems, spec)
    problems.raise_if_any()
    await canonical_ids(uow.session, spec)
    for name in changes:
        setattr(row, name, getattr(spec, name))
    row.value = stored_value(spec)
    row.updated_at = utcnow()
    await uow.session.flush()
    _audit(uow, actor, "promotions.update", row, before)
    return row


async def deactivate_promotion(uow: UnitOfWork, actor: Actor, *, id: str) -> Promotion:
    """Stop the code from validating; deactivating an inactive promotion changes nothing but
    is still answered with it (and audited, as the documented event says)."""
    row = await _by_id(uow.session, id)
    before = row.snapshot()
    row.active = False
    row.updated_at = utcnow()
    await uow.session.flush()
    _audit(uow, actor, "promotions.update", row, before)
    return row


async def _by_id(session: AsyncSession, id: str) -> Promotion:
    parsed = parse_uuid(id)
    row = await session.get(Promotion, parsed, with_for_update=True) if parsed else None
    if row is None:
        raise NotFound("Promotion not found.")
    return row


async def list_promotions(
    session: AsyncSession, *, active_only: bool, page: PageRequest, at: datetime | None = None
) -> Page[Promotion]:
    """In creation order. `active_only`: active and inside their window at `at` (now)."""
    statement = select(Promotion)
    if active_only:
        moment = at or utcnow()
        statement = statement.where(
            Promotion.active.is_(True),
            or_(Promotion.valid_from.is_(None), Promotion.valid_from <= moment),
            or_(Promotion.valid_until.is_(None), Promotion.valid_until > moment),
        )
    return await paginate(session, statement, keys=PROMOTION_ORDER, request=page)
