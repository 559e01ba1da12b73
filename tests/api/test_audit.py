"""The audit trail through the engine dialect (`/api/audit`) and GraphQL (`auditEntries`)."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest
from starlette.applications import Starlette

from app.auth.actor import Actor
from app.db import Database
from app.models.base import utcnow
from app.services.audit import record_change
from tests.conftest import client_for
from tests.support.factories import make_api_key

STAFF = Actor(kind="user", id="user-1", name="staff", permissions=frozenset({"*:*"}))
OTHER = Actor(kind="user", id="user-2", name="other", permissions=frozenset({"*:*"}))


async def seed(database: Database) -> None:
    """Five entries: three on order o-1, two on a catalog entity, from two actors."""
    changes = [
        (STAFF, "orders.create", "order", "o-1"),
        (STAFF, "orders.statusChange", "order", "o-1"),
        (OTHER, "orders.statusChange", "order", "o-1"),
        (OTHER, "catalog.create", "catalog_entity", "c-1"),
        (STAFF, "catalog.update", "catalog_entity", "c-1"),
    ]
    for actor, event, entity_type, entity_id in changes:
        async with database.unit_of_work(request_id=f"req-{event}") as uow:
            record_change(
                uow,
                actor,
                event=event,
                entity_type=entity_type,
                entity_id=entity_id,
                after={"n": 1},
            )
            await uow.commit()


@pytest.fixture
async def auditor(app: Starlette, database: Database) -> httpx.AsyncClient:
    _, plaintext = await make_api_key(database, permissions=["audit:read"], name="auditor")
    await seed(database)
    return client_for(app, headers={"x-api-key": plaintext})


def events(response: httpx.Response) -> list[str]:
    return [entry["event"] for entry in response.json()["data"]]


async def test_list_is_newest_first_in_the_engine_envelope(auditor: httpx.AsyncClient) -> None:
    async with auditor:
        response = await auditor.get("/api/audit", params={"entityType": "order"})
    assert response.status_code == 200
    body = response.json()
    assert events(response) == ["orders.statusChange", "orders.statusChange", "orders.create"]
    assert body["meta"] == {"pagination": {"page": 1, "limit": 50, "total": 3, "totalPages": 1}}
    entry = body["data"][0]
    assert set(entry) == {
        "id",
        "occurredAt",
        "actorType",
        "actorId",
        "event",
        "entityType",
        "entityId",
        "before",
        "after",
        "reason",
        "requestId",
    }
    assert entry["actorId"] == "user-2" and entry["actorType"] == "user"
    assert entry["after"] == {"n": 1} and entry["before"] is None
    assert entry["requestId"] == "req-orders.statusChange"
    assert entry["occurredAt"].endswith("Z")


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"event": "orders.statusChange"}, ["orders.statusChange", "orders.statusChange"]),
        ({"actorId": "user-2"}, ["catalog.create", "orders.statusChange"]),
        ({"entityType": "catalog_entity", "entityId": "c-1"}, ["catalog.update", "catalog.create"]),
        ({"entityId": "nothing"}, []),
        ({"event": "catalog.update", "actorId": "user-2"}, []),
    ],
)
async def test_filters(
    auditor: httpx.AsyncClient, params: dict[str, str], expected: list[str]
) -> None:
    async with auditor:
        response = await auditor.get("/api/audit", params=params)
    assert events(response) == expected


async def test_time_window(auditor: httpx.AsyncClient) -> None:
    now = utcnow()
    future = (now + timedelta(hours=1)).isoformat().replace("+00:00", "Z")
    past = (now - timedelta(hours=1)).isoformat().replace("+00:00", "Z")
    async with auditor:
        after_now = await auditor.get("/api/audit", params={"from": future})
        window = await auditor.get(
            "/api/audit", params={"from": past, "to": future, "entityType": "order"}
        )
        before_past = await auditor.get("/api/audit", params={"to": past})
    assert events(after_now) == []
    assert len(events(window)) == 3
    assert events(before_past) == []


async def test_limit_defaults_to_50_and_is_capped_at_100(auditor: httpx.AsyncClient) -> None:
    async with auditor:
        two = await auditor.get("/api/audit", params={"limit": 2})
        second_page = await auditor.get("/api/audit", params={"limit": 2, "page": 2})
        capped = await auditor.get("/api/audit", params={"limit": 500})
    assert len(two.json()["data"]) == 2
    assert two.json()["meta"]["pagination"] == {"page": 1, "limit": 2, "total": 6, "totalPages": 3}
    ids = [e["id"] for e in two.json()["data"] + second_page.json()["data"]]
    assert len(set(ids)) == 4
    assert capped.json()["meta"]["pagination"]["limit"] == 100


async def test_history_of_one_entity(auditor: httpx.AsyncClient) -> None:
    async with auditor:
        response = await auditor.get("/api/audit/order/o-1")
        filtered = await auditor.get("/api/audit/order/o-1", params={"actorId": "user-1"})
    assert response.status_code == 200
    assert events(response) == ["orders.statusChange", "orders.statusChange", "orders.create"]
    assert {e["entityId"] for e in response.json()["data"]} == {"o-1"}
    assert events(filtered) == ["orders.statusChange", "orders.create"]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"from": "yesterday"}, "from"),
        ({"to": "2026-01-01T00:00:00"}, "to"),
        ({"limit": "ten"}, "limit"),
        ({"limit": "0"}, "limit"),
        ({"page": "-1"}, "page"),
    ],
)
async def test_bad_parameters_are_422_with_the_field(
    auditor: httpx.AsyncClient, params: dict[str, str], field: str
) -> None:
    async with auditor:
        response = await auditor.get("/api/audit", params=params)
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "VALIDATION_FAILED"
    assert field in error["details"]


async def test_audit_needs_audit_read(app: Starlette, database: Database) -> None:
    _, plaintext = await make_api_key(database, permissions=["apiKeys:manage"])
    async with (
        client_for(app) as anonymous,
        client_for(app, headers={"x-api-key": plaintext}) as other,
    ):
        for path in ("/api/audit", "/api/audit/order/o-1"):
            unauthenticated = await anonymous.get(path)
            forbidden = await other.get(path)
            assert unauthenticated.status_code == 401
            assert unauthenticated.json()["error"]["code"] == "UNAUTHORIZED"
            assert forbidden.status_code == 403
            assert forbidden.json()["error"]["code"] == "FORBIDDEN"


async def test_graphql_audit_entries(auditor: httpx.AsyncClient) -> None:
    query = """query($filter: AuditEntryFilter) {
      auditEntries(filter: $filter, limit: 2) {
        totalCount items { event entityId actorId } pageInfo { hasNextPage page limit }
      }
    }"""
    async with auditor:
        response = await auditor.post(
            "/graphql", json={"query": query, "variables": {"filter": {"entityId": "o-1"}}}
        )
    result = response.json()["data"]["auditEntries"]
    assert result["totalCount"] == 3
    assert result["pageInfo"] == {"hasNextPage": True, "page": 1, "limit": 2}
    assert [i["event"] for i in result["items"]] == ["orders.statusChange"] * 2
