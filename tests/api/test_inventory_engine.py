"""Inventory through the engine dialect (seed 003, `/api/inventory`): every route.

Envelopes: `{"data": ...}`; lists add `meta.pagination {page, limit, total, totalPages}`;
errors are `{"error": {"code", "message", "details"?}}` with NOT_FOUND 404,
VALIDATION_FAILED 422, UNAUTHORIZED 401, FORBIDDEN 403 and CONFLICT 409.

Stock is kept per (warehouse, SKU). Every change is one movement (the sum of a level's deltas
is its quantity, of its reserved deltas its reserved quantity), one audit entry and one
`inventory.afterAdjust` event, all in the change's transaction; a refused change writes none.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select, update
from starlette.applications import Starlette

from app.auth.actor import SYSTEM
from app.db import Database
from app.models.audit import AuditEntry, Event
from app.models.base import utcnow
from app.models.catalog import CatalogEntity, Variant
from app.models.inventory import InventoryLevel, InventoryMovement, Reservation, Warehouse
from app.services.inventory import levels as level_service
from app.services.inventory import reservations as reservation_service
from app.services.inventory import warehouses as warehouse_service
from tests.conftest import client_for, client_with
from tests.support.catalog import make_entity
from tests.support.factories import make_api_key

BASE = "/api/inventory"
ADJUST = f"{BASE}/adjust"
CHECK = f"{BASE}/check"
RESERVE = f"{BASE}/reserve"
RELEASE = f"{BASE}/release"
WAREHOUSES = f"{BASE}/warehouses"
UNKNOWN_ID = "0190b6a2-0000-7000-8000-000000000000"

LEVEL_FIELDS = {
    "id",
    "sku",
    "entityId",
    "variantId",
    "warehouseId",
    "warehouseName",
    "productName",
    "quantity",
    "reservedQuantity",
    "availableQuantity",
    "reorderPoint",
    "reorderQuantity",
    "lastUpdated",
}
RESERVATION_FIELDS = {
    "id",
    "levelId",
    "quantity",
    "status",
    "referenceId",
    "expiresAt",
    "createdAt",
}
WAREHOUSE_FIELDS = {"id", "code", "name", "address", "active", "createdAt", "updatedAt"}
CHECK_FIELDS = {
    "entityId",
    "variantId",
    "sku",
    "quantity",
    "reservedQuantity",
    "availableQuantity",
    "warehouses",
}
CHECK_WAREHOUSE_FIELDS = {
    "warehouseId",
    "warehouseName",
    "quantity",
    "reservedQuantity",
    "availableQuantity",
}


# --- fixtures and helpers -------------------------------------------------------------------


@pytest.fixture
async def reader(app: Starlette, database: Database) -> AsyncIterator[httpx.AsyncClient]:
    """A client whose key holds `inventory:read` and nothing else."""
    _, plaintext = await make_api_key(database, permissions=["inventory:read"], name="reader")
    async with client_for(app, headers={"x-api-key": plaintext}) as http:
        yield http


async def make_warehouse(database: Database, *, code: str, name: str | None = None) -> Warehouse:
    async with database.unit_of_work() as uow:
        warehouse = await warehouse_service.create_warehouse(
            uow, SYSTEM, code=code, name=name or code.title()
        )
        await uow.commit()
    return warehouse


async def variant_of(database: Database, sku: str) -> Variant:
    async with database.read_session() as session:
        variant = await session.scalar(select(Variant).where(Variant.sku == sku))
    assert variant is not None, sku
    return variant


async def stocked(
    database: Database,
    entity: CatalogEntity,
    warehouse: Warehouse,
    quantity: int,
    *,
    variant: Variant | None = None,
) -> InventoryLevel:
    """Restock `quantity` units of the entity (or its variant) in the warehouse, as staff
    would through the services; returns the level as committed."""
    async with database.unit_of_work() as uow:
        level = await level_service.level_for_entity(
            uow,
            entity_id=str(entity.id),
            variant_id=str(variant.id) if variant else None,
            warehouse_id=str(warehouse.id),
        )
        await level_service.adjust_level(uow, SYSTEM, level, type="restock", quantity=quantity)
        await uow.commit()
    return level


async def held(
    database: Database, entity: CatalogEntity, quantity: int, *, reference_id: str | None = None
) -> list[Reservation]:
    async with database.unit_of_work() as uow:
        reservations = await reservation_service.reserve(
            uow, SYSTEM, entity_id=str(entity.id), quantity=quantity, reference_id=reference_id
        )
        await uow.commit()
    return reservations


async def level_row(database: Database, level_id: uuid.UUID | str) -> InventoryLevel:
    async with database.read_session() as session:
        level = await session.get(InventoryLevel, uuid.UUID(str(level_id)))
    assert level is not None
    return level


async def counts_of(database: Database, level: InventoryLevel | str | uuid.UUID) -> tuple[int, int]:
    """(quantity, reserved) as stored."""
    row = await level_row(database, level.id if isinstance(level, InventoryLevel) else level)
    return row.quantity, row.reserved_quantity


async def movements_of(database: Database, level_id: uuid.UUID | str) -> list[InventoryMovement]:
    async with database.read_session() as session:
        return list(
            (
                await session.scalars(
                    select(InventoryMovement)
                    .where(InventoryMovement.level_id == uuid.UUID(str(level_id)))
                    .order_by(InventoryMovement.id)
                )
            ).all()
        )


async def audits_of(database: Database, level_id: uuid.UUID | str) -> list[AuditEntry]:
    async with database.read_session() as session:
        return list(
            (
                await session.scalars(
                    select(AuditEntry)
                    .where(AuditEntry.entity_id == str(level_id))
                    .order_by(AuditEntry.id)
                )
            ).all()
        )


async def reservations_in(database: Database) -> list[Reservation]:
    async with database.read_session() as session:
        return list((await session.scalars(select(Reservation).order_by(Reservation.id))).all())


async def count_rows(database: Database, model: type) -> int:
    async with database.read_session() as session:
        return (await session.execute(select(func.count()).select_from(model))).scalar_one()


async def row_counts(database: Database) -> dict[str, int]:
    """How many rows every table a stock change writes to holds."""
    return {
        model.__name__: await count_rows(database, model)
        for model in (InventoryLevel, InventoryMovement, Reservation, AuditEntry, Event)
    }


async def events_of(database: Database, type: str) -> list[Event]:
    async with database.read_session() as session:
        return list(
            (
                await session.scalars(select(Event).where(Event.type == type).order_by(Event.id))
            ).all()
        )


def data_of(response: httpx.Response, *, status: int = 200) -> Any:
    """The engine's success envelope, checked; returns `data`."""
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"data"}, body
    return body["data"]


def data_of_list(response: httpx.Response) -> list[Any]:
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == {"data", "meta"}
    return body["data"]


def error_of(response: httpx.Response, *, status: int, code: str) -> dict[str, Any]:
    """The engine's error envelope, checked; returns the `error` object."""
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"}
    error = body["error"]
    assert error["code"] == code
    assert isinstance(error["message"], str) and error["message"]
    assert set(error) <= {"code", "message", "details"}
    return error


def adjustment(
    entity: CatalogEntity,
    warehouse: Warehouse,
    type: str,
    quantity: Any,
    *,
    variant: Variant | None = None,
    **extra: Any,
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "entityId": str(entity.id),
        "warehouseId": str(warehouse.id),
        "type": type,
        "quantity": quantity,
        **extra,
    }
    if variant is not None:
        body["variantId"] = str(variant.id)
    return body


@pytest.fixture
async def east(database: Database) -> Warehouse:
    return await make_warehouse(database, code="EAST", name="East")


@pytest.fixture
async def mug(database: Database) -> CatalogEntity:
    """An entity without variants: its slug is its SKU."""
    return await make_entity(database, slug="mug")


@pytest.fixture
async def tee(database: Database) -> CatalogEntity:
    """An entity with variants TEE-S and TEE-M."""
    return await make_entity(database, slug="tee", sizes=("S", "M"))


# --- warehouses -----------------------------------------------------------------------------


async def test_create_warehouse_answers_201_with_the_warehouse_and_audits_it(
    admin: httpx.AsyncClient, database: Database
) -> None:
    response = await admin.post(
        WAREHOUSES,
        json={"code": "EAST-1", "name": "East coast", "address": {"city": "Boston"}},
    )
    data = data_of(response, status=201)
    assert set(data) == WAREHOUSE_FIELDS
    assert data["code"] == "EAST-1"
    assert data["name"] == "East coast"
    assert data["address"] == {"city": "Boston"}
    assert data["active"] is True
    assert data["createdAt"].endswith("Z") and data["updatedAt"].endswith("Z")
    async with database.read_session() as session:
        stored = await session.get(Warehouse, uuid.UUID(data["id"]))
        entries = (
            await session.scalars(select(AuditEntry).where(AuditEntry.entity_id == data["id"]))
        ).all()
    assert stored is not None and (stored.code, stored.name, stored.active) == (
        "EAST-1",
        "East coast",
        True,
    )
    assert [(e.event, e.entity_type) for e in entries] == [("warehouses.create", "warehouse")]


async def test_create_warehouse_with_a_code_in_use_is_409(
    admin: httpx.AsyncClient, database: Database, east: Warehouse
) -> None:
    error = error_of(
        await admin.post(WAREHOUSES, json={"code": "EAST", "name": "Another"}),
        status=409,
        code="CONFLICT",
    )
    assert error["details"] == {"code": "Already in use."}
    assert await count_rows(database, Warehouse) == 1


@pytest.mark.parametrize(
    ("body", "details"),
    [
        ({"name": "East"}, {"code": "Field is required."}),
        ({"code": "EAST"}, {"name": "Field is required."}),
        (
            {"code": "east 1", "name": "East"},
            {"code": "Upper-case letters, digits, _ and -, at most 50."},
        ),
        (
            {"code": "EAST", "name": "East", "address": {"planet": "Mars"}},
            {
                "address": "Unknown fields planet; use line1, line2, city, state, postalCode, "
                "country."
            },
        ),
    ],
)
async def test_create_warehouse_with_a_bad_body_is_422_naming_the_field(
    admin: httpx.AsyncClient, database: Database, body: dict[str, Any], details: dict[str, str]
) -> None:
    error = error_of(await admin.post(WAREHOUSES, json=body), status=422, code="VALIDATION_FAILED")
    assert error["details"] == details
    assert await count_rows(database, Warehouse) == 0


async def test_list_warehouses_by_code_with_pages_and_the_active_filter(
    admin: httpx.AsyncClient, database: Database
) -> None:
    for code in ("CHARLIE", "ALPHA", "BRAVO"):
        await make_warehouse(database, code=code)
    response = await admin.get(WAREHOUSES)
    assert response.status_code == 200
    body = response.json()
    assert [w["code"] for w in body["data"]] == ["ALPHA", "BRAVO", "CHARLIE"]
    assert all(set(w) == WAREHOUSE_FIELDS for w in body["data"])
    assert body["meta"] == {"pagination": {"page": 1, "limit": 20, "total": 3, "totalPages": 1}}

    second = (await admin.get(WAREHOUSES, params={"page": 2, "limit": 2})).json()
    assert [w["code"] for w in second["data"]] == ["CHARLIE"]
    assert second["meta"]["pagination"] == {"page": 2, "limit": 2, "total": 3, "totalPages": 2}

    bravo = body["data"][1]["id"]
    data_of(await admin.post(f"{WAREHOUSES}/{bravo}/deactivate"))
    active = (await admin.get(WAREHOUSES, params={"active": "true"})).json()
    inactive = (await admin.get(WAREHOUSES, params={"active": "false"})).json()
    assert [w["code"] for w in active["data"]] == ["ALPHA", "CHARLIE"]
    assert [(w["code"], w["active"]) for w in inactive["data"]] == [("BRAVO", False)]


async def test_patch_warehouse_renames_readdresses_and_reactivates_it(
    admin: httpx.AsyncClient, database: Database, east: Warehouse
) -> None:
    data_of(await admin.post(f"{WAREHOUSES}/{east.id}/deactivate"))
    response = await admin.patch(
        f"{WAREHOUSES}/{east.id}",
        json={"name": "East (new)", "address": {"city": "Albany"}, "active": True},
    )
    data = data_of(response)
    assert set(data) == WAREHOUSE_FIELDS
    assert (data["id"], data["code"], data["name"], data["address"], data["active"]) == (
        str(east.id),
        "EAST",
        "East (new)",
        {"city": "Albany"},
        True,
    )
    async with database.read_session() as session:
        stored = await session.get(Warehouse, east.id)
        events = (
            await session.scalars(
                select(AuditEntry.event)
                .where(AuditEntry.entity_id == str(east.id))
                .order_by(AuditEntry.id)
            )
        ).all()
    assert stored is not None and (stored.name, stored.active) == ("East (new)", True)
    assert events == ["warehouses.create", "warehouses.update", "warehouses.update"]


async def test_deactivate_answers_the_warehouse_inactive(
    admin: httpx.AsyncClient, database: Database, east: Warehouse
) -> None:
    data = data_of(await admin.post(f"{WAREHOUSES}/{east.id}/deactivate"))
    assert set(data) == WAREHOUSE_FIELDS
    assert (data["id"], data["active"]) == (str(east.id), False)
    async with database.read_session() as session:
        stored = await session.get(Warehouse, east.id)
    assert stored is not None and stored.active is False


async def test_patch_or_deactivate_an_unknown_warehouse_is_404(admin: httpx.AsyncClient) -> None:
    error_of(
        await admin.patch(f"{WAREHOUSES}/{UNKNOWN_ID}", json={"name": "X"}),
        status=404,
        code="NOT_FOUND",
    )
    error_of(
        await admin.post(f"{WAREHOUSES}/{UNKNOWN_ID}/deactivate"), status=404, code="NOT_FOUND"
    )
    error_of(await admin.post(f"{WAREHOUSES}/not-a-uuid/deactivate"), status=404, code="NOT_FOUND")


# --- adjust ---------------------------------------------------------------------------------


async def test_adjust_answers_the_level_with_every_field(
    admin: httpx.AsyncClient, database: Database, east: Warehouse, mug: CatalogEntity
) -> None:
    response = await admin.post(ADJUST, json=adjustment(mug, east, "restock", 50))
    data = data_of(response)
    assert set(data) == LEVEL_FIELDS
    assert {k: v for k, v in data.items() if k not in {"id", "lastUpdated"}} == {
        "sku": "mug",
        "entityId": str(mug.id),
        "variantId": None,
        "warehouseId": str(east.id),
        "warehouseName": "East",
        "productName": "Mug",
        "quantity": 50,
        "reservedQuantity": 0,
        "availableQuantity": 50,
        "reorderPoint": 0,
        "reorderQuantity": 0,
    }
    assert data["lastUpdated"].endswith("Z")
    level = await level_row(database, data["id"])
    assert (level.sku, level.warehouse_id, level.entity_id, level.variant_id) == (
        "mug",
        east.id,
        mug.id,
        None,
    )
    assert (level.quantity, level.reserved_quantity) == (50, 0)


async def test_each_adjust_type_moves_the_level_and_records_movement_audit_and_event(
    admin: httpx.AsyncClient, database: Database, east: Warehouse, tee: CatalogEntity
) -> None:
    small = await variant_of(database, "TEE-S")
    steps = [
        ("restock", 10, 10),
        ("sale", 3, -3),
        ("return", 1, 1),
        ("damage", 2, -2),
        ("correction", -1, -1),
        ("correction", 4, 4),
    ]
    quantity = 0
    level_id = None
    for index, (type, amount, delta) in enumerate(steps):
        body = adjustment(
            tee, east, type, amount, variant=small, reason=f"step {index}", referenceId=f"R-{index}"
        )
        data = data_of(await admin.post(ADJUST, json=body))
        quantity += delta
        assert (data["sku"], data["variantId"], data["quantity"]) == (
            "TEE-S",
            str(small.id),
            quantity,
        )
        assert data["availableQuantity"] == quantity
        level_id = level_id or data["id"]
        assert data["id"] == level_id  # one level per (warehouse, SKU)
    assert quantity == 9
    assert await counts_of(database, level_id) == (9, 0)

    movements = await movements_of(database, level_id)
    assert [(m.type, m.delta, m.reserved_delta) for m in movements] == [
        (type, delta, 0) for type, _, delta in steps
    ]
    assert [(m.reason, m.reference_id) for m in movements] == [
        (f"step {i}", f"R-{i}") for i in range(len(steps))
    ]
    assert sum(m.delta for m in movements) == 9
    assert all(m.actor_id is not None for m in movements)

    audits = await audits_of(database, level_id)
    assert [(a.event, a.entity_type, a.reason) for a in audits] == [
        ("inventory.afterAdjust", "inventory", f"step {i}") for i in range(len(steps))
    ]
    assert [a.after["quantity"] for a in audits] == [10, 7, 8, 6, 5, 9]
    assert [a.before["quantity"] for a in audits] == [0, 10, 7, 8, 6, 5]
    assert [a.after["type"] for a in audits] == [type for type, _, _ in steps]
    events = await events_of(database, "inventory.afterAdjust")
    assert [e.entity_id for e in events] == [level_id] * len(steps)


async def test_the_other_variant_and_warehouse_are_levels_of_their_own(
    admin: httpx.AsyncClient, database: Database, east: Warehouse, tee: CatalogEntity
) -> None:
    west = await make_warehouse(database, code="WEST", name="West")
    small, medium = await variant_of(database, "TEE-S"), await variant_of(database, "TEE-M")
    a = data_of(await admin.post(ADJUST, json=adjustment(tee, east, "restock", 5, variant=small)))
    b = data_of(await admin.post(ADJUST, json=adjustment(tee, west, "restock", 7, variant=small)))
    c = data_of(await admin.post(ADJUST, json=adjustment(tee, east, "restock", 2, variant=medium)))
    assert len({a["id"], b["id"], c["id"]}) == 3
    assert [(x["sku"], x["warehouseName"], x["quantity"]) for x in (a, b, c)] == [
        ("TEE-S", "East", 5),
        ("TEE-S", "West", 7),
        ("TEE-M", "East", 2),
    ]
    assert await count_rows(database, InventoryLevel) == 3


@pytest.mark.parametrize(
    ("type", "quantity"), [("sale", 4), ("damage", 4), ("correction", -4), ("sale", 100)]
)
async def test_removing_more_than_is_available_is_409_and_changes_nothing(
    admin: httpx.AsyncClient,
    database: Database,
    east: Warehouse,
    mug: CatalogEntity,
    type: str,
    quantity: int,
) -> None:
    level = await stocked(database, mug, east, 5)
    await held(database, mug, 2)  # 5 on hand, 2 held: 3 available
    before = await row_counts(database)

    error = error_of(
        await admin.post(ADJUST, json=adjustment(mug, east, type, quantity)),
        status=409,
        code="CONFLICT",
    )
    assert error["details"] == {"sku": "mug", "available": "3"}
    assert await counts_of(database, level) == (5, 2)
    assert await row_counts(database) == before  # no movement, audit entry or event

    # Exactly what is available may go.
    data = data_of(await admin.post(ADJUST, json=adjustment(mug, east, "sale", 3)))
    assert (data["quantity"], data["reservedQuantity"], data["availableQuantity"]) == (2, 2, 0)


async def test_unknown_entity_warehouse_or_variant_is_404_and_creates_no_level(
    admin: httpx.AsyncClient, database: Database, east: Warehouse, tee: CatalogEntity
) -> None:
    await make_entity(database, slug="cap", sizes=("S", "M"))
    small = await variant_of(database, "TEE-S")
    foreign = await variant_of(database, "CAP-S")
    for body in (
        {**adjustment(tee, east, "restock", 1, variant=small), "entityId": UNKNOWN_ID},
        {**adjustment(tee, east, "restock", 1, variant=small), "entityId": "not-a-uuid"},
        {**adjustment(tee, east, "restock", 1, variant=small), "warehouseId": UNKNOWN_ID},
        {**adjustment(tee, east, "restock", 1), "variantId": UNKNOWN_ID},
        adjustment(tee, east, "restock", 1, variant=foreign),  # another entity's variant
    ):
        error_of(await admin.post(ADJUST, json=body), status=404, code="NOT_FOUND")
    assert await count_rows(database, InventoryLevel) == 0
    assert await count_rows(database, InventoryMovement) == 0


async def test_an_entity_with_several_variants_needs_a_variant_id(
    admin: httpx.AsyncClient, database: Database, east: Warehouse, tee: CatalogEntity
) -> None:
    error = error_of(
        await admin.post(ADJUST, json=adjustment(tee, east, "restock", 5)),
        status=422,
        code="VALIDATION_FAILED",
    )
    assert error["details"] == {"variantId": "The entity has several variants; name one."}
    assert await count_rows(database, InventoryLevel) == 0

    medium = await variant_of(database, "TEE-M")
    data = data_of(
        await admin.post(ADJUST, json=adjustment(tee, east, "restock", 5, variant=medium))
    )
    assert (data["sku"], data["variantId"], data["quantity"]) == ("TEE-M", str(medium.id), 5)


async def test_an_entity_with_one_variant_may_leave_the_variant_out(
    admin: httpx.AsyncClient, database: Database, east: Warehouse
) -> None:
    cup = await make_entity(database, slug="cup", sizes=("One",))
    only = await variant_of(database, "CUP-ONE")
    data = data_of(await admin.post(ADJUST, json=adjustment(cup, east, "restock", 4)))
    assert (data["sku"], data["variantId"], data["quantity"]) == ("CUP-ONE", str(only.id), 4)


@pytest.mark.parametrize(
    ("change", "details"),
    [
        (
            {"entityId": None, "warehouseId": None, "type": None, "quantity": None},
            {
                "entityId": "Field is required.",
                "warehouseId": "Field is required.",
                "type": "Field is required.",
                "quantity": "Field is required.",
            },
        ),
        ({"type": None}, {"type": "Field is required."}),
        ({"quantity": "ten"}, {"quantity": "Int cannot represent non-integer value: 'ten'"}),
        ({"quantity": 1.5}, {"quantity": "Int cannot represent non-integer value: 1.5"}),
        ({"type": 7}, {"type": "One of restock, return, sale, damage, correction."}),
        ({"type": "stolen"}, {"type": "One of restock, return, sale, damage, correction."}),
        ({"extra": 1}, {"extra": "Unknown field."}),
        ({"quantity": 0}, {"quantity": "A restock takes a positive quantity."}),
        ({"type": "sale", "quantity": -3}, {"quantity": "Must be between 0 and 1000000000."}),
        ({"type": "correction", "quantity": 0}, {"quantity": "Must not be zero."}),
        ({"reason": "x" * 501}, {"reason": "At most 500 characters."}),
    ],
)
async def test_a_bad_adjust_body_is_422_naming_each_field_and_changes_nothing(
    admin: httpx.AsyncClient,
    database: Database,
    east: Warehouse,
    mug: CatalogEntity,
    change: dict[str, Any],
    details: dict[str, str],
) -> None:
    before = await row_counts(database)
    body = {**adjustment(mug, east, "restock", 5), **change}
    body = {key: value for key, value in body.items() if value is not None}
    error = error_of(await admin.post(ADJUST, json=body), status=422, code="VALIDATION_FAILED")
    assert error["details"] == details
    # Not even the empty level the adjust would have made survives the refusal.
    assert before["InventoryLevel"] == 0
    assert await row_counts(database) == before


@pytest.mark.parametrize(
    ("content", "details"),
    [(b"{not json", {"body": "Malformed JSON."}), (b"[1, 2]", {"body": "Expected an object."})],
)
async def test_an_adjust_body_that_is_not_a_json_object_is_422(
    admin: httpx.AsyncClient, content: bytes, details: dict[str, str]
) -> None:
    response = await admin.post(
        ADJUST, content=content, headers={"content-type": "application/json"}
    )
    assert error_of(response, status=422, code="VALIDATION_FAILED")["details"] == details


# --- check ----------------------------------------------------------------------------------


async def test_check_sums_each_variant_with_a_per_warehouse_breakdown_for_inventory_readers(
    app: Starlette, database: Database, east: Warehouse, tee: CatalogEntity
) -> None:
    west = await make_warehouse(database, code="WEST", name="West")
    small, medium = await variant_of(database, "TEE-S"), await variant_of(database, "TEE-M")
    await stocked(database, tee, east, 4, variant=small)
    await stocked(database, tee, west, 6, variant=small)
    await stocked(database, tee, east, 2, variant=medium)
    async with database.unit_of_work() as uow:  # EAST before WEST: the hold lands in EAST
        await reservation_service.reserve(
            uow, SYSTEM, entity_id=str(tee.id), variant_id=str(small.id), quantity=3
        )
        await uow.commit()

    async for reader in client_with(app, database, "inventory:read"):
        data = data_of(await reader.get(CHECK, params={"entityIds": str(tee.id)}))
    assert all(set(item) == CHECK_FIELDS for item in data)
    assert all(set(w) == CHECK_WAREHOUSE_FIELDS for item in data for w in item["warehouses"])
    assert data == [
        {
            "entityId": str(tee.id),
            "variantId": str(medium.id),
            "sku": "TEE-M",
            "quantity": 2,
            "reservedQuantity": 0,
            "availableQuantity": 2,
            "warehouses": [
                {
                    "warehouseId": str(east.id),
                    "warehouseName": "East",
                    "quantity": 2,
                    "reservedQuantity": 0,
                    "availableQuantity": 2,
                }
            ],
        },
        {
            "entityId": str(tee.id),
            "variantId": str(small.id),
            "sku": "TEE-S",
            "quantity": 10,
            "reservedQuantity": 3,
            "availableQuantity": 7,
            "warehouses": [
                {
                    "warehouseId": str(east.id),
                    "warehouseName": "East",
                    "quantity": 4,
                    "reservedQuantity": 3,
                    "availableQuantity": 1,
                },
                {
                    "warehouseId": str(west.id),
                    "warehouseName": "West",
                    "quantity": 6,
                    "reservedQuantity": 0,
                    "availableQuantity": 6,
                },
            ],
        },
    ]


async def test_check_answers_several_entities_in_the_order_asked(
    client: httpx.AsyncClient,
    database: Database,
    east: Warehouse,
    mug: CatalogEntity,
    tee: CatalogEntity,
) -> None:
    unstocked = await make_entity(database, slug="bowl")
    await stocked(database, mug, east, 5)
    await stocked(database, tee, east, 1, variant=await variant_of(database, "TEE-S"))
    ids = f"{tee.id}, {unstocked.id},{mug.id},{UNKNOWN_ID}"
    data = data_of(await client.get(CHECK, params={"entityIds": ids}))
    # An entity without stock (or unknown) contributes nothing.
    assert [(d["entityId"], d["sku"], d["availableQuantity"]) for d in data] == [
        (str(tee.id), "TEE-S", 1),
        (str(mug.id), "mug", 5),
    ]


async def test_check_without_entity_ids_is_422(client: httpx.AsyncClient) -> None:
    error = error_of(await client.get(CHECK), status=422, code="VALIDATION_FAILED")
    assert set(error["details"]) == {"entityIds"}


# --- reserve and release --------------------------------------------------------------------


async def test_reserve_answers_201_with_its_reservations_and_holds_the_units(
    admin: httpx.AsyncClient, database: Database, east: Warehouse, mug: CatalogEntity
) -> None:
    level = await stocked(database, mug, east, 10)
    started = utcnow()
    response = await admin.post(
        RESERVE, json={"entityId": str(mug.id), "quantity": 4, "referenceId": "cart-1"}
    )
    [reservation] = data_of(response, status=201)
    assert set(reservation) == RESERVATION_FIELDS
    assert (
        reservation["levelId"],
        reservation["quantity"],
        reservation["status"],
        reservation["referenceId"],
    ) == (str(level.id), 4, "active", "cart-1")
    assert reservation["expiresAt"].endswith("Z")
    async with database.read_session() as session:
        stored = await session.get(Reservation, uuid.UUID(reservation["id"]))
    assert stored is not None and stored.status == "active"
    # The default hold is 15 minutes.
    ttl = stored.expires_at - started
    assert timedelta(seconds=895) <= ttl <= timedelta(seconds=905)

    assert await counts_of(database, level) == (10, 4)
    movements = await movements_of(database, level.id)
    assert [(m.type, m.delta, m.reserved_delta, m.reference_id) for m in movements] == [
        ("restock", 10, 0, None),
        ("reservation", 0, 4, "cart-1"),
    ]
    assert [a.event for a in await audits_of(database, level.id)] == ["inventory.afterAdjust"] * 2


async def test_reserve_takes_from_warehouses_in_code_order(
    admin: httpx.AsyncClient, database: Database, mug: CatalogEntity
) -> None:
    west = await make_warehouse(database, code="B-WEST", name="West")  # made first...
    east = await make_warehouse(database, code="A-EAST", name="East")  # ...but A sorts first
    east_level = await stocked(database, mug, east, 3)
    west_level = await stocked(database, mug, west, 5)

    data = data_of(
        await admin.post(RESERVE, json={"entityId": str(mug.id), "quantity": 6}), status=201
    )
    assert [(r["levelId"], r["quantity"]) for r in data] == [
        (str(east_level.id), 3),
        (str(west_level.id), 3),
    ]
    assert await counts_of(database, east_level) == (3, 3)
    assert await counts_of(database, west_level) == (5, 3)


async def test_reserving_more_than_is_available_is_409_and_holds_nothing(
    admin: httpx.AsyncClient, database: Database, mug: CatalogEntity
) -> None:
    east = await make_warehouse(database, code="A-EAST")
    west = await make_warehouse(database, code="B-WEST")
    east_level = await stocked(database, mug, east, 3)
    west_level = await stocked(database, mug, west, 5)
    before = await row_counts(database)

    error = error_of(
        await admin.post(RESERVE, json={"entityId": str(mug.id), "quantity": 9}),
        status=409,
        code="CONFLICT",
    )
    assert error["details"] == {"quantity": "8 available."}
    # The first warehouse's hold was rolled back with the rest.
    assert await counts_of(database, east_level) == (3, 0)
    assert await counts_of(database, west_level) == (5, 0)
    assert await row_counts(database) == before


async def test_reserve_by_variant_holds_only_that_variant(
    admin: httpx.AsyncClient, database: Database, east: Warehouse, tee: CatalogEntity
) -> None:
    small, medium = await variant_of(database, "TEE-S"), await variant_of(database, "TEE-M")
    small_level = await stocked(database, tee, east, 5, variant=small)
    medium_level = await stocked(database, tee, east, 5, variant=medium)
    [reservation] = data_of(
        await admin.post(
            RESERVE, json={"entityId": str(tee.id), "variantId": str(medium.id), "quantity": 2}
        ),
        status=201,
    )
    assert reservation["levelId"] == str(medium_level.id)
    assert await counts_of(database, small_level) == (5, 0)
    assert await counts_of(database, medium_level) == (5, 2)
    error_of(
        await admin.post(
            RESERVE, json={"entityId": str(tee.id), "variantId": str(medium.id), "quantity": 4}
        ),
        status=409,
        code="CONFLICT",
    )


async def test_a_deactivated_warehouse_is_not_reserved_from(
    admin: httpx.AsyncClient, database: Database, mug: CatalogEntity
) -> None:
    east = await make_warehouse(database, code="A-EAST")
    west = await make_warehouse(database, code="B-WEST")
    east_level = await stocked(database, mug, east, 5)
    west_level = await stocked(database, mug, west, 2)
    data_of(await admin.post(f"{WAREHOUSES}/{east.id}/deactivate"))

    error_of(
        await admin.post(RESERVE, json={"entityId": str(mug.id), "quantity": 3}),
        status=409,
        code="CONFLICT",
    )
    [reservation] = data_of(
        await admin.post(RESERVE, json={"entityId": str(mug.id), "quantity": 2}), status=201
    )
    assert reservation["levelId"] == str(west_level.id)
    assert await counts_of(database, east_level) == (5, 0)
    assert await counts_of(database, west_level) == (2, 2)


@pytest.mark.parametrize(
    ("change", "status", "code", "details"),
    [
        ({"entityId": UNKNOWN_ID}, 404, "NOT_FOUND", None),
        ({"variantId": UNKNOWN_ID}, 404, "NOT_FOUND", None),
        ({"quantity": 0}, 422, "VALIDATION_FAILED", {"quantity": "Between 1 and 100000."}),
        (
            {"expiresInSeconds": 0},
            422,
            "VALIDATION_FAILED",
            {"expiresInSeconds": "Between 1 second and 7 days."},
        ),
        ({"quantity": None}, 422, "VALIDATION_FAILED", {"quantity": "Field is required."}),
    ],
)
async def test_a_bad_reservation_is_refused_and_holds_nothing(
    admin: httpx.AsyncClient,
    database: Database,
    east: Warehouse,
    mug: CatalogEntity,
    change: dict[str, Any],
    status: int,
    code: str,
    details: dict[str, str] | None,
) -> None:
    level = await stocked(database, mug, east, 5)
    body = {
        key: value
        for key, value in {"entityId": str(mug.id), "quantity": 1, **change}.items()
        if value is not None
    }
    error = error_of(await admin.post(RESERVE, json=body), status=status, code=code)
    if details is not None:
        assert error["details"] == details
    assert await counts_of(database, level) == (5, 0)
    assert await count_rows(database, Reservation) == 0


async def test_release_by_reservation_id_gives_the_units_back(
    admin: httpx.AsyncClient, database: Database, east: Warehouse, mug: CatalogEntity
) -> None:
    level = await stocked(database, mug, east, 10)
    [first] = await held(database, mug, 3, reference_id="cart-1")
    [second] = await held(database, mug, 2, reference_id="cart-2")
    assert await counts_of(database, level) == (10, 5)

    [released] = data_of(await admin.post(RELEASE, json={"reservationId": str(first.id)}))
    assert set(released) == RESERVATION_FIELDS
    assert (released["id"], released["status"], released["quantity"]) == (
        str(first.id),
        "released",
        3,
    )
    assert await counts_of(database, level) == (10, 2)
    statuses = {r.id: r.status for r in await reservations_in(database)}
    assert statuses == {first.id: "released", second.id: "active"}
    movements = await movements_of(database, level.id)
    assert [(m.type, m.reserved_delta, m.reference_id) for m in movements[-1:]] == [
        ("release", -3, "cart-1")
    ]
    assert sum(m.reserved_delta for m in movements) == 2

    # A released reservation is no longer live.
    error_of(
        await admin.post(RELEASE, json={"reservationId": str(first.id)}),
        status=404,
        code="NOT_FOUND",
    )
    assert await counts_of(database, level) == (10, 2)


async def test_release_by_reference_id_gives_back_every_live_hold_with_it(
    admin: httpx.AsyncClient, database: Database, mug: CatalogEntity
) -> None:
    east = await make_warehouse(database, code="A-EAST")
    west = await make_warehouse(database, code="B-WEST")
    east_level = await stocked(database, mug, east, 2)
    west_level = await stocked(database, mug, west, 5)
    two = await held(database, mug, 4, reference_id="order-7")  # 2 from each warehouse
    [other] = await held(database, mug, 1, reference_id="order-8")
    assert len(two) == 2

    data = data_of(await admin.post(RELEASE, json={"referenceId": "order-7"}))
    assert sorted(r["id"] for r in data) == sorted(str(r.id) for r in two)
    assert {r["status"] for r in data} == {"released"}
    assert await counts_of(database, east_level) == (2, 0)
    assert await counts_of(database, west_level) == (5, 1)
    statuses = {r.id: r.status for r in await reservations_in(database)}
    assert statuses == {two[0].id: "released", two[1].id: "released", other.id: "active"}


async def test_releasing_what_does_not_exist_is_404_and_naming_nothing_is_422(
    admin: httpx.AsyncClient, database: Database, east: Warehouse, mug: CatalogEntity
) -> None:
    level = await stocked(database, mug, east, 5)
    await held(database, mug, 1, reference_id="cart-1")
    before = await row_counts(database)
    for body in ({"reservationId": UNKNOWN_ID}, {"reservationId": "nope"}, {"referenceId": "x"}):
        error_of(await admin.post(RELEASE, json=body), status=404, code="NOT_FOUND")
    for body in ({}, {"reservationId": UNKNOWN_ID, "referenceId": "cart-1"}):
        error = error_of(await admin.post(RELEASE, json=body), status=422, code="VALIDATION_FAILED")
        assert error["details"] == {"reservationId": "Give a reservationId or a referenceId."}
    assert await counts_of(database, level) == (5, 1)
    assert await row_counts(database) == before


STOCK_QUERY = """query Stock($inventory: Boolean!) {
  catalogEntities(sort: "slug:asc") {
    items {
      slug stock variants { sku available }
      inventory @include(if: $inventory) { sku availableQuantity }
    }
  }
}"""


async def test_graphql_stock_and_available_agree_with_the_levels_and_the_check(
    admin: httpx.AsyncClient,
    client: httpx.AsyncClient,
    database: Database,
    east: Warehouse,
    mug: CatalogEntity,
    tee: CatalogEntity,
) -> None:
    """A listing without `inventory` sums the units in SQL (`units_available`), one with it
    sums the levels it fetched: both count only active warehouses and drop expired holds, as
    the REST check does."""
    west = await make_warehouse(database, code="WEST", name="West")
    small, medium = await variant_of(database, "TEE-S"), await variant_of(database, "TEE-M")
    await stocked(database, tee, east, 10, variant=small)
    await stocked(database, tee, west, 5, variant=small)
    await stocked(database, tee, east, 2, variant=medium)
    await stocked(database, mug, east, 8)
    await stocked(database, mug, west, 4)
    # WEST's stock stops being sellable (and is where no hold can go).
    data_of(await admin.post(f"{WAREHOUSES}/{west.id}/deactivate"))
    await held(database, mug, 1)
    async with database.unit_of_work() as uow:
        for quantity in (3, 6):
            [last] = await reservation_service.reserve(
                uow, SYSTEM, entity_id=str(tee.id), variant_id=str(small.id), quantity=quantity
            )
        await uow.commit()
    async with database.unit_of_work() as uow:
        await uow.session.execute(
            update(Reservation)
            .where(Reservation.id == last.id)
            .values(expires_at=utcnow() - timedelta(seconds=1))
        )
        await uow.commit()

    # TEE-S: 10 in EAST less the live hold of 3 (the expired 6 no longer counts; WEST is
    # inactive); TEE-M: 2; the mug: 8 less its hold of 1.
    expected = {
        "mug": (7, []),
        "tee": (9, [("TEE-M", 2), ("TEE-S", 7)]),
    }
    for who, inventory in ((client, False), (admin, True)):
        response = await who.post(
            "/graphql", json={"query": STOCK_QUERY, "variables": {"inventory": inventory}}
        )
        assert response.status_code == 200, response.text
        items = response.json()["data"]["catalogEntities"]["items"]
        found = {
            item["slug"]: (
                item["stock"],
                sorted((v["sku"], v["available"]) for v in item["variants"]),
            )
            for item in items
        }
        assert found == expected, (inventory, found)
        if inventory:
            tee_levels = next(item for item in items if item["slug"] == "tee")["inventory"]
            assert sorted((lv["sku"], lv["availableQuantity"]) for lv in tee_levels) == [
                ("TEE-M", 2),
                ("TEE-S", 7),
            ]
    check = data_of(await admin.get(CHECK, params={"entityIds": f"{mug.id},{tee.id}"}))
    assert sorted((c["sku"], c["availableQuantity"]) for c in check) == [
        ("TEE-M", 2),
        ("TEE-S", 7),
        ("mug", 7),
    ]


async def test_an_expired_reservation_stops_counting_at_once_and_is_swept_by_the_next(
    admin: httpx.AsyncClient,
    client: httpx.AsyncClient,
    database: Database,
    east: Warehouse,
    mug: CatalogEntity,
) -> None:
    level = await stocked(database, mug, east, 10)
    [stale] = data_of(
        await admin.post(
            RESERVE,
            json={
                "entityId": str(mug.id),
                "quantity": 4,
                "referenceId": "cart-old",
                "expiresInSeconds": 60,
            },
        ),
        status=201,
    )
    [live] = await held(database, mug, 1, reference_id="cart-live")
    check = data_of(await admin.get(CHECK, params={"entityIds": str(mug.id)}))
    assert (check[0]["reservedQuantity"], check[0]["availableQuantity"]) == (5, 5)

    # Its time runs out.
    async with database.unit_of_work() as uow:
        await uow.session.execute(
            update(Reservation)
            .where(Reservation.id == uuid.UUID(stale["id"]))
            .values(expires_at=utcnow() - timedelta(seconds=1))
        )
        await uow.commit()

    # Reads stop counting it at once, though nothing has swept it yet.
    check = data_of(await admin.get(CHECK, params={"entityIds": str(mug.id)}))
    assert (check[0]["quantity"], check[0]["reservedQuantity"], check[0]["availableQuantity"]) == (
        10,
        1,
        9,
    )
    assert check[0]["warehouses"][0]["availableQuantity"] == 9
    assert await counts_of(database, level) == (10, 5)

    # So all 9 can be reserved, and that reservation sweeps the expired hold first.
    [fresh] = data_of(
        await admin.post(RESERVE, json={"entityId": str(mug.id), "quantity": 9}), status=201
    )
    assert fresh["quantity"] == 9
    statuses = {str(r.id): r.status for r in await reservations_in(database)}
    assert statuses == {stale["id"]: "expired", str(live.id): "active", fresh["id"]: "active"}
    assert await counts_of(database, level) == (10, 10)
    movements = await movements_of(database, level.id)
    assert [(m.type, m.reserved_delta, m.reason) for m in movements] == [
        ("restock", 0, None),
        ("reservation", 4, "reserved"),
        ("reservation", 1, "reserved"),
        ("release", -4, "expired"),
        ("reservation", 9, "reserved"),
    ]
    assert sum(m.reserved_delta for m in movements) == 10


async def test_a_reservation_expires_by_itself_after_expires_in_seconds(
    admin: httpx.AsyncClient,
    client: httpx.AsyncClient,
    database: Database,
    east: Warehouse,
    mug: CatalogEntity,
) -> None:
    await stocked(database, mug, east, 3)
    [held_for] = data_of(
        await admin.post(
            RESERVE, json={"entityId": str(mug.id), "quantity": 3, "expiresInSeconds": 1}
        ),
        status=201,
    )
    # Held for one second from its creation (read from the answer: on a busy machine a check
    # made "at once" may already come after the second).
    expires = datetime.fromisoformat(held_for["expiresAt"])
    created = datetime.fromisoformat(held_for["createdAt"])
    assert timedelta(seconds=0.9) <= expires - created <= timedelta(seconds=1.1)
    await asyncio.sleep(1.1)
    check = data_of(await admin.get(CHECK, params={"entityIds": str(mug.id)}))
    assert (check[0]["reservedQuantity"], check[0]["availableQuantity"]) == (0, 3)


# --- permissions ----------------------------------------------------------------------------


async def test_anonymous_callers_are_401_for_everything_but_check(
    client: httpx.AsyncClient, database: Database, east: Warehouse, mug: CatalogEntity
) -> None:
    level = await stocked(database, mug, east, 5)
    [reservation] = await held(database, mug, 1)
    before = await row_counts(database)
    for response in (
        await client.post(ADJUST, json=adjustment(mug, east, "restock", 5)),
        await client.post(RESERVE, json={"entityId": str(mug.id), "quantity": 1}),
        await client.post(RELEASE, json={"reservationId": str(reservation.id)}),
        await client.post(WAREHOUSES, json={"code": "WEST", "name": "West"}),
        await client.get(WAREHOUSES),
        await client.patch(f"{WAREHOUSES}/{east.id}", json={"name": "Mine"}),
        await client.post(f"{WAREHOUSES}/{east.id}/deactivate"),
    ):
        error_of(response, status=401, code="UNAUTHORIZED")
    assert await row_counts(database) == before
    assert await counts_of(database, level) == (5, 1)
    data_of(await client.get(CHECK, params={"entityIds": str(mug.id)}))


async def test_a_reader_may_list_warehouses_but_changes_are_403(
    reader: httpx.AsyncClient, database: Database, east: Warehouse, mug: CatalogEntity
) -> None:
    level = await stocked(database, mug, east, 5)
    [reservation] = await held(database, mug, 1)
    before = await row_counts(database)
    for response, permission in (
        (await reader.post(ADJUST, json=adjustment(mug, east, "restock", 5)), "inventory:update"),
        (
            await reader.post(RESERVE, json={"entityId": str(mug.id), "quantity": 1}),
            "inventory:update",
        ),
        (
            await reader.post(RELEASE, json={"reservationId": str(reservation.id)}),
            "inventory:update",
        ),
        (await reader.post(WAREHOUSES, json={"code": "WEST", "name": "West"}), "inventory:create"),
        (await reader.patch(f"{WAREHOUSES}/{east.id}", json={"name": "X"}), "inventory:update"),
        (await reader.post(f"{WAREHOUSES}/{east.id}/deactivate"), "inventory:update"),
    ):
        error = error_of(response, status=403, code="FORBIDDEN")
        assert permission in error["message"]
    assert await row_counts(database) == before
    assert await counts_of(database, level) == (5, 1)
    assert [w["code"] for w in data_of_list(await reader.get(WAREHOUSES))] == ["EAST"]


async def test_each_write_needs_its_own_permission(
    app: Starlette, database: Database, east: Warehouse, mug: CatalogEntity
) -> None:
    _, updater = await make_api_key(database, permissions=["inventory:update"], name="updater")
    _, creator = await make_api_key(database, permissions=["inventory:create"], name="creator")
    async with client_for(app, headers={"x-api-key": updater}) as http:
        data_of(await http.post(ADJUST, json=adjustment(mug, east, "restock", 5)))
        error_of(
            await http.post(WAREHOUSES, json={"code": "WEST", "name": "West"}),
            status=403,
            code="FORBIDDEN",
        )
        error_of(await http.get(WAREHOUSES), status=403, code="FORBIDDEN")
    async with client_for(app, headers={"x-api-key": creator}) as http:
        data_of(await http.post(WAREHOUSES, json={"code": "WEST", "name": "West"}), status=201)
        error_of(
            await http.post(ADJUST, json=adjustment(mug, east, "restock", 5)),
            status=403,
            code="FORBIDDEN",
        )


async def test_an_entity_that_allows_backorder_may_be_reserved_beyond_stock(
    admin: httpx.AsyncClient,
) -> None:
    created = await admin.post(
        "/api/catalog/entities",
        json={
            "type": "product",
            "slug": "made-to-order",
            "status": "active",
            "allowBackorder": True,
        },
    )
    entity_id = created.json()["data"]["id"]
    assert created.json()["data"]["allowBackorder"] is True
    warehouse = await admin.post("/api/inventory/warehouses", json={"code": "MAIN", "name": "Main"})
    await admin.post(
        "/api/inventory/adjust",
        json={"entityId": entity_id, "warehouseId": warehouse.json()["data"]["id"],
              "type": "restock", "quantity": 2},
    )  # fmt: skip
    reserved = await admin.post(
        "/api/inventory/reserve", json={"entityId": entity_id, "quantity": 5}
    )
    assert reserved.status_code == 201
    check = await admin.get("/api/inventory/check", params={"entityIds": entity_id})
    assert check.json()["data"][0]["availableQuantity"] == -3
