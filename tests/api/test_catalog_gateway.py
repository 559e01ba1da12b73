"""Products through the gateway dialect (seeds 000 and 002, `/api/v1/products`).

A product is a catalog entity in the gateway's shape: `id, name, description, price, currency,
stock, sku, status, createdAt`. Envelopes: `{"success": true, "data", "meta": {timestamp,
requestId}}`; lists add `pagination {page, limit, total, pages}` and the headers X-Total-Count,
X-Limit and X-Offset; errors are `{"success": false, "error": {code, message, details}, "meta"}`
with VALIDATION_ERROR 400.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from starlette.applications import Starlette

from app.db import Database
from app.models.audit import AuditEntry
from app.models.catalog import CatalogAttributes, CatalogEntity, Variant
from tests.conftest import client_for
from tests.support.factories import make_api_key

PRODUCTS = "/api/v1/products"
ENGINE_ENTITIES = "/api/catalog/entities"
UNKNOWN_ID = "0190b6a2-0000-7000-8000-000000000000"
PRODUCT_FIELDS = {
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
}


# --- helpers ------------------------------------------------------------------------------


@pytest.fixture
async def reader(app: Starlette, database: Database) -> AsyncIterator[httpx.AsyncClient]:
    """A client whose key holds `catalog:read` and nothing else."""
    _, plaintext = await make_api_key(database, permissions=["catalog:read"], name="reader")
    async with client_for(app, headers={"x-api-key": plaintext}) as http:
        yield http


async def create_product(
    admin: httpx.AsyncClient,
    *,
    name: str,
    description: str | None = None,
    sku: str | None = None,
    status: str | None = None,
) -> dict[str, Any]:
    body: dict[str, Any] = {"name": name}
    for key, value in (("description", description), ("sku", sku), ("status", status)):
        if value is not None:
            body[key] = value
    response = await admin.post(PRODUCTS, json=body)
    assert response.status_code == 201, response.text
    return response.json()["data"]


def success_data(response: httpx.Response, *, status: int = 200) -> Any:
    """The gateway's success envelope, checked; returns `data`."""
    assert response.status_code == status, response.text
    body = response.json()
    assert body["success"] is True
    assert set(body["meta"]) == {"timestamp", "requestId"}
    assert body["meta"]["requestId"] == response.headers["x-request-id"]
    assert body["meta"]["timestamp"].endswith("Z")
    return body["data"]


def error_of(response: httpx.Response, *, status: int, code: str) -> dict[str, Any]:
    """The gateway's error envelope, checked; returns the `error` object."""
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"success", "error", "meta"}
    assert body["success"] is False
    assert set(body["meta"]) == {"timestamp", "requestId"}
    error = body["error"]
    assert set(error) == {"code", "message", "details"}
    assert error["code"] == code
    assert isinstance(error["message"], str) and error["message"]
    assert isinstance(error["details"], dict)
    return error


def ids(response: httpx.Response) -> list[str]:
    return [item["id"] for item in response.json()["data"]]


async def count_rows(database: Database, model: type) -> int:
    async with database.read_session() as session:
        return (await session.execute(select(func.count()).select_from(model))).scalar_one()


async def row_counts(database: Database, *models: type) -> list[int]:
    return [await count_rows(database, model) for model in models]


async def stored_slug(database: Database, product_id: str) -> str | None:
    async with database.read_session() as session:
        row = await session.get(CatalogEntity, uuid.UUID(product_id))
    return row.slug if row else None


async def stored_status(database: Database, product_id: str) -> str | None:
    async with database.read_session() as session:
        row = await session.get(CatalogEntity, uuid.UUID(product_id))
    return row.status if row else None


# --- create -------------------------------------------------------------------------------


async def test_create_answers_201_with_exactly_the_product_fields(
    admin: httpx.AsyncClient,
) -> None:
    response = await admin.post(
        PRODUCTS, json={"name": "Premium Widget", "description": "A high-quality widget."}
    )
    data = success_data(response, status=201)
    assert set(response.json()) == {"success", "data", "meta"}
    assert set(data) == PRODUCT_FIELDS
    assert uuid.UUID(data["id"])
    assert data["name"] == "Premium Widget"
    assert data["description"] == "A high-quality widget."
    assert (data["price"], data["currency"], data["stock"]) == (None, None, None)
    assert data["sku"] is None
    assert data["status"] == "draft"
    assert data["createdAt"].endswith("Z")


async def test_create_derives_the_slug_from_the_name(
    admin: httpx.AsyncClient, database: Database
) -> None:
    product = await create_product(admin, name="Premium Widget (XL)!")
    assert await stored_slug(database, product["id"]) == "premium-widget-xl"


async def test_two_products_with_the_same_name_both_succeed_with_unique_slugs(
    admin: httpx.AsyncClient, database: Database
) -> None:
    first = await create_product(admin, name="Premium Widget")
    second = await create_product(admin, name="Premium Widget")
    third = await create_product(admin, name="premium widget")
    assert len({first["id"], second["id"], third["id"]}) == 3
    assert [await stored_slug(database, p["id"]) for p in (first, second, third)] == [
        "premium-widget",
        "premium-widget-2",
        "premium-widget-3",
    ]


async def test_a_long_name_still_yields_a_valid_slug(
    admin: httpx.AsyncClient, database: Database
) -> None:
    name = "w" * 179 + " widget"
    response = await admin.post(PRODUCTS, json={"name": name})
    assert success_data(response, status=201)["name"] == name
    slug = await stored_slug(database, response.json()["data"]["id"])
    assert slug is not None and len(slug) <= 200
    assert not slug.endswith("-")


async def test_create_with_a_sku_makes_the_variant_and_shows_it(
    admin: httpx.AsyncClient, database: Database
) -> None:
    product = await create_product(admin, name="Premium Widget", sku="PW-001")
    assert product["sku"] == "PW-001"
    async with database.read_session() as session:
        variants = (await session.scalars(select(Variant))).all()
    assert [(str(v.entity_id), v.sku) for v in variants] == [(product["id"], "PW-001")]


async def test_create_with_a_sku_in_use_is_409_and_creates_nothing(
    admin: httpx.AsyncClient, database: Database
) -> None:
    await create_product(admin, name="Premium Widget", sku="PW-001")
    models = (CatalogEntity, CatalogAttributes, Variant, AuditEntry)
    before = await row_counts(database, *models)
    response = await admin.post(PRODUCTS, json={"name": "Other Widget", "sku": "PW-001"})
    error = error_of(response, status=409, code="CONFLICT")
    assert "PW-001" in error["message"]
    assert error["details"] == {"sku": "Already in use."}
    assert await row_counts(database, *models) == before


async def test_create_takes_a_status(admin: httpx.AsyncClient) -> None:
    product = await create_product(admin, name="Premium Widget", status="active")
    assert product["status"] == "active"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"description": "No name"}, "name"),
        ({"name": ""}, "name"),
        ({"name": "   "}, "name"),
        ({"name": 5}, "name"),
        ({"name": "Widget", "description": ["a"]}, "description"),
        ({"name": "Widget", "status": "sold"}, "status"),
        ({"name": "Widget", "sku": "has space"}, "sku"),
        ({"name": "Widget", "colour": "blue"}, "colour"),
    ],
)
async def test_create_with_a_bad_body_is_400_naming_the_field_and_creates_nothing(
    admin: httpx.AsyncClient, database: Database, body: dict[str, Any], field: str
) -> None:
    audits = await count_rows(database, AuditEntry)
    response = await admin.post(PRODUCTS, json=body)
    error = error_of(response, status=400, code="VALIDATION_ERROR")
    assert field in error["details"], error
    assert await count_rows(database, CatalogEntity) == 0
    assert await count_rows(database, AuditEntry) == audits


@pytest.mark.parametrize("raw", [b"{not json", b"[1]", b'"Widget"', b""])
async def test_create_with_malformed_json_is_400_naming_the_body(
    admin: httpx.AsyncClient, raw: bytes
) -> None:
    response = await admin.post(PRODUCTS, content=raw, headers={"content-type": "application/json"})
    error = error_of(response, status=400, code="VALIDATION_ERROR")
    assert "body" in error["details"]


async def test_create_is_audited_as_a_catalog_entity(
    admin: httpx.AsyncClient, database: Database
) -> None:
    product = await create_product(admin, name="Premium Widget", sku="PW-001")
    async with database.read_session() as session:
        entries = (
            await session.scalars(
                select(AuditEntry)
                .where(AuditEntry.entity_id == product["id"])
                .order_by(AuditEntry.id)
            )
        ).all()
    assert [(e.event, e.entity_type) for e in entries] == [
        ("catalog.create", "catalog_entity"),
        ("catalog.update", "catalog_entity"),
        ("catalog.update", "catalog_entity"),
    ]
    assert entries[0].after is not None and entries[0].after["slug"] == "premium-widget"
    texts = entries[1].after
    assert texts is not None and texts["attributes.en"]["title"] == "Premium Widget"
    assert entries[2].after is not None and entries[2].after["variants"]["sku"] == "PW-001"


# --- read ---------------------------------------------------------------------------------


async def test_get_one_answers_the_product(admin: httpx.AsyncClient) -> None:
    created = await create_product(admin, name="Premium Widget", description="Fine.", sku="PW-001")
    data = success_data(await admin.get(f"{PRODUCTS}/{created['id']}"))
    assert data == created


@pytest.mark.parametrize("product_id", [UNKNOWN_ID, "no-such-product"])
async def test_get_an_unknown_product_is_404(admin: httpx.AsyncClient, product_id: str) -> None:
    await create_product(admin, name="Premium Widget")
    error = error_of(await admin.get(f"{PRODUCTS}/{product_id}"), status=404, code="NOT_FOUND")
    assert error["details"] == {}


async def test_list_in_the_gateway_envelope(admin: httpx.AsyncClient) -> None:
    older = await create_product(admin, name="Older Widget")
    newer = await create_product(admin, name="Newer Widget", sku="NW-1")
    response = await admin.get(PRODUCTS)
    data = success_data(response)
    assert set(response.json()) == {"success", "data", "pagination", "meta"}
    assert response.json()["pagination"] == {"page": 1, "limit": 20, "total": 2, "pages": 1}
    assert (
        response.headers["x-total-count"],
        response.headers["x-limit"],
        response.headers["x-offset"],
    ) == ("2", "20", "0")
    assert data == [newer, older]


async def test_list_pages_in_every_documented_style(admin: httpx.AsyncClient) -> None:
    for n in range(5):
        await create_product(admin, name=f"Widget {n}")
    every = ids(await admin.get(PRODUCTS))
    assert len(every) == 5

    by_page = await admin.get(PRODUCTS, params={"page": 2, "limit": 2})
    assert by_page.json()["pagination"] == {"page": 2, "limit": 2, "total": 5, "pages": 3}
    assert ids(by_page) == every[2:4]
    assert (by_page.headers["x-total-count"], by_page.headers["x-limit"]) == ("5", "2")
    assert by_page.headers["x-offset"] == "2"

    per_page = await admin.get(PRODUCTS, params={"page": 3, "per_page": 2})
    assert per_page.json()["pagination"] == {"page": 3, "limit": 2, "total": 5, "pages": 3}
    assert ids(per_page) == every[4:]

    by_offset = await admin.get(PRODUCTS, params={"limit": 3, "offset": 1})
    assert ids(by_offset) == every[1:4]
    assert (by_offset.headers["x-limit"], by_offset.headers["x-offset"]) == ("3", "1")

    capped = await admin.get(PRODUCTS, params={"limit": 1000})
    assert capped.json()["pagination"]["limit"] == 100
    assert capped.headers["x-limit"] == "100"


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"page": "abc"}, "page"),
        ({"page": 0}, "page"),
        ({"limit": 0}, "limit"),
        ({"per_page": "x"}, "per_page"),
        ({"offset": -1}, "offset"),
    ],
)
async def test_bad_list_parameters_are_400(
    admin: httpx.AsyncClient, params: dict[str, Any], field: str
) -> None:
    error = error_of(await admin.get(PRODUCTS, params=params), status=400, code="VALIDATION_ERROR")
    assert field in error["details"], error


async def test_anonymous_sees_only_active_products(
    admin: httpx.AsyncClient, client: httpx.AsyncClient
) -> None:
    draft = await create_product(admin, name="Draft Widget")
    active = await create_product(admin, name="Active Widget", status="active")
    archived = await create_product(admin, name="Archived Widget", status="archived")

    listed = await client.get(PRODUCTS)
    assert success_data(listed) == [active]
    assert listed.json()["pagination"]["total"] == 1
    assert listed.headers["x-total-count"] == "1"
    assert success_data(await client.get(f"{PRODUCTS}/{active['id']}")) == active
    for hidden in (draft, archived):
        error_of(await client.get(f"{PRODUCTS}/{hidden['id']}"), status=404, code="NOT_FOUND")


async def test_a_key_with_catalog_read_sees_every_status(
    admin: httpx.AsyncClient, reader: httpx.AsyncClient
) -> None:
    draft = await create_product(admin, name="Draft Widget")
    assert ids(await reader.get(PRODUCTS)) == [draft["id"]]
    assert success_data(await reader.get(f"{PRODUCTS}/{draft['id']}"))["status"] == "draft"


# --- update -------------------------------------------------------------------------------


async def test_put_updates_name_description_sku_and_status(
    admin: httpx.AsyncClient, database: Database
) -> None:
    created = await create_product(admin, name="Premium Widget", description="Old.")
    response = await admin.put(
        f"{PRODUCTS}/{created['id']}",
        json={
            "name": "Deluxe Widget",
            "description": "New.",
            "sku": "DW-001",
            "status": "active",
        },
    )
    data = success_data(response)
    assert set(data) == PRODUCT_FIELDS
    assert (data["id"], data["createdAt"]) == (created["id"], created["createdAt"])
    assert (data["name"], data["description"], data["sku"], data["status"]) == (
        "Deluxe Widget",
        "New.",
        "DW-001",
        "active",
    )
    assert success_data(await admin.get(f"{PRODUCTS}/{created['id']}")) == data
    # The slug stays: links to the product keep working after a rename.
    assert await stored_slug(database, created["id"]) == "premium-widget"


async def test_put_leaves_fields_that_are_not_sent(admin: httpx.AsyncClient) -> None:
    created = await create_product(
        admin, name="Premium Widget", description="Keep me.", sku="PW-001"
    )
    data = success_data(await admin.put(f"{PRODUCTS}/{created['id']}", json={"name": "Renamed"}))
    assert (data["name"], data["description"], data["sku"], data["status"]) == (
        "Renamed",
        "Keep me.",
        "PW-001",
        "draft",
    )


async def test_put_sku_renames_the_existing_variant(
    admin: httpx.AsyncClient, database: Database
) -> None:
    created = await create_product(admin, name="Premium Widget", sku="PW-001")
    data = success_data(await admin.put(f"{PRODUCTS}/{created['id']}", json={"sku": "PW-002"}))
    assert data["sku"] == "PW-002"
    async with database.read_session() as session:
        skus = (await session.scalars(select(Variant.sku))).all()
    assert skus == ["PW-002"]


async def test_put_a_sku_in_use_is_409_and_changes_nothing(admin: httpx.AsyncClient) -> None:
    await create_product(admin, name="Taken Widget", sku="TAKEN-1")
    mine = await create_product(admin, name="My Widget", sku="MINE-1")
    response = await admin.put(
        f"{PRODUCTS}/{mine['id']}", json={"name": "Renamed", "sku": "TAKEN-1"}
    )
    error = error_of(response, status=409, code="CONFLICT")
    assert error["details"] == {"sku": "Already in use."}
    assert success_data(await admin.get(f"{PRODUCTS}/{mine['id']}")) == mine


@pytest.mark.parametrize(
    ("path", "status", "allowed"),
    [
        (["draft"], "discontinued", "active, archived"),
        (["active"], "draft", "archived, discontinued"),
        (["active", "discontinued"], "active", "none"),
    ],
)
async def test_put_an_illegal_status_change_is_409_and_changes_nothing(
    admin: httpx.AsyncClient, database: Database, path: list[str], status: str, allowed: str
) -> None:
    created = await create_product(admin, name="Premium Widget", status=path[0])
    for step in path[1:]:
        success_data(await admin.put(f"{PRODUCTS}/{created['id']}", json={"status": step}))
    audits = await count_rows(database, AuditEntry)
    response = await admin.put(f"{PRODUCTS}/{created['id']}", json={"status": status})
    error = error_of(response, status=409, code="CONFLICT")
    assert f"allowed next states: {allowed}" in error["message"]
    assert await stored_status(database, created["id"]) == path[-1]
    assert await count_rows(database, AuditEntry) == audits


async def test_put_an_illegal_status_change_keeps_the_other_fields_sent_with_it(
    admin: httpx.AsyncClient,
) -> None:
    created = await create_product(admin, name="Premium Widget", description="Old.")
    response = await admin.put(
        f"{PRODUCTS}/{created['id']}",
        json={"name": "Renamed", "description": "New.", "status": "discontinued"},
    )
    error_of(response, status=409, code="CONFLICT")
    assert success_data(await admin.get(f"{PRODUCTS}/{created['id']}")) == created


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": ""}, "name"),
        ({"name": 7}, "name"),
        ({"status": "sold"}, "status"),
        ({"sku": "has space"}, "sku"),
    ],
)
async def test_put_with_a_bad_body_is_400_and_changes_nothing(
    admin: httpx.AsyncClient, body: dict[str, Any], field: str
) -> None:
    created = await create_product(admin, name="Premium Widget", sku="PW-001")
    response = await admin.put(f"{PRODUCTS}/{created['id']}", json=body)
    error = error_of(response, status=400, code="VALIDATION_ERROR")
    assert field in error["details"], error
    assert success_data(await admin.get(f"{PRODUCTS}/{created['id']}")) == created


@pytest.mark.parametrize("product_id", [UNKNOWN_ID, "premium-widget"])
async def test_put_an_unknown_product_is_404(admin: httpx.AsyncClient, product_id: str) -> None:
    await create_product(admin, name="Premium Widget")
    response = await admin.put(f"{PRODUCTS}/{product_id}", json={"name": "Renamed"})
    error_of(response, status=404, code="NOT_FOUND")


# --- permissions --------------------------------------------------------------------------


async def test_anonymous_writes_are_401(
    admin: httpx.AsyncClient, client: httpx.AsyncClient, database: Database
) -> None:
    created = await create_product(admin, name="Premium Widget")
    for response in (
        await client.post(PRODUCTS, json={"name": "Mine"}),
        await client.put(f"{PRODUCTS}/{created['id']}", json={"name": "Mine"}),
    ):
        error_of(response, status=401, code="UNAUTHORIZED")
    assert await count_rows(database, CatalogEntity) == 1
    assert success_data(await admin.get(f"{PRODUCTS}/{created['id']}")) == created


async def test_a_key_with_only_catalog_read_is_403_for_writes(
    admin: httpx.AsyncClient, reader: httpx.AsyncClient, database: Database
) -> None:
    created = await create_product(admin, name="Premium Widget")
    for response in (
        await reader.post(PRODUCTS, json={"name": "Mine"}),
        await reader.put(f"{PRODUCTS}/{created['id']}", json={"name": "Mine"}),
    ):
        error = error_of(response, status=403, code="FORBIDDEN")
        assert "catalog:" in error["message"]
    assert await count_rows(database, CatalogEntity) == 1
    assert success_data(await admin.get(f"{PRODUCTS}/{created['id']}")) == created


async def test_a_key_with_catalog_create_alone_can_create_a_product(
    app: Starlette, database: Database
) -> None:
    _, plaintext = await make_api_key(database, permissions=["catalog:create"])
    async with client_for(app, headers={"x-api-key": plaintext}) as creator:
        response = await creator.post(PRODUCTS, json={"name": "Premium Widget", "sku": "PW-1"})
    data = success_data(response, status=201)
    assert (data["name"], data["sku"], data["status"]) == ("Premium Widget", "PW-1", "draft")
    assert await count_rows(database, CatalogEntity) == 1


async def test_an_unknown_key_is_401_even_for_reads(client: httpx.AsyncClient) -> None:
    response = await client.get(PRODUCTS, headers={"x-api-key": "ck_not-a-real-key"})
    error_of(response, status=401, code="UNAUTHORIZED")


# --- one model, two dialects ----------------------------------------------------------------


async def test_a_product_is_the_engine_entity_with_its_texts_and_variant(
    admin: httpx.AsyncClient,
) -> None:
    product = await create_product(
        admin, name="Premium Widget", description="Fine.", sku="PW-001", status="active"
    )
    response = await admin.get(
        f"{ENGINE_ENTITIES}/{product['id']}", params={"include": "attributes,variants"}
    )
    assert response.status_code == 200
    entity = response.json()["data"]
    assert set(response.json()) == {"data"}
    assert (entity["id"], entity["type"], entity["slug"], entity["status"]) == (
        product["id"],
        "product",
        "premium-widget",
        "active",
    )
    assert entity["createdAt"] == product["createdAt"]
    assert entity["attributes"] == {
        "locale": "en",
        "title": "Premium Widget",
        "description": "Fine.",
        "seoTitle": None,
        "seoDescription": None,
    }
    assert [v["sku"] for v in entity["variants"]] == ["PW-001"]


async def test_engine_changes_show_through_the_gateway(admin: httpx.AsyncClient) -> None:
    product = await create_product(admin, name="Premium Widget")
    published = await admin.post(f"{ENGINE_ENTITIES}/{product['id']}/publish")
    assert published.status_code == 200
    await admin.put(
        f"{ENGINE_ENTITIES}/{product['id']}/attributes/en",
        json={"title": "Engine Title", "description": "From the engine."},
    )
    data = success_data(await admin.get(f"{PRODUCTS}/{product['id']}"))
    assert (data["name"], data["description"], data["status"]) == (
        "Engine Title",
        "From the engine.",
        "active",
    )


async def test_an_engine_entity_without_texts_is_a_product_without_a_name(
    admin: httpx.AsyncClient,
) -> None:
    created = await admin.post(ENGINE_ENTITIES, json={"type": "service", "slug": "consulting"})
    entity = created.json()["data"]
    data = success_data(await admin.get(f"{PRODUCTS}/{entity['id']}"))
    assert data == {
        "id": entity["id"],
        "name": None,
        "description": None,
        "price": None,
        "currency": None,
        "stock": None,
        "sku": None,
        "status": "draft",
        "createdAt": entity["createdAt"],
        "variants": [],
    }


async def test_a_priced_and_stocked_product_shows_price_as_decimal_and_stock(
    admin: httpx.AsyncClient,
) -> None:
    created = await admin.post(PRODUCTS, json={"name": "Premium Widget", "sku": "PW-1"})
    product_id = created.json()["data"]["id"]
    await admin.post(
        "/api/pricing/prices", json={"entityId": product_id, "currency": "USD", "amount": 4999}
    )
    await admin.post("/api/inventory/warehouses", json={"code": "MAIN", "name": "Main"})
    await admin.put("/api/v1/inventory/PW-1", json={"quantity": 150})
    data = (await admin.get(f"{PRODUCTS}/{product_id}")).json()["data"]
    assert (data["price"], data["currency"], data["stock"]) == (49.99, "USD", 150)
