"""GraphQL for inventory: warehouses, levels, movements, availability, reservations."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Annotated

import strawberry
from strawberry import UNSET, Info

from app.ids import parse_uuid
from app.models.inventory import InventoryMovement, Reservation, Warehouse
from app.resolvers.arguments import AfterArg, FirstArg, LimitArg, OffsetArg, PageArg, page_request
from app.resolvers.enums import AdjustmentType, MovementType, ReservationStatus
from app.resolvers.pagination import Connection, to_connection
from app.resolvers.permissions import requires
from app.resolvers.rows import from_row
from app.resolvers.scalars import JSON
from app.services.catalog.entities import visible_statuses
from app.services.inventory import levels as level_service
from app.services.inventory import queries
from app.services.inventory import reservations as reservation_service
from app.services.inventory import warehouses as warehouse_service
from app.services.inventory.levels import Change
from app.services.inventory.queries import Availability, LevelFilter, LevelView

READ, CREATE, UPDATE = "inventory:read", "inventory:create", "inventory:update"


def _id(value: uuid.UUID | None) -> strawberry.ID | None:
    return strawberry.ID(str(value)) if value is not None else None


@strawberry.type(
    description="A place stock is kept; inactive warehouses are not reserved from.",
    name="Warehouse",
)
class WarehouseType:
    id: strawberry.ID = strawberry.field(description="The warehouse's id.")
    code: str = strawberry.field(description="The warehouse's unique short code, e.g. MAIN.")
    name: str = strawberry.field(description="The warehouse's name for people.")
    address: JSON = strawberry.field(
        description="The warehouse's address: line1, line2, city, state, postalCode, country."
    )
    active: bool = strawberry.field(description="Whether stock is reserved from it.")
    created_at: datetime = strawberry.field(description="When the warehouse was created.")
    updated_at: datetime = strawberry.field(description="When the warehouse last changed.")

    @classmethod
    def from_row(cls, row: Warehouse) -> WarehouseType:
        return from_row(cls, row)


@strawberry.type(description="The stock of one SKU in one warehouse.", name="InventoryLevel")
class InventoryLevelType:
    id: strawberry.ID = strawberry.field(description="The inventory level's id.")
    sku: str = strawberry.field(description="The SKU stocked.")
    entity_id: strawberry.ID = strawberry.field(
        description="The id of the catalog entity (product) the SKU belongs to."
    )
    variant_id: strawberry.ID | None = strawberry.field(
        description="The id of the variant the SKU belongs to; null for the product's own SKU."
    )
    warehouse_id: strawberry.ID = strawberry.field(description="The id of the warehouse.")
    warehouse_name: str | None = strawberry.field(description="The warehouse's name.")
    product_name: str | None = strawberry.field(description="The product's name.")
    quantity: int = strawberry.field(description="On hand.")
    reserved_quantity: int = strawberry.field(
        description="Units on hand held by active reservations."
    )
    available_quantity: int = strawberry.field(description="quantity - reservedQuantity")
    reorder_point: int = strawberry.field(
        description="Low stock at or below this many available units; 0: never low."
    )
    reorder_quantity: int = strawberry.field(description="How many units to reorder when low.")
    last_updated: datetime = strawberry.field(description="When the level last changed.")

    @classmethod
    def from_view(cls, view: LevelView) -> InventoryLevelType:
        return from_row(cls, view)


@strawberry.type(
    description="A change to an inventory level, kept for the record.", name="InventoryMovement"
)
class InventoryMovementType:
    id: strawberry.ID = strawberry.field(description="The movement's id.")
    level_id: strawberry.ID = strawberry.field(description="The id of the inventory level changed.")
    type: MovementType = strawberry.field(description="Why the level changed.")
    delta: int = strawberry.field(description="The change to the quantity on hand, signed.")
    reserved_delta: int = strawberry.field(
        description="The change to the reserved quantity, signed."
    )
    reason: str | None = strawberry.field(description="Why it changed, if given.")
    reference_id: str | None = strawberry.field(
        description="What it was for, e.g. an order id, if given."
    )
    actor_id: str | None = strawberry.field(
        description="Who made the change: an API key's or user's id, or system; null if unknown."
    )
    created_at: datetime = strawberry.field(description="When it changed.")

    @classmethod
    def from_row(cls, row: InventoryMovement) -> InventoryMovementType:
        return from_row(cls, row)


@strawberry.type(
    description=(
        "Units of an inventory level held, e.g. for an order, until released, consumed or expired."
    ),
    name="Reservation",
)
class ReservationType:
    id: strawberry.ID = strawberry.field(description="The reservation's id.")
    level_id: strawberry.ID = strawberry.field(
        description="The id of the inventory level held from."
    )
    quantity: int = strawberry.field(description="How many units are held.")
    status: ReservationStatus = strawberry.field(description="Where the reservation stands.")
    reference_id: str | None = strawberry.field(
        description="What the units are held for, e.g. an order id, if given."
    )
    expires_at: datetime = strawberry.field(
        description="When an active reservation lapses and its units return."
    )
    created_at: datetime = strawberry.field(description="When the units were reserved.")

    @classmethod
    def from_row(cls, row: Reservation) -> ReservationType:
        return from_row(cls, row)


@strawberry.type(
    description="The stock of one SKU, summed over warehouses, with each warehouse's level.",
    name="InventoryAvailability",
)
class AvailabilityType:
    entity_id: strawberry.ID = strawberry.field(
        description="The id of the catalog entity (product)."
    )
    variant_id: strawberry.ID | None = strawberry.field(
        description="The id of the variant; null for the product's own SKU."
    )
    sku: str = strawberry.field(description="The SKU.")
    quantity: int | None = strawberry.field(
        description="Units on hand, summed. Needs inventory:read (else null, with an error).",
        permission_classes=[requires(READ)],
    )
    reserved_quantity: int | None = strawberry.field(
        description="Units reserved, summed. Needs inventory:read (else null, with an error).",
        permission_classes=[requires(READ)],
    )
    available_quantity: int = strawberry.field(
        description="quantity - reservedQuantity: units that can be sold. Public."
    )
    warehouses: list[InventoryLevelType] | None = strawberry.field(
        description=(
            "The SKU's level in each warehouse. Needs inventory:read (else null, with an error)."
        ),
        permission_classes=[requires(READ)],
    )

    @classmethod
    def from_availability(cls, value: Availability) -> AvailabilityType:
        return cls(
            entity_id=strawberry.ID(str(value.entity_id)),
            variant_id=_id(value.variant_id),
            sku=value.sku,
            quantity=value.quantity,
            reserved_quantity=value.reserved_quantity,
            available_quantity=value.available_quantity,
            warehouses=[InventoryLevelType.from_view(w) for w in value.warehouses],
        )


@strawberry.input(description="A new warehouse.")
class CreateWarehouseInput:
    code: str = strawberry.field(
        description="A unique short code, e.g. MAIN.",
        metadata={"jsonschema": {"pattern": warehouse_service.CODE.pattern, "maxLength": 50}},
    )
    name: str = strawberry.field(
        description="The warehouse's name, 1 to 200 characters.",
        metadata={"jsonschema": {"minLength": 1, "maxLength": 200, "pattern": r"\S"}},
    )
    address: JSON | None = strawberry.field(
        default=None, description="line1, line2, city, state, postalCode, country"
    )


@strawberry.input(description="Changes to a warehouse; omitted fields stay as they are.")
class UpdateWarehouseInput:
    id: strawberry.ID = strawberry.field(description="The id of the warehouse to change.")
    name: str | None = strawberry.field(
        default=UNSET, description="The new name. Omit or null to leave as is."
    )
    address: JSON | None = strawberry.field(
        default=UNSET,
        description=(
            "The new address: line1, line2, city, state, postalCode, country. Omit or "
            "null to leave as is."
        ),
    )
    active: bool | None = strawberry.field(
        default=UNSET, description="Whether stock is reserved from it. Omit or null to leave as is."
    )


@strawberry.input(description="The thing to act on, by id.")
class IdOnlyInput:
    id: strawberry.ID = strawberry.field(description="The id.")


@strawberry.input(description="Which inventory levels to list; every given criterion must hold.")
class InventoryLevelFilter:
    warehouse_id: strawberry.ID | None = strawberry.field(
        default=None, description="Only levels in this warehouse."
    )
    low_stock: bool | None = strawberry.field(
        default=None,
        description="true: only levels at or below their reorder point; false: only the others.",
    )
    sku_prefix: str | None = strawberry.field(
        default=None, description="Only SKUs starting with this."
    )
    entity_id: strawberry.ID | None = strawberry.field(
        default=None, description="Only levels of this catalog entity (product)."
    )


@strawberry.input(description="A change to the stock of an entity or variant in a warehouse.")
class AdjustInventoryInput:
    entity_id: strawberry.ID = strawberry.field(
        description="The id of the catalog entity (product)."
    )
    variant_id: strawberry.ID | None = strawberry.field(
        default=None, description="The id of the variant, if the product has variants."
    )
    warehouse_id: strawberry.ID = strawberry.field(description="The id of the warehouse.")
    type: AdjustmentType = strawberry.field(
        description="RESTOCK and RETURN add `quantity`, SALE and DAMAGE remove it, "
        "CORRECTION adds it signed."
    )
    quantity: int = strawberry.field(description="How many units, as `type` says.")
    reason: str | None = strawberry.field(default=None, description="Why, kept with the movement.")
    reference_id: str | None = strawberry.field(
        default=None, description="What it is for, e.g. a delivery note, kept with the movement."
    )


@strawberry.input(description="A change to the stock of a SKU, by a signed amount.")
class AdjustInventoryBySkuInput:
    sku: str = strawberry.field(description="The SKU to adjust.")
    adjustment: int = strawberry.field(description="Positive adds, negative removes.")
    reason: str | None = strawberry.field(default=None, description="Why, kept with the movement.")
    reference_id: str | None = strawberry.field(
        default=None, description="What it is for, kept with the movement."
    )
    warehouse_id: strawberry.ID | None = strawberry.field(
        default=None,
        description=(
            "The id of the warehouse; needed when the SKU is stocked in several. Default:"
            " its only warehouse (or, for a new level, the first active one by code)."
        ),
    )


@strawberry.input(description="New absolute values for a SKU's level; omitted ones stay.")
class SetInventoryLevelInput:
    sku: str = strawberry.field(description="The SKU to set.")
    quantity: int | None = strawberry.field(default=None, description="Absolute, on hand.")
    reorder_point: int | None = strawberry.field(
        default=None, description="The new reorder point. Default: unchanged."
    )
    reorder_quantity: int | None = strawberry.field(
        default=None, description="The new reorder quantity. Default: unchanged."
    )
    reason: str | None = strawberry.field(default=None, description="Why, kept with the movement.")
    warehouse_id: strawberry.ID | None = strawberry.field(
        default=None,
        description=(
            "The id of the warehouse; needed when the SKU is stocked in several. Default:"
            " its only warehouse (or, for a new level, the first active one by code)."
        ),
    )


@strawberry.input(description="A SKU and its new quantity on hand.")
class InventoryUpdateItem:
    sku: str = strawberry.field(description="The SKU.")
    quantity: int = strawberry.field(description="Its new quantity on hand, absolute.")


@strawberry.input(description="New quantities on hand for many SKUs at once.")
class BulkSetInventoryInput:
    updates: list[InventoryUpdateItem] = strawberry.field(
        description="At most 100 SKUs; all or nothing.",
        metadata={"jsonschema": {"minItems": 1, "maxItems": level_service.MAX_BULK}},
    )
    reason: str | None = strawberry.field(default=None, description="Why, kept with each movement.")
    warehouse_id: strawberry.ID | None = strawberry.field(
        default=None,
        description=(
            "The id of the warehouse; needed for SKUs stocked in several. Default: each "
            "SKU's only warehouse (or, for a new level, the first active one by code)."
        ),
    )


@strawberry.input(description="Units of an entity or variant to hold, across active warehouses.")
class ReserveInventoryInput:
    entity_id: strawberry.ID = strawberry.field(
        description="The id of the catalog entity (product)."
    )
    variant_id: strawberry.ID | None = strawberry.field(
        default=None, description="The id of the variant, if the product has variants."
    )
    quantity: int = strawberry.field(description="How many units to hold.")
    reference_id: str | None = strawberry.field(
        default=None,
        description="What they are held for, e.g. an order id; releaseInventory can name it.",
    )
    expires_in_seconds: int = strawberry.field(default=900, description="Default 15 minutes.")


@strawberry.input(
    description=(
        "What to release: one reservation, or every active one with a reference; give exactly one."
    )
)
class ReleaseInventoryInput:
    reservation_id: strawberry.ID | None = strawberry.field(
        default=None, description="The id of the reservation to release."
    )
    reference_id: str | None = strawberry.field(
        default=None, description="Release every active reservation with this reference."
    )


async def _answer(info: Info, changes: list[Change]) -> list[InventoryLevelType]:
    async with info.context.read() as session:
        views = await queries.views_by_id(session, [c.level.id for c in changes])
    return [InventoryLevelType.from_view(v) for v in views]


@strawberry.type
class InventoryQueries:
    @strawberry.field(
        description="Warehouses, one page at a time. Needs inventory:read.",
        permission_classes=[requires(READ)],
    )
    async def warehouses(
        self,
        info: Info,
        active: Annotated[
            bool | None,
            strawberry.argument(
                description="Only active (true) or inactive (false) warehouses. Default: all."
            ),
        ] = None,
        page: PageArg = None,
        limit: LimitArg = None,
        offset: OffsetArg = None,
        first: FirstArg = None,
        after: AfterArg = None,
    ) -> Connection[WarehouseType]:
        request = page_request(page=page, limit=limit, offset=offset, first=first, after=after)
        async with info.context.read() as session:
            result = await warehouse_service.list_warehouses(session, page=request, active=active)
        return to_connection(result, WarehouseType.from_row)

    @strawberry.field(
        description=(
            "Inventory levels (one per SKU and warehouse), one page at a time. Needs "
            "inventory:read."
        ),
        permission_classes=[requires(READ)],
    )
    async def inventory_levels(
        self,
        info: Info,
        filter: Annotated[
            InventoryLevelFilter | None,
            strawberry.argument(description="Which levels to list. Default: all."),
        ] = None,
        page: PageArg = None,
        limit: LimitArg = None,
        offset: OffsetArg = None,
        first: FirstArg = None,
        after: AfterArg = None,
    ) -> Connection[InventoryLevelType]:
        request = page_request(page=page, limit=limit, offset=offset, first=first, after=after)
        given = filter or InventoryLevelFilter()
        criteria = LevelFilter(
            warehouse_id=given.warehouse_id,
            low_stock=given.low_stock,
            sku_prefix=given.sku_prefix,
            entity_id=given.entity_id,
        )
        async with info.context.read() as session:
            result = await queries.list_levels(session, filter=criteria, page=request)
        return to_connection(result, InventoryLevelType.from_view)

    @strawberry.field(
        permission_classes=[requires(READ)],
        description="One SKU across its warehouses (or in one), summed.",
    )
    async def inventory_item(
        self,
        info: Info,
        sku: Annotated[str, strawberry.argument(description="The SKU.")],
        warehouse_id: Annotated[
            strawberry.ID | None,
            strawberry.argument(description="Only this warehouse. Default: all."),
        ] = None,
    ) -> AvailabilityType:
        async with info.context.read() as session:
            levels = await queries.levels_of(session, sku=sku, warehouse_id=warehouse_id)
        [item] = queries.availability(levels)
        return AvailabilityType.from_availability(item)

    @strawberry.field(
        description=(
            "Availability per entity and variant, across warehouses. Public for active "
            "entities (others need catalog:read, and are left out like unknown ids); the "
            "quantities on hand and reserved and the warehouses need inventory:read."
        )
    )
    async def inventory_check(
        self,
        info: Info,
        entity_ids: Annotated[
            list[strawberry.ID],
            strawberry.argument(
                description=(
                    "The ids of the catalog entities (products); ids that are not UUIDs, or "
                    "name no entity the caller may see, are skipped."
                )
            ),
        ],
    ) -> list[AvailabilityType]:
        ids = [parsed for parsed in map(parse_uuid, entity_ids) if parsed is not None]
        statuses = visible_statuses(info.context.actor)
        async with info.context.read() as session:
            levels = await queries.levels_for_entities(session, ids, statuses=statuses)
        return [
            AvailabilityType.from_availability(item)
            for id in ids
            for item in queries.availability(levels.get(id, []))
        ]

    @strawberry.field(permission_classes=[requires(READ)], description="Newest first.")
    async def inventory_movements(
        self,
        info: Info,
        sku: Annotated[str, strawberry.argument(description="The SKU whose movements to list.")],
        warehouse_id: Annotated[
            strawberry.ID | None,
            strawberry.argument(description="Only this warehouse. Default: all."),
        ] = None,
        page: PageArg = None,
        limit: LimitArg = None,
        first: FirstArg = None,
        after: AfterArg = None,
    ) -> Connection[InventoryMovementType]:
        request = page_request(page=page, limit=limit, offset=None, first=first, after=after)
        async with info.context.read() as session:
            levels = await queries.levels_of(session, sku=sku, warehouse_id=warehouse_id)
            result = await queries.list_movements(
                session, level_ids=[level.id for level in levels], page=request
            )
        return to_connection(result, InventoryMovementType.from_row)


@strawberry.type
class InventoryMutations:
    @strawberry.mutation(
        description="Create a warehouse. Needs inventory:create.",
        permission_classes=[requires(CREATE)],
    )
    async def create_warehouse(
        self,
        info: Info,
        input: Annotated[
            CreateWarehouseInput,
            strawberry.argument(description="The warehouse's code, name and address."),
        ],
    ) -> WarehouseType:
        async with info.context.command() as uow:
            row = await warehouse_service.create_warehouse(
                uow, info.context.actor, code=input.code, name=input.name, address=input.address
            )
        return WarehouseType.from_row(row)

    @strawberry.mutation(
        description="Change a warehouse. Needs inventory:update.",
        permission_classes=[requires(UPDATE)],
    )
    async def update_warehouse(
        self,
        info: Info,
        input: Annotated[
            UpdateWarehouseInput,
            strawberry.argument(description="The warehouse and what to change."),
        ],
    ) -> WarehouseType:
        # Omitted (UNSET) and null both leave a field as it is.
        async with info.context.command() as uow:
            row = await warehouse_service.update_warehouse(
                uow,
                info.context.actor,
                id=input.id,
                name=None if input.name is UNSET else input.name,
                address=None if input.address is UNSET else input.address,
                active=None if input.active is UNSET else input.active,
            )
        return WarehouseType.from_row(row)

    @strawberry.mutation(
        permission_classes=[requires(UPDATE)],
        description="Stop reserving from a warehouse; its stock stays recorded.",
    )
    async def deactivate_warehouse(
        self,
        info: Info,
        input: Annotated[
            IdOnlyInput, strawberry.argument(description="The warehouse to deactivate.")
        ],
    ) -> WarehouseType:
        async with info.context.command() as uow:
            row = await warehouse_service.update_warehouse(
                uow, info.context.actor, id=input.id, active=False
            )
        return WarehouseType.from_row(row)

    @strawberry.mutation(
        description=(
            "Record a restock, sale, return, damage or correction of an entity's or "
            "variant's stock in a warehouse. Needs inventory:update."
        ),
        permission_classes=[requires(UPDATE)],
    )
    async def adjust_inventory(
        self,
        info: Info,
        input: Annotated[
            AdjustInventoryInput,
            strawberry.argument(description="The item, warehouse, type and quantity."),
        ],
    ) -> InventoryLevelType:
        async with info.context.command() as uow:
            level = await level_service.level_for_entity(
                uow,
                entity_id=input.entity_id,
                variant_id=input.variant_id,
                warehouse_id=input.warehouse_id,
            )
            change = await level_service.adjust_level(
                uow,
                info.context.actor,
                level,
                type=input.type,
                quantity=input.quantity,
                reason=input.reason,
                reference_id=input.reference_id,
            )
        [answer] = await _answer(info, [change])
        return answer

    @strawberry.mutation(
        description="Add to or remove from a SKU's stock. Needs inventory:update.",
        permission_classes=[requires(UPDATE)],
    )
    async def adjust_inventory_by_sku(
        self,
        info: Info,
        input: Annotated[
            AdjustInventoryBySkuInput,
            strawberry.argument(description="The SKU and the signed adjustment."),
        ],
    ) -> InventoryLevelType:
        async with info.context.command() as uow:
            change = await level_service.adjust_by_sku(
                uow,
                info.context.actor,
                sku=input.sku,
                adjustment=input.adjustment,
                reason=input.reason,
                reference_id=input.reference_id,
                warehouse_id=input.warehouse_id,
            )
        [answer] = await _answer(info, [change])
        return answer

    @strawberry.mutation(
        description="Set a SKU's quantity on hand or reorder settings. Needs inventory:update.",
        permission_classes=[requires(UPDATE)],
    )
    async def set_inventory_level(
        self,
        info: Info,
        input: Annotated[
            SetInventoryLevelInput, strawberry.argument(description="The SKU and the new values.")
        ],
    ) -> InventoryLevelType:
        async with info.context.command() as uow:
            change = await level_service.set_level(
                uow,
                info.context.actor,
                sku=input.sku,
                quantity=input.quantity,
                reorder_point=input.reorder_point,
                reorder_quantity=input.reorder_quantity,
                reason=input.reason,
                warehouse_id=input.warehouse_id,
            )
        [answer] = await _answer(info, [change])
        return answer

    @strawberry.mutation(
        description="Set many SKUs' quantities on hand, all or nothing. Needs inventory:update.",
        permission_classes=[requires(UPDATE)],
    )
    async def bulk_set_inventory(
        self,
        info: Info,
        input: Annotated[
            BulkSetInventoryInput, strawberry.argument(description="The SKUs and their quantities.")
        ],
    ) -> list[InventoryLevelType]:
        async with info.context.command() as uow:
            changes = await level_service.bulk_set(
                uow,
                info.context.actor,
                updates=[(u.sku, u.quantity) for u in input.updates],
                reason=input.reason,
                warehouse_id=input.warehouse_id,
            )
        return await _answer(info, changes)

    @strawberry.mutation(
        description=(
            "Hold units across active warehouses; returns a reservation per level held "
            "from. Needs inventory:update."
        ),
        permission_classes=[requires(UPDATE)],
    )
    async def reserve_inventory(
        self,
        info: Info,
        input: Annotated[
            ReserveInventoryInput,
            strawberry.argument(description="The item, quantity and how long to hold it."),
        ],
    ) -> list[ReservationType]:
        async with info.context.command() as uow:
            held = await reservation_service.reserve(
                uow,
                info.context.actor,
                entity_id=input.entity_id,
                variant_id=input.variant_id,
                quantity=input.quantity,
                reference_id=input.reference_id,
                ttl=timedelta(seconds=input.expires_in_seconds),
            )
        return [ReservationType.from_row(r) for r in held]

    @strawberry.mutation(
        description=(
            "Give held units back; returns the reservations released. Needs inventory:update."
        ),
        permission_classes=[requires(UPDATE)],
    )
    async def release_inventory(
        self,
        info: Info,
        input: Annotated[
            ReleaseInventoryInput,
            strawberry.argument(description="The reservation, or the reference, to release."),
        ],
    ) -> list[ReservationType]:
        async with info.context.command() as uow:
            released = await reservation_service.release(
                uow,
                info.context.actor,
                reservation_id=input.reservation_id,
                reference_id=input.reference_id,
            )
        return [ReservationType.from_row(r) for r in released]
