"""Gateway products are created and updated with the `price`, `currency` and `stock` they
answer (seeds 000 and 002): the decimal price converted exactly to minor units and kept as the
product's base price in that currency, the stock as the units on hand in the default
warehouse, all in the transaction that changes the product. A bad value is a 400 and changes
nothing. Bodies are written out by hand and read with `parse_float=Decimal`, so the digits on
the wire are the digits compared."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from decimal import Decimal
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from starlette.applications import Starlette

from app.db import Database
from app.models.audit import AuditEntry
from app.models.catalog import CatalogAttributes, CatalogEntity, Variant
from app.models.inventory import InventoryLevel, Warehouse
from app.models.pricing import Price
from tests.conftest import client_for
from tests.support.catalog import make_entity
from tests.support.factories import make_api_key

PRODUCTS = "/api/v1/products"
MODELS = (CatalogEntity, CatalogAttributes, Variant, Price, InventoryLevel, AuditEntry)


def raw(body: dict[str, Any]) -> str:
    """JSON with `price` written as given (a string of digits), exactly."""
    price = body.pop("price", None)
    text = json.dumps(body)
    return text if price is None else text[:-1] + f', "price": {price}}}'


async def send(
    client: httpx.AsyncClient, method: str, path: str, body: dict[str, Any]
) -> httpx.Response:
    return await client.request(
        method, path, content=raw(dict(body)), headers={"content-type": "application/json"}
    )


def success(response: httpx.Response, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    body = json.loads(response.text, parse_float=Decimal)
    assert body["success"] is True
    return body["data"]


def failure(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["success"] is False and body["error"]["code"] == code
    return body["error"]


def money(data: dict[str, Any]) -> tuple[Decimal | int | None, str | None, int | None]:
    """(price as read off the wire, exactly, currency, stock)."""
    return (data["price"], data["currency"], data["stock"])


async def rows(database: Database) -> list[int]:
    """Rows of every table a product write touches (audit entries but the API keys' own)."""
    async with database.read_session() as session:
        counts = [
            await session.scalar(select(func.count()).select_from(model)) or 0
            for model in MODELS[:-1]
        ]
        audited = await session.scalar(
            select(func.count()).where(AuditEntry.entity_type != "api_key")
        )
    return [*counts, audited or 0]


async def stored_prices(database: Database) -> list[tuple[str, int]]:
    async with database.read_session() as session:
        found = await session.execute(select(Price.currency, Price.amount).order_by(Price.id))
    return [(currency, amount) for currency, amount in found]


async def on_hand(database: Database) -> dict[str, tuple[str, int]]:
    """Units on hand per SKU (or slug), with the code of the warehouse holding them."""
    async with database.read_session() as session:
        found = await session.execute(
            select(InventoryLevel.sku, Warehouse.code, InventoryLevel.quantity).join(
                Warehouse, Warehouse.id == InventoryLevel.warehouse_id
            )
        )
    return {sku: (code, quantity) for sku, code, quantity in found}


async def warehouses(admin: httpx.AsyncClient, *codes: str) -> None:
    for code in codes:
        made = await admin.post("/api/inventory/warehouses", json={"code": code, "name": code})
        assert made.status_code == 201, made.text


@pytest.fixture
async def admin_in(
    make_app: Callable[..., Starlette], admin_key: str
) -> AsyncIterator[Callable[[str], httpx.AsyncClient]]:
    """An admin client on an app whose default currency (the gateway products') is given."""
    opened: list[httpx.AsyncClient] = []

    def build(currency: str) -> httpx.AsyncClient:
        client = client_for(make_app(default_currency=currency), headers={"x-api-key": admin_key})
        opened.append(client)
        return client

    yield build
    for client in opened:
        await client.aclose()


# --- create and update, read back exactly ------------------------------------------------------


@pytest.mark.parametrize(
    ("currency", "price", "minor"),
    [("USD", "49.99", 4999), ("USD", "49.90", 4990), ("JPY", "500", 500),
     ("BHD", "1.234", 1234), ("BHD", "0.005", 5), ("USD", "0", 0), ("USD", "12", 1200)],
)  # fmt: skip
async def test_create_with_price_and_stock_reads_back_what_was_sent(
    admin_in: Callable[[str], httpx.AsyncClient],
    database: Database,
    currency: str,
    price: str,
    minor: int,
) -> None:
    admin = admin_in(currency)
    await warehouses(admin, "MAIN")
    body = {"name": "Widget", "sku": "W-1", "price": price, "currency": currency, "stock": 150}
    created = success(await send(admin, "POST", PRODUCTS, body), 201)
    sent = (Decimal(price), currency, 150)
    assert money(created) == sent
    assert money(success(await admin.get(f"{PRODUCTS}/{created['id']}"))) == sent
    assert money(success(await admin.get(PRODUCTS))[0]) == sent
    assert [(v["sku"], v["price"], v["stock"]) for v in created["variants"]] == [
        ("W-1", Decimal(price), 150)
    ]
    assert await stored_prices(database) == [(currency, minor)]
    assert await on_hand(database) == {"W-1": ("MAIN", 150)}


async def test_a_price_in_another_currency_than_the_stores_is_answered_in_it(
    admin: httpx.AsyncClient, database: Database
) -> None:
    body = {"name": "Widget", "price": "1.234", "currency": "BHD"}
    created = success(await send(admin, "POST", PRODUCTS, body), 201)
    assert money(created) == (Decimal("1.234"), "BHD", None)
    path = f"{PRODUCTS}/{created['id']}"
    shown = success(await admin.get(path, params={"currency": "BHD"}))
    assert money(shown) == (Decimal("1.234"), "BHD", None)
    # Without `currency`, GET shows the store's (USD), which this product has no price in.
    assert money(success(await admin.get(path))) == (None, None, None)
    assert await stored_prices(database) == [("BHD", 1234)]


async def test_update_replaces_the_base_price_and_sets_the_stock(
    admin: httpx.AsyncClient, database: Database
) -> None:
    await warehouses(admin, "MAIN")
    body = {"name": "Widget", "sku": "W-1", "price": "49.99", "currency": "USD", "stock": 5}
    created = success(await send(admin, "POST", PRODUCTS, body), 201)
    path = f"{PRODUCTS}/{created['id']}"
    changed = {"price": "39.90", "currency": "USD", "stock": 8}
    updated = success(await send(admin, "PUT", path, changed))
    assert money(updated) == (Decimal("39.90"), "USD", 8)
    assert str(updated["price"]) == "39.90"  # in the currency's places, as sent
    assert money(success(await admin.get(path))) == (Decimal("39.90"), "USD", 8)
    assert await stored_prices(database) == [("USD", 3990)]  # replaced, not added
    assert await on_hand(database) == {"W-1": ("MAIN", 8)}
    async with database.read_session() as session:
        events = (await session.scalars(select(AuditEntry.event).order_by(AuditEntry.id))).all()
    assert events[-2:] == ["pricing.update", "inventory.afterAdjust"]


async def test_update_in_another_currency_adds_that_currencys_base_price(
    admin: httpx.AsyncClient, database: Database
) -> None:
    created = success(
        await send(admin, "POST", PRODUCTS, {"name": "W", "price": "49.99", "currency": "USD"}),
        201,
    )
    path = f"{PRODUCTS}/{created['id']}"
    updated = success(await send(admin, "PUT", path, {"price": "7500", "currency": "JPY"}))
    assert money(updated) == (7500, "JPY", None)
    assert money(success(await admin.get(path))) == (Decimal("49.99"), "USD", None)
    assert await stored_prices(database) == [("USD", 4999), ("JPY", 7500)]


async def test_a_product_read_and_sent_back_is_unchanged(
    admin: httpx.AsyncClient, database: Database
) -> None:
    await warehouses(admin, "MAIN")
    body = {"name": "Widget", "sku": "W-1", "price": "49.99", "currency": "USD", "stock": 5}
    created = success(await send(admin, "POST", PRODUCTS, body), 201)
    path = f"{PRODUCTS}/{created['id']}"
    before = (await stored_prices(database), await on_hand(database), await money_audits(database))
    read = (await admin.get(path)).json()["data"]
    fields = ("name", "description", "sku", "status", "price", "currency", "stock")
    again = success(await admin.put(path, json={k: read[k] for k in fields}))
    assert again == success(await admin.get(path))
    assert money(again) == (Decimal("49.99"), "USD", 5)
    # No price added or changed, no stock moved.
    after = (await stored_prices(database), await on_hand(database), await money_audits(database))
    assert after == before


async def money_audits(database: Database) -> int:
    async with database.read_session() as session:
        return (
            await session.scalar(
                select(func.count()).where(
                    AuditEntry.event.in_(["pricing.create", "pricing.update",
                                          "inventory.afterAdjust"])
                )
            )
            or 0
        )  # fmt: skip


async def test_null_price_currency_and_stock_are_not_given(
    admin: httpx.AsyncClient, database: Database
) -> None:
    body = {"name": "Widget", "price": None, "currency": None, "stock": None}
    created = success(await admin.post(PRODUCTS, json=body), 201)
    assert money(created) == (None, None, None)
    updated = success(await admin.put(f"{PRODUCTS}/{created['id']}", json=body))
    assert money(updated) == (None, None, None)
    assert (await stored_prices(database), await on_hand(database)) == ([], {})


async def test_stock_of_a_product_without_variants_is_kept_under_its_slug(
    admin: httpx.AsyncClient, database: Database
) -> None:
    await warehouses(admin, "MAIN")
    created = success(await admin.post(PRODUCTS, json={"name": "Gift wrap", "stock": 40}), 201)
    assert (created["stock"], created["sku"], created["variants"]) == (40, None, [])
    assert await on_hand(database) == {"gift-wrap": ("MAIN", 40)}


async def test_stock_goes_to_the_default_warehouse(
    admin: httpx.AsyncClient, database: Database
) -> None:
    await warehouses(admin, "WEST", "EAST")  # the default is the first active by code
    created = success(await admin.post(PRODUCTS, json={"name": "W", "sku": "W-1", "stock": 3}), 201)
    assert await on_hand(database) == {"W-1": ("EAST", 3)}
    assert created["stock"] == 3


# --- bad values change nothing ------------------------------------------------------------------


BAD = [
    ({"price": "49.999", "currency": "USD"},
     {"price": "At most 2 decimal places: the minor unit of USD is 0.01."}),
    ({"price": "1.5", "currency": "JPY"}, {"price": "A whole number: JPY has no minor unit."}),
    ({"price": "1.2345", "currency": "BHD"},
     {"price": "At most 3 decimal places: the minor unit of BHD is 0.001."}),
    ({"price": "-1", "currency": "USD"}, {"price": "Must be 0 or more."}),
    ({"price": "-0.01", "currency": "USD"}, {"price": "Must be 0 or more."}),
    ({"price": "21474836.48", "currency": "USD"}, {"price": "At most 21474836.47 USD."}),
    ({"price": "1e20", "currency": "USD"}, {"price": "At most 21474836.47 USD."}),
    ({"price": "49.99", "currency": "XYZ"},
     {"currency": "An ISO 4217 code, e.g. USD: XYZ is not a known currency."}),
    ({"price": "49.99", "currency": "usd"},
     {"currency": "An ISO 4217 code: three upper-case letters, e.g. USD."}),
    ({"price": "49.99", "currency": 840},
     {"currency": "An ISO 4217 code: three upper-case letters, e.g. USD."}),
    ({"price": "49.99"}, {"currency": "Give the price's currency (ISO 4217, e.g. USD)."}),
    ({"currency": "USD"}, {"price": "Give the price in this currency."}),
    ({"price": '"49.99"', "currency": "USD"},
     {"price": "A decimal number of major units, e.g. 49.99."}),
    ({"stock": -1}, {"stock": "Must be between 0 and 1000000000."}),
]  # fmt: skip
BAD_IDS = [
    "too-many-decimals", "fractional-yen", "four-decimal-bhd", "negative", "negative-cent",
    "too-large", "far-too-large", "unknown-currency", "lower-case-currency",
    "numeric-currency", "no-currency", "no-price", "string-price", "negative-stock",
]  # fmt: skip


@pytest.mark.parametrize(("fields", "details"), BAD, ids=BAD_IDS)
async def test_create_with_a_bad_price_or_stock_is_400_and_creates_nothing(
    admin: httpx.AsyncClient, database: Database, fields: dict[str, Any], details: dict[str, str]
) -> None:
    await warehouses(admin, "MAIN")
    before = await rows(database)
    response = await send(admin, "POST", PRODUCTS, {"name": "Widget", "sku": "W-1", **fields})
    error = failure(response, 400, "VALIDATION_ERROR")
    assert error["details"] == details
    assert await rows(database) == before


@pytest.mark.parametrize(("fields", "details"), BAD, ids=BAD_IDS)
async def test_update_with_a_bad_price_or_stock_is_400_and_changes_nothing(
    admin: httpx.AsyncClient, database: Database, fields: dict[str, Any], details: dict[str, str]
) -> None:
    await warehouses(admin, "MAIN")
    body = {"name": "Widget", "sku": "W-1", "price": "49.99", "currency": "USD", "stock": 5}
    created = success(await send(admin, "POST", PRODUCTS, body), 201)
    before = await rows(database)
    path = f"{PRODUCTS}/{created['id']}"
    response = await send(admin, "PUT", path, {"name": "Renamed", **fields})
    error = failure(response, 400, "VALIDATION_ERROR")
    assert error["details"] == details
    assert success(await admin.get(path)) == created
    assert await rows(database) == before
    assert await stored_prices(database) == [("USD", 4999)]


async def test_a_fractional_stock_is_400(admin: httpx.AsyncClient, database: Database) -> None:
    response = await admin.post(PRODUCTS, json={"name": "Widget", "stock": 1.5})
    assert set(failure(response, 400, "VALIDATION_ERROR")["details"]) == {"stock"}
    assert await rows(database) == [0] * len(MODELS)


async def test_stock_of_a_product_with_several_variants_is_400_and_changes_nothing(
    admin: httpx.AsyncClient, database: Database
) -> None:
    await warehouses(admin, "MAIN")
    entity = await make_entity(database, slug="tee", title="Tee", sizes=("S", "M"))
    before = await rows(database)
    path = f"{PRODUCTS}/{entity.id}"
    response = await send(
        admin, "PUT", path, {"name": "Renamed", "price": "20", "currency": "USD", "stock": 5}
    )
    error = failure(response, 400, "VALIDATION_ERROR")
    assert error["details"] == {
        "stock": "The product has 2 variants: set each one's stock by its SKU."
    }
    assert await rows(database) == before
    assert success(await admin.get(path))["name"] == "Tee"


async def test_stock_with_no_warehouse_is_409_and_creates_nothing(
    admin: httpx.AsyncClient, database: Database
) -> None:
    response = await admin.post(PRODUCTS, json={"name": "Widget", "sku": "W-1", "stock": 5})
    error = failure(response, 409, "CONFLICT")
    assert "warehouse" in error["message"]
    assert await rows(database) == [0] * len(MODELS)


async def test_stock_below_what_is_reserved_is_409_and_changes_nothing(
    admin: httpx.AsyncClient, database: Database
) -> None:
    await warehouses(admin, "MAIN")
    body = {"name": "Widget", "sku": "W-1", "status": "active", "price": "10", "currency": "USD",
            "stock": 5}  # fmt: skip
    created = success(await send(admin, "POST", PRODUCTS, body), 201)
    ordered = await admin.post(
        "/api/v1/orders", json={"items": [{"productId": created["id"], "quantity": 3}]}
    )
    assert ordered.status_code == 201, ordered.text
    path = f"{PRODUCTS}/{created['id']}"
    response = await admin.put(path, json={"name": "Renamed", "stock": 2})
    error = failure(response, 409, "CONFLICT")
    assert error["details"] == {"quantity": "At least 3 (reserved)."}
    assert (success(await admin.get(path))["name"], await on_hand(database)) == (
        "Widget",
        {"W-1": ("MAIN", 5)},
    )


# --- permissions ---------------------------------------------------------------------------------


async def keyed(app: Starlette, database: Database, *permissions: str) -> httpx.AsyncClient:
    _, plaintext = await make_api_key(database, permissions=list(permissions), name="scoped")
    return client_for(app, headers={"x-api-key": plaintext})


@pytest.mark.parametrize(
    ("permissions", "fields", "missing"),
    [
        (("catalog:create",), {"price": "9.99", "currency": "USD"}, "pricing:create"),
        (("catalog:create", "pricing:update"), {"price": "9.99", "currency": "USD"},
         "pricing:create"),
        (("catalog:create", "pricing:create"), {"stock": 3}, "inventory:update"),
    ],
)  # fmt: skip
async def test_create_with_price_or_stock_needs_their_permissions(
    app: Starlette,
    admin: httpx.AsyncClient,
    database: Database,
    permissions: tuple[str, ...],
    fields: dict[str, Any],
    missing: str,
) -> None:
    await warehouses(admin, "MAIN")
    before = await rows(database)
    async with await keyed(app, database, *permissions) as client:
        response = await send(client, "POST", PRODUCTS, {"name": "Widget", **fields})
    assert missing in failure(response, 403, "FORBIDDEN")["message"]
    assert await rows(database) == before


async def test_creating_a_price_needs_pricing_create_and_replacing_one_pricing_update(
    app: Starlette, admin: httpx.AsyncClient, database: Database
) -> None:
    unpriced = success(await admin.post(PRODUCTS, json={"name": "Unpriced"}), 201)
    priced = success(
        await send(admin, "POST", PRODUCTS, {"name": "Priced", "price": "5", "currency": "USD"}),
        201,
    )
    body = {"price": "7.50", "currency": "USD"}
    async with await keyed(app, database, "catalog:update", "pricing:create") as creator:
        made = success(await send(creator, "PUT", f"{PRODUCTS}/{unpriced['id']}", body))
        refused = await send(creator, "PUT", f"{PRODUCTS}/{priced['id']}", body)
    assert money(made)[:2] == (Decimal("7.50"), "USD")
    assert "pricing:update" in failure(refused, 403, "FORBIDDEN")["message"]
    async with await keyed(app, database, "catalog:update", "pricing:update") as updater:
        replaced = success(await send(updater, "PUT", f"{PRODUCTS}/{priced['id']}", body))
    assert money(replaced)[:2] == (Decimal("7.50"), "USD")
    assert await stored_prices(database) == [("USD", 750), ("USD", 750)]


# --- GraphQL ------------------------------------------------------------------------------------

CREATE = """mutation($input: CreateProductInput!) {
  createProduct(input: $input) { id stock price { amount currency } } }"""
UPDATE = """mutation($input: UpdateProductInput!) {
  updateProduct(input: $input) { id stock price(currency: "JPY") { amount currency } } }"""


async def gql(client: httpx.AsyncClient, query: str, **variables: Any) -> dict[str, Any]:
    response = await client.post("/graphql", json={"query": query, "variables": variables})
    assert response.status_code == 200, response.text
    return response.json()


async def test_graphql_takes_price_in_minor_units_and_the_stores_currency_by_default(
    admin: httpx.AsyncClient, database: Database
) -> None:
    await warehouses(admin, "MAIN")
    created = await gql(
        admin, CREATE, input={"name": "Widget", "sku": "W-1", "price": 4999, "stock": 7}
    )
    product = created["data"]["createProduct"]
    assert (product["price"], product["stock"]) == ({"amount": 4999, "currency": "USD"}, 7)
    updated = await gql(
        admin, UPDATE, input={"id": product["id"], "price": 800, "currency": "JPY", "stock": 2}
    )
    assert updated["data"]["updateProduct"]["price"] == {"amount": 800, "currency": "JPY"}
    assert updated["data"]["updateProduct"]["stock"] == 2
    assert await stored_prices(database) == [("USD", 4999), ("JPY", 800)]


@pytest.mark.parametrize(
    ("fields", "details"),
    [
        ({"price": -1}, {"price": "Minor units (cents): a whole number, 0 or more."}),
        ({"price": 100, "currency": "XYZ"},
         {"currency": "An ISO 4217 code, e.g. USD: XYZ is not a known currency."}),
        ({"currency": "USD"}, {"price": "Give the price in this currency."}),
        ({"stock": -5}, {"stock": "Must be between 0 and 1000000000."}),
    ],
)  # fmt: skip
async def test_graphql_refuses_a_bad_price_or_stock_and_creates_nothing(
    admin: httpx.AsyncClient, database: Database, fields: dict[str, Any], details: dict[str, str]
) -> None:
    before = await rows(database)
    body = await gql(admin, CREATE, input={"name": "Widget", **fields})
    [error] = body["errors"]
    assert error["extensions"] == {"code": "VALIDATION_FAILED", "details": details}
    assert await rows(database) == before


async def test_a_new_sku_takes_its_stock_along(
    admin: httpx.AsyncClient, database: Database
) -> None:
    await warehouses(admin, "MAIN")
    created = success(await admin.post(PRODUCTS, json={"name": "W", "sku": "W-1", "stock": 5}), 201)
    path = f"{PRODUCTS}/{created['id']}"
    updated = success(await admin.put(path, json={"sku": "W-2", "stock": 8}))
    assert (updated["sku"], updated["stock"]) == ("W-2", 8)
    assert [(v["sku"], v["stock"]) for v in updated["variants"]] == [("W-2", 8)]
    assert await on_hand(database) == {"W-2": ("MAIN", 8)}
    moved = success(await admin.get("/api/v1/inventory/W-2"))
    assert moved["quantity"] == 8
    assert (await admin.get("/api/v1/inventory/W-1")).status_code == 404


async def test_a_sku_that_names_stock_already_is_409_and_changes_nothing(
    admin: httpx.AsyncClient, database: Database
) -> None:
    await warehouses(admin, "MAIN")
    wrap = success(await admin.post(PRODUCTS, json={"name": "Gift wrap", "stock": 2}), 201)
    created = success(await admin.post(PRODUCTS, json={"name": "W", "sku": "W-1", "stock": 5}), 201)
    assert await on_hand(database) == {"gift-wrap": ("MAIN", 2), "W-1": ("MAIN", 5)}
    response = await admin.put(f"{PRODUCTS}/{created['id']}", json={"sku": "gift-wrap"})
    assert failure(response, 409, "CONFLICT")["details"] == {"sku": "Already in use."}
    assert await on_hand(database) == {"gift-wrap": ("MAIN", 2), "W-1": ("MAIN", 5)}
    assert success(await admin.get(f"{PRODUCTS}/{wrap['id']}"))["stock"] == 2
