"""The engine dialect's checkout and order routes (seed 003). Money in minor units."""

from typing import Any

from app.rest.components import ref
from app.rest.dialects import ENGINE
from app.rest.jsonschema import all_required
from app.rest.jsonschema import json_type as _t
from app.rest.table import Param, RestRoute, mutation

FULFILLMENT = "id orderId status carrier trackingNumber lines { lineId quantity } createdAt"
ORDER = f"""id number status paymentStatus currency customerId cartId promotionCodes
  shippingAddress createdAt updatedAt
  subtotal {{ amount }} modifierDiscountTotal {{ amount }} promotionDiscountTotal {{ amount }}
  discountTotal {{ amount }} shippingTotal {{ amount }} total {{ amount }}
  lines {{
    id entityId variantId sku title quantity refundedQuantity listPrice {{ amount }}
    unitPrice {{ amount }} discount {{ amount }} total {{ amount }}
  }}
  payments {{ id kind provider providerReference status reason amount {{ amount }} createdAt }}
  fulfillments {{ {FULFILLMENT} }}"""
MONEY = (
    "subtotal", "modifierDiscountTotal", "promotionDiscountTotal", "discountTotal",
    "shippingTotal", "total",
)  # fmt: skip
LINE_MONEY = ("listPrice", "unitPrice", "discount", "total")


def order(data: dict[str, Any]) -> dict[str, Any]:
    """Money as minor-unit integers, as the engine document sends it."""
    return {
        **data,
        **{name: data[name]["amount"] for name in MONEY},
        "lines": [{**line, **{k: line[k]["amount"] for k in LINE_MONEY}} for line in data["lines"]],
        "payments": [{**p, "amount": p["amount"]["amount"]} for p in data["payments"]],
    }


LINE_SCHEMA = all_required({"title": "OrderLine", "type": "object", "properties": {
    "id": _t("string"), "entityId": _t("string", True), "variantId": _t("string", True),
    "sku": _t("string", True), "title": _t("string", True), "quantity": _t("integer"),
    "refundedQuantity": _t("integer"),
    **{name: _t("integer") for name in LINE_MONEY},
}})  # fmt: skip
PAYMENT_SCHEMA = all_required({"title": "Payment", "type": "object", "properties": {
    "id": _t("string"), "kind": _t("string"), "provider": _t("string"),
    "providerReference": _t("string"), "status": _t("string"),
    "reason": _t("string", True), "amount": _t("integer"),
    "createdAt": _t("string", format="date-time"),
}})  # fmt: skip
ORDER_SCHEMA = all_required({
    "title": "Order",
    "type": "object",
    "properties": {
        "id": _t("string"), "number": _t("string"), "status": _t("string"),
        "paymentStatus": _t("string"), "currency": _t("string"),
        "customerId": _t("string", True), "cartId": _t("string", True),
        "promotionCodes": {"type": "array", "items": _t("string")},
        "shippingAddress": _t("object", True, additionalProperties=True),
        "createdAt": _t("string", format="date-time"),
        "updatedAt": _t("string", format="date-time"),
        **{name: _t("integer") for name in MONEY},
        "lines": {"type": "array", "items": LINE_SCHEMA},
        # The GraphQL type's own component: the order selects it as the fulfillment routes do.
        "fulfillments": {"type": "array", "items": ref("Fulfillment")},
        "payments": {"type": "array", "items": PAYMENT_SCHEMA},
    },
})  # fmt: skip


def _checkout_meta(result: dict[str, Any]) -> dict[str, Any] | None:
    """`meta.hookErrors` when the work after the order failed somewhere (non-fatal), and
    `meta.accessToken`, a guest order's token, shown this once (the data is the Order every
    order route answers)."""
    meta = {"hookErrors": result["hookErrors"]} if result["hookErrors"] else {}
    if result["accessToken"]:
        meta["accessToken"] = result["accessToken"]
    return meta or None


def _checkout_order(result: dict[str, Any]) -> dict[str, Any]:
    return order(result["order"])


ROUTES = [
    RestRoute(
        "POST",
        "/api/checkout",
        f"""mutation C($input: CheckoutInput!, $idempotencyKey: String) {{
          checkout(input: $input, idempotencyKey: $idempotencyKey) {{
            order {{ {ORDER} }} hookErrors accessToken
          }}
        }}""",
        "checkout",
        ENGINE,
        summary="Create an order from a cart",
        tag="checkout",
        body="input",
        status=201,
        shape=_checkout_order,
        shaped_schema=ORDER_SCHEMA,
        meta=_checkout_meta,
        headers=(
            Param(
                "Idempotency-Key",
                "idempotencyKey",
                description="Retrying with the same key and body answers the same order",
            ),
        ),
        description="One pipeline: lock the cart, price it, apply promotions, reserve stock, "
        "pay (test provider: pm_card_declined declines), create the order. Any failure is "
        "422 CHECKOUT_FAILED and leaves nothing behind. A guest order (no customer) answers "
        "`meta.accessToken`, shown this once: sent as X-Order-Token to "
        "GET /api/orders/{idOrNumber} it reads the order without an account (absent for a "
        "customer's order or a replay).",
        extra_responses={409: "Idempotency-Key reused with another body"},
    ),
    RestRoute(
        "GET",
        "/api/orders",
        f"""query O($status: OrderStatus, $page: Int, $limit: Int) {{
          orders(status: $status, page: $page, limit: $limit) {{
            items {{ {ORDER} }} totalCount pageInfo {{ page limit }}
          }}
        }}""",
        "orders",
        ENGINE,
        summary="List orders (newest first)",
        tag="orders",
        paginated=True,
        query=(Param("status", description="Filter by status"),),
        shape=order,
        shaped_schema=ORDER_SCHEMA,
        permission="orders:read",
    ),
    RestRoute(
        "GET",
        "/api/orders/{idOrNumber}",
        f"""query O($id: String!, $token: String) {{
          order(idOrNumber: $id, accessToken: $token) {{ {ORDER} }}
        }}""",
        "order",
        ENGINE,
        summary="Get order by UUID or order number (ORD-YYYY-NNNNNN)",
        tag="orders",
        path_params=(Param("idOrNumber", "id"),),
        shape=order,
        shaped_schema=ORDER_SCHEMA,
        headers=(
            Param(
                "X-Order-Token",
                "token",
                description="A guest order's access token (checkout's accessToken): reads that "
                "order without an account; a wrong one is 404, as an unknown order",
            ),
        ),
        description="Staff (orders:read) read any order, a signed-in customer theirs, a guest "
        "the one its X-Order-Token opens; any other order is 404.",
    ),
    RestRoute(
        "PATCH",
        "/api/orders/{id}/status",
        f"""mutation S($input: ChangeOrderStatusInput!) {{
          changeOrderStatus(input: $input) {{ {ORDER} }}
        }}""",
        "changeOrderStatus",
        ENGINE,
        summary="Change order status",
        tag="orders",
        body="input",
        path_params=(Param("id", "input.id"),),
        shape=order,
        shaped_schema=ORDER_SCHEMA,
        permission="orders:update",
        description="pending -> confirmed -> processing -> partially_fulfilled | fulfilled -> "
        "refunded; cancelled from pending, confirmed, processing, partially_fulfilled. Any other "
        "move is 409 naming the allowed next states. Cancelling returns what was sold, releases "
        "what is held, gives promotion uses back and refunds what was paid; `refunded` refunds "
        "what is left (paymentStatus `refund_pending` until the provider confirms).",
        extra_responses={409: "Transition not allowed, or a payment is being processed"},
    ),
    RestRoute(
        "POST",
        "/api/orders/{id}/refunds",
        mutation("refundOrder", "RefundOrderInput", ORDER),
        "refundOrder",
        ENGINE,
        summary="Refund part of an order (Cartograph extension)",
        tag="orders",
        body="input",
        status=201,
        path_params=(Param("id", "input.orderId"),),
        shape=order,
        shaped_schema=ORDER_SCHEMA,
        permission="orders:update",
        description="By `amount` (minor units) or by `lines` [{lineId, quantity}], never more "
        "than is left of what was captured. paymentStatus becomes partially_refunded or "
        "refunded. Not in seed 003: its order machine has only a whole-order `refunded`.",
        extra_responses={409: "Nothing captured, or a payment is being processed"},
    ),
    RestRoute(
        "GET",
        "/api/orders/{id}/fulfillments",
        f"query F($id: String!) {{ fulfillments(orderId: $id) {{ {FULFILLMENT} }} }}",
        "fulfillments",
        ENGINE,
        summary="List fulfillments for an order",
        tag="orders",
        path_params=(Param("id"),),
    ),
    RestRoute(
        "POST",
        "/api/orders/{id}/fulfillments",
        f"""mutation F($input: CreateFulfillmentInput!) {{
          createFulfillment(input: $input) {{ {FULFILLMENT} }}
        }}""",
        "createFulfillment",
        ENGINE,
        summary="Create a fulfillment (ship lines with tracking)",
        tag="orders",
        body="input",
        status=201,
        path_params=(Param("id", "input.orderId"),),
        permission="orders:update",
        extra_responses={409: "Order not in a shippable state"},
    ),
]
