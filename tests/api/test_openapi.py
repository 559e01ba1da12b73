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
    oauth = {
        ("GET", "/api/oauth/authorize"),
        ("POST", "/api/oauth/authorize"),
        ("POST", "/api/oauth/token"),
        ("POST", "/api/oauth/revoke"),
        ("POST", "/api/oauth/introspect"),
        ("GET", "/.well-known/oauth-authorization-server"),
    }
    assert documented == table | platform | oauth
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
    # Shared by reference, not a copy per route (each domain adds its dozen or so).
    assert len(schemas) < 260
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
            if status == "302":  # a redirect to the file: a Location, no body
                assert route.redirect is not None and "content" not in response
                continue
            schema = response["content"]["application/json"]["schema"]
            assert list(schema) == ["$ref"], (route.method, route.path, status)
            if int(status) >= 400:
                assert schema["$ref"] == errors
        if "requestBody" in operation:
            [content] = operation["requestBody"]["content"].values()
            body = content["schema"]
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


async def test_a_create_links_to_the_routes_of_what_it_created(
    client: httpx.AsyncClient,
) -> None:
    """OpenAPI links from a POST on a collection to `{collection}/{param}`, bound to the new
    resource's `data.id` (what clients and the fuzzer's stateful phase follow)."""
    document = (await client.get("/api/doc")).json()
    paths = document["paths"]

    def links(path: str) -> dict[str, Any]:
        return paths[path]["post"]["responses"]["201"].get("links", {})

    carts = links("/api/carts")
    assert carts["engine_get_api_carts__id"] == {
        "operationId": "engine_get_api_carts__id",
        "parameters": {"id": "$response.body#/data/id"},
        "description": "The created resource's `id` as `id`.",
    }
    assert set(carts) == {
        "engine_get_api_carts__id",
        "engine_post_api_carts__id__items",
        "engine_patch_api_carts__id__items__itemId",
        "engine_delete_api_carts__id__items__itemId",
    }
    entities = links("/api/catalog/entities")
    assert entities["engine_get_api_catalog_entities__idOrSlug"]["parameters"] == {
        "idOrSlug": "$response.body#/data/id"
    }
    assert links("/api/catalog/categories")["engine_delete_api_catalog_categories__categoryId"][
        "parameters"
    ] == {"categoryId": "$response.body#/data/id"}
    # The gateway's envelope holds the payload under `data` too.
    assert set(links("/api/v1/products")) == {
        "gateway_get_api_v1_products__id",
        "gateway_put_api_v1_products__id",
    }
    # Adding an item answers the cart, not the item: no link names the item by it.
    assert links("/api/carts/{id}/items") == {}
    # Every link names an operation of the document and only that path's parameters.
    operations = {op["operationId"]: op for ops in paths.values() for op in ops.values()}
    linked = 0
    for ops in paths.values():
        for op in ops.values():
            for response in op["responses"].values():
                for link in response.get("links", {}).values():
                    target = operations[link["operationId"]]
                    in_path = {p["name"] for p in target["parameters"] if p["in"] == "path"}
                    assert set(link["parameters"]) <= in_path, link
                    linked += 1
    assert linked >= 30


async def test_request_bodies_refuse_unknown_fields_and_say_so(
    client: httpx.AsyncClient, admin: httpx.AsyncClient
) -> None:
    """Every body schema is closed (`additionalProperties: false`), as the routes are: an
    unknown field is refused. A generator that trusts the document sends valid bodies."""
    document = (await client.get("/api/doc")).json()
    for route in ROUTES:
        if route.body is not None:
            body = request_body(document, route.method, route.path)
            assert body["additionalProperties"] is False, (route.method, route.path)
    order = request_body(document, "POST", "/api/v1/orders")
    assert order["properties"]["items"]["items"]["additionalProperties"] is False
    # A free-form field stays free-form.
    entity = request_body(document, "POST", "/api/catalog/entities")
    assert entity["properties"]["metadata"]["additionalProperties"] is True
    # The routes do refuse them.
    response = await admin.post("/api/carts", json={"currency": "USD", "colour": "red"})
    assert response.status_code == 422
    assert response.json()["error"]["details"] == {"colour": "Unknown field."}
    # A constraint the service checks is in the document too.
    item = request_body(document, "POST", "/api/carts/{id}/items")
    assert item["properties"]["unitPriceSnapshot"]["minimum"] == 0
