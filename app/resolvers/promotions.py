"""GraphQL for promotions: codes (staff), the storefront's list of active ones, and
`validatePromotion`, which prices the cart on the server and says what a code would give.

Anyone may list the promotions on offer and validate a code; listing inactive ones and
reading one by id or code need `promotions:update`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

import strawberry
from strawberry import UNSET, Info

from app.models.promotions import Promotion
from app.money import CURRENCY
from app.resolvers.arguments import AfterArg, FirstArg, LimitArg, OffsetArg, PageArg, page_request
from app.resolvers.enums import PromotionKind, PromotionRejection
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


@strawberry.type(
    description=(
        "A promotion code and the discount it gives: its type, value, window, limits and targets."
    ),
    name="Promotion",
)
class PromotionType:
    id: strawberry.ID = strawberry.field(description="The promotion's id.")
    code: str = strawberry.field(description="Upper-case; matched case-insensitively.")
    name: str = strawberry.field(description="The promotion's name for people.")
    type: PromotionKind = strawberry.field(description="What the promotion takes off.")
    value: int = strawberry.field(description=VALUE_DESCRIPTION)
    currency: str | None = strawberry.field(
        description="The currency of a fixed value or minimum subtotal; null: any currency."
    )
    valid_from: datetime | None = strawberry.field(description="Inclusive; null: no start.")
    valid_until: datetime | None = strawberry.field(description="Exclusive; null: no end.")
    usage_limit: int | None = strawberry.field(description="Total redemptions; null: no limit.")
    per_customer_limit: int | None = strawberry.field(description="null: no limit.")
    usage_count: int = strawberry.field(
        description="How many times the promotion has been redeemed."
    )
    min_subtotal: Money | None = strawberry.field(
        description="The subtotal an order needs for the code to apply; null: no minimum."
    )
    customer_group_ids: list[strawberry.ID] = strawberry.field(description="Empty: everyone.")
    entity_ids: list[strawberry.ID] = strawberry.field(
        description=(
            "percentage_off_items / buy_x_get_y: the ids of the qualifying catalog entities."
        )
    )
    category_ids: list[strawberry.ID] = strawberry.field(
        description="percentage_off_items / buy_x_get_y: the ids of the qualifying categories."
    )
    buy_quantity: int | None = strawberry.field(
        description="buy_x_get_y: X, the units to buy; null for other types."
    )
    get_quantity: int | None = strawberry.field(
        description="buy_x_get_y: Y, the units discounted; null for other types."
    )
    stackable: bool = strawberry.field(
        description="Whether it combines with other stackable promotions."
    )
    active: bool = strawberry.field(
        description=(
            "Whether the promotion is switched on (it also applies only inside its window)."
        )
    )
    created_at: datetime = strawberry.field(description="When the promotion was created.")
    updated_at: datetime = strawberry.field(description="When the promotion last changed.")

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


@strawberry.type(description="What a promotion takes off one line.", name="PromotionLineDiscount")
class PromotionLineDiscountType:
    entity_id: strawberry.ID = strawberry.field(
        description="The id of the line's catalog entity (product)."
    )
    variant_id: strawberry.ID | None = strawberry.field(
        description="The id of the line's variant, if any."
    )
    quantity: int = strawberry.field(description="How many units the line has.")
    unit_price: Money = strawberry.field(description="The server's unit price.")
    discount: Money = strawberry.field(description="Taken off this line.")


@strawberry.type(
    description="What a promotion code would give a set of lines, priced by the server.",
    name="PromotionValidation",
)
class PromotionValidationType:
    valid: bool = strawberry.field(description="Whether the code can be used on these lines now.")
    code: str = strawberry.field(description="The code validated.")
    subtotal: Money = strawberry.field(
        description="List prices x quantities, priced by the server (as on carts and orders)."
    )
    modifier_discount_total: Money = strawberry.field(
        description="What price modifiers take off the list prices (promotions apply after)."
    )
    discount: Money = strawberry.field(description="What the code takes off; 0 when invalid.")
    total: Money = strawberry.field(description="subtotal - modifierDiscountTotal - discount.")
    free_shipping: bool = strawberry.field(description="Whether the code makes shipping free.")
    reason: PromotionRejection | None = strawberry.field(
        description="Why not, a stable word; null when valid."
    )
    message: str | None = strawberry.field(description="Why not, for people; null when valid.")
    lines: list[PromotionLineDiscountType] = strawberry.field(
        description="What the code takes off each line."
    )
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
            reason=PromotionRejection.of(result.reason) if result.reason else None,
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


@strawberry.input(description="A new promotion code.")
class CreatePromotionInput:
    code: str = strawberry.field(description="Stored upper-case.", metadata=CODE_SCHEMA)
    name: str = strawberry.field(
        description="The promotion's name, 1 to 200 characters.", metadata=NAME_SCHEMA
    )
    type: PromotionKind = strawberry.field(description="What the promotion takes off.")
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
    usage_limit: int | None = strawberry.field(
        description="Total redemptions allowed. Default: no limit.",
        default=None,
        metadata=LIMIT_SCHEMA,
    )
    per_customer_limit: int | None = strawberry.field(
        description="Redemptions allowed per customer. Default: no limit.",
        default=None,
        metadata=LIMIT_SCHEMA,
    )
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
    stackable: bool | None = strawberry.field(
        default=False,
        description="Whether it combines with other stackable promotions. Default: false.",
    )
    active: bool | None = strawberry.field(
        default=True, description="Whether it can be used. Default: true."
    )


@strawberry.input(description="Changes to a promotion; omitted fields stay as they are.")
class UpdatePromotionInput:
    id: strawberry.ID = strawberry.field(description="The id of the promotion to change.")
    name: str | None = strawberry.field(
        description="The new name, 1 to 200 characters; null leaves it. Omit to leave as is.",
        default=UNSET,
        metadata=NAME_SCHEMA,
    )
    value: int | None = strawberry.field(
        description="The new value, as for createPromotion; null leaves it. Omit to leave as is.",
        default=UNSET,
        metadata=VALUE_SCHEMA,
    )
    valid_from: datetime | None = strawberry.field(
        default=UNSET, description="The new start, inclusive; null: no start. Omit to leave as is."
    )
    valid_until: datetime | None = strawberry.field(
        default=UNSET, description="The new end, exclusive; null: no end. Omit to leave as is."
    )
    usage_limit: int | None = strawberry.field(
        description="Total redemptions allowed; null: no limit. Omit to leave as is.",
        default=UNSET,
        metadata=LIMIT_SCHEMA,
    )
    per_customer_limit: int | None = strawberry.field(
        description="Redemptions allowed per customer; null: no limit. Omit to leave as is.",
        default=UNSET,
        metadata=LIMIT_SCHEMA,
    )
    min_subtotal: int | None = strawberry.field(
        description="The minimum subtotal, in minor units; null: no minimum. Omit to leave as is.",
        default=UNSET,
        metadata=AMOUNT_SCHEMA,
    )
    customer_group_ids: list[strawberry.ID] | None = strawberry.field(
        default=UNSET,
        description=(
            "Only for these groups' members; null or empty: everyone. Omit to leave as is."
        ),
    )
    entity_ids: list[strawberry.ID] | None = strawberry.field(
        default=UNSET,
        description=(
            "The qualifying catalog entities (percentage_off_items / buy_x_get_y). Omit "
            "to leave as is."
        ),
    )
    category_ids: list[strawberry.ID] | None = strawberry.field(
        default=UNSET,
        description=(
            "The qualifying categories (percentage_off_items / buy_x_get_y). Omit to leave as is."
        ),
    )
    buy_quantity: int | None = strawberry.field(
        description="buy_x_get_y: X. Omit to leave as is.", default=UNSET, metadata=UNITS_SCHEMA
    )
    get_quantity: int | None = strawberry.field(
        description="buy_x_get_y: Y. Omit to leave as is.", default=UNSET, metadata=UNITS_SCHEMA
    )
    stackable: bool | None = strawberry.field(
        default=UNSET,
        description=(
            "Whether it combines with other stackable promotions; null leaves it. Omit to"
            " leave as is."
        ),
    )
    active: bool | None = strawberry.field(
        default=UNSET, description="Whether it can be used; null leaves it. Omit to leave as is."
    )


@strawberry.input(description="The promotion to act on.")
class PromotionIdInput:
    id: strawberry.ID = strawberry.field(description="The promotion's id.")


@strawberry.input(description="A line to validate a code against; the server prices it.")
class PromotionLineItemInput:
    entity_id: strawberry.ID = strawberry.field(
        description="The id of the catalog entity (product)."
    )
    variant_id: strawberry.ID | None = strawberry.field(
        default=None, description="The id of the variant, if it has variants."
    )
    quantity: int = strawberry.field(description="How many units.", metadata=QUANTITY_SCHEMA)
    entity_type: str | None = strawberry.field(default=None, description="Ignored.")
    unit_price: int | None = strawberry.field(
        default=None, description="Ignored: the server prices every line."
    )
    total_price: int | None = strawberry.field(
        default=None, description="Ignored: the server prices every line."
    )


@strawberry.input(description="A code and the lines to try it on.")
class ValidatePromotionInput:
    code: str = strawberry.field(
        description="The promotion code, matched case-insensitively.",
        metadata={"jsonschema": {"maxLength": 50}},
    )
    currency: str = strawberry.field(
        description="The ISO 4217 currency to price the lines in.", metadata=CURRENCY_SCHEMA
    )
    line_items: list[PromotionLineItemInput] = strawberry.field(
        description="The lines, as in a cart.",
        metadata={"jsonschema": {"maxItems": service.evaluation.MAX_LINES}},
    )
    subtotal: int | None = strawberry.field(
        default=None, description="Ignored: the server computes the subtotal."
    )
    customer_id: str | None = strawberry.field(
        description=(
            "The id of the customer who would use the code: their redemptions and groups count."
        ),
        default=None,
        metadata={"jsonschema": {"maxLength": 64}},
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
        active_only: Annotated[
            bool,
            strawberry.argument(
                description=(
                    "Only promotions on offer now (default); false lists all and needs "
                    "promotions:update."
                )
            ),
        ] = True,
        page: PageArg = None,
        limit: LimitArg = None,
        offset: OffsetArg = None,
        first: FirstArg = None,
        after: AfterArg = None,
    ) -> Connection[PromotionType]:
        if not active_only:
            info.context.actor.require(UPDATE)
        request = page_request(page=page, limit=limit, offset=offset, first=first, after=after)
        async with info.context.read() as session:
            result = await service.list_promotions(session, active_only=active_only, page=request)
        return to_connection(result, PromotionType.from_row)

    @strawberry.field(permission_classes=[requires(UPDATE)], description="By UUID or code.")
    async def promotion(
        self,
        info: Info,
        id_or_code: Annotated[
            str, strawberry.argument(description="The promotion's id (a UUID) or its code.")
        ],
    ) -> PromotionType:
        async with info.context.read() as session:
            row = await service.get_promotion(session, id_or_code)
        return PromotionType.from_row(row)


@strawberry.type
class PromotionMutations:
    @strawberry.mutation(
        description="Create a promotion code. Needs promotions:create.",
        permission_classes=[requires(CREATE)],
    )
    async def create_promotion(
        self,
        info: Info,
        input: Annotated[
            CreatePromotionInput,
            strawberry.argument(description="The code, its type, value and rules."),
        ],
    ) -> PromotionType:
        async with info.context.command() as uow:
            row = await service.create_promotion(
                uow, info.context.actor, code=input.code, spec=_spec(input)
            )
        return PromotionType.from_row(row)

    @strawberry.mutation(
        permission_classes=[requires(UPDATE)],
        description="Code, type and currency stay as created; null clears a limit or bound.",
    )
    async def update_promotion(
        self,
        info: Info,
        input: Annotated[
            UpdatePromotionInput,
            strawberry.argument(description="The promotion and what to change."),
        ],
    ) -> PromotionType:
        async with info.context.command() as uow:
            row = await service.update_promotion(
                uow, info.context.actor, id=input.id, changes=_changes(input)
            )
        return PromotionType.from_row(row)

    @strawberry.mutation(
        description="Stop a promotion from being used (active: false). Needs promotions:update.",
        permission_classes=[requires(UPDATE)],
    )
    async def deactivate_promotion(
        self,
        info: Info,
        input: Annotated[
            PromotionIdInput, strawberry.argument(description="The promotion to deactivate.")
        ],
    ) -> PromotionType:
        async with info.context.command() as uow:
            row = await service.deactivate_promotion(uow, info.context.actor, id=input.id)
        return PromotionType.from_row(row)

    @strawberry.mutation(
        description="What a code would take off this cart, priced by the server (client "
        "prices are ignored); an unusable code answers valid: false with a reason."
    )
    async def validate_promotion(
        self,
        info: Info,
        input: Annotated[
            ValidatePromotionInput, strawberry.argument(description="The code and the lines.")
        ],
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
