"""Gateway products list their variants, and gateway orders name one (seeds 000 and 002).

A product answers `variants: [{id, sku, price, stock, options}]` (price a decimal in the
product's currency, stock the units available); an order item names a product with one
variant (seed 002's `productId`), or a variant by `variantId` or `sku`. Bodies are read with
`parse_float=Decimal`, so the test sees the digits on the wire.
"""

from __future__ import annotations

import json
import uuid
from decimal import Decimal
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from app.auth.actor import SYSTEM
from app.db import Database
from app.models.catalog import CatalogEntity, Variant
from app.models.inventory import InventoryLevel, Reservation, Warehouse
from app.models.orders import Order, OrderLine
from app.services.inventory.levels import set_level
from app.services.inventory.warehouses import create_warehouse
from tests.support.catalog import make_entity
from tests.support.pricing import make_price, variants_of
from tests.support.queries import count_queries

PRODUCTS, ORDERS = "/api/v1/products", "/api/v1/orders"


def wire(response: httpx.Response) -> Any:
    """The body with every JSON number as written: ints as int, others as Decimal."""
    return json.loads(response.text, parse_float=Decimal)


def success(response: httpx.Response, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    body = wire(response)
    assert body["success"] is True and set(body["meta"]) == {"timestamp", "requestId"}
    return body["data"]


def failure(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["success"] is False and set(body["error"]) == {"code", "message", "details"}
    assert body["error"]["code"] == code
    return body["error"]


async def stock(database: Database, quantities: dict[str, int]) -> None:
    """Units on hand per SKU, in the one warehouse (made on first use)."""
    async with database.unit_of_work() as uow:
        if await uow.session.scalar(select(Warehouse.id).limit(1)) is None:
            await create_warehouse(uow, SYSTEM, code="MAIN", name="Main")
        for sku, quantity in quantities.items():
            await set_level(uow, SYSTEM, sku=sku, quantity=quantity)
        await uow.commit()


async def sizes(database: Database, entity: CatalogEntity) -> dict[str, Variant]:
    """The entity's variants by size (make_entity's SKUs are SLUG-SIZE)."""
    return {sku.rsplit("-", 1)[1]: v for sku, v in (await variants_of(database, entity)).items()}


async def tee(database: Database, *, slug: str = "tee") -> CatalogEntity:
    """An active T-shirt in S, M and L (SKUs TEE-S, TEE-M, TEE-L): 20.00 USD, the L 22.50;
    3 S on hand, no M, the L never stocked."""
    entity = await make_entity(database, slug=slug, title="Tee", sizes=("S", "M", "L"))
    await make_price(database, entity, amount=2000)
    await make_price(database, entity, amount=2250, variant=(await sizes(database, entity))["L"])
    await stock(database, {f"{slug.upper()}-S": 3, f"{slug.upper()}-M": 0})
    return entity


async def shopper(admin: httpx.AsyncClient) -> str:
    query = "mutation($input: CreateCustomerInput!) { createCustomer(input: $input) { id } }"
    email = f"shopper-{uuid.uuid4().hex[:12]}@example.com"
    created = await admin.post(
        "/graphql", json={"query": query, "variables": {"input": {"email": email}}}
    )
    return created.json()["data"]["createCustomer"]["id"]


async def order(admin: httpx.AsyncClient, *items: dict[str, Any]) -> httpx.Response:
    return await admin.post(ORDERS, json={"userId": await shopper(admin), "items": list(items)})


async def orders_placed(database: Database) -> int:
    async with database.read_session() as session:
        return await session.scalar(select(func.count()).select_from(Order)) or 0


async def held(database: Database) -> dict[str, int]:
    """Units held per SKU by active reservations."""
    async with database.read_session() as session:
        rows = await session.execute(
            select(InventoryLevel.sku, func.sum(Reservation.quantity))
            .join(Reservation, Reservation.level_id == InventoryLevel.id)
            .where(Reservation.status == "active")
            .group_by(InventoryLevel.sku)
        )
    return {sku: int(quantity) for sku, quantity in rows}


# --- products list their variants ------------------------------------------------------------


async def test_a_product_lists_its_variants_with_price_and_stock(
    admin: httpx.AsyncClient, database: Database
) -> None:
    entity = await tee(database)
    variants = await sizes(database, entity)
    product = success(await admin.get(f"{PRODUCTS}/{entity.id}"))
    assert product["variants"] == [
        {"id": str(variants["L"].id), "sku": "TEE-L", "price": Decimal("22.50"), "stock": None,
         "options": {"Size": "L"}},
        {"id": str(variants["M"].id), "sku": "TEE-M", "price": Decimal("20.00"), "stock": 0,
         "options": {"Size": "M"}},
        {"id": str(variants["S"].id), "sku": "TEE-S", "price": Decimal("20.00"), "stock": 3,
         "options": {"Size": "S"}},
    ]  # fmt: skip
    # The product's own price and its stock across variants, as before.
    assert (product["price"], product["currency"], product["stock"]) == (Decimal("20.00"), "USD", 3)
    listed = success(await admin.get(PRODUCTS))
    assert listed == [product]


async def test_a_product_without_variants_lists_none(admin: httpx.AsyncClient) -> None:
    created = success(await admin.post(PRODUCTS, json={"name": "Gift wrap"}), 201)
    assert created["variants"] == []
    assert success(await admin.get(f"{PRODUCTS}/{created['id']}"))["variants"] == []


async def test_prices_are_shown_in_the_currency_asked_for(
    admin: httpx.AsyncClient, database: Database
) -> None:
    entity = await tee(database)
    await make_price(database, entity, amount=3000, currency="JPY")
    product = success(await admin.get(f"{PRODUCTS}/{entity.id}", params={"currency": "JPY"}))
    assert (product["price"], product["currency"]) == (3000, "JPY")
    # The L has a USD price of its own only: in yen it falls back to the product's.
    assert [v["price"] for v in product["variants"]] == [3000, 3000, 3000]
    listed = success(await admin.get(PRODUCTS, params={"currency": "BHD"}))
    assert (listed[0]["price"], listed[0]["currency"]) == (None, None)
    assert [v["price"] for v in listed[0]["variants"]] == [None, None, None]


@pytest.mark.parametrize("currency", ["XYZ", "usd", "XAU"])
async def test_an_unknown_currency_to_show_prices_in_is_400(
    admin: httpx.AsyncClient, database: Database, currency: str
) -> None:
    entity = await tee(database)
    for response in (
        await admin.get(f"{PRODUCTS}/{entity.id}", params={"currency": currency}),
        await admin.get(PRODUCTS, params={"currency": currency}),
    ):
        error = failure(response, 400, "VALIDATION_ERROR")
        assert set(error["details"]) == {"currency"}


@pytest.mark.parametrize("count", [1, 20])
async def test_the_product_list_with_variants_costs_the_same_statements_for_1_and_20(
    client: httpx.AsyncClient, database: Database, count: int
) -> None:
    for n in range(count):
        await tee(database, slug=f"tee{n}")
    with count_queries(database) as queries:
        products = success(await client.get(PRODUCTS, params={"limit": 100}))
    assert len(products) == count
    assert all(
        [(v["price"], v["stock"]) for v in p["variants"]]
        == [(Decimal("22.50"), None), (Decimal("20.00"), 0), (Decimal("20.00"), 3)]
        for p in products
    )
    # The page with its count (one statement); texts, variants with their option values
    # (joined); stock levels with their expired holds summed in; prices (no modifier may
    # apply: none sent).
    assert queries.count == 5, "\n".join(queries.statements)


# --- orders name a variant ---------------------------------------------------------------------


async def test_an_order_names_a_variant_by_id(admin: httpx.AsyncClient, database: Database) -> None:
    entity = await tee(database)
    small = (await sizes(database, entity))["S"]
    response = await order(
        admin, {"productId": str(entity.id), "variantId": str(small.id), "quantity": 2}
    )
    placed = success(response, 201)
    [item] = placed["items"]
    assert (item["productId"], item["variantId"], item["sku"]) == (
        str(entity.id), str(small.id), "TEE-S"
    )  # fmt: skip
    assert (item["quantity"], item["unitPrice"], item["total"]) == (
        2,
        Decimal("20.00"),
        Decimal("40.00"),
    )
    assert await held(database) == {"TEE-S": 2}


async def test_an_order_names_a_variant_by_id_alone(
    admin: httpx.AsyncClient, database: Database
) -> None:
    entity = await tee(database)
    small = (await sizes(database, entity))["S"]
    placed = success(await order(admin, {"variantId": str(small.id), "quantity": 1}), 201)
    assert placed["items"][0]["productId"] == str(entity.id)
    assert placed["items"][0]["sku"] == "TEE-S"
    assert await held(database) == {"TEE-S": 1}


async def test_an_order_names_a_variant_by_sku(
    admin: httpx.AsyncClient, database: Database
) -> None:
    entity = await tee(database)
    await stock(database, {"TEE-L": 5})
    placed = success(
        await order(admin, {"sku": "TEE-L", "quantity": 2}, {"sku": "TEE-S", "quantity": 1}), 201
    )
    assert [(i["productId"], i["sku"], i["quantity"], i["unitPrice"]) for i in placed["items"]] == [
        (str(entity.id), "TEE-L", 2, Decimal("22.50")),
        (str(entity.id), "TEE-S", 1, Decimal("20.00")),
    ]
    assert placed["total"] == Decimal("65.00")
    assert await held(database) == {"TEE-L": 2, "TEE-S": 1}
    async with database.read_session() as session:
        lines = (await session.execute(select(OrderLine.sku, OrderLine.variant_id))).all()
    variants = await sizes(database, entity)
    assert sorted(lines) == [("TEE-L", variants["L"].id), ("TEE-S", variants["S"].id)]


async def test_a_sku_with_its_product_id_is_taken(
    admin: httpx.AsyncClient, database: Database
) -> None:
    entity = await tee(database)
    placed = success(
        await order(admin, {"productId": str(entity.id), "sku": "TEE-S", "quantity": 1}), 201
    )
    assert placed["items"][0]["sku"] == "TEE-S"


async def test_a_product_with_several_variants_and_none_named_is_400_naming_the_item(
    admin: httpx.AsyncClient, database: Database
) -> None:
    entity = await tee(database)
    single = await make_entity(database, slug="mug", title="Mug")
    await make_price(database, single, amount=900)
    response = await order(
        admin,
        {"productId": str(single.id), "quantity": 1},
        {"productId": str(entity.id), "quantity": 1},
    )
    error = failure(response, 400, "VALIDATION_ERROR")
    assert error["details"] == {"items.1.variantId": "The entity has several variants; name one."}
    assert await orders_placed(database) == 0
    assert await held(database) == {}


async def test_seed_002s_body_still_orders_a_single_variant_product(
    admin: httpx.AsyncClient, database: Database
) -> None:
    await admin.post("/api/inventory/warehouses", json={"code": "MAIN", "name": "Main"})
    created = success(
        await admin.post(PRODUCTS, json={"name": "Mug", "sku": "MUG-1", "status": "active",
                                         "price": 9.5, "currency": "USD", "stock": 4}),
        201,
    )  # fmt: skip
    placed = success(await order(admin, {"productId": created["id"], "quantity": 3}), 201)
    [item] = placed["items"]
    assert (item["sku"], item["variantId"]) == ("MUG-1", created["variants"][0]["id"])
    assert (item["unitPrice"], placed["total"]) == (Decimal("9.50"), Decimal("28.50"))
    assert success(await admin.get(f"{PRODUCTS}/{created['id']}"))["stock"] == 1


@pytest.mark.parametrize(
    ("item", "status", "details"),
    [
        ({"sku": "NOPE-1", "quantity": 1}, 404, {"items.0.sku": "Unknown."}),
        ({"variantId": str(uuid.UUID(int=7)), "quantity": 1}, 404,
         {"items.0.variantId": "Unknown."}),
        ({"variantId": "not-an-id", "quantity": 1}, 404, {"items.0.variantId": "Unknown."}),
        ({"quantity": 1}, 400,
         {"items.0.productId": "Name the product, its variant's id or its SKU."}),
        ({"productId": "OTHER", "sku": "TEE-S", "quantity": 1}, 400,
         {"items.0.sku": "Not a SKU of this product."}),
        ({"variantId": "VARIANT-M", "sku": "TEE-S", "quantity": 1}, 400,
         {"items.0.sku": "Names another variant than variantId."}),
        ({"productId": "OTHER", "variantId": "VARIANT-M", "quantity": 1}, 404,
         {"items.0.variantId": "Unknown."}),
        ({"sku": 5, "quantity": 1}, 400, None),
    ],
)  # fmt: skip
async def test_an_item_naming_no_variant_or_the_wrong_one_places_nothing(
    admin: httpx.AsyncClient,
    database: Database,
    item: dict[str, Any],
    status: int,
    details: dict[str, str] | None,
) -> None:
    entity = await tee(database)
    other = await make_entity(database, slug="mug", title="Mug", sizes=("One",))
    medium = (await sizes(database, entity))["M"]
    names = {"OTHER": str(other.id), "VARIANT-M": str(medium.id)}
    item = {k: names.get(v, v) if isinstance(v, str) else v for k, v in item.items()}
    error = failure(
        await order(admin, item), status, "NOT_FOUND" if status == 404 else "VALIDATION_ERROR"
    )
    if details is not None:
        assert error["details"] == details
    else:
        assert set(error["details"]) == {"items.0.sku"}
    assert await orders_placed(database) == 0
    assert await held(database) == {}


async def test_an_unknown_product_is_named_as_the_client_sent_it(
    admin: httpx.AsyncClient, database: Database
) -> None:
    await tee(database)
    response = await order(admin, {"productId": str(uuid.UUID(int=9)), "quantity": 1})
    error = failure(response, 404, "NOT_FOUND")
    assert error["details"] == {"items.0.productId": "Not for sale."}


async def test_placeorder_names_variants_by_sku_in_graphql(
    admin: httpx.AsyncClient, database: Database
) -> None:
    entity = await tee(database)
    query = """mutation($input: PlaceOrderInput!) {
      placeOrder(input: $input) { lines { entityId sku quantity } } }"""
    placed = await admin.post(
        "/graphql",
        json={"query": query, "variables": {"input": {"items": [{"sku": "TEE-S", "quantity": 2}]}}},
    )
    assert placed.json()["data"]["placeOrder"]["lines"] == [
        {"entityId": str(entity.id), "sku": "TEE-S", "quantity": 2}
    ]
    refused = await admin.post(
        "/graphql",
        json={"query": query,
              "variables": {"input": {"items": [{"entityId": str(entity.id), "quantity": 1}]}}},
    )  # fmt: skip
    [error] = refused.json()["errors"]
    assert error["extensions"] == {
        "code": "VALIDATION_FAILED",
        "details": {"items.0.variantId": "The entity has several variants; name one."},
    }
    assert await held(database) == {"TEE-S": 2}
