"""The OpenAPI document is generated from the route table and lists every route."""

from __future__ import annotations

import httpx

from app.rest.routes import ROUTES
from tests.support.openapi import request_body, response_body


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
    assert set(create["responses"]) == {"201", "400", "401", "403", "404", "413", "429"}
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
    assert set(audit["responses"]) == {"200", "401", "403", "404", "422", "429"}
    history = paths["/api/audit/{entityType}/{entityId}"]["get"]
    assert [p["name"] for p in history["parameters"] if p["in"] == "path"] == [
        "entityType",
        "entityId",
    ]
