"""Promotion validation rules: one check of the whole definition, for create and update."""

from __future__ import annotations

import dataclasses
import re
import uuid
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.ids import parse_uuid
from app.models.catalog import CatalogEntity, Category
from app.models.pricing import CustomerGroup
from app.models.promotions import PROMOTION_TYPES, Promotion
from app.services.catalog.rules import Problems, check_name
from app.services.pricing.rules import MAX_AMOUNT, check_currency, check_window

# Codes are matched case-insensitively and stored upper-case.
CODE = re.compile(r"^[A-Z0-9][A-Z0-9_-]{2,49}$")
CODE_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_-]{2,49}$"
PERCENT_TYPES = ("percentage_off_order", "percentage_off_items")
ITEM_SCOPED_TYPES = ("percentage_off_items", "buy_x_get_y")
MAX_IDS = 500


def normalize_code(code: str) -> str:
    return code.strip().upper()


@dataclass(slots=True, kw_only=True)
class PromotionSpec:
    """Every field of a promotion a caller sets, as the caller names them."""

    name: str
    type: str
    value: int | None = None
    currency: str | None = None
    valid_from: datetime | None = None
    valid_until: datetime | None = None
    usage_limit: int | None = None
    per_customer_limit: int | None = None
    min_subtotal: int | None = None
    customer_group_ids: list[str] = field(default_factory=list)
    entity_ids: list[str] = field(default_factory=list)
    category_ids: list[str] = field(default_factory=list)
    buy_quantity: int | None = None
    get_quantity: int | None = None
    stackable: bool = False
    active: bool = True

    @classmethod
    def of(cls, row: Promotion) -> PromotionSpec:
        names = [f.name for f in dataclasses.fields(cls)]
        return cls(**{name: getattr(row, name) for name in names})


def check_code(problems: Problems, code: str) -> str:
    normalized = normalize_code(code)
    if not CODE.match(normalized):
        problems.add("code", "3 to 50 letters, digits, hyphens or underscores, e.g. SAVE10.")
    return normalized


def _check_value(problems: Problems, spec: PromotionSpec) -> None:
    value = spec.value
    if spec.type in PERCENT_TYPES:
        if value is None or not 1 <= value <= 100:
            problems.add("value", "Whole percent off, 1 to 100.")
    elif spec.type == "fixed_amount_off_order":
        if value is None or not 1 <= value <= MAX_AMOUNT:
            problems.add("value", "Minor units (cents) off, at least 1.")
        if spec.currency is None:
            problems.add("currency", "A fixed amount needs the currency of its value.")
    elif spec.type == "buy_x_get_y":
        if value is not None and not 1 <= value <= 100:
            problems.add("value", "Percent off the free units, 1 to 100 (default 100: free).")
    elif spec.type == "free_shipping" and value not in (None, 0):
        problems.add("value", "Free shipping takes no value.")


def _check_counts(problems: Problems, spec: PromotionSpec) -> None:
    for name, value in (
        ("usageLimit", spec.usage_limit),
        ("perCustomerLimit", spec.per_customer_limit),
    ):
        if value is not None and value < 1:
            problems.add(name, "At least 1; null for no limit.")
    if spec.min_subtotal is not None:
        if not 0 <= spec.min_subtotal <= MAX_AMOUNT:
            problems.add("minSubtotal", "Minor units (cents): a whole number, 0 or more.")
        elif spec.currency is None:
            problems.add("currency", "A minimum subtotal needs the currency it is in.")
    if spec.type == "buy_x_get_y":
        for name, value in (("buyQuantity", spec.buy_quantity), ("getQuantity", spec.get_quantity)):
            if value is None or not 1 <= value <= 1000:
                problems.add(name, "Buy X get Y needs this: 1 to 1000 units.")
    else:
        for name, value in (("buyQuantity", spec.buy_quantity), ("getQuantity", spec.get_quantity)):
            if value is not None:
                problems.add(name, "Only for buy_x_get_y.")


def _check_scope(problems: Problems, spec: PromotionSpec) -> None:
    if spec.type == "percentage_off_items" and not (spec.entity_ids or spec.category_ids):
        problems.add("entityIds", "percentage_off_items needs entityIds or categoryIds.")
    if spec.type not in ITEM_SCOPED_TYPES:
        for name, ids in (("entityIds", spec.entity_ids), ("categoryIds", spec.category_ids)):
            if ids:
                problems.add(name, "Only for percentage_off_items and buy_x_get_y.")


def check_spec(problems: Problems, spec: PromotionSpec) -> None:
    spec.name = check_name(problems, spec.name)
    if spec.type not in PROMOTION_TYPES:
        problems.add("type", f"One of {', '.join(PROMOTION_TYPES)}.")
        return
    check_currency(problems, spec.currency)
    _check_value(problems, spec)
    _check_counts(problems, spec)
    _check_scope(problems, spec)
    check_window(problems, spec.valid_from, spec.valid_until)


def stored_value(spec: PromotionSpec) -> int:
    """What `value` stores: buy_x_get_y defaults to 100 (free), free shipping has none."""
    if spec.type == "buy_x_get_y" and spec.value is None:
        return 100
    return spec.value or 0


def _parse_ids(problems: Problems, values: list[str], name: str) -> list[uuid.UUID]:
    if len(values) > MAX_IDS:
        problems.add(name, f"At most {MAX_IDS}.")
    parsed = [parse_uuid(v) for v in values]
    if any(p is None for p in parsed):
        problems.add(name, "Each must be an id (UUID).")
    return list(dict.fromkeys(p for p in parsed if p is not None))


async def canonical_ids(session: AsyncSession, spec: PromotionSpec) -> None:
    """Check the named groups, entities and categories exist (one statement each) and store
    them as canonical UUID strings; unknown ones are a VALIDATION_FAILED naming the field."""
    problems = Problems()
    targets = (
        ("customerGroupIds", "customer_group_ids", CustomerGroup.id),
        ("entityIds", "entity_ids", CatalogEntity.id),
        ("categoryIds", "category_ids", Category.id),
    )
    parsed = {attr: _parse_ids(problems, getattr(spec, attr), name) for name, attr, _ in targets}
    problems.raise_if_any()
    for name, attr, column in targets:
        ids = parsed[attr]
        if ids:
            found = set((await session.scalars(select(column).where(column.in_(ids)))).all())
            if len(found) != len(ids):
                problems.add(
                    name, "Unknown id: " + ", ".join(str(i) for i in ids if i not in found)
                )
        setattr(spec, attr, [str(i) for i in ids])
    problems.raise_if_any()
