"""The gateway dialect's products (seeds 000 and 002, `/api/v1/products`).

A product is a catalog entity in the gateway's shape: `id, name, description, price,
currency, stock` plus `sku, status, createdAt`. Price and stock come from the entity's
`price`/`stock` fields, so when pricing and inventory fill those, nothing here changes.
"""

from typing import Any

from app.money import to_decimal
from app.rest.dialects import GATEWAY
from app.rest.jsonschema import nullable as _nullable
from app.rest.table import Param, RestRoute

FIELDS = "id name description price { amount currency } stock sku status createdAt"
BASE = "/api/v1/products"


def product(entity: dict[str, Any]) -> dict[str, Any]:
    price = entity["price"]
    return {
        "id": entity["id"],
        "name": entity["name"],
        "description": entity["description"],
        "price": to_decimal(price["amount"], price["currency"]) if price else None,
        "currency": price["currency"] if price else None,
        "stock": entity["stock"],
        "sku": entity["sku"],
        "status": entity["status"],
        "createdAt": entity["createdAt"],
    }


PRODUCT_SCHEMA = {
    "title": "GatewayProduct",
    "type": "object",
    "properties": {
        "id": {"type": "string"},
        "name": _nullable("string"),
        "description": _nullable("string"),
        "price": _nullable("number", description="Decimal major units, e.g. 49.99"),
        "currency": _nullable("string"),
        "stock": _nullable("integer"),
        "sku": _nullable("string"),
        "status": {"type": "string"},
        "createdAt": {"type": "string", "format": "date-time"},
    },
    "required": [
        "id",
        "name",
        "description",
        "price",
        "currency",
        "stock",
        "sku",
        "status",
        "createdAt",
    ],
}

ROUTES = [
    RestRoute(
        "GET",
        BASE,
        f"""query Products($page: Int, $limit: Int, $offset: Int) {{
          catalogEntities(page: $page, limit: $limit, offset: $offset) {{
            items {{ {FIELDS} }} totalCount pageInfo {{ page limit }}
          }}
        }}""",
        "catalogEntities",
        GATEWAY,
        summary="List all products",
        tag="products",
        paginated=True,
        shape=product,
        shaped_schema=PRODUCT_SCHEMA,
        description="Anonymous callers see active products only; `catalog:read` sees all.",
    ),
    RestRoute(
        "POST",
        BASE,
        f"mutation M($input: CreateProductInput!) {{ "
        f"createProduct(input: $input) {{ {FIELDS} }} }}",
        "createProduct",
        GATEWAY,
        summary="Create a product",
        tag="products",
        body="input",
        status=201,
        permission="catalog:create",
        shape=product,
        shaped_schema=PRODUCT_SCHEMA,
        extra_responses={409: "SKU in use"},
    ),
    RestRoute(
        "GET",
        f"{BASE}/{{id}}",
        f"query P($id: String!) {{ catalogEntity(idOrSlug: $id) {{ {FIELDS} }} }}",
        "catalogEntity",
        GATEWAY,
        summary="Get product details",
        tag="products",
        path_params=(Param("id", "id"),),
        shape=product,
        shaped_schema=PRODUCT_SCHEMA,
    ),
    RestRoute(
        "PUT",
        f"{BASE}/{{id}}",
        f"mutation M($input: UpdateProductInput!) {{ "
        f"updateProduct(input: $input) {{ {FIELDS} }} }}",
        "updateProduct",
        GATEWAY,
        summary="Update a product",
        tag="products",
        body="input",
        path_params=(Param("id", "input.id"),),
        permission="catalog:update",
        shape=product,
        shaped_schema=PRODUCT_SCHEMA,
        extra_responses={409: "SKU in use or status not allowed"},
    ),
]
