"""The gateway dialect's inventory routes (seeds 000 and 001, `/api/v1/inventory`), answered
with seed 001's Inventory Object."""

from typing import Any

from app.rest.dialects import GATEWAY
from app.rest.jsonschema import all_required
from app.rest.jsonschema import string as _string
from app.rest.table import Param, RestRoute, mutation

BASE = "/api/v1/inventory"
LEVEL = (
    "sku entityId productName quantity reservedQuantity availableQuantity reorderPoint "
    "reorderQuantity warehouseId warehouseName lastUpdated"
)


def inventory_object(level: dict[str, Any]) -> dict[str, Any]:
    return {
        "sku": level["sku"],
        "productId": level["entityId"],
        "productName": level["productName"],
        "quantity": level["quantity"],
        "reservedQuantity": level["reservedQuantity"],
        "availableQuantity": level["availableQuantity"],
        "reorderPoint": level["reorderPoint"],
        "reorderQuantity": level["reorderQuantity"],
        "warehouseId": level["warehouseId"],
        "warehouseName": level["warehouseName"],
        "lastUpdated": level["lastUpdated"],
    }


def summed(item: dict[str, Any]) -> dict[str, Any]:
    """One SKU: its level where it is in one warehouse, else the sum over its warehouses."""
    levels = item["warehouses"]
    if len(levels) == 1:
        return inventory_object(levels[0])
    first = levels[0]
    return {
        **inventory_object(first),
        "quantity": item["quantity"],
        "reservedQuantity": item["reservedQuantity"],
        "availableQuantity": item["availableQuantity"],
        "reorderPoint": sum(level["reorderPoint"] for level in levels),
        "reorderQuantity": sum(level["reorderQuantity"] for level in levels),
        "warehouseId": None,
        "warehouseName": None,
        "lastUpdated": max(level["lastUpdated"] for level in levels),
    }


INVENTORY_OBJECT = all_required(
    {
        "title": "GatewayInventory",
        "type": "object",
        "properties": {
            "sku": _string(),
            "productId": _string(),
            "productName": _string(nullable=True),
            "quantity": {"type": "integer"},
            "reservedQuantity": {"type": "integer"},
            "availableQuantity": {"type": "integer"},
            "reorderPoint": {"type": "integer"},
            "reorderQuantity": {"type": "integer"},
            "warehouseId": _string(nullable=True),
            "warehouseName": _string(nullable=True),
            "lastUpdated": _string(format="date-time"),
        },
    }
)

FILTERS = (
    Param("warehouse_id", "filter.warehouseId", description="Filter by warehouse"),
    Param(
        "low_stock",
        "filter.lowStock",
        type="boolean",
        description="Only items at or below their reorder point",
    ),
    Param("sku_prefix", "filter.skuPrefix", description="Filter by SKU prefix"),
)


def listing(name: str, summary: str, *, low_stock_only: bool) -> RestRoute:
    filter_expr = "{lowStock: true}" if low_stock_only else "$filter"
    variables = "$page: Int, $limit: Int, $offset: Int" + (
        "" if low_stock_only else ", $filter: InventoryLevelFilter"
    )
    return RestRoute(
        "GET",
        f"{BASE}{name}",
        f"""query Levels({variables}) {{
          inventoryLevels(filter: {filter_expr}, page: $page, limit: $limit, offset: $offset) {{
            items {{ {LEVEL} }} totalCount pageInfo {{ page limit }}
          }}
        }}""",
        "inventoryLevels",
        GATEWAY,
        summary=summary,
        tag="inventory",
        paginated=True,
        query=() if low_stock_only else FILTERS,
        shape=inventory_object,
        shaped_schema=INVENTORY_OBJECT,
        permission="inventory:read",
    )


BY_SKU = mutation("adjustInventoryBySku", "AdjustInventoryBySkuInput", LEVEL)

ROUTES = [
    # Before `/inventory/{sku}`, which would otherwise take "low-stock" for a SKU.
    listing("/low-stock", "Get low stock alerts", low_stock_only=True),
    listing("", "List inventory levels", low_stock_only=False),
    RestRoute(
        "GET",
        f"{BASE}/{{sku}}",
        f"""query Item($sku: String!, $warehouseId: ID) {{
          inventoryItem(sku: $sku, warehouseId: $warehouseId) {{
            quantity reservedQuantity availableQuantity
            warehouses {{ {LEVEL} }}
          }}
        }}""",
        "inventoryItem",
        GATEWAY,
        summary="Get inventory for a specific SKU",
        tag="inventory",
        path_params=(Param("sku"),),
        query=(Param("warehouse_id", "warehouseId"),),
        shape=summed,
        shaped_schema=INVENTORY_OBJECT,
        permission="inventory:read",
    ),
    RestRoute(
        "PUT",
        f"{BASE}/{{sku}}",
        mutation("setInventoryLevel", "SetInventoryLevelInput", LEVEL),
        "setInventoryLevel",
        GATEWAY,
        summary="Update inventory levels (absolute quantity)",
        tag="inventory",
        path_params=(Param("sku", "input.sku"),),
        body="input",
        shape=inventory_object,
        shaped_schema=INVENTORY_OBJECT,
        permission="inventory:update",
        extra_responses={409: "Below the reserved quantity"},
    ),
    RestRoute(
        "PUT",
        BASE,
        BY_SKU,
        "adjustInventoryBySku",
        GATEWAY,
        summary="Adjust inventory",
        tag="inventory",
        body="input",
        shape=inventory_object,
        shaped_schema=INVENTORY_OBJECT,
        permission="inventory:update",
        extra_responses={409: "Not enough stock"},
    ),
    RestRoute(
        "POST",
        f"{BASE}/adjust",
        BY_SKU,
        "adjustInventoryBySku",
        GATEWAY,
        summary="Adjust inventory (increment/decrement)",
        tag="inventory",
        body="input",
        shape=inventory_object,
        shaped_schema=INVENTORY_OBJECT,
        permission="inventory:update",
        extra_responses={409: "Not enough stock"},
    ),
    RestRoute(
        "POST",
        f"{BASE}/bulk",
        mutation("bulkSetInventory", "BulkSetInventoryInput", LEVEL),
        "bulkSetInventory",
        GATEWAY,
        summary="Bulk update inventory (up to 100 SKUs)",
        tag="inventory",
        body="input",
        shape=inventory_object,
        shaped_schema={"type": "array", "items": INVENTORY_OBJECT},
        permission="inventory:update",
        description="All or nothing: one unknown SKU or one refused quantity changes nothing.",
        extra_responses={409: "Below the reserved quantity"},
    ),
]
