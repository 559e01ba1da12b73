"""Customers: create, read, update and list the customer record, and `require_customer`,
the check every service that names a customer (carts, group membership, checkout) makes.

E-mail addresses are stored trimmed and lower-case, so uniqueness ignores case.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.actor import Actor
from app.db import UnitOfWork
from app.errors import Conflict, NotFound
from app.ids import parse_uuid
from app.models.base import utcnow
from app.models.customers import EMAIL_LENGTH, NAME_LENGTH, PHONE_LENGTH, Customer
from app.models.pricing import CustomerGroup, customer_group_members
from app.pagination import Page, PageRequest, SortKey, paginate
from app.services.audit import record_change
from app.services.catalog.rules import Problems, check_metadata
from app.services.pricing.rules import UNSET
from app.text import like_escaped

# One @, no spaces, a dot in the domain: the shape, not deliverability (that takes a mail).
EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s.]+(?:\.[^@\s.]+)+$")
PHONE = re.compile(r"^\+?[0-9 ()./-]+$")
MIN_PHONE_DIGITS = 3
CUSTOMER_ORDER = (SortKey(Customer.id),)


def normalize_email(value: str) -> str:
    return value.strip().lower()


def check_email(problems: Problems, value: str, field: str = "email") -> str:
    email = normalize_email(value)
    if len(email) > EMAIL_LENGTH:
        problems.add(field, f"At most {EMAIL_LENGTH} characters.")
    elif not EMAIL.match(email):
        problems.add(field, "An e-mail address, e.g. jane@example.com.")
    return email


def _check_name(problems: Problems, value: str | None, field: str) -> str | None:
    """Trimmed; blank is null."""
    value = value.strip() if value is not None else None
    if value and len(value) > NAME_LENGTH:
        problems.add(field, f"At most {NAME_LENGTH} characters.")
    return value or None


def _check_phone(problems: Problems, value: str | None) -> str | None:
    """Trimmed; blank is null. Digits with the usual separators, an optional leading +."""
    value = value.strip() if value is not None else None
    if not value:
        return None
    digits = sum(c.isdigit() for c in value)
    if len(value) > PHONE_LENGTH or not PHONE.match(value) or digits < MIN_PHONE_DIGITS:
        problems.add("phone", f"Digits, spaces and + ( ) - . /, at most {PHONE_LENGTH}.")
    return value


def _email_in_use(email: str) -> Conflict:
    return Conflict(f"The e-mail address {email} is in use.", details={"email": "Already in use."})


async def _refuse_email_in_use(session: AsyncSession, email: str, *, but: uuid.UUID | None) -> None:
    found = await session.scalar(select(Customer.id).where(Customer.email == email))
    if found is not None and found != but:
        raise _email_in_use(email)


async def get_customer(
    session: AsyncSession, id: str | uuid.UUID, *, for_update: bool = False
) -> Customer:
    """NOT_FOUND when no customer has this id (or it is not a UUID)."""
    parsed = id if isinstance(id, uuid.UUID) else parse_uuid(id)
    customer = await session.get(Customer, parsed, with_for_update=for_update) if parsed else None
    if customer is None:
        raise NotFound("Customer not found.")
    return customer


async def require_customer(session: AsyncSession, customer_id: str) -> Customer:
    """The customer a command names by `customerId` (a cart's, a membership's, a checkout's):
    NOT_FOUND naming the field when there is none. Store `str(customer.id)`, the canonical
    spelling, rather than what the caller wrote."""
    try:
        return await get_customer(session, customer_id)
    except NotFound:
        raise NotFound("Customer not found.", details={"customerId": "Unknown."}) from None


async def create_customer(
    uow: UnitOfWork,
    actor: Actor,
    *,
    email: str,
    first_name: str | None = None,
    last_name: str | None = None,
    phone: str | None = None,
    metadata: object | None = None,
) -> Customer:
    """A customer record; an e-mail address in use (in any case) is a CONFLICT."""
    problems = Problems()
    email = check_email(problems, email)
    first_name = _check_name(problems, first_name, "firstName")
    last_name = _check_name(problems, last_name, "lastName")
    phone = _check_phone(problems, phone)
    meta = check_metadata(problems, metadata if metadata is not None else {})
    problems.raise_if_any()
    await _refuse_email_in_use(uow.session, email, but=None)
    customer = Customer(
        email=email, first_name=first_name, last_name=last_name, phone=phone, meta=meta
    )
    uow.session.add(customer)
    try:
        await uow.session.flush()
    except IntegrityError:  # a concurrent create took the address after our check
        raise _email_in_use(email) from None
    record_change(
        uow,
        actor,
        event="customers.create",
        entity_type="customer",
        entity_id=str(customer.id),
        after=customer.snapshot(),
    )
    return customer


async def update_customer(
    uow: UnitOfWork,
    actor: Actor,
    *,
    id: str,
    email: str = UNSET,
    first_name: str | None = UNSET,
    last_name: str | None = UNSET,
    phone: str | None = UNSET,
    metadata: object = UNSET,
) -> Customer:
    """Change the given fields (UNSET leaves one as it is; None clears a name or the phone).
    Moving to an e-mail address another customer has is a CONFLICT."""
    problems = Problems()
    changes: dict[str, Any] = {}
    if email is not UNSET:
        changes["email"] = check_email(problems, email)
    if first_name is not UNSET:
        changes["first_name"] = _check_name(problems, first_name, "firstName")
    if last_name is not UNSET:
        changes["last_name"] = _check_name(problems, last_name, "lastName")
    if phone is not UNSET:
        changes["phone"] = _check_phone(problems, phone)
    if metadata is not UNSET:
        changes["meta"] = check_metadata(problems, metadata)
    problems.raise_if_any()
    customer = await get_customer(uow.session, id, for_update=True)
    if "email" in changes:
        await _refuse_email_in_use(uow.session, changes["email"], but=customer.id)
    before = customer.snapshot()
    for name, value in changes.items():
        setattr(customer, name, value)
    customer.updated_at = utcnow()
    try:
        await uow.session.flush()
    except IntegrityError:
        if "email" not in changes:
            raise
        raise _email_in_use(changes["email"]) from None
    record_change(
        uow,
        actor,
        event="customers.update",
        entity_type="customer",
        entity_id=str(customer.id),
        before=before,
        after=customer.snapshot(),
    )
    return customer


@dataclass(frozen=True, slots=True)
class CustomerFilter:
    email: str | None = None
    email_contains: str | None = None


async def list_customers(
    session: AsyncSession, *, filter: CustomerFilter, page: PageRequest, with_total: bool = True
) -> Page[Customer]:
    """Oldest first. `email` matches the whole address, `email_contains` a part of it; both
    ignore case."""
    statement = select(Customer)
    if filter.email is not None:
        statement = statement.where(Customer.email == normalize_email(filter.email))
    if filter.email_contains:
        needle = like_escaped(normalize_email(filter.email_contains))
        statement = statement.where(Customer.email.like(f"%{needle}%", escape="\\"))
    return await paginate(
        session, statement, keys=CUSTOMER_ORDER, request=page, with_total=with_total
    )


async def groups_of(
    session: AsyncSession, customer_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, list[CustomerGroup]]:
    """Each customer's groups by name, for a whole page of customers in one statement."""
    found: dict[uuid.UUID, list[CustomerGroup]] = {id: [] for id in customer_ids}
    if not customer_ids:
        return found
    by_key = {str(id): id for id in customer_ids}
    member = customer_group_members.c.customer_id
    rows = await session.execute(
        select(member, CustomerGroup)
        .join(CustomerGroup, CustomerGroup.id == customer_group_members.c.customer_group_id)
        .where(member.in_(by_key))
        .order_by(CustomerGroup.name, CustomerGroup.id)
    )
    for customer_id, group in rows:
        found[by_key[customer_id]].append(group)
    return found
