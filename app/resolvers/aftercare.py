"""GraphQL for the marketplace's aftercare: reviews, disputes, returns and vendor performance.

Who reaches what is the services' (app/services/marketplace/aftercare.py): marketplace:admin
every record, a vendor's user its vendor's, a signed-in customer their own; anything else out
of reach is NOT_FOUND. `Return.lines` of a page are fetched in one statement when selected
(DESIGN §8), through the request's loader otherwise; `Vendor.performance` batches vendors.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable
from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any

import strawberry
from sqlalchemy.ext.asyncio import AsyncSession
from strawberry import Info
from strawberry.dataloader import DataLoader

from app.models.aftercare import Dispute, Return, ReturnLine, Review
from app.resolvers.arguments import AfterArg, FirstArg, LimitArg, OffsetArg, PageArg, page_request
from app.resolvers.enums import (
    DisputeOutcome,
    DisputeParty,
    DisputeReason,
    DisputeStatus,
    ReturnStatus,
)
from app.resolvers.money import Money
from app.resolvers.pagination import Connection
from app.resolvers.permissions import requires
from app.resolvers.selection import Selected
from app.services.marketplace import ADMIN
from app.services.marketplace import disputes as dispute_service
from app.services.marketplace import performance as performance_service
from app.services.marketplace import returns as return_service
from app.services.marketplace import reviews as review_service

if TYPE_CHECKING:
    from app.resolvers.context import Context


# --- types -----------------------------------------------------------------------------------


@strawberry.type(
    name="Review", description="A customer's rating of a vendor for one delivered sub-order."
)
class ReviewType:
    id: strawberry.ID = strawberry.field(description="The review's id.")
    vendor_id: strawberry.ID = strawberry.field(description="The vendor reviewed.")
    sub_order_id: strawberry.ID = strawberry.field(description="The sub-order it is about.")
    rating: int = strawberry.field(description="From 1 (worst) to 5 (best).")
    title: str | None = strawberry.field(description="Its title.")
    body: str | None = strawberry.field(description="What the customer says.")
    created_at: datetime = strawberry.field(description="When it was written.")
    updated_at: datetime = strawberry.field(description="When it last changed.")

    @classmethod
    def from_row(cls, row: Review) -> ReviewType:
        return cls(
            id=strawberry.ID(str(row.id)), vendor_id=strawberry.ID(str(row.vendor_id)),
            sub_order_id=strawberry.ID(str(row.sub_order_id)), rating=row.rating,
            title=row.title, body=row.body, created_at=row.created_at,
            updated_at=row.updated_at,
        )  # fmt: skip


@strawberry.type(
    name="Dispute",
    description="A customer's complaint about a delivered sub-order: answered by its vendor, "
    "decided by the marketplace.",
)
class DisputeType:
    id: strawberry.ID = strawberry.field(description="The dispute's id.")
    sub_order_id: strawberry.ID = strawberry.field(description="The sub-order disputed.")
    vendor_id: strawberry.ID = strawberry.field(description="The sub-order's vendor.")
    status: DisputeStatus = strawberry.field(description="Where it stands.")
    reason: DisputeReason = strawberry.field(description="What it is about.")
    message: str = strawberry.field(description="The customer's message.")
    response: str | None = strawberry.field(description="The vendor's answer.")
    escalated_by: DisputeParty | None = strawberry.field(description="Who escalated it.")
    escalation_message: str | None = strawberry.field(description="Why it was escalated.")
    outcome: DisputeOutcome | None = strawberry.field(description="How it was resolved.")
    refund_amount: Money | None = strawberry.field(description="What its resolution refunded.")
    resolution_note: str | None = strawberry.field(description="The marketplace's note.")
    created_at: datetime = strawberry.field(description="When it was opened.")
    updated_at: datetime = strawberry.field(description="When it last changed.")
    responded_at: datetime | None = strawberry.field(description="When the vendor answered.")
    escalated_at: datetime | None = strawberry.field(description="When it was escalated.")
    resolved_at: datetime | None = strawberry.field(description="When it was resolved.")

    @classmethod
    def from_row(cls, row: Dispute) -> DisputeType:
        refund = row.refund_amount
        return cls(
            id=strawberry.ID(str(row.id)), sub_order_id=strawberry.ID(str(row.sub_order_id)),
            vendor_id=strawberry.ID(str(row.vendor_id)), status=row.status,  # type: ignore[arg-type]
            reason=row.reason, message=row.message, response=row.response,  # type: ignore[arg-type]
            escalated_by=row.escalated_by, escalation_message=row.escalation_message,  # type: ignore[arg-type]
            outcome=row.outcome,  # type: ignore[arg-type]
            refund_amount=Money(amount=refund, currency=row.currency) if refund else None,
            resolution_note=row.resolution_note, created_at=row.created_at,
            updated_at=row.updated_at, responded_at=row.responded_at,
            escalated_at=row.escalated_at, resolved_at=row.resolved_at,
        )  # fmt: skip


@strawberry.type(name="ReturnLine", description="Units of one order line in a return.")
class ReturnLineType:
    id: strawberry.ID = strawberry.field(description="The return line's id.")
    line_id: strawberry.ID = strawberry.field(description="The order line returned.")
    quantity: int = strawberry.field(description="Units returned.")
    amount: Money = strawberry.field(description="What those units cost (refunded on receipt).")

    @classmethod
    def from_row(cls, row: ReturnLine, currency: str) -> ReturnLineType:
        return cls(
            id=strawberry.ID(str(row.id)), line_id=strawberry.ID(str(row.order_line_id)),
            quantity=row.quantity, amount=Money(amount=row.amount, currency=currency),
        )  # fmt: skip


@strawberry.type(
    name="Return",
    description="Units of a delivered sub-order going back to its vendor: requested, shipped "
    "back, received (restocked and refunded).",
)
class ReturnType:
    id: strawberry.ID = strawberry.field(description="The return's id.")
    sub_order_id: strawberry.ID = strawberry.field(description="The sub-order returned from.")
    vendor_id: strawberry.ID = strawberry.field(description="The sub-order's vendor.")
    status: ReturnStatus = strawberry.field(description="Where it stands.")
    reason: str = strawberry.field(description="Why the customer returns the units.")
    amount: Money = strawberry.field(description="What the units cost: refunded on receipt.")
    tracking_number: str | None = strawberry.field(description="Set when shipped back.")
    carrier: str | None = strawberry.field(description="Set when shipped back.")
    created_at: datetime = strawberry.field(description="When it was requested.")
    updated_at: datetime = strawberry.field(description="When it last changed.")
    shipped_back_at: datetime | None = strawberry.field(description="When it was shipped back.")
    received_at: datetime | None = strawberry.field(description="When the vendor received it.")
    currency: strawberry.Private[str] = "USD"
    prefetched_lines: strawberry.Private[list[ReturnLineType] | None] = None
    context: strawberry.Private[Any] = None

    @strawberry.field(description="Its lines.", graphql_type=list[ReturnLineType])
    def lines(self) -> list[ReturnLineType] | Awaitable[list[ReturnLineType]]:
        if self.prefetched_lines is not None:
            return self.prefetched_lines
        return _return_lines(self.context, uuid.UUID(self.id), self.currency)

    @classmethod
    def from_row(cls, row: Return, context: Context | None = None) -> ReturnType:
        return cls(
            id=strawberry.ID(str(row.id)), sub_order_id=strawberry.ID(str(row.sub_order_id)),
            vendor_id=strawberry.ID(str(row.vendor_id)), status=row.status,  # type: ignore[arg-type]
            reason=row.reason, amount=Money(amount=row.amount, currency=row.currency),
            tracking_number=row.tracking_number, carrier=row.carrier,
            created_at=row.created_at, updated_at=row.updated_at,
            shipped_back_at=row.shipped_back_at, received_at=row.received_at,
            currency=row.currency, context=context,
        )  # fmt: skip


def _return_lines(
    context: Context, id: uuid.UUID, currency: str
) -> Awaitable[list[ReturnLineType]]:
    loader = context.loaders.get("return_lines")
    if loader is None:

        async def batch(keys: list[tuple[uuid.UUID, str]]) -> list[list[ReturnLineType]]:
            async with context.read() as session:
                found = await return_service.lines_by_return(session, [k for k, _ in keys])
            return [[ReturnLineType.from_row(x, c) for x in found[k]] for k, c in keys]

        loader = context.loaders["return_lines"] = DataLoader(batch)
    return loader.load((id, currency))


async def build_returns(
    context: Context, session: AsyncSession, rows: list[Return], selected: Selected
) -> list[ReturnType]:
    """Types for `rows`, with their lines in one statement when selected."""
    built = [ReturnType.from_row(row, context) for row in rows]
    if rows and "lines" in selected:
        lines = await return_service.lines_by_return(session, [row.id for row in rows])
        for row, item in zip(rows, built, strict=True):
            item.prefetched_lines = [
                ReturnLineType.from_row(x, row.currency) for x in lines[row.id]
            ]
    return built


@strawberry.type(
    name="VendorPerformance",
    description="A vendor's performance, computed from its sub-orders, reviews and disputes "
    "when asked. A rate is a fraction from 0 to 1, null when there is nothing to count.",
)
class VendorPerformanceType:
    vendor_id: strawberry.ID = strawberry.field(description="The vendor.")
    rating_average: float | None = strawberry.field(
        description="The average rating of its reviews (2 decimals); null with none."
    )
    rating_count: int = strawberry.field(description="How many reviews it has.")
    sub_order_count: int = strawberry.field(description="All its sub-orders.")
    delivered_count: int = strawberry.field(description="Its delivered sub-orders.")
    shipped_count: int = strawberry.field(description="Its sub-orders shipped or delivered.")
    shipped_on_time_count: int = strawberry.field(
        description="Of those, shipped within shipWithinHours of checkout."
    )
    cancelled_count: int = strawberry.field(description="Its cancelled sub-orders (any cause).")
    cancelled_by_vendor_count: int = strawberry.field(
        description="Its sub-orders cancelled by its own users."
    )
    disputed_count: int = strawberry.field(description="Its sub-orders with a dispute.")
    ship_within_hours: int = strawberry.field(
        description="The on-time window (CARTOGRAPH_VENDOR_SHIP_WITHIN_HOURS)."
    )
    fulfilment_rate: float | None = strawberry.field(
        description="delivered / (delivered + cancelled by the vendor)."
    )
    on_time_shipping_rate: float | None = strawberry.field(description="shipped on time / shipped.")
    cancellation_rate: float | None = strawberry.field(
        description="cancelled by the vendor / all sub-orders."
    )
    dispute_rate: float | None = strawberry.field(
        description="sub-orders with a dispute / delivered sub-orders."
    )

    @classmethod
    def of(cls, found: performance_service.Performance) -> VendorPerformanceType:
        return cls(
            vendor_id=strawberry.ID(str(found.vendor_id)), rating_average=found.rating_average,
            rating_count=found.rating_count, sub_order_count=found.sub_order_count,
            delivered_count=found.delivered_count, shipped_count=found.shipped_count,
            shipped_on_time_count=found.shipped_on_time_count,
            cancelled_count=found.cancelled_count,
            cancelled_by_vendor_count=found.cancelled_by_vendor_count,
            disputed_count=found.disputed_count, ship_within_hours=found.ship_within_hours,
            fulfilment_rate=found.fulfilment_rate,
            on_time_shipping_rate=found.on_time_shipping_rate,
            cancellation_rate=found.cancellation_rate, dispute_rate=found.dispute_rate,
        )  # fmt: skip


def vendor_performance(context: Context, vendor_id: uuid.UUID) -> Awaitable[VendorPerformanceType]:
    """`Vendor.performance` through the request's loader: one batch for the page's vendors."""
    loader = context.loaders.get("vendor_performance")
    if loader is None:

        async def batch(keys: list[uuid.UUID]) -> list[VendorPerformanceType]:
            async with context.read() as session:
                found = await performance_service.performances(
                    session, keys, ship_within_hours=context.vendor_ship_within_hours
                )
            return [VendorPerformanceType.of(found[key]) for key in keys]

        loader = context.loaders["vendor_performance"] = DataLoader(batch)
    return loader.load(vendor_id)


# --- inputs ----------------------------------------------------------------------------------


@strawberry.input(description="A review of a vendor for one of your delivered sub-orders.")
class CreateReviewInput:
    vendor_id: strawberry.ID = strawberry.field(description="The vendor reviewed.")
    sub_order_id: strawberry.ID = strawberry.field(
        description="Your delivered sub-order of that vendor (one review each)."
    )
    rating: int = strawberry.field(description="From 1 (worst) to 5 (best).")
    title: str | None = strawberry.field(default=None, description="At most 200 characters.")
    body: str | None = strawberry.field(default=None, description="At most 5000 characters.")


@strawberry.input(description="What to change on your review; what is left out stays.")
class UpdateReviewInput:
    id: strawberry.ID = strawberry.field(description="The review's id.")
    vendor_id: strawberry.ID | None = strawberry.field(
        default=None, description="The vendor reviewed: when given, it must be the review's."
    )
    rating: int | None = strawberry.field(default=None, description="From 1 to 5.")
    title: str | None = strawberry.field(
        default=None, description="At most 200 characters; empty clears it."
    )
    body: str | None = strawberry.field(
        default=None, description="At most 5000 characters; empty clears it."
    )


@strawberry.input(description="A dispute about one of your delivered sub-orders.")
class OpenDisputeInput:
    sub_order_id: strawberry.ID = strawberry.field(description="Your delivered sub-order.")
    reason: DisputeReason = strawberry.field(description="What it is about.")
    message: str = strawberry.field(description="What happened (at most 2000 characters).")


@strawberry.input(description="The vendor's answer to a dispute.")
class RespondToDisputeInput:
    id: strawberry.ID = strawberry.field(description="The dispute's id.")
    message: str = strawberry.field(description="The answer (at most 2000 characters).")


@strawberry.input(description="A dispute to escalate, and why.")
class EscalateDisputeInput:
    id: strawberry.ID = strawberry.field(description="The dispute's id.")
    message: str | None = strawberry.field(
        default=None, description="Why (optional, at most 2000 characters)."
    )


@strawberry.input(description="How marketplace:admin settles a dispute.")
class ResolveDisputeInput:
    id: strawberry.ID = strawberry.field(description="The dispute's id.")
    outcome: DisputeOutcome = strawberry.field(description="The decision.")
    amount: int | None = strawberry.field(
        default=None,
        description="REFUND_PARTIAL only: the amount to refund (minor units), at most what is "
        "left to refund on the sub-order.",
    )
    note: str = strawberry.field(description="Why (at most 500 characters).")


@strawberry.input(description="Units of one line of the sub-order to return.")
class ReturnLineInput:
    line_id: strawberry.ID = strawberry.field(description="The order line (of the sub-order).")
    quantity: int = strawberry.field(
        description="Units: at least 1, at most the line's quantity less earlier returns."
    )


@strawberry.input(description="A return of units of one of your delivered sub-orders.")
class CreateReturnInput:
    sub_order_id: strawberry.ID = strawberry.field(description="Your delivered sub-order.")
    lines: list[ReturnLineInput] = strawberry.field(description="1 to 100 lines, each once.")
    reason: str = strawberry.field(description="Why (at most 500 characters).")


@strawberry.input(description="A return shipped back, and how.")
class ShipBackReturnInput:
    id: strawberry.ID = strawberry.field(description="The return's id.")
    tracking_number: str = strawberry.field(description="The carrier's tracking number.")
    carrier: str = strawberry.field(description="The carrier.")


@strawberry.input(description="A return, by id.")
class ReturnIdInput:
    id: strawberry.ID = strawberry.field(description="The return's id.")


RatingArg = Annotated[
    int | None, strawberry.argument(description="Only reviews of this rating (1-5).")
]
VendorFilterArg = Annotated[
    strawberry.ID | None, strawberry.argument(description="Only this vendor's.")
]
SubOrderFilterArg = Annotated[
    strawberry.ID | None, strawberry.argument(description="Only this sub-order's.")
]


async def _returns_result(info: Info, row: Return) -> ReturnType:
    async with info.context.read() as session:
        [built] = await build_returns(info.context, session, [row], Selected.of(info))
    return built


@strawberry.type
class AftercareQueries:
    @strawberry.field(
        description="A vendor's reviews, newest first: public for an active vendor; for "
        "another status only marketplace:admin and the vendor's users see them."
    )
    async def vendor_reviews(
        self,
        info: Info,
        vendor_id: Annotated[strawberry.ID, strawberry.argument(description="The vendor.")],
        rating: RatingArg = None,
        page: PageArg = None,
        limit: LimitArg = None,
        offset: OffsetArg = None,
        first: FirstArg = None,
        after: AfterArg = None,
    ) -> Connection[ReviewType]:
        request = page_request(page=page, limit=limit, offset=offset, first=first, after=after)
        async with info.context.read() as session:
            result = await review_service.list_reviews(
                session, info.context.actor, page=request, vendor_id=vendor_id, rating=rating
            )
        return Connection.of(result, [ReviewType.from_row(row) for row in result.items])

    @strawberry.field(description="The reviews the signed-in vendor user's vendor received.")
    async def my_reviews(
        self,
        info: Info,
        rating: RatingArg = None,
        page: PageArg = None,
        limit: LimitArg = None,
        offset: OffsetArg = None,
        first: FirstArg = None,
        after: AfterArg = None,
    ) -> Connection[ReviewType]:
        request = page_request(page=page, limit=limit, offset=offset, first=first, after=after)
        async with info.context.read() as session:
            result = await review_service.list_reviews(
                session, info.context.actor, page=request, mine=True, rating=rating
            )
        return Connection.of(result, [ReviewType.from_row(row) for row in result.items])

    @strawberry.field(
        description="Disputes, newest first: marketplace:admin all, a vendor's user its "
        "vendor's, a signed-in customer their own."
    )
    async def disputes(
        self,
        info: Info,
        status: Annotated[
            DisputeStatus | None, strawberry.argument(description="Only in this status.")
        ] = None,
        vendor_id: VendorFilterArg = None,
        sub_order_id: SubOrderFilterArg = None,
        page: PageArg = None,
        limit: LimitArg = None,
        offset: OffsetArg = None,
        first: FirstArg = None,
        after: AfterArg = None,
    ) -> Connection[DisputeType]:
        request = page_request(page=page, limit=limit, offset=offset, first=first, after=after)
        async with info.context.read() as session:
            result = await dispute_service.list_disputes(
                session, info.context.actor, page=request, status=status, vendor_id=vendor_id,
                sub_order_id=sub_order_id,
            )  # fmt: skip
        return Connection.of(result, [DisputeType.from_row(row) for row in result.items])

    @strawberry.field(
        description="A dispute: marketplace:admin any, its vendor's user and its customer "
        "their own (any other is NOT_FOUND)."
    )
    async def dispute(
        self,
        info: Info,
        id: Annotated[strawberry.ID, strawberry.argument(description="The dispute's id.")],
    ) -> DisputeType:
        async with info.context.read() as session:
            row = await dispute_service.get_dispute(session, info.context.actor, id)
        return DisputeType.from_row(row)

    @strawberry.field(
        description="Returns, newest first: marketplace:admin all, a vendor's user its "
        "vendor's, a signed-in customer their own."
    )
    async def returns(
        self,
        info: Info,
        status: Annotated[
            ReturnStatus | None, strawberry.argument(description="Only in this status.")
        ] = None,
        vendor_id: VendorFilterArg = None,
        sub_order_id: SubOrderFilterArg = None,
        page: PageArg = None,
        limit: LimitArg = None,
        offset: OffsetArg = None,
        first: FirstArg = None,
        after: AfterArg = None,
    ) -> Connection[ReturnType]:
        request = page_request(page=page, limit=limit, offset=offset, first=first, after=after)
        async with info.context.read() as session:
            result = await return_service.list_returns(
                session, info.context.actor, page=request, status=status, vendor_id=vendor_id,
                sub_order_id=sub_order_id,
            )  # fmt: skip
            items = await build_returns(
                info.context, session, result.items, Selected.of(info).items()
            )
        return Connection.of(result, items)

    @strawberry.field(
        name="return",
        description="A return: marketplace:admin any, its vendor's user and its customer "
        "their own (any other is NOT_FOUND).",
    )
    async def return_(
        self,
        info: Info,
        id: Annotated[strawberry.ID, strawberry.argument(description="The return's id.")],
    ) -> ReturnType:
        async with info.context.read() as session:
            row = await return_service.get_return(session, info.context.actor, id)
            [built] = await build_returns(info.context, session, [row], Selected.of(info))
        return built

    @strawberry.field(
        description="A vendor's performance: marketplace:admin any vendor's, a vendor's user "
        "its own (any other is NOT_FOUND)."
    )
    async def vendor_performance(
        self,
        info: Info,
        vendor_id: Annotated[strawberry.ID, strawberry.argument(description="The vendor.")],
    ) -> VendorPerformanceType:
        context = info.context
        async with context.read() as session:
            found = await performance_service.vendor_performance(
                session, context.actor, vendor_id=vendor_id,
                ship_within_hours=context.vendor_ship_within_hours,
            )  # fmt: skip
        return VendorPerformanceType.of(found)


@strawberry.type
class AftercareMutations:
    @strawberry.mutation(
        description="Review a vendor for one of your delivered sub-orders of it (a signed-in "
        "customer; once per sub-order, a second is CONFLICT)."
    )
    async def create_review(
        self,
        info: Info,
        input: Annotated[CreateReviewInput, strawberry.argument(description="The review.")],
    ) -> ReviewType:
        async with info.context.command() as uow:
            row = await review_service.create_review(
                uow, info.context.actor, vendor_id=input.vendor_id,
                sub_order_id=input.sub_order_id, rating=input.rating, title=input.title,
                body=input.body,
            )  # fmt: skip
        return ReviewType.from_row(row)

    @strawberry.mutation(description="Change your review (its author only; others NOT_FOUND).")
    async def update_review(
        self,
        info: Info,
        input: Annotated[UpdateReviewInput, strawberry.argument(description="What to change.")],
    ) -> ReviewType:
        async with info.context.command() as uow:
            row = await review_service.update_review(
                uow, info.context.actor, vendor_id=input.vendor_id, id=input.id,
                rating=input.rating, title=input.title, body=input.body,
            )  # fmt: skip
        return ReviewType.from_row(row)

    @strawberry.mutation(
        description="Open a dispute about one of your delivered sub-orders (a signed-in "
        "customer; one unresolved dispute per sub-order)."
    )
    async def open_dispute(
        self,
        info: Info,
        input: Annotated[OpenDisputeInput, strawberry.argument(description="The dispute.")],
    ) -> DisputeType:
        async with info.context.command() as uow:
            row = await dispute_service.open_dispute(
                uow, info.context.actor, sub_order_id=input.sub_order_id, reason=input.reason,
                message=input.message,
            )  # fmt: skip
        return DisputeType.from_row(row)

    @strawberry.mutation(
        description="Answer an open dispute on your vendor's sub-order (its vendor's user): "
        "OPEN -> RESPONDED."
    )
    async def respond_to_dispute(
        self,
        info: Info,
        input: Annotated[RespondToDisputeInput, strawberry.argument(description="The answer.")],
    ) -> DisputeType:
        async with info.context.command() as uow:
            row = await dispute_service.respond_to_dispute(
                uow, info.context.actor, id=input.id, message=input.message
            )
        return DisputeType.from_row(row)

    @strawberry.mutation(
        description="Ask the marketplace to decide (the dispute's customer or vendor): OPEN "
        "or RESPONDED -> ESCALATED."
    )
    async def escalate_dispute(
        self,
        info: Info,
        input: Annotated[EscalateDisputeInput, strawberry.argument(description="The dispute.")],
    ) -> DisputeType:
        async with info.context.command() as uow:
            row = await dispute_service.escalate_dispute(
                uow, info.context.actor, id=input.id, message=input.message
            )
        return DisputeType.from_row(row)

    @strawberry.mutation(
        description="Decide a dispute, refunding through the vendor's ledger and the order's "
        "payment as the outcome says. Needs marketplace:admin.",
        permission_classes=[requires(ADMIN)],
    )
    async def resolve_dispute(
        self,
        info: Info,
        input: Annotated[ResolveDisputeInput, strawberry.argument(description="The decision.")],
    ) -> DisputeType:
        context = info.context
        row = await dispute_service.resolve_dispute(
            context.database, context.actor, id=input.id, outcome=input.outcome,
            amount=input.amount, note=input.note, request_id=context.request_id,
        )  # fmt: skip
        return DisputeType.from_row(row)

    @strawberry.mutation(
        description="Ask to return units of one of your delivered sub-orders (a signed-in "
        "customer)."
    )
    async def create_return(
        self,
        info: Info,
        input: Annotated[CreateReturnInput, strawberry.argument(description="The return.")],
    ) -> ReturnType:
        async with info.context.command() as uow:
            row = await return_service.create_return(
                uow, info.context.actor, sub_order_id=input.sub_order_id,
                lines=[(line.line_id, line.quantity) for line in input.lines],
                reason=input.reason,
            )  # fmt: skip
        return await _returns_result(info, row)

    @strawberry.mutation(
        description="Say you shipped a return back (its customer): REQUESTED -> SHIPPED_BACK."
    )
    async def ship_back_return(
        self,
        info: Info,
        input: Annotated[ShipBackReturnInput, strawberry.argument(description="The shipment.")],
    ) -> ReturnType:
        async with info.context.command() as uow:
            row = await return_service.ship_back(
                uow, info.context.actor, id=input.id, tracking_number=input.tracking_number,
                carrier=input.carrier,
            )  # fmt: skip
        return await _returns_result(info, row)

    @strawberry.mutation(
        description="Receive a shipped-back return (its vendor's user while active, or "
        "marketplace:admin): SHIPPED_BACK -> RECEIVED, restocking the units and refunding "
        "them through the vendor's ledger and the order's payment."
    )
    async def receive_return(
        self,
        info: Info,
        input: Annotated[ReturnIdInput, strawberry.argument(description="The return.")],
    ) -> ReturnType:
        context = info.context
        row = await return_service.receive_return(
            context.database, context.actor, id=input.id, request_id=context.request_id
        )
        return await _returns_result(info, row)
