"""The gateway dialect's orders and payments (seed 000 routes, seed 002 bodies).

POST /orders takes seed 002's body (`userId`, `items[{productId, quantity}]`,
`shippingAddress{street, city, zipCode, country}`) and places the order unpaid, holding its
stock. An item names a product with one variant (seed 002's `productId`), or a variant by
`variantId` or `sku` (with or without `productId`); a product with several variants and none
named is a VALIDATION_ERROR naming `items.N.variantId`. POST /payments pays it (the amount
in decimal major units must be the order's total; a declined card is 402 PAYMENT_REQUIRED
and changes nothing).
"""

from decimal import Decimal
from typing import Any

from app.errors import ValidationFailed
from app.money import currency_problem, to_decimal
from app.rest.dialects import GATEWAY
from app.rest.gateway.money import is_number, minor_units
from app.rest.jsonschema import all_required
from app.rest.jsonschema import json_type as _t
from app.rest.table import Param, RestRoute, mutation

ORDER = """id number status paymentStatus currency customerId shippingAddress createdAt
  subtotal { amount } discountTotal { amount } total { amount }
  lines { entityId variantId sku title quantity unitPrice { amount } total { amount } }"""
ADDRESS_NAMES = {"street": "line1", "zipCode": "postalCode"}


def _decimal(money: dict[str, Any], currency: str) -> Decimal:
    return to_decimal(money["amount"], currency)


def order(data: dict[str, Any]) -> dict[str, Any]:
    currency = data["currency"]
    address = data["shippingAddress"]
    back = {v: k for k, v in ADDRESS_NAMES.items()}
    return {
        "id": data["id"],
        "number": data["number"],
        "userId": data["customerId"],
        "status": data["status"],
        "paymentStatus": data["paymentStatus"],
        "items": [
            {
                "productId": line["entityId"],
                "variantId": line["variantId"],
                "sku": line["sku"],
                "name": line["title"],
                "quantity": line["quantity"],
                "unitPrice": _decimal(line["unitPrice"], currency),
                "total": _decimal(line["total"], currency),
            }
            for line in data["lines"]
        ],
        "shippingAddress": {back.get(k, k): v for k, v in address.items()} if address else None,
        "subtotal": _decimal(data["subtotal"], currency),
        "discount": _decimal(data["discountTotal"], currency),
        "total": _decimal(data["total"], currency),
        "currency": currency,
        "createdAt": data["createdAt"],
    }


def order_body(body: dict[str, Any]) -> dict[str, Any]:
    """Seed 002's names onto PlaceOrderInput's; anything unexpected passes through, so the
    input's own checks name it."""
    prepared = {k: v for k, v in body.items() if k not in ("userId", "items", "shippingAddress")}
    if "userId" in body:
        prepared["customerId"] = body["userId"]
    items = body.get("items")
    if isinstance(items, list):
        prepared["items"] = [
            {("entityId" if k == "productId" else k): v for k, v in item.items()}
            if isinstance(item, dict)
            else item
            for item in items
        ]
    elif "items" in body:
        prepared["items"] = items
    address = body.get("shippingAddress")
    if isinstance(address, dict):
        prepared["shippingAddress"] = {ADDRESS_NAMES.get(k, k): v for k, v in address.items()}
    elif "shippingAddress" in body:
        prepared["shippingAddress"] = address
    return prepared


def payment_body(body: dict[str, Any]) -> dict[str, Any]:
    """The decimal amount (49.99) in minor units (4999), exactly, or a VALIDATION_FAILED naming
    `amount` when it is finer than the currency's minor unit (49.999 USD, 1.5 JPY): never
    rounded (`app.rest.gateway.money`)."""
    amount, currency = body.get("amount"), body.get("currency")
    if not isinstance(currency, str):
        return body  # the input's own checks name it
    if (problem := currency_problem(currency)) is not None:
        raise ValidationFailed.field("currency", problem)
    if not is_number(amount):
        return body
    return {**body, "amount": minor_units("amount", amount, currency)}


def payment(data: dict[str, Any]) -> dict[str, Any]:
    currency = data["amount"]["currency"]
    return {
        "id": data["id"],
        "orderId": data["orderId"],
        "status": data["status"],
        "amount": _decimal(data["amount"], currency),
        "currency": currency,
        "provider": data["provider"],
        "reference": data["providerReference"],
        "createdAt": data["createdAt"],
    }


ADDRESS = {"title": "GatewayAddress", "type": "object", "properties": {
    "street": _t("string"), "city": _t("string"), "zipCode": _t("string"),
    "country": _t("string"), "state": _t("string"),
}}  # fmt: skip
ITEM_SCHEMA = all_required({"title": "GatewayOrderItem", "type": "object", "properties": {
    "productId": _t("string", True), "variantId": _t("string", True),
    "sku": _t("string", True), "name": _t("string", True), "quantity": _t("integer"),
    "unitPrice": _t("number"), "total": _t("number"),
}})  # fmt: skip
ORDER_SCHEMA = all_required({"title": "GatewayOrder", "type": "object", "properties": {
    "id": _t("string"), "number": _t("string"), "userId": _t("string", True),
    "status": _t("string"), "paymentStatus": _t("string"),
    "items": {"type": "array", "items": ITEM_SCHEMA},
    "shippingAddress": {**ADDRESS, "nullable": True},
    "subtotal": _t("number"), "discount": _t("number"), "total": _t("number"),
    "currency": _t("string"), "createdAt": _t("string", format="date-time"),
}})  # fmt: skip
ORDER_BODY = {"title": "GatewayOrderBody", "type": "object", "required": ["items"],
    "properties": {
        "userId": _t("string"),
        "currency": _t("string", pattern="^[A-Z]{3}$"),
        "items": {"type": "array", "minItems": 1, "items": {
            "type": "object", "required": ["quantity"],
            "description": "productId (a product with one variant), variantId or sku: at least "
                           "one; given together they must name the same variant.",
            "properties": {"productId": _t("string"), "variantId": _t("string"),
                           "sku": _t("string"),
                           "quantity": _t("integer", minimum=1, maximum=1000)},
        }},
        "shippingAddress": ADDRESS,
    }}  # fmt: skip
PAYMENT_SCHEMA = all_required({"title": "GatewayPayment", "type": "object", "properties": {
    "id": _t("string"), "orderId": _t("string"), "status": _t("string"),
    "amount": _t("number"), "currency": _t("string"), "provider": _t("string"),
    "reference": _t("string"), "createdAt": _t("string", format="date-time"),
}})  # fmt: skip
PAYMENT_BODY = {"title": "GatewayPaymentBody", "type": "object",
    "required": ["orderId", "paymentMethodId", "amount", "currency"],
    "properties": {
        "orderId": _t("string"), "paymentMethodId": _t("string", pattern="^pm_"),
        "amount": _t("number", description="Decimal major units, e.g. 99.98"),
        "currency": _t("string", pattern="^[A-Z]{3}$"),
    }}  # fmt: skip

REFUND_BODY = {"title": "GatewayRefundBody", "type": "object", "required": ["amount", "currency"],
    "properties": {
        "amount": _t("number", description="Decimal major units, e.g. 12.50"),
        "currency": _t("string", pattern="^[A-Z]{3}$"),
        "reason": _t("string", maxLength=500),
    }}  # fmt: skip

ROUTES = [
    RestRoute(
        "GET",
        "/api/v1/orders",
        f"""query O($status: OrderStatus, $page: Int, $limit: Int, $offset: Int) {{
          orders(status: $status, page: $page, limit: $limit, offset: $offset) {{
            items {{ {ORDER} }} totalCount pageInfo {{ page limit }}
          }}
        }}""",
        "orders",
        GATEWAY,
        summary="List all orders",
        tag="orders",
        paginated=True,
        query=(Param("status", description="Filter by status"),),
        shape=order,
        shaped_schema=ORDER_SCHEMA,
        permission="orders:read",
    ),
    RestRoute(
        "POST",
        "/api/v1/orders",
        mutation("placeOrder", "PlaceOrderInput", ORDER),
        "placeOrder",
        GATEWAY,
        summary="Create an order (unpaid; pay with POST /payments)",
        tag="orders",
        body="input",
        status=201,
        prepare=order_body,
        body_schema=ORDER_BODY,
        body_names={"entityId": "productId"},
        shape=order,
        shaped_schema=ORDER_SCHEMA,
        permission="orders:create",
        extra_responses={409: "Out of stock"},
    ),
    RestRoute(
        "GET",
        "/api/v1/orders/{id}",
        f"query O($id: String!) {{ order(idOrNumber: $id) {{ {ORDER} }} }}",
        "order",
        GATEWAY,
        summary="Get order details",
        tag="orders",
        path_params=(Param("id"),),
        shape=order,
        shaped_schema=ORDER_SCHEMA,
    ),
    RestRoute(
        "PUT",
        "/api/v1/orders/{id}",
        mutation("changeOrderStatus", "ChangeOrderStatusInput", ORDER),
        "changeOrderStatus",
        GATEWAY,
        summary="Update an order (its status, along the documented machine)",
        tag="orders",
        body="input",
        path_params=(Param("id", "input.id"),),
        shape=order,
        shaped_schema=ORDER_SCHEMA,
        permission="orders:update",
        extra_responses={409: "Transition not allowed"},
    ),
    RestRoute(
        "POST",
        "/api/v1/payments",
        mutation(
            "payOrder",
            "PayOrderInput",
            "id orderId status provider providerReference createdAt amount { amount currency }",
        ),
        "payOrder",
        GATEWAY,
        summary="Initiate a payment for an order",
        tag="payments",
        body="input",
        prepare=payment_body,
        body_schema=PAYMENT_BODY,
        shape=payment,
        shaped_schema=PAYMENT_SCHEMA,
        permission="orders:create",
        extra_responses={402: "Payment failed", 409: "Paid already, or the hold expired"},
    ),
    RestRoute(
        "POST",
        "/api/v1/orders/{id}/refunds",
        mutation("refundOrder", "RefundOrderInput", ORDER),
        "refundOrder",
        GATEWAY,
        summary="Refund part of an order (Cartograph extension)",
        tag="orders",
        body="input",
        status=201,
        path_params=(Param("id", "input.orderId"),),
        prepare=payment_body,
        body_schema=REFUND_BODY,
        shape=order,
        shaped_schema=ORDER_SCHEMA,
        permission="orders:update",
        description="A decimal amount in the order's currency, never more than is left of "
        "what was paid; paymentStatus becomes partially_refunded or refunded. Not in seeds "
        "000 or 002, which have no refunds.",
        extra_responses={409: "Nothing captured, or a payment is being processed"},
    ),
]
