"""The engine dialect's marketplace routes (seed 003's plugin, `/api/marketplace`): vendors and
their approval machine, the vendor's own profile and sub-orders (`/vendor/me`, scoped to the
signed-in vendor user's vendor), and the admin's sub-orders. Money in minor units.

Vendor documents (`/vendors/{id}/documents`) are served here too; commission rules, payouts
and balances live in `ledger`, disputes, returns, reviews and performance in `aftercare`.
"""

from typing import Any

from app.rest.dialects import ENGINE
from app.rest.engine.orders import LINE_MONEY, LINE_SCHEMA
from app.rest.jsonschema import all_required
from app.rest.jsonschema import json_type as _t
from app.rest.table import Param, RestRoute, mutation

BASE = "/api/marketplace"
TAG = "marketplace"
ADMIN = "marketplace:admin"
VENDOR = """id name slug email description phone website address status statusReason
  approvedAt createdAt updatedAt"""
SUB_ORDER = """id orderId orderNumber vendorId status total { amount } shippingAddress
  trackingNumber carrier cancelReason confirmedAt shippedAt deliveredAt cancelledAt createdAt
  updatedAt
  lines {
    id entityId variantId sku title quantity refundedQuantity listPrice { amount }
    unitPrice { amount } discount { amount } total { amount }
  }"""
SELF = (
    "Needs a vendor's signed-in user (the session cookie): 401 without one, 403 for anyone "
    "who is not a vendor's user."
)
VENDOR_MOVES = (
    "The signed-in vendor user moves its own vendor's sub-orders while the vendor is active "
    "(403 when it is pending, rejected or suspended; another vendor's sub-order is 404); "
    "marketplace:admin may move any. The parent order follows its sub-orders."
)
MACHINE = (
    "pending -> confirmed -> shipped (trackingNumber and carrier) -> delivered; cancelled "
    "(with a reason) from pending or confirmed, giving its stock back (no refund: that is the "
    "ledger's). Any other move is 409 naming the allowed next states."
)
CONFLICT = {409: "Transition not allowed"}
SUB_ORDER_SCHEMA = all_required({"title": "SubOrder", "type": "object", "properties": {
    "id": _t("string"), "orderId": _t("string"), "orderNumber": _t("string"),
    "vendorId": _t("string", True), "status": _t("string"), "total": _t("integer"),
    "shippingAddress": _t("object", True, additionalProperties=True),
    "trackingNumber": _t("string", True), "carrier": _t("string", True),
    "cancelReason": _t("string", True),
    **{name: _t("string", True, format="date-time")
       for name in ("confirmedAt", "shippedAt", "deliveredAt", "cancelledAt")},
    "createdAt": _t("string", format="date-time"), "updatedAt": _t("string", format="date-time"),
    "lines": {"type": "array", "items": LINE_SCHEMA},
}})  # fmt: skip


def sub_order(data: dict[str, Any]) -> dict[str, Any]:
    """Money as minor-unit integers, as the engine document sends it."""
    return {
        **data,
        "total": data["total"]["amount"],
        "lines": [{**line, **{k: line[k]["amount"] for k in LINE_MONEY}} for line in data["lines"]],
    }


def _vendor_action(action: str, field: str, summary: str, description: str) -> RestRoute:
    return RestRoute(
        "POST",
        f"{BASE}/vendors/{{id}}/{action}",
        mutation(field, "VendorStatusInput", VENDOR),
        field,
        ENGINE,
        summary=summary,
        tag=TAG,
        body="input",
        optional_body=True,
        path_params=(Param("id", "input.id", description="The vendor's id"),),
        permission=ADMIN,
        description=f"{description} Emits vendors.statusChange.",
        extra_responses={409: "The vendor's status does not allow it"},
    )


def _move(action: str, field: str, input_type: str, summary: str, body: bool) -> RestRoute:
    return RestRoute(
        "POST",
        f"{BASE}/vendor/me/orders/{{id}}/{action}",
        mutation(field, input_type, SUB_ORDER),
        field,
        ENGINE,
        summary=summary,
        tag=TAG,
        body="input",
        optional_body=not body,
        path_params=(Param("id", "input.id", description="The sub-order's id"),),
        shape=sub_order,
        shaped_schema=SUB_ORDER_SCHEMA,
        description=f"{VENDOR_MOVES} {MACHINE}",
        extra_responses=CONFLICT,
    )


DOCUMENT = """id vendorId mediaAssetId kind status reason reviewedBy reviewedAt createdAt
  updatedAt url mediaAsset { id filename kind contentType byteSize sha256 }"""
DOCUMENT_REACH = (
    "The vendor's own users (any vendor status) and marketplace:admin; another vendor's is "
    "404. Each document carries `url`, a signed link to its file that expires after "
    "CARTOGRAPH_MEDIA_SIGNED_URL_SECONDS (documents are never public)."
)
VENDOR_ID = Param("id", "input.vendorId", description="The vendor's id")
DOC_ID = Param("docId", "input.id", description="The document's id")


def _document_action(action: str, field: str, summary: str, description: str) -> RestRoute:
    return RestRoute(
        "POST",
        f"{BASE}/vendors/{{id}}/documents/{{docId}}/{action}",
        mutation(field, "ReviewVendorDocumentInput", DOCUMENT),
        field,
        ENGINE,
        summary=summary,
        tag=TAG,
        body="input",
        optional_body=True,
        path_params=(VENDOR_ID, DOC_ID),
        permission=ADMIN,
        description=f"{description} Emits vendorDocuments.statusChange.",
        extra_responses={409: "The document is no longer pending"},
    )


DOCUMENT_ROUTES = [
    RestRoute(
        "GET",
        f"{BASE}/vendors/{{id}}/documents",
        f"""query D($id: ID!, $status: VendorDocumentStatus, $page: Int, $limit: Int) {{
          vendorDocuments(vendorId: $id, status: $status, page: $page, limit: $limit) {{
            items {{ {DOCUMENT} }} totalCount pageInfo {{ page limit }}
          }}
        }}""",
        "vendorDocuments",
        ENGINE,
        summary="List a vendor's documents (newest first)",
        tag=TAG,
        paginated=True,
        path_params=(Param("id", description="The vendor's id"),),
        query=(Param("status", description="pending, approved or rejected"),),
        description=DOCUMENT_REACH,
    ),
    RestRoute(
        "POST",
        f"{BASE}/vendors/{{id}}/documents",
        mutation("uploadVendorDocument", "UploadVendorDocumentInput", DOCUMENT),
        "uploadVendorDocument",
        ENGINE,
        summary="Upload a document (multipart/form-data: file, kind)",
        tag=TAG,
        body="input",
        form=True,
        status=201,
        path_params=(VENDOR_ID,),
        description="`kind`: business_license, tax_certificate, identity, bank_statement or "
        "other. The file is stored as a media asset: its type is detected from its bytes (PDF "
        "and images; SVG refused), at most CARTOGRAPH_MEDIA_MAX_BYTES. Pending until reviewed. "
        f"{DOCUMENT_REACH} Emits vendorDocuments.create.",
        extra_responses={413: "The file exceeds CARTOGRAPH_MEDIA_MAX_BYTES"},
    ),
    _document_action(
        "approve", "approveVendorDocument", "Approve document", "pending -> approved."
    ),
    _document_action(
        "reject",
        "rejectVendorDocument",
        "Reject document",
        "pending -> rejected; `reason` required.",
    ),
]

ROUTES = [
    *DOCUMENT_ROUTES,
    RestRoute(
        "GET",
        f"{BASE}/vendors",
        f"""query V($status: VendorStatus, $search: String, $page: Int, $limit: Int) {{
          vendors(status: $status, search: $search, page: $page, limit: $limit) {{
            items {{ {VENDOR} }} totalCount pageInfo {{ page limit }}
          }}
        }}""",
        "vendors",
        ENGINE,
        summary="List vendors (newest first)",
        tag=TAG,
        paginated=True,
        query=(
            Param("status", description="pending, active, rejected or suspended"),
            Param("search", description="A part of the name, any case"),
        ),
        permission=ADMIN,
    ),
    RestRoute(
        "POST",
        f"{BASE}/vendors",
        mutation("registerVendor", "RegisterVendorInput", VENDOR),
        "registerVendor",
        ENGINE,
        summary="Register a vendor (pending approval)",
        tag=TAG,
        body="input",
        status=201,
        description="A signed-in user registers their own vendor and becomes its user (with "
        "the vendor role); marketplace:admin may register one for anyone (`userId`, or none). "
        "Emits vendors.create.",
        extra_responses={409: "The slug is in use, or the user already has a vendor"},
    ),
    RestRoute(
        "GET",
        f"{BASE}/vendors/{{id}}",
        f"query V($id: ID!) {{ vendor(id: $id) {{ {VENDOR} }} }}",
        "vendor",
        ENGINE,
        summary="Vendor detail",
        tag=TAG,
        path_params=(Param("id", description="The vendor's id"),),
        description="marketplace:admin reads any vendor; a vendor's user its own, any other "
        "is 404.",
    ),
    RestRoute(
        "PATCH",
        f"{BASE}/vendors/{{id}}",
        mutation("updateVendor", "UpdateVendorInput", VENDOR),
        "updateVendor",
        ENGINE,
        summary="Update vendor",
        tag=TAG,
        body="input",
        path_params=(Param("id", "input.id", description="The vendor's id"),),
        description="marketplace:admin changes any vendor's profile; a vendor's user its own "
        "(another is 404). Emits vendors.update.",
        extra_responses={409: "The slug is in use"},
    ),
    _vendor_action("approve", "approveVendor", "Approve vendor", "pending -> active."),
    _vendor_action(
        "reject", "rejectVendor", "Reject with reason", "pending -> rejected; `reason` required."
    ),
    _vendor_action(
        "suspend", "suspendVendor", "Suspend vendor", "active -> suspended; `reason` required."
    ),
    _vendor_action("reinstate", "reinstateVendor", "Reinstate vendor", "suspended -> active."),
    RestRoute(
        "GET",
        f"{BASE}/vendor/me",
        f"query V {{ myVendor {{ {VENDOR} }} }}",
        "myVendor",
        ENGINE,
        summary="Own vendor profile",
        tag=TAG,
        session=True,
        description=SELF,
    ),
    RestRoute(
        "PATCH",
        f"{BASE}/vendor/me",
        mutation("updateVendor", "UpdateVendorInput", VENDOR),
        "updateVendor",
        ENGINE,
        summary="Update own profile",
        tag=TAG,
        body="input",
        session=True,
        description=f"Any status (a pending vendor completes its profile). {SELF}",
        extra_responses={409: "The slug is in use"},
    ),
    RestRoute(
        "GET",
        f"{BASE}/vendor/me/orders",
        f"""query S($status: SubOrderStatus, $page: Int, $limit: Int) {{
          mySubOrders(status: $status, page: $page, limit: $limit) {{
            items {{ {SUB_ORDER} }} totalCount pageInfo {{ page limit }}
          }}
        }}""",
        "mySubOrders",
        ENGINE,
        summary="Own sub-orders (newest first)",
        tag=TAG,
        paginated=True,
        query=(Param("status", description="pending, confirmed, shipped, delivered, cancelled"),),
        shape=sub_order,
        shaped_schema=SUB_ORDER_SCHEMA,
        session=True,
        description=SELF,
    ),
    _move("confirm", "confirmSubOrder", "SubOrderIdInput", "Confirm sub-order", False),
    _move("ship", "shipSubOrder", "ShipSubOrderInput", "Ship with tracking number", True),
    _move("deliver", "deliverSubOrder", "SubOrderIdInput", "Mark delivered", False),
    _move("cancel", "cancelSubOrder", "CancelSubOrderInput", "Cancel sub-order", True),
    RestRoute(
        "GET",
        f"{BASE}/sub-orders",
        f"""query S(
          $vendorId: ID, $status: SubOrderStatus, $orderId: ID, $page: Int, $limit: Int
        ) {{
          subOrders(
            vendorId: $vendorId, status: $status, orderId: $orderId, page: $page, limit: $limit
          ) {{ items {{ {SUB_ORDER} }} totalCount pageInfo {{ page limit }} }}
        }}""",
        "subOrders",
        ENGINE,
        summary="List sub-orders (newest first)",
        tag=TAG,
        paginated=True,
        query=(
            Param("vendorId", description="Only this vendor's"),
            Param("status", description="pending, confirmed, shipped, delivered, cancelled"),
            Param("orderId", description="Only this order's"),
        ),
        shape=sub_order,
        shaped_schema=SUB_ORDER_SCHEMA,
        permission=ADMIN,
    ),
    RestRoute(
        "GET",
        f"{BASE}/sub-orders/{{id}}",
        f"query S($id: ID!) {{ subOrder(id: $id) {{ {SUB_ORDER} }} }}",
        "subOrder",
        ENGINE,
        summary="Sub-order detail",
        tag=TAG,
        path_params=(Param("id", description="The sub-order's id"),),
        shape=sub_order,
        shaped_schema=SUB_ORDER_SCHEMA,
        description="marketplace:admin reads any; a vendor's user its own, any other is 404.",
    ),
    RestRoute(
        "PATCH",
        f"{BASE}/sub-orders/{{id}}/status",
        mutation("setSubOrderStatus", "SetSubOrderStatusInput", SUB_ORDER),
        "setSubOrderStatus",
        ENGINE,
        summary="Change sub-order status",
        tag=TAG,
        body="input",
        path_params=(Param("id", "input.id", description="The sub-order's id"),),
        shape=sub_order,
        shaped_schema=SUB_ORDER_SCHEMA,
        permission=ADMIN,
        description=MACHINE,
        extra_responses=CONFLICT,
    ),
]
