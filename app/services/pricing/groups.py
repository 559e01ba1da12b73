"""Customer groups: create, list, membership, and which groups a price resolution may use."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import Any

from sqlalchemy import delete, exists, func, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.actor import Actor
from app.db import UnitOfWork
from app.errors import Conflict, NotFound, ValidationFailed
from app.ids import parse_uuid
from app.models.pricing import CustomerGroup, customer_group_members
from app.pagination import Page, PageRequest, SortKey, paginate
from app.services.audit import record_change
from app.services.catalog.rules import Problems, check_name, check_text
from app.services.customers import require_customer

# Reading group prices (and asking for a price as a given group) is staff work: the same
# permission the documented GET /pricing/prices needs.
READ_GROUP_PRICES = "pricing:update"


async def get_customer_group(
    session: AsyncSession, id: str | uuid.UUID, *, for_update: bool = False
) -> CustomerGroup:
    parsed = id if isinstance(id, uuid.UUID) else parse_uuid(id)
    group = await session.get(CustomerGroup, parsed, with_for_update=for_update) if parsed else None
    if group is None:
        raise NotFound("Customer group not found.")
    return group


def _name_in_use(name: str) -> Conflict:
    return Conflict(
        f"The customer group name {name} is in use.", details={"name": "Already in use."}
    )


async def create_customer_group(
    uow: UnitOfWork, actor: Actor, *, name: str, description: str | None = None
) -> CustomerGroup:
    """A named group; a name in use is a CONFLICT."""
    problems = Problems()
    name = check_name(problems, name, limit=100)
    check_text(problems, description, "description", limit=10_000)
    problems.raise_if_any()
    if await uow.session.scalar(select(CustomerGroup.id).where(CustomerGroup.name == name)):
        raise _name_in_use(name)
    group = CustomerGroup(name=name, description=description)
    uow.session.add(group)
    try:
        await uow.session.flush()
    except IntegrityError:
        raise _name_in_use(name) from None
    record_change(
        uow,
        actor,
        event="pricing.create",
        entity_type="customer_group",
        entity_id=str(group.id),
        after=group.snapshot(),
    )
    return group


async def list_customer_groups(
    session: AsyncSession, *, customer_id: str | None = None, page: PageRequest
) -> Page[CustomerGroup]:
    """By name; `customer_id` narrows to the groups that customer belongs to."""
    statement = select(CustomerGroup)
    if customer_id is not None:
        statement = statement.where(
            exists().where(
                customer_group_members.c.customer_group_id == CustomerGroup.id,
                customer_group_members.c.customer_id == canonical_customer_id(customer_id),
            )
        )
    keys = (SortKey(CustomerGroup.name), SortKey(CustomerGroup.id))
    return await paginate(session, statement, keys=keys, request=page)


async def list_group_members(
    session: AsyncSession, *, customer_group_id: str, page: PageRequest
) -> Page[Any]:
    """The group's members by customer id: rows of (customer_group_id, customer_id,
    created_at)."""
    group = await get_customer_group(session, customer_group_id)
    statement = select(customer_group_members).where(
        customer_group_members.c.customer_group_id == group.id
    )
    keys = (SortKey(customer_group_members.c.customer_id),)
    return await paginate(session, statement, keys=keys, request=page)


async def set_membership(
    uow: UnitOfWork, actor: Actor, *, customer_group_id: str, customer_id: str, member: bool
) -> CustomerGroup:
    """Add a customer to (or remove one from) a group.

    Only an existing customer can be added (NOT_FOUND naming customerId otherwise); a
    membership of an unknown id, made before customers were checked, can still be removed.
    Adding twice changes nothing and records nothing; removing a customer who is not a
    member is NOT_FOUND. Each change is a `pricing.update` of the group.
    """
    problems = Problems()
    customer_id = check_name(problems, customer_id, "customerId", limit=64)
    problems.raise_if_any()
    group = await get_customer_group(uow.session, customer_group_id, for_update=True)
    if member:
        customer_id = str((await require_customer(uow.session, customer_id)).id)
    else:
        customer_id = canonical_customer_id(customer_id)
    table = customer_group_members
    condition = (table.c.customer_group_id == group.id) & (table.c.customer_id == customer_id)
    present = await uow.session.scalar(select(func.count()).select_from(table).where(condition))
    if member and present:
        return group
    if not member and not present:
        raise NotFound("The customer is not in this group.")
    if member:
        await uow.session.execute(
            insert(table).values(customer_group_id=group.id, customer_id=customer_id)
        )
    else:
        await uow.session.execute(delete(table).where(condition))
    change = {"customerId": customer_id}
    record_change(
        uow,
        actor,
        event="pricing.update",
        entity_type="customer_group",
        entity_id=str(group.id),
        before={"member": None if member else change},
        after={"member": change if member else None},
    )
    return group


async def add_customer_to_group(
    uow: UnitOfWork, actor: Actor, *, customer_group_id: str, customer_id: str
) -> CustomerGroup:
    return await set_membership(
        uow, actor, customer_group_id=customer_group_id, customer_id=customer_id, member=True
    )


async def remove_customer_from_group(
    uow: UnitOfWork, actor: Actor, *, customer_group_id: str, customer_id: str
) -> CustomerGroup:
    return await set_membership(
        uow, actor, customer_group_id=customer_group_id, customer_id=customer_id, member=False
    )


def canonical_customer_id(customer_id: str) -> str:
    """Memberships name customers by `str(uuid)`; any other spelling of the same UUID (upper
    case, no hyphens) finds them too. Ids that are not UUIDs are kept as written."""
    parsed = parse_uuid(customer_id)
    return str(parsed) if parsed is not None else customer_id


async def customer_group_ids(session: AsyncSession, customer_id: str) -> frozenset[uuid.UUID]:
    """The groups a customer belongs to: what carts and checkout resolve prices with. The
    one place a customer's group ids are read (checkout: after `require_customer`)."""
    rows = await session.scalars(
        select(customer_group_members.c.customer_group_id).where(
            customer_group_members.c.customer_id == canonical_customer_id(customer_id)
        )
    )
    return frozenset(rows.all())


async def groups_for(
    session: AsyncSession, actor: Actor, requested: Iterable[str] | None
) -> frozenset[uuid.UUID]:
    """The customer groups a price resolution for `actor` may use.

    Group prices are not public: naming groups explicitly (staff quoting for a customer)
    needs `pricing:update`. Otherwise a signed-in customer gets the groups they belong to,
    and everyone else the public prices only.
    """
    if requested is not None:
        parsed = [parse_uuid(value) for value in requested]
        if parsed:  # none at all asks for the public prices, which anyone may see
            actor.require(READ_GROUP_PRICES)
        if any(value is None for value in parsed):
            raise ValidationFailed.field("customerGroupIds", "Each must be an id (UUID).")
        return frozenset(value for value in parsed if value is not None)
    if actor.customer_id is not None:
        return await customer_group_ids(session, actor.customer_id)
    return frozenset()
