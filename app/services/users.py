"""Users, staff side: list and read users, create staff, set a user's roles and status, and
manage the roles themselves (`users:read` to read, `users:manage` to write).

The grant rule is the API keys' own: an actor may only grant what it holds. Giving a user
roles, or creating, changing or deleting a role, needs every permission those roles carry;
changing a user (roles, status) needs every permission the user holds now, so a key with
`users:manage` alone cannot demote or lock out an admin. Built-in roles (customer, vendor,
admin) cannot be changed or deleted (CONFLICT).

Staff are created without a password: the person sets one through the password-reset flow,
or an operator sets one at the command line (`cartograph user set-password`).
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sqlalchemy import delete, func, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.actor import Actor
from app.auth.passwords import hash_password, password_problem
from app.auth.permissions import grants_all, is_valid_permission
from app.db import UnitOfWork
from app.errors import Conflict, Forbidden, NotFound, ValidationFailed
from app.ids import parse_uuid
from app.models.base import utcnow
from app.models.customers import Customer
from app.models.users import ROLE_NAME_LENGTH, USER_STATUSES, Role, User, user_roles
from app.pagination import Page, PageRequest, SortKey, paginate
from app.services.audit import record_change
from app.services.catalog.rules import Problems
from app.services.customers import check_email, normalize_email
from app.services.roles import BUILT_IN, CUSTOMER, role_named
from app.services.sessions import end_sessions_of

USER_ORDER = (SortKey(User.id),)
ROLE_ORDER = (SortKey(Role.name),)
ROLE_NAME = re.compile(r"[a-z][a-z0-9_-]*")
NAME_LENGTH = 100
DESCRIPTION_LENGTH = 500
MAX_PERMISSIONS = 100
MAX_ROLES = 20
USERNAME_LENGTH = 64
# update_role's "leave the description as it is" (None clears it).
UNCHANGED = object()


# ---- reading ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class UserFilter:
    status: str | None = None
    email: str | None = None
    role: str | None = None


async def list_users(
    session: AsyncSession, *, filter: UserFilter, page: PageRequest, with_total: bool = True
) -> Page[User]:
    """Oldest first; filters given together all apply (`email` exact, in any case; `role` a
    role's name)."""
    statement = select(User)
    # Values no user could match are refused alike on every database (PostgreSQL would refuse
    # a NUL in text; SQLite would answer an empty page).
    if filter.email is not None and ("\x00" in filter.email or len(filter.email) > 254):
        raise ValidationFailed.field("email", "Not an e-mail address.")
    if filter.role is not None and not _is_role_name(filter.role):
        raise ValidationFailed.field("role", "Not a role name.")
    if filter.status is not None:
        if filter.status not in USER_STATUSES:
            raise ValidationFailed.field("status", "Must be active or inactive.")
        statement = statement.where(User.status == filter.status)
    if filter.email is not None:
        statement = statement.where(User.email == normalize_email(filter.email))
    if filter.role is not None:
        held = (
            select(user_roles.c.user_id)
            .join(Role, Role.id == user_roles.c.role_id)
            .where(Role.name == filter.role)
        )
        statement = statement.where(User.id.in_(held))
    return await paginate(session, statement, keys=USER_ORDER, request=page, with_total=with_total)


async def get_user(session: AsyncSession, id: str | uuid.UUID, *, lock: bool = False) -> User:
    """NOT_FOUND when no user has this id (or it is not a UUID)."""
    parsed = id if isinstance(id, uuid.UUID) else parse_uuid(id)
    user = await session.get(User, parsed, with_for_update=lock) if parsed else None
    if user is None:
        raise NotFound("User not found.")
    return user


async def roles_of(
    session: AsyncSession, user_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, list[Role]]:
    """Each user's roles by name, for a whole page of users in one statement."""
    found: dict[uuid.UUID, list[Role]] = {id: [] for id in user_ids}
    if not user_ids:
        return found
    rows = await session.execute(
        select(user_roles.c.user_id, Role)
        .join(Role, Role.id == user_roles.c.role_id)
        .where(user_roles.c.user_id.in_(list(user_ids)))
        .order_by(Role.name)
    )
    for user_id, role in rows.all():
        found[user_id].append(role)
    return found


async def list_roles(
    session: AsyncSession, *, page: PageRequest, with_total: bool = True
) -> Page[Role]:
    """By name."""
    return await paginate(
        session, select(Role), keys=ROLE_ORDER, request=page, with_total=with_total
    )


def _is_role_name(name: str) -> bool:
    return len(name) <= ROLE_NAME_LENGTH and ROLE_NAME.fullmatch(name) is not None


# ---- the grant rule --------------------------------------------------------------------------


def _permissions(roles: Iterable[Role]) -> set[str]:
    return {p for role in roles for p in role.permissions}


def _require_holds(actor: Actor, permissions: Iterable[str], what: str) -> None:
    if not grants_all(actor.permissions, permissions):
        raise Forbidden(f"{what} needs permissions you do not hold yourself.")


async def _roles_named(session: AsyncSession, names: Sequence[str], field: str) -> list[Role]:
    """The named roles (built-in ones made when missing); unknown names are VALIDATION_FAILED
    naming them."""
    wanted = list(dict.fromkeys(name.strip() for name in names))
    if len(wanted) > MAX_ROLES:
        raise ValidationFailed.field(field, f"At most {MAX_ROLES} roles.")
    roles: list[Role] = []
    unknown: list[str] = []
    for name in wanted:
        role = await role_named(session, name) if _is_role_name(name) else None
        if role is None:
            unknown.append(name)
        else:
            roles.append(role)
    if unknown:
        shown = ", ".join(name[:ROLE_NAME_LENGTH] for name in unknown[:5])
        raise ValidationFailed.field(field, f"No such roles: {shown}.")
    return roles


def _user_snapshot(user: User, roles: Iterable[Role]) -> dict[str, object]:
    return {**user.snapshot(), "roles": sorted(role.name for role in roles)}


# ---- staff users -----------------------------------------------------------------------------


async def unique_username(session: AsyncSession, email: str) -> str:
    """The gateway's `username`: the address's local part (letters, digits, `._-`), with a
    number added when another user has it."""
    base = re.sub(r"[^a-z0-9._-]", "", email.split("@")[0].lower())[: USERNAME_LENGTH - 8]
    base = base or "user"
    taken = set(
        await session.scalars(
            select(User.username).where((User.username == base) | User.username.like(f"{base}-%"))
        )
    )
    if base not in taken:
        return base
    n = 2
    while f"{base}-{n}" in taken:
        n += 1
    return f"{base}-{n}"


async def add_user(
    session: AsyncSession,
    *,
    email: str,
    name: str,
    password_hash: str | None = None,
    email_verified: bool = False,
    customer_id: uuid.UUID | None = None,
) -> User:
    """A new active user (the address already checked and normalised) with a unique username,
    added and flushed: sign-up, staff creation and a customer's user all start here. An
    address another user has is a CONFLICT, a concurrent insert of it too."""
    if await session.scalar(select(User.id).where(User.email == email)) is not None:
        raise email_in_use(email)
    now = utcnow()
    user = User(
        email=email,
        name=name,
        username=await unique_username(session, email),
        password_hash=password_hash,
        email_verified=email_verified,
        status="active",
        customer_id=customer_id,
        created_at=now,
        updated_at=now,
    )
    session.add(user)
    try:
        async with session.begin_nested():
            await session.flush()
    except IntegrityError:  # a concurrent insert took the address after our check
        raise email_in_use(email) from None
    return user


def _check_name(problems: Problems, name: str) -> str:
    name = name.strip()
    if not 1 <= len(name) <= NAME_LENGTH:
        problems.add("name", f"Must be 1 to {NAME_LENGTH} characters.")
    return name


async def create_staff_user(
    uow: UnitOfWork, actor: Actor, *, email: str, name: str, roles: Sequence[str]
) -> User:
    """A staff member with `roles` and no password (they set one with a password reset). An
    address another user has (in any case) is a CONFLICT; roles the actor could not grant
    are FORBIDDEN."""
    problems = Problems()
    email = check_email(problems, email)
    name = _check_name(problems, name)
    problems.raise_if_any()
    granted = await _roles_named(uow.session, roles, "roles")
    _require_holds(actor, _permissions(granted), "Granting these roles")
    user = await add_user(uow.session, email=email, name=name)
    for role in granted:
        await uow.session.execute(insert(user_roles).values(user_id=user.id, role_id=role.id))
    record_change(
        uow,
        actor,
        event="users.create",
        entity_type="user",
        entity_id=str(user.id),
        after=_user_snapshot(user, granted),
    )
    return user


async def create_customer_user(
    uow: UnitOfWork,
    actor: Actor,
    *,
    customer: Customer,
    name: str,
    email_verified: bool = False,
) -> User:
    """The user of an existing customer record (same address, role customer, no password:
    they set one with a password reset). A customer with a user already, or an address
    another user has, is a CONFLICT."""
    problems = Problems()
    name = _check_name(problems, name)
    problems.raise_if_any()
    if await uow.session.scalar(select(User.id).where(User.customer_id == customer.id)):
        raise email_in_use(customer.email)
    [role] = await _roles_named(uow.session, [CUSTOMER], "roles")
    user = await add_user(
        uow.session,
        email=customer.email,
        name=name,
        email_verified=email_verified,
        customer_id=customer.id,
    )
    await uow.session.execute(insert(user_roles).values(user_id=user.id, role_id=role.id))
    record_change(
        uow,
        actor,
        event="users.create",
        entity_type="user",
        entity_id=str(user.id),
        after=_user_snapshot(user, [role]),
    )
    return user


def email_in_use(email: str) -> Conflict:
    return Conflict(f"The e-mail address {email} is in use.", details={"email": "Already in use."})


async def _user_to_change(uow: UnitOfWork, actor: Actor, id: str) -> tuple[User, list[Role]]:
    """The user (locked) and their roles, once the actor is shown to hold every permission
    the user holds (FORBIDDEN otherwise, before anything about the user's state is told)."""
    user = await get_user(uow.session, id, lock=True)
    held = (await roles_of(uow.session, [user.id]))[user.id]
    _require_holds(actor, _permissions(held), "Changing this user")
    return user, held


async def set_user_roles(
    uow: UnitOfWork, actor: Actor, *, id: str, roles: Sequence[str]
) -> tuple[User, list[Role]]:
    """Replace a user's roles. The actor must hold every permission of the user's present
    roles and of the new ones. Sessions keep working and carry the new permissions from their
    next request on."""
    user, before_roles = await _user_to_change(uow, actor, id)
    granted = await _roles_named(uow.session, roles, "roles")
    _require_holds(actor, _permissions(granted), "Granting these roles")
    before = _user_snapshot(user, before_roles)
    await uow.session.execute(delete(user_roles).where(user_roles.c.user_id == user.id))
    for role in granted:
        await uow.session.execute(insert(user_roles).values(user_id=user.id, role_id=role.id))
    user.updated_at = utcnow()
    await uow.session.flush()
    granted.sort(key=lambda role: role.name)
    record_change(
        uow,
        actor,
        event="users.rolesChange",
        entity_type="user",
        entity_id=str(user.id),
        before=before,
        after=_user_snapshot(user, granted),
    )
    return user, granted


async def set_user_status(
    uow: UnitOfWork, actor: Actor, *, id: str, status: str
) -> tuple[User, list[Role]]:
    """Turn a user active or inactive. Inactive ends every session of the user at once (and a
    later reactivation does not revive them); an inactive user cannot sign in. Nobody turns
    themselves inactive (CONFLICT): that is a lock-out, not an administration."""
    if status not in USER_STATUSES:
        raise ValidationFailed.field("status", "Must be active or inactive.")
    user, roles = await _user_to_change(uow, actor, id)
    if status == user.status:
        return user, roles
    if status == "inactive" and actor.kind == "user" and actor.id == str(user.id):
        raise Conflict("You cannot make yourself inactive.")
    before = _user_snapshot(user, roles)
    user.status = status
    user.updated_at = utcnow()
    await uow.session.flush()
    if status == "inactive":
        await end_sessions_of(uow, user.id)
    record_change(
        uow,
        actor,
        event="users.statusChange",
        entity_type="user",
        entity_id=str(user.id),
        before=before,
        after=_user_snapshot(user, roles),
    )
    return user, roles


async def set_password(uow: UnitOfWork, actor: Actor, *, email: str, password: str) -> User:
    """Set a user's password (the operator's `cartograph user set-password`): stored as its
    argon2id hash only, every session of the user ended."""
    problem = password_problem(password)
    if problem is not None:
        raise ValidationFailed.field("password", problem)
    user = await uow.session.scalar(
        select(User).where(User.email == normalize_email(email)).with_for_update()
    )
    if user is None:
        raise NotFound("User not found.")
    user.password_hash = await hash_password(password)
    user.updated_at = utcnow()
    await uow.session.flush()
    await end_sessions_of(uow, user.id)
    # The snapshot leaves the hash out (User.__audit_exclude__): the entry says that, not what.
    record_change(
        uow,
        actor,
        event="users.passwordSet",
        entity_type="user",
        entity_id=str(user.id),
        after=user.snapshot(),
    )
    return user


# ---- roles -----------------------------------------------------------------------------------


def _check_role(
    problems: Problems,
    *,
    name: str | None,
    description: str | None,
    permissions: list[str] | None,
) -> tuple[str | None, str | None, list[str] | None]:
    if name is not None:
        name = name.strip()
        if not _is_role_name(name):
            problems.add(
                "name",
                f"1 to {ROLE_NAME_LENGTH} lower-case letters, digits, - and _, "
                "starting with a letter.",
            )
    if description is not None:
        description = description.strip() or None
        if description is not None and len(description) > DESCRIPTION_LENGTH:
            problems.add("description", f"At most {DESCRIPTION_LENGTH} characters.")
    if permissions is not None:
        if len(permissions) > MAX_PERMISSIONS:
            problems.add("permissions", f"At most {MAX_PERMISSIONS} permissions.")
        else:
            bad = [p for p in permissions if not is_valid_permission(p)]
            if bad:
                problems.add(
                    "permissions", f"Not resource:action permissions: {', '.join(bad[:5])}."
                )
        permissions = sorted(set(permissions))
    return name, description, permissions


async def _refuse_name_taken(session: AsyncSession, name: str, *, but: uuid.UUID | None) -> None:
    if name in BUILT_IN:
        raise Conflict(f"{name} is a built-in role's name.", details={"name": "Reserved."})
    found = await session.scalar(select(Role.id).where(Role.name == name))
    if found is not None and found != but:
        raise Conflict(f"A role named {name} exists.", details={"name": "Already in use."})


async def create_role(
    uow: UnitOfWork,
    actor: Actor,
    *,
    name: str,
    description: str | None,
    permissions: list[str],
) -> Role:
    """A staff role. Its permissions must be ones the actor holds (FORBIDDEN otherwise); a
    taken name, or a built-in role's, is a CONFLICT. A role may hold no permission."""
    problems = Problems()
    checked, description, valid = _check_role(
        problems, name=name, description=description, permissions=permissions
    )
    problems.raise_if_any()
    assert checked is not None and valid is not None
    _require_holds(actor, valid, "A role with these permissions")
    await _refuse_name_taken(uow.session, checked, but=None)
    now = utcnow()
    role = Role(
        name=checked,
        description=description,
        permissions=valid,
        built_in=False,
        created_at=now,
        updated_at=now,
    )
    uow.session.add(role)
    try:
        async with uow.session.begin_nested():
            await uow.session.flush()
    except IntegrityError:  # a concurrent create took the name after our check
        raise Conflict(
            f"A role named {checked} exists.", details={"name": "Already in use."}
        ) from None
    record_change(
        uow,
        actor,
        event="roles.create",
        entity_type="role",
        entity_id=str(role.id),
        after=role.snapshot(),
    )
    return role


async def _role_to_change(uow: UnitOfWork, actor: Actor, id: str) -> Role:
    """The role (locked), once shown not built in and within the actor's own permissions."""
    parsed = parse_uuid(id)
    role = await uow.session.get(Role, parsed, with_for_update=True) if parsed else None
    if role is None:
        raise NotFound("Role not found.")
    _require_holds(actor, role.permissions, "Changing this role")
    if role.built_in:
        raise Conflict(f"{role.name} is a built-in role: it cannot be changed or deleted.")
    return role


async def update_role(
    uow: UnitOfWork,
    actor: Actor,
    *,
    id: str,
    name: str | None = None,
    description: str | object | None = UNCHANGED,
    permissions: list[str] | None = None,
) -> Role:
    """Change a staff role (None or UNCHANGED leaves a field as it is). The actor must hold
    its present and its new permissions; every holder's sessions carry the change from their
    next request on."""
    problems = Problems()
    given_description = description if isinstance(description, str) else None
    name, checked_description, permissions = _check_role(
        problems, name=name, description=given_description, permissions=permissions
    )
    problems.raise_if_any()
    role = await _role_to_change(uow, actor, id)
    if permissions is not None:
        _require_holds(actor, permissions, "A role with these permissions")
    before = role.snapshot()
    if name is not None and name != role.name:
        await _refuse_name_taken(uow.session, name, but=role.id)
        role.name = name
    if description is None or isinstance(description, str):
        role.description = checked_description
    if permissions is not None:
        role.permissions = permissions
    role.updated_at = utcnow()
    try:
        async with uow.session.begin_nested():
            await uow.session.flush()
    except IntegrityError:  # a concurrent change took the name after our check
        raise Conflict(
            f"A role named {name} exists.", details={"name": "Already in use."}
        ) from None
    record_change(
        uow,
        actor,
        event="roles.update",
        entity_type="role",
        entity_id=str(role.id),
        before=before,
        after=role.snapshot(),
    )
    return role


async def delete_role(uow: UnitOfWork, actor: Actor, *, id: str) -> tuple[Role, int]:
    """Delete a staff role; its holders lose it (and what it granted) at once. Returns the
    role as it was and how many users held it."""
    role = await _role_to_change(uow, actor, id)
    holders = await uow.session.scalar(
        select(func.count()).select_from(user_roles).where(user_roles.c.role_id == role.id)
    )
    before = role.snapshot()
    await uow.session.execute(delete(user_roles).where(user_roles.c.role_id == role.id))
    await uow.session.delete(role)
    await uow.session.flush()
    record_change(
        uow,
        actor,
        event="roles.delete",
        entity_type="role",
        entity_id=str(role.id),
        before=before,
        reason=f"held by {holders or 0} users",
    )
    return role, holders or 0
