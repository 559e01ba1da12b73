"""Roles: named bundles of `resource:action` permissions that signed-in users hold.

`customer` (no permissions: a customer's reach over their own records comes from the user's
customer link), `vendor` (none either: a vendor's reach over its own records will come from its
vendor link, as a customer's does) and `admin` (`*:*`) are built in. They are inserted by the
migrations, and made again on first use wherever they are missing (a database emptied by hand,
a test's). Built-in roles cannot be changed or deleted.

Staff roles are made by staff (`users:manage`) under the grant rule API keys follow: an actor
may only create, change or delete a role whose permissions it holds itself, so no one can
mint a role wider than their own reach and then give it to themselves.
"""

from __future__ import annotations

import uuid

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.models.base import utcnow
from app.models.users import Role, user_roles

CUSTOMER, VENDOR, ADMIN = "customer", "vendor", "admin"
BUILT_IN: dict[str, tuple[str, list[str]]] = {
    CUSTOMER: ("A shopper: their own profile, addresses, carts and orders.", []),
    VENDOR: ("A marketplace seller: their own vendor records (scoped by vendor id).", []),
    ADMIN: ("Staff with every permission.", ["*:*"]),
}


async def role_named(session: AsyncSession, name: str) -> Role | None:
    """The role called `name`; a built-in one is made when missing."""
    role = await session.scalar(select(Role).where(Role.name == name))
    if role is None and name in BUILT_IN:
        description, permissions = BUILT_IN[name]
        now = utcnow()
        role = Role(
            name=name,
            description=description,
            permissions=permissions,
            built_in=True,
            created_at=now,
            updated_at=now,
        )
        async with session.begin_nested():
            session.add(role)
        await session.flush()
    return role


async def grant_roles(session: AsyncSession, user_id: uuid.UUID, names: list[str]) -> None:
    """Give a user the named roles (which must exist, built-in ones are made)."""
    for name in names:
        role = await role_named(session, name)
        if role is None:
            raise LookupError(name)
        held = await session.scalar(
            select(user_roles.c.role_id).where(
                user_roles.c.user_id == user_id, user_roles.c.role_id == role.id
            )
        )
        if held is None:
            await session.execute(insert(user_roles).values(user_id=user_id, role_id=role.id))
