"""A client generated from `/api/doc` by openapi-python-client works: it is generated without
a warning, and calling one route of every tag with it gets real answers, parsed into its
models (the ASGI app is reached through the httpx client the generated client accepts)."""

from __future__ import annotations

import asyncio
import importlib
import itertools
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from starlette.applications import Starlette

from app.db import Database
from tests.conftest import client_for
from tests.support.factories import make_api_key

GENERATOR = Path(sys.executable).parent / "openapi-python-client"
_packages = itertools.count()


class GeneratedClient:
    """The generated package: `api(tag, operation)` is one operation's module."""

    def __init__(self, package: str) -> None:
        self.package = package
        self.models = importlib.import_module(f"{package}.models")
        self.client_module = importlib.import_module(f"{package}.client")

    def api(self, tag: str, operation_id: str) -> ModuleType:
        return importlib.import_module(f"{self.package}.api.{tag}.{operation_id}")

    async def call(self, client: Any, tag: str, operation_id: str, **arguments: Any) -> Any:
        return await self.api(tag, operation_id).asyncio_detailed(client=client, **arguments)


@pytest.fixture(scope="module")
async def generated(
    module_app: Starlette, tmp_path_factory: pytest.TempPathFactory
) -> GeneratedClient:
    async with client_for(module_app) as http:
        document = await http.get("/api/doc")
    assert document.status_code == 200
    root = tmp_path_factory.mktemp("generated")
    (root / "openapi.json").write_bytes(document.content)
    (root / "config.yaml").write_text("post_hooks: []\n")  # no formatter run: seconds matter
    package = f"cartograph_client_{next(_packages)}"
    process = await asyncio.create_subprocess_exec(
        str(GENERATOR),
        "generate",
        "--path",
        str(root / "openapi.json"),
        "--output-path",
        str(root / package),
        "--meta",
        "none",
        "--config",
        str(root / "config.yaml"),
        "--fail-on-warning",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await asyncio.wait_for(process.communicate(), timeout=60)
    assert process.returncode == 0, output.decode()
    sys.path.insert(0, str(root))
    try:
        return GeneratedClient(package)
    finally:
        sys.path.remove(str(root))


async def _client(generated: GeneratedClient, app: Starlette, **headers: str) -> Any:
    http = client_for(app, headers=headers)
    client = generated.client_module.Client(base_url="http://testserver")
    return client.set_async_httpx_client(http)


@pytest.fixture
async def admin_client(
    generated: GeneratedClient, app: Starlette, database: Database
) -> AsyncIterator[Any]:
    _, key = await make_api_key(database, name="generated-client")
    client = await _client(generated, app, **{"x-api-key": key})
    async with client:
        yield client


async def test_the_generated_client_sells_a_cart_through_the_engine_dialect(
    generated: GeneratedClient, admin_client: Any
) -> None:
    models, call = generated.models, generated.call

    created = await call(
        admin_client,
        "catalog",
        "engine_post_api_catalog_entities",
        body=models.CreateCatalogEntityInput(
            type_=models.CreateCatalogEntityInputType.PRODUCT, slug="mug"
        ),
    )
    assert created.status_code == 201
    entity = created.parsed.data.id
    published = await call(
        admin_client, "catalog", "engine_post_api_catalog_entities_id_publish", id=entity
    )
    assert (published.status_code, published.parsed.data.status) == (200, "active")

    price = await call(
        admin_client,
        "pricing",
        "engine_post_api_pricing_prices",
        body=models.CreatePriceInput(entity_id=entity, currency="USD", amount=1250),
    )
    assert (price.status_code, price.parsed.data.amount) == (201, 1250)

    warehouse = await call(
        admin_client,
        "inventory",
        "engine_post_api_inventory_warehouses",
        body=models.CreateWarehouseInput(code="MAIN", name="Main"),
    )
    assert warehouse.status_code == 201
    stocked = await call(
        admin_client,
        "inventory",
        "engine_post_api_inventory_adjust",
        body=models.AdjustInventoryInput(
            entity_id=entity,
            warehouse_id=warehouse.parsed.data.id,
            type_=models.AdjustInventoryInputType.RESTOCK,
            quantity=10,
        ),
    )
    assert (stocked.status_code, stocked.parsed.data.available_quantity) == (200, 10)

    cart = await call(
        admin_client,
        "carts",
        "engine_post_api_carts",
        body=models.CreateCartInput(currency="USD"),
    )
    assert cart.status_code == 201
    # The path gives the cart; the body is only the item.
    added = await call(
        admin_client,
        "carts",
        "engine_post_api_carts_id_items",
        id=cart.parsed.data.id,
        body=models.AddCartItemBody(entity_id=entity, quantity=2),
    )
    assert added.status_code == 201
    assert (added.parsed.data.item_count, added.parsed.data.total) == (2, 2500)
    assert added.parsed.data.items[0].unit_price == 1250

    promotion = await call(
        admin_client,
        "promotions",
        "engine_post_api_promotions",
        body=models.CreatePromotionInput(
            code="SAVE10",
            name="Ten off",
            type_=models.CreatePromotionInputType.PERCENTAGE_OFF_ORDER,
            value=10,
        ),
    )
    assert promotion.status_code == 201
    checked = await call(
        admin_client,
        "promotions",
        "engine_post_api_promotions_validate",
        body=models.ValidatePromotionInput(
            code="SAVE10",
            currency="USD",
            line_items=[models.PromotionLineItemInput(entity_id=entity, quantity=2)],
        ),
    )
    assert (checked.status_code, checked.parsed.data.valid, checked.parsed.data.discount) == (
        200,
        True,
        250,
    )

    placed = await call(
        admin_client,
        "checkout",
        "engine_post_api_checkout",
        body=models.CheckoutInput(
            cart_id=cart.parsed.data.id,
            payment_method_id="pm_card_visa",
            promotion_codes=["SAVE10"],
        ),
    )
    assert placed.status_code == 201, placed.content
    order = placed.parsed.data
    assert (order.total, order.payment_status, order.lines[0].quantity) == (2250, "paid", 2)

    moved = await call(
        admin_client,
        "orders",
        "engine_patch_api_orders_id_status",
        id=order.id,
        body=models.ChangeOrderStatusBody(status=models.ChangeOrderStatusBodyStatus.CONFIRMED),
    )
    assert moved.status_code == 200, moved.content
    assert moved.parsed.data.status == "confirmed"
    fetched = await call(
        admin_client, "orders", "engine_get_api_orders_id_or_number", id_or_number=order.number
    )
    assert (fetched.status_code, fetched.parsed.data.id) == (200, order.id)

    history = await call(
        admin_client,
        "audit",
        "engine_get_api_audit_entity_type_entity_id",
        entity_type="order",
        entity_id=order.id,
    )
    assert history.status_code == 200
    assert "orders.statusChange" in {entry.event for entry in history.parsed.data}
    assert history.parsed.meta.pagination.total == len(history.parsed.data)


async def test_the_generated_client_sells_a_product_through_the_gateway_dialect(
    generated: GeneratedClient, admin_client: Any
) -> None:
    models, call = generated.models, generated.call

    created = await call(
        admin_client,
        "products",
        "gateway_post_api_v1_products",
        body=models.GatewayProductBody(
            name="Widget", sku="W-1", status=models.GatewayProductBodyStatus.ACTIVE
        ),
    )
    assert (created.status_code, created.parsed.success) == (201, True)
    product = created.parsed.data.id
    renamed = await call(
        admin_client,
        "products",
        "gateway_put_api_v1_products_id",
        id=product,
        body=models.GatewayProductUpdateBody(name="Widget Pro"),
    )
    assert (renamed.status_code, renamed.parsed.data.name) == (200, "Widget Pro")
    priced = await call(
        admin_client,
        "pricing",
        "engine_post_api_pricing_prices",
        body=models.CreatePriceInput(entity_id=product, currency="USD", amount=4999),
    )
    assert priced.status_code == 201

    warehouse = await call(
        admin_client,
        "inventory",
        "engine_post_api_inventory_warehouses",
        body=models.CreateWarehouseInput(code="MAIN", name="Main"),
    )
    assert warehouse.status_code == 201
    stocked = await call(
        admin_client,
        "inventory",
        "gateway_put_api_v1_inventory_sku",
        sku="W-1",
        body=models.SetInventoryLevelBody(quantity=5),
    )
    assert stocked.status_code == 200, stocked.content
    assert stocked.parsed.data.available_quantity == 5

    placed = await call(
        admin_client,
        "orders",
        "gateway_post_api_v1_orders",
        body=models.GatewayOrderBody(
            items=[models.GatewayOrderBodyItemsItem(product_id=product, quantity=2)]
        ),
    )
    assert placed.status_code == 201, placed.content
    order = placed.parsed.data
    assert (order.total, order.payment_status, order.items[0].name) == (
        99.98,
        "pending",
        "Widget Pro",
    )
    paid = await call(
        admin_client,
        "payments",
        "gateway_post_api_v1_payments",
        body=models.GatewayPaymentBody(
            order_id=order.id, payment_method_id="pm_card_visa", amount=99.98, currency="USD"
        ),
    )
    assert paid.status_code == 200, paid.content
    assert (paid.parsed.data.order_id, paid.parsed.data.amount) == (order.id, 99.98)

    keys = await call(admin_client, "api_keys", "gateway_get_api_v1_api_keys")
    assert keys.status_code == 200
    assert [key.name for key in keys.parsed.data] == ["generated-client"]
    assert keys.parsed.pagination.total == 1


async def test_the_generated_client_reads_errors_into_their_envelopes(
    generated: GeneratedClient, app: Starlette
) -> None:
    models, call = generated.models, generated.call
    async with await _client(generated, app) as anonymous:
        health = await call(anonymous, "platform", "health")
        assert (health.status_code, health.parsed.status) == (200, "ok")

        missing = await call(
            anonymous, "carts", "engine_get_api_carts_id", id="5b0c6f0e-0000-4000-8000-000000000000"
        )
        assert missing.status_code == 404
        assert isinstance(missing.parsed, models.EngineError)
        assert missing.parsed.error.code == "NOT_FOUND"

        refused = await call(
            anonymous,
            "products",
            "gateway_post_api_v1_products",
            body=models.GatewayProductBody(name="Widget"),
        )
        assert refused.status_code == 401
        assert isinstance(refused.parsed, models.GatewayError)
        assert (refused.parsed.success, refused.parsed.error.code) == (False, "UNAUTHORIZED")
