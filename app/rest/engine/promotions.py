"""The engine dialect's promotion routes (seed 003, `/api/promotions`).

Engine money is minor units beside its code, so `minSubtotal`, `discount` and `subtotal` are
flat integers here rather than GraphQL's `Money` objects. Validating a code that cannot be
used is a 200 with `valid: false` and the reason; only a malformed body is a 422.
"""

from typing import Any

from app.rest.dialects import ENGINE
from app.rest.jsonschema import nullable as _nullable
from app.rest.jsonschema import string as _string
from app.rest.table import Param, RestRoute, mutation

BASE = "/api/promotions"
PROMOTION = """id code name type value currency validFrom validUntil usageLimit
  perCustomerLimit usageCount minSubtotal { amount } customerGroupIds entityIds categoryIds
  buyQuantity getQuantity stackable active createdAt updatedAt"""
VALIDATION = f"""valid code reason message freeShipping
  subtotal {{ amount currency }} modifierDiscountTotal {{ amount }}
  discount {{ amount currency }} total {{ amount }}
  lines {{ entityId variantId quantity unitPrice {{ amount }} discount {{ amount }} }}
  promotion {{ {PROMOTION} }}"""
ID = (Param("id", "input.id", description="The promotion's UUID"),)


def promotion(item: dict[str, Any]) -> dict[str, Any]:
    minimum = item["minSubtotal"]
    return {**item, "minSubtotal": minimum["amount"] if minimum else None}


def validation(item: dict[str, Any]) -> dict[str, Any]:
    return {
        "valid": item["valid"],
        "code": item["code"],
        "reason": item["reason"],
        "message": item["message"],
        "currency": item["discount"]["currency"],
        "subtotal": item["subtotal"]["amount"],
        "modifierDiscountTotal": item["modifierDiscountTotal"]["amount"],
        "discount": item["discount"]["amount"],
        "total": item["total"]["amount"],
        "freeShipping": item["freeShipping"],
        "lines": [
            {
                "entityId": line["entityId"],
                "variantId": line["variantId"],
                "quantity": line["quantity"],
                "unitPrice": line["unitPrice"]["amount"],
                "discount": line["discount"]["amount"],
            }
            for line in item["lines"]
        ],
        "promotion": promotion(item["promotion"]) if item["promotion"] else None,
    }


def _ids() -> dict[str, Any]:
    return {"type": "array", "items": _string()}


PROMOTION_SCHEMA: dict[str, Any] = {
    "title": "Promotion",
    "type": "object",
    "properties": {
        "id": _string(),
        "code": _string(),
        "name": _string(),
        "type": _string(),
        "value": {"type": "integer"},
        "currency": _nullable("string"),
        "validFrom": _nullable("string", format="date-time"),
        "validUntil": _nullable("string", format="date-time"),
        "usageLimit": _nullable("integer"),
        "perCustomerLimit": _nullable("integer"),
        "usageCount": {"type": "integer"},
        "minSubtotal": _nullable("integer", description="Minor units of currency"),
        "customerGroupIds": _ids(),
        "entityIds": _ids(),
        "categoryIds": _ids(),
        "buyQuantity": _nullable("integer"),
        "getQuantity": _nullable("integer"),
        "stackable": {"type": "boolean"},
        "active": {"type": "boolean"},
        "createdAt": _string(format="date-time"),
        "updatedAt": _string(format="date-time"),
    },
}
PROMOTION_SCHEMA["required"] = list(PROMOTION_SCHEMA["properties"])

LINE_SCHEMA = {
    "title": "PromotionValidationLine",
    "type": "object",
    "properties": {
        "entityId": _string(),
        "variantId": _nullable("string"),
        "quantity": {"type": "integer"},
        "unitPrice": {"type": "integer", "description": "The server's price, minor units"},
        "discount": {"type": "integer"},
    },
    "required": ["entityId", "variantId", "quantity", "unitPrice", "discount"],
}
VALIDATION_SCHEMA: dict[str, Any] = {
    "title": "PromotionValidation",
    "type": "object",
    "properties": {
        "valid": {"type": "boolean"},
        "code": _string(),
        "reason": _nullable("string"),
        "message": _nullable("string"),
        "currency": _string(),
        "subtotal": {"type": "integer", "description": "List prices, minor units"},
        "modifierDiscountTotal": {"type": "integer", "description": "Price modifiers' share"},
        "discount": {"type": "integer", "description": "The code's discount, minor units"},
        "total": {"type": "integer", "description": "After modifiers and the code"},
        "freeShipping": {"type": "boolean"},
        "lines": {"type": "array", "items": LINE_SCHEMA},
        "promotion": {**PROMOTION_SCHEMA, "nullable": True},
    },
}
VALIDATION_SCHEMA["required"] = list(VALIDATION_SCHEMA["properties"])

ROUTES = [
    RestRoute(
        "POST",
        BASE,
        mutation("createPromotion", "CreatePromotionInput", PROMOTION),
        "createPromotion",
        ENGINE,
        summary="Create a promotion",
        tag="promotions",
        body="input",
        status=201,
        permission="promotions:create",
        shape=promotion,
        shaped_schema=PROMOTION_SCHEMA,
        extra_responses={409: "Code in use"},
        description="`type`: percentage_off_order, fixed_amount_off_order (`value` in minor "
        "units, with `currency`), percentage_off_items (`entityIds`/`categoryIds`), "
        "buy_x_get_y (`buyQuantity`, `getQuantity`) or free_shipping. `validFrom`/`validUntil` "
        "are ISO 8601; the code is stored upper-case.",
    ),
    RestRoute(
        "GET",
        BASE,
        f"""query Promotions($page: Int, $limit: Int) {{
          promotions(page: $page, limit: $limit) {{
            items {{ {PROMOTION} }} totalCount pageInfo {{ page limit }}
          }}
        }}""",
        "promotions",
        ENGINE,
        summary="List active promotions",
        tag="promotions",
        paginated=True,
        shape=promotion,
        shaped_schema=PROMOTION_SCHEMA,
        description="Active and inside their validity window, oldest first.",
    ),
    RestRoute(
        "POST",
        f"{BASE}/validate",
        mutation("validatePromotion", "ValidatePromotionInput", VALIDATION),
        "validatePromotion",
        ENGINE,
        summary="Validate a promotion code against a cart",
        tag="promotions",
        body="input",
        shape=validation,
        shaped_schema=VALIDATION_SCHEMA,
        description="The server prices every line (`unitPrice`, `totalPrice` and `subtotal` "
        "are ignored) and answers the discount, or `valid: false` with a `reason`.",
    ),
    RestRoute(
        "POST",
        f"{BASE}/{{id}}/deactivate",
        mutation("deactivatePromotion", "PromotionIdInput", PROMOTION),
        "deactivatePromotion",
        ENGINE,
        summary="Deactivate a promotion",
        tag="promotions",
        path_params=ID,
        permission="promotions:update",
        shape=promotion,
        shaped_schema=PROMOTION_SCHEMA,
    ),
    RestRoute(
        "PATCH",
        f"{BASE}/{{id}}",
        mutation("updatePromotion", "UpdatePromotionInput", PROMOTION),
        "updatePromotion",
        ENGINE,
        summary="Update a promotion",
        tag="promotions",
        path_params=ID,
        body="input",
        permission="promotions:update",
        shape=promotion,
        shaped_schema=PROMOTION_SCHEMA,
        description="Any of name, value, validFrom, validUntil, usageLimit, perCustomerLimit, "
        "minSubtotal, customerGroupIds, entityIds, categoryIds, buyQuantity, getQuantity, "
        "stackable, active; code, type and currency stay as created.",
    ),
]
