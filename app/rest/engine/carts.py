"""The engine dialect's cart routes (seed 003, `/api/carts`). Money in minor units."""

from typing import Any

from app.rest.dialects import ENGINE
from app.rest.jsonschema import all_required
from app.rest.jsonschema import integer as _integer
from app.rest.jsonschema import string as _string
from app.rest.table import Param, RestRoute, mutation

BASE = "/api/carts"
CART = """id currency customerId status itemCount createdAt updatedAt
  subtotal { amount } modifierDiscountTotal { amount } discountTotal { amount } total { amount }
  items {
    id entityId variantId sku title quantity listPrice { amount } unitPrice { amount }
    unitPriceSnapshot
    priceChanged lineTotal { amount }
  }"""


def _amount(money: dict[str, Any] | None) -> int | None:
    return money["amount"] if money else None


def cart(data: dict[str, Any]) -> dict[str, Any]:
    """Money fields as minor-unit integers, as the engine document sends them."""
    return {
        **data,
        "subtotal": _amount(data["subtotal"]),
        "modifierDiscountTotal": _amount(data["modifierDiscountTotal"]),
        "discountTotal": _amount(data["discountTotal"]),
        "total": _amount(data["total"]),
        "items": [
            {
                **item,
                "listPrice": _amount(item["listPrice"]),
                "unitPrice": _amount(item["unitPrice"]),
                "lineTotal": _amount(item["lineTotal"]),
            }
            for item in data["items"]
        ],
    }


CART_ITEM_SCHEMA = all_required(
    {
        "title": "CartItem",
        "type": "object",
        "properties": {
            "id": _string(),
            "entityId": _string(),
            "variantId": _string(nullable=True),
            "sku": _string(nullable=True),
            "title": _string(nullable=True),
            "quantity": _integer(),
            "listPrice": _integer(nullable=True),
            "unitPrice": _integer(nullable=True),
            "unitPriceSnapshot": _integer(nullable=True),
            "priceChanged": {"type": "boolean"},
            "lineTotal": _integer(nullable=True),
        },
    }
)
CART_SCHEMA = all_required(
    {
        "title": "Cart",
        "type": "object",
        "properties": {
            "id": _string(),
            "currency": _string(),
            "customerId": _string(nullable=True),
            "status": _string(),
            "itemCount": _integer(),
            "subtotal": _integer(),
            "modifierDiscountTotal": _integer(),
            "discountTotal": _integer(),
            "total": _integer(),
            "createdAt": _string(format="date-time"),
            "updatedAt": _string(format="date-time"),
            "items": {"type": "array", "items": CART_ITEM_SCHEMA},
        },
    }
)
ROUTES = [
    RestRoute(
        "POST",
        BASE,
        mutation("createCart", "CreateCartInput", CART),
        "createCart",
        ENGINE,
        summary="Create a new cart",
        tag="carts",
        body="input",
        status=201,
        shape=cart,
        shaped_schema=CART_SCHEMA,
        description="Anonymous callers may open carts: the returned id is the cart's key.",
    ),
    RestRoute(
        "GET",
        f"{BASE}/{{id}}",
        f"query C($id: ID!) {{ cart(id: $id) {{ {CART} }} }}",
        "cart",
        ENGINE,
        summary="Get cart with line items (priced now)",
        tag="carts",
        path_params=(Param("id"),),
        shape=cart,
        shaped_schema=CART_SCHEMA,
    ),
    RestRoute(
        "POST",
        f"{BASE}/{{id}}/items",
        mutation("addCartItem", "AddCartItemInput", CART),
        "addCartItem",
        ENGINE,
        summary="Add an item to the cart",
        tag="carts",
        body="input",
        path_params=(Param("id", "input.cartId"),),
        status=201,
        shape=cart,
        shaped_schema=CART_SCHEMA,
        description="The same entity and variant twice merge into one line; "
        "`unitPriceSnapshot` is compared with the resolved price, never charged.",
    ),
    RestRoute(
        "PATCH",
        f"{BASE}/{{id}}/items/{{itemId}}",
        mutation("updateCartItem", "UpdateCartItemInput", CART),
        "updateCartItem",
        ENGINE,
        summary="Update item quantity",
        tag="carts",
        body="input",
        path_params=(Param("id", "input.cartId"), Param("itemId", "input.itemId")),
        shape=cart,
        shaped_schema=CART_SCHEMA,
    ),
    RestRoute(
        "DELETE",
        f"{BASE}/{{id}}/items/{{itemId}}",
        f"""mutation M($cartId: ID!, $itemId: ID!) {{
          removeCartItem(input: {{cartId: $cartId, itemId: $itemId}}) {{ {CART} }}
        }}""",
        "removeCartItem",
        ENGINE,
        summary="Remove an item from the cart",
        tag="carts",
        path_params=(Param("id", "cartId"), Param("itemId", "itemId")),
        shape=cart,
        shaped_schema=CART_SCHEMA,
    ),
]
