"""The engine dialect's pricing routes (seed 003, `/api/pricing`).

The engine sends money as minor units beside its code, so a price is flat here:
`{"amount": 2999, "currency": "USD", ...}` rather than GraphQL's `Money` object.
"""

from typing import Any

from app.rest.dialects import ENGINE
from app.rest.jsonschema import nullable as _nullable
from app.rest.jsonschema import string as _string
from app.rest.table import Param, RestRoute

BASE = "/api/pricing"
PRICE = """id entityId variantId amount { amount currency } customerGroupId minQuantity
  validFrom validUntil createdAt updatedAt"""
MODIFIER = """id name kind value currency entityId customerGroupId minQuantity validFrom
  validUntil active priority createdAt updatedAt"""


def price(item: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": item["id"],
        "entityId": item["entityId"],
        "variantId": item["variantId"],
        "currency": item["amount"]["currency"],
        "amount": item["amount"]["amount"],
        "customerGroupId": item["customerGroupId"],
        "minQuantity": item["minQuantity"],
        "validFrom": item["validFrom"],
        "validUntil": item["validUntil"],
        "createdAt": item["createdAt"],
        "updatedAt": item["updatedAt"],
    }


PRICE_SCHEMA = {
    "title": "Price",
    "type": "object",
    "properties": {
        "id": _string(),
        "entityId": _string(),
        "variantId": _nullable("string"),
        "currency": _string(description="ISO 4217"),
        "amount": {"type": "integer", "description": "Minor units, e.g. 2999"},
        "customerGroupId": _nullable("string"),
        "minQuantity": {"type": "integer"},
        "validFrom": _nullable("string", format="date-time"),
        "validUntil": _nullable("string", format="date-time"),
        "createdAt": _string(format="date-time"),
        "updatedAt": _string(format="date-time"),
    },
    "required": [
        "id",
        "entityId",
        "variantId",
        "currency",
        "amount",
        "customerGroupId",
        "minQuantity",
        "validFrom",
        "validUntil",
        "createdAt",
        "updatedAt",
    ],
}

ROUTES = [
    RestRoute(
        "POST",
        f"{BASE}/prices",
        f"mutation M($input: CreatePriceInput!) {{ createPrice(input: $input) {{ {PRICE} }} }}",
        "createPrice",
        ENGINE,
        summary="Create a price record",
        tag="pricing",
        body="input",
        status=201,
        permission="pricing:create",
        shape=price,
        shaped_schema=PRICE_SCHEMA,
        description="`amount` in minor units. Optional: `variantId`, `customerGroupId`, "
        "`minQuantity` (tiers, default 1), `validFrom`/`validUntil` (ISO 8601).",
    ),
    RestRoute(
        "GET",
        f"{BASE}/prices",
        f"""query Prices($filter: PriceFilter, $page: Int, $limit: Int) {{
          prices(filter: $filter, page: $page, limit: $limit) {{
            items {{ {PRICE} }} totalCount pageInfo {{ page limit }}
          }}
        }}""",
        "prices",
        ENGINE,
        summary="List prices",
        tag="pricing",
        paginated=True,
        permission="pricing:update",
        shape=price,
        shaped_schema=PRICE_SCHEMA,
        query=(
            Param("entityId", "filter.entityId", description="Filter by entity ID"),
            Param("variantId", "filter.variantId", description="Filter by variant ID"),
            Param("currency", "filter.currency", description="Filter by currency code"),
            Param(
                "customerGroupId", "filter.customerGroupId", description="Filter by customer group"
            ),
        ),
        description="Every record (all groups, tiers and windows), oldest first.",
    ),
    RestRoute(
        "POST",
        f"{BASE}/modifiers",
        f"mutation M($input: CreatePriceModifierInput!) {{ "
        f"createPriceModifier(input: $input) {{ {MODIFIER} }} }}",
        "createPriceModifier",
        ENGINE,
        summary="Create a price modifier",
        tag="pricing",
        body="input",
        status=201,
        permission="pricing:create",
        description="A discount: `kind` percentage (`value` whole percent, 10 = 10% off) or "
        "fixed (`value` minor units off, with `currency`), scoped by `entityId`, "
        "`customerGroupId`, `minQuantity` and `validFrom`/`validUntil`; applied in ascending "
        "`priority`, never below zero.",
    ),
]
