"""GraphQL for checkout and orders."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable
from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any

import strawberry
from sqlalchemy.ext.asyncio import AsyncSession
from strawberry import Info

from app.models.orders import Fulfillment, Order, OrderLine, Payment
from app.resolvers.arguments import AfterArg, FirstArg, LimitArg, OffsetArg, PageArg, page_request
from app.resolvers.enums import (
    FulfillmentStatus,
    OrderPaymentStatus,
    OrderStatus,
    PaymentKind,
    PaymentStatus,
)
from app.resolvers.money import Money
from app.resolvers.pagination import Connection
from app.resolvers.permissions import requires
from app.resolvers.rows import from_row
from app.resolvers.scalars import JSON
from app.resolvers.selection import Selected
from app.services import fulfillments as fulfillment_service
from app.services import orders as service
from app.services.catalog import variants as variant_service
from app.services.checkout import (
    CheckoutRequest,
    checkout,
    pay_order,
    place_order,
    run_after_hooks,
)
from app.services.orders import OrderView

if TYPE_CHECKING:
    from app.resolvers.marketplace import SubOrderType


@strawberry.type(
    description=(
        "A line of an order: a snapshot of the item as it was bought. Money fields "
        "are in the order's currency."
    ),
    name="OrderLine",
)
class OrderLineType:
    id: strawberry.ID = strawberry.field(description="The order line's id.")
    entity_id: strawberry.ID | None = strawberry.field(
        description="The id of the catalog entity (product) bought; null if it no longer exists."
    )
    variant_id: strawberry.ID | None = strawberry.field(
        description=(
            "The id of the variant bought; null for a product without variants or one "
            "that no longer exists."
        )
    )
    sku: str | None = strawberry.field(description="The SKU bought, as it was then.")
    title: str | None = strawberry.field(description="The product's title, as it was then.")
    quantity: int = strawberry.field(description="How many units were bought.")
    list_price: Money = strawberry.field(description="The unit's list price.")
    unit_price: Money = strawberry.field(description="The unit's price after price modifiers.")
    discount: Money = strawberry.field(description="The line's share of the promotion discount.")
    total: Money = strawberry.field(description="unitPrice x quantity - discount.")
    refunded_quantity: int = strawberry.field(description="Units refunded by line.")

    @classmethod
    def from_row(cls, row: OrderLine, currency: str) -> OrderLineType:
        return from_row(
            cls, row,
            list_price=Money(amount=row.list_price, currency=currency),
            unit_price=Money(amount=row.unit_price, currency=currency),
            discount=Money(amount=row.discount, currency=currency),
            total=Money(amount=row.total, currency=currency),
        )  # fmt: skip


@strawberry.type(
    description="A payment, or refund, of an order through a payment provider.", name="Payment"
)
class PaymentType:
    id: strawberry.ID = strawberry.field(description="The payment's id.")
    order_id: strawberry.ID = strawberry.field(description="The id of the order paid or refunded.")
    provider: str = strawberry.field(
        description="The name of the payment provider that handled it."
    )
    provider_reference: str = strawberry.field(
        description="The provider's own id for the payment or refund."
    )
    kind: PaymentKind = strawberry.field(description="What the payment record is for.")
    status: PaymentStatus = strawberry.field(description="Where it stands with the provider.")
    amount: Money = strawberry.field(description="Positive for a charge, negative for a refund.")
    reason: str | None = strawberry.field(
        description=(
            "Why a refund was made, or why the provider declined a payment; null otherwise."
        )
    )
    created_at: datetime = strawberry.field(description="When the payment was made.")

    @classmethod
    def from_row(cls, row: Payment) -> PaymentType:
        return from_row(cls, row, amount=Money(amount=row.amount, currency=row.currency))


@strawberry.type(description="Units of one order line in a shipment.", name="FulfillmentLine")
class FulfillmentLineType:
    line_id: strawberry.ID = strawberry.field(description="The id of the order line.")
    quantity: int = strawberry.field(description="How many units of it are shipped.")


@strawberry.type(description="A shipment of some units of an order's lines.", name="Fulfillment")
class FulfillmentType:
    id: strawberry.ID = strawberry.field(description="The fulfillment's id.")
    order_id: strawberry.ID = strawberry.field(description="The id of the order shipped.")
    status: FulfillmentStatus = strawberry.field(description="Where the shipment stands.")
    carrier: str | None = strawberry.field(description="The carrier shipping it, if given.")
    tracking_number: str | None = strawberry.field(
        description="The carrier's tracking number, if given."
    )
    lines: list[FulfillmentLineType] = strawberry.field(
        description="Which order lines it ships, and how many units of each."
    )
    created_at: datetime = strawberry.field(description="When it was shipped.")

    @classmethod
    def from_row(cls, row: Fulfillment) -> FulfillmentType:
        return from_row(
            cls, row,
            lines=[FulfillmentLineType(line_id=strawberry.ID(x["lineId"]), quantity=x["quantity"])
                   for x in row.lines],
        )  # fmt: skip


@strawberry.type(
    description=(
        "An order: what checkout or placeOrder made, with line snapshots, payments "
        "and fulfillments. Money fields are in the order's currency."
    ),
    name="Order",
)
class OrderType:
    id: strawberry.ID = strawberry.field(description="The order's id.")
    number: str = strawberry.field(description="The order's number for people, ORD-YYYY-NNNNNN.")
    status: OrderStatus = strawberry.field(description="Where the order stands.")
    payment_status: OrderPaymentStatus = strawberry.field(description="Where its payment stands.")
    currency: str = strawberry.field(
        description="The ISO 4217 currency of all the order's amounts."
    )
    customer_id: str | None = strawberry.field(
        description="The id of the order's customer; null for a guest order."
    )
    cart_id: strawberry.ID | None = strawberry.field(
        description=(
            "The id of the cart the order was checked out from; null for an order placed "
            "from items."
        )
    )
    subtotal: Money = strawberry.field(description="List prices x quantities.")
    modifier_discount_total: Money = strawberry.field(
        description="What price modifiers (sales, group prices) took off the list prices."
    )
    promotion_discount_total: Money = strawberry.field(description="What promotion codes took off.")
    discount_total: Money = strawberry.field(description="modifierDiscountTotal + promotions'.")
    shipping_total: Money = strawberry.field(description="What shipping costs.")
    total: Money = strawberry.field(description="subtotal - discountTotal + shippingTotal.")
    promotion_codes: list[str] = strawberry.field(
        description="The promotion codes applied to the order."
    )
    shipping_address: JSON | None = strawberry.field(
        description=(
            "Where to ship, as given: line1, line2, city, state, postalCode and country, "
            "each optional."
        )
    )
    lines: list[OrderLineType] = strawberry.field(description="The order's lines.")
    payments: list[PaymentType] = strawberry.field(description="The order's payments and refunds.")
    fulfillments: list[FulfillmentType] = strawberry.field(description="The order's shipments.")
    created_at: datetime = strawberry.field(description="When the order was placed.")
    updated_at: datetime = strawberry.field(description="When the order last changed.")
    # Order.subOrders as planned by the list (SubOrderType), or None: loaded when asked.
    prefetched_sub_orders: strawberry.Private[list[Any] | None] = None

    @strawberry.field(
        description="The marketplace's split: one sub-order per vendor among its lines (and "
        "the house's part beside them); empty for an order of the house's own lines only.",
        graphql_type=list[Annotated["SubOrderType", strawberry.lazy("app.resolvers.marketplace")]],
    )
    def sub_orders(self, info: Info) -> list[SubOrderType] | Awaitable[list[SubOrderType]]:
        if self.prefetched_sub_orders is not None:
            return self.prefetched_sub_orders
        from app.resolvers.marketplace import marketplace_loaders

        return marketplace_loaders(info.context).of_order(uuid.UUID(self.id))

    @classmethod
    def from_view(cls, view: OrderView) -> OrderType:
        order, currency = view.order, view.order.currency

        def money(amount: int) -> Money:
            return Money(amount=amount, currency=currency)

        return from_row(
            cls, order,
            subtotal=money(order.subtotal), discount_total=money(order.discount_total),
            modifier_discount_total=money(order.modifier_discount_total),
            promotion_discount_total=money(order.discount_total - order.modifier_discount_total),
            shipping_total=money(order.shipping_total), total=money(order.total),
            lines=[OrderLineType.from_row(line, currency) for line in view.lines],
            payments=[PaymentType.from_row(p) for p in view.payments],
            fulfillments=[FulfillmentType.from_row(f) for f in view.fulfillments],
        )  # fmt: skip


@strawberry.input(description="A postal address; every part is optional.")
class AddressInput:
    line1: str | None = strawberry.field(
        default=None, description="The first address line: street and number."
    )
    line2: str | None = strawberry.field(
        default=None, description="The second address line: flat, floor, building."
    )
    city: str | None = strawberry.field(default=None, description="The city.")
    state: str | None = strawberry.field(default=None, description="The state, province or region.")
    postal_code: str | None = strawberry.field(default=None, description="The postal or ZIP code.")
    country: str | None = strawberry.field(
        default=None, description="The country, e.g. as an ISO 3166 code."
    )


@strawberry.input(
    description="What to check out: a cart, how to pay and the promotion codes to apply."
)
class CheckoutInput:
    cart_id: strawberry.ID = strawberry.field(
        description="The id of the active cart to turn into an order."
    )
    payment_method_id: str = strawberry.field(
        description="The test provider declines pm_card_declined and pm_fail...; other pm_... pay."
    )
    currency: str | None = strawberry.field(
        default=None, description="When given, it must be the cart's currency."
    )
    customer_id: str | None = strawberry.field(
        default=None,
        description="The order's customer, when the cart names none: must exist; naming one "
        "needs orders:create (or being that customer). Their groups price the order.",
    )
    customer_group_ids: list[strawberry.ID] = strawberry.field(
        default_factory=list,
        description="Extra groups to price with: believed from staff (pricing:update) only.",
    )
    promotion_codes: list[str] = strawberry.field(
        description="Promotion codes to apply, at most 5; each must be valid for the order and "
        "they must combine. Default: none.",
        default_factory=list,
    )
    shipping_address: AddressInput | None = strawberry.field(
        default=None, description="Where to ship the order."
    )


@strawberry.input(description="Units of an order line to ship.")
class FulfillmentLineInput:
    line_id: strawberry.ID = strawberry.field(description="The id of the order line.")
    quantity: int = strawberry.field(
        description="How many of its units to ship, at least 1 and at most those not yet shipped."
    )


@strawberry.input(description="A shipment of an order's lines.")
class CreateFulfillmentInput:
    order_id: strawberry.ID = strawberry.field(description="The id of the order to ship.")
    lines: list[FulfillmentLineInput] = strawberry.field(
        description="The order lines to ship and how many units of each."
    )
    carrier: str | None = strawberry.field(default=None, description="The carrier shipping it.")
    tracking_number: str | None = strawberry.field(
        default=None, description="The carrier's tracking number."
    )


@strawberry.input(
    description="One line of an order: the entity (enough when it has one variant or none), "
    "a variant by id, or a variant by SKU; given together they must agree."
)
class OrderItemInput:
    entity_id: strawberry.ID | None = strawberry.field(
        default=None, description="The id of the catalog entity (product)."
    )
    variant_id: strawberry.ID | None = strawberry.field(
        default=None, description="The id of the variant."
    )
    sku: str | None = strawberry.field(default=None, description="The variant's SKU.")
    quantity: int = strawberry.field(description="How many units, at least 1.")


@strawberry.input(
    description="An order placed from items rather than a cart; it is left unpaid until payOrder."
)
class PlaceOrderInput:
    currency: str | None = strawberry.field(default=None, description="Default: the setting.")
    customer_id: str | None = strawberry.field(
        default=None, description="The id of the order's customer. Default: none."
    )
    items: list[OrderItemInput] = strawberry.field(description="The order's lines.")
    shipping_address: AddressInput | None = strawberry.field(
        default=None, description="Where to ship the order."
    )


@strawberry.input(description="A payment of an unpaid order's total.")
class PayOrderInput:
    order_id: strawberry.ID = strawberry.field(description="The id of the order to pay.")
    payment_method_id: str = strawberry.field(
        description=(
            "The payment method to charge; the test provider declines pm_card_declined "
            "and pm_fail..., other pm_... pay."
        )
    )
    amount: int = strawberry.field(description="Minor units: must be the order's total.")
    currency: str = strawberry.field(
        description="The ISO 4217 code of `amount`: must be the order's currency."
    )


@strawberry.type(
    description="What checkout did: the order, and whether it was made by an earlier request."
)
class CheckoutResult:
    order: OrderType = strawberry.field(
        description="The order placed (or placed earlier with the same idempotencyKey)."
    )
    replayed: bool = strawberry.field(description="An earlier request with this key made it.")
    hook_errors: list[str] = strawberry.field(
        description="Non-fatal failures of the work that follows a placed order."
    )
    access_token: str | None = strawberry.field(
        description="A guest order's access token, shown only here and only once: with it "
        "(`order(idOrNumber:, accessToken:)`, or the X-Order-Token header on GET "
        "/api/orders/{idOrNumber}) the shopper reads this order without an account. Null for "
        "a customer's order and for a replayed request."
    )


@strawberry.input(description="Units of an order line to refund.")
class RefundLineInput:
    line_id: strawberry.ID = strawberry.field(description="The id of the order line.")
    quantity: int = strawberry.field(
        description=(
            "How many of its units to refund, at least 1 and at most those not yet refunded."
        )
    )


@strawberry.input(description="Refund an amount, or units of lines; not both.")
class RefundOrderInput:
    order_id: strawberry.ID = strawberry.field(description="The id of the order to refund.")
    amount: int | None = strawberry.field(default=None, description="Minor units.")
    currency: str | None = strawberry.field(
        default=None, description="When given, it must be the order's currency."
    )
    lines: list[RefundLineInput] | None = strawberry.field(
        default=None, description="The lines and units to refund, instead of an amount."
    )
    reason: str | None = strawberry.field(
        default=None,
        description="Why the refund is made; kept with the refund and in the audit trail.",
    )


@strawberry.input(description="A new status for an order.")
class ChangeOrderStatusInput:
    id: strawberry.ID = strawberry.field(description="The id of the order.")
    status: OrderStatus = strawberry.field(
        description="The new status, one the current one allows."
    )
    reason: str | None = strawberry.field(
        default=None, description="Why the status changes; kept in the audit trail."
    )


async def _plan_sub_orders(
    info: Info, session: AsyncSession, orders: list[OrderType], selected: Selected
) -> None:
    from app.resolvers.marketplace import prefetch_order_sub_orders

    await prefetch_order_sub_orders(info.context, session, orders, selected)


async def _view(info: Info, order: Order) -> OrderType:
    async with info.context.read() as session:
        [view] = await service.views(session, [order])
    return OrderType.from_view(view)


def address_of(given: AddressInput | None) -> dict[str, str] | None:
    if given is None:
        return None
    names = {"postal_code": "postalCode"}
    return {
        names.get(name, name): value
        for name, value in vars(given).items()
        if value is not None and not name.startswith("_")
    }


@strawberry.type
class OrderQueries:
    @strawberry.field(
        description="By UUID or number (ORD-YYYY-NNNNNN): staff (orders:read) see every order, "
        "a customer theirs, a guest the one its access token opens."
    )
    async def order(
        self,
        info: Info,
        id_or_number: Annotated[
            str,
            strawberry.argument(
                description="The order's id (a UUID) or its number (ORD-YYYY-NNNNNN)."
            ),
        ],
        access_token: Annotated[
            str | None,
            strawberry.argument(
                description="A guest order's access token (from its checkout answer): opens "
                "that order to whoever holds it; a wrong one is NOT_FOUND, as an unknown order."
            ),
        ] = None,
    ) -> OrderType:
        async with info.context.read() as session:
            row = await service.get_order(
                session, info.context.actor, id_or_number, access_token=access_token
            )
            [view] = await service.views(session, [row])
            built = OrderType.from_view(view)
            await _plan_sub_orders(info, session, [built], Selected.of(info))
        return built

    @strawberry.field(description="An order's fulfillments, oldest first.")
    async def fulfillments(
        self,
        info: Info,
        order_id: Annotated[str, strawberry.argument(description="The order's id.")],
    ) -> list[FulfillmentType]:
        async with info.context.read() as session:
            rows = await fulfillment_service.list_fulfillments(
                session, info.context.actor, order_id=order_id
            )
        return [FulfillmentType.from_row(r) for r in rows]

    @strawberry.field(description="Newest first; staff (orders:read) see all, a customer theirs.")
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
            result = await service.list_orders(
                session, info.context.actor, status=status, page=request
            )
            found = await service.views(session, result.items)
            built = [OrderType.from_view(v) for v in found]
            await _plan_sub_orders(info, session, built, Selected.of(info).items())
        return Connection.of(result, built)


@strawberry.type
class OrderMutations:
    @strawberry.mutation(
        description="Turn a cart into an order: all or nothing. Retry with the same "
        "idempotencyKey to get the same order back."
    )
    async def checkout(
        self,
        info: Info,
        input: Annotated[
            CheckoutInput,
            strawberry.argument(description="The cart, how to pay, codes and address."),
        ],
        idempotency_key: Annotated[
            str | None,
            strawberry.argument(
                description=(
                    "A key unique to this checkout: a retry with the same key returns the same "
                    "order instead of placing another."
                )
            ),
        ] = None,
    ) -> CheckoutResult:
        context = info.context
        request = CheckoutRequest(
            cart_id=input.cart_id,
            payment_method_id=input.payment_method_id,
            currency=input.currency,
            customer_id=input.customer_id,
            customer_group_ids=tuple(input.customer_group_ids),
            promotion_codes=tuple(input.promotion_codes),
            shipping_address=address_of(input.shipping_address),
        )
        token = service.new_access_token()
        order, replayed = await checkout(
            context.database,
            context.actor,
            request,
            idempotency_key=idempotency_key,
            request_id=context.request_id,
            access_token=token,
        )
        hook_errors = [] if replayed else await run_after_hooks(order)
        return CheckoutResult(
            order=await _view(info, order),
            replayed=replayed,
            hook_errors=hook_errors,
            # Shown once: a replay finds the digest of the first request's token, not this one.
            access_token=token if service.token_opens(order, token) else None,
        )

    @strawberry.mutation(
        permission_classes=[requires("orders:create")],
        description="Place an order from items, unpaid; its stock is held until payOrder.",
    )
    async def place_order(
        self,
        info: Info,
        input: Annotated[
            PlaceOrderInput,
            strawberry.argument(description="The items, customer, currency and address."),
        ],
    ) -> OrderType:
        context = info.context
        async with context.read() as session:
            items = await variant_service.order_items(
                session, [(i.entity_id, i.variant_id, i.sku, i.quantity) for i in input.items]
            )
        order = await place_order(
            context.database, context.actor,
            currency=input.currency or context.default_currency, customer_id=input.customer_id,
            items=items,
            shipping_address=address_of(input.shipping_address), request_id=context.request_id,
        )  # fmt: skip
        return await _view(info, order)

    @strawberry.mutation(
        permission_classes=[requires("orders:create")],
        description="Pay an order placed unpaid; declined is PAYMENT_FAILED, nothing changes.",
    )
    async def pay_order(
        self,
        info: Info,
        input: Annotated[
            PayOrderInput,
            strawberry.argument(description="The order, the payment method and the amount."),
        ],
    ) -> PaymentType:
        context = info.context
        payment = await pay_order(
            context.database, context.actor, order_id=input.order_id,
            payment_method_id=input.payment_method_id, amount=input.amount,
            currency=input.currency, request_id=context.request_id,
        )  # fmt: skip
        return PaymentType.from_row(payment)

    @strawberry.mutation(
        permission_classes=[requires("orders:update")],
        description="Ship some lines; the order becomes partially_fulfilled or fulfilled.",
    )
    async def create_fulfillment(
        self,
        info: Info,
        input: Annotated[
            CreateFulfillmentInput,
            strawberry.argument(description="The order and the units to ship."),
        ],
    ) -> FulfillmentType:
        async with info.context.command() as uow:
            row = await fulfillment_service.create_fulfillment(
                uow,
                info.context.actor,
                order_id=input.order_id,
                lines=[(line.line_id, line.quantity) for line in input.lines],
                carrier=input.carrier,
                tracking_number=input.tracking_number,
            )
        return FulfillmentType.from_row(row)

    @strawberry.mutation(
        permission_classes=[requires("orders:update")],
        description="Move along the status machine; cancelling refunds what was paid and "
        "releases what is held.",
    )
    async def change_order_status(
        self,
        info: Info,
        input: Annotated[
            ChangeOrderStatusInput,
            strawberry.argument(description="The order, its new status and why."),
        ],
    ) -> OrderType:
        context = info.context
        order = await service.change_status(
            context.database, context.actor, id=input.id, status=input.status,
            reason=input.reason, request_id=context.request_id,
        )  # fmt: skip
        return await _view(info, order)

    @strawberry.mutation(
        permission_classes=[requires("orders:update")],
        description="Refund part of what was paid, by amount or by line units.",
    )
    async def refund_order(
        self,
        info: Info,
        input: Annotated[
            RefundOrderInput, strawberry.argument(description="The order and what to refund.")
        ],
    ) -> OrderType:
        context = info.context
        lines = [(line.line_id, line.quantity) for line in input.lines] if input.lines else None
        order = await service.refund_order(
            context.database, context.actor, id=input.order_id, amount=input.amount,
            currency=input.currency, lines=lines, reason=input.reason,
            request_id=context.request_id,
        )  # fmt: skip
        return await _view(info, order)
