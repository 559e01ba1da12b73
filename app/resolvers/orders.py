"""GraphQL for checkout and orders."""

from __future__ import annotations

from datetime import datetime

import strawberry
from strawberry import Info

from app.models.orders import Fulfillment, OrderLine, Payment
from app.resolvers.arguments import page_request
from app.resolvers.money import Money
from app.resolvers.pagination import Connection
from app.resolvers.permissions import requires
from app.resolvers.rows import from_row
from app.resolvers.scalars import JSON
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


@strawberry.type(name="OrderLine")
class OrderLineType:
    id: strawberry.ID
    entity_id: strawberry.ID | None
    variant_id: strawberry.ID | None
    sku: str | None
    title: str | None
    quantity: int
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


@strawberry.type(name="Payment")
class PaymentType:
    id: strawberry.ID
    order_id: strawberry.ID
    provider: str
    provider_reference: str
    kind: str = strawberry.field(description="checkout, payment (of an unpaid order) or refund.")
    status: str = strawberry.field(
        description="pending, succeeded, failed; refunds: refund_pending, refunded, refund_failed."
    )
    amount: Money = strawberry.field(description="Positive for a charge, negative for a refund.")
    reason: str | None
    created_at: datetime

    @classmethod
    def from_row(cls, row: Payment) -> PaymentType:
        return from_row(cls, row, amount=Money(amount=row.amount, currency=row.currency))


@strawberry.type(name="FulfillmentLine")
class FulfillmentLineType:
    line_id: strawberry.ID
    quantity: int


@strawberry.type(name="Fulfillment")
class FulfillmentType:
    id: strawberry.ID
    order_id: strawberry.ID
    status: str
    carrier: str | None
    tracking_number: str | None
    lines: list[FulfillmentLineType]
    created_at: datetime

    @classmethod
    def from_row(cls, row: Fulfillment) -> FulfillmentType:
        return from_row(
            cls, row,
            lines=[FulfillmentLineType(line_id=strawberry.ID(x["lineId"]), quantity=x["quantity"])
                   for x in row.lines],
        )  # fmt: skip


@strawberry.type(name="Order")
class OrderType:
    id: strawberry.ID
    number: str
    status: str
    payment_status: str
    currency: str
    customer_id: str | None
    cart_id: strawberry.ID | None
    subtotal: Money = strawberry.field(description="List prices x quantities.")
    modifier_discount_total: Money = strawberry.field(
        description="What price modifiers (sales, group prices) took off the list prices."
    )
    promotion_discount_total: Money = strawberry.field(description="What promotion codes took off.")
    discount_total: Money = strawberry.field(description="modifierDiscountTotal + promotions'.")
    shipping_total: Money
    total: Money = strawberry.field(description="subtotal - discountTotal + shippingTotal.")
    promotion_codes: list[str]
    shipping_address: JSON | None
    lines: list[OrderLineType]
    payments: list[PaymentType]
    fulfillments: list[FulfillmentType]
    created_at: datetime
    updated_at: datetime

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


@strawberry.input
class AddressInput:
    line1: str | None = None
    line2: str | None = None
    city: str | None = None
    state: str | None = None
    postal_code: str | None = None
    country: str | None = None


@strawberry.input
class CheckoutInput:
    cart_id: strawberry.ID
    payment_method_id: str = strawberry.field(
        description="The test provider declines pm_card_declined and pm_fail...; other pm_... pay."
    )
    currency: str | None = None
    customer_id: str | None = strawberry.field(
        default=None,
        description="The order's customer, when the cart names none: must exist; naming one "
        "needs orders:create (or being that customer). Their groups price the order.",
    )
    customer_group_ids: list[strawberry.ID] = strawberry.field(
        default_factory=list,
        description="Extra groups to price with: believed from staff (pricing:update) only.",
    )
    promotion_codes: list[str] = strawberry.field(default_factory=list)
    shipping_address: AddressInput | None = None


@strawberry.input
class FulfillmentLineInput:
    line_id: strawberry.ID
    quantity: int


@strawberry.input
class CreateFulfillmentInput:
    order_id: strawberry.ID
    lines: list[FulfillmentLineInput]
    carrier: str | None = None
    tracking_number: str | None = None


@strawberry.input(
    description="One line of an order: the entity (enough when it has one variant or none), "
    "a variant by id, or a variant by SKU; given together they must agree."
)
class OrderItemInput:
    entity_id: strawberry.ID | None = None
    variant_id: strawberry.ID | None = None
    sku: str | None = None
    quantity: int


@strawberry.input
class PlaceOrderInput:
    currency: str | None = strawberry.field(default=None, description="Default: the setting.")
    customer_id: str | None = None
    items: list[OrderItemInput]
    shipping_address: AddressInput | None = None


@strawberry.input
class PayOrderInput:
    order_id: strawberry.ID
    payment_method_id: str
    amount: int = strawberry.field(description="Minor units: must be the order's total.")
    currency: str


@strawberry.type
class CheckoutResult:
    order: OrderType
    replayed: bool = strawberry.field(description="An earlier request with this key made it.")
    hook_errors: list[str] = strawberry.field(
        description="Non-fatal failures of the work that follows a placed order."
    )


@strawberry.input
class RefundLineInput:
    line_id: strawberry.ID
    quantity: int


@strawberry.input(description="Refund an amount, or units of lines; not both.")
class RefundOrderInput:
    order_id: strawberry.ID
    amount: int | None = strawberry.field(default=None, description="Minor units.")
    currency: str | None = strawberry.field(
        default=None, description="When given, it must be the order's currency."
    )
    lines: list[RefundLineInput] | None = None
    reason: str | None = None


@strawberry.input
class ChangeOrderStatusInput:
    id: strawberry.ID
    status: str
    reason: str | None = None


async def _view(info: Info, order: object) -> OrderType:
    async with info.context.read() as session:
        [view] = await service.views(session, [order])  # type: ignore[list-item]
    return OrderType.from_view(view)


def _address(given: AddressInput | None) -> dict[str, str] | None:
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
    @strawberry.field(description="By UUID or number (ORD-YYYY-NNNNNN).")
    async def order(self, info: Info, id_or_number: str) -> OrderType:
        async with info.context.read() as session:
            row = await service.get_order(session, info.context.actor, id_or_number)
            [view] = await service.views(session, [row])
        return OrderType.from_view(view)

    @strawberry.field(description="An order's fulfillments, oldest first.")
    async def fulfillments(self, info: Info, order_id: str) -> list[FulfillmentType]:
        async with info.context.read() as session:
            rows = await fulfillment_service.list_fulfillments(
                session, info.context.actor, order_id=order_id
            )
        return [FulfillmentType.from_row(r) for r in rows]

    @strawberry.field(description="Newest first; staff (orders:read) see all, a customer theirs.")
    async def orders(
        self,
        info: Info,
        status: str | None = None,
        page: int | None = None,
        limit: int | None = None,
        offset: int | None = None,
        first: int | None = None,
        after: str | None = None,
    ) -> Connection[OrderType]:
        request = page_request(page=page, limit=limit, offset=offset, first=first, after=after)
        async with info.context.read() as session:
            result = await service.list_orders(
                session, info.context.actor, status=status, page=request
            )
            found = await service.views(session, result.items)
        return Connection.of(result, [OrderType.from_view(v) for v in found])


@strawberry.type
class OrderMutations:
    @strawberry.mutation(
        description="Turn a cart into an order: all or nothing. Retry with the same "
        "idempotencyKey to get the same order back."
    )
    async def checkout(
        self, info: Info, input: CheckoutInput, idempotency_key: str | None = None
    ) -> CheckoutResult:
        context = info.context
        request = CheckoutRequest(
            cart_id=input.cart_id,
            payment_method_id=input.payment_method_id,
            currency=input.currency,
            customer_id=input.customer_id,
            customer_group_ids=tuple(input.customer_group_ids),
            promotion_codes=tuple(input.promotion_codes),
            shipping_address=_address(input.shipping_address),
        )
        order, replayed = await checkout(
            context.database,
            context.actor,
            request,
            idempotency_key=idempotency_key,
            request_id=context.request_id,
        )
        hook_errors = [] if replayed else await run_after_hooks(order)
        return CheckoutResult(
            order=await _view(info, order), replayed=replayed, hook_errors=hook_errors
        )

    @strawberry.mutation(
        permission_classes=[requires("orders:create")],
        description="Place an order from items, unpaid; its stock is held until payOrder.",
    )
    async def place_order(self, info: Info, input: PlaceOrderInput) -> OrderType:
        context = info.context
        async with context.read() as session:
            items = await variant_service.order_items(
                session, [(i.entity_id, i.variant_id, i.sku, i.quantity) for i in input.items]
            )
        order = await place_order(
            context.database, context.actor,
            currency=input.currency or context.default_currency, customer_id=input.customer_id,
            items=items,
            shipping_address=_address(input.shipping_address), request_id=context.request_id,
        )  # fmt: skip
        return await _view(info, order)

    @strawberry.mutation(
        permission_classes=[requires("orders:create")],
        description="Pay an order placed unpaid; declined is PAYMENT_FAILED, nothing changes.",
    )
    async def pay_order(self, info: Info, input: PayOrderInput) -> PaymentType:
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
        self, info: Info, input: CreateFulfillmentInput
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
    async def change_order_status(self, info: Info, input: ChangeOrderStatusInput) -> OrderType:
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
    async def refund_order(self, info: Info, input: RefundOrderInput) -> OrderType:
        context = info.context
        lines = [(line.line_id, line.quantity) for line in input.lines] if input.lines else None
        order = await service.refund_order(
            context.database, context.actor, id=input.order_id, amount=input.amount,
            currency=input.currency, lines=lines, reason=input.reason,
            request_id=context.request_id,
        )  # fmt: skip
        return await _view(info, order)
