"""GraphQL for users and roles, staff side: `users:read` to read, `users:manage` to write.

A page of users is built with its roles in one statement and, when selected, the linked
customer records (and their groups) in one more each (DESIGN §8). The linked customer is
customer data: it needs `customers:read` as well (else null, with the error at its path).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated

import strawberry
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from strawberry import UNSET, Info

from app.auth.actor import Actor
from app.models.customers import Customer
from app.models.users import Role, User
from app.resolvers.arguments import (
    AfterArg,
    FirstArg,
    LimitArg,
    OffsetArg,
    PageArg,
    page_request,
)
from app.resolvers.customers import CustomerType, build_customers
from app.resolvers.enums import UserStatus
from app.resolvers.pagination import Connection
from app.resolvers.permissions import requires
from app.resolvers.rows import from_row
from app.resolvers.selection import Selected
from app.services import users as service

READ, MANAGE, CUSTOMERS_READ = "users:read", "users:manage", "customers:read"


@strawberry.type(
    name="Role",
    description="A named bundle of resource:action permissions that users hold.",
)
class RoleType:
    id: strawberry.ID = strawberry.field(description="The role's id.")
    name: str = strawberry.field(description="The role's unique name (lower-case).")
    description: str | None = strawberry.field(description="What the role is for; may be null.")
    permissions: list[str] = strawberry.field(
        description="The resource:action permissions the role grants (wildcards allowed)."
    )
    built_in: bool = strawberry.field(
        description="Whether the role comes with Cartograph (customer, vendor, admin): "
        "such a role cannot be changed or deleted."
    )
    created_at: datetime = strawberry.field(description="When the role was created.")
    updated_at: datetime = strawberry.field(description="When the role last changed.")

    @classmethod
    def from_row(cls, row: Role) -> RoleType:
        return from_row(cls, row)


@dataclass(slots=True)
class Related:
    """What was prefetched for one user; None means the query did not select it."""

    roles: list[RoleType] | None = None
    customer: CustomerType | None = None
    customer_loaded: bool = False


@strawberry.type(name="User", description="A person who signs in: a customer or staff.")
class UserType:
    id: strawberry.ID = strawberry.field(description="The user's id (a UUID).")
    email: str = strawberry.field(
        description="The e-mail address they sign in with, lower-case; unique."
    )
    name: str = strawberry.field(description="The name they go by.")
    username: str = strawberry.field(
        description="A unique handle, from the e-mail address's local part."
    )
    email_verified: bool = strawberry.field(
        description="Whether they proved the e-mail address is theirs."
    )
    status: UserStatus = strawberry.field(description="Whether they may sign in.")
    created_at: datetime = strawberry.field(description="When the user was created.")
    updated_at: datetime = strawberry.field(description="When the user last changed.")
    related: strawberry.Private[Related]

    @strawberry.field(description="The user's roles, by name; their permissions are the union.")
    def roles(self) -> list[RoleType]:
        if self.related.roles is None:
            raise RuntimeError("User.roles was not prefetched (see build_users)")
        return self.related.roles

    @strawberry.field(
        description="The customer record the user owns (a shopper's); null for staff. "
        "Needs customers:read as well.",
        permission_classes=[requires(CUSTOMERS_READ)],
    )
    def customer(self) -> CustomerType | None:
        if not self.related.customer_loaded:
            raise RuntimeError("User.customer was not prefetched (see build_users)")
        return self.related.customer


async def build_users(
    session: AsyncSession,
    rows: list[User],
    selected: Selected,
    actor: Actor,
    *,
    roles: dict[uuid.UUID, list[Role]] | None = None,
) -> list[UserType]:
    """Types for `rows`: the roles of all of them in one statement, their customer records
    (when selected and the actor may read them) in one more, and those customers' groups in
    one more when selected."""
    if roles is None and "roles" in selected:
        roles = await service.roles_of(session, [row.id for row in rows])
    customers: dict[uuid.UUID, CustomerType] = {}
    load_customers = "customer" in selected and actor.can(CUSTOMERS_READ)
    linked = [row.customer_id for row in rows if row.customer_id is not None]
    if load_customers and linked:
        records = list(await session.scalars(select(Customer).where(Customer.id.in_(linked))))
        built = await build_customers(session, records, selected.child("customer"))
        customers = {record.id: made for record, made in zip(records, built, strict=True)}
    return [
        UserType(
            id=strawberry.ID(str(row.id)),
            email=row.email,
            name=row.name,
            username=row.username,
            email_verified=row.email_verified,
            status=UserStatus.of(row.status),
            created_at=row.created_at,
            updated_at=row.updated_at,
            related=Related(
                roles=[RoleType.from_row(r) for r in roles.get(row.id, [])]
                if roles is not None
                else None,
                customer=customers.get(row.customer_id) if row.customer_id else None,
                customer_loaded=load_customers,
            ),
        )
        for row in rows
    ]


async def _one(
    session: AsyncSession, info: Info, row: User, roles: list[Role] | None = None
) -> UserType:
    given = {row.id: roles} if roles is not None else None
    [user] = await build_users(session, [row], Selected.of(info), info.context.actor, roles=given)
    return user


@strawberry.input(description="Narrows the user list; filters given together all apply.")
class UserFilter:
    status: UserStatus | None = strawberry.field(
        default=None, description="Only users in this status."
    )
    email: str | None = strawberry.field(
        default=None, description="The whole e-mail address, in any case."
    )
    role: str | None = strawberry.field(
        default=None, description="Only users holding the role of this name."
    )


@strawberry.input(description="A new staff role.")
class CreateRoleInput:
    name: str = strawberry.field(
        description="1 to 64 lower-case letters, digits, - and _, starting with a letter; "
        "unique, and not a built-in role's."
    )
    permissions: list[str] = strawberry.field(
        description="resource:action strings, wildcards allowed, at most 100; only ones the "
        "caller holds itself. May be empty."
    )
    description: str | None = strawberry.field(
        default=None, description="What the role is for, at most 500 characters."
    )


@strawberry.input(description="Changes to a staff role: omitted fields stay as they are.")
class UpdateRoleInput:
    id: strawberry.ID = strawberry.field(description="The role to change (not a built-in one).")
    name: str | None = strawberry.field(
        default=UNSET, description="A new unique name (as in createRole); null keeps it."
    )
    description: str | None = strawberry.field(
        default=UNSET, description="A new description; null clears it."
    )
    permissions: list[str] | None = strawberry.field(
        default=UNSET,
        description="Replaces the permissions (only ones the caller holds); null keeps them.",
    )


@strawberry.input(description="The staff role to delete.")
class DeleteRoleInput:
    id: strawberry.ID = strawberry.field(description="The role to delete (not a built-in one).")


@strawberry.input(description="A new staff member, who sets a password by a password reset.")
class CreateStaffUserInput:
    email: str = strawberry.field(
        description="Stored lower-case; one another user has (in any case) is a CONFLICT."
    )
    name: str = strawberry.field(description="The name they go by, 1 to 100 characters.")
    roles: list[str] = strawberry.field(
        description="Role names to give them (at most 20); only roles whose permissions the "
        "caller holds."
    )


@strawberry.input(description="A user's new roles, replacing the ones they hold.")
class SetUserRolesInput:
    id: strawberry.ID = strawberry.field(description="The user to change.")
    roles: list[str] = strawberry.field(
        description="Role names (at most 20); only roles whose permissions the caller holds."
    )


@strawberry.input(description="A user's new status.")
class SetUserStatusInput:
    id: strawberry.ID = strawberry.field(description="The user to change.")
    status: UserStatus = strawberry.field(
        description="INACTIVE ends every session of the user at once."
    )


@strawberry.type
class UserQueries:
    @strawberry.field(
        description="Users, oldest first, one page at a time. Needs users:read.",
        permission_classes=[requires(READ)],
    )
    async def users(
        self,
        info: Info,
        filter: Annotated[
            UserFilter | None,
            strawberry.argument(description="By status, e-mail address or role."),
        ] = None,
        page: PageArg = None,
        limit: LimitArg = None,
        offset: OffsetArg = None,
        first: FirstArg = None,
        after: AfterArg = None,
    ) -> Connection[UserType]:
        request = page_request(page=page, limit=limit, offset=offset, first=first, after=after)
        given = filter or UserFilter()
        criteria = service.UserFilter(status=given.status, email=given.email, role=given.role)
        selected = Selected.of(info)
        # The count is a statement of its own: run it only when the answer shows it.
        counted = "totalCount" in selected or "totalPages" in selected.child("pageInfo")
        async with info.context.read() as session:
            result = await service.list_users(
                session, filter=criteria, page=request, with_total=counted
            )
            items = await build_users(session, result.items, selected.items(), info.context.actor)
        return Connection.of(result, items)

    @strawberry.field(
        description="A user by id; NOT_FOUND if none. Needs users:read.",
        permission_classes=[requires(READ)],
    )
    async def user(
        self,
        info: Info,
        id: Annotated[strawberry.ID, strawberry.argument(description="The user's id.")],
    ) -> UserType:
        async with info.context.read() as session:
            row = await service.get_user(session, id)
            return await _one(session, info, row)

    @strawberry.field(
        description="Roles, by name, one page at a time. Needs users:read.",
        permission_classes=[requires(READ)],
    )
    async def roles(
        self,
        info: Info,
        page: PageArg = None,
        limit: LimitArg = None,
        offset: OffsetArg = None,
        first: FirstArg = None,
        after: AfterArg = None,
    ) -> Connection[RoleType]:
        request = page_request(page=page, limit=limit, offset=offset, first=first, after=after)
        selected = Selected.of(info)
        counted = "totalCount" in selected or "totalPages" in selected.child("pageInfo")
        async with info.context.read() as session:
            result = await service.list_roles(session, page=request, with_total=counted)
        return Connection.of(result, [RoleType.from_row(row) for row in result.items])


@strawberry.type
class UserMutations:
    @strawberry.mutation(
        description="Create a staff role; emits roles.create. Needs users:manage and every "
        "permission the role grants.",
        permission_classes=[requires(MANAGE)],
    )
    async def create_role(
        self,
        info: Info,
        input: Annotated[
            CreateRoleInput, strawberry.argument(description="The role's name and permissions.")
        ],
    ) -> RoleType:
        async with info.context.command() as uow:
            row = await service.create_role(
                uow,
                info.context.actor,
                name=input.name,
                description=input.description,
                permissions=input.permissions,
            )
        return RoleType.from_row(row)

    @strawberry.mutation(
        description="Change a staff role (built-in ones: CONFLICT); emits roles.update. Needs "
        "users:manage and every permission the role grants, before and after.",
        permission_classes=[requires(MANAGE)],
    )
    async def update_role(
        self,
        info: Info,
        input: Annotated[
            UpdateRoleInput, strawberry.argument(description="The role and what to change.")
        ],
    ) -> RoleType:
        async with info.context.command() as uow:
            row = await service.update_role(
                uow,
                info.context.actor,
                id=input.id,
                name=None if input.name is UNSET else input.name,
                description=service.UNCHANGED if input.description is UNSET else input.description,
                permissions=None if input.permissions is UNSET else input.permissions,
            )
        return RoleType.from_row(row)

    @strawberry.mutation(
        description="Delete a staff role (built-in ones: CONFLICT); its holders lose it at "
        "once; emits roles.delete. Needs users:manage and every permission the role grants.",
        permission_classes=[requires(MANAGE)],
    )
    async def delete_role(
        self,
        info: Info,
        input: Annotated[DeleteRoleInput, strawberry.argument(description="The role.")],
    ) -> RoleType:
        async with info.context.command() as uow:
            row, _ = await service.delete_role(uow, info.context.actor, id=input.id)
        return RoleType.from_row(row)

    @strawberry.mutation(
        description="Create a staff user with roles and no password (they set one with a "
        "password reset); emits users.create. Needs users:manage and every permission the "
        "roles grant.",
        permission_classes=[requires(MANAGE)],
    )
    async def create_staff_user(
        self,
        info: Info,
        input: Annotated[
            CreateStaffUserInput,
            strawberry.argument(description="The staff member's address, name and roles."),
        ],
    ) -> UserType:
        async with info.context.command() as uow:
            row = await service.create_staff_user(
                uow, info.context.actor, email=input.email, name=input.name, roles=input.roles
            )
            return await _one(uow.session, info, row)

    @strawberry.mutation(
        description="Replace a user's roles; emits users.rolesChange. Needs users:manage and "
        "every permission of the user's present and new roles.",
        permission_classes=[requires(MANAGE)],
    )
    async def set_user_roles(
        self,
        info: Info,
        input: Annotated[
            SetUserRolesInput, strawberry.argument(description="The user and their roles.")
        ],
    ) -> UserType:
        async with info.context.command() as uow:
            row, roles = await service.set_user_roles(
                uow, info.context.actor, id=input.id, roles=input.roles
            )
            return await _one(uow.session, info, row, roles)

    @strawberry.mutation(
        description="Make a user active or inactive (inactive ends every session at once); "
        "emits users.statusChange. Needs users:manage and every permission the user holds.",
        permission_classes=[requires(MANAGE)],
    )
    async def set_user_status(
        self,
        info: Info,
        input: Annotated[
            SetUserStatusInput, strawberry.argument(description="The user and their status.")
        ],
    ) -> UserType:
        async with info.context.command() as uow:
            row, roles = await service.set_user_status(
                uow, info.context.actor, id=input.id, status=input.status
            )
            return await _one(uow.session, info, row, roles)
