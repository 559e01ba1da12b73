"""Least reach (issue 10, part 6): the public sees availability, never inventory internals or
anything of an entity that is not active.

Findings: anonymous callers read reorder points, reorder quantities, level ids, and the SKUs and
stock of draft entities through `inventoryCheck` and `CatalogEntity.inventory`; with
introspection off, "Did you mean 'apiKey', 'apiKeys'" still named hidden fields.

The rule (README, "Who sees what"): for an entity it may see (active, or any with
catalog:read), anyone reads its SKUs and the units available (`availableQuantity`, `stock`,
`Variant.available`); quantities on hand and reserved, warehouses and levels need
inventory:read. A field withheld inside an answer is null, with an UNAUTHORIZED (anonymous) or
FORBIDDEN error at its path in GraphQL; the REST dialects send it as null. An entity the caller
may not see is left out of `inventoryCheck` as an unknown id is.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from app.db import Database
from app.models.catalog import CatalogEntity
from app.models.inventory import Warehouse
from tests.api.test_inventory_engine import make_warehouse, stocked, variant_of
from tests.conftest import client_for
from tests.support.catalog import make_entity
from tests.support.cost import without_cost
from tests.support.factories import make_api_key

CHECK = "/api/inventory/check"
INTERNAL = ("quantity", "reservedQuantity", "warehouses")
CHECK_ALL = """query C($ids: [ID!]!) { inventoryCheck(entityIds: $ids) {
  entityId variantId sku availableQuantity quantity reservedQuantity
  warehouses { id warehouseId quantity reorderPoint reorderQuantity }
} }"""
CHECK_PUBLIC = """query C($ids: [ID!]!) { inventoryCheck(entityIds: $ids) {
  entityId sku availableQuantity
} }"""


@pytest.fixture
async def east(database: Database) -> Warehouse:
    return await make_warehouse(database, code="EAST", name="East")


@pytest.fixture
async def tee(database: Database, east: Warehouse) -> CatalogEntity:
    """An active entity with variants TEE-S (5 in stock) and TEE-M (2)."""
    tee = await make_entity(database, slug="tee", sizes=("S", "M"))
    await stocked(database, tee, east, 5, variant=await variant_of(database, "TEE-S"))
    await stocked(database, tee, east, 2, variant=await variant_of(database, "TEE-M"))
    return tee


@pytest.fixture
async def draft(database: Database, east: Warehouse) -> CatalogEntity:
    """A draft entity (SKU `secret-thing`) with stock."""
    draft = await make_entity(database, slug="secret-thing", status="draft")
    await stocked(database, draft, east, 9)
    return draft


@pytest.fixture
def caller(
    app: Starlette, database: Database
) -> Callable[[tuple[str, ...] | None], AsyncIterator[httpx.AsyncClient]]:
    """A client holding a key with `permissions`, or none at all (None)."""

    async def open_client(permissions: tuple[str, ...] | None) -> AsyncIterator[httpx.AsyncClient]:
        headers = {}
        if permissions is not None:
            _, key = await make_api_key(database, permissions=permissions, name="caller")
            headers = {"x-api-key": key}
        async with client_for(app, headers=headers) as http:
            yield http

    return open_client


async def graphql(http: httpx.AsyncClient, query: str, **variables: Any) -> dict[str, Any]:
    response = await http.post("/graphql", json={"query": query, "variables": variables})
    assert response.status_code == 200, response.text
    return without_cost(response.json())


# ---- inventoryCheck --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("permissions", "code"),
    [(None, "UNAUTHORIZED"), (("catalog:read", "orders:read"), "FORBIDDEN")],
    ids=["anonymous", "without inventory:read"],
)
async def test_inventory_check_withholds_internal_fields_from_the_public(
    caller: Any, tee: CatalogEntity, permissions: tuple[str, ...] | None, code: str
) -> None:
    async for http in caller(permissions):
        body = await graphql(http, CHECK_ALL, ids=[str(tee.id)])

    assert body["data"]["inventoryCheck"] == [
        {
            "entityId": str(tee.id),
            "variantId": item["variantId"],
            "sku": sku,
            "availableQuantity": available,
            "quantity": None,
            "reservedQuantity": None,
            "warehouses": None,
        }
        for item, (sku, available) in zip(
            body["data"]["inventoryCheck"], [("TEE-M", 2), ("TEE-S", 5)], strict=True
        )
    ]
    assert {(tuple(e["path"][2:]), e["extensions"]["code"]) for e in body["errors"]} == {
        ((field,), code) for field in INTERNAL
    }
    assert len(body["errors"]) == 2 * len(INTERNAL)


async def test_inventory_check_asking_only_public_fields_has_no_errors(
    caller: Any, tee: CatalogEntity
) -> None:
    async for http in caller(None):
        body = await graphql(http, CHECK_PUBLIC, ids=[str(tee.id)])

    assert body == {
        "data": {
            "inventoryCheck": [
                {"entityId": str(tee.id), "sku": "TEE-M", "availableQuantity": 2},
                {"entityId": str(tee.id), "sku": "TEE-S", "availableQuantity": 5},
            ]
        }
    }


async def test_inventory_readers_see_every_field(
    caller: Any, tee: CatalogEntity, east: Warehouse
) -> None:
    async for http in caller(("inventory:read",)):
        body = await graphql(http, CHECK_ALL, ids=[str(tee.id)])

    assert "errors" not in body
    [_, small] = body["data"]["inventoryCheck"]
    assert (small["sku"], small["quantity"], small["reservedQuantity"]) == ("TEE-S", 5, 0)
    assert small["warehouses"][0]["warehouseId"] == str(east.id)
    assert small["warehouses"][0]["reorderPoint"] == 0


@pytest.mark.parametrize("permissions", [None, ("inventory:read",)], ids=["anonymous", "reader"])
async def test_inventory_check_leaves_out_a_draft_for_those_without_catalog_read(
    caller: Any,
    tee: CatalogEntity,
    draft: CatalogEntity,
    permissions: tuple[str, ...] | None,
) -> None:
    async for http in caller(permissions):
        body = await graphql(http, CHECK_PUBLIC, ids=[str(draft.id), str(tee.id)])
        rest = await http.get(CHECK, params={"entityIds": f"{draft.id},{tee.id}"})

    assert [item["sku"] for item in body["data"]["inventoryCheck"]] == ["TEE-M", "TEE-S"]
    assert rest.status_code == 200
    assert [item["sku"] for item in rest.json()["data"]] == ["TEE-M", "TEE-S"]
    assert "secret-thing" not in rest.text and str(draft.id) not in rest.text


async def test_catalog_readers_check_drafts_too(caller: Any, draft: CatalogEntity) -> None:
    async for http in caller(("catalog:read",)):
        body = await graphql(http, CHECK_PUBLIC, ids=[str(draft.id)])

    assert body == {
        "data": {
            "inventoryCheck": [
                {"entityId": str(draft.id), "sku": "secret-thing", "availableQuantity": 9}
            ]
        }
    }


async def test_rest_check_answers_the_public_availability_with_internal_fields_null(
    caller: Any, tee: CatalogEntity
) -> None:
    async for http in caller(None):
        anonymous = await http.get(CHECK, params={"entityIds": str(tee.id)})
    async for http in caller(("inventory:read",)):
        reader = await http.get(CHECK, params={"entityIds": str(tee.id)})

    assert anonymous.status_code == 200
    assert [
        {k: item[k] for k in ("sku", "availableQuantity", *INTERNAL)}
        for item in anonymous.json()["data"]
    ] == [
        {"sku": sku, "availableQuantity": n, **dict.fromkeys(INTERNAL)}
        for sku, n in (("TEE-M", 2), ("TEE-S", 5))
    ]
    assert reader.status_code == 200
    assert [(i["quantity"], len(i["warehouses"])) for i in reader.json()["data"]] == [
        (2, 1),
        (5, 1),
    ]


# ---- the catalog ---------------------------------------------------------------------------

ENTITY = """query E($slug: String!) { catalogEntity(idOrSlug: $slug) {
  slug stock variants { sku available } inventory { id sku quantity reorderPoint }
} }"""


async def test_catalog_entity_inventory_is_withheld_and_stock_is_public(
    caller: Any, tee: CatalogEntity
) -> None:
    async for http in caller(None):
        body = await graphql(http, ENTITY, slug="tee")

    assert body["data"] == {
        "catalogEntity": {
            "slug": "tee",
            "stock": 7,
            "variants": [{"sku": "TEE-M", "available": 2}, {"sku": "TEE-S", "available": 5}],
            "inventory": None,
        }
    }
    [error] = body["errors"]
    assert (error["path"], error["extensions"]) == (
        ["catalogEntity", "inventory"],
        {"code": "UNAUTHORIZED"},
    )


async def test_catalog_entities_list_withholds_inventory_per_item(
    caller: Any, tee: CatalogEntity
) -> None:
    query = "{ catalogEntities { items { slug stock inventory { quantity } } } }"
    async for http in caller(("catalog:read",)):
        body = await graphql(http, query)

    assert body["data"]["catalogEntities"]["items"] == [
        {"slug": "tee", "stock": 7, "inventory": None}
    ]
    assert [e["extensions"]["code"] for e in body["errors"]] == ["FORBIDDEN"]


@pytest.mark.parametrize(
    "path",
    [
        "/api/catalog/entities?include=inventory,variants",
        "/api/catalog/entities/tee?include=inventory,variants",
    ],
)
async def test_engine_catalog_include_inventory_answers_stock_and_null_inventory(
    caller: Any, tee: CatalogEntity, path: str
) -> None:
    async for http in caller(None):
        response = await http.get(path)

    assert response.status_code == 200, response.text
    data = response.json()["data"]
    [item] = data if isinstance(data, list) else [data]
    assert (item["slug"], item["stock"], item["inventory"]) == ("tee", 7, None)
    assert [v["sku"] for v in item["variants"]] == ["TEE-M", "TEE-S"]


@pytest.mark.parametrize(
    "path",
    [
        "/api/catalog/entities/secret-thing",
        "/api/catalog/entities/secret-thing?include=inventory",
        "/api/v1/products/{id}",
        "/api/catalog/entities/{id}/attributes/en",
    ],
)
async def test_a_draft_is_not_found_by_the_public_on_any_read(
    caller: Any, draft: CatalogEntity, path: str
) -> None:
    async for http in caller(("inventory:read",)):
        response = await http.get(path.format(id=draft.id))

    assert response.status_code == 404
    assert "secret-thing" not in response.text


async def test_public_lists_leave_drafts_out(caller: Any, draft: CatalogEntity) -> None:
    async for http in caller(None):
        engine = await http.get("/api/catalog/entities?include=inventory,variants")
        gateway = await http.get("/api/v1/products")
        graph = await graphql(http, "{ catalogEntities { totalCount items { slug stock } } }")

    assert engine.json()["data"] == []
    assert gateway.json()["data"] == []
    assert graph["data"]["catalogEntities"] == {"totalCount": 0, "items": []}


# ---- introspection off: no suggestions -------------------------------------------------------

MISSPELT = [
    ("{ apiKy { id } }", "apiKey"),
    ("{ catalogEntities { items { slugg } } }", "slug"),
    ('{ catalogEntity(idOrSlg: "x") { id } }', "idOrSlug"),
    ("query Q($i: CreateApiKeyInpt!) { ping }", "CreateApiKeyInput"),
]


@pytest.mark.parametrize(("query", "hint"), MISSPELT)
async def test_without_introspection_no_error_suggests_a_name(
    make_app: Callable[..., Starlette], query: str, hint: str
) -> None:
    async with client_for(make_app(graphql_introspection=False)) as http:
        hidden = await http.post("/graphql", json={"query": query})
    async with client_for(make_app(graphql_introspection=True)) as http:
        shown = await http.post("/graphql", json={"query": query})

    messages = [error["message"] for error in hidden.json()["errors"]]
    assert not [m for m in messages if "Did you mean" in m or f"'{hint}'" in m], messages
    assert {e["extensions"]["code"] for e in hidden.json()["errors"]} == {"VALIDATION_FAILED"}
    assert all(m.endswith(".") for m in messages)
    # The default still helps.
    assert any(f"'{hint}'" in e["message"] for e in shown.json()["errors"])


async def test_without_introspection_a_misspelt_input_field_is_not_suggested(
    make_app: Callable[..., Starlette], database: Database
) -> None:
    _, key = await make_api_key(database)
    query = "mutation M($input: CreateApiKeyInput!) { createApiKey(input: $input) { id } }"
    body = {"query": query, "variables": {"input": {"nam": "x", "permissions": ["a:b"]}}}
    async with client_for(make_app(graphql_introspection=False)) as http:
        response = await http.post("/graphql", json=body, headers={"x-api-key": key})

    messages = [error["message"] for error in response.json()["errors"]]
    assert messages and not [m for m in messages if "Did you mean" in m]
    assert {e["extensions"]["code"] for e in response.json()["errors"]} == {"VALIDATION_FAILED"}
