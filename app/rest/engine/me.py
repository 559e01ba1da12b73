"""The engine dialect's customer self-service routes (seed 003, `/api/me`). Each runs a field
of GraphQL's `me` (or one of the `...My...` mutations); money in minor units as elsewhere.

All of them need a signed-in customer's session (the session cookie): 401 without one, an API
key included (it is no one's session); 403 for a signed-in user without a customer record.
"""

from typing import Any

from app.rest.dialects import ENGINE
from app.rest.engine.carts import CART, CART_SCHEMA, cart
from app.rest.engine.orders import FULFILLMENT, ORDER, ORDER_SCHEMA, order
from app.rest.jsonschema import all_required
from app.rest.jsonschema import string as _string
from app.rest.table import Param, RestRoute, mutation

BASE = "/api/me"
SESSION = (
    "Needs a signed-in customer's session (the session cookie): 401 without one, API keys "
    "included; 403 for a signed-in user who is not a customer."
)
PROFILE = "id email firstName lastName phone metadata createdAt updatedAt groups { id name }"
ADDRESS = """id firstName lastName company line1 line2 city state postalCode country phone
  defaultShipping defaultBilling createdAt"""
TRACKING = f"orderId number status fulfillments {{ {FULFILLMENT} }}"
DOWNLOADS = (
    "orderId items { lineId entityId sku title mediaAssetId filename contentType byteSize url "
    "expiresAt } note"
)
SKIPPED = "lineId entityId sku title quantity reason message"
ORDER_ID = "The order's id (a UUID) or its number (ORD-YYYY-NNNNNN)"

DOWNLOAD_SCHEMA = all_required(
    {
        "title": "Download",
        "type": "object",
        "properties": {
            "lineId": _string(),
            "entityId": _string(nullable=True),
            "sku": _string(nullable=True),
            "title": _string(nullable=True),
            "mediaAssetId": _string(),
            "filename": _string(),
            "contentType": _string(),
            "byteSize": {"type": "integer"},
            "url": _string(),
            "expiresAt": {"type": "string", "format": "date-time"},
        },
    }
)


def _downloads(data: dict[str, Any]) -> Any:
    """The links are the data; why the list is as it is goes to `meta.note`."""
    return data["items"]


def _note(data: dict[str, Any]) -> dict[str, Any] | None:
    return {"note": data["note"]} if data.get("note") else None


def _reordered(data: dict[str, Any]) -> dict[str, Any]:
    return cart(data["cart"])


def _skipped(data: dict[str, Any]) -> dict[str, Any]:
    """What the new cart left out, and why (always sent, empty when nothing was)."""
    return {"skipped": data["skipped"]}


ROUTES = [
    RestRoute(
        "GET",
        f"{BASE}/profile",
        f"query {{ me {{ profile {{ {PROFILE} }} }} }}",
        "me.profile",
        ENGINE,
        summary="Get current customer profile",
        tag="me",
        session=True,
        description=SESSION,
    ),
    RestRoute(
        "PATCH",
        f"{BASE}/profile",
        mutation("updateMyProfile", "UpdateMyProfileInput", PROFILE),
        "updateMyProfile",
        ENGINE,
        summary="Update current customer profile",
        tag="me",
        session=True,
        body="input",
        description=f"firstName, lastName and phone (null clears one); emits customers.update. "
        f"{SESSION}",
    ),
    RestRoute(
        "GET",
        f"{BASE}/addresses",
        f"""query A($page: Int, $limit: Int) {{ me {{ addresses(page: $page, limit: $limit) {{
          items {{ {ADDRESS} }} totalCount pageInfo {{ page limit }}
        }} }} }}""",
        "me.addresses",
        ENGINE,
        summary="List customer addresses (oldest first)",
        tag="me",
        session=True,
        paginated=True,
        description=SESSION,
    ),
    RestRoute(
        "POST",
        f"{BASE}/addresses",
        mutation("addMyAddress", "AddMyAddressInput", ADDRESS),
        "addMyAddress",
        ENGINE,
        summary="Add a new address",
        tag="me",
        session=True,
        body="input",
        status=201,
        description="line1, city and country (ISO 3166-1 alpha-2) are required; at most 50 "
        f"addresses. A default flag moves to the new address. {SESSION}",
    ),
    RestRoute(
        "DELETE",
        f"{BASE}/addresses/{{id}}",
        f"mutation D($id: ID!) {{ deleteMyAddress(input: {{id: $id}}) {{ {ADDRESS} }} }}",
        "deleteMyAddress",
        ENGINE,
        summary="Delete an address (answered as it was)",
        tag="me",
        session=True,
        path_params=(Param("id", description="The address's id"),),
        description=f"Another customer's address is 404, as an unknown one. {SESSION}",
    ),
    RestRoute(
        "GET",
        f"{BASE}/orders",
        f"""query O($status: OrderStatus, $page: Int, $limit: Int) {{ me {{
          orders(status: $status, page: $page, limit: $limit) {{
            items {{ {ORDER} }} totalCount pageInfo {{ page limit }}
          }}
        }} }}""",
        "me.orders",
        ENGINE,
        summary="List orders for the current customer (newest first)",
        tag="me",
        session=True,
        paginated=True,
        query=(Param("status", description="Filter by order status"),),
        shape=order,
        shaped_schema=ORDER_SCHEMA,
        description=SESSION,
    ),
    RestRoute(
        "GET",
        f"{BASE}/orders/{{idOrNumber}}",
        f"query O($id: String!) {{ me {{ order(idOrNumber: $id) {{ {ORDER} }} }} }}",
        "me.order",
        ENGINE,
        summary="Get a specific order by UUID or order number",
        tag="me",
        session=True,
        path_params=(Param("idOrNumber", "id", description=ORDER_ID),),
        shape=order,
        shaped_schema=ORDER_SCHEMA,
        description=f"Another customer's order is 404, as an unknown one. {SESSION}",
    ),
    RestRoute(
        "GET",
        f"{BASE}/orders/{{idOrNumber}}/tracking",
        f"query T($id: String!) {{ me {{ tracking(idOrNumber: $id) {{ {TRACKING} }} }} }}",
        "me.tracking",
        ENGINE,
        summary="Get fulfillment tracking for an order",
        tag="me",
        session=True,
        path_params=(Param("idOrNumber", "id", description=ORDER_ID),),
        description=f"The order's shipments with carrier and tracking number. {SESSION}",
    ),
    RestRoute(
        "GET",
        f"{BASE}/orders/{{orderId}}/downloads",
        f"query L($id: String!) {{ me {{ downloads(orderId: $id) {{ {DOWNLOADS} }} }} }}",
        "me.downloads",
        ENGINE,
        summary="Get download links for digital items",
        tag="me",
        session=True,
        path_params=(Param("orderId", "id", description=ORDER_ID),),
        shape=_downloads,
        shaped_schema={"type": "array", "items": DOWNLOAD_SCHEMA},
        meta=_note,
        description="One signed, expiring link per file attached (role `download`) to each "
        "item bought, once the order is paid (payment paid or partially refunded; not "
        "cancelled or refunded); otherwise the list is empty and `meta.note` says why. "
        f"{SESSION}",
    ),
    RestRoute(
        "POST",
        f"{BASE}/orders/{{orderId}}/reorder",
        f"""mutation R($id: String!) {{ reorder(input: {{orderId: $id}}) {{
          cart {{ {CART} }} skipped {{ {SKIPPED} }}
        }} }}""",
        "reorder",
        ENGINE,
        summary="Create a new cart pre-filled from a previous order",
        tag="me",
        session=True,
        status=201,
        path_params=(Param("orderId", "id", description=ORDER_ID),),
        shape=_reordered,
        shaped_schema=CART_SCHEMA,
        meta=_skipped,
        description="The cart is the customer's, priced today. Lines no longer sold (deleted, "
        "not active, no price in the order's currency, not enough stock) are left out and "
        "listed in `meta.skipped` as {lineId, entityId, sku, title, quantity, reason, "
        f"message}}; reason is discontinued, not_for_sale, no_price or out_of_stock. {SESSION}",
    ),
]
