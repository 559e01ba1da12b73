"""GraphQL for the signed-in customer's own records: `me { profile addresses orders order
tracking downloads }` and the mutations `updateMyProfile`, `addMyAddress`, `deleteMyAddress`
and `reorder` (the `/api/me` routes run these).

Who "me" is comes from the session (`app.services.me.customer_of`): UNAUTHORIZED without a
signed-in user (an API key is no one's session), FORBIDDEN for a user without a customer
record. No permission is needed beyond that: these are the customer's own records.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Annotated, Any

import strawberry
from strawberry import UNSET, Info

from app.models.base import utcnow
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
from app.resolvers.arguments import AfterArg, FirstArg, LimitArg, OffsetArg, PageArg, page_request
from app.resolvers.carts import CartType
from app.resolvers.customers import CustomerType, build_customers
from app.resolvers.enums import OrderStatus, ReorderSkipReason
from app.resolvers.orders import FulfillmentType, OrderType
from app.resolvers.pagination import Connection
from app.resolvers.rows import from_row
from app.resolvers.selection import Selected
from app.services import addresses as address_service
from app.services import customers as customer_service
from app.services import me as service
from app.services import orders as order_service


def _schema(longest: int) -> dict[str, dict[str, int]]:
    return {"jsonschema": {"maxLength": longest}}


@strawberry.type(name="Address", description="A postal address a customer saved.")
class AddressType:
    id: strawberry.ID = strawberry.field(description="The address's id (a UUID).")
    first_name: str | None = strawberry.field(description="The addressee's given name.")
    last_name: str | None = strawberry.field(description="The addressee's family name.")
    company: str | None = strawberry.field(description="The company, if any.")
    line1: str = strawberry.field(description="The first address line: street and number.")
    line2: str | None = strawberry.field(
        description="The second address line: flat, floor, building."
    )
    city: str = strawberry.field(description="The city.")
    state: str | None = strawberry.field(description="The state, province or region.")
    postal_code: str | None = strawberry.field(description="The postal or ZIP code.")
    country: str = strawberry.field(description="The ISO 3166-1 alpha-2 country code, e.g. US.")
    phone: str | None = strawberry.field(description="A phone number for the carrier.")
    default_shipping: bool = strawberry.field(
        description="Whether this is the customer's default shipping address (at most one is)."
    )
    default_billing: bool = strawberry.field(
        description="Whether this is the customer's default billing address (at most one is)."
    )
    created_at: datetime = strawberry.field(description="When the address was saved.")

    @classmethod
    def from_row(cls, row: Address) -> AddressType:
        return from_row(cls, row)


@strawberry.type(name="OrderTracking", description="Where an order's shipments are.")
class OrderTrackingType:
    order_id: strawberry.ID = strawberry.field(description="The order's id.")
    number: str = strawberry.field(description="The order's number, ORD-YYYY-NNNNNN.")
    status: OrderStatus = strawberry.field(description="Where the order stands.")
    fulfillments: list[FulfillmentType] = strawberry.field(
        description="Its shipments, oldest first, each with its carrier and tracking number."
    )


@strawberry.type(name="Download", description="A download link for a digital item bought.")
class DownloadType:
    line_id: strawberry.ID = strawberry.field(description="The order line of the item.")
    entity_id: strawberry.ID | None = strawberry.field(
        description="The catalog entity bought; null if it no longer exists."
    )
    sku: str | None = strawberry.field(description="The SKU bought.")
    title: str | None = strawberry.field(description="The item's title as bought.")
    media_asset_id: strawberry.ID = strawberry.field(description="The file's media asset.")
    filename: str = strawberry.field(description="The file's name.")
    content_type: str = strawberry.field(description="The file's MIME type.")
    byte_size: int = strawberry.field(description="The file's size in bytes.")
    url: str = strawberry.field(description="A signed link to the file that expires.")
    expires_at: datetime = strawberry.field(description="When the link stops working.")


@strawberry.type(name="OrderDownloads", description="The download links of an order.")
class OrderDownloadsType:
    order_id: strawberry.ID = strawberry.field(description="The order's id.")
    items: list[DownloadType] = strawberry.field(
        description="One link per file attached (role DOWNLOAD) to each item bought; empty "
        "until the order is paid (see note)."
    )
    note: str | None = strawberry.field(description="Why the list is as it is, when it says.")


@strawberry.type(name="ReorderSkip", description="A line of the past order left out, and why.")
class ReorderSkipType:
    line_id: strawberry.ID = strawberry.field(description="The past order's line.")
    entity_id: strawberry.ID | None = strawberry.field(
        description="The catalog entity of the line; null if it no longer exists."
    )
    sku: str | None = strawberry.field(description="The SKU as it was bought.")
    title: str | None = strawberry.field(description="The title as it was bought.")
    quantity: int = strawberry.field(description="The quantity ordered then.")
    reason: ReorderSkipReason = strawberry.field(description="Why it was left out.")
    message: str = strawberry.field(description="The reason, in words.")


@strawberry.type(name="ReorderResult", description="The new cart made from a past order.")
class ReorderResultType:
    cart: CartType = strawberry.field(
        description="The new cart, the customer's, priced today; check it out as any cart."
    )
    skipped: list[ReorderSkipType] = strawberry.field(
        description="The past order's lines left out (no longer sold, no price, no stock)."
    )


@strawberry.type(
    name="Me",
    description="The signed-in customer's own records: profile, addresses and orders.",
)
class MeType:
    customer_id: strawberry.Private[uuid.UUID]

    @strawberry.field(description="The customer record: e-mail address, names, phone, groups.")
    async def profile(self, info: Info) -> CustomerType:
        async with info.context.read() as session:
            row = await customer_service.get_customer(session, self.customer_id)
            [customer] = await build_customers(session, [row], Selected.of(info))
        return customer

    @strawberry.field(description="The saved addresses, oldest first.")
    async def addresses(
        self,
        info: Info,
        page: PageArg = None,
        limit: LimitArg = None,
        offset: OffsetArg = None,
        first: FirstArg = None,
        after: AfterArg = None,
    ) -> Connection[AddressType]:
        request = page_request(page=page, limit=limit, offset=offset, first=first, after=after)
        async with info.context.read() as session:
            result = await address_service.list_addresses(session, self.customer_id, page=request)
        return Connection.of(result, [AddressType.from_row(row) for row in result.items])

    @strawberry.field(description="The customer's orders, newest first.")
    async def orders(
        self,
        info: Info,
        status: Annotated[
            OrderStatus | None,
            strawberry.argument(description="Only orders with this status. Default: all."),
        ] = None,
        page: PageArg = None,
        limit: LimitArg = None,
        offset: OffsetArg = None,
        first: FirstArg = None,
        after: AfterArg = None,
    ) -> Connection[OrderType]:
        request = page_request(page=page, limit=limit, offset=offset, first=first, after=after)
        async with info.context.read() as session:
            result = await service.my_orders(
                session, info.context.actor, status=status, page=request
            )
            # Lines, payments and fulfillments of the whole page: three statements.
            found = await order_service.views(session, result.items)
        return Connection.of(result, [OrderType.from_view(v) for v in found])

    @strawberry.field(description="One of the customer's orders; NOT_FOUND for anyone else's.")
    async def order(
        self,
        info: Info,
        id_or_number: Annotated[
            str, strawberry.argument(description="The order's id or number (ORD-YYYY-NNNNNN).")
        ],
    ) -> OrderType:
        async with info.context.read() as session:
            row = await service.my_order(session, info.context.actor, id_or_number)
            [view] = await order_service.views(session, [row])
        return OrderType.from_view(view)

    @strawberry.field(description="Where one of the customer's orders is: its shipments.")
    async def tracking(
        self,
        info: Info,
        id_or_number: Annotated[
            str, strawberry.argument(description="The order's id or number (ORD-YYYY-NNNNNN).")
        ],
    ) -> OrderTrackingType:
        async with info.context.read() as session:
            order, shipped = await service.tracking(session, info.context.actor, id_or_number)
        return OrderTrackingType(
            order_id=strawberry.ID(str(order.id)),
            number=order.number,
            status=OrderStatus.of(order.status),
            fulfillments=[FulfillmentType.from_row(f) for f in shipped],
        )

    @strawberry.field(description="Download links for the digital items of one order.")
    async def downloads(
        self,
        info: Info,
        order_id: Annotated[str, strawberry.argument(description="The order's id or number.")],
    ) -> OrderDownloadsType:
        setup = info.context.media_setup()
        expires_at = utcnow() + timedelta(seconds=setup.signed_seconds)

        def sign(key: str) -> str:
            return str(setup.storage.signed_url(key, setup.signed_seconds))

        async with info.context.read() as session:
            order, links, note = await service.downloads(
                session, info.context.actor, order_id, sign=sign
            )
        return OrderDownloadsType(
            order_id=strawberry.ID(str(order.id)),
            items=[
                DownloadType(
                    line_id=strawberry.ID(str(link.line_id)),
                    entity_id=strawberry.ID(str(link.entity_id)) if link.entity_id else None,
                    sku=link.sku,
                    title=link.title,
                    media_asset_id=strawberry.ID(str(link.media_asset_id)),
                    filename=link.filename,
                    content_type=link.content_type,
                    byte_size=link.byte_size,
                    url=link.url,
                    expires_at=expires_at,
                )
                for link in links
            ],
            note=note,
        )


@strawberry.input(description="Changes to your profile: omitted fields stay as they are.")
class UpdateMyProfileInput:
    first_name: str | None = strawberry.field(
        default=UNSET, description="Given name; null clears it.", metadata=_schema(NAME_LENGTH)
    )
    last_name: str | None = strawberry.field(
        default=UNSET, description="Family name; null clears it.", metadata=_schema(NAME_LENGTH)
    )
    phone: str | None = strawberry.field(
        default=UNSET,
        description="Digits, spaces and + ( ) - . /, at least three digits; null clears it.",
        metadata=_schema(PHONE_LENGTH),
    )


@strawberry.input(description="A postal address to save.")
class AddMyAddressInput:
    line1: str = strawberry.field(
        description="The first address line: street and number.",
        metadata=_schema(ADDRESS_LINE_LENGTH),
    )
    city: str = strawberry.field(description="The city.", metadata=_schema(CITY_LENGTH))
    country: str = strawberry.field(
        description="An ISO 3166-1 alpha-2 country code, e.g. US or DE.",
        metadata={"jsonschema": {"minLength": 2, "maxLength": 2}},
    )
    first_name: str | None = strawberry.field(
        default=None, description="The addressee's given name.", metadata=_schema(NAME_LENGTH)
    )
    last_name: str | None = strawberry.field(
        default=None, description="The addressee's family name.", metadata=_schema(NAME_LENGTH)
    )
    company: str | None = strawberry.field(
        default=None, description="The company, if any.", metadata=_schema(COMPANY_LENGTH)
    )
    line2: str | None = strawberry.field(
        default=None,
        description="The second address line: flat, floor, building.",
        metadata=_schema(ADDRESS_LINE_LENGTH),
    )
    state: str | None = strawberry.field(
        default=None,
        description="The state, province or region.",
        metadata=_schema(STATE_LENGTH),
    )
    postal_code: str | None = strawberry.field(
        default=None,
        description="The postal or ZIP code.",
        metadata=_schema(POSTAL_CODE_LENGTH),
    )
    phone: str | None = strawberry.field(
        default=None, description="A phone number for the carrier.", metadata=_schema(PHONE_LENGTH)
    )
    default_shipping: bool = strawberry.field(
        default=False, description="Make it the default shipping address (taken from another)."
    )
    default_billing: bool = strawberry.field(
        default=False, description="Make it the default billing address (taken from another)."
    )


@strawberry.input(description="Which of your addresses to delete.")
class DeleteMyAddressInput:
    id: strawberry.ID = strawberry.field(description="The address's id.")


@strawberry.input(description="Which of your past orders to buy again.")
class ReorderInput:
    order_id: str = strawberry.field(description="The past order's id or number.")


@strawberry.type
class MeQueries:
    @strawberry.field(
        description="The signed-in customer's own records; null with UNAUTHORIZED without a "
        "signed-in session, FORBIDDEN for a user who is not a customer."
    )
    def me(self, info: Info) -> MeType | None:
        return MeType(customer_id=service.customer_of(info.context.actor))


@strawberry.type
class MeMutations:
    @strawberry.mutation(
        description="Change your own profile (a signed-in customer); emits customers.update."
    )
    async def update_my_profile(
        self,
        info: Info,
        input: Annotated[
            UpdateMyProfileInput, strawberry.argument(description="The details to change.")
        ],
    ) -> CustomerType:
        actor = info.context.actor
        customer_id = service.customer_of(actor)
        given: dict[str, Any] = {
            name: value
            for name, value in (
                ("first_name", input.first_name),
                ("last_name", input.last_name),
                ("phone", input.phone),
            )
            if value is not UNSET
        }
        async with info.context.command() as uow:
            row = await customer_service.update_customer(uow, actor, id=str(customer_id), **given)
            [customer] = await build_customers(uow.session, [row], Selected.of(info))
        return customer

    @strawberry.mutation(description="Save a postal address (a signed-in customer, at most 50).")
    async def add_my_address(
        self,
        info: Info,
        input: Annotated[AddMyAddressInput, strawberry.argument(description="The address.")],
    ) -> AddressType:
        actor = info.context.actor
        customer_id = service.customer_of(actor)
        new = address_service.NewAddress(
            line1=input.line1, city=input.city, country=input.country,
            first_name=input.first_name, last_name=input.last_name, company=input.company,
            line2=input.line2, state=input.state, postal_code=input.postal_code,
            phone=input.phone, default_shipping=input.default_shipping,
            default_billing=input.default_billing,
        )  # fmt: skip
        async with info.context.command() as uow:
            row = await address_service.add_address(uow, actor, customer_id, new)
        return AddressType.from_row(row)

    @strawberry.mutation(
        description="Delete one of your addresses (answered as it was); NOT_FOUND for anyone "
        "else's."
    )
    async def delete_my_address(
        self,
        info: Info,
        input: Annotated[DeleteMyAddressInput, strawberry.argument(description="The address.")],
    ) -> AddressType:
        actor = info.context.actor
        customer_id = service.customer_of(actor)
        async with info.context.command() as uow:
            row = await address_service.delete_address(uow, actor, customer_id, input.id)
        return AddressType.from_row(row)

    @strawberry.mutation(
        description="A new cart of yours from a past order, at today's prices; lines no longer "
        "sold (gone, inactive, unpriced, out of stock) are left out and listed in `skipped`."
    )
    async def reorder(
        self,
        info: Info,
        input: Annotated[ReorderInput, strawberry.argument(description="The past order.")],
    ) -> ReorderResultType:
        async with info.context.command() as uow:
            view, skipped = await service.reorder(uow, info.context.actor, input.order_id)
            cart = CartType.from_view(view)
        return ReorderResultType(
            cart=cart,
            skipped=[
                ReorderSkipType(
                    line_id=strawberry.ID(str(s.line_id)),
                    entity_id=strawberry.ID(str(s.entity_id)) if s.entity_id else None,
                    sku=s.sku,
                    title=s.title,
                    quantity=s.quantity,
                    reason=ReorderSkipReason.of(s.reason),
                    message=s.message,
                )
                for s in skipped
            ],
        )
