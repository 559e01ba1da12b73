"""The gateway dialect's products (seeds 000 and 002, `/api/v1/products`).

A product is a catalog entity in the gateway's shape: `id, name, description, price,
currency, stock` plus `sku, status, createdAt` and its `variants` (`id, sku, price, stock,
options`), so a client can order a product with several by `variantId` or `sku`. Price and
stock come from the entity's `price`/`stock` fields (`?currency=` picks the price's currency,
by default the store's). Create and update take the `price`/`currency`/`stock` they answer:
the decimal price converted exactly to minor units (`app.rest.gateway.money`).
"""

from typing import Any

from app.errors import ValidationFailed
from app.models.catalog import ENTITY_STATUSES
from app.money import currency_problem, to_decimal
from app.rest.dialects import GATEWAY
from app.rest.gateway.money import is_number, minor_units
from app.rest.jsonschema import json_type as _t
from app.rest.jsonschema import nullable as _nullable
from app.rest.table import Param, RestRoute
from app.services.catalog.rules import SKU
from app.services.pricing.rules import MAX_AMOUNT

PRICE = "price(currency: $currency) { amount currency }"
FIELDS = f"""id name description {PRICE} stock sku status createdAt
  variants {{ id sku available {PRICE} optionValues {{ optionType value }} }}"""
BASE = "/api/v1/products"
CURRENCY = Param(
    "currency", description="ISO 4217 code of the prices shown (default: the store's currency)."
)


def _price(price: dict[str, Any] | None) -> Any:
    return to_decimal(price["amount"], price["currency"]) if price else None


def variant(data: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": data["id"],
        "sku": data["sku"],
        "price": _price(data["price"]),
        "stock": data["available"],
        "options": {v["optionType"]: v["value"] for v in data["optionValues"]},
    }


def product(entity: dict[str, Any]) -> dict[str, Any]:
    price = entity["price"]
    return {
        "id": entity["id"],
        "name": entity["name"],
        "description": entity["description"],
        "price": _price(price),
        "currency": price["currency"] if price else None,
        "stock": entity["stock"],
        "sku": entity["sku"],
        "status": entity["status"],
        "createdAt": entity["createdAt"],
        "variants": [variant(v) for v in entity["variants"]],
    }


def product_body(body: dict[str, Any]) -> dict[str, Any]:
    """The decimal `price` (49.99) of `currency` as the input's minor units (4999), exactly.
    A price needs its currency (its decimal places depend on it); one finer than the
    currency's minor unit, negative, or beyond what a price holds is refused naming `price`.
    A null price and currency are not given, as GET answers an unpriced product."""
    price, currency = body.get("price"), body.get("currency")
    if price is None and currency is None:
        return body
    if currency is None:
        raise ValidationFailed.field("currency", "Give the price's currency (ISO 4217, e.g. USD).")
    # Not a string is a code of the wrong shape: named here, as the price depends on it.
    if (problem := currency_problem(currency if isinstance(currency, str) else "")) is not None:
        raise ValidationFailed.field("currency", problem)
    if price is None:
        raise ValidationFailed.field("price", "Give the price in this currency.")
    if not is_number(price):
        raise ValidationFailed.field("price", "A decimal number of major units, e.g. 49.99.")
    minor = minor_units("price", price, currency)
    if minor < 0:
        raise ValidationFailed.field("price", "Must be 0 or more.")
    if minor > MAX_AMOUNT:
        most = to_decimal(MAX_AMOUNT, currency)
        raise ValidationFailed.field("price", f"At most {most} {currency}.")
    return {**body, "price": minor}


VARIANT_SCHEMA = {
    "type": "object",
    "properties": {
        "id": {"type": "string"},
        "sku": {"type": "string"},
        "price": _nullable("number", description="Decimal major units of the product's currency"),
        "stock": _nullable("integer", description="Units available across warehouses"),
        "options": {
            "type": "object",
            "additionalProperties": {"type": "string"},
            "description": 'Option type -> value, e.g. {"Size": "M"}',
        },
    },
    "required": ["id", "sku", "price", "stock", "options"],
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
        "variants": {"type": "array", "items": VARIANT_SCHEMA},
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
        "variants",
    ],
}
WRITABLE = {
    "name": _t("string", minLength=1, maxLength=500),
    "description": _t("string", True, maxLength=50_000),
    "sku": _t("string", True, pattern=SKU.pattern),
    "status": _t("string", enum=list(ENTITY_STATUSES)),
    "price": _t(
        "number", True, minimum=0,
        description="Decimal major units of `currency` (49.99 USD, 500 JPY, 1.234 BHD), at most "
        "the currency's decimal places; sets the product's base price in that currency. "
        "Needs pricing:create (pricing:update to replace one).",
    ),
    "currency": _t("string", True, pattern="^[A-Z]{3}$", description="Required with price."),
    "stock": _t(
        "integer", True, minimum=0, maximum=1_000_000_000,
        description="Units on hand in the default warehouse (needs inventory:update); a "
        "product with several variants takes stock per SKU (PUT /inventory/{sku}).",
    ),
}  # fmt: skip
CREATE_BODY = {
    "title": "GatewayProductBody",
    "type": "object",
    "required": ["name"],
    "properties": WRITABLE,
}
UPDATE_BODY = {"title": "GatewayProductUpdateBody", "type": "object", "properties": WRITABLE}
WRITE_NOTE = (
    "`price` (with `currency`) creates or replaces the base price in that currency and `stock` "
    "sets the units on hand in the default warehouse, in the same transaction as the rest: "
    "a bad value changes nothing. Setting `price` needs `pricing:create` (`pricing:update` to "
    "replace a price), setting `stock` needs `inventory:update`."
)

ROUTES = [
    RestRoute(
        "GET",
        BASE,
        f"""query Products($page: Int, $limit: Int, $offset: Int, $currency: String) {{
          catalogEntities(page: $page, limit: $limit, offset: $offset) {{
            items {{ {FIELDS} }} totalCount pageInfo {{ page limit }}
          }}
        }}""",
        "catalogEntities",
        GATEWAY,
        summary="List all products",
        tag="products",
        paginated=True,
        query=(CURRENCY,),
        shape=product,
        shaped_schema=PRODUCT_SCHEMA,
        description="Anonymous callers see active products only; `catalog:read` sees all. "
        "Each product lists its variants (id, sku, price, stock, options).",
    ),
    RestRoute(
        "POST",
        BASE,
        f"mutation M($input: CreateProductInput!, $currency: String) {{ "
        f"createProduct(input: $input) {{ {FIELDS} }} }}",
        "createProduct",
        GATEWAY,
        summary="Create a product",
        tag="products",
        body="input",
        status=201,
        permission="catalog:create",
        prepare=product_body,
        body_schema=CREATE_BODY,
        body_variables={"currency": "currency"},
        shape=product,
        shaped_schema=PRODUCT_SCHEMA,
        description=WRITE_NOTE,
        extra_responses={409: "SKU in use, or stock given with no active warehouse"},
    ),
    RestRoute(
        "GET",
        f"{BASE}/{{id}}",
        f"query P($id: String!, $currency: String) {{ "
        f"catalogEntity(idOrSlug: $id) {{ {FIELDS} }} }}",
        "catalogEntity",
        GATEWAY,
        summary="Get product details",
        tag="products",
        path_params=(Param("id", "id"),),
        query=(CURRENCY,),
        shape=product,
        shaped_schema=PRODUCT_SCHEMA,
    ),
    RestRoute(
        "PUT",
        f"{BASE}/{{id}}",
        f"mutation M($input: UpdateProductInput!, $currency: String) {{ "
        f"updateProduct(input: $input) {{ {FIELDS} }} }}",
        "updateProduct",
        GATEWAY,
        summary="Update a product",
        tag="products",
        body="input",
        path_params=(Param("id", "input.id"),),
        permission="catalog:update",
        prepare=product_body,
        body_schema=UPDATE_BODY,
        body_variables={"currency": "currency"},
        shape=product,
        shaped_schema=PRODUCT_SCHEMA,
        description=WRITE_NOTE,
        extra_responses={
            409: "SKU in use, status not allowed, stock below what is reserved, or no warehouse"
        },
    ),
]
