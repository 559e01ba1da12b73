"""GraphQL for promotions: codes (staff), the storefront's list of active ones, and
`validatePromotion`, which prices the cart on the server and says what a code would give.

Anyone may list the promotions on offer and validate a code; listing inactive ones and
reading one by id or code need `promotions:update`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import strawberry
from strawberry import UNSET, Info

from app.models.promotions import PROMOTION_TYPES, Promotion
from app.money import CURRENCY
from app.resolvers.arguments import page_request
from app.resolvers.money import Money
from app.resolvers.pagination import Connection, to_connection
from app.resolvers.permissions import requires
from app.resolvers.rows import from_row
from app.services import promotions as service
from app.services.pricing.rules import MAX_AMOUNT
from app.services.promotions.rules import CODE_PATTERN

CREATE, UPDATE = "promotions:create", "promotions:update"

CODE_SCHEMA = {"jsonschema": {"pattern": CODE_PATTERN, "minLength": 3, "maxLength": 50}}
CURRENCY_SCHEMA = {"jsonschema": {"pattern": CURRENCY.pattern}}
NAME_SCHEMA = {"jsonschema": {"minLength": 1, "maxLength": 200, "pattern": r"\S"}}
TYPE_SCHEMA = {"jsonschema": {"enum": list(PROMOTION_TYPES)}}
VALUE_SCHEMA = {"jsonschema": {"minimum": 0, "maximum": MAX_AMOUNT}}
LIMIT_SCHEMA = {"jsonschema": {"minimum": 1, "maximum": MAX_AMOUNT}}
AMOUNT_SCHEMA = {"jsonschema": {"minimum": 0, "maximum": MAX_AMOUNT}}
UNITS_SCHEMA = {"jsonschema": {"minimum": 1, "maximum": 1000}}
QUANTITY_SCHEMA = {"jsonschema": {"minimum": 1, "maximum": service.evaluation.MAX_QUANTITY}}
VALUE_DESCRIPTION = (
    "percentage_off_order / percentage_off_items: whole percent off, 1 to 100; "
    "fixed_amount_off_order: minor units off (with currency); buy_x_get_y: percent off the "
    "free units (default 100); free_shipping: none."
)
TYPE_DESCRIPTION = "One of " + ", ".join(PROMOTION_TYPES) + "."


@strawberry.type(name="Promotion")
class PromotionType:
    id: strawberry.ID
    code: str = strawberry.field(description="Upper-case; matched case-insensitively.")
    name: str
    type: str = strawberry.field(description=TYPE_DESCRIPTION)
    value: int = strawberry.field(description=VALUE_DESCRIPTION)
    currency: str | None = strawberry.field(
        description="The currency of a fixed value or minimum subtotal; null: any currency."
    )
    valid_from: datetime | None = strawberry.field(description="Inclusive; null: no start.")
    valid_until: datetime | None = strawberry.field(description="Exclusive; null: no end.")
    usage_limit: int | None = strawberry.field(description="Total redemptions; null: no limit.")
    per_customer_limit: int | None = strawberry.field(description="null: no limit.")
    usage_count: int
    min_subtotal: Money | None
    customer_group_ids: list[strawberry.ID] = strawberry.field(description="Empty: everyone.")
    entity_ids: list[strawberry.ID]
    category_ids: list[strawberry.ID]
    buy_quantity: int | None
    get_quantity: int | None
    stackable: bool = strawberry.field(
        description="Whether it combines with other stackable promotions."
    )
    active: bool
    created_at: datetime
    updated_at: datetime

    @classmethod
    def from_row(cls, row: Promotion) -> PromotionType:
        minimum = (
            Money(amount=row.min_subtotal, currency=row.currency)
            if row.min_subtotal is not None and row.currency is not None
            else None
        )
        return from_row(
            cls,
            row,
            min_subtotal=minimum,
            customer_group_ids=[strawberry.ID(i) for i in row.customer_group_ids],
            entity_ids=[strawberry.ID(i) for i in row.entity_ids],
            category_ids=[strawberry.ID(i) for i in row.category_ids],
        )


@strawberry.type(name="PromotionLineDiscount")
class PromotionLineDiscountType:
    entity_id: strawberry.ID
    variant_id: strawberry.ID | None
    quantity: int
    unit_price: Money = strawberry.field(description="The server's unit price.")
    discount: Money = strawberry.field(description="Taken off this line.")


@strawberry.type(name="PromotionValidation")
class PromotionValidationType:
    valid: bool
    code: str
    subtotal: Money = strawberry.field(
        description="List prices x quantities, priced by the server (as on carts and orders)."
    )
    modifier_discount_total: Money = strawberry.field(
        description="What price modifiers take off the list prices (promotions apply after)."
    )
    discount: Money = strawberry.field(description="What the code takes off; 0 when invalid.")
    total: Money = strawberry.field(description="subtotal - modifierDiscountTotal - discount.")
    free_shipping: bool
    reason: str | None = strawberry.field(
        description="Why not, a stable word: " + ", ".join(service.REASONS) + "."
    )
    message: str | None
    lines: list[PromotionLineDiscountType]
    promotion: PromotionType | None = strawberry.field(
        description="The promotion, when the code is known and on offer."
    )

    @classmethod
    def of(cls, validation: service.Validation) -> PromotionValidationType:
        result = validation.evaluation
        currency = result.currency
        return cls(
            valid=result.valid,
            code=validation.code,
            subtotal=Money(amount=validation.list_subtotal, currency=currency),
            modifier_discount_total=Money(
                amount=validation.list_subtotal - result.subtotal, currency=currency
            ),
            discount=Money(amount=result.discount, currency=currency),
            total=Money(amount=result.subtotal - result.discount, currency=currency),
            free_shipping=result.free_shipping,
            reason=result.reason,
            message=result.message,
            lines=[
                PromotionLineDiscountType(
                    entity_id=strawberry.ID(str(item.line.entity_id)),
                    variant_id=strawberry.ID(str(item.line.variant_id))
                    if item.line.variant_id
                    else None,
                    quantity=item.line.quantity,
                    unit_price=Money(amount=item.line.unit_price, currency=currency),
                    discount=Money(amount=item.discount, currency=currency),
                )
                for item in result.lines
            ],
            promotion=PromotionType.from_row(validation.promotion)
            if validation.promotion
            else None,
        )


@strawberry.input
class CreatePromotionInput:
    code: str = strawberry.field(description="Stored upper-case.", metadata=CODE_SCHEMA)
    name: str = strawberry.field(metadata=NAME_SCHEMA)
    type: str = strawberry.field(description=TYPE_DESCRIPTION, metadata=TYPE_SCHEMA)
    value: int | None = strawberry.field(
        default=None, description=VALUE_DESCRIPTION, metadata=VALUE_SCHEMA
    )
    currency: str | None = strawberry.field(
        default=None,
        description="Required for fixed_amount_off_order and with minSubtotal.",
        metadata=CURRENCY_SCHEMA,
    )
    valid_from: datetime | None = strawberry.field(default=None, description="Inclusive.")
    valid_until: datetime | None = strawberry.field(
        default=None, description="Exclusive; after validFrom."
    )
    usage_limit: int | None = strawberry.field(default=None, metadata=LIMIT_SCHEMA)
    per_customer_limit: int | None = strawberry.field(default=None, metadata=LIMIT_SCHEMA)
    min_subtotal: int | None = strawberry.field(
        default=None, description="Minor units of currency.", metadata=AMOUNT_SCHEMA
    )
    customer_group_ids: list[strawberry.ID] | None = strawberry.field(
        default=None, description="Only for these groups' members; empty: everyone."
    )
    entity_ids: list[strawberry.ID] | None = strawberry.field(
        default=None, description="percentage_off_items / buy_x_get_y: qualifying entities."
    )
    category_ids: list[strawberry.ID] | None = strawberry.field(
        default=None, description="percentage_off_items / buy_x_get_y: qualifying categories."
    )
    buy_quantity: int | None = strawberry.field(
        default=None, description="buy_x_get_y: X.", metadata=UNITS_SCHEMA
    )
    get_quantity: int | None = strawberry.field(
        default=None, description="buy_x_get_y: Y.", metadata=UNITS_SCHEMA
    )
    stackable: bool | None = False
    active: bool | None = True


@strawberry.input
class UpdatePromotionInput:
    id: strawberry.ID
    name: str | None = strawberry.field(default=UNSET, metadata=NAME_SCHEMA)
    value: int | None = strawberry.field(default=UNSET, metadata=VALUE_SCHEMA)
    valid_from: datetime | None = UNSET
    valid_until: datetime | None = UNSET
    usage_limit: int | None = strawberry.field(default=UNSET, metadata=LIMIT_SCHEMA)
    per_customer_limit: int | None = strawberry.field(default=UNSET, metadata=LIMIT_SCHEMA)
    min_subtotal: int | None = strawberry.field(default=UNSET, metadata=AMOUNT_SCHEMA)
    customer_group_ids: list[strawberry.ID] | None = UNSET
    entity_ids: list[strawberry.ID] | None = UNSET
    category_ids: list[strawberry.ID] | None = UNSET
    buy_quantity: int | None = strawberry.field(default=UNSET, metadata=UNITS_SCHEMA)
    get_quantity: int | None = strawberry.field(default=UNSET, metadata=UNITS_SCHEMA)
    stackable: bool | None = UNSET
    active: bool | None = UNSET


@strawberry.input
class PromotionIdInput:
    id: strawberry.ID


@strawberry.input
class PromotionLineItemInput:
    entity_id: strawberry.ID
    variant_id: strawberry.ID | None = None
    quantity: int = strawberry.field(metadata=QUANTITY_SCHEMA)
    entity_type: str | None = strawberry.field(default=None, description="Ignored.")
    unit_price: int | None = strawberry.field(
        default=None, description="Ignored: the server prices every line."
    )
    total_price: int | None = strawberry.field(
        default=None, description="Ignored: the server prices every line."
    )


@strawberry.input
class ValidatePromotionInput:
    code: str = strawberry.field(metadata={"jsonschema": {"maxLength": 50}})
    currency: str = strawberry.field(metadata=CURRENCY_SCHEMA)
    line_items: list[PromotionLineItemInput] = strawberry.field(
        metadata={"jsonschema": {"maxItems": service.evaluation.MAX_LINES}}
    )
    subtotal: int | None = strawberry.field(
        default=None, description="Ignored: the server computes the subtotal."
    )
    customer_id: str | None = strawberry.field(
        default=None, metadata={"jsonschema": {"maxLength": 64}}
    )
    customer_group_ids: list[strawberry.ID] | None = strawberry.field(
        default=None, description="Believed only from staff; a customer's own groups always count."
    )


# Nullable fields that cannot be cleared: a null for them means "leave as is".
KEEP_ON_NULL = ("name", "value", "stackable", "active")
LISTS = ("customer_group_ids", "entity_ids", "category_ids")


def _changes(input: UpdatePromotionInput) -> dict[str, Any]:
    changes: dict[str, Any] = {}
    for name in service.records.UPDATABLE:
        value = getattr(input, name)
        if value is UNSET or (value is None and name in KEEP_ON_NULL):
            continue
        if name in LISTS:
            value = [str(v) for v in value or []]
        changes[name] = value
    return changes


def _spec(input: CreatePromotionInput) -> service.PromotionSpec:
    return service.PromotionSpec(
        name=input.name,
        type=input.type,
        value=input.value,
        currency=input.currency,
        valid_from=input.valid_from,
        valid_until=input.valid_until,
        usage_limit=input.usage_limit,
        per_customer_limit=input.per_customer_limit,
        min_subtotal=input.min_subtotal,
        customer_group_ids=[str(i) for i in input.customer_group_ids or []],
        entity_ids=[str(i) for i in input.entity_ids or []],
        category_ids=[str(i) for i in input.category_ids or []],
        buy_quantity=input.buy_quantity,
        get_quantity=input.get_quantity,
        stackable=bool(input.stackable),
        active=input.active is not False,
    )


@strawberry.type
class PromotionQueries:
    @strawberry.field(
        description="Promotions on offer now (active, inside their window), oldest first. "
        "activeOnly: false lists every promotion and needs promotions:update."
    )
    async def promotions(
        self,
        info: Info,
        active_only: bool = True,
        page: int | None = None,
        limit: int | None = None,
        offset: int | None = None,
        first: int | None = None,
        after: str | None = None,
    ) -> Connection[PromotionType]:
        if not active_only:
            info.context.actor.require(UPDATE)
        request = page_request(page=page, limit=limit, offset=offset, first=first, after=after)
        async with info.context.read() as session:
            result = await service.list_promotions(session, active_only=active_only, page=request)
        return to_connection(result, PromotionType.from_row)

    @strawberry.field(permission_classes=[requires(UPDATE)], description="By UUID or code.")
    async def promotion(self, info: Info, id_or_code: str) -> PromotionType:
        async with info.context.read() as session:
            row = await service.get_promotion(session, id_or_code)
        return PromotionType.from_row(row)


@strawberry.type
class PromotionMutations:
    @strawberry.mutation(permission_classes=[requires(CREATE)])
    async def create_promotion(self, info: Info, input: CreatePromotionInput) -> PromotionType:
        async with info.context.command() as uow:
            row = await service.create_promotion(
                uow, info.context.actor, code=input.code, spec=_spec(input)
            )
        return PromotionType.from_row(row)

    @strawberry.mutation(
        permission_classes=[requires(UPDATE)],
        description="Code, type and currency stay as created; null clears a limit or bound.",
    )
    async def update_promotion(self, info: Info, input: UpdatePromotionInput) -> PromotionType:
        async with info.context.command() as uow:
            row = await service.update_promotion(
                uow, info.context.actor, id=input.id, changes=_changes(input)
            )
        return PromotionType.from_row(row)

    @strawberry.mutation(permission_classes=[requires(UPDATE)])
    async def deactivate_promotion(self, info: Info, input: PromotionIdInput) -> PromotionType:
        async with info.context.command() as uow:
            row = await service.deactivate_promotion(uow, info.context.actor, id=input.id)
        return PromotionType.from_row(row)

    @strawberry.mutation(
        description="What a code would take off this cart, priced by the server (client "
        "prices are ignored); an unusable code answers valid: false with a reason."
    )
    async def validate_promotion(
        self, info: Info, input: ValidatePromotionInput
    ) -> PromotionValidationType:
        items = [
            service.LineItem(
                entity_id=str(item.entity_id),
                variant_id=str(item.variant_id) if item.variant_id is not None else None,
                quantity=item.quantity,
            )
            for item in input.line_items
        ]
        async with info.context.read() as session:
            result = await service.validate_code(
                session,
                info.context.actor,
                code=input.code,
                currency=input.currency,
                line_items=items,
                customer_id=input.customer_id,
                customer_group_ids=[str(g) for g in input.customer_group_ids or []],
            )
        return PromotionValidationType.of(result)
