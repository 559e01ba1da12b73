"""Inventory through the gateway dialect (seeds 000 and 001, `/api/v1/inventory`), and stock as
the catalog shows it (GraphQL, the engine's `include=inventory`, the gateway's product).

Seed 001's Inventory Object: sku, productId, productName, quantity, reservedQuantity,
availableQuantity, reorderPoint, reorderQuantity, warehouseId, warehouseName, lastUpdated.
Envelopes: `{"success": true, "data", "meta": {timestamp, requestId}}`; lists add
`pagination {page, limit, total, pages}` and the headers X-Total-Count, X-Limit and X-Offset;
errors are `{"success": false, "error": {code, message, details}, "meta"}` with
VALIDATION_ERROR 400, NOT_FOUND 404 and CONFLICT 409.

Every change writes an `inventory.afterAdjust` event and an audit entry carrying the given
`reason`; `inventory.low_stock` fires once each time availability falls to or below the
reorder point, and not again until it has risen above it.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select, update
from starlette.applications import Starlette

from app.auth.actor import SYSTEM
from app.db import Database
from app.models.audit import AuditEntry, Event
from app.models.base import utcnow
from app.models.catalog import CatalogEntity
from app.models.inventory import InventoryLevel, InventoryMovement, Reservation, Warehouse
from app.services.inventory import levels as level_service
from app.services.inventory import reservations as reservation_service
from app.services.inventory import warehouses as warehouse_service
from tests.conftest import client_for
from tests.support.catalog import make_entity
from tests.support.factories import make_api_key
from tests.support.queries import count_queries

INVENTORY = "/api/v1/inventory"
LOW_STOCK = f"{INVENTORY}/low-stock"
ADJUST = f"{INVENTORY}/adjust"
BULK = f"{INVENTORY}/bulk"
INVENTORY_FIELDS = {
    "sku",
    "productId",
    "productName",
    "quantity",
    "reservedQuantity",
    "availableQuantity",
    "reorderPoint",
    "reorderQuantity",
    "warehouseId",
    "warehouseName",
    "lastUpdated",
}
UNKNOWN_ID = "0190b6a2-0000-7000-8000-000000000000"


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


async def stocked(
    database: Database,
    sku: str,
    quantity: int,
    *,
    warehouse: Warehouse,
    reorder_point: int | None = None,
    reorder_quantity: int | None = None,
) -> InventoryLevel:
    """Set the SKU's level in the warehouse, as staff would through the services."""
    async with database.unit_of_work() as uow:
        change = await level_service.set_level(
            uow,
            SYSTEM,
            sku=sku,
            quantity=quantity,
            reorder_point=reorder_point,
            reorder_quantity=reorder_quantity,
            warehouse_id=str(warehouse.id),
        )
        await uow.commit()
    return change.level


async def reserved(database: Database, entity: CatalogEntity, quantity: int, **kw: Any) -> None:
    async with database.unit_of_work() as uow:
        await reservation_service.reserve(
            uow, SYSTEM, entity_id=str(entity.id), quantity=quantity, **kw
        )
        await uow.commit()


async def level_of(database: Database, sku: str, warehouse: Warehouse) -> InventoryLevel | None:
    async with database.read_session() as session:
        return await session.scalar(
            select(InventoryLevel).where(
                InventoryLevel.sku == sku, InventoryLevel.warehouse_id == warehouse.id
            )
        )


async def quantities(database: Database) -> dict[str, int]:
    """Every level's quantity by SKU (levels in one warehouse)."""
    async with database.read_session() as session:
        rows = (await session.execute(select(InventoryLevel.sku, InventoryLevel.quantity))).all()
    return dict(rows)  # type: ignore[arg-type]


async def movements_of(database: Database, level_id: uuid.UUID) -> list[InventoryMovement]:
    async with database.read_session() as session:
        return list(
            (
                await session.scalars(
                    select(InventoryMovement)
                    .where(InventoryMovement.level_id == level_id)
                    .order_by(InventoryMovement.id)
                )
            ).all()
        )


async def inventory_audits(database: Database, level_id: uuid.UUID) -> list[AuditEntry]:
    async with database.read_session() as session:
        return list(
            (
                await session.scalars(
                    select(AuditEntry)
                    .where(AuditEntry.entity_type == "inventory")
                    .where(AuditEntry.entity_id == str(level_id))
                    .order_by(AuditEntry.id)
                )
            ).all()
        )


async def events_of(database: Database, type: str) -> list[Event]:
    async with database.read_session() as session:
        return list(
            (
                await session.scalars(select(Event).where(Event.type == type).order_by(Event.id))
            ).all()
        )


async def count_rows(database: Database, model: type) -> int:
    async with database.read_session() as session:
        return (await session.execute(select(func.count()).select_from(model))).scalar_one()


async def row_counts(database: Database) -> dict[str, int]:
    return {
        model.__name__: await count_rows(database, model)
        for model in (InventoryLevel, InventoryMovement, Reservation, AuditEntry, Event)
    }


def success_data(response: httpx.Response, *, status: int = 200) -> Any:
    """The gateway's success envelope, checked; returns `data`."""
    assert response.status_code == status, response.text
    body = response.json()
    assert body["success"] is True
    assert set(body["meta"]) == {"timestamp", "requestId"}
    assert body["meta"]["requestId"] == response.headers["x-request-id"]
    assert body["meta"]["timestamp"].endswith("Z")
    return body["data"]


def listed(response: httpx.Response) -> list[dict[str, Any]]:
    """A gateway list, checked: envelope, pagination and headers agree; returns the items."""
    data = success_data(response)
    body = response.json()
    assert set(body) == {"success", "data", "pagination", "meta"}
    pagination = body["pagination"]
    assert response.headers["x-total-count"] == str(pagination["total"])
    assert response.headers["x-limit"] == str(pagination["limit"])
    assert response.headers["x-offset"] == str((pagination["page"] - 1) * pagination["limit"])
    assert all(set(item) == INVENTORY_FIELDS for item in data)
    return data


def error_of(response: httpx.Response, *, status: int, code: str) -> dict[str, Any]:
    """The gateway's error envelope, checked; returns the `error` object."""
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"success", "error", "meta"}
    assert body["success"] is False
    assert set(body["meta"]) == {"timestamp", "requestId"}
    error = body["error"]
    assert set(error) == {"code", "message", "details"}
    assert error["code"] == code
    assert isinstance(error["message"], str) and error["message"]
    assert isinstance(error["details"], dict)
    return error


def skus(items: list[dict[str, Any]]) -> list[str]:
    return [item["sku"] for item in items]


@pytest.fixture
async def main(database: Database) -> Warehouse:
    """The default warehouse: the first active one by code."""
    return await make_warehouse(database, code="MAIN", name="Main")


@pytest.fixture
async def tee(database: Database) -> CatalogEntity:
    """Variants TEE-S, TEE-M, TEE-L."""
    return await make_entity(database, slug="tee", title="Classic Tee", sizes=("S", "M", "L"))


# --- the Inventory Object -------------------------------------------------------------------


async def test_get_by_sku_answers_the_inventory_object_with_exactly_its_fields(
    admin: httpx.AsyncClient, database: Database, main: Warehouse, tee: CatalogEntity
) -> None:
    level = await stocked(
        database, "TEE-M", 40, warehouse=main, reorder_point=5, reorder_quantity=25
    )
    await reserved(database, tee, 3, variant_id=str(level.variant_id))

    data = success_data(await admin.get(f"{INVENTORY}/TEE-M"))
    assert set(data) == INVENTORY_FIELDS
    assert {k: v for k, v in data.items() if k != "lastUpdated"} == {
        "sku": "TEE-M",
        "productId": str(tee.id),
        "productName": "Classic Tee",
        "quantity": 40,
        "reservedQuantity": 3,
        "availableQuantity": 37,
        "reorderPoint": 5,
        "reorderQuantity": 25,
        "warehouseId": str(main.id),
        "warehouseName": "Main",
    }
    assert data["lastUpdated"].endswith("Z")


async def test_get_by_sku_across_warehouses_sums_them_or_answers_the_one_asked(
    admin: httpx.AsyncClient, database: Database, main: Warehouse, tee: CatalogEntity
) -> None:
    west = await make_warehouse(database, code="WEST", name="West")
    await stocked(database, "TEE-S", 10, warehouse=main, reorder_point=2)
    await stocked(database, "TEE-S", 5, warehouse=west, reorder_point=1)

    data = success_data(await admin.get(f"{INVENTORY}/TEE-S"))
    assert set(data) == INVENTORY_FIELDS
    assert (data["quantity"], data["availableQuantity"], data["reorderPoint"]) == (15, 15, 3)
    assert (data["warehouseId"], data["warehouseName"]) == (None, None)

    one = success_data(await admin.get(f"{INVENTORY}/TEE-S", params={"warehouse_id": str(west.id)}))
    assert (one["quantity"], one["warehouseId"], one["warehouseName"]) == (5, str(west.id), "West")


async def test_get_an_unknown_or_unstocked_sku_is_404(
    admin: httpx.AsyncClient, main: Warehouse, tee: CatalogEntity
) -> None:
    for sku in ("NOPE-1", "TEE-L"):
        error = error_of(await admin.get(f"{INVENTORY}/{sku}"), status=404, code="NOT_FOUND")
        assert error["details"] == {"sku": "Unknown."}


# --- list -----------------------------------------------------------------------------------


@pytest.fixture
async def spread(database: Database, main: Warehouse) -> dict[str, Any]:
    """Five levels in two warehouses; TEE-S and CAP-BLUE at or below their reorder point."""
    west = await make_warehouse(database, code="WEST", name="West")
    await make_entity(database, slug="tee", sizes=("S", "M", "L"))
    await make_entity(database, slug="cap", sizes=("Blue", "Red"))
    await stocked(database, "TEE-S", 3, warehouse=main, reorder_point=5)  # low
    await stocked(database, "TEE-M", 50, warehouse=main, reorder_point=5)
    await stocked(database, "TEE-L", 20, warehouse=west)  # no reorder point: never low
    await stocked(database, "CAP-BLUE", 4, warehouse=west, reorder_point=4)  # at it: low
    await stocked(database, "CAP-RED", 9, warehouse=main, reorder_point=8)
    return {"main": main, "west": west}


async def test_list_answers_every_level_by_sku_with_pagination_and_headers(
    admin: httpx.AsyncClient, spread: dict[str, Any]
) -> None:
    response = await admin.get(INVENTORY)
    assert skus(listed(response)) == ["CAP-BLUE", "CAP-RED", "TEE-L", "TEE-M", "TEE-S"]
    assert response.json()["pagination"] == {"page": 1, "limit": 20, "total": 5, "pages": 1}
    assert (response.headers["x-total-count"], response.headers["x-limit"]) == ("5", "20")


async def test_list_pages_with_page_and_per_page(
    admin: httpx.AsyncClient, spread: dict[str, Any]
) -> None:
    seen = []
    for page in (1, 2, 3):
        response = await admin.get(INVENTORY, params={"page": page, "per_page": 2})
        seen += skus(listed(response))
        assert response.json()["pagination"] == {"page": page, "limit": 2, "total": 5, "pages": 3}
        assert response.headers["x-offset"] == str((page - 1) * 2)
    assert seen == ["CAP-BLUE", "CAP-RED", "TEE-L", "TEE-M", "TEE-S"]
    capped = await admin.get(INVENTORY, params={"per_page": 500})
    assert capped.json()["pagination"]["limit"] == 100  # per_page max: 100
    error = error_of(
        await admin.get(INVENTORY, params={"per_page": 0}), status=400, code="VALIDATION_ERROR"
    )
    assert set(error["details"]) == {"per_page"}


async def test_list_filters_by_warehouse_low_stock_and_sku_prefix(
    admin: httpx.AsyncClient, spread: dict[str, Any]
) -> None:
    async def filtered(**params: str) -> list[str]:
        response = await admin.get(INVENTORY, params=params)
        items = listed(response)
        assert response.json()["pagination"]["total"] == len(items)
        return skus(items)

    west = str(spread["west"].id)
    assert await filtered(warehouse_id=west) == ["CAP-BLUE", "TEE-L"]
    assert await filtered(warehouse_id=str(spread["main"].id)) == ["CAP-RED", "TEE-M", "TEE-S"]
    assert await filtered(warehouse_id=UNKNOWN_ID) == []
    # Low stock: available at or below a (set) reorder point.
    assert await filtered(low_stock="true") == ["CAP-BLUE", "TEE-S"]
    assert await filtered(low_stock="false") == ["CAP-RED", "TEE-L", "TEE-M"]
    assert await filtered(sku_prefix="TEE-") == ["TEE-L", "TEE-M", "TEE-S"]
    assert await filtered(sku_prefix="CAP-R") == ["CAP-RED"]
    assert await filtered(sku_prefix="TEE_") == []  # `_` is a character, not a wildcard
    assert await filtered(sku_prefix="%") == []
    assert await filtered(
        sku_prefix="TEE", low_stock="true", warehouse_id=str(spread["main"].id)
    ) == ["TEE-S"]


async def test_list_counts_live_holds_only_and_low_stock_follows_them(
    admin: httpx.AsyncClient, database: Database, main: Warehouse, tee: CatalogEntity
) -> None:
    level = await stocked(database, "TEE-S", 10, warehouse=main, reorder_point=5)
    await reserved(database, tee, 6, variant_id=str(level.variant_id))
    [item] = listed(await admin.get(INVENTORY, params={"low_stock": "true"}))
    assert (item["sku"], item["reservedQuantity"], item["availableQuantity"]) == ("TEE-S", 6, 4)


@pytest.mark.parametrize(
    ("params", "details"),
    [
        ({"warehouse_id": "west"}, {"warehouse_id": "Must be a warehouse id."}),
        ({"low_stock": "maybe"}, {"low_stock": "Must be true or false."}),
        ({"page": "two"}, {"page": "Must be an integer."}),
    ],
)
async def test_list_with_a_bad_parameter_is_400_naming_it(
    admin: httpx.AsyncClient, params: dict[str, str], details: dict[str, str]
) -> None:
    error = error_of(await admin.get(INVENTORY, params=params), status=400, code="VALIDATION_ERROR")
    assert error["details"] == details


async def test_low_stock_route_lists_the_levels_at_or_below_their_reorder_point(
    admin: httpx.AsyncClient, spread: dict[str, Any]
) -> None:
    response = await admin.get(LOW_STOCK)
    items = listed(response)
    assert [(i["sku"], i["availableQuantity"], i["reorderPoint"]) for i in items] == [
        ("CAP-BLUE", 4, 4),
        ("TEE-S", 3, 5),
    ]
    assert response.json()["pagination"] == {"page": 1, "limit": 20, "total": 2, "pages": 1}


# --- PUT /inventory/{sku} -------------------------------------------------------------------


async def test_put_sets_the_absolute_quantity_and_reorder_settings_with_its_reason_audited(
    admin: httpx.AsyncClient, database: Database, main: Warehouse, tee: CatalogEntity
) -> None:
    await stocked(database, "TEE-S", 12, warehouse=main)
    response = await admin.put(
        f"{INVENTORY}/TEE-S",
        json={
            "quantity": 200,
            "reorderPoint": 30,
            "reorderQuantity": 100,
            "reason": "Stock replenishment from supplier",
        },
    )
    data = success_data(response)
    assert set(data) == INVENTORY_FIELDS
    assert (
        data["sku"],
        data["quantity"],
        data["availableQuantity"],
        data["reorderPoint"],
        data["reorderQuantity"],
        data["warehouseId"],
    ) == ("TEE-S", 200, 200, 30, 100, str(main.id))

    level = await level_of(database, "TEE-S", main)
    assert level is not None
    assert (level.quantity, level.reorder_point, level.reorder_quantity) == (200, 30, 100)
    movements = await movements_of(database, level.id)
    assert [(m.type, m.delta, m.reason) for m in movements] == [
        ("correction", 12, None),
        ("correction", 188, "Stock replenishment from supplier"),
    ]
    assert sum(m.delta for m in movements) == level.quantity
    last = (await inventory_audits(database, level.id))[-1]
    assert (last.event, last.reason) == (
        "inventory.afterAdjust",
        "Stock replenishment from supplier",
    )
    assert (last.before["quantity"], last.after["quantity"]) == (12, 200)
    assert (last.before["reorderPoint"], last.after["reorderPoint"]) == (0, 30)


async def test_put_of_a_sku_without_stock_records_it_in_the_default_warehouse(
    admin: httpx.AsyncClient, database: Database, main: Warehouse, tee: CatalogEntity
) -> None:
    await make_warehouse(database, code="ZULU")  # sorts after MAIN
    data = success_data(await admin.put(f"{INVENTORY}/TEE-L", json={"quantity": 7}))
    assert (data["quantity"], data["warehouseId"], data["productId"]) == (
        7,
        str(main.id),
        str(tee.id),
    )


async def test_put_of_reorder_settings_alone_keeps_the_quantity(
    admin: httpx.AsyncClient, database: Database, main: Warehouse, tee: CatalogEntity
) -> None:
    level = await stocked(database, "TEE-S", 12, warehouse=main)
    data = success_data(
        await admin.put(f"{INVENTORY}/TEE-S", json={"reorderPoint": 4, "reason": "Seasonal"})
    )
    assert (data["quantity"], data["reorderPoint"]) == (12, 4)
    last = (await inventory_audits(database, level.id))[-1]
    assert (last.reason, last.after["reorderPoint"]) == ("Seasonal", 4)


async def test_put_below_the_reserved_quantity_is_409_and_changes_nothing(
    admin: httpx.AsyncClient, database: Database, main: Warehouse, tee: CatalogEntity
) -> None:
    level = await stocked(database, "TEE-S", 10, warehouse=main)
    await reserved(database, tee, 6, variant_id=str(level.variant_id))
    before = await row_counts(database)
    error = error_of(
        await admin.put(f"{INVENTORY}/TEE-S", json={"quantity": 5, "reorderPoint": 9}),
        status=409,
        code="CONFLICT",
    )
    assert error["details"] == {"quantity": "At least 6 (reserved)."}
    stored = await level_of(database, "TEE-S", main)
    assert stored is not None
    assert (stored.quantity, stored.reserved_quantity, stored.reorder_point) == (10, 6, 0)
    assert await row_counts(database) == before
    success_data(await admin.put(f"{INVENTORY}/TEE-S", json={"quantity": 6}))


@pytest.mark.parametrize(
    ("sku", "body", "status", "code", "details"),
    [
        ("NOPE-1", {"quantity": 5}, 404, "NOT_FOUND", {"sku": "Unknown."}),
        (
            "TEE-S",
            {"quantity": -1},
            400,
            "VALIDATION_ERROR",
            {"quantity": "Must be between 0 and 1000000000."},
        ),
        (
            "TEE-S",
            {"quantity": "lots"},
            400,
            "VALIDATION_ERROR",
            {"quantity": "Int cannot represent non-integer value: 'lots'"},
        ),
        (
            "TEE-S",
            {"quantity": 5, "reorderPoint": -2},
            400,
            "VALIDATION_ERROR",
            {"reorderPoint": "Must be between 0 and 1000000000."},
        ),
        (
            "TEE-S",
            {"quantity": 5, "colour": "red"},
            400,
            "VALIDATION_ERROR",
            {"colour": "Unknown field."},
        ),
    ],
)
async def test_a_refused_put_changes_nothing(
    admin: httpx.AsyncClient,
    database: Database,
    main: Warehouse,
    tee: CatalogEntity,
    sku: str,
    body: dict[str, Any],
    status: int,
    code: str,
    details: dict[str, str],
) -> None:
    await stocked(database, "TEE-S", 10, warehouse=main)
    before = await row_counts(database)
    error = error_of(await admin.put(f"{INVENTORY}/{sku}", json=body), status=status, code=code)
    assert error["details"] == details
    assert await row_counts(database) == before
    assert await quantities(database) == {"TEE-S": 10}


# --- PUT /inventory and POST /inventory/adjust ----------------------------------------------


@pytest.mark.parametrize("method", ["PUT", "POST"])
async def test_adjust_moves_by_the_signed_amount_with_reason_and_reference(
    admin: httpx.AsyncClient, database: Database, main: Warehouse, tee: CatalogEntity, method: str
) -> None:
    path = INVENTORY if method == "PUT" else ADJUST
    level = await stocked(database, "TEE-S", 20, warehouse=main)

    removed = success_data(
        await admin.request(
            method,
            path,
            json={
                "sku": "TEE-S",
                "adjustment": -5,
                "reason": "Damaged units removed",
                "referenceId": "DMG-2024-001",
            },
        )
    )
    assert set(removed) == INVENTORY_FIELDS
    assert (removed["sku"], removed["quantity"], removed["availableQuantity"]) == ("TEE-S", 15, 15)
    added = success_data(
        await admin.request(method, path, json={"sku": "TEE-S", "adjustment": 7, "reason": "PO-9"})
    )
    assert added["quantity"] == 22

    movements = await movements_of(database, level.id)
    assert [(m.delta, m.reason, m.reference_id) for m in movements[1:]] == [
        (-5, "Damaged units removed", "DMG-2024-001"),
        (7, "PO-9", None),
    ]
    assert sum(m.delta for m in movements) == 22
    audits = await inventory_audits(database, level.id)
    assert [(a.event, a.reason) for a in audits[1:]] == [
        ("inventory.afterAdjust", "Damaged units removed"),
        ("inventory.afterAdjust", "PO-9"),
    ]
    assert audits[1].after["referenceId"] == "DMG-2024-001"


@pytest.mark.parametrize("method", ["PUT", "POST"])
async def test_adjusting_below_zero_is_409_and_changes_nothing(
    admin: httpx.AsyncClient, database: Database, main: Warehouse, tee: CatalogEntity, method: str
) -> None:
    path = INVENTORY if method == "PUT" else ADJUST
    level = await stocked(database, "TEE-S", 5, warehouse=main)
    await reserved(database, tee, 2, variant_id=str(level.variant_id))
    before = await row_counts(database)
    error = error_of(
        await admin.request(method, path, json={"sku": "TEE-S", "adjustment": -4}),
        status=409,
        code="CONFLICT",
    )
    assert error["details"] == {"sku": "TEE-S", "available": "3"}
    stored = await level_of(database, "TEE-S", main)
    assert stored is not None and (stored.quantity, stored.reserved_quantity) == (5, 2)
    assert await row_counts(database) == before
    assert (
        success_data(await admin.request(method, path, json={"sku": "TEE-S", "adjustment": -3}))[
            "availableQuantity"
        ]
        == 0
    )


async def test_a_positive_adjustment_of_an_unstocked_sku_stocks_the_default_warehouse(
    admin: httpx.AsyncClient, database: Database, main: Warehouse, tee: CatalogEntity
) -> None:
    data = success_data(await admin.post(ADJUST, json={"sku": "TEE-L", "adjustment": 3}))
    assert (data["sku"], data["quantity"], data["warehouseId"]) == ("TEE-L", 3, str(main.id))
    before = await row_counts(database)
    error_of(
        await admin.post(ADJUST, json={"sku": "TEE-M", "adjustment": -1}),
        status=404,
        code="NOT_FOUND",
    )
    assert await row_counts(database) == before


@pytest.mark.parametrize(
    ("body", "status", "code", "details"),
    [
        ({"sku": "NOPE-1", "adjustment": 5}, 404, "NOT_FOUND", {"sku": "Unknown."}),
        (
            {"sku": "TEE-S", "adjustment": 0},
            400,
            "VALIDATION_ERROR",
            {"adjustment": "Must not be zero."},
        ),
        ({"adjustment": 5}, 400, "VALIDATION_ERROR", {"sku": "Field is required."}),
        ({"sku": "TEE-S"}, 400, "VALIDATION_ERROR", {"adjustment": "Field is required."}),
        (
            {"sku": "TEE-S", "adjustment": "-5"},
            400,
            "VALIDATION_ERROR",
            {"adjustment": "Int cannot represent non-integer value: '-5'"},
        ),
    ],
)
async def test_a_refused_adjustment_changes_nothing(
    admin: httpx.AsyncClient,
    database: Database,
    main: Warehouse,
    tee: CatalogEntity,
    body: dict[str, Any],
    status: int,
    code: str,
    details: dict[str, str],
) -> None:
    await stocked(database, "TEE-S", 10, warehouse=main)
    before = await row_counts(database)
    for path in (ADJUST, INVENTORY):
        method = "POST" if path == ADJUST else "PUT"
        error = error_of(await admin.request(method, path, json=body), status=status, code=code)
        assert error["details"] == details
    assert await row_counts(database) == before
    assert await quantities(database) == {"TEE-S": 10}


# --- bulk -----------------------------------------------------------------------------------


async def many_skus(database: Database, count: int) -> list[str]:
    """`count` variant SKUs of one entity (BULK-V000, BULK-V001, ...)."""
    sizes = tuple(f"V{i:03d}" for i in range(count))
    await make_entity(database, slug="bulk", sizes=sizes)
    return [f"BULK-{size}" for size in sizes]


async def test_bulk_sets_three_skus_in_one_request(
    admin: httpx.AsyncClient, database: Database, main: Warehouse, tee: CatalogEntity
) -> None:
    await stocked(database, "TEE-S", 1, warehouse=main)
    response = await admin.post(
        BULK,
        json={
            "updates": [
                {"sku": "TEE-S", "quantity": 200},
                {"sku": "TEE-M", "quantity": 150},
                {"sku": "TEE-L", "quantity": 75},
            ],
            "reason": "Inventory sync from ERP",
        },
    )
    data = success_data(response)
    assert all(set(item) == INVENTORY_FIELDS for item in data)
    assert {item["sku"]: item["quantity"] for item in data} == {
        "TEE-S": 200,
        "TEE-M": 150,
        "TEE-L": 75,
    }
    assert len(data) == 3
    assert await quantities(database) == {"TEE-S": 200, "TEE-M": 150, "TEE-L": 75}
    async with database.read_session() as session:
        reasons = (
            await session.scalars(
                select(AuditEntry.reason).where(AuditEntry.event == "inventory.afterAdjust")
            )
        ).all()
    # The first stocking had no reason; the bulk's three changes carry its reason.
    assert (
        sorted(reasons, key=lambda reason: reason or "") == [None] + ["Inventory sync from ERP"] * 3
    )
    assert len(await events_of(database, "inventory.afterAdjust")) == 4


async def test_bulk_of_100_skus_is_accepted(
    admin: httpx.AsyncClient, database: Database, main: Warehouse
) -> None:
    all_skus = await many_skus(database, 100)
    updates = [{"sku": sku, "quantity": i + 1} for i, sku in enumerate(all_skus)]
    data = success_data(await admin.post(BULK, json={"updates": updates, "reason": "ERP"}))
    assert len(data) == 100
    assert await quantities(database) == {sku: i + 1 for i, sku in enumerate(all_skus)}
    assert await count_rows(database, InventoryMovement) == 100
    assert len(await events_of(database, "inventory.afterAdjust")) == 100


async def test_bulk_of_101_skus_is_400_and_changes_nothing(
    admin: httpx.AsyncClient, database: Database, main: Warehouse
) -> None:
    all_skus = await many_skus(database, 101)
    await stocked(database, all_skus[0], 1, warehouse=main)
    before = await row_counts(database)
    updates = [{"sku": sku, "quantity": 9} for sku in all_skus]
    error = error_of(
        await admin.post(BULK, json={"updates": updates}), status=400, code="VALIDATION_ERROR"
    )
    assert error["details"] == {"updates": "At most 100 SKUs per request."}
    assert await row_counts(database) == before
    assert await quantities(database) == {all_skus[0]: 1}


async def test_bulk_with_one_unknown_sku_is_404_and_changes_nothing(
    admin: httpx.AsyncClient, database: Database, main: Warehouse, tee: CatalogEntity
) -> None:
    await stocked(database, "TEE-S", 1, warehouse=main)
    before = await row_counts(database)
    updates = [
        {"sku": "TEE-S", "quantity": 200},
        {"sku": "TEE-M", "quantity": 150},
        {"sku": "ZZZ-UNKNOWN", "quantity": 75},  # sorts last: the others were already set
    ]
    error = error_of(
        await admin.post(BULK, json={"updates": updates}), status=404, code="NOT_FOUND"
    )
    assert error["details"] == {"sku": "Unknown."}
    assert "ZZZ-UNKNOWN" in error["message"]
    assert await row_counts(database) == before
    assert await quantities(database) == {"TEE-S": 1}


async def test_bulk_with_one_quantity_below_its_reserved_is_409_and_changes_nothing(
    admin: httpx.AsyncClient, database: Database, main: Warehouse, tee: CatalogEntity
) -> None:
    await stocked(database, "TEE-L", 1, warehouse=main)
    small = await stocked(database, "TEE-S", 10, warehouse=main)
    await reserved(database, tee, 6, variant_id=str(small.variant_id))
    before = await row_counts(database)
    updates = [{"sku": "TEE-L", "quantity": 40}, {"sku": "TEE-S", "quantity": 2}]
    error_of(await admin.post(BULK, json={"updates": updates}), status=409, code="CONFLICT")
    assert await row_counts(database) == before
    assert await quantities(database) == {"TEE-L": 1, "TEE-S": 10}
    # Documented (the fuzzer found it missing from /api/doc).
    document = (await admin.get("/api/doc")).json()
    assert "409" in document["paths"][BULK]["post"]["responses"]


@pytest.mark.parametrize(
    ("body", "details"),
    [
        ({"updates": []}, {"updates": "Give at least one update."}),
        (
            {"updates": [{"sku": "TEE-S", "quantity": 1}, {"sku": "TEE-S", "quantity": 2}]},
            {"updates": "Each SKU at most once."},
        ),
        (
            {"updates": [{"sku": "TEE-S", "quantity": 1}, {"sku": "TEE-M", "quantity": -2}]},
            {"updates.1.quantity": "Must be between 0 and 1000000000."},
        ),
        ({"updates": [{"sku": "TEE-S"}]}, {"updates.0.quantity": "Field is required."}),
        ({}, {"updates": "Field is required."}),
    ],
)
async def test_a_bad_bulk_body_is_400_and_changes_nothing(
    admin: httpx.AsyncClient,
    database: Database,
    main: Warehouse,
    tee: CatalogEntity,
    body: dict[str, Any],
    details: dict[str, str],
) -> None:
    await stocked(database, "TEE-S", 1, warehouse=main)
    before = await row_counts(database)
    error = error_of(await admin.post(BULK, json=body), status=400, code="VALIDATION_ERROR")
    assert error["details"] == details
    assert await row_counts(database) == before


# --- events ---------------------------------------------------------------------------------


async def test_low_stock_fires_once_per_crossing_below_the_reorder_point(
    admin: httpx.AsyncClient, database: Database, main: Warehouse, tee: CatalogEntity
) -> None:
    async def adjust(amount: int) -> int:
        response = await admin.post(ADJUST, json={"sku": "TEE-S", "adjustment": amount})
        return success_data(response)["availableQuantity"]

    data = success_data(
        await admin.put(f"{INVENTORY}/TEE-S", json={"quantity": 10, "reorderPoint": 5})
    )
    assert data["availableQuantity"] == 10
    assert await events_of(database, "inventory.low_stock") == []

    assert await adjust(-6) == 4  # 10 -> 4: crosses the reorder point of 5
    [first] = await events_of(database, "inventory.low_stock")
    assert (first.entity_type, first.data["sku"], first.data["availableQuantity"]) == (
        "inventory",
        "TEE-S",
        4,
    )
    assert first.data["entityId"] == str(tee.id)

    assert await adjust(-1) == 3  # still below: no new alert
    assert len(await events_of(database, "inventory.low_stock")) == 1

    assert await adjust(10) == 13  # back above
    assert len(await events_of(database, "inventory.low_stock")) == 1
    assert await adjust(-9) == 4  # and below again: a second alert
    low = await events_of(database, "inventory.low_stock")
    assert [e.data["availableQuantity"] for e in low] == [4, 4]
    assert low[0].entity_id == low[1].entity_id

    # One afterAdjust per change: the PUT and four adjustments.
    adjusted = await events_of(database, "inventory.afterAdjust")
    assert len(adjusted) == 5
    assert {e.entity_id for e in adjusted} == {low[0].entity_id}


async def test_a_reservation_that_takes_availability_below_the_reorder_point_alerts_too(
    admin: httpx.AsyncClient, database: Database, main: Warehouse, tee: CatalogEntity
) -> None:
    level = await stocked(database, "TEE-S", 10, warehouse=main, reorder_point=5)
    await reserved(database, tee, 4, variant_id=str(level.variant_id))  # 6 available: fine
    assert await events_of(database, "inventory.low_stock") == []
    await reserved(database, tee, 2, variant_id=str(level.variant_id))  # 4 available: low
    assert len(await events_of(database, "inventory.low_stock")) == 1


# --- permissions ----------------------------------------------------------------------------


async def test_reads_need_inventory_read_and_changes_inventory_update(
    client: httpx.AsyncClient,
    reader: httpx.AsyncClient,
    database: Database,
    main: Warehouse,
    tee: CatalogEntity,
) -> None:
    await stocked(database, "TEE-S", 10, warehouse=main)
    before = await row_counts(database)
    for path in (INVENTORY, LOW_STOCK, f"{INVENTORY}/TEE-S"):
        error_of(await client.get(path), status=401, code="UNAUTHORIZED")
        success_data(await reader.get(path))
    writes = (
        ("PUT", f"{INVENTORY}/TEE-S", {"quantity": 1}),
        ("PUT", INVENTORY, {"sku": "TEE-S", "adjustment": 1}),
        ("POST", ADJUST, {"sku": "TEE-S", "adjustment": 1}),
        ("POST", BULK, {"updates": [{"sku": "TEE-S", "quantity": 1}]}),
    )
    for method, path, body in writes:
        error_of(await client.request(method, path, json=body), status=401, code="UNAUTHORIZED")
        error = error_of(
            await reader.request(method, path, json=body), status=403, code="FORBIDDEN"
        )
        assert "inventory:update" in error["message"]
    assert await row_counts(database) == before
    assert await quantities(database) == {"TEE-S": 10}


# --- the catalog's view of stock ------------------------------------------------------------


async def gql(client: httpx.AsyncClient, query: str, **variables: Any) -> dict[str, Any]:
    response = await client.post("/graphql", json={"query": query, "variables": variables})
    assert response.status_code == 200, response.text
    body = response.json()
    assert "errors" not in body, body
    return body["data"]


@pytest.fixture
async def stocked_tee(database: Database, main: Warehouse, tee: CatalogEntity) -> CatalogEntity:
    """TEE-S: 4 in MAIN and 3 in WEST, 1 held; TEE-M: 2 in MAIN; TEE-L: never stocked."""
    west = await make_warehouse(database, code="WEST", name="West")
    small = await stocked(database, "TEE-S", 4, warehouse=main)
    await stocked(database, "TEE-S", 3, warehouse=west)
    await stocked(database, "TEE-M", 2, warehouse=main)
    await reserved(database, tee, 1, variant_id=str(small.variant_id))
    return tee


async def test_graphql_shows_variant_availability_and_entity_stock(
    admin: httpx.AsyncClient, database: Database, stocked_tee: CatalogEntity
) -> None:
    # The levels need inventory:read (tests/api/test_least_reach.py); stock is public.
    await make_entity(database, slug="mug")  # never stocked
    data = await gql(
        admin,
        """{ catalogEntities(sort: "slug:asc") { items {
              slug stock variants { sku available }
              inventory { sku warehouseName quantity reservedQuantity availableQuantity }
        } } }""",
    )
    mug, tee = data["catalogEntities"]["items"]
    assert mug == {"slug": "mug", "stock": None, "variants": [], "inventory": []}
    assert tee["stock"] == 8  # 6 of TEE-S + 2 of TEE-M
    assert sorted((v["sku"], v["available"]) for v in tee["variants"]) == [
        ("TEE-L", None),
        ("TEE-M", 2),
        ("TEE-S", 6),
    ]
    assert [
        (i["sku"], i["warehouseName"], i["quantity"], i["reservedQuantity"], i["availableQuantity"])
        for i in tee["inventory"]
    ] == [("TEE-M", "Main", 2, 0, 2), ("TEE-S", "Main", 4, 1, 3), ("TEE-S", "West", 3, 0, 3)]

    one = await gql(
        admin, '{ catalogEntity(idOrSlug: "tee") { stock variants { sku available } } }'
    )
    assert one["catalogEntity"]["stock"] == 8


@pytest.mark.parametrize("count", [2, 8])
async def test_stock_in_a_catalog_listing_costs_the_same_statements_whatever_its_length(
    client: httpx.AsyncClient, database: Database, main: Warehouse, count: int
) -> None:
    for i in range(count):
        await make_entity(database, slug=f"shirt-{i}", sizes=("S", "M"))
        await stocked(database, f"SHIRT-{i}-S", i + 1, warehouse=main)
    with count_queries(database) as queries:
        data = await gql(
            client,
            "{ catalogEntities(limit: 100) { items { stock variants { available } } } }",
        )
    items = data["catalogEntities"]["items"]
    assert sorted(item["stock"] for item in items) == list(range(1, count + 1))
    # The page, the variants, the levels (with the expired holds on them summed in).
    assert queries.count == 3, queries.statements


async def test_engine_catalog_list_with_include_inventory_adds_stock_and_levels(
    admin: httpx.AsyncClient, client: httpx.AsyncClient, main: Warehouse, stocked_tee: CatalogEntity
) -> None:
    # The levels for inventory readers; the public gets `inventory: null` (test_least_reach).
    response = await admin.get("/api/catalog/entities", params={"include": "inventory"})
    assert response.status_code == 200, response.text
    [item] = response.json()["data"]
    assert item["stock"] == 8
    assert {
        (i["sku"], i["warehouseId"] == str(main.id), i["availableQuantity"])
        for i in item["inventory"]
    } == {("TEE-M", True, 2), ("TEE-S", True, 3), ("TEE-S", False, 3)}
    assert all(
        set(i)
        == {
            "sku",
            "variantId",
            "warehouseId",
            "warehouseName",
            "quantity",
            "reservedQuantity",
            "availableQuantity",
        }
        for i in item["inventory"]
    )
    [plain] = (await client.get("/api/catalog/entities")).json()["data"]
    assert "stock" not in plain and "inventory" not in plain


async def test_gateway_product_shows_its_stock(
    client: httpx.AsyncClient, database: Database, stocked_tee: CatalogEntity
) -> None:
    mug = await make_entity(database, slug="mug")
    product = success_data(await client.get(f"/api/v1/products/{stocked_tee.id}"))
    assert product["stock"] == 8
    unstocked = success_data(await client.get(f"/api/v1/products/{mug.id}"))
    assert unstocked["stock"] is None
    listing = success_data(await client.get("/api/v1/products"))
    assert {p["id"]: p["stock"] for p in listing} == {str(stocked_tee.id): 8, str(mug.id): None}


async def test_stock_in_the_catalog_drops_an_expired_hold_at_once(
    client: httpx.AsyncClient, database: Database, main: Warehouse, tee: CatalogEntity
) -> None:
    level = await stocked(database, "TEE-S", 5, warehouse=main)
    await reserved(database, tee, 5, variant_id=str(level.variant_id))
    assert success_data(await client.get(f"/api/v1/products/{tee.id}"))["stock"] == 0
    async with database.unit_of_work() as uow:
        await uow.session.execute(
            update(Reservation).values(expires_at=utcnow() - timedelta(seconds=1))
        )
        await uow.commit()
    assert success_data(await client.get(f"/api/v1/products/{tee.id}"))["stock"] == 5
    data = await gql(client, '{ catalogEntity(idOrSlug: "tee") { variants { sku available } } }')
    assert {v["sku"]: v["available"] for v in data["catalogEntity"]["variants"]}["TEE-S"] == 5


async def test_low_stock_filters_stop_counting_an_expired_hold_at_once(
    admin: httpx.AsyncClient, database: Database, main: Warehouse, tee: CatalogEntity
) -> None:
    level = await stocked(database, "TEE-S", 10, warehouse=main, reorder_point=5)
    await reserved(database, tee, 6, variant_id=str(level.variant_id))  # 4 available: low
    assert skus(listed(await admin.get(LOW_STOCK))) == ["TEE-S"]
    async with database.unit_of_work() as uow:
        await uow.session.execute(
            update(Reservation).values(expires_at=utcnow() - timedelta(seconds=1))
        )
        await uow.commit()

    # Not swept yet, but reads no longer count the hold: 10 available, above the point.
    [item] = listed(await admin.get(INVENTORY))
    assert (item["reservedQuantity"], item["availableQuantity"]) == (0, 10)
    assert listed(await admin.get(LOW_STOCK)) == []
    assert listed(await admin.get(INVENTORY, params={"low_stock": "true"})) == []
    assert skus(listed(await admin.get(INVENTORY, params={"low_stock": "false"}))) == ["TEE-S"]
