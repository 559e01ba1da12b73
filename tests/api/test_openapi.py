"""The OpenAPI document is generated from the route table and lists every route."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterator
from typing import Any

import httpx
from openapi_spec_validator import validate

from app.rest.routes import ROUTES
from tests.support.openapi import payload_name, request_body, response_body


async def test_openapi_lists_every_route_of_the_table(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/doc")
    assert response.status_code == 200
    document = response.json()
    assert document["openapi"].startswith("3.")
    documented = {
        (method.upper(), path)
        for path, operations in document["paths"].items()
        for method in operations
    }
    table = {(route.method, route.path) for route in ROUTES}
    platform = {
        ("GET", "/api/health"),
        ("GET", "/api/doc"),
        ("GET", "/api/reference"),
        ("POST", "/api/payments/webhook"),
    }
    assert documented == table | platform
    operation_ids = [op["operationId"] for ops in document["paths"].values() for op in ops.values()]
    assert len(operation_ids) == len(set(operation_ids))


async def test_routes_document_parameters_bodies_and_responses(client: httpx.AsyncClient) -> None:
    document = (await client.get("/api/doc")).json()
    paths = document["paths"]

    create = paths["/api/v1/api-keys"]["post"]
    body = request_body(document, "POST", "/api/v1/api-keys")
    assert body["required"] == ["name", "permissions"]
    assert body["properties"]["name"] == {
        "type": "string",
        "description": "1 to 100 characters.",
        "minLength": 1,
        "maxLength": 100,
        "pattern": r"\S",
    }
    permissions = body["properties"]["permissions"]
    assert permissions["type"] == "array"
    assert (permissions["minItems"], permissions["maxItems"]) == (1, 100)
    assert permissions["items"]["type"] == "string" and permissions["items"]["pattern"]
    assert body["properties"]["expiresAt"]["format"] == "date-time"
    assert set(create["responses"]) == {"201", "400", "401", "403", "404", "413", "429", "503"}
    created = response_body(document, "POST", "/api/v1/api-keys", 201)
    key = created["properties"]["data"]["properties"]["key"]
    assert (key["type"], key["nullable"]) == ("string", True)
    assert "only in the createApiKey response" in key["description"]

    listing = paths["/api/v1/api-keys"]["get"]
    assert {p["name"] for p in listing["parameters"]} == {
        "status",
        "page",
        "limit",
        "per_page",
        "offset",
    }
    assert "pagination" in response_body(document, "GET", "/api/v1/api-keys", 200)["properties"]

    revoke = paths["/api/v1/api-keys/{id}"]["delete"]
    assert revoke["parameters"][0] == {
        "name": "id",
        "in": "path",
        "required": True,
        "description": "",
        "schema": {"type": "string"},
    }
    assert {"404", "409"} <= set(revoke["responses"])

    audit = paths["/api/audit"]["get"]
    assert {p["name"] for p in audit["parameters"]} == {
        "entityType",
        "entityId",
        "event",
        "actorId",
        "from",
        "to",
        "page",
        "limit",
    }
    assert "audit:read" in audit["description"]
    assert set(audit["responses"]) == {"200", "401", "403", "404", "422", "429", "503"}
    history = paths["/api/audit/{entityType}/{entityId}"]["get"]
    assert [p["name"] for p in history["parameters"] if p["in"] == "path"] == [
        "entityType",
        "entityId",
    ]


async def test_the_document_is_valid_openapi_whose_every_reference_resolves(
    client: httpx.AsyncClient,
) -> None:
    document = (await client.get("/api/doc")).json()
    assert document["openapi"] == "3.0.3"
    validate(document)  # the OpenAPI 3.0 meta-schema, and every `$ref` must point somewhere


async def test_no_request_body_repeats_a_field_that_its_path_gives(
    client: httpx.AsyncClient,
) -> None:
    document = (await client.get("/api/doc")).json()
    checked = set()
    for route in ROUTES:
        if route.body is None or not route.path_params:
            continue
        body = request_body(document, route.method, route.path)
        targets = {param.target.rsplit(".", 1)[-1] for param in route.path_params}
        assert not targets & set(body["properties"]), (route.method, route.path)
        assert not targets & set(body.get("required", [])), (route.method, route.path)
        checked.add((route.method, route.path))
    # The cart's item routes, a catalog update and a gateway update among them.
    assert {
        ("POST", "/api/carts/{id}/items"),
        ("PATCH", "/api/carts/{id}/items/{itemId}"),
        ("PATCH", "/api/catalog/entities/{id}"),
        ("PUT", "/api/v1/products/{id}"),
    } <= checked
    assert len(checked) >= 16


def _object_schemas(node: Any, at: str = "") -> Iterator[tuple[str, str]]:
    """Every object schema of the document with where it is, as JSON without the annotations
    that may differ between two uses of one schema (`nullable`, `description`)."""
    if isinstance(node, dict):
        if "properties" in node:
            plain = {k: v for k, v in node.items() if k not in ("nullable", "description")}
            yield json.dumps(plain, sort_keys=True), at
        for key, value in node.items():
            yield from _object_schemas(value, f"{at}/{key}")
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _object_schemas(value, f"{at}/{index}")


def _is_component(at: str) -> bool:
    return at.startswith("/components/schemas/") and at.count("/") == 3


SAME_RESOURCE = {
    "Order": [
        ("POST", "/api/checkout"),
        ("GET", "/api/orders"),
        ("GET", "/api/orders/{idOrNumber}"),
        ("PATCH", "/api/orders/{id}/status"),
        ("POST", "/api/orders/{id}/refunds"),
    ],
    "Cart": [
        ("POST", "/api/carts"),
        ("GET", "/api/carts/{id}"),
        ("POST", "/api/carts/{id}/items"),
        ("PATCH", "/api/carts/{id}/items/{itemId}"),
        ("DELETE", "/api/carts/{id}/items/{itemId}"),
    ],
    "CatalogEntity": [
        ("GET", "/api/catalog/entities"),
        ("GET", "/api/catalog/entities/{idOrSlug}"),
        ("POST", "/api/catalog/entities"),
        ("POST", "/api/catalog/entities/{id}/publish"),
        ("POST", "/api/catalog/entities/{id}/brands/{brandId}"),
    ],
    "GatewayProduct": [
        ("GET", "/api/v1/products"),
        ("POST", "/api/v1/products"),
        ("PUT", "/api/v1/products/{id}"),
    ],
    "GatewayOrder": [
        ("GET", "/api/v1/orders"),
        ("POST", "/api/v1/orders"),
        ("POST", "/api/v1/orders/{id}/refunds"),
    ],
}


async def test_resources_envelopes_and_errors_are_named_components_used_by_reference(
    client: httpx.AsyncClient,
) -> None:
    document = (await client.get("/api/doc")).json()
    schemas = document["components"]["schemas"]
    assert len(schemas) < 150
    assert {
        "Money",
        "EngineError",
        "GatewayError",
        "GatewaySuccess",
        "GatewayPagination",
        "EnginePagination",
        *SAME_RESOURCE,
    } <= set(schemas)
    for route in ROUTES:
        operation = document["paths"][route.path][route.method.lower()]
        errors = "#/components/schemas/" + (
            "GatewayError" if route.dialect.name == "gateway" else "EngineError"
        )
        for status, response in operation["responses"].items():
            schema = response["content"]["application/json"]["schema"]
            assert list(schema) == ["$ref"], (route.method, route.path, status)
            if int(status) >= 400:
                assert schema["$ref"] == errors
        if "requestBody" in operation:
            body = operation["requestBody"]["content"]["application/json"]["schema"]
            assert list(body) == ["$ref"], (route.method, route.path)
    for name, operations in SAME_RESOURCE.items():
        assert {payload_name(document, *op) for op in operations} == {name}
    gateway_list = schemas["GatewayProductPage"]["allOf"]
    assert gateway_list[0] == {"$ref": "#/components/schemas/GatewaySuccess"}
    assert gateway_list[1]["properties"]["pagination"] == {
        "$ref": "#/components/schemas/GatewayPagination"
    }
    # An object schema written out in place is used there only: no copy of a component, nor
    # of another inline schema, and none of the tables' titled (named) schemas.
    places = defaultdict(list)
    for schema, at in _object_schemas(document):
        places[schema].append(at)
        assert _is_component(at) or "title" not in json.loads(schema), at
    copies = {
        schema: at
        for schema, at in places.items()
        if len(at) > 1 and not all(map(_is_component, at))
    }
    assert copies == {}
