"""GraphQL for pricing: price records, modifiers, customer groups, and price resolution.

Records, modifiers and groups are staff data (`pricing:update` reads them, as it does the
documented GET /pricing/prices); `resolvePrice` is public, because storefronts price things.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

import strawberry
from strawberry import UNSET, Info

from app.ids import parse_uuid
from app.models.pricing import CustomerGroup, Price, PriceModifier
from app.money import CURRENCY
from app.resolvers.arguments import AfterArg, FirstArg, LimitArg, OffsetArg, PageArg, page_request
from app.resolvers.enums import AdjustmentKind
from app.resolvers.money import Money
from app.resolvers.pagination import Connection, to_connection
from app.resolvers.permissions import requires
from app.resolvers.rows import from_row
from app.services.catalog.entities import visible_statuses
from app.services.pricing import ResolvedPrice, resolve_price
from app.services.pricing import groups as group_service
from app.services.pricing import modifiers as modifier_service
from app.services.pricing import prices as price_service
from app.services.pricing.rules import MAX_AMOUNT

CREATE, UPDATE = "pricing:create", "pricing:update"

CURRENCY_SCHEMA = {"jsonschema": {"pattern": CURRENCY.pattern}}
AMOUNT_SCHEMA = {"jsonschema": {"minimum": 0, "maximum": MAX_AMOUNT}}
QUANTITY_SCHEMA = {"jsonschema": {"minimum": 1}}
NAME_SCHEMA = {"jsonschema": {"minLength": 1, "maxLength": 200, "pattern": r"\S"}}
GROUP_NAME_SCHEMA = {"jsonschema": {"minLength": 1, "maxLength": 100, "pattern": r"\S"}}
CUSTOMER_ID_SCHEMA = {"jsonschema": {"minLength": 1, "maxLength": 64, "pattern": r"\S"}}
VALUE_DESCRIPTION = (
    "percentage: whole percent off, 1 to 100 (10 = 10% off); "
    "fixed: minor units off (500 = 5.00 off)."
)


@strawberry.type(
    description=(
        "A price record: an entity's (or variant's) unit price in a currency, perhaps"
        " for a group, a quantity tier or a time window."
    ),
    name="Price",
)
class PriceType:
    id: strawberry.ID = strawberry.field(description="The price record's id.")
    entity_id: strawberry.ID = strawberry.field(
        description="The id of the catalog entity (product) priced."
    )
    variant_id: strawberry.ID | None = strawberry.field(
        description="The id of the variant priced; null when the price is the entity's own."
    )
    amount: Money = strawberry.field(description="The unit price before modifiers.")
    customer_group_id: strawberry.ID | None = strawberry.field(
        description="The group this price is for; null for everyone."
    )
    min_quantity: int = strawberry.field(description="Applies from this many units up (tiers).")
    valid_from: datetime | None = strawberry.field(description="Applies from (inclusive).")
    valid_until: datetime | None = strawberry.field(description="Applies until (exclusive).")
    created_at: datetime = strawberry.field(description="When the price record was created.")
    updated_at: datetime = strawberry.field(description="When the price record last changed.")

    @classmethod
    def from_row(cls, row: Price) -> PriceType:
        return from_row(cls, row, amount=Money(amount=row.amount, currency=row.currency))


@strawberry.type(
    description=(
        "A rule that takes a percentage or fixed amount off prices, for some "
        "entities, groups, quantities or times."
    ),
    name="PriceModifier",
)
class PriceModifierType:
    id: strawberry.ID = strawberry.field(description="The modifier's id.")
    name: str = strawberry.field(description="The modifier's name for people, e.g. Summer sale.")
    kind: AdjustmentKind = strawberry.field(description="How `value` is read; always a discount.")
    value: int = strawberry.field(description=VALUE_DESCRIPTION)
    currency: str | None = strawberry.field(
        description="The currency of a fixed value; on a percentage, limits it to that currency."
    )
    entity_id: strawberry.ID | None = strawberry.field(description="null: every entity.")
    customer_group_id: strawberry.ID | None = strawberry.field(description="null: everyone.")
    min_quantity: int | None = strawberry.field(description="null: any quantity.")
    valid_from: datetime | None = strawberry.field(
        description="Applies from (inclusive); null: no start."
    )
    valid_until: datetime | None = strawberry.field(
        description="Applies until (exclusive); null: no end."
    )
    active: bool = strawberry.field(description="Whether the modifier applies at all.")
    priority: int = strawberry.field(description="Modifiers apply in ascending priority.")
    created_at: datetime = strawberry.field(description="When the modifier was created.")
    updated_at: datetime = strawberry.field(description="When the modifier last changed.")

    @classmethod
    def from_row(cls, row: PriceModifier) -> PriceModifierType:
        return from_row(cls, row)


@strawberry.type(
    description="A named group of customers, for group prices, modifiers and promotions.",
    name="CustomerGroup",
)
class CustomerGroupType:
    id: strawberry.ID = strawberry.field(description="The group's id.")
    name: str = strawberry.field(description="The group's name, e.g. Wholesale.")
    description: str | None = strawberry.field(description="What the group is for, if given.")
    created_at: datetime = strawberry.field(description="When the group was created.")

    @classmethod
    def from_row(cls, row: CustomerGroup) -> CustomerGroupType:
        return from_row(cls, row)


@strawberry.type(description="A customer's membership of a group.", name="CustomerGroupMember")
class CustomerGroupMemberType:
    customer_group_id: strawberry.ID = strawberry.field(description="The id of the group.")
    customer_id: str = strawberry.field(description="The id of the customer.")
    created_at: datetime = strawberry.field(description="When the customer joined the group.")

    @classmethod
    def from_row(cls, row: Any) -> CustomerGroupMemberType:
        return from_row(cls, row)


@strawberry.type(
    description="A modifier as it applied to a resolved price.", name="AppliedPriceModifier"
)
class AppliedPriceModifierType:
    modifier_id: strawberry.ID = strawberry.field(description="The id of the price modifier.")
    name: str = strawberry.field(description="The modifier's name.")
    kind: AdjustmentKind = strawberry.field(description="How `value` is read.")
    value: int = strawberry.field(
        description=(
            "The modifier's value: whole percent off (PERCENTAGE) or minor units off (FIXED)."
        )
    )
    discount: Money = strawberry.field(description="What this modifier took off, per unit.")


@strawberry.type(
    description=(
        "The price to charge for a quantity of an entity or variant, and how it was reached."
    ),
    name="ResolvedPrice",
)
class ResolvedPriceType:
    base_amount: Money = strawberry.field(description="The chosen price record's amount.")
    amount: Money = strawberry.field(description="The unit price to charge, after modifiers.")
    discount: Money = strawberry.field(description="baseAmount minus amount.")
    quantity: int = strawberry.field(description="The quantity priced.")
    price: PriceType = strawberry.field(description="The price record chosen.")
    modifiers: list[AppliedPriceModifierType] = strawberry.field(
        description="The modifiers applied, in the order they applied."
    )

    @classmethod
    def of(cls, resolved: ResolvedPrice, quantity: int) -> ResolvedPriceType:
        currency = resolved.currency
        return cls(
            base_amount=Money(amount=resolved.base_amount, currency=currency),
            amount=Money(amount=resolved.amount, currency=currency),
            discount=Money(amount=resolved.discount, currency=currency),
            quantity=quantity,
            price=PriceType.from_row(resolved.price),
            modifiers=[
                AppliedPriceModifierType(
                    modifier_id=strawberry.ID(str(applied.modifier.id)),
                    name=applied.modifier.name,
                    kind=AdjustmentKind.of(applied.modifier.kind),
                    value=applied.modifier.value,
                    discount=Money(amount=applied.discount, currency=currency),
                )
                for applied in resolved.modifiers
            ],
        )


@strawberry.input(description="Which price records to list; every given criterion must hold.")
class PriceFilter:
    entity_id: strawberry.ID | None = strawberry.field(
        default=None, description="Only prices of this catalog entity."
    )
    variant_id: strawberry.ID | None = strawberry.field(
        default=None, description="Only prices of this variant."
    )
    currency: str | None = strawberry.field(
        default=None, description="Only prices in this ISO 4217 currency."
    )
    customer_group_id: strawberry.ID | None = strawberry.field(
        default=None, description="Only prices for this customer group."
    )


@strawberry.input(description="Which price modifiers to list; every given criterion must hold.")
class PriceModifierFilter:
    entity_id: strawberry.ID | None = strawberry.field(
        default=None, description="Only modifiers of this catalog entity."
    )
    customer_group_id: strawberry.ID | None = strawberry.field(
        default=None, description="Only modifiers for this customer group."
    )
    active: bool | None = strawberry.field(
        default=None, description="Only active (true) or inactive (false) modifiers."
    )


@strawberry.input(description="A new price record.")
class CreatePriceInput:
    entity_id: strawberry.ID = strawberry.field(
        description="The id of the catalog entity (product) to price."
    )
    variant_id: strawberry.ID | None = strawberry.field(
        default=None, description="A variant of the entity; null prices the entity itself."
    )
    currency: str = strawberry.field(description="ISO 4217, e.g. USD.", metadata=CURRENCY_SCHEMA)
    amount: int = strawberry.field(description="Minor units (cents).", metadata=AMOUNT_SCHEMA)
    customer_group_id: strawberry.ID | None = strawberry.field(
        default=None, description="Only for this group's members; null for everyone."
    )
    # Nullable with a default, so the REST body documents it as optional; null means 1.
    min_quantity: int | None = strawberry.field(
        default=1, description="Applies from this many units up.", metadata=QUANTITY_SCHEMA
    )
    valid_from: datetime | None = strawberry.field(default=None, description="Inclusive.")
    valid_until: datetime | None = strawberry.field(
        default=None, description="Exclusive; after validFrom."
    )


@strawberry.input(description="Changes to a price record; omitted fields stay as they are.")
class UpdatePriceInput:
    id: strawberry.ID = strawberry.field(description="The id of the price record to change.")
    currency: str | None = strawberry.field(
        description="The new ISO 4217 currency. Omit or null to leave as is.",
        default=UNSET,
        metadata=CURRENCY_SCHEMA,
    )
    amount: int | None = strawberry.field(
        description="The new unit price, in minor units. Omit or null to leave as is.",
        default=UNSET,
        metadata=AMOUNT_SCHEMA,
    )
    customer_group_id: strawberry.ID | None = strawberry.field(
        default=UNSET, description="null makes the price public."
    )
    min_quantity: int | None = strawberry.field(
        description="The new quantity the price applies from. Omit or null to leave as is.",
        default=UNSET,
        metadata=QUANTITY_SCHEMA,
    )
    valid_from: datetime | None = strawberry.field(default=UNSET, description="null: no start.")
    valid_until: datetime | None = strawberry.field(default=UNSET, description="null: no end.")


@strawberry.input(description="A new price modifier.")
class CreatePriceModifierInput:
    name: str = strawberry.field(
        description="The modifier's name, 1 to 200 characters.", metadata=NAME_SCHEMA
    )
    kind: AdjustmentKind = strawberry.field(description="How `value` is read.")
    value: int = strawberry.field(
        description=VALUE_DESCRIPTION, metadata={"jsonschema": {"minimum": 1}}
    )
    currency: str | None = strawberry.field(
        default=None, description="Required for fixed.", metadata=CURRENCY_SCHEMA
    )
    entity_id: strawberry.ID | None = strawberry.field(default=None, description="null: all.")
    customer_group_id: strawberry.ID | None = strawberry.field(
        default=None, description="null: everyone."
    )
    min_quantity: int | None = strawberry.field(
        description="Applies from this many units up; null: any quantity.",
        default=None,
        metadata=QUANTITY_SCHEMA,
    )
    valid_from: datetime | None = strawberry.field(
        default=None, description="Applies from (inclusive); null: no start."
    )
    valid_until: datetime | None = strawberry.field(
        default=None, description="Applies until (exclusive); null: no end."
    )
    # Nullable with defaults, so the REST body documents them as optional; null is the default.
    active: bool | None = strawberry.field(
        default=True, description="Whether it applies. Default: true."
    )
    priority: int | None = strawberry.field(default=0, description="Ascending: 0 applies first.")


@strawberry.input(description="Changes to a price modifier; omitted fields stay as they are.")
class UpdatePriceModifierInput:
    id: strawberry.ID = strawberry.field(description="The id of the modifier to change.")
    name: str | None = strawberry.field(
        description="The new name, 1 to 200 characters. Omit or null to leave as is.",
        default=UNSET,
        metadata=NAME_SCHEMA,
    )
    value: int | None = strawberry.field(
        default=UNSET,
        description=(
            "The new value: whole percent off (percentage) or minor units off (fixed). "
            "Omit or null to leave as is."
        ),
    )
    currency: str | None = strawberry.field(
        description="The new ISO 4217 currency; null clears it. Omit to leave as is.",
        default=UNSET,
        metadata=CURRENCY_SCHEMA,
    )
    min_quantity: int | None = strawberry.field(
        description="Applies from this many units up; null: any quantity. Omit to leave as is.",
        default=UNSET,
        metadata=QUANTITY_SCHEMA,
    )
    valid_from: datetime | None = strawberry.field(
        default=UNSET, description="Applies from (inclusive); null: no start. Omit to leave as is."
    )
    valid_until: datetime | None = strawberry.field(
        default=UNSET, description="Applies until (exclusive); null: no end. Omit to leave as is."
    )
    active: bool | None = strawberry.field(
        default=UNSET, description="Whether it applies. Omit or null to leave as is."
    )
    priority: int | None = strawberry.field(
        default=UNSET,
        description="Where it applies in order: ascending, 0 first. Omit or null to leave as is.",
    )


@strawberry.input(description="A new customer group.")
class CreateCustomerGroupInput:
    name: str = strawberry.field(
        description="The group's name, 1 to 100 characters.", metadata=GROUP_NAME_SCHEMA
    )
    description: str | None = strawberry.field(default=None, description="What the group is for.")


@strawberry.input(description="A customer and a group, to add or remove the customer.")
class CustomerGroupMembershipInput:
    customer_group_id: strawberry.ID = strawberry.field(description="The id of the customer group.")
    customer_id: str = strawberry.field(
        description="A customer's id: adding needs an existing customer.",
        metadata=CUSTOMER_ID_SCHEMA,
    )


def _given(*, required: tuple[str, ...] = (), **values: Any) -> dict[str, Any]:
    """The arguments the caller gave; a null for a field that cannot be cleared is dropped."""
    return {
        name: value
        for name, value in values.items()
        if value is not UNSET and not (value is None and name in required)
    }


@strawberry.type
class PricingQueries:
    @strawberry.field(
        permission_classes=[requires(UPDATE)],
        description="Every price record (all groups, tiers, windows), oldest first.",
    )
    async def prices(
        self,
        info: Info,
        filter: Annotated[
            PriceFilter | None,
            strawberry.argument(description="Which price records to list. Default: all."),
        ] = None,
        page: PageArg = None,
        limit: LimitArg = None,
        offset: OffsetArg = None,
        first: FirstArg = None,
        after: AfterArg = None,
    ) -> Connection[PriceType]:
        request = page_request(page=page, limit=limit, offset=offset, first=first, after=after)
        given = filter or PriceFilter()
        criteria = price_service.PriceFilter(
            entity_id=given.entity_id,
            variant_id=given.variant_id,
            currency=given.currency,
            customer_group_id=given.customer_group_id,
        )
        async with info.context.read() as session:
            result = await price_service.list_prices(session, filter=criteria, page=request)
        return to_connection(result, PriceType.from_row)

    @strawberry.field(
        permission_classes=[requires(UPDATE)],
        description="In the order they apply: ascending priority, then creation.",
    )
    async def price_modifiers(
        self,
        info: Info,
        filter: Annotated[
            PriceModifierFilter | None,
            strawberry.argument(description="Which modifiers to list. Default: all."),
        ] = None,
        page: PageArg = None,
        limit: LimitArg = None,
        offset: OffsetArg = None,
        first: FirstArg = None,
        after: AfterArg = None,
    ) -> Connection[PriceModifierType]:
        request = page_request(page=page, limit=limit, offset=offset, first=first, after=after)
        given = filter or PriceModifierFilter()
        criteria = modifier_service.ModifierFilter(
            entity_id=given.entity_id,
            customer_group_id=given.customer_group_id,
            active=given.active,
        )
        async with info.context.read() as session:
            result = await modifier_service.list_modifiers(session, filter=criteria, page=request)
        return to_connection(result, PriceModifierType.from_row)

    @strawberry.field(
        permission_classes=[requires(UPDATE)],
        description="By name; `customerId` narrows to the groups that customer is in.",
    )
    async def customer_groups(
        self,
        info: Info,
        customer_id: Annotated[
            str | None,
            strawberry.argument(
                description="Only the groups this customer is in. Default: all groups."
            ),
        ] = None,
        page: PageArg = None,
        limit: LimitArg = None,
        offset: OffsetArg = None,
        first: FirstArg = None,
        after: AfterArg = None,
    ) -> Connection[CustomerGroupType]:
        request = page_request(page=page, limit=limit, offset=offset, first=first, after=after)
        async with info.context.read() as session:
            result = await group_service.list_customer_groups(
                session, customer_id=customer_id, page=request
            )
        return to_connection(result, CustomerGroupType.from_row)

    @strawberry.field(permission_classes=[requires(UPDATE)], description="By customer id.")
    async def customer_group_members(
        self,
        info: Info,
        customer_group_id: Annotated[
            strawberry.ID, strawberry.argument(description="The id of the customer group.")
        ],
        page: PageArg = None,
        limit: LimitArg = None,
        offset: OffsetArg = None,
        first: FirstArg = None,
        after: AfterArg = None,
    ) -> Connection[CustomerGroupMemberType]:
        request = page_request(page=page, limit=limit, offset=offset, first=first, after=after)
        async with info.context.read() as session:
            result = await group_service.list_group_members(
                session, customer_group_id=customer_group_id, page=request
            )
        return to_connection(result, CustomerGroupMemberType.from_row)

    @strawberry.field(
        description="The unit price to charge for `quantity` of an entity (or a variant), "
        "null when it has no price in `currency`. A signed-in customer gets their groups' "
        "prices; naming `customerGroupIds` or `at` (quoting, previews) needs pricing:update."
    )
    async def resolve_price(
        self,
        info: Info,
        entity_id: Annotated[
            strawberry.ID,
            strawberry.argument(description="The id of the catalog entity (product) to price."),
        ],
        currency: Annotated[
            str, strawberry.argument(description="The ISO 4217 currency to price in.")
        ],
        variant_id: Annotated[
            strawberry.ID | None,
            strawberry.argument(
                description="The id of the variant to price. Default: the entity itself."
            ),
        ] = None,
        quantity: Annotated[
            int,
            strawberry.argument(
                description="How many units: picks the quantity tier and modifiers. Default: 1."
            ),
        ] = 1,
        customer_group_ids: Annotated[
            list[strawberry.ID] | None,
            strawberry.argument(
                description=(
                    "Price as for members of these groups (empty: public prices only); naming any"
                    " needs pricing:update. Default: the signed-in customer's groups."
                )
            ),
        ] = None,
        at: Annotated[
            datetime | None,
            strawberry.argument(
                description="Price as at this time (previews); needs pricing:update. Default: now."
            ),
        ] = None,
    ) -> ResolvedPriceType | None:
        actor = info.context.actor
        if at is not None:
            actor.require(UPDATE)
        entity = parse_uuid(entity_id)
        variant = parse_uuid(variant_id) if variant_id is not None else None
        async with info.context.read() as session:
            groups = await group_service.groups_for(session, actor, customer_group_ids)
            if entity is None or (variant_id is not None and variant is None):
                return None  # an id that is not a UUID names nothing that has a price
            resolved = await resolve_price(
                session,
                entity_id=entity,
                variant_id=variant,
                currency=currency,
                customer_group_ids=groups,
                quantity=quantity,
                at=at,
                statuses=visible_statuses(actor),
            )
        return ResolvedPriceType.of(resolved, quantity) if resolved else None


@strawberry.type
class PricingMutations:
    @strawberry.mutation(
        description="Create a price record. Needs pricing:create.",
        permission_classes=[requires(CREATE)],
    )
    async def create_price(
        self,
        info: Info,
        input: Annotated[
            CreatePriceInput,
            strawberry.argument(description="The entity, currency, amount and conditions."),
        ],
    ) -> PriceType:
        async with info.context.command() as uow:
            row = await price_service.create_price(
                uow,
                info.context.actor,
                entity_id=input.entity_id,
                variant_id=input.variant_id,
                currency=input.currency,
                amount=input.amount,
                customer_group_id=input.customer_group_id,
                min_quantity=1 if input.min_quantity is None else input.min_quantity,
                valid_from=input.valid_from,
                valid_until=input.valid_until,
            )
        return PriceType.from_row(row)

    @strawberry.mutation(
        description="Change a price record. Needs pricing:update.",
        permission_classes=[requires(UPDATE)],
    )
    async def update_price(
        self,
        info: Info,
        input: Annotated[
            UpdatePriceInput,
            strawberry.argument(description="The price record and what to change."),
        ],
    ) -> PriceType:
        given = _given(
            required=("currency", "amount", "min_quantity"),
            currency=input.currency,
            amount=input.amount,
            customer_group_id=input.customer_group_id,
            min_quantity=input.min_quantity,
            valid_from=input.valid_from,
            valid_until=input.valid_until,
        )
        async with info.context.command() as uow:
            row = await price_service.update_price(uow, info.context.actor, id=input.id, **given)
        return PriceType.from_row(row)

    @strawberry.mutation(
        description="Create a price modifier. Needs pricing:create.",
        permission_classes=[requires(CREATE)],
    )
    async def create_price_modifier(
        self,
        info: Info,
        input: Annotated[
            CreatePriceModifierInput,
            strawberry.argument(description="The modifier's kind, value and conditions."),
        ],
    ) -> PriceModifierType:
        async with info.context.command() as uow:
            row = await modifier_service.create_modifier(
                uow,
                info.context.actor,
                name=input.name,
                kind=input.kind,
                value=input.value,
                currency=input.currency,
                entity_id=input.entity_id,
                customer_group_id=input.customer_group_id,
                min_quantity=input.min_quantity,
                valid_from=input.valid_from,
                valid_until=input.valid_until,
                active=input.active is not False,
                priority=input.priority or 0,
            )
        return PriceModifierType.from_row(row)

    @strawberry.mutation(
        description="Change a price modifier. Needs pricing:update.",
        permission_classes=[requires(UPDATE)],
    )
    async def update_price_modifier(
        self,
        info: Info,
        input: Annotated[
            UpdatePriceModifierInput,
            strawberry.argument(description="The modifier and what to change."),
        ],
    ) -> PriceModifierType:
        given = _given(
            required=("name", "value", "active", "priority"),
            name=input.name,
            value=input.value,
            currency=input.currency,
            min_quantity=input.min_quantity,
            valid_from=input.valid_from,
            valid_until=input.valid_until,
            active=input.active,
            priority=input.priority,
        )
        async with info.context.command() as uow:
            row = await modifier_service.update_modifier(
                uow, info.context.actor, id=input.id, **given
            )
        return PriceModifierType.from_row(row)

    @strawberry.mutation(
        description="Create a customer group. Needs pricing:create.",
        permission_classes=[requires(CREATE)],
    )
    async def create_customer_group(
        self,
        info: Info,
        input: Annotated[
            CreateCustomerGroupInput,
            strawberry.argument(description="The group's name and description."),
        ],
    ) -> CustomerGroupType:
        async with info.context.command() as uow:
            row = await group_service.create_customer_group(
                uow, info.context.actor, name=input.name, description=input.description
            )
        return CustomerGroupType.from_row(row)

    @strawberry.mutation(
        permission_classes=[requires(UPDATE)],
        description="The customer must exist (NOT_FOUND naming customerId); adding a member "
        "twice is a no-op.",
    )
    async def add_customer_to_group(
        self,
        info: Info,
        input: Annotated[
            CustomerGroupMembershipInput,
            strawberry.argument(description="The group and the customer to add."),
        ],
    ) -> CustomerGroupType:
        async with info.context.command() as uow:
            row = await group_service.add_customer_to_group(
                uow,
                info.context.actor,
                customer_group_id=input.customer_group_id,
                customer_id=input.customer_id,
            )
        return CustomerGroupType.from_row(row)

    @strawberry.mutation(
        permission_classes=[requires(UPDATE)],
        description="Removing a customer who is not a member is NOT_FOUND.",
    )
    async def remove_customer_from_group(
        self,
        info: Info,
        input: Annotated[
            CustomerGroupMembershipInput,
            strawberry.argument(description="The group and the customer to remove."),
        ],
    ) -> CustomerGroupType:
        async with info.context.command() as uow:
            row = await group_service.remove_customer_from_group(
                uow,
                info.context.actor,
                customer_group_id=input.customer_group_id,
                customer_id=input.customer_id,
            )
        return CustomerGroupType.from_row(row)
