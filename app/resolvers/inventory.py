"""GraphQL for inventory: warehouses, levels, movements, availability, reservations."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

import strawberry
from strawberry import UNSET, Info

from app.ids import parse_uuid
from app.models.inventory import InventoryMovement, Reservation, Warehouse
from app.resolvers.arguments import page_request
from app.resolvers.pagination import Connection, to_connection
from app.resolvers.permissions import requires
from app.resolvers.rows import from_row
from app.resolvers.scalars import JSON
from app.services.inventory import levels as level_service
from app.services.inventory import queries
from app.services.inventory import reservations as reservation_service
from app.services.inventory import warehouses as warehouse_service
from app.services.inventory.levels import Change
from app.services.inventory.queries import Availability, LevelFilter, LevelView

READ, CREATE, UPDATE = "inventory:read", "inventory:create", "inventory:update"


def _id(value: uuid.UUID | None) -> strawberry.ID | None:
    return strawberry.ID(str(value)) if value is not None else None


@strawberry.type(name="Warehouse")
class WarehouseType:
    id: strawberry.ID
    code: str
    name: str
    address: JSON
    active: bool
    created_at: datetime
    updated_at: datetime

    @classmethod
    def from_row(cls, row: Warehouse) -> WarehouseType:
        return from_row(cls, row)


@strawberry.type(name="InventoryLevel")
class InventoryLevelType:
    id: strawberry.ID
    sku: str
    entity_id: strawberry.ID
    variant_id: strawberry.ID | None
    warehouse_id: strawberry.ID
    warehouse_name: str | None
    product_name: str | None
    quantity: int = strawberry.field(description="On hand.")
    reserved_quantity: int
    available_quantity: int = strawberry.field(description="quantity - reservedQuantity")
    reorder_point: int
    reorder_quantity: int
    last_updated: datetime

    @classmethod
    def from_view(cls, view: LevelView) -> InventoryLevelType:
        return from_row(cls, view)


@strawberry.type(name="InventoryMovement")
class InventoryMovementType:
    id: strawberry.ID
    level_id: strawberry.ID
    type: str
    delta: int
    reserved_delta: int
    reason: str | None
    reference_id: str | None
    actor_id: str | None
    created_at: datetime

    @classmethod
    def from_row(cls, row: InventoryMovement) -> InventoryMovementType:
        return from_row(cls, row)


@strawberry.type(name="Reservation")
class ReservationType:
    id: strawberry.ID
    level_id: strawberry.ID
    quantity: int
    status: str
    reference_id: str | None
    expires_at: datetime
    created_at: datetime

    @classmethod
    def from_row(cls, row: Reservation) -> ReservationType:
        return from_row(cls, row)


@strawberry.type(name="InventoryAvailability")
class AvailabilityType:
    entity_id: strawberry.ID
    variant_id: strawberry.ID | None
    sku: str
    quantity: int
    reserved_quantity: int
    available_quantity: int
    warehouses: list[InventoryLevelType]

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


@strawberry.input
class CreateWarehouseInput:
    code: str = strawberry.field(
        metadata={"jsonschema": {"pattern": warehouse_service.CODE.pattern, "maxLength": 50}}
    )
    name: str = strawberry.field(
        metadata={"jsonschema": {"minLength": 1, "maxLength": 200, "pattern": r"\S"}}
    )
    address: JSON | None = strawberry.field(
        default=None, description="line1, line2, city, state, postalCode, country"
    )


@strawberry.input
class UpdateWarehouseInput:
    id: strawberry.ID
    name: str | None = UNSET
    address: JSON | None = UNSET
    active: bool | None = UNSET


@strawberry.input
class IdOnlyInput:
    id: strawberry.ID


@strawberry.input
class InventoryLevelFilter:
    warehouse_id: strawberry.ID | None = None
    low_stock: bool | None = None
    sku_prefix: str | None = None
    entity_id: strawberry.ID | None = None


@strawberry.input
class AdjustInventoryInput:
    entity_id: strawberry.ID
    variant_id: strawberry.ID | None = None
    warehouse_id: strawberry.ID
    type: str = strawberry.field(
        description="restock and return add `quantity`, sale and damage remove it, "
        "correction adds it signed.",
        metadata={"jsonschema": {"enum": list(level_service.ADJUST_SIGNS)}},
    )
    quantity: int
    reason: str | None = None
    reference_id: str | None = None


@strawberry.input
class AdjustInventoryBySkuInput:
    sku: str
    adjustment: int = strawberry.field(description="Positive adds, negative removes.")
    reason: str | None = None
    reference_id: str | None = None
    warehouse_id: strawberry.ID | None = None


@strawberry.input
class SetInventoryLevelInput:
    sku: str
    quantity: int | None = strawberry.field(default=None, description="Absolute, on hand.")
    reorder_point: int | None = None
    reorder_quantity: int | None = None
    reason: str | None = None
    warehouse_id: strawberry.ID | None = None


@strawberry.input
class InventoryUpdateItem:
    sku: str
    quantity: int


@strawberry.input
class BulkSetInventoryInput:
    updates: list[InventoryUpdateItem] = strawberry.field(
        description="At most 100 SKUs; all or nothing.",
        metadata={"jsonschema": {"minItems": 1, "maxItems": level_service.MAX_BULK}},
    )
    reason: str | None = None
    warehouse_id: strawberry.ID | None = None


@strawberry.input
class ReserveInventoryInput:
    entity_id: strawberry.ID
    variant_id: strawberry.ID | None = None
    quantity: int
    reference_id: str | None = None
    expires_in_seconds: int = strawberry.field(default=900, description="Default 15 minutes.")


@strawberry.input
class ReleaseInventoryInput:
    reservation_id: strawberry.ID | None = None
    reference_id: str | None = None


async def _answer(info: Info, changes: list[Change]) -> list[InventoryLevelType]:
    async with info.context.read() as session:
        views = await queries.views_by_id(session, [c.level.id for c in changes])
    return [InventoryLevelType.from_view(v) for v in views]


@strawberry.type
class InventoryQueries:
    @strawberry.field(permission_classes=[requires(READ)])
    async def warehouses(
        self,
        info: Info,
        active: bool | None = None,
        page: int | None = None,
        limit: int | None = None,
        offset: int | None = None,
        first: int | None = None,
        after: str | None = None,
    ) -> Connection[WarehouseType]:
        request = page_request(page=page, limit=limit, offset=offset, first=first, after=after)
        async with info.context.read() as session:
            result = await warehouse_service.list_warehouses(session, page=request, active=active)
        return to_connection(result, WarehouseType.from_row)

    @strawberry.field(permission_classes=[requires(READ)])
    async def inventory_levels(
        self,
        info: Info,
        filter: InventoryLevelFilter | None = None,
        page: int | None = None,
        limit: int | None = None,
        offset: int | None = None,
        first: int | None = None,
        after: str | None = None,
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
        self, info: Info, sku: str, warehouse_id: strawberry.ID | None = None
    ) -> AvailabilityType:
        async with info.context.read() as session:
            levels = await queries.levels_of(session, sku=sku, warehouse_id=warehouse_id)
        [item] = queries.availability(levels)
        return AvailabilityType.from_availability(item)

    @strawberry.field(description="Availability per entity and variant, across warehouses.")
    async def inventory_check(
        self, info: Info, entity_ids: list[strawberry.ID]
    ) -> list[AvailabilityType]:
        ids = [parsed for parsed in map(parse_uuid, entity_ids) if parsed is not None]
        async with info.context.read() as session:
            levels = await queries.levels_for_entities(session, ids)
        return [
            AvailabilityType.from_availability(item)
            for id in ids
            for item in queries.availability(levels.get(id, []))
        ]

    @strawberry.field(permission_classes=[requires(READ)], description="Newest first.")
    async def inventory_movements(
        self,
        info: Info,
        sku: str,
        warehouse_id: strawberry.ID | None = None,
        page: int | None = None,
        limit: int | None = None,
        first: int | None = None,
        after: str | None = None,
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
    @strawberry.mutation(permission_classes=[requires(CREATE)])
    async def create_warehouse(self, info: Info, input: CreateWarehouseInput) -> WarehouseType:
        async with info.context.command() as uow:
            row = await warehouse_service.create_warehouse(
                uow, info.context.actor, code=input.code, name=input.name, address=input.address
            )
        return WarehouseType.from_row(row)

    @strawberry.mutation(permission_classes=[requires(UPDATE)])
    async def update_warehouse(self, info: Info, input: UpdateWarehouseInput) -> WarehouseType:
        given = {
            name: value
            for name, value in (
                ("name", input.name),
                ("address", input.address),
                ("active", input.active),
            )
            if value is not UNSET and value is not None
        }
        async with info.context.command() as uow:
            row = await warehouse_service.update_warehouse(
                uow, info.context.actor, id=input.id, **given
            )
        return WarehouseType.from_row(row)

    @strawberry.mutation(
        permission_classes=[requires(UPDATE)],
        description="Stop reserving from a warehouse; its stock stays recorded.",
    )
    async def deactivate_warehouse(self, info: Info, input: IdOnlyInput) -> WarehouseType:
        async with info.context.command() as uow:
            row = await warehouse_service.update_warehouse(
                uow, info.context.actor, id=input.id, active=False
            )
        return WarehouseType.from_row(row)

    @strawberry.mutation(permission_classes=[requires(UPDATE)])
    async def adjust_inventory(self, info: Info, input: AdjustInventoryInput) -> InventoryLevelType:
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

    @strawberry.mutation(permission_classes=[requires(UPDATE)])
    async def adjust_inventory_by_sku(
        self, info: Info, input: AdjustInventoryBySkuInput
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

    @strawberry.mutation(permission_classes=[requires(UPDATE)])
    async def set_inventory_level(
        self, info: Info, input: SetInventoryLevelInput
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

    @strawberry.mutation(permission_classes=[requires(UPDATE)])
    async def bulk_set_inventory(
        self, info: Info, input: BulkSetInventoryInput
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

    @strawberry.mutation(permission_classes=[requires(UPDATE)])
    async def reserve_inventory(
        self, info: Info, input: ReserveInventoryInput
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

    @strawberry.mutation(permission_classes=[requires(UPDATE)])
    async def release_inventory(
        self, info: Info, input: ReleaseInventoryInput
    ) -> list[ReservationType]:
        async with info.context.command() as uow:
            released = await reservation_service.release(
                uow,
                info.context.actor,
                reservation_id=input.reservation_id,
                reference_id=input.reference_id,
            )
        return [ReservationType.from_row(r) for r in released]
