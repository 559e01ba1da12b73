"""API keys through the gateway dialect (seed 000) and GraphQL: the whole lifecycle."""

from __future__ import annotations

import hashlib
import uuid
from datetime import timedelta

import httpx
import pytest
from sqlalchemy import func, select, update
from starlette.applications import Starlette

from app.db import Database
from app.models.apikeys import ApiKey
from app.models.audit import AuditEntry, Event
from app.models.base import utcnow
from tests.conftest import client_for
from tests.support.factories import make_api_key

KEYS = "/api/v1/api-keys"


async def count(database: Database, model: type) -> int:
    async with database.read_session() as session:
        return (await session.execute(select(func.count()).select_from(model))).scalar_one()


async def create(admin: httpx.AsyncClient, **body: object) -> httpx.Response:
    return await admin.post(
        KEYS, json={"name": "integration", "permissions": ["audit:read"], **body}
    )


async def test_create_returns_201_with_the_plaintext_once(
    admin: httpx.AsyncClient, database: Database
) -> None:
    response = await create(admin)
    assert response.status_code == 201
    body = response.json()
    assert body["success"] is True
    assert set(body["meta"]) == {"timestamp", "requestId"}
    data = body["data"]
    assert data["key"].startswith("ck_") and len(data["key"]) > 40
    assert data["prefix"] == data["key"][:12]
    assert data["name"] == "integration"
    assert data["permissions"] == ["audit:read"]
    assert data["status"] == "active"
    assert data["createdAt"].endswith("Z")
    assert data["revokedAt"] is None and data["lastUsedAt"] is None

    async with database.read_session() as session:
        stored = await session.get(ApiKey, uuid.UUID(data["id"]))
    assert stored is not None
    assert stored.key_hash == hashlib.sha256(data["key"].encode()).hexdigest()
    assert data["key"] not in repr(stored.snapshot())

    listed = (await admin.get(KEYS)).json()["data"]
    assert all("key" not in item for item in listed)


async def test_a_new_key_works_and_records_its_last_use(
    app: Starlette, admin: httpx.AsyncClient, database: Database
) -> None:
    created = (await create(admin, permissions=["apiKeys:manage"])).json()["data"]
    async with client_for(app, headers={"Authorization": f"Bearer {created['key']}"}) as client:
        response = await client.get(KEYS)
    assert response.status_code == 200
    async with database.read_session() as session:
        stored = await session.get(ApiKey, uuid.UUID(created["id"]))
    assert stored is not None and stored.last_used_at is not None


async def test_revoked_key_is_refused_at_once(app: Starlette, admin: httpx.AsyncClient) -> None:
    created = (await create(admin, permissions=["apiKeys:manage"])).json()["data"]
    headers = {"x-api-key": created["key"]}
    async with client_for(app, headers=headers) as client:
        assert (await client.get(KEYS)).status_code == 200
        revoked = await admin.delete(f"{KEYS}/{created['id']}")
        assert revoked.status_code == 200
        assert revoked.json()["data"]["status"] == "revoked"
        assert revoked.json()["data"]["revokedAt"] is not None
        refused = await client.get(KEYS)
    assert refused.status_code == 401
    assert refused.json()["error"]["code"] == "UNAUTHORIZED"
    assert refused.json()["success"] is False


async def test_expired_key_is_refused(app: Starlette, database: Database) -> None:
    key, plaintext = await make_api_key(database, permissions=["apiKeys:manage"])
    async with database.unit_of_work() as uow:
        await uow.session.execute(
            update(ApiKey)
            .where(ApiKey.id == key.id)
            .values(expires_at=utcnow() - timedelta(seconds=1))
        )
        await uow.commit()
    async with client_for(app, headers={"x-api-key": plaintext}) as client:
        response = await client.get(KEYS)
    assert response.status_code == 401


async def test_unknown_key_is_refused(client: httpx.AsyncClient) -> None:
    response = await client.get(KEYS, headers={"x-api-key": "ck_not-a-real-key"})
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "UNAUTHORIZED"


async def test_revoking_twice_is_a_conflict(admin: httpx.AsyncClient) -> None:
    created = (await create(admin)).json()["data"]
    assert (await admin.delete(f"{KEYS}/{created['id']}")).status_code == 200
    again = await admin.delete(f"{KEYS}/{created['id']}")
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "CONFLICT"


@pytest.mark.parametrize("key_id", ["0190b6a2-0000-7000-8000-000000000000", "not-a-uuid"])
async def test_revoking_an_unknown_key_is_404(admin: httpx.AsyncClient, key_id: str) -> None:
    response = await admin.delete(f"{KEYS}/{key_id}")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "NOT_FOUND"


async def test_anonymous_is_401_and_a_key_without_the_permission_is_403(
    app: Starlette, client: httpx.AsyncClient, database: Database
) -> None:
    assert (await client.get(KEYS)).status_code == 401
    assert (await client.post(KEYS, json={"name": "x", "permissions": ["a:b"]})).status_code == 401
    _, plaintext = await make_api_key(database, permissions=["audit:read"])
    async with client_for(app, headers={"x-api-key": plaintext}) as limited:
        for response in (
            await limited.get(KEYS),
            await limited.post(KEYS, json={"name": "x", "permissions": ["audit:read"]}),
            await limited.delete(f"{KEYS}/0190b6a2-0000-7000-8000-000000000000"),
        ):
            assert response.status_code == 403
            assert response.json()["error"]["code"] == "FORBIDDEN"


async def test_a_key_cannot_mint_a_wider_key(app: Starlette, database: Database) -> None:
    _, plaintext = await make_api_key(database, permissions=["apiKeys:manage", "audit:read"])
    async with client_for(app, headers={"x-api-key": plaintext}) as client:
        wider = await client.post(KEYS, json={"name": "x", "permissions": ["*:*"]})
        narrower = await client.post(KEYS, json={"name": "y", "permissions": ["audit:read"]})
    assert wider.status_code == 403
    assert narrower.status_code == 201


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"permissions": ["audit:read"]}, "name"),
        ({"name": "x"}, "permissions"),
        ({"name": 5, "permissions": ["audit:read"]}, "name"),
        ({"name": "x", "permissions": "audit:read,x"}, "permissions"),
        ({"name": "x", "permissions": [1]}, "permissions.0"),
        ({"name": "x", "permissions": ["not a permission"]}, "permissions"),
        ({"name": "x", "permissions": []}, "permissions"),
        ({"name": "", "permissions": ["audit:read"]}, "name"),
        ({"name": "x", "permissions": ["audit:read"], "expiresAt": "yesterday"}, "expiresAt"),
        (
            {"name": "x", "permissions": ["audit:read"], "expiresAt": "2020-01-01T00:00:00Z"},
            "expiresAt",
        ),
        ({"name": "x", "permissions": ["audit:read"], "colour": "red"}, "colour"),
    ],
)
async def test_bad_bodies_are_400_with_field_details_and_change_nothing(
    admin: httpx.AsyncClient, database: Database, body: dict[str, object], field: str
) -> None:
    before = (await count(database, ApiKey), await count(database, AuditEntry))
    response = await admin.post(KEYS, json=body)
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "VALIDATION_ERROR"
    assert field in error["details"], error
    assert (await count(database, ApiKey), await count(database, AuditEntry)) == before


@pytest.mark.parametrize("raw", [b"{not json", b"[1, 2]", b'"text"', b""])
async def test_malformed_json_is_400_not_500(admin: httpx.AsyncClient, raw: bytes) -> None:
    response = await admin.post(KEYS, content=raw, headers={"content-type": "application/json"})
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "VALIDATION_ERROR"
    assert "body" in response.json()["error"]["details"]


async def test_list_pages_in_every_documented_style(
    admin: httpx.AsyncClient, database: Database
) -> None:
    for i in range(4):
        await make_api_key(database, name=f"key {i}")
    # 5 keys in all, counting the admin's own.
    by_page = await admin.get(KEYS, params={"page": 2, "limit": 2})
    assert by_page.status_code == 200
    assert by_page.json()["pagination"] == {"page": 2, "limit": 2, "total": 5, "pages": 3}
    assert len(by_page.json()["data"]) == 2
    assert by_page.headers["x-total-count"] == "5"
    assert by_page.headers["x-limit"] == "2"
    assert by_page.headers["x-offset"] == "2"

    per_page = await admin.get(KEYS, params={"page": 3, "per_page": 2})
    assert per_page.json()["pagination"] == {"page": 3, "limit": 2, "total": 5, "pages": 3}
    assert len(per_page.json()["data"]) == 1

    by_offset = await admin.get(KEYS, params={"limit": 3, "offset": 1})
    assert by_offset.headers["x-offset"] == "1"
    assert [k["id"] for k in by_offset.json()["data"]] == [
        k["id"] for k in (await admin.get(KEYS, params={"limit": 5})).json()["data"]
    ][1:4]

    capped = await admin.get(KEYS, params={"limit": 1000})
    assert capped.json()["pagination"]["limit"] == 100
    assert capped.headers["x-limit"] == "100"


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"page": "abc"}, "page"),
        ({"page": 0}, "page"),
        ({"limit": 0}, "limit"),
        ({"offset": -1}, "offset"),
        ({"status": "sleepy"}, "status"),
    ],
)
async def test_bad_list_parameters_are_400(
    admin: httpx.AsyncClient, params: dict[str, object], field: str
) -> None:
    response = await admin.get(KEYS, params=params)
    assert response.status_code == 400
    assert field in response.json()["error"]["details"]


async def test_status_filter(admin: httpx.AsyncClient) -> None:
    created = (await create(admin)).json()["data"]
    await admin.delete(f"{KEYS}/{created['id']}")
    revoked = (await admin.get(KEYS, params={"status": "revoked"})).json()
    active = (await admin.get(KEYS, params={"status": "active"})).json()
    assert [k["id"] for k in revoked["data"]] == [created["id"]]
    assert created["id"] not in [k["id"] for k in active["data"]]
    assert active["pagination"]["total"] == 1


async def test_create_and_revoke_are_audited_with_request_id(
    admin: httpx.AsyncClient, database: Database
) -> None:
    created = await admin.post(
        KEYS,
        json={"name": "audited", "permissions": ["audit:read"]},
        headers={"x-request-id": "req-create-1"},
    )
    key_id = created.json()["data"]["id"]
    await admin.delete(f"{KEYS}/{key_id}", headers={"x-request-id": "req-revoke-1"})
    async with database.read_session() as session:
        entries = (
            await session.scalars(
                select(AuditEntry).where(AuditEntry.entity_id == key_id).order_by(AuditEntry.id)
            )
        ).all()
        events = (
            await session.scalars(select(Event).where(Event.entity_id == key_id).order_by(Event.id))
        ).all()
    assert [(e.event, e.entity_id, e.request_id) for e in entries] == [
        ("apiKeys.create", key_id, "req-create-1"),
        ("apiKeys.revoke", key_id, "req-revoke-1"),
    ]
    assert entries[0].before is None and entries[0].after["name"] == "audited"
    assert "keyHash" not in entries[0].after
    assert entries[1].before["revokedAt"] is None and entries[1].after["revokedAt"] is not None
    assert entries[0].actor_type == "api_key" and entries[0].actor_id is not None
    assert [e.type for e in events] == ["apiKeys.create", "apiKeys.revoke"]
    assert events[0].dispatched_at is None


GQL_CREATE = """mutation($input: CreateApiKeyInput!) {
  createApiKey(input: $input) { id name key permissions status }
}"""


async def test_graphql_lifecycle(app: Starlette, admin: httpx.AsyncClient) -> None:
    created = await admin.post(
        "/graphql",
        json={"query": GQL_CREATE, "variables": {"input": {"name": "gql", "permissions": ["*:*"]}}},
    )
    key = created.json()["data"]["createApiKey"]
    assert key["key"].startswith("ck_") and key["status"] == "ACTIVE"

    listed = await admin.post(
        "/graphql", json={"query": "{ apiKeys { totalCount items { id key } } }"}
    )
    assert listed.json()["data"]["apiKeys"]["totalCount"] == 2
    assert all(item["key"] is None for item in listed.json()["data"]["apiKeys"]["items"])

    one = await admin.post(
        "/graphql", json={"query": f'{{ apiKey(id: "{key["id"]}") {{ name status }} }}'}
    )
    assert one.json()["data"]["apiKey"] == {"name": "gql", "status": "ACTIVE"}

    revoke = "mutation($id: ID!) { revokeApiKey(input: {id: $id}) { status } }"
    revoked = await admin.post("/graphql", json={"query": revoke, "variables": {"id": key["id"]}})
    assert revoked.json()["data"]["revokeApiKey"] == {"status": "REVOKED"}

    async with client_for(app, headers={"x-api-key": key["key"]}) as client:
        refused = await client.post("/graphql", json={"query": "{ ping }"})
    assert refused.status_code == 401
    assert refused.json()["errors"][0]["extensions"]["code"] == "UNAUTHORIZED"


async def test_graphql_errors_carry_codes_and_details(
    client: httpx.AsyncClient, admin: httpx.AsyncClient
) -> None:
    anonymous = await client.post("/graphql", json={"query": "{ apiKeys { totalCount } }"})
    assert anonymous.json()["errors"][0]["extensions"]["code"] == "UNAUTHORIZED"
    assert anonymous.json()["data"] is None

    invalid = await admin.post(
        "/graphql",
        json={"query": GQL_CREATE, "variables": {"input": {"name": "", "permissions": ["bad"]}}},
    )
    error = invalid.json()["errors"][0]
    assert error["extensions"]["code"] == "VALIDATION_FAILED"
    assert set(error["extensions"]["details"]) == {"name", "permissions"}

    missing = await admin.post(
        "/graphql", json={"query": '{ apiKey(id: "0190b6a2-0000-7000-8000-000000000000") { id } }'}
    )
    assert missing.json()["errors"][0]["extensions"]["code"] == "NOT_FOUND"
