"""Commission rules (marketplace:admin), and which one decides a line's commission.

A rule is a percentage of the line's total (basis points: 1000 = 10 %) or a flat amount per
unit sold (minor units, in one currency: it applies to lines in that currency only), for
every vendor (`global`), the products of one category (`category`: the line's product is
in it directly; parent categories do not count), or one vendor (`vendor`). It applies from
`validFrom` (none: always has) until `validUntil` (excluded; none: never ends).

Resolution, at the moment a sub-order is delivered: among the rules that apply to the line,
the highest `priority` wins; among equal priorities the most specific scope (vendor, then
category, then global); among those the newest rule. No rule: the commission is 0. A
commission never exceeds the line's total.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.actor import Actor
from app.db import UnitOfWork
from app.errors import NotFound, ValidationFailed
from app.ids import parse_uuid
from app.models.base import utcnow
from app.models.catalog import Category
from app.models.ledger import NAME_LENGTH, RULE_KINDS, RULE_SCOPES, CommissionRule
from app.money import currency_problem
from app.pagination import Page, PageRequest, SortKey, paginate
from app.services.audit import record_change
from app.services.catalog.rules import Problems
from app.services.marketplace import ADMIN
from app.services.marketplace.vendors import require_vendor_exists

ENTITY = "commission_rule"
RULE_ORDER = (SortKey(CommissionRule.id, descending=True),)
SPECIFICITY = {"vendor": 2, "category": 1, "global": 0}
MAX_BPS = 10_000
MAX_PRIORITY = 1_000_000
MAX_FLAT = 10**12
UNSET: Any = object()


@dataclass(frozen=True, slots=True, kw_only=True)
class RuleInput:
    """A rule's fields as given; UNSET leaves a field as it is (on update). On create, UNSET
    is the default (priority 0, no validity bounds)."""

    name: Any = UNSET
    kind: Any = UNSET
    rate_bps: Any = UNSET
    amount: Any = UNSET
    currency: Any = UNSET
    scope: Any = UNSET
    category_id: Any = UNSET
    vendor_id: Any = UNSET
    priority: Any = UNSET
    valid_from: Any = UNSET
    valid_until: Any = UNSET


def _merged(rule: CommissionRule | None, given: RuleInput) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for item in fields(given):
        value = getattr(given, item.name)
        if value is UNSET:
            value = getattr(rule, item.name) if rule is not None else None
        values[item.name] = value
    if values["priority"] is None:
        values["priority"] = 0
    return values


async def _checked(session: AsyncSession, values: dict[str, Any]) -> dict[str, Any]:
    """The rule's whole state checked (VALIDATION_FAILED naming each bad field); the
    fields the kind and scope do not use are cleared."""
    problems = Problems()
    name = (values["name"] or "").strip()
    if not 1 <= len(name) <= NAME_LENGTH:
        problems.add("name", f"1 to {NAME_LENGTH} characters.")
    values["name"] = name
    kind, scope = values["kind"], values["scope"]
    if kind not in RULE_KINDS:
        problems.add("kind", f"One of {', '.join(RULE_KINDS)}.")
    if scope not in RULE_SCOPES:
        problems.add("scope", f"One of {', '.join(RULE_SCOPES)}.")
    if kind == "percentage":
        rate = values["rate_bps"]
        if rate is None or not 0 <= rate <= MAX_BPS:
            problems.add("rateBps", f"Basis points from 0 to {MAX_BPS} (100 %).")
        values["amount"] = values["currency"] = None
    elif kind == "flat":
        amount, currency = values["amount"], values["currency"]
        if amount is None or not 0 <= amount <= MAX_FLAT:
            problems.add("amount", "Minor units per unit sold, 0 or more.")
        if currency is None:
            problems.add("currency", "Required for a flat commission.")
        elif (problem := currency_problem(currency)) is not None:
            problems.add("currency", problem)
        values["rate_bps"] = None
    if not -MAX_PRIORITY <= values["priority"] <= MAX_PRIORITY:
        problems.add("priority", f"From -{MAX_PRIORITY} to {MAX_PRIORITY}.")
    start, end = values["valid_from"], values["valid_until"]
    if start is not None and end is not None and end <= start:
        problems.add("validUntil", "Must be after validFrom.")
    if scope != "category":
        values["category_id"] = None
    if scope != "vendor":
        values["vendor_id"] = None
    if scope == "category":
        values["category_id"] = await _category(session, problems, values["category_id"])
    if scope == "vendor":
        if values["vendor_id"] is None:
            problems.add("vendorId", "Required for a vendor rule.")
        else:
            problems.raise_if_any()
            values["vendor_id"] = await require_vendor_exists(
                session, str(values["vendor_id"]), "vendorId"
            )
    problems.raise_if_any()
    return values


async def _category(session: AsyncSession, problems: Problems, id: Any) -> uuid.UUID | None:
    if id is None:
        problems.add("categoryId", "Required for a category rule.")
        return None
    parsed = parse_uuid(str(id))
    found = (
        await session.scalar(select(Category.id).where(Category.id == parsed)) if parsed else None
    )
    if found is None:
        problems.add("categoryId", "No such category.")
    return found


async def create_rule(uow: UnitOfWork, actor: Actor, *, input: RuleInput) -> CommissionRule:
    actor.require(ADMIN)
    values = await _checked(uow.session, _merged(None, input))
    rule = CommissionRule(**values)
    uow.session.add(rule)
    await uow.session.flush()
    record_change(
        uow, actor, event="commissionRules.create", entity_type=ENTITY,
        entity_id=str(rule.id), after=rule.snapshot(),
    )  # fmt: skip
    return rule


async def get_rule(
    session: AsyncSession, actor: Actor, id: str, *, lock: bool = False
) -> CommissionRule:
    actor.require(ADMIN)
    parsed = parse_uuid(id)
    rule = None
    if parsed is not None:
        query = select(CommissionRule).where(CommissionRule.id == parsed)
        rule = await session.scalar(query.with_for_update() if lock else query)
    if rule is None:
        raise NotFound("Commission rule not found.")
    return rule


async def update_rule(
    uow: UnitOfWork, actor: Actor, *, id: str, input: RuleInput
) -> CommissionRule:
    """Change the given fields; the rule as a whole is checked again. Commissions already
    taken keep what they were."""
    rule = await get_rule(uow.session, actor, id, lock=True)
    values = await _checked(uow.session, _merged(rule, input))
    before = rule.snapshot()
    for name, value in values.items():
        setattr(rule, name, value)
    rule.updated_at = utcnow()
    await uow.session.flush()
    record_change(
        uow, actor, event="commissionRules.update", entity_type=ENTITY,
        entity_id=str(rule.id), before=before, after=rule.snapshot(),
    )  # fmt: skip
    return rule


async def delete_rule(uow: UnitOfWork, actor: Actor, *, id: str) -> CommissionRule:
    """Remove a rule; the commissions it decided keep its id and their amounts."""
    rule = await get_rule(uow.session, actor, id, lock=True)
    before = rule.snapshot()
    await uow.session.delete(rule)
    await uow.session.flush()
    record_change(
        uow, actor, event="commissionRules.delete", entity_type=ENTITY,
        entity_id=str(rule.id), before=before,
    )  # fmt: skip
    return rule


async def list_rules(
    session: AsyncSession,
    actor: Actor,
    *,
    page: PageRequest,
    scope: str | None = None,
    vendor_id: str | None = None,
) -> Page[CommissionRule]:
    """Newest first."""
    actor.require(ADMIN)
    statement = select(CommissionRule)
    if scope is not None:
        if scope not in RULE_SCOPES:
            raise ValidationFailed.field("scope", f"One of {', '.join(RULE_SCOPES)}.")
        statement = statement.where(CommissionRule.scope == scope)
    if vendor_id is not None:
        nothing = uuid.UUID(int=0)
        statement = statement.where(CommissionRule.vendor_id == (parse_uuid(vendor_id) or nothing))
    return await paginate(session, statement, keys=RULE_ORDER, request=page)


# --- resolution ------------------------------------------------------------------------------


def applies(
    rule: CommissionRule,
    *,
    vendor_id: uuid.UUID,
    categories: Iterable[uuid.UUID],
    currency: str,
    at: datetime,
) -> bool:
    if rule.valid_from is not None and at < rule.valid_from:
        return False
    if rule.valid_until is not None and at >= rule.valid_until:
        return False
    if rule.kind == "flat" and rule.currency != currency:
        return False
    if rule.scope == "vendor":
        return rule.vendor_id == vendor_id
    if rule.scope == "category":
        return rule.category_id in set(categories)
    return True


def resolve(
    rules: Sequence[CommissionRule],
    *,
    vendor_id: uuid.UUID,
    categories: Iterable[uuid.UUID],
    currency: str,
    at: datetime,
) -> CommissionRule | None:
    """The rule that decides a line (see the module), or None."""
    categories = set(categories)
    candidates = [
        rule
        for rule in rules
        if applies(rule, vendor_id=vendor_id, categories=categories, currency=currency, at=at)
    ]
    if not candidates:
        return None
    return max(candidates, key=lambda r: (r.priority, SPECIFICITY[r.scope], r.created_at, r.id))


def commission_of(rule: CommissionRule | None, *, basis: int, quantity: int) -> int:
    """The commission on a line of `basis` minor units: a percentage rounded half up, or the
    flat amount per unit; never more than the basis, never negative."""
    if rule is None or basis <= 0:
        return 0
    if rule.kind == "percentage":
        assert rule.rate_bps is not None
        taken = (basis * rule.rate_bps + MAX_BPS // 2) // MAX_BPS
    else:
        assert rule.amount is not None
        taken = rule.amount * quantity
    return max(0, min(taken, basis))


async def candidate_rules(session: AsyncSession, vendor_id: uuid.UUID) -> list[CommissionRule]:
    """Every rule that could apply to a vendor's lines: global, its own, and category rules
    (one statement; validity and category are decided per line by `resolve`)."""
    statement = select(CommissionRule).where(
        (CommissionRule.scope.in_(("global", "category")))
        | ((CommissionRule.scope == "vendor") & (CommissionRule.vendor_id == vendor_id))
    )
    return list(await session.scalars(statement))
