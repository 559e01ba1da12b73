"""GraphQL for carts: open, read (priced on the server), add, change and remove lines."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import strawberry
from strawberry import Info

from app.resolvers.enums import CartStatus
from app.resolvers.money import Money
from app.services import carts as service
from app.services.carts import CartView, Line


def _money(amount: int | None, currency: str) -> Money | None:
    return Money(amount=amount, currency=currency) if amount is not None else None


@strawberry.type(
    description="A line of a cart: a product or variant and a quantity, priced now.",
    name="CartItem",
)
class CartItemType:
    id: strawberry.ID = strawberry.field(description="The cart line's id.")
    entity_id: strawberry.ID = strawberry.field(
        description="The id of the catalog entity (product) on this line."
    )
    variant_id: strawberry.ID | None = strawberry.field(
        description="The id of the variant on this line; null for a product without variants."
    )
    sku: str | None = strawberry.field(description="The SKU of the variant or product.")
    title: str | None = strawberry.field(description="The product's title.")
    quantity: int = strawberry.field(description="How many units.")
    list_price: Money | None = strawberry.field(description="The unit's list price.")
    unit_price: Money | None = strawberry.field(
        description="The unit's price after price modifiers, resolved now for this cart."
    )
    unit_price_snapshot: int | None = strawberry.field(
        description="What the client sent: compared, never charged."
    )
    price_changed: bool = strawberry.field(
        description=(
            "Whether the unit price now differs from `unitPriceSnapshot`, the"
            " price the client showed."
        )
    )
    line_total: Money | None = strawberry.field(
        description="unitPrice x quantity; null when the item has no price."
    )

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


@strawberry.type(
    description="A shopping cart, priced on the server each time it is read.", name="Cart"
)
class CartType:
    id: strawberry.ID = strawberry.field(
        description=(
            "The cart's id; unguessable, it is what lets an anonymous shopper use the cart."
        )
    )
    currency: str = strawberry.field(description="The ISO 4217 currency the cart is priced in.")
    customer_id: str | None = strawberry.field(
        description="The id of the customer the cart belongs to; null for an anonymous cart."
    )
    status: CartStatus = strawberry.field(description="Whether the cart can still change.")
    items: list[CartItemType] = strawberry.field(description="The cart's lines.")
    item_count: int = strawberry.field(description="The sum of the lines' quantities.")
    subtotal: Money = strawberry.field(description="List prices x quantities.")
    modifier_discount_total: Money = strawberry.field(
        description="What price modifiers (sales, group prices) take off the list prices."
    )
    discount_total: Money = strawberry.field(
        description="All discounts: on a cart, the price modifiers' (codes apply at checkout)."
    )
    total: Money = strawberry.field(description="subtotal - discountTotal.")
    created_at: datetime = strawberry.field(description="When the cart was opened.")
    updated_at: datetime = strawberry.field(description="When the cart last changed.")

    @classmethod
    def from_view(cls, view: CartView) -> CartType:
        cart, currency = view.cart, view.cart.currency
        return cls(
            id=strawberry.ID(str(cart.id)),
            currency=currency,
            customer_id=cart.customer_id,
            status=CartStatus.of(cart.status),
            items=[CartItemType.from_line(line, currency) for line in view.lines],
            item_count=sum(line.item.quantity for line in view.lines),
            subtotal=Money(amount=view.subtotal, currency=currency),
            modifier_discount_total=Money(amount=view.discount_total, currency=currency),
            discount_total=Money(amount=view.discount_total, currency=currency),
            total=Money(amount=view.total, currency=currency),
            created_at=cart.created_at,
            updated_at=cart.updated_at,
        )


@strawberry.input(description="A new cart: its currency and, optionally, its customer.")
class CreateCartInput:
    currency: str = strawberry.field(
        description="The ISO 4217 code of the currency to price the cart in, e.g. EUR.",
        metadata={"jsonschema": {"pattern": "^[A-Z]{3}$"}},
    )
    customer_id: str | None = strawberry.field(
        default=None,
        description="An existing customer's id (NOT_FOUND otherwise); naming anyone but "
        "yourself needs carts:manage. Default: the signed-in customer, else none.",
    )


@strawberry.input(description="A product or variant to add to a cart.")
class AddCartItemInput:
    cart_id: strawberry.ID = strawberry.field(description="The id of the cart to add to.")
    entity_id: strawberry.ID = strawberry.field(
        description="The id of the catalog entity (product) to add."
    )
    variant_id: strawberry.ID | None = strawberry.field(
        default=None, description="The id of the product's variant to add, if it has variants."
    )
    quantity: int = strawberry.field(
        description="How many units to add, at least 1.",
        metadata={"jsonschema": {"minimum": 1, "maximum": service.MAX_QUANTITY}},
    )
    unit_price_snapshot: int | None = strawberry.field(
        default=None,
        description="The price the client showed, in minor units: checked only.",
        metadata={"jsonschema": {"minimum": 0}},
    )


@strawberry.input(description="A new quantity for a cart line.")
class UpdateCartItemInput:
    cart_id: strawberry.ID = strawberry.field(description="The id of the cart.")
    item_id: strawberry.ID = strawberry.field(description="The id of the cart line to change.")
    quantity: int = strawberry.field(
        description="The line's new quantity, at least 1.",
        metadata={"jsonschema": {"minimum": 1, "maximum": service.MAX_QUANTITY}},
    )


@strawberry.input(description="A line to remove from a cart.")
class RemoveCartItemInput:
    cart_id: strawberry.ID = strawberry.field(description="The id of the cart.")
    item_id: strawberry.ID = strawberry.field(description="The id of the cart line to remove.")


@strawberry.type
class CartQueries:
    @strawberry.field(description="A cart by its id; a customer's cart only for them.")
    async def cart(
        self,
        info: Info,
        id: Annotated[strawberry.ID, strawberry.argument(description="The cart's id.")],
    ) -> CartType:
        async with info.context.read() as session:
            return CartType.from_view(await service.view(session, info.context.actor, id=id))


@strawberry.type
class CartMutations:
    # Anonymous shoppers use carts: the unguessable id is the credential (DESIGN §4).
    @strawberry.mutation(
        description=(
            "Open a cart, for the signed-in customer, another customer (carts:manage) or no one."
        )
    )
    async def create_cart(
        self,
        info: Info,
        input: Annotated[
            CreateCartInput, strawberry.argument(description="The cart's currency and customer.")
        ],
    ) -> CartType:
        async with info.context.command() as uow:
            cart = await service.create_cart(
                uow, info.context.actor, currency=input.currency, customer_id=input.customer_id
            )
            view = await service.price(uow.session, cart)
        return CartType.from_view(view)

    @strawberry.mutation(
        description="Add a product or variant to an active cart; returns the cart, repriced."
    )
    async def add_cart_item(
        self,
        info: Info,
        input: Annotated[
            AddCartItemInput,
            strawberry.argument(description="The cart, the item and its quantity."),
        ],
    ) -> CartType:
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

    @strawberry.mutation(description="Change a cart line's quantity; returns the cart, repriced.")
    async def update_cart_item(
        self,
        info: Info,
        input: Annotated[
            UpdateCartItemInput,
            strawberry.argument(description="The cart, its line and the new quantity."),
        ],
    ) -> CartType:
        async with info.context.command() as uow:
            view = await service.update_item(
                uow,
                info.context.actor,
                cart_id=input.cart_id,
                item_id=input.item_id,
                quantity=input.quantity,
            )
        return CartType.from_view(view)

    @strawberry.mutation(description="Remove a line from a cart; returns the cart, repriced.")
    async def remove_cart_item(
        self,
        info: Info,
        input: Annotated[
            RemoveCartItemInput, strawberry.argument(description="The cart and the line to remove.")
        ],
    ) -> CartType:
        async with info.context.command() as uow:
            view = await service.remove_item(
                uow, info.context.actor, cart_id=input.cart_id, item_id=input.item_id
            )
        return CartType.from_view(view)
