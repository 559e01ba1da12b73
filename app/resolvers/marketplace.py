"""GraphQL for the marketplace: vendors, their approval machine, and sub-orders.

`marketplace:admin` reaches every vendor and sub-order; a vendor's signed-in user reaches its
own (`myVendor`, `mySubOrders`, the sub-order moves) and finds every other vendor's NOT_FOUND.
Lists plan their relations ahead (`SubOrder.lines`, `SubOrder.vendor`, `Order.subOrders`,
one statement per selected level, DESIGN §8); anywhere else they load through the request's
DataLoaders.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any

import strawberry
from sqlalchemy.ext.asyncio import AsyncSession
from strawberry import Info
from strawberry.dataloader import DataLoader

from app.models.marketplace import SubOrder, Vendor
from app.resolvers.aftercare import VendorPerformanceType, vendor_performance
from app.resolvers.arguments import AfterArg, FirstArg, LimitArg, OffsetArg, PageArg, page_request
from app.resolvers.enums import SubOrderStatus, VendorStatus
from app.resolvers.ledger import vendor_balance
from app.resolvers.money import Money
from app.resolvers.orders import AddressInput, OrderLineType, address_of
from app.resolvers.pagination import Connection
from app.resolvers.permissions import requires
from app.resolvers.scalars import JSON
from app.resolvers.selection import Selected
from app.resolvers.vendor_documents import (
    DocumentStatusArg,
    VendorDocumentType,
    documents_of_vendor,
)
from app.services.marketplace import ADMIN
from app.services.marketplace import sub_orders as sub_order_service
from app.services.marketplace import vendors as service

if TYPE_CHECKING:
    from app.resolvers.context import Context


@strawberry.type(
    name="Vendor",
    description="A marketplace seller: its public profile and where it stands.",
)
class VendorType:
    id: strawberry.ID = strawberry.field(description="The vendor's id.")
    name: str = strawberry.field(description="Its name, as shoppers see it.")
    slug: str = strawberry.field(description="Its unique URL name.")
    email: str = strawberry.field(description="Its contact e-mail address.")
    description: str | None = strawberry.field(description="What it says about itself.")
    phone: str | None = strawberry.field(description="Its contact phone number.")
    website: str | None = strawberry.field(description="Its website (http or https).")
    address: JSON | None = strawberry.field(
        description="Its postal address: line1, line2, city, state, postalCode, country."
    )
    status: VendorStatus = strawberry.field(description="Where it stands; only ACTIVE sells.")
    approved_at: datetime | None = strawberry.field(description="When it was first approved.")
    created_at: datetime = strawberry.field(description="When it registered.")
    updated_at: datetime = strawberry.field(description="When it last changed.")
    reason: strawberry.Private[str | None] = None

    @strawberry.field(
        description="Why it was rejected or suspended: shown to marketplace:admin and to the "
        "vendor's own users only (null to anyone else, and when active or pending)."
    )
    def status_reason(self, info: Info) -> str | None:
        actor = info.context.actor
        return self.reason if actor.can(ADMIN) or actor.is_vendor(self.id) else None

    @strawberry.field(
        description="Its balance per currency (the sum of its balance entries): shown to "
        "marketplace:admin and to the vendor's own users only (null to anyone else).",
        graphql_type=list[Money] | None,
    )
    def balance(self, info: Info) -> Awaitable[list[Money]] | None:
        actor = info.context.actor
        if not (actor.can(ADMIN) or actor.is_vendor(self.id)):
            return None
        return vendor_balance(info.context, uuid.UUID(self.id))

    @strawberry.field(
        description="Its performance (ratings, fulfilment, on-time shipping, cancellations, "
        "disputes): shown to marketplace:admin and to the vendor's own users only (null to "
        "anyone else).",
        graphql_type=VendorPerformanceType | None,
    )
    def performance(self, info: Info) -> Awaitable[VendorPerformanceType] | None:
        actor = info.context.actor
        if not (actor.can(ADMIN) or actor.is_vendor(self.id)):
            return None
        return vendor_performance(info.context, uuid.UUID(self.id))

    @strawberry.field(
        description="Its documents, newest first, each with a signed link to its file: shown "
        "to marketplace:admin and to the vendor's own users only (null to anyone else). "
        "Batched: one statement for every vendor of the response.",
        graphql_type=list[VendorDocumentType] | None,
    )
    def documents(
        self, info: Info, status: DocumentStatusArg = None
    ) -> Awaitable[list[VendorDocumentType]] | None:
        actor = info.context.actor
        if not (actor.can(ADMIN) or actor.is_vendor(self.id)):
            return None
        return documents_of_vendor(info, self.id, status)

    @classmethod
    def from_row(cls, row: Vendor) -> VendorType:
        return cls(
            id=strawberry.ID(str(row.id)), name=row.name, slug=row.slug, email=row.email,
            description=row.description, phone=row.phone, website=row.website,
            address=JSON(row.address) if row.address is not None else None,
            status=VendorStatus.of(row.status),
            approved_at=row.approved_at, created_at=row.created_at, updated_at=row.updated_at,
            reason=row.status_reason,
        )  # fmt: skip


UNSET: Any = object()


@strawberry.type(
    name="SubOrder",
    description="One vendor's part of an order (or the house's part of an order that has "
    "vendor lines too): its lines, shipped and tracked on their own. Money in the order's "
    "currency.",
)
class SubOrderType:
    id: strawberry.ID = strawberry.field(description="The sub-order's id.")
    order_id: strawberry.ID = strawberry.field(description="The parent order's id.")
    order_number: str = strawberry.field(description="The parent order's number.")
    vendor_id: strawberry.ID | None = strawberry.field(
        description="The vendor's id; null for the house's own part."
    )
    status: SubOrderStatus = strawberry.field(description="Where it stands.")
    total: Money = strawberry.field(description="The sum of its lines' totals.")
    shipping_address: JSON | None = strawberry.field(
        description="Where to ship, as the order gives it."
    )
    tracking_number: str | None = strawberry.field(description="Set when it is shipped.")
    carrier: str | None = strawberry.field(description="Set when it is shipped.")
    cancel_reason: str | None = strawberry.field(description="Why it was cancelled.")
    confirmed_at: datetime | None = strawberry.field(description="When it was confirmed.")
    shipped_at: datetime | None = strawberry.field(description="When it was shipped.")
    delivered_at: datetime | None = strawberry.field(description="When it was delivered.")
    cancelled_at: datetime | None = strawberry.field(description="When it was cancelled.")
    created_at: datetime = strawberry.field(description="When checkout made it.")
    updated_at: datetime = strawberry.field(description="When it last changed.")
    currency: strawberry.Private[str] = "USD"
    prefetched_lines: strawberry.Private[list[OrderLineType] | None] = None
    prefetched_vendor: strawberry.Private[Any] = UNSET
    loaders: strawberry.Private[Any] = None

    @strawberry.field(
        description="Its lines (lines of the parent order).", graphql_type=list[OrderLineType]
    )
    def lines(self) -> list[OrderLineType] | Awaitable[list[OrderLineType]]:
        if self.prefetched_lines is not None:
            return self.prefetched_lines
        return _loaders(self.loaders).lines(self)

    @strawberry.field(
        description="The vendor selling it; null for the house's own part.",
        graphql_type=VendorType | None,
    )
    def vendor(self) -> VendorType | Awaitable[VendorType | None] | None:
        if self.prefetched_vendor is not UNSET:
            planned: VendorType | None = self.prefetched_vendor
            return planned
        if self.vendor_id is None:
            return None
        return _loaders(self.loaders).vendor(uuid.UUID(self.vendor_id))

    @classmethod
    def from_row(cls, row: SubOrder, loaders: MarketplaceLoaders | None = None) -> SubOrderType:
        return cls(
            id=strawberry.ID(str(row.id)), order_id=strawberry.ID(str(row.order_id)),
            order_number=row.order_number,
            vendor_id=strawberry.ID(str(row.vendor_id)) if row.vendor_id else None,
            status=SubOrderStatus.of(row.status),
            total=Money(amount=row.total, currency=row.currency),
            shipping_address=JSON(row.shipping_address) if row.shipping_address else None,
            tracking_number=row.tracking_number, carrier=row.carrier,
            cancel_reason=row.cancel_reason, confirmed_at=row.confirmed_at,
            shipped_at=row.shipped_at, delivered_at=row.delivered_at,
            cancelled_at=row.cancelled_at, created_at=row.created_at, updated_at=row.updated_at,
            currency=row.currency, loaders=loaders,
        )  # fmt: skip


async def build_sub_orders(
    context: Context, session: AsyncSession, rows: list[SubOrder], selected: Selected
) -> list[SubOrderType]:
    """Types for `rows`, with `lines` and `vendor` fetched in one statement each when
    selected."""
    loaders = marketplace_loaders(context)
    built = [SubOrderType.from_row(row, loaders) for row in rows]
    if rows and "lines" in selected:
        lines = await sub_order_service.lines_by_sub_order(session, [row.id for row in rows])
        for row, item in zip(rows, built, strict=True):
            item.prefetched_lines = [OrderLineType.from_row(x, row.currency) for x in lines[row.id]]
    if rows and "vendor" in selected:
        ids = [row.vendor_id for row in rows if row.vendor_id is not None]
        vendors = await service.vendors_by_id(session, ids)
        for row, item in zip(rows, built, strict=True):
            found = vendors.get(row.vendor_id) if row.vendor_id else None
            item.prefetched_vendor = VendorType.from_row(found) if found else None
    return built


async def prefetch_order_sub_orders(
    context: Context, session: AsyncSession, orders: list[Any], selected: Selected
) -> None:
    """`Order.subOrders` of a page of orders (OrderType), planned from the selection."""
    if not orders or "subOrders" not in selected:
        return
    ids = [uuid.UUID(order.id) for order in orders]
    found = await sub_order_service.sub_orders_by_order(session, ids)
    rows = [row for id in ids for row in found[id]]
    built = iter(await build_sub_orders(context, session, rows, selected.child("subOrders")))
    for order, id in zip(orders, ids, strict=True):
        order.prefetched_sub_orders = [next(built) for _ in found[id]]


@dataclass
class MarketplaceLoaders:
    """DESIGN §8's fallback, per request: a sub-order's lines and vendor, and an order's
    sub-orders, each batch read in a short session of its own."""

    context: Context
    _loaders: dict[str, DataLoader[Any, Any]] = field(default_factory=dict)

    def _loader(self, name: str, batch: Any) -> DataLoader[Any, Any]:
        if name not in self._loaders:
            self._loaders[name] = DataLoader(batch)
        return self._loaders[name]

    def lines(self, sub_order: SubOrderType) -> Awaitable[list[OrderLineType]]:
        async def batch(keys: list[tuple[uuid.UUID, str]]) -> list[list[OrderLineType]]:
            async with self.context.read() as session:
                found = await sub_order_service.lines_by_sub_order(session, [k for k, _ in keys])
            return [[OrderLineType.from_row(x, currency) for x in found[k]] for k, currency in keys]

        key = (uuid.UUID(sub_order.id), sub_order.currency)
        return self._loader("lines", batch).load(key)

    def vendor(self, id: uuid.UUID) -> Awaitable[VendorType | None]:
        async def batch(keys: list[uuid.UUID]) -> list[VendorType | None]:
            async with self.context.read() as session:
                found = await service.vendors_by_id(session, keys)
            return [VendorType.from_row(found[k]) if k in found else None for k in keys]

        return self._loader("vendor", batch).load(id)

    def of_order(self, id: uuid.UUID) -> Awaitable[list[SubOrderType]]:
        async def batch(keys: list[uuid.UUID]) -> list[list[SubOrderType]]:
            async with self.context.read() as session:
                found = await sub_order_service.sub_orders_by_order(session, keys)
            return [[SubOrderType.from_row(row, self) for row in found[k]] for k in keys]

        return self._loader("of_order", batch).load(id)


def marketplace_loaders(context: Context) -> MarketplaceLoaders:
    loaders = context.loaders.get("marketplace")
    if loaders is None:
        loaders = context.loaders["marketplace"] = MarketplaceLoaders(context)
    return loaders


def _loaders(loaders: MarketplaceLoaders | None) -> MarketplaceLoaders:
    if loaders is None:
        raise RuntimeError("a sub-order was built without the request's loaders")
    return loaders


# --- inputs ----------------------------------------------------------------------------------


@strawberry.input(description="A vendor to register; it starts pending approval.")
class RegisterVendorInput:
    name: str = strawberry.field(description="Its name, 1 to 200 characters.")
    email: str = strawberry.field(description="Its contact e-mail address.")
    slug: str | None = strawberry.field(
        default=None, description="Its unique URL name. Default: made from the name."
    )
    description: str | None = strawberry.field(default=None, description="At most 5000 chars.")
    phone: str | None = strawberry.field(default=None, description="At most 32 characters.")
    website: str | None = strawberry.field(default=None, description="An http or https URL.")
    address: AddressInput | None = strawberry.field(default=None, description="Its address.")
    user_id: strawberry.ID | None = strawberry.field(
        default=None,
        description="The user who will act for it (given the vendor role); only "
        "marketplace:admin may name someone else. Default: the signed-in user registering.",
    )


@strawberry.input(description="What to change on a vendor's profile; what is left out stays.")
class UpdateVendorInput:
    id: strawberry.ID | None = strawberry.field(
        default=None, description="The vendor's id. Default: the signed-in user's own vendor."
    )
    name: str | None = strawberry.field(default=None, description="1 to 200 characters.")
    slug: str | None = strawberry.field(default=None, description="A unique URL name.")
    email: str | None = strawberry.field(default=None, description="A contact e-mail address.")
    description: str | None = strawberry.field(default=None, description="At most 5000 chars.")
    phone: str | None = strawberry.field(default=None, description="At most 32 characters.")
    website: str | None = strawberry.field(default=None, description="An http or https URL.")
    address: AddressInput | None = strawberry.field(default=None, description="Its address.")


@strawberry.input(description="A vendor, by id, and why its status changes.")
class VendorStatusInput:
    id: strawberry.ID = strawberry.field(description="The vendor's id.")
    reason: str | None = strawberry.field(
        default=None,
        description="Why: required to reject or suspend (at most 500 characters), kept in "
        "the audit trail.",
    )


@strawberry.input(description="A sub-order, by id.")
class SubOrderIdInput:
    id: strawberry.ID = strawberry.field(description="The sub-order's id.")


@strawberry.input(description="A sub-order to ship, and how.")
class ShipSubOrderInput:
    id: strawberry.ID = strawberry.field(description="The sub-order's id.")
    tracking_number: str = strawberry.field(description="The carrier's tracking number.")
    carrier: str = strawberry.field(description="The carrier shipping it.")


@strawberry.input(description="A sub-order to cancel, and why.")
class CancelSubOrderInput:
    id: strawberry.ID = strawberry.field(description="The sub-order's id.")
    reason: str = strawberry.field(description="Why it is cancelled (at most 500 characters).")


@strawberry.input(description="A new status for a sub-order (marketplace:admin).")
class SetSubOrderStatusInput:
    id: strawberry.ID = strawberry.field(description="The sub-order's id.")
    status: SubOrderStatus = strawberry.field(description="One the current status allows.")
    tracking_number: str | None = strawberry.field(
        default=None, description="Required for SHIPPED."
    )
    carrier: str | None = strawberry.field(default=None, description="Required for SHIPPED.")
    reason: str | None = strawberry.field(
        default=None, description="Required for CANCELLED; kept in the audit trail."
    )


def _profile(input: RegisterVendorInput | UpdateVendorInput) -> service.VendorProfile:
    return service.VendorProfile(
        name=input.name, slug=input.slug, email=input.email, description=input.description,
        phone=input.phone, website=input.website, address=address_of(input.address),
    )  # fmt: skip


async def _sub_order_result(info: Info, row: SubOrder) -> SubOrderType:
    """A changed sub-order with what the mutation's selection asks for, as committed."""
    async with info.context.read() as session:
        [built] = await build_sub_orders(info.context, session, [row], Selected.of(info))
    return built


async def _move(info: Info, id: str, status: str, **given: str | None) -> SubOrderType:
    async with info.context.command() as uow:
        row = await sub_order_service.move_sub_order(
            uow, info.context.actor, id=id, status=status, **given
        )
    return await _sub_order_result(info, row)


async def _vendor_status(info: Info, input: VendorStatusInput, action: str) -> VendorType:
    async with info.context.command() as uow:
        row = await service.change_vendor_status(
            uow, info.context.actor, id=input.id, action=action, reason=input.reason
        )
    return VendorType.from_row(row)


StatusArg = Annotated[
    SubOrderStatus | None,
    strawberry.argument(description="Only sub-orders in this status. Default: all."),
]


@strawberry.type
class MarketplaceQueries:
    @strawberry.field(
        description="Vendors, newest first. Needs marketplace:admin.",
        permission_classes=[requires(ADMIN)],
    )
    async def vendors(
        self,
        info: Info,
        status: Annotated[
            VendorStatus | None,
            strawberry.argument(description="Only vendors in this status. Default: all."),
        ] = None,
        search: Annotated[
            str | None,
            strawberry.argument(description="A part of the name, any case (at most 200)."),
        ] = None,
        page: PageArg = None,
        limit: LimitArg = None,
        offset: OffsetArg = None,
        first: FirstArg = None,
        after: AfterArg = None,
    ) -> Connection[VendorType]:
        request = page_request(page=page, limit=limit, offset=offset, first=first, after=after)
        async with info.context.read() as session:
            result = await service.list_vendors(session, page=request, status=status, search=search)
        return Connection.of(result, [VendorType.from_row(row) for row in result.items])

    @strawberry.field(
        description="A vendor: marketplace:admin reads any, a vendor's user its own (any "
        "other is NOT_FOUND)."
    )
    async def vendor(
        self,
        info: Info,
        id: Annotated[strawberry.ID, strawberry.argument(description="The vendor's id.")],
    ) -> VendorType:
        async with info.context.read() as session:
            row = await service.get_vendor(session, info.context.actor, id)
        return VendorType.from_row(row)

    @strawberry.field(description="The signed-in vendor user's own vendor.")
    async def my_vendor(self, info: Info) -> VendorType:
        async with info.context.read() as session:
            row = await service.get_vendor(session, info.context.actor, None)
        return VendorType.from_row(row)

    @strawberry.field(
        description="Every sub-order, newest first. Needs marketplace:admin.",
        permission_classes=[requires(ADMIN)],
    )
    async def sub_orders(
        self,
        info: Info,
        vendor_id: Annotated[
            strawberry.ID | None, strawberry.argument(description="Only this vendor's.")
        ] = None,
        status: StatusArg = None,
        order_id: Annotated[
            strawberry.ID | None, strawberry.argument(description="Only this order's.")
        ] = None,
        page: PageArg = None,
        limit: LimitArg = None,
        offset: OffsetArg = None,
        first: FirstArg = None,
        after: AfterArg = None,
    ) -> Connection[SubOrderType]:
        request = page_request(page=page, limit=limit, offset=offset, first=first, after=after)
        async with info.context.read() as session:
            result = await sub_order_service.list_sub_orders(
                session, info.context.actor, page=request, vendor_id=vendor_id, status=status,
                order_id=order_id,
            )  # fmt: skip
            items = await build_sub_orders(
                info.context, session, result.items, Selected.of(info).items()
            )
        return Connection.of(result, items)

    @strawberry.field(
        description="A sub-order: marketplace:admin reads any, a vendor's user its own (any "
        "other is NOT_FOUND)."
    )
    async def sub_order(
        self,
        info: Info,
        id: Annotated[strawberry.ID, strawberry.argument(description="The sub-order's id.")],
    ) -> SubOrderType:
        async with info.context.read() as session:
            row = await sub_order_service.get_sub_order(session, info.context.actor, id)
            [built] = await build_sub_orders(info.context, session, [row], Selected.of(info))
        return built

    @strawberry.field(description="The signed-in vendor user's own sub-orders, newest first.")
    async def my_sub_orders(
        self,
        info: Info,
        status: StatusArg = None,
        page: PageArg = None,
        limit: LimitArg = None,
        offset: OffsetArg = None,
        first: FirstArg = None,
        after: AfterArg = None,
    ) -> Connection[SubOrderType]:
        request = page_request(page=page, limit=limit, offset=offset, first=first, after=after)
        async with info.context.read() as session:
            result = await sub_order_service.list_sub_orders(
                session, info.context.actor, page=request, mine=True, status=status
            )
            items = await build_sub_orders(
                info.context, session, result.items, Selected.of(info).items()
            )
        return Connection.of(result, items)


@strawberry.type
class MarketplaceMutations:
    @strawberry.mutation(
        description="Register a vendor (pending approval). A signed-in user registers their "
        "own and becomes its user; marketplace:admin may register one for anyone."
    )
    async def register_vendor(
        self,
        info: Info,
        input: Annotated[RegisterVendorInput, strawberry.argument(description="Its profile.")],
    ) -> VendorType:
        async with info.context.command() as uow:
            row = await service.register_vendor(
                uow, info.context.actor, profile=_profile(input), user_id=input.user_id
            )
        return VendorType.from_row(row)

    @strawberry.mutation(
        description="Change a vendor's profile: marketplace:admin any vendor's, a vendor's "
        "user its own (in any status)."
    )
    async def update_vendor(
        self,
        info: Info,
        input: Annotated[UpdateVendorInput, strawberry.argument(description="What to change.")],
    ) -> VendorType:
        async with info.context.command() as uow:
            row = await service.update_vendor(
                uow, info.context.actor, id=input.id, profile=_profile(input)
            )
        return VendorType.from_row(row)

    @strawberry.mutation(
        description="Approve a pending vendor (it becomes active). Needs marketplace:admin.",
        permission_classes=[requires(ADMIN)],
    )
    async def approve_vendor(
        self,
        info: Info,
        input: Annotated[VendorStatusInput, strawberry.argument(description="The vendor.")],
    ) -> VendorType:
        return await _vendor_status(info, input, "approve")

    @strawberry.mutation(
        description="Reject a pending vendor, with a reason. Needs marketplace:admin.",
        permission_classes=[requires(ADMIN)],
    )
    async def reject_vendor(
        self,
        info: Info,
        input: Annotated[VendorStatusInput, strawberry.argument(description="The vendor.")],
    ) -> VendorType:
        return await _vendor_status(info, input, "reject")

    @strawberry.mutation(
        description="Suspend an active vendor, with a reason. Needs marketplace:admin.",
        permission_classes=[requires(ADMIN)],
    )
    async def suspend_vendor(
        self,
        info: Info,
        input: Annotated[VendorStatusInput, strawberry.argument(description="The vendor.")],
    ) -> VendorType:
        return await _vendor_status(info, input, "suspend")

    @strawberry.mutation(
        description="Reinstate a suspended vendor. Needs marketplace:admin.",
        permission_classes=[requires(ADMIN)],
    )
    async def reinstate_vendor(
        self,
        info: Info,
        input: Annotated[VendorStatusInput, strawberry.argument(description="The vendor.")],
    ) -> VendorType:
        return await _vendor_status(info, input, "reinstate")

    @strawberry.mutation(
        description="Confirm a pending sub-order: its vendor's user (vendor active) or "
        "marketplace:admin."
    )
    async def confirm_sub_order(
        self,
        info: Info,
        input: Annotated[SubOrderIdInput, strawberry.argument(description="The sub-order.")],
    ) -> SubOrderType:
        return await _move(info, input.id, "confirmed")

    @strawberry.mutation(
        description="Ship a confirmed sub-order with its tracking number and carrier: its "
        "vendor's user (vendor active) or marketplace:admin."
    )
    async def ship_sub_order(
        self,
        info: Info,
        input: Annotated[ShipSubOrderInput, strawberry.argument(description="The shipment.")],
    ) -> SubOrderType:
        return await _move(
            info, input.id, "shipped", tracking_number=input.tracking_number,
            carrier=input.carrier,
        )  # fmt: skip

    @strawberry.mutation(
        description="Mark a shipped sub-order delivered: its vendor's user (vendor active) or "
        "marketplace:admin."
    )
    async def deliver_sub_order(
        self,
        info: Info,
        input: Annotated[SubOrderIdInput, strawberry.argument(description="The sub-order.")],
    ) -> SubOrderType:
        return await _move(info, input.id, "delivered")

    @strawberry.mutation(
        description="Cancel a pending or confirmed sub-order, giving its stock back (no "
        "refund yet): its vendor's user (vendor active) or marketplace:admin."
    )
    async def cancel_sub_order(
        self,
        info: Info,
        input: Annotated[CancelSubOrderInput, strawberry.argument(description="What and why.")],
    ) -> SubOrderType:
        return await _move(info, input.id, "cancelled", reason=input.reason)

    @strawberry.mutation(
        description="Move any sub-order along its machine. Needs marketplace:admin.",
        permission_classes=[requires(ADMIN)],
    )
    async def set_sub_order_status(
        self,
        info: Info,
        input: Annotated[
            SetSubOrderStatusInput, strawberry.argument(description="The new status.")
        ],
    ) -> SubOrderType:
        return await _move(
            info, input.id, input.status, tracking_number=input.tracking_number,
            carrier=input.carrier, reason=input.reason,
        )  # fmt: skip
