"""GraphQL for carts: open, read (priced on the server), add, change and remove lines."""

from __future__ import annotations

from datetime import datetime

import strawberry
from strawberry import Info

from app.resolvers.money import Money
from app.services import carts as service
from app.services.carts import CartView, Line


def _money(amount: int | None, currency: str) -> Money | None:
    return Money(amount=amount, currency=currency) if amount is not None else None


@strawberry.type(name="CartItem")
class CartItemType:
    id: strawberry.ID
    entity_id: strawberry.ID
    variant_id: strawberry.ID | None
    sku: str | None
    title: str | None
    quantity: int
    list_price: Money | None = strawberry.field(description="The unit's list price.")
    unit_price: Money | None = strawberry.field(
        description="The unit's price after price modifiers, resolved now for this cart."
    )
    unit_price_snapshot: int | None = strawberry.field(
        description="What the client sent: compared, never charged."
    )
    price_changed: bool
    line_total: Money | None

    @classmethod
    def from_line(cls, line: Line, currency: str) -> CartItemType:
        item = line.item
        total = line.unit_price * item.quantity if line.unit_price is not None else None
        return cls(
            id=strawberry.ID(str(item.id)),
            entity_id=strawberry.ID(str(item.entity_id)),
            variant_id=strawberry.ID(str(item.variant_id)) if item.variant_id else None,
            sku=line.sku,
            title=line.title,
            quantity=item.quantity,
            list_price=_money(line.base_unit_price, currency),
            unit_price=_money(line.unit_price, currency),
            unit_price_snapshot=item.unit_price_snapshot,
            price_changed=line.price_changed,
            line_total=_money(total, currency),
        )


@strawberry.type(name="Cart")
class CartType:
    id: strawberry.ID
    currency: str
    customer_id: str | None
    status: str
    items: list[CartItemType]
    item_count: int
    subtotal: Money = strawberry.field(description="List prices x quantities.")
    modifier_discount_total: Money = strawberry.field(
        description="What price modifiers (sales, group prices) take off the list prices."
    )
    discount_total: Money = strawberry.field(
        description="All discounts: on a cart, the price modifiers' (codes apply at checkout)."
    )
    total: Money = strawberry.field(description="subtotal - discountTotal.")
    created_at: datetime
    updated_at: datetime

    @classmethod
    def from_view(cls, view: CartView) -> CartType:
        cart, currency = view.cart, view.cart.currency
        return cls(
            id=strawberry.ID(str(cart.id)),
            currency=currency,
            customer_id=cart.customer_id,
            status=cart.status,
            items=[CartItemType.from_line(line, currency) for line in view.lines],
            item_count=sum(line.item.quantity for line in view.lines),
            subtotal=Money(amount=view.subtotal, currency=currency),
            modifier_discount_total=Money(amount=view.discount_total, currency=currency),
            discount_total=Money(amount=view.discount_total, currency=currency),
            total=Money(amount=view.total, currency=currency),
            created_at=cart.created_at,
            updated_at=cart.updated_at,
        )


@strawberry.input
class CreateCartInput:
    currency: str = strawberry.field(metadata={"jsonschema": {"pattern": "^[A-Z]{3}$"}})
    customer_id: str | None = strawberry.field(
        default=None,
        description="An existing customer's id (NOT_FOUND otherwise); naming anyone but "
        "yourself needs carts:manage. Default: the signed-in customer, else none.",
    )


@strawberry.input
class AddCartItemInput:
    cart_id: strawberry.ID
    entity_id: strawberry.ID
    variant_id: strawberry.ID | None = None
    quantity: int = strawberry.field(
        metadata={"jsonschema": {"minimum": 1, "maximum": service.MAX_QUANTITY}}
    )
    unit_price_snapshot: int | None = strawberry.field(
        default=None, description="The price the client showed, in minor units: checked only."
    )


@strawberry.input
class UpdateCartItemInput:
    cart_id: strawberry.ID
    item_id: strawberry.ID
    quantity: int = strawberry.field(
        metadata={"jsonschema": {"minimum": 1, "maximum": service.MAX_QUANTITY}}
    )


@strawberry.input
class RemoveCartItemInput:
    cart_id: strawberry.ID
    item_id: strawberry.ID


@strawberry.type
class CartQueries:
    @strawberry.field(description="A cart by its id; a customer's cart only for them.")
    async def cart(self, info: Info, id: strawberry.ID) -> CartType:
        async with info.context.read() as session:
            return CartType.from_view(await service.view(session, info.context.actor, id=id))


@strawberry.type
class CartMutations:
    # Anonymous shoppers use carts: the unguessable id is the credential (DESIGN §4).
    @strawberry.mutation
    async def create_cart(self, info: Info, input: CreateCartInput) -> CartType:
        async with info.context.command() as uow:
            cart = await service.create_cart(
                uow, info.context.actor, currency=input.currency, customer_id=input.customer_id
            )
            view = await service.price(uow.session, cart)
        return CartType.from_view(view)

    @strawberry.mutation
    async def add_cart_item(self, info: Info, input: AddCartItemInput) -> CartType:
        async with info.context.command() as uow:
            view = await service.add_item(
                uow,
                info.context.actor,
                cart_id=input.cart_id,
                entity_id=input.entity_id,
                variant_id=input.variant_id,
                quantity=input.quantity,
                unit_price_snapshot=input.unit_price_snapshot,
            )
        return CartType.from_view(view)

    @strawberry.mutation
    async def update_cart_item(self, info: Info, input: UpdateCartItemInput) -> CartType:
        async with info.context.command() as uow:
            view = await service.update_item(
                uow,
                info.context.actor,
                cart_id=input.cart_id,
                item_id=input.item_id,
                quantity=input.quantity,
            )
        return CartType.from_view(view)

    @strawberry.mutation
    async def remove_cart_item(self, info: Info, input: RemoveCartItemInput) -> CartType:
        async with info.context.command() as uow:
            view = await service.remove_item(
                uow, info.context.actor, cart_id=input.cart_id, item_id=input.item_id
            )
        return CartType.from_view(view)
