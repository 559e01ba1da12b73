"""GraphQL for customers: the record (staff data: `customers:read`, `customers:create`,
`customers:update`) and its customer groups, fetched for a whole page in one statement."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any

import strawberry
from sqlalchemy.ext.asyncio import AsyncSession
from strawberry import UNSET, Info

from app.models.customers import EMAIL_LENGTH, NAME_LENGTH, PHONE_LENGTH, Customer
from app.resolvers.arguments import page_request
from app.resolvers.pagination import Connection
from app.resolvers.permissions import requires
from app.resolvers.pricing import CustomerGroupType
from app.resolvers.scalars import JSON
from app.resolvers.selection import Selected
from app.services import customers as service

READ, CREATE, UPDATE = "customers:read", "customers:create", "customers:update"

EMAIL_SCHEMA = {"jsonschema": {"minLength": 3, "maxLength": EMAIL_LENGTH, "pattern": "@"}}
NAME_SCHEMA = {"jsonschema": {"maxLength": NAME_LENGTH}}
PHONE_SCHEMA = {"jsonschema": {"maxLength": PHONE_LENGTH}}

CustomerIdArgument = Annotated[strawberry.ID, strawberry.argument(description="A customer id.")]
PageArgument = Annotated[int | None, strawberry.argument(description="The page, from 1.")]
LimitArgument = Annotated[
    int | None, strawberry.argument(description="Page size: 20 unless given, at most 100.")
]
OffsetArgument = Annotated[
    int | None, strawberry.argument(description="Rows to skip, instead of page.")
]
FirstArgument = Annotated[
    int | None, strawberry.argument(description="Page size for cursor paging (as limit).")
]
AfterArgument = Annotated[
    str | None, strawberry.argument(description="The endCursor of the page before.")
]


@dataclass(slots=True)
class Related:
    """What was prefetched for one customer; None means the query did not select it."""

    groups: list[CustomerGroupType] | None = None


@strawberry.type(name="Customer", description="A customer: who buys, and in which groups.")
class CustomerType:
    id: strawberry.ID = strawberry.field(description="The customer's id (a UUID).")
    email: str = strawberry.field(
        description="The e-mail address, lower-case; no two customers share one."
    )
    first_name: str | None = strawberry.field(description="Given name; null when not known.")
    last_name: str | None = strawberry.field(description="Family name; null when not known.")
    phone: str | None = strawberry.field(description="A phone number as written; may be null.")
    metadata: JSON = strawberry.field(description="Free key-value data (a JSON object).")
    created_at: datetime = strawberry.field(description="When the record was created.")
    updated_at: datetime = strawberry.field(description="When the record last changed.")
    related: strawberry.Private[Related]

    @strawberry.field(
        description="The customer groups this customer belongs to, by name "
        "(joined with addCustomerToGroup)."
    )
    def groups(self) -> list[CustomerGroupType]:
        if self.related.groups is None:
            raise RuntimeError("Customer.groups was not prefetched (see build_customers)")
        return self.related.groups


async def build_customers(
    session: AsyncSession, rows: list[Customer], selected: Selected
) -> list[CustomerType]:
    """Types for `rows`, with the groups (when selected) of all of them in one statement."""
    groups: dict[uuid.UUID, list[Any]] | None = None
    if "groups" in selected:
        groups = await service.groups_of(session, [row.id for row in rows])
    return [
        CustomerType(
            id=strawberry.ID(str(row.id)),
            email=row.email,
            first_name=row.first_name,
            last_name=row.last_name,
            phone=row.phone,
            metadata=JSON(row.meta),
            created_at=row.created_at,
            updated_at=row.updated_at,
            related=Related(
                groups=[CustomerGroupType.from_row(g) for g in groups[row.id]]
                if groups is not None
                else None
            ),
        )
        for row in rows
    ]


@strawberry.input(description="Narrows the customer list; filters given together all apply.")
class CustomerFilter:
    email: str | None = strawberry.field(
        default=None, description="The whole e-mail address, in any case."
    )
    email_contains: str | None = strawberry.field(
        default=None, description="A part of the e-mail address, in any case."
    )


@strawberry.input(description="A new customer.")
class CreateCustomerInput:
    email: str = strawberry.field(
        description="Stored lower-case; one in use (in any case) is a CONFLICT.",
        metadata=EMAIL_SCHEMA,
    )
    first_name: str | None = strawberry.field(
        default=None, description="Given name.", metadata=NAME_SCHEMA
    )
    last_name: str | None = strawberry.field(
        default=None, description="Family name.", metadata=NAME_SCHEMA
    )
    phone: str | None = strawberry.field(
        default=None,
        description="Digits, spaces and + ( ) - . /, at least three digits.",
        metadata=PHONE_SCHEMA,
    )
    metadata: JSON | None = strawberry.field(
        default=None, description="A JSON object of at most 16 KiB."
    )


@strawberry.input(description="Changes to a customer: omitted fields stay as they are.")
class UpdateCustomerInput:
    id: strawberry.ID = strawberry.field(description="The customer to change.")
    email: str | None = strawberry.field(
        default=UNSET,
        description="Stored lower-case; one another customer has is a CONFLICT.",
        metadata=EMAIL_SCHEMA,
    )
    first_name: str | None = strawberry.field(
        default=UNSET, description="null clears it.", metadata=NAME_SCHEMA
    )
    last_name: str | None = strawberry.field(
        default=UNSET, description="null clears it.", metadata=NAME_SCHEMA
    )
    phone: str | None = strawberry.field(
        default=UNSET, description="null clears it.", metadata=PHONE_SCHEMA
    )
    metadata: JSON | None = strawberry.field(
        default=UNSET, description="Replaces the whole object."
    )


def _given(input: UpdateCustomerInput) -> dict[str, Any]:
    """The fields the caller gave; a null email or metadata (which cannot be cleared) is
    dropped."""
    values = {
        "email": input.email,
        "first_name": input.first_name,
        "last_name": input.last_name,
        "phone": input.phone,
        "metadata": input.metadata,
    }
    return {
        name: value
        for name, value in values.items()
        if value is not UNSET and not (value is None and name in ("email", "metadata"))
    }


@strawberry.type
class CustomerQueries:
    @strawberry.field(
        permission_classes=[requires(READ)],
        description="A customer by id (customers:read); NOT_FOUND if none.",
    )
    async def customer(self, info: Info, id: CustomerIdArgument) -> CustomerType:
        async with info.context.read() as session:
            row = await service.get_customer(session, id)
            [customer] = await build_customers(session, [row], Selected.of(info))
        return customer

    @strawberry.field(
        permission_classes=[requires(READ)], description="Customers, oldest first (customers:read)."
    )
    async def customers(
        self,
        info: Info,
        filter: Annotated[
            CustomerFilter | None, strawberry.argument(description="By e-mail address.")
        ] = None,
        page: PageArgument = None,
        limit: LimitArgument = None,
        offset: OffsetArgument = None,
        first: FirstArgument = None,
        after: AfterArgument = None,
    ) -> Connection[CustomerType]:
        request = page_request(page=page, limit=limit, offset=offset, first=first, after=after)
        given = filter or CustomerFilter()
        criteria = service.CustomerFilter(email=given.email, email_contains=given.email_contains)
        selected = Selected.of(info)
        # The count is a statement of its own: run it only when the answer shows it.
        counted = "totalCount" in selected or "totalPages" in selected.child("pageInfo")
        async with info.context.read() as session:
            result = await service.list_customers(
                session, filter=criteria, page=request, with_total=counted
            )
            items = await build_customers(session, result.items, selected.items())
        return Connection.of(result, items)


@strawberry.type
class CustomerMutations:
    @strawberry.mutation(
        permission_classes=[requires(CREATE)],
        description="Create a customer (customers:create); emits customers.create.",
    )
    async def create_customer(
        self,
        info: Info,
        input: Annotated[
            CreateCustomerInput, strawberry.argument(description="The new customer's details.")
        ],
    ) -> CustomerType:
        async with info.context.command() as uow:
            row = await service.create_customer(
                uow,
                info.context.actor,
                email=input.email,
                first_name=input.first_name,
                last_name=input.last_name,
                phone=input.phone,
                metadata=input.metadata,
            )
            [customer] = await build_customers(uow.session, [row], Selected.of(info))
        return customer

    @strawberry.mutation(
        permission_classes=[requires(UPDATE)],
        description="Change a customer (customers:update); emits customers.update.",
    )
    async def update_customer(
        self,
        info: Info,
        input: Annotated[
            UpdateCustomerInput,
            strawberry.argument(description="The customer and the details to change."),
        ],
    ) -> CustomerType:
        async with info.context.command() as uow:
            row = await service.update_customer(
                uow, info.context.actor, id=input.id, **_given(input)
            )
            [customer] = await build_customers(uow.session, [row], Selected.of(info))
        return customer
