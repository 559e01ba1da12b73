"""Webhook endpoints through the engine dialect (seed 003), the gateway dialect (seed 000) and
GraphQL: registering (secret shown once), listing, changing, deleting, and the target checks
(SSRF) at registration. Delivery is tests/api/test_webhook_delivery.py."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from app.db import Database
from app.models.audit import AuditEntry, Event
from app.models.webhooks import WebhookEndpoint
from tests.conftest import client_with
from tests.support.queries import count_queries
from tests.support.webhooks import make_delivery, make_endpoint, make_event

ENGINE = "/api/webhooks"
GATEWAY = "/api/v1/webhooks"
# A public address: registration resolves nothing and connects nowhere.
PUBLIC = "https://1.1.1.1/hooks"

CREATE = """mutation($input: CreateWebhookEndpointInput!) {
  createWebhookEndpoint(input: $input) { id url events status secret }
}"""


async def graphql(client: httpx.AsyncClient, query: str, **variables: Any) -> dict[str, Any]:
    response = await client.post("/graphql", json={"query": query, "variables": variables})
    assert response.status_code == 200
    body: dict[str, Any] = response.json()
    return body


async def stored(database: Database, id: str) -> WebhookEndpoint | None:
    async with database.read_session() as session:
        return await session.get(WebhookEndpoint, uuid.UUID(id))


async def test_engine_create_answers_201_with_the_secret_once(
    admin: httpx.AsyncClient, database: Database
) -> None:
    response = await admin.post(
        ENGINE, json={"url": PUBLIC, "events": ["orders.create", "orders.create", "*"]}
    )
    assert response.status_code == 201
    data = response.json()["data"]
    assert data["url"] == PUBLIC
    assert data["events"] == ["*", "orders.create"]
    assert data["status"] == "active"
    assert data["secret"].startswith("whsec_")
    assert data["createdAt"].endswith("Z") and data["failingSince"] is None
    row = await stored(database, data["id"])
    assert row is not None and row.secret == data["secret"]

    listed = (await admin.get(ENGINE)).json()
    assert [item["id"] for item in listed["data"]] == [data["id"]]
    assert "secret" not in listed["data"][0]
    assert listed["meta"]["pagination"]["total"] == 1
    async with database.read_session() as session:
        audit = (
            await session.scalars(select(AuditEntry).where(AuditEntry.entity_id == data["id"]))
        ).all()
        events = await session.scalars(select(Event.type).where(Event.type.like("webhooks.%")))
    assert [entry.event for entry in audit] == ["webhooks.create"]
    assert data["secret"] not in repr(audit[0].after)
    assert events.all() == ["webhooks.create"]


async def test_engine_delete_removes_the_endpoint(
    admin: httpx.AsyncClient, database: Database
) -> None:
    created = (await admin.post(ENGINE, json={"url": PUBLIC, "events": ["*"]})).json()["data"]
    response = await admin.delete(f"{ENGINE}/{created['id']}")
    assert response.status_code == 200
    assert response.json()["data"]["id"] == created["id"]
    assert await stored(database, created["id"]) is None
    again = await admin.delete(f"{ENGINE}/{created['id']}")
    assert again.status_code == 404
    assert again.json()["error"]["code"] == "NOT_FOUND"
    assert (await admin.delete(f"{ENGINE}/not-a-uuid")).status_code == 404


async def test_gateway_crud_in_its_envelope(admin: httpx.AsyncClient, database: Database) -> None:
    response = await admin.post(
        GATEWAY, json={"url": PUBLIC, "events": ["catalog.create"], "description": "ERP"}
    )
    assert response.status_code == 201
    body = response.json()
    assert body["success"] is True and set(body["meta"]) == {"timestamp", "requestId"}
    created = body["data"]
    assert created["description"] == "ERP" and created["secret"].startswith("whsec_")

    listed = await admin.get(GATEWAY, params={"status": "active", "per_page": 5})
    assert listed.status_code == 200
    assert listed.headers["X-Total-Count"] == "1"
    assert listed.json()["pagination"]["total"] == 1
    assert (await admin.get(GATEWAY, params={"status": "disabled"})).json()["data"] == []

    deleted = await admin.delete(f"{GATEWAY}/{created['id']}")
    assert deleted.status_code == 200 and deleted.json()["success"] is True
    assert await stored(database, created["id"]) is None


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"url": PUBLIC, "events": ["orders.shipped"]}, "events"),
        ({"url": PUBLIC, "events": []}, "events"),
        ({"url": "ftp://1.1.1.1/x", "events": ["*"]}, "url"),
        ({"events": ["*"]}, "url"),
    ],
)
async def test_bad_input_is_a_validation_error_in_each_dialect(
    admin: httpx.AsyncClient, database: Database, body: dict[str, Any], field: str
) -> None:
    engine = await admin.post(ENGINE, json=body)
    assert engine.status_code == 422
    assert engine.json()["error"]["code"] == "VALIDATION_FAILED"
    gateway = await admin.post(GATEWAY, json=body)
    assert gateway.status_code == 400
    assert gateway.json()["error"]["code"] == "VALIDATION_ERROR"
    async with database.read_session() as session:
        assert (await session.scalars(select(WebhookEndpoint))).all() == []


async def test_unknown_event_names_the_allowed_ones(admin: httpx.AsyncClient) -> None:
    body = await graphql(
        admin, CREATE, input={"url": PUBLIC, "events": ["orders.create", "orders.shipped"]}
    )
    error = body["errors"][0]
    assert error["extensions"]["code"] == "VALIDATION_FAILED"
    assert "orders.shipped" in error["message"]
    assert "inventory.low_stock" in error["message"] and "cart.afterAddItem" in error["message"]


@pytest.mark.parametrize(
    "url",
    [
        "http://10.0.0.1/hook",
        "http://127.0.0.1:8080/hook",
        "http://[::1]/hook",
        "http://[::ffff:127.0.0.1]/hook",
        "http://169.254.169.254/latest/meta-data",
        "http://[fd00:ec2::254]/",
        "http://100.64.0.1/",
        "http://0.0.0.0/",
        "http://localhost:8000/hook",
    ],
)
async def test_private_targets_are_refused_at_registration(
    admin: httpx.AsyncClient, database: Database, url: str
) -> None:
    body = await graphql(admin, CREATE, input={"url": url, "events": ["*"]})
    error = body["errors"][0]
    assert error["extensions"]["code"] == "VALIDATION_FAILED"
    assert "public addresses" in error["message"]
    async with database.read_session() as session:
        assert (await session.scalars(select(WebhookEndpoint))).all() == []


async def test_private_targets_are_allowed_by_the_setting(make_app: Any, admin_key: str) -> None:
    app = make_app(webhook_allow_private=True)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app),
        base_url="http://testserver",
        headers={"x-api-key": admin_key},
    ) as admin:
        body = await graphql(
            admin, CREATE, input={"url": "http://localhost:9/hook", "events": ["*"]}
        )
    assert body["data"]["createWebhookEndpoint"]["url"] == "http://localhost:9/hook"


UPDATE = """mutation($input: UpdateWebhookEndpointInput!) {
  updateWebhookEndpoint(input: $input) {
    id url events status disabledReason description secret
    deliveries { totalCount items { id } }
  }
}"""


async def test_graphql_update_disables_and_enables(
    admin: httpx.AsyncClient, database: Database
) -> None:
    created = (await graphql(admin, CREATE, input={"url": PUBLIC, "events": ["*"]}))["data"][
        "createWebhookEndpoint"
    ]
    disabled = (await graphql(admin, UPDATE, input={"id": created["id"], "status": "DISABLED"}))[
        "data"
    ]["updateWebhookEndpoint"]
    assert disabled["status"] == "DISABLED"
    assert disabled["disabledReason"].startswith("Disabled by api_key")
    assert disabled["secret"] is None
    assert disabled["deliveries"] == {"totalCount": 0, "items": []}

    enabled = (
        await graphql(
            admin,
            UPDATE,
            input={
                "id": created["id"],
                "status": "ACTIVE",
                "events": ["orders.create"],
                "url": "https://1.0.0.1/new",
            },
        )
    )["data"]["updateWebhookEndpoint"]
    assert enabled["status"] == "ACTIVE" and enabled["disabledReason"] is None
    assert enabled["events"] == ["orders.create"] and enabled["url"] == "https://1.0.0.1/new"

    refused = await graphql(
        admin, UPDATE, input={"id": created["id"], "url": "http://192.168.1.1/"}
    )
    assert refused["errors"][0]["extensions"]["code"] == "VALIDATION_FAILED"
    async with database.read_session() as session:
        events = (
            await session.scalars(
                select(Event.type).where(Event.type.like("webhooks.%")).order_by(Event.id)
            )
        ).all()
    assert events == ["webhooks.create", "webhooks.disabled", "webhooks.update"]


async def test_rotate_shows_a_new_secret_once(admin: httpx.AsyncClient, database: Database) -> None:
    created = (await graphql(admin, CREATE, input={"url": PUBLIC, "events": ["*"]}))["data"][
        "createWebhookEndpoint"
    ]
    rotated = await graphql(
        admin,
        "mutation($id: ID!) { rotateWebhookSecret(input: {id: $id}) { secret } }",
        id=created["id"],
    )
    secret = rotated["data"]["rotateWebhookSecret"]["secret"]
    assert secret.startswith("whsec_") and secret != created["secret"]
    row = await stored(database, created["id"])
    assert row is not None and row.secret == secret
    read = await graphql(
        admin, "query($id: ID!) { webhookEndpoint(id: $id) { secret } }", id=created["id"]
    )
    assert read["data"]["webhookEndpoint"]["secret"] is None


async def test_webhooks_need_webhooks_manage(app: Any, database: Database) -> None:
    async for narrow in client_with(app, database, "catalog:read"):
        refused = await narrow.post(ENGINE, json={"url": PUBLIC, "events": ["*"]})
        assert refused.status_code == 403
        assert (await narrow.get(GATEWAY)).status_code == 403
    async for allowed in client_with(app, database, "webhooks:manage"):
        created = await allowed.post(ENGINE, json={"url": PUBLIC, "events": ["*"]})
        assert created.status_code == 201
        assert (await allowed.get(GATEWAY)).status_code == 200


async def test_the_list_costs_the_same_statements_for_one_endpoint_or_many(
    admin: httpx.AsyncClient, database: Database
) -> None:
    query = "{ webhookEndpoints(limit: 50) { totalCount items { id url events status } } }"

    async def counted() -> int:
        with count_queries(database) as queries:
            body = await graphql(admin, query)
        assert "errors" not in body
        return len(queries.matching("webhook_endpoints"))

    await make_endpoint(database)
    one = await counted()
    for _ in range(5):
        await make_endpoint(database)
    assert await counted() == one == 2  # the page and its total


async def test_the_delivery_log_reads_newest_first_and_filters(
    admin: httpx.AsyncClient, database: Database
) -> None:
    endpoint = await make_endpoint(database)
    first, second = await make_event(database), await make_event(database)
    await make_delivery(database, endpoint, first, status="pending")
    await make_delivery(database, endpoint, second)
    query = """query($id: ID!, $status: WebhookDeliveryStatus, $event: ID) {
      webhookEndpoint(id: $id) {
        deliveries(status: $status, eventId: $event) {
          totalCount
          items { eventId eventType attempt status responseStatus latencyMs responseBody }
        }
      }
    }"""
    every = (await graphql(admin, query, id=str(endpoint.id)))["data"]["webhookEndpoint"]
    assert [d["eventId"] for d in every["deliveries"]["items"]] == [str(second.id), str(first.id)]
    assert every["deliveries"]["items"][0]["responseBody"] == "ok"
    pending = await graphql(admin, query, id=str(endpoint.id), status="PENDING")
    assert pending["data"]["webhookEndpoint"]["deliveries"]["totalCount"] == 1
    by_event = await graphql(admin, query, id=str(endpoint.id), event=str(first.id))
    assert by_event["data"]["webhookEndpoint"]["deliveries"]["totalCount"] == 1
    garbage = await graphql(admin, query, id=str(endpoint.id), event="not-an-id")
    assert garbage["data"]["webhookEndpoint"]["deliveries"]["totalCount"] == 0
