"""A customer's saved postal addresses: list, add, delete (`/me/addresses`).

Only the customer themself reaches their addresses: every function takes the customer id the
caller's session owns (`app.services.me.customer_of`), and another customer's address is
NOT_FOUND, exactly as one that does not exist. Setting an address as the default for shipping
(or billing) takes the flag from the customer's other addresses, so there is at most one.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.actor import Actor
from app.countries import COUNTRIES
from app.db import UnitOfWork
from app.errors import NotFound, ValidationFailed
from app.ids import parse_uuid
from app.models.customers import (
    ADDRESS_LINE_LENGTH,
    CITY_LENGTH,
    COMPANY_LENGTH,
    NAME_LENGTH,
    PHONE_LENGTH,
    POSTAL_CODE_LENGTH,
    STATE_LENGTH,
    Address,
)
from app.pagination import Page, PageRequest, SortKey, paginate
from app.services.audit import record_change
from app.services.catalog.rules import Problems

MAX_ADDRESSES = 50
ADDRESS_ORDER = (SortKey(Address.id),)
# (field as sent, column, longest, required)
TEXT_FIELDS = (
    ("firstName", "first_name", NAME_LENGTH, False),
    ("lastName", "last_name", NAME_LENGTH, False),
    ("company", "company", COMPANY_LENGTH, False),
    ("line1", "line1", ADDRESS_LINE_LENGTH, True),
    ("line2", "line2", ADDRESS_LINE_LENGTH, False),
    ("city", "city", CITY_LENGTH, True),
    ("state", "state", STATE_LENGTH, False),
    ("postalCode", "postal_code", POSTAL_CODE_LENGTH, False),
    ("phone", "phone", PHONE_LENGTH, False),
)


@dataclass(frozen=True, slots=True, kw_only=True)
class NewAddress:
    line1: str
    city: str
    country: str
    first_name: str | None = None
    last_name: str | None = None
    company: str | None = None
    line2: str | None = None
    state: str | None = None
    postal_code: str | None = None
    phone: str | None = None
    default_shipping: bool = False
    default_billing: bool = False


def _text(problems: Problems, field: str, value: str | None, longest: int, required: bool) -> str:
    """Trimmed; blank is missing. No control characters (a NUL in a label is never meant)."""
    value = (value or "").strip()
    if required and not value:
        problems.add(field, "Required.")
    elif len(value) > longest:
        problems.add(field, f"At most {longest} characters.")
    elif any(ord(c) < 32 or ord(c) == 127 for c in value):
        problems.add(field, "No control characters.")
    return value


def check_country(problems: Problems, value: str, field: str = "country") -> str:
    code = value.strip().upper()
    if code not in COUNTRIES:
        problems.add(field, "An ISO 3166-1 alpha-2 country code, e.g. US or DE.")
    return code


def _checked(new: NewAddress) -> dict[str, object]:
    problems = Problems()
    values: dict[str, object] = {}
    for field, column, longest, required in TEXT_FIELDS:
        values[column] = _text(problems, field, getattr(new, column), longest, required) or None
    values["country"] = check_country(problems, new.country)
    problems.raise_if_any()
    return values


async def list_addresses(
    session: AsyncSession, customer_id: uuid.UUID, *, page: PageRequest
) -> Page[Address]:
    """The customer's addresses, oldest first."""
    statement = select(Address).where(Address.customer_id == customer_id)
    return await paginate(session, statement, keys=ADDRESS_ORDER, request=page)


async def add_address(
    uow: UnitOfWork, actor: Actor, customer_id: uuid.UUID, new: NewAddress
) -> Address:
    """Save an address for the customer (at most 50); a default flag moves to it."""
    values = _checked(new)
    count = await uow.session.scalar(
        select(func.count()).select_from(Address).where(Address.customer_id == customer_id)
    )
    if (count or 0) >= MAX_ADDRESSES:
        raise ValidationFailed.field(
            "addresses", f"At most {MAX_ADDRESSES} addresses; delete one first."
        )
    for flag, given in (("default_shipping", new.default_shipping),
                        ("default_billing", new.default_billing)):  # fmt: skip
        if given:
            await uow.session.execute(
                update(Address)
                .where(Address.customer_id == customer_id, getattr(Address, flag).is_(True))
                .values({flag: False})
            )
    address = Address(
        customer_id=customer_id,
        default_shipping=new.default_shipping,
        default_billing=new.default_billing,
        **values,
    )
    uow.session.add(address)
    await uow.session.flush()
    record_change(
        uow,
        actor,
        event="customers.update",
        entity_type="address",
        entity_id=str(address.id),
        after=address.snapshot(),
        reason="address added",
    )
    return address


async def delete_address(
    uow: UnitOfWork, actor: Actor, customer_id: uuid.UUID, address_id: str
) -> Address:
    """Delete one of the customer's addresses; anyone else's (or none) is NOT_FOUND."""
    parsed = parse_uuid(address_id)
    address = await uow.session.get(Address, parsed) if parsed else None
    if address is None or address.customer_id != customer_id:
        raise NotFound("Address not found.")
    before = address.snapshot()
    await uow.session.delete(address)
    await uow.session.flush()
    record_change(
        uow,
        actor,
        event="customers.update",
        entity_type="address",
        entity_id=str(address.id),
        before=before,
        after=None,
        reason="address deleted",
    )
    return address
