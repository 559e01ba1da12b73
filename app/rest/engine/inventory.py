"""The engine dialect's inventory routes (seed 003, `/api/inventory`)."""

from app.rest.dialects import ENGINE
from app.rest.table import Param, RestRoute, mutation

BASE = "/api/inventory"
LEVEL = (
    "id sku entityId variantId warehouseId warehouseName productName quantity "
    "reservedQuantity availableQuantity reorderPoint reorderQuantity lastUpdated"
)
RESERVATION = "id levelId quantity status referenceId expiresAt createdAt"
WAREHOUSE = "id code name address active createdAt updatedAt"

ROUTES = [
    RestRoute(
        "GET",
        f"{BASE}/check",
        """query Check($entityIds: [ID!]!) {
          inventoryCheck(entityIds: $entityIds) {
            entityId variantId sku quantity reservedQuantity availableQuantity
            warehouses { warehouseId warehouseName quantity reservedQuantity availableQuantity }
          }
        }""",
        "inventoryCheck",
        ENGINE,
        summary="Check stock for one or more entities",
        tag="inventory",
        query=(
            Param(
                "entityIds", type="csv", required=True, description="Comma-separated entity UUIDs"
            ),
        ),
        description="Availability per entity and variant across warehouses; expired "
        "reservations no longer count.",
    ),
    RestRoute(
        "POST",
        f"{BASE}/adjust",
        mutation("adjustInventory", "AdjustInventoryInput", LEVEL),
        "adjustInventory",
        ENGINE,
        summary="Adjust an inventory level",
        tag="inventory",
        body="input",
        permission="inventory:update",
        description="restock and return add `quantity`; sale and damage remove it; correction "
        "adds it signed. Removing more than is available is refused (409) and changes nothing.",
        extra_responses={409: "Not enough stock"},
    ),
    RestRoute(
        "POST",
        f"{BASE}/reserve",
        mutation("reserveInventory", "ReserveInventoryInput", RESERVATION),
        "reserveInventory",
        ENGINE,
        summary="Reserve inventory",
        tag="inventory",
        body="input",
        status=201,
        permission="inventory:update",
        description="Holds units across warehouses (by warehouse code) until released or "
        "`expiresInSeconds` (default 900) pass.",
        extra_responses={409: "Not enough stock"},
    ),
    RestRoute(
        "POST",
        f"{BASE}/release",
        mutation("releaseInventory", "ReleaseInventoryInput", RESERVATION),
        "releaseInventory",
        ENGINE,
        summary="Release a reservation",
        tag="inventory",
        body="input",
        permission="inventory:update",
        description="By `reservationId`, or every live reservation with `referenceId`.",
    ),
    RestRoute(
        "POST",
        f"{BASE}/warehouses",
        mutation("createWarehouse", "CreateWarehouseInput", WAREHOUSE),
        "createWarehouse",
        ENGINE,
        summary="Create a warehouse",
        tag="inventory",
        body="input",
        status=201,
        permission="inventory:create",
        extra_responses={409: "Code in use"},
    ),
    RestRoute(
        "GET",
        f"{BASE}/warehouses",
        f"""query W($active: Boolean, $page: Int, $limit: Int) {{
          warehouses(active: $active, page: $page, limit: $limit) {{
            items {{ {WAREHOUSE} }} totalCount pageInfo {{ page limit }}
          }}
        }}""",
        "warehouses",
        ENGINE,
        summary="List warehouses (by code)",
        tag="inventory",
        paginated=True,
        permission="inventory:read",
        query=(Param("active", type="boolean", description="Only active (true) or inactive"),),
    ),
    RestRoute(
        "PATCH",
        f"{BASE}/warehouses/{{id}}",
        mutation("updateWarehouse", "UpdateWarehouseInput", WAREHOUSE),
        "updateWarehouse",
        ENGINE,
        summary="Update a warehouse",
        tag="inventory",
        body="input",
        path_params=(Param("id", "input.id"),),
        permission="inventory:update",
    ),
    RestRoute(
        "POST",
        f"{BASE}/warehouses/{{id}}/deactivate",
        f"mutation M($id: ID!) {{ deactivateWarehouse(input: {{id: $id}}) {{ {WAREHOUSE} }} }}",
        "deactivateWarehouse",
        ENGINE,
        summary="Deactivate a warehouse (no new reservations)",
        tag="inventory",
        path_params=(Param("id", "id"),),
        permission="inventory:update",
    ),
]
