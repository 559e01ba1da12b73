"""The catalog through the engine dialect (seed 003, `/api/catalog`): every documented route.

Envelopes: `{"data": ...}`; lists add `meta.pagination {page, limit, total, totalPages}`;
errors are `{"error": {"code", "message", "details"?}}` with NOT_FOUND 404,
VALIDATION_FAILED 422, UNAUTHORIZED 401, FORBIDDEN 403 and CONFLICT 409.
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
from app.models.catalog import CatalogEntity, Category, OptionType, OptionValue, Variant
from tests.conftest import client_for
from tests.support.factories import make_api_key

ENTITIES = "/api/catalog/entities"
CATEGORIES = "/api/catalog/categories"
BRANDS = "/api/catalog/brands"
OPTIONS = "/api/catalog/options"
UNKNOWN_ID = "0190b6a2-0000-7000-8000-000000000000"

ENTITY_FIELDS = {
    "id",
    "type",
    "slug",
    "status",
    "metadata",
    "allowBackorder",
    "createdAt",
    "updatedAt",
}
ENTITY_PARTS = {"attributes", "variants", "optionTypes", "categories", "brands"}
# A changed entity is answered with every part, stock included.
ALL_PARTS = ENTITY_PARTS | {"stock", "inventory", "price"}
CATEGORY_FIELDS = {
    "id",
    "name",
    "slug",
    "description",
    "position",
    "parentId",
    "createdAt",
    "updatedAt",
}
BRAND_FIELDS = {"id", "name", "slug", "description", "createdAt", "updatedAt"}
VARIANT_FIELDS = {"id", "entityId", "sku", "metadata", "createdAt", "updatedAt", "optionValues"}


# --- helpers ------------------------------------------------------------------------------


@pytest.fixture
async def reader(app: Starlette, database: Database) -> AsyncIterator[httpx.AsyncClient]:
    """A client whose key holds `catalog:read` and nothing else."""
    _, plaintext = await make_api_key(database, permissions=["catalog:read"], name="reader")
    async with client_for(app, headers={"x-api-key": plaintext}) as http:
        yield http


async def create_entity(
    admin: httpx.AsyncClient,
    *,
    slug: str,
    type: str = "product",
    status: str | None = None,
    metadata: dict[str, Any] | None = None,
) -> dict[str, Any]:
    body: dict[str, Any] = {"type": type, "slug": slug}
    if status is not None:
        body["status"] = status
    if metadata is not None:
        body["metadata"] = metadata
    response = await admin.post(ENTITIES, json=body)
    assert response.status_code == 201, response.text
    return response.json()["data"]


async def create_category(
    admin: httpx.AsyncClient, *, slug: str, parent_id: str | None = None, position: int = 0
) -> dict[str, Any]:
    body: dict[str, Any] = {"name": slug.title(), "slug": slug, "position": position}
    if parent_id is not None:
        body["parentId"] = parent_id
    response = await admin.post(CATEGORIES, json=body)
    assert response.status_code == 201, response.text
    return response.json()["data"]


async def create_brand(admin: httpx.AsyncClient, *, slug: str, name: str = "") -> dict[str, Any]:
    response = await admin.post(BRANDS, json={"name": name or slug.title(), "slug": slug})
    assert response.status_code == 201, response.text
    return response.json()["data"]


async def create_option(
    admin: httpx.AsyncClient, *, entity_id: str, name: str, values: list[str]
) -> dict[str, Any]:
    response = await admin.post(
        f"{ENTITIES}/{entity_id}/options", json={"name": name, "values": values}
    )
    assert response.status_code == 201, response.text
    return response.json()["data"]


async def create_shirt(admin: httpx.AsyncClient, *, slug: str = "tee") -> dict[str, Any]:
    """An entity with Size (S, M) and Colour (Red, Blue); returns value ids by value."""
    entity = await create_entity(admin, slug=slug)
    size = await create_option(admin, entity_id=entity["id"], name="Size", values=["S", "M"])
    colour = await create_option(
        admin, entity_id=entity["id"], name="Colour", values=["Red", "Blue"]
    )
    values = {v["value"]: v["id"] for v in size["values"] + colour["values"]}
    return {"entity": entity, "values": values}


async def act(admin: httpx.AsyncClient, entity_id: str, action: str) -> httpx.Response:
    return await admin.post(f"{ENTITIES}/{entity_id}/{action}")


def error_of(response: httpx.Response, *, status: int, code: str) -> dict[str, Any]:
    """The engine's error envelope, checked; returns the `error` object."""
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"}
    error = body["error"]
    assert error["code"] == code
    assert isinstance(error["message"], str) and error["message"]
    assert set(error) <= {"code", "message", "details"}
    return error


def ids(response: httpx.Response) -> list[str]:
    return [item["id"] for item in response.json()["data"]]


def slugs(response: httpx.Response) -> list[str]:
    return [item["slug"] for item in response.json()["data"]]


async def count_rows(database: Database, model: type) -> int:
    async with database.read_session() as session:
        return (await session.execute(select(func.count()).select_from(model))).scalar_one()


async def row_counts(database: Database, *models: type) -> list[int]:
    return [await count_rows(database, model) for model in models]


async def audit_rows(database: Database, *, entity_id: str) -> list[tuple[str, str]]:
    """(event, entity_type) of one entity's audit entries, oldest first."""
    async with database.read_session() as session:
        entries = (
            await session.scalars(
                select(AuditEntry).where(AuditEntry.entity_id == entity_id).order_by(AuditEntry.id)
            )
        ).all()
    return [(entry.event, entry.entity_type) for entry in entries]


async def audit_entries(database: Database, *, entity_id: str) -> list[AuditEntry]:
    async with database.read_session() as session:
        return list(
            (
                await session.scalars(
                    select(AuditEntry)
                    .where(AuditEntry.entity_id == entity_id)
                    .order_by(AuditEntry.id)
                )
            ).all()
        )


async def stored(database: Database, entity_id: str) -> CatalogEntity | None:
    async with database.read_session() as session:
        return await session.get(CatalogEntity, uuid.UUID(entity_id))


# --- create -------------------------------------------------------------------------------


async def test_create_answers_201_with_the_entity_and_all_its_parts(
    admin: httpx.AsyncClient, database: Database
) -> None:
    response = await admin.post(
        ENTITIES,
        json={"type": "product", "slug": "blue-widget", "metadata": {"colour": {"rgb": [0, 0, 9]}}},
    )
    assert response.status_code == 201
    body = response.json()
    assert set(body) == {"data"}
    data = body["data"]
    assert set(data) == ENTITY_FIELDS | ALL_PARTS
    assert uuid.UUID(data["id"])
    assert data["type"] == "product"
    assert data["slug"] == "blue-widget"
    assert data["status"] == "draft"
    assert data["metadata"] == {"colour": {"rgb": [0, 0, 9]}}
    assert data["createdAt"].endswith("Z") and data["updatedAt"].endswith("Z")
    assert data["attributes"] is None
    assert data["variants"] == [] and data["optionTypes"] == []
    assert data["categories"] == [] and data["brands"] == []
    assert response.headers["x-request-id"]

    row = await stored(database, data["id"])
    assert row is not None
    assert (row.type, row.slug, row.status, row.meta) == (
        "product",
        "blue-widget",
        "draft",
        {"colour": {"rgb": [0, 0, 9]}},
    )


async def test_create_takes_the_documented_status_and_defaults_metadata_to_an_object(
    admin: httpx.AsyncClient,
) -> None:
    data = await create_entity(admin, slug="ebook", type="digitalDownload", status="active")
    assert (data["type"], data["status"], data["metadata"]) == ("digitalDownload", "active", {})


async def test_create_with_a_slug_in_use_is_409_and_changes_nothing(
    admin: httpx.AsyncClient, database: Database
) -> None:
    first = await create_entity(admin, slug="blue-widget")
    before = await row_counts(database, CatalogEntity, AuditEntry)
    response = await admin.post(ENTITIES, json={"type": "service", "slug": "blue-widget"})
    error = error_of(response, status=409, code="CONFLICT")
    assert "blue-widget" in error["message"]
    assert error["details"] == {"slug": "Already in use."}
    assert await row_counts(database, CatalogEntity, AuditEntry) == before
    row = await stored(database, first["id"])
    assert row is not None and row.type == "product"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"type": "product"}, "slug"),
        ({"slug": "widget"}, "type"),
        ({"type": "car", "slug": "widget"}, "type"),
        ({"type": "product", "slug": "Blue Widget"}, "slug"),
        ({"type": "product", "slug": "blue--widget"}, "slug"),
        ({"type": "product", "slug": "-widget"}, "slug"),
        ({"type": "product", "slug": "w" * 201}, "slug"),
        ({"type": "product", "slug": "widget", "status": "sold"}, "status"),
        ({"type": "product", "slug": "widget", "metadata": "colour=blue"}, "metadata"),
        ({"type": "product", "slug": "widget", "metadata": [1, 2]}, "metadata"),
        ({"type": "product", "slug": "widget", "metadata": {"x": "y" * 17_000}}, "metadata"),
        ({"type": "product", "slug": 5}, "slug"),
        ({"type": ["product"], "slug": "widget"}, "type"),
        ({"type": "product", "slug": "widget", "status": True}, "status"),
        ({"type": "product", "slug": "widget", "colour": "blue"}, "colour"),
    ],
)
async def test_create_with_a_bad_body_is_422_naming_the_field_and_changes_nothing(
    admin: httpx.AsyncClient, database: Database, body: dict[str, Any], field: str
) -> None:
    before = await row_counts(database, CatalogEntity, AuditEntry)
    response = await admin.post(ENTITIES, json=body)
    error = error_of(response, status=422, code="VALIDATION_FAILED")
    assert field in error["details"], error
    assert await row_counts(database, CatalogEntity, AuditEntry) == before


@pytest.mark.parametrize("raw", [b"{not json", b"[1, 2]", b'"product"', b"null", b""])
async def test_create_with_malformed_json_is_422_naming_the_body(
    admin: httpx.AsyncClient, database: Database, raw: bytes
) -> None:
    response = await admin.post(ENTITIES, content=raw, headers={"content-type": "application/json"})
    error = error_of(response, status=422, code="VALIDATION_FAILED")
    assert "body" in error["details"]
    assert await count_rows(database, CatalogEntity) == 0


# --- read ---------------------------------------------------------------------------------


async def test_get_by_uuid_and_by_slug_answer_the_same_entity(
    admin: httpx.AsyncClient,
) -> None:
    created = await create_entity(admin, slug="blue-widget", metadata={"a": 1})
    by_id = await admin.get(f"{ENTITIES}/{created['id']}")
    by_slug = await admin.get(f"{ENTITIES}/blue-widget")
    assert by_id.status_code == 200 and by_slug.status_code == 200
    assert set(by_id.json()) == {"data"}
    assert by_id.json() == by_slug.json()
    data = by_id.json()["data"]
    assert set(data) == ENTITY_FIELDS
    assert {k: data[k] for k in ENTITY_FIELDS} == {k: created[k] for k in ENTITY_FIELDS}


@pytest.mark.parametrize("id_or_slug", [UNKNOWN_ID, "no-such-widget"])
async def test_get_unknown_id_or_slug_is_404(admin: httpx.AsyncClient, id_or_slug: str) -> None:
    await create_entity(admin, slug="blue-widget")
    response = await admin.get(f"{ENTITIES}/{id_or_slug}")
    error = error_of(response, status=404, code="NOT_FOUND")
    assert "details" not in error


async def test_anonymous_cannot_see_a_draft_but_sees_it_once_published(
    admin: httpx.AsyncClient, client: httpx.AsyncClient
) -> None:
    draft = await create_entity(admin, slug="blue-widget")
    for path in (f"{ENTITIES}/{draft['id']}", f"{ENTITIES}/blue-widget"):
        error_of(await client.get(path), status=404, code="NOT_FOUND")
    assert ids(await client.get(ENTITIES)) == []

    assert (await act(admin, draft["id"], "publish")).status_code == 200

    for path in (f"{ENTITIES}/{draft['id']}", f"{ENTITIES}/blue-widget"):
        seen = await client.get(path)
        assert seen.status_code == 200
        assert seen.json()["data"]["status"] == "active"
    assert ids(await client.get(ENTITIES)) == [draft["id"]]


async def test_anonymous_cannot_see_archived_or_discontinued_entities(
    admin: httpx.AsyncClient, client: httpx.AsyncClient
) -> None:
    archived = await create_entity(admin, slug="archived-one", status="archived")
    ended = await create_entity(admin, slug="ended-one", status="active")
    await act(admin, ended["id"], "discontinue")
    for entity in (archived, ended):
        error_of(await client.get(f"{ENTITIES}/{entity['id']}"), status=404, code="NOT_FOUND")
    assert ids(await client.get(ENTITIES)) == []


async def test_a_key_with_catalog_read_sees_drafts(
    admin: httpx.AsyncClient, reader: httpx.AsyncClient
) -> None:
    draft = await create_entity(admin, slug="blue-widget")
    one = await reader.get(f"{ENTITIES}/{draft['id']}")
    assert one.status_code == 200
    assert one.json()["data"]["status"] == "draft"
    assert ids(await reader.get(ENTITIES)) == [draft["id"]]


# --- update -------------------------------------------------------------------------------


async def test_patch_changes_slug_and_metadata(
    admin: httpx.AsyncClient, database: Database
) -> None:
    created = await create_entity(admin, slug="blue-widget", metadata={"old": True})
    response = await admin.patch(
        f"{ENTITIES}/{created['id']}", json={"slug": "navy-widget", "metadata": {"new": 1}}
    )
    assert response.status_code == 200
    data = response.json()["data"]
    assert set(data) == ENTITY_FIELDS | ALL_PARTS
    assert (data["id"], data["slug"], data["metadata"]) == (
        created["id"],
        "navy-widget",
        {"new": 1},
    )
    assert data["status"] == "draft" and data["type"] == "product"
    assert data["createdAt"] == created["createdAt"]
    assert data["updatedAt"] >= created["updatedAt"]

    error_of(await admin.get(f"{ENTITIES}/blue-widget"), status=404, code="NOT_FOUND")
    assert (await admin.get(f"{ENTITIES}/navy-widget")).json()["data"]["id"] == created["id"]
    row = await stored(database, created["id"])
    assert row is not None and (row.slug, row.meta) == ("navy-widget", {"new": 1})


async def test_patch_leaves_fields_that_are_not_sent(admin: httpx.AsyncClient) -> None:
    created = await create_entity(admin, slug="blue-widget", metadata={"keep": "me"})
    response = await admin.patch(f"{ENTITIES}/{created['id']}", json={"type": "bundle"})
    assert response.status_code == 200
    data = response.json()["data"]
    assert (data["type"], data["slug"], data["metadata"]) == (
        "bundle",
        "blue-widget",
        {"keep": "me"},
    )


async def test_patch_to_a_slug_in_use_is_409_and_changes_nothing(
    admin: httpx.AsyncClient, database: Database
) -> None:
    await create_entity(admin, slug="taken")
    mine = await create_entity(admin, slug="mine")
    audits = await count_rows(database, AuditEntry)
    response = await admin.patch(f"{ENTITIES}/{mine['id']}", json={"slug": "taken"})
    error = error_of(response, status=409, code="CONFLICT")
    assert error["details"] == {"slug": "Already in use."}
    row = await stored(database, mine["id"])
    assert row is not None and row.slug == "mine"
    assert await count_rows(database, AuditEntry) == audits


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"slug": "Not A Slug"}, "slug"),
        ({"type": "car"}, "type"),
        ({"metadata": "text"}, "metadata"),
        ({"status": "sold"}, "status"),
        ({"slug": 7}, "slug"),
    ],
)
async def test_patch_with_a_bad_body_is_422_and_changes_nothing(
    admin: httpx.AsyncClient, database: Database, body: dict[str, Any], field: str
) -> None:
    created = await create_entity(admin, slug="blue-widget", metadata={"a": 1})
    audits = await count_rows(database, AuditEntry)
    response = await admin.patch(f"{ENTITIES}/{created['id']}", json=body)
    error = error_of(response, status=422, code="VALIDATION_FAILED")
    assert field in error["details"], error
    row = await stored(database, created["id"])
    assert row is not None
    assert (row.slug, row.type, row.status, row.meta) == (
        "blue-widget",
        "product",
        "draft",
        {"a": 1},
    )
    assert await count_rows(database, AuditEntry) == audits


@pytest.mark.parametrize("entity_id", [UNKNOWN_ID, "blue-widget"])
async def test_patch_needs_a_known_uuid_else_404(admin: httpx.AsyncClient, entity_id: str) -> None:
    await create_entity(admin, slug="blue-widget")
    response = await admin.patch(f"{ENTITIES}/{entity_id}", json={"metadata": {}})
    error_of(response, status=404, code="NOT_FOUND")


# --- status transitions ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("actions", "status"),
    [
        (["publish"], "active"),
        (["archive"], "archived"),
        (["publish", "archive"], "archived"),
        (["archive", "publish"], "active"),
        (["publish", "discontinue"], "discontinued"),
        (["archive", "discontinue"], "discontinued"),
    ],
)
async def test_allowed_transitions_answer_the_entity_in_its_new_status(
    admin: httpx.AsyncClient, database: Database, actions: list[str], status: str
) -> None:
    created = await create_entity(admin, slug="blue-widget")
    for action in actions:
        response = await act(admin, created["id"], action)
        assert response.status_code == 200, response.text
    data = response.json()["data"]
    assert set(data) == ENTITY_FIELDS | ALL_PARTS
    assert data["status"] == status
    row = await stored(database, created["id"])
    assert row is not None and row.status == status


@pytest.mark.parametrize(
    ("setup", "action", "current", "allowed"),
    [
        ([], "discontinue", "draft", "allowed next states: active, archived"),
        (["publish"], "publish", "active", "allowed next states: archived, discontinued"),
        (["archive"], "archive", "archived", "allowed next states: active, discontinued"),
        (["publish", "discontinue"], "publish", "discontinued", "allowed next states: none"),
        (["publish", "discontinue"], "archive", "discontinued", "allowed next states: none"),
        (["publish", "discontinue"], "discontinue", "discontinued", "allowed next states: none"),
    ],
)
async def test_illegal_transitions_are_409_naming_the_allowed_next_states(
    admin: httpx.AsyncClient,
    database: Database,
    setup: list[str],
    action: str,
    current: str,
    allowed: str,
) -> None:
    created = await create_entity(admin, slug="blue-widget")
    for step in setup:
        assert (await act(admin, created["id"], step)).status_code == 200
    audits = await count_rows(database, AuditEntry)
    error = error_of(await act(admin, created["id"], action), status=409, code="CONFLICT")
    assert allowed in error["message"], error
    assert current in error["message"]
    row = await stored(database, created["id"])
    assert row is not None and row.status == current
    assert await count_rows(database, AuditEntry) == audits


async def test_patch_status_follows_the_same_machine(admin: httpx.AsyncClient) -> None:
    created = await create_entity(admin, slug="blue-widget")
    error = error_of(
        await admin.patch(f"{ENTITIES}/{created['id']}", json={"status": "discontinued"}),
        status=409,
        code="CONFLICT",
    )
    assert "allowed next states: active, archived" in error["message"]
    moved = await admin.patch(f"{ENTITIES}/{created['id']}", json={"status": "active"})
    assert moved.status_code == 200
    assert moved.json()["data"]["status"] == "active"


@pytest.mark.parametrize("action", ["publish", "archive", "discontinue"])
async def test_transition_of_an_unknown_entity_is_404(
    admin: httpx.AsyncClient, action: str
) -> None:
    error_of(await act(admin, UNKNOWN_ID, action), status=404, code="NOT_FOUND")


# --- delete -------------------------------------------------------------------------------


async def test_delete_answers_the_entity_as_it_was_then_it_is_gone(
    admin: httpx.AsyncClient, database: Database
) -> None:
    created = await create_entity(admin, slug="blue-widget")
    await create_option(admin, entity_id=created["id"], name="Size", values=["S"])
    response = await admin.delete(f"{ENTITIES}/{created['id']}")
    assert response.status_code == 200
    data = response.json()["data"]
    assert set(data) == ENTITY_FIELDS | ALL_PARTS
    assert (data["id"], data["slug"]) == (created["id"], "blue-widget")
    assert [t["name"] for t in data["optionTypes"]] == ["Size"]

    error_of(await admin.get(f"{ENTITIES}/{created['id']}"), status=404, code="NOT_FOUND")
    error_of(await admin.delete(f"{ENTITIES}/{created['id']}"), status=404, code="NOT_FOUND")
    assert await stored(database, created["id"]) is None
    assert await count_rows(database, OptionType) == 0


# --- attributes -----------------------------------------------------------------------------


async def test_put_attributes_answers_the_texts_of_that_locale(
    admin: httpx.AsyncClient,
) -> None:
    created = await create_entity(admin, slug="blue-widget")
    texts = {
        "title": "Blue Widget",
        "description": "A fine blue widget.",
        "seoTitle": "Buy Blue Widget",
        "seoDescription": "Best blue widget online.",
    }
    response = await admin.put(f"{ENTITIES}/{created['id']}/attributes/en", json=texts)
    assert response.status_code == 200
    assert response.json() == {"data": {"locale": "en", **texts}}
    fetched = await admin.get(f"{ENTITIES}/{created['id']}/attributes/en")
    assert fetched.status_code == 200
    assert fetched.json() == {"data": {"locale": "en", **texts}}


async def test_put_attributes_replaces_the_locale_texts(admin: httpx.AsyncClient) -> None:
    created = await create_entity(admin, slug="blue-widget")
    path = f"{ENTITIES}/{created['id']}/attributes/en"
    await admin.put(path, json={"title": "Old", "description": "Old text."})
    await admin.put(path, json={"title": "New"})
    data = (await admin.get(path)).json()["data"]
    assert (data["title"], data["description"]) == ("New", None)


async def test_get_attributes_fills_missing_fields_from_english(
    admin: httpx.AsyncClient,
) -> None:
    created = await create_entity(admin, slug="blue-widget")
    base = f"{ENTITIES}/{created['id']}/attributes"
    await admin.put(f"{base}/en", json={"title": "Blue Widget", "description": "A fine widget."})
    await admin.put(f"{base}/de", json={"title": "Blaues Widget"})

    german = await admin.get(f"{base}/de")
    assert german.status_code == 200
    assert german.json()["data"] == {
        "locale": "de",
        "title": "Blaues Widget",
        "description": "A fine widget.",
        "seoTitle": None,
        "seoDescription": None,
    }
    french = await admin.get(f"{base}/fr")
    assert french.status_code == 200
    assert french.json()["data"] == {
        "locale": "en",
        "title": "Blue Widget",
        "description": "A fine widget.",
        "seoTitle": None,
        "seoDescription": None,
    }
    by_slug = await admin.get(f"{ENTITIES}/blue-widget/attributes/de")
    assert by_slug.json() == german.json()


async def test_get_attributes_without_any_is_404(admin: httpx.AsyncClient) -> None:
    created = await create_entity(admin, slug="blue-widget")
    await admin.put(f"{ENTITIES}/{created['id']}/attributes/de", json={"title": "Nur Deutsch"})
    error_of(
        await admin.get(f"{ENTITIES}/{created['id']}/attributes/fr"), status=404, code="NOT_FOUND"
    )
    bare = await create_entity(admin, slug="bare")
    error_of(
        await admin.get(f"{ENTITIES}/{bare['id']}/attributes/en"), status=404, code="NOT_FOUND"
    )


@pytest.mark.parametrize("locale", ["english", "e", "en_US", "en-", "12"])
async def test_invalid_locale_is_422_on_put_and_get(
    admin: httpx.AsyncClient, database: Database, locale: str
) -> None:
    created = await create_entity(admin, slug="blue-widget")
    audits = await count_rows(database, AuditEntry)
    path = f"{ENTITIES}/{created['id']}/attributes/{locale}"
    put = error_of(await admin.put(path, json={"title": "x"}), status=422, code="VALIDATION_FAILED")
    get = error_of(await admin.get(path), status=422, code="VALIDATION_FAILED")
    assert "locale" in put["details"] and "locale" in get["details"]
    assert await count_rows(database, AuditEntry) == audits


async def test_attributes_of_an_unknown_entity_are_404(admin: httpx.AsyncClient) -> None:
    path = f"{ENTITIES}/{UNKNOWN_ID}/attributes/en"
    error_of(await admin.put(path, json={"title": "x"}), status=404, code="NOT_FOUND")
    error_of(await admin.get(path), status=404, code="NOT_FOUND")


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"title": 5}, "title"),
        ({"title": "x" * 501}, "title"),
        ({"title": "Widget", "colour": "blue"}, "colour"),
    ],
)
async def test_put_attributes_with_a_bad_body_is_422(
    admin: httpx.AsyncClient, body: dict[str, Any], field: str
) -> None:
    created = await create_entity(admin, slug="blue-widget")
    response = await admin.put(f"{ENTITIES}/{created['id']}/attributes/en", json=body)
    error = error_of(response, status=422, code="VALIDATION_FAILED")
    assert field in error["details"], error
    error_of(
        await admin.get(f"{ENTITIES}/{created['id']}/attributes/en"), status=404, code="NOT_FOUND"
    )


async def test_anonymous_cannot_read_the_attributes_of_a_draft(
    admin: httpx.AsyncClient, client: httpx.AsyncClient
) -> None:
    created = await create_entity(admin, slug="blue-widget")
    path = f"{ENTITIES}/{created['id']}/attributes/en"
    await admin.put(path, json={"title": "Blue Widget"})
    error_of(await client.get(path), status=404, code="NOT_FOUND")
    await act(admin, created["id"], "publish")
    assert (await client.get(path)).json()["data"]["title"] == "Blue Widget"


# --- categories -----------------------------------------------------------------------------


async def test_create_category_with_a_parent(admin: httpx.AsyncClient) -> None:
    root = await admin.post(
        CATEGORIES, json={"name": "Clothing", "slug": "clothing", "description": "All of it"}
    )
    assert root.status_code == 201
    assert set(root.json()) == {"data"}
    parent = root.json()["data"]
    assert set(parent) == CATEGORY_FIELDS
    assert (parent["name"], parent["slug"], parent["description"]) == (
        "Clothing",
        "clothing",
        "All of it",
    )
    assert parent["parentId"] is None and parent["position"] == 0
    assert parent["createdAt"].endswith("Z")

    child = await admin.post(
        CATEGORIES,
        json={"name": "Shirts", "slug": "shirts", "parentId": parent["id"], "position": 3},
    )
    assert child.status_code == 201
    assert child.json()["data"]["parentId"] == parent["id"]
    assert child.json()["data"]["position"] == 3


async def test_list_categories_by_position_with_parent_filters(
    admin: httpx.AsyncClient, client: httpx.AsyncClient
) -> None:
    clothing = await create_category(admin, slug="clothing", position=2)
    garden = await create_category(admin, slug="garden", position=1)
    shirts = await create_category(admin, slug="shirts", parent_id=clothing["id"])

    everything = await client.get(CATEGORIES)
    assert everything.status_code == 200
    assert everything.json()["meta"] == {
        "pagination": {"page": 1, "limit": 20, "total": 3, "totalPages": 1}
    }
    assert ids(everything) == [shirts["id"], garden["id"], clothing["id"]]
    assert set(everything.json()["data"][0]) == CATEGORY_FIELDS

    roots = await client.get(CATEGORIES, params={"parentId": "root"})
    assert ids(roots) == [garden["id"], clothing["id"]]
    assert roots.json()["meta"]["pagination"]["total"] == 2
    children = await client.get(CATEGORIES, params={"parentId": clothing["id"]})
    assert ids(children) == [shirts["id"]]
    assert ids(await client.get(CATEGORIES, params={"parentId": shirts["id"]})) == []


async def test_list_categories_with_a_bad_parent_filter_is_422(admin: httpx.AsyncClient) -> None:
    response = await admin.get(CATEGORIES, params={"parentId": "clothing"})
    error = error_of(response, status=422, code="VALIDATION_FAILED")
    assert "parentId" in error["details"]


async def test_patch_category_renames_and_moves_it(
    admin: httpx.AsyncClient, database: Database
) -> None:
    clothing = await create_category(admin, slug="clothing")
    tops = await create_category(admin, slug="tops")
    moved = await admin.patch(
        f"{CATEGORIES}/{tops['id']}",
        json={"name": "Tops & Tees", "slug": "tops-and-tees", "parentId": clothing["id"]},
    )
    assert moved.status_code == 200
    data = moved.json()["data"]
    assert set(data) == CATEGORY_FIELDS
    assert (data["name"], data["slug"], data["parentId"]) == (
        "Tops & Tees",
        "tops-and-tees",
        clothing["id"],
    )
    back_to_root = await admin.patch(f"{CATEGORIES}/{tops['id']}", json={"parentId": None})
    assert back_to_root.json()["data"]["parentId"] is None
    assert back_to_root.json()["data"]["name"] == "Tops & Tees"


async def test_moving_a_category_under_its_own_child_is_409_and_changes_nothing(
    admin: httpx.AsyncClient, database: Database
) -> None:
    clothing = await create_category(admin, slug="clothing")
    shirts = await create_category(admin, slug="shirts", parent_id=clothing["id"])
    audits = await count_rows(database, AuditEntry)
    for target in (shirts["id"], clothing["id"]):
        response = await admin.patch(f"{CATEGORIES}/{clothing['id']}", json={"parentId": target})
        error_of(response, status=409, code="CONFLICT")
    async with database.read_session() as session:
        row = await session.get(Category, uuid.UUID(clothing["id"]))
    assert row is not None and row.parent_id is None
    assert await count_rows(database, AuditEntry) == audits


async def test_deleting_a_category_with_children_is_409_and_a_leaf_is_200(
    admin: httpx.AsyncClient, database: Database
) -> None:
    clothing = await create_category(admin, slug="clothing")
    shirts = await create_category(admin, slug="shirts", parent_id=clothing["id"])

    refused = await admin.delete(f"{CATEGORIES}/{clothing['id']}")
    error = error_of(refused, status=409, code="CONFLICT")
    assert "child" in error["message"]
    assert await count_rows(database, Category) == 2

    leaf = await admin.delete(f"{CATEGORIES}/{shirts['id']}")
    assert leaf.status_code == 200
    assert leaf.json() == {"data": shirts}
    assert (await admin.delete(f"{CATEGORIES}/{clothing['id']}")).status_code == 200
    assert await count_rows(database, Category) == 0


async def test_category_slug_in_use_is_409(admin: httpx.AsyncClient) -> None:
    await create_category(admin, slug="clothing")
    other = await create_category(admin, slug="garden")
    created = await admin.post(CATEGORIES, json={"name": "Again", "slug": "clothing"})
    error_of(created, status=409, code="CONFLICT")
    patched = await admin.patch(f"{CATEGORIES}/{other['id']}", json={"slug": "clothing"})
    error_of(patched, status=409, code="CONFLICT")


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"slug": "clothing"}, "name"),
        ({"name": "Clothing"}, "slug"),
        ({"name": "Clothing", "slug": "Clothing!"}, "slug"),
        ({"name": "   ", "slug": "clothing"}, "name"),
        ({"name": "Clothing", "slug": "clothing", "position": "first"}, "position"),
    ],
)
async def test_create_category_with_a_bad_body_is_422(
    admin: httpx.AsyncClient, database: Database, body: dict[str, Any], field: str
) -> None:
    error = error_of(await admin.post(CATEGORIES, json=body), status=422, code="VALIDATION_FAILED")
    assert field in error["details"], error
    assert await count_rows(database, Category) == 0


@pytest.mark.parametrize("collection", ["categories", "brands"])
async def test_deleting_a_category_or_brand_unlinks_its_entities(
    admin: httpx.AsyncClient, collection: str
) -> None:
    entity = await create_entity(admin, slug="blue-widget")
    target = (
        await create_category(admin, slug="widgets")
        if collection == "categories"
        else await create_brand(admin, slug="acme")
    )
    await admin.post(f"{ENTITIES}/{entity['id']}/{collection}/{target['id']}")
    deleted = await admin.delete(f"/api/catalog/{collection}/{target['id']}")
    assert deleted.status_code == 200
    shown = await admin.get(f"{ENTITIES}/{entity['id']}", params={"include": collection})
    assert shown.status_code == 200
    assert shown.json()["data"][collection] == []


async def test_unknown_categories_are_404(admin: httpx.AsyncClient) -> None:
    with_unknown_parent = await admin.post(
        CATEGORIES, json={"name": "Shirts", "slug": "shirts", "parentId": UNKNOWN_ID}
    )
    error_of(with_unknown_parent, status=404, code="NOT_FOUND")
    patched = await admin.patch(f"{CATEGORIES}/{UNKNOWN_ID}", json={"name": "x"})
    error_of(patched, status=404, code="NOT_FOUND")
    error_of(await admin.delete(f"{CATEGORIES}/{UNKNOWN_ID}"), status=404, code="NOT_FOUND")


# --- brands ---------------------------------------------------------------------------------


async def test_brand_lifecycle(admin: httpx.AsyncClient, client: httpx.AsyncClient) -> None:
    created = await admin.post(
        BRANDS, json={"name": "Zenith", "slug": "zenith", "description": "Tall things"}
    )
    assert created.status_code == 201
    zenith = created.json()["data"]
    assert set(zenith) == BRAND_FIELDS
    assert (zenith["name"], zenith["slug"], zenith["description"]) == (
        "Zenith",
        "zenith",
        "Tall things",
    )
    acme = await create_brand(admin, slug="acme")

    listed = await client.get(BRANDS)
    assert listed.status_code == 200
    assert ids(listed) == [acme["id"], zenith["id"]]
    assert listed.json()["meta"] == {
        "pagination": {"page": 1, "limit": 20, "total": 2, "totalPages": 1}
    }

    patched = await admin.patch(
        f"{BRANDS}/{zenith['id']}", json={"name": "Able", "slug": "able", "description": None}
    )
    assert patched.status_code == 200
    data = patched.json()["data"]
    assert (data["name"], data["slug"], data["description"]) == ("Able", "able", None)
    assert ids(await client.get(BRANDS)) == [zenith["id"], acme["id"]]

    deleted = await admin.delete(f"{BRANDS}/{zenith['id']}")
    assert deleted.status_code == 200
    assert deleted.json()["data"]["slug"] == "able"
    assert ids(await client.get(BRANDS)) == [acme["id"]]


async def test_brand_slug_in_use_is_409_and_bad_bodies_422(admin: httpx.AsyncClient) -> None:
    acme = await create_brand(admin, slug="acme")
    other = await create_brand(admin, slug="other")
    error_of(
        await admin.post(BRANDS, json={"name": "Acme 2", "slug": "acme"}),
        status=409,
        code="CONFLICT",
    )
    error_of(
        await admin.patch(f"{BRANDS}/{other['id']}", json={"slug": acme["slug"]}),
        status=409,
        code="CONFLICT",
    )
    missing = error_of(
        await admin.post(BRANDS, json={"slug": "nameless"}), status=422, code="VALIDATION_FAILED"
    )
    assert "name" in missing["details"]


async def test_unknown_brands_are_404(admin: httpx.AsyncClient) -> None:
    error_of(
        await admin.patch(f"{BRANDS}/{UNKNOWN_ID}", json={"name": "x"}),
        status=404,
        code="NOT_FOUND",
    )
    error_of(await admin.delete(f"{BRANDS}/{UNKNOWN_ID}"), status=404, code="NOT_FOUND")


# --- entity links -------------------------------------------------------------------------


@pytest.mark.parametrize(("kind", "collection"), [("category", "categories"), ("brand", "brands")])
async def test_add_and_remove_an_entity(
    admin: httpx.AsyncClient, database: Database, kind: str, collection: str
) -> None:
    entity = await create_entity(admin, slug="blue-widget")
    if kind == "category":
        target = await create_category(admin, slug="widgets")
        expected = {k: target[k] for k in ("id", "name", "slug", "parentId", "position")}
    else:
        target = await create_brand(admin, slug="acme")
        expected = {k: target[k] for k in ("id", "name", "slug")}
    path = f"{ENTITIES}/{entity['id']}/{collection}/{target['id']}"

    added = await admin.post(path)
    assert added.status_code == 200
    data = added.json()["data"]
    assert set(data) == ENTITY_FIELDS | ALL_PARTS
    assert data[collection] == [expected]
    listed = await admin.get(ENTITIES, params={kind: target["id"]})
    assert ids(listed) == [entity["id"]]

    removed = await admin.delete(path)
    assert removed.status_code == 200
    assert removed.json()["data"][collection] == []
    assert ids(await admin.get(ENTITIES, params={kind: target["id"]})) == []


@pytest.mark.parametrize(("kind", "collection"), [("category", "categories"), ("brand", "brands")])
async def test_adding_twice_keeps_one_link_and_records_one_change(
    admin: httpx.AsyncClient, database: Database, kind: str, collection: str
) -> None:
    entity = await create_entity(admin, slug="blue-widget")
    target = (
        await create_category(admin, slug="widgets")
        if kind == "category"
        else await create_brand(admin, slug="acme")
    )
    path = f"{ENTITIES}/{entity['id']}/{collection}/{target['id']}"
    first, second = await admin.post(path), await admin.post(path)
    assert (first.status_code, second.status_code) == (200, 200)
    assert [c["id"] for c in second.json()["data"][collection]] == [target["id"]]
    assert await audit_rows(database, entity_id=entity["id"]) == [
        ("catalog.create", "catalog_entity"),
        ("catalog.update", "catalog_entity"),
    ]


@pytest.mark.parametrize(("kind", "collection"), [("category", "categories"), ("brand", "brands")])
async def test_removing_a_link_that_does_not_exist_is_404(
    admin: httpx.AsyncClient, database: Database, kind: str, collection: str
) -> None:
    entity = await create_entity(admin, slug="blue-widget")
    target = (
        await create_category(admin, slug="widgets")
        if kind == "category"
        else await create_brand(admin, slug="acme")
    )
    audits = await count_rows(database, AuditEntry)
    response = await admin.delete(f"{ENTITIES}/{entity['id']}/{collection}/{target['id']}")
    error_of(response, status=404, code="NOT_FOUND")
    assert await count_rows(database, AuditEntry) == audits


@pytest.mark.parametrize("collection", ["categories", "brands"])
async def test_links_to_unknown_entities_or_targets_are_404(
    admin: httpx.AsyncClient, collection: str
) -> None:
    entity = await create_entity(admin, slug="blue-widget")
    target = (
        await create_category(admin, slug="widgets")
        if collection == "categories"
        else await create_brand(admin, slug="acme")
    )
    for path in (
        f"{ENTITIES}/{UNKNOWN_ID}/{collection}/{target['id']}",
        f"{ENTITIES}/{entity['id']}/{collection}/{UNKNOWN_ID}",
    ):
        error_of(await admin.post(path), status=404, code="NOT_FOUND")
        error_of(await admin.delete(path), status=404, code="NOT_FOUND")


# --- options --------------------------------------------------------------------------------


async def test_create_option_type_with_its_values(admin: httpx.AsyncClient) -> None:
    entity = await create_entity(admin, slug="tee")
    response = await admin.post(
        f"{ENTITIES}/{entity['id']}/options", json={"name": "Size", "values": ["S", "M"]}
    )
    assert response.status_code == 201
    assert set(response.json()) == {"data"}
    data = response.json()["data"]
    assert set(data) == {"id", "name", "position", "values"}
    assert (data["name"], data["position"]) == ("Size", 0)
    assert [(v["value"], v["position"]) for v in data["values"]] == [("S", 0), ("M", 1)]
    assert all(set(v) == {"id", "value", "position"} for v in data["values"])

    shown = (await admin.get(f"{ENTITIES}/{entity['id']}", params={"include": "variants"})).json()
    assert shown["data"]["optionTypes"] == [data]


async def test_an_option_type_name_in_use_is_409(
    admin: httpx.AsyncClient, database: Database
) -> None:
    entity = await create_entity(admin, slug="tee")
    await create_option(admin, entity_id=entity["id"], name="Size", values=["S"])
    audits = await count_rows(database, AuditEntry)
    response = await admin.post(
        f"{ENTITIES}/{entity['id']}/options", json={"name": "Size", "values": ["XL"]}
    )
    error_of(response, status=409, code="CONFLICT")
    assert await count_rows(database, OptionType) == 1
    assert await count_rows(database, OptionValue) == 1
    assert await count_rows(database, AuditEntry) == audits


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"values": ["S"]}, "name"),
        ({"name": ""}, "name"),
        ({"name": "Size", "values": "S,M"}, "values"),
        ({"name": "Size", "values": ["S", "S"]}, "values"),
    ],
)
async def test_create_option_type_with_a_bad_body_is_422(
    admin: httpx.AsyncClient, database: Database, body: dict[str, Any], field: str
) -> None:
    entity = await create_entity(admin, slug="tee")
    response = await admin.post(f"{ENTITIES}/{entity['id']}/options", json=body)
    error = error_of(response, status=422, code="VALIDATION_FAILED")
    assert field in error["details"], error
    assert await count_rows(database, OptionType) == 0


async def test_create_option_value_appends_it(admin: httpx.AsyncClient) -> None:
    entity = await create_entity(admin, slug="tee")
    size = await create_option(admin, entity_id=entity["id"], name="Size", values=["S", "M"])
    response = await admin.post(f"{OPTIONS}/{size['id']}/values", json={"value": "L"})
    assert response.status_code == 201
    data = response.json()["data"]
    assert set(data) == {"id", "value", "position", "optionTypeId"}
    assert (data["value"], data["position"], data["optionTypeId"]) == ("L", 2, size["id"])


async def test_an_option_value_in_use_is_409(admin: httpx.AsyncClient, database: Database) -> None:
    entity = await create_entity(admin, slug="tee")
    size = await create_option(admin, entity_id=entity["id"], name="Size", values=["S", "M"])
    response = await admin.post(f"{OPTIONS}/{size['id']}/values", json={"value": "M"})
    error_of(response, status=409, code="CONFLICT")
    assert await count_rows(database, OptionValue) == 2


async def test_options_of_unknown_entities_or_types_are_404(admin: httpx.AsyncClient) -> None:
    error_of(
        await admin.post(f"{ENTITIES}/{UNKNOWN_ID}/options", json={"name": "Size"}),
        status=404,
        code="NOT_FOUND",
    )
    error_of(
        await admin.post(f"{OPTIONS}/{UNKNOWN_ID}/values", json={"value": "S"}),
        status=404,
        code="NOT_FOUND",
    )


# --- variants -----------------------------------------------------------------------------


async def test_create_variant_with_one_value_per_option_type(admin: httpx.AsyncClient) -> None:
    shirt = await create_shirt(admin)
    entity, values = shirt["entity"], shirt["values"]
    response = await admin.post(
        f"{ENTITIES}/{entity['id']}/variants",
        json={
            "sku": "TEE-S-RED",
            "optionValueIds": [values["Red"], values["S"]],
            "metadata": {"weight": 120},
        },
    )
    assert response.status_code == 201
    data = response.json()["data"]
    assert set(data) == VARIANT_FIELDS
    assert (data["entityId"], data["sku"], data["metadata"]) == (
        entity["id"],
        "TEE-S-RED",
        {"weight": 120},
    )
    assert data["createdAt"].endswith("Z")
    assert sorted((v["optionType"], v["value"]) for v in data["optionValues"]) == [
        ("Colour", "Red"),
        ("Size", "S"),
    ]
    assert all(
        set(v) == {"id", "value", "optionType", "optionTypeId"} for v in data["optionValues"]
    )

    shown = await admin.get(f"{ENTITIES}/{entity['id']}", params={"include": "variants"})
    assert [v["sku"] for v in shown.json()["data"]["variants"]] == ["TEE-S-RED"]


async def test_a_variant_missing_an_option_type_is_422(
    admin: httpx.AsyncClient, database: Database
) -> None:
    shirt = await create_shirt(admin)
    response = await admin.post(
        f"{ENTITIES}/{shirt['entity']['id']}/variants",
        json={"sku": "TEE-S", "optionValueIds": [shirt["values"]["S"]]},
    )
    error = error_of(response, status=422, code="VALIDATION_FAILED")
    assert "optionValueIds" in error["details"]
    assert "Colour" in error["details"]["optionValueIds"]
    assert await count_rows(database, Variant) == 0


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"optionValueIds": []}, "sku"),
        ({"sku": "has space", "optionValueIds": []}, "sku"),
        ({"sku": "TEE", "optionValueIds": "S"}, "optionValueIds"),
        ({"sku": "TEE", "optionValueIds": ["not-an-id"]}, "optionValueIds"),
        ({"sku": "TEE", "metadata": "heavy"}, "metadata"),
    ],
)
async def test_create_variant_with_a_bad_body_is_422(
    admin: httpx.AsyncClient, database: Database, body: dict[str, Any], field: str
) -> None:
    entity = await create_entity(admin, slug="plain")
    response = await admin.post(f"{ENTITIES}/{entity['id']}/variants", json=body)
    error = error_of(response, status=422, code="VALIDATION_FAILED")
    assert field in error["details"], error
    assert await count_rows(database, Variant) == 0


async def test_a_variant_with_values_of_another_entitys_options_is_422(
    admin: httpx.AsyncClient, database: Database
) -> None:
    mine = await create_shirt(admin, slug="mine")
    other = await create_shirt(admin, slug="other")
    response = await admin.post(
        f"{ENTITIES}/{mine['entity']['id']}/variants",
        json={"sku": "MINE-1", "optionValueIds": [other["values"]["S"], other["values"]["Red"]]},
    )
    error = error_of(response, status=422, code="VALIDATION_FAILED")
    assert "optionValueIds" in error["details"]
    assert await count_rows(database, Variant) == 0


async def test_a_variant_sku_in_use_is_409(admin: httpx.AsyncClient, database: Database) -> None:
    shirt = await create_shirt(admin)
    path, values = f"{ENTITIES}/{shirt['entity']['id']}/variants", shirt["values"]
    first = await admin.post(
        path, json={"sku": "TEE-1", "optionValueIds": [values["S"], values["Red"]]}
    )
    assert first.status_code == 201
    again = await admin.post(
        path, json={"sku": "TEE-1", "optionValueIds": [values["M"], values["Blue"]]}
    )
    error = error_of(again, status=409, code="CONFLICT")
    assert error["details"] == {"sku": "Already in use."}
    assert await count_rows(database, Variant) == 1


async def test_the_same_combination_twice_is_409(
    admin: httpx.AsyncClient, database: Database
) -> None:
    shirt = await create_shirt(admin)
    path, values = f"{ENTITIES}/{shirt['entity']['id']}/variants", shirt["values"]
    combination = [values["S"], values["Red"]]
    assert (
        await admin.post(path, json={"sku": "TEE-1", "optionValueIds": combination})
    ).status_code == 201
    again = await admin.post(path, json={"sku": "TEE-2", "optionValueIds": combination[::-1]})
    error = error_of(again, status=409, code="CONFLICT")
    assert "TEE-1" in error["message"]
    assert await count_rows(database, Variant) == 1


async def test_generate_creates_the_cartesian_product(
    admin: httpx.AsyncClient, database: Database
) -> None:
    shirt = await create_shirt(admin)
    response = await admin.post(f"{ENTITIES}/{shirt['entity']['id']}/variants/generate")
    assert response.status_code == 200
    data = response.json()["data"]
    assert set(data) == {"createdCount", "existingCount", "totalCount", "created"}
    assert (data["createdCount"], data["existingCount"], data["totalCount"]) == (4, 0, 4)
    combinations = {
        tuple(sorted(v["value"] for v in variant["optionValues"])) for variant in data["created"]
    }
    assert combinations == {("Red", "S"), ("Blue", "S"), ("M", "Red"), ("Blue", "M")}
    assert len({v["sku"] for v in data["created"]}) == 4
    assert all(v["sku"].startswith("TEE-") for v in data["created"])
    assert await count_rows(database, Variant) == 4


async def test_generating_again_creates_no_duplicates(
    admin: httpx.AsyncClient, database: Database
) -> None:
    shirt = await create_shirt(admin)
    path = f"{ENTITIES}/{shirt['entity']['id']}/variants/generate"
    await admin.post(path)
    again = await admin.post(path, json={})
    assert again.status_code == 200
    assert again.json()["data"] == {
        "createdCount": 0,
        "existingCount": 4,
        "totalCount": 4,
        "created": [],
    }
    assert await count_rows(database, Variant) == 4


async def test_generate_keeps_variants_made_by_hand_and_takes_a_sku_prefix(
    admin: httpx.AsyncClient, database: Database
) -> None:
    shirt = await create_shirt(admin)
    entity_id, values = shirt["entity"]["id"], shirt["values"]
    await admin.post(
        f"{ENTITIES}/{entity_id}/variants",
        json={"sku": "HAND-MADE", "optionValueIds": [values["S"], values["Red"]]},
    )
    response = await admin.post(
        f"{ENTITIES}/{entity_id}/variants/generate", json={"skuPrefix": "shirt"}
    )
    data = response.json()["data"]
    assert (data["createdCount"], data["existingCount"], data["totalCount"]) == (3, 1, 4)
    assert all(v["sku"].startswith("SHIRT-") for v in data["created"])
    assert await count_rows(database, Variant) == 4


async def test_generate_without_option_types_is_422(
    admin: httpx.AsyncClient, database: Database
) -> None:
    entity = await create_entity(admin, slug="plain")
    response = await admin.post(f"{ENTITIES}/{entity['id']}/variants/generate")
    error = error_of(response, status=422, code="VALIDATION_FAILED")
    assert "options" in error["details"]
    assert await count_rows(database, Variant) == 0


async def test_generate_with_an_option_type_without_values_is_422(
    admin: httpx.AsyncClient, database: Database
) -> None:
    entity = await create_entity(admin, slug="tee")
    await create_option(admin, entity_id=entity["id"], name="Size", values=["S"])
    await create_option(admin, entity_id=entity["id"], name="Colour", values=[])
    response = await admin.post(f"{ENTITIES}/{entity['id']}/variants/generate")
    error = error_of(response, status=422, code="VALIDATION_FAILED")
    assert "Colour" in error["details"]["options"]
    assert await count_rows(database, Variant) == 0


async def test_variants_of_an_unknown_entity_are_404(admin: httpx.AsyncClient) -> None:
    error_of(
        await admin.post(f"{ENTITIES}/{UNKNOWN_ID}/variants", json={"sku": "X"}),
        status=404,
        code="NOT_FOUND",
    )
    error_of(
        await admin.post(f"{ENTITIES}/{UNKNOWN_ID}/variants/generate"),
        status=404,
        code="NOT_FOUND",
    )


# --- list: filters, sort, include, pagination -----------------------------------------------


@pytest.fixture
async def assortment(admin: httpx.AsyncClient) -> dict[str, Any]:
    """bravo (product, draft, in a category), alpha (digitalDownload, active, with a brand),
    charlie (service, archived), created in that order."""
    bravo = await create_entity(admin, slug="bravo")
    alpha = await create_entity(admin, slug="alpha", type="digitalDownload", status="active")
    await create_entity(admin, slug="charlie", type="service", status="archived")
    category = await create_category(admin, slug="widgets")
    brand = await create_brand(admin, slug="acme")
    await admin.post(f"{ENTITIES}/{bravo['id']}/categories/{category['id']}")
    await admin.post(f"{ENTITIES}/{alpha['id']}/brands/{brand['id']}")
    return {"category": category, "brand": brand}


async def test_list_is_newest_first_in_the_engine_envelope(
    admin: httpx.AsyncClient, assortment: dict[str, Any]
) -> None:
    response = await admin.get(ENTITIES)
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"data", "meta"}
    assert body["meta"] == {"pagination": {"page": 1, "limit": 20, "total": 3, "totalPages": 1}}
    assert slugs(response) == ["charlie", "alpha", "bravo"]
    assert all(set(item) == ENTITY_FIELDS for item in body["data"])
    assert slugs(await admin.get(ENTITIES, params={"sort": "createdAt:desc"})) == slugs(response)


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"type": "digitalDownload"}, ["alpha"]),
        ({"type": "bundle"}, []),
        ({"status": "archived"}, ["charlie"]),
        ({"status": "draft", "type": "product"}, ["bravo"]),
        ({"sort": "slug:asc"}, ["alpha", "bravo", "charlie"]),
        ({"sort": "slug:desc"}, ["charlie", "bravo", "alpha"]),
        ({"sort": "createdAt:asc"}, ["bravo", "alpha", "charlie"]),
        ({"sort": "type"}, ["alpha", "bravo", "charlie"]),
    ],
)
async def test_list_filters_and_sorts(
    admin: httpx.AsyncClient,
    assortment: dict[str, Any],
    params: dict[str, str],
    expected: list[str],
) -> None:
    response = await admin.get(ENTITIES, params=params)
    assert response.status_code == 200
    assert slugs(response) == expected
    assert response.json()["meta"]["pagination"]["total"] == len(expected)


async def test_sort_by_updated_at_puts_the_last_changed_first(
    admin: httpx.AsyncClient, assortment: dict[str, Any]
) -> None:
    bravo = (await admin.get(f"{ENTITIES}/bravo")).json()["data"]
    await admin.patch(f"{ENTITIES}/{bravo['id']}", json={"metadata": {"touched": True}})
    response = await admin.get(ENTITIES, params={"sort": "updatedAt:desc"})
    assert slugs(response)[0] == "bravo"


async def test_list_filters_by_category_and_brand(
    admin: httpx.AsyncClient, assortment: dict[str, Any]
) -> None:
    by_category = await admin.get(ENTITIES, params={"category": assortment["category"]["id"]})
    by_brand = await admin.get(ENTITIES, params={"brand": assortment["brand"]["id"]})
    assert slugs(by_category) == ["bravo"]
    assert slugs(by_brand) == ["alpha"]
    assert slugs(await admin.get(ENTITIES, params={"brand": UNKNOWN_ID})) == []


async def test_anonymous_list_shows_active_entities_only(
    client: httpx.AsyncClient, assortment: dict[str, Any]
) -> None:
    response = await client.get(ENTITIES)
    assert slugs(response) == ["alpha"]
    assert response.json()["meta"]["pagination"]["total"] == 1
    assert slugs(await client.get(ENTITIES, params={"status": "draft"})) == []


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"sort": "price:asc"}, "sort"),
        ({"sort": "slug:sideways"}, "sort"),
        ({"status": "sold"}, "status"),
        ({"type": "car"}, "type"),
        ({"category": "widgets"}, "category"),
        ({"brand": "acme"}, "brand"),
        ({"page": "0"}, "page"),
        ({"page": "two"}, "page"),
        ({"limit": "0"}, "limit"),
        ({"limit": "many"}, "limit"),
        ({"include": "bogus"}, "include"),
        ({"include": "attributes,bogus"}, "include"),
    ],
)
async def test_bad_list_parameters_are_422_naming_the_parameter(
    admin: httpx.AsyncClient, params: dict[str, str], field: str
) -> None:
    error = error_of(await admin.get(ENTITIES, params=params), status=422, code="VALIDATION_FAILED")
    assert field in error["details"], error


async def test_list_pages_with_page_and_limit(admin: httpx.AsyncClient) -> None:
    for n in range(5):
        await create_entity(admin, slug=f"item-{n}")
    newest_first = [f"item-{n}" for n in reversed(range(5))]

    pages = [await admin.get(ENTITIES, params={"page": page, "limit": 2}) for page in (1, 2, 3)]
    assert [p.json()["meta"]["pagination"] for p in pages] == [
        {"page": page, "limit": 2, "total": 5, "totalPages": 3} for page in (1, 2, 3)
    ]
    assert [slugs(p) for p in pages] == [newest_first[:2], newest_first[2:4], newest_first[4:]]

    beyond = await admin.get(ENTITIES, params={"page": 9, "limit": 2})
    assert beyond.status_code == 200 and beyond.json()["data"] == []
    assert beyond.json()["meta"]["pagination"] == {
        "page": 9,
        "limit": 2,
        "total": 5,
        "totalPages": 3,
    }


async def test_list_limit_is_capped_at_100(admin: httpx.AsyncClient) -> None:
    await create_entity(admin, slug="only-one")
    response = await admin.get(ENTITIES, params={"limit": 1000})
    assert response.status_code == 200
    assert response.json()["meta"]["pagination"] == {
        "page": 1,
        "limit": 100,
        "total": 1,
        "totalPages": 1,
    }


async def dressed_entity(admin: httpx.AsyncClient) -> dict[str, Any]:
    """An entity with English texts, a Size option and variant, a category and a brand."""
    entity = await create_entity(admin, slug="dressed", status="active")
    await admin.put(f"{ENTITIES}/{entity['id']}/attributes/en", json={"title": "Dressed"})
    size = await create_option(admin, entity_id=entity["id"], name="Size", values=["S"])
    await admin.post(
        f"{ENTITIES}/{entity['id']}/variants",
        json={"sku": "DRESSED-S", "optionValueIds": [size["values"][0]["id"]]},
    )
    category = await create_category(admin, slug="widgets")
    brand = await create_brand(admin, slug="acme")
    await admin.post(f"{ENTITIES}/{entity['id']}/categories/{category['id']}")
    await admin.post(f"{ENTITIES}/{entity['id']}/brands/{brand['id']}")
    return entity


@pytest.mark.parametrize(
    ("include", "added"),
    [
        (None, set()),
        ("attributes", {"attributes"}),
        ("variants", {"variants", "optionTypes"}),
        ("categories", {"categories"}),
        ("brands", {"brands"}),
        ("attributes,variants,categories,brands", ENTITY_PARTS),
        (" brands , categories ", {"brands", "categories"}),
    ],
)
async def test_include_adds_exactly_the_named_parts(
    admin: httpx.AsyncClient, include: str | None, added: set[str]
) -> None:
    entity = await dressed_entity(admin)
    params = {"include": include} if include is not None else {}
    listed = await admin.get(ENTITIES, params=params)
    one = await admin.get(f"{ENTITIES}/{entity['id']}", params=params)
    assert listed.status_code == 200 and one.status_code == 200
    [item] = listed.json()["data"]
    assert set(item) == ENTITY_FIELDS | added
    assert one.json()["data"] == item


async def test_included_parts_carry_their_fields(admin: httpx.AsyncClient) -> None:
    entity = await dressed_entity(admin)
    response = await admin.get(
        f"{ENTITIES}/{entity['id']}", params={"include": "attributes,variants,categories,brands"}
    )
    data = response.json()["data"]
    assert data["attributes"] == {
        "locale": "en",
        "title": "Dressed",
        "description": None,
        "seoTitle": None,
        "seoDescription": None,
    }
    [variant] = data["variants"]
    assert set(variant) == {"id", "sku", "metadata", "createdAt", "updatedAt", "optionValues"}
    assert variant["sku"] == "DRESSED-S"
    assert [(v["optionType"], v["value"]) for v in variant["optionValues"]] == [("Size", "S")]
    [option] = data["optionTypes"]
    assert option["name"] == "Size" and [v["value"] for v in option["values"]] == ["S"]
    assert [set(c) for c in data["categories"]] == [{"id", "name", "slug", "parentId", "position"}]
    assert [b["slug"] for b in data["brands"]] == ["acme"]


async def test_include_pricing_adds_the_price(admin: httpx.AsyncClient) -> None:
    entity = await create_entity(admin, slug="blue-widget")
    await admin.post(
        "/api/pricing/prices", json={"entityId": entity["id"], "currency": "USD", "amount": 1999}
    )
    listed = await admin.get(ENTITIES, params={"include": "pricing"})
    [item] = listed.json()["data"]
    assert set(item) == ENTITY_FIELDS | {"price"}
    assert item["price"] == {"amount": 1999, "currency": "USD", "formatted": "19.99 USD"}


async def test_include_inventory_adds_stock_and_levels(admin: httpx.AsyncClient) -> None:
    entity = await create_entity(admin, slug="blue-widget")
    listed = await admin.get(ENTITIES, params={"include": "inventory"})
    one = await admin.get(f"{ENTITIES}/{entity['id']}", params={"include": "inventory"})
    assert set(listed.json()["data"][0]) == ENTITY_FIELDS | {"stock", "inventory"}
    assert one.json()["data"]["stock"] is None and one.json()["data"]["inventory"] == []


async def test_include_media_adds_the_attached_assets(admin: httpx.AsyncClient) -> None:
    entity = await create_entity(admin, slug="blue-widget")
    listed = await admin.get(ENTITIES, params={"include": "media"})
    one = await admin.get(f"{ENTITIES}/{entity['id']}", params={"include": "media"})
    assert set(listed.json()["data"][0]) == ENTITY_FIELDS | {"media"}
    assert one.json()["data"]["media"] == []


async def test_get_one_with_a_bogus_include_is_422(admin: httpx.AsyncClient) -> None:
    entity = await create_entity(admin, slug="blue-widget")
    response = await admin.get(f"{ENTITIES}/{entity['id']}", params={"include": "bogus"})
    error = error_of(response, status=422, code="VALIDATION_FAILED")
    assert "include" in error["details"]


# --- permissions --------------------------------------------------------------------------


async def test_anonymous_writes_are_401(
    admin: httpx.AsyncClient, client: httpx.AsyncClient, database: Database
) -> None:
    entity = await create_entity(admin, slug="blue-widget")
    category = await create_category(admin, slug="widgets")
    brand = await create_brand(admin, slug="acme")
    entity_id = entity["id"]
    audits = await count_rows(database, AuditEntry)
    for response in (
        await client.post(ENTITIES, json={"type": "product", "slug": "mine"}),
        await client.patch(f"{ENTITIES}/{entity_id}", json={"slug": "mine"}),
        await client.delete(f"{ENTITIES}/{entity_id}"),
        await client.post(f"{ENTITIES}/{entity_id}/publish"),
        await client.put(f"{ENTITIES}/{entity_id}/attributes/en", json={"title": "x"}),
        await client.post(CATEGORIES, json={"name": "X", "slug": "x"}),
        await client.patch(f"{CATEGORIES}/{category['id']}", json={"name": "X"}),
        await client.delete(f"{CATEGORIES}/{category['id']}"),
        await client.post(BRANDS, json={"name": "X", "slug": "x"}),
        await client.delete(f"{BRANDS}/{brand['id']}"),
        await client.post(f"{ENTITIES}/{entity_id}/categories/{category['id']}"),
        await client.post(f"{ENTITIES}/{entity_id}/options", json={"name": "Size"}),
        await client.post(f"{ENTITIES}/{entity_id}/variants", json={"sku": "X"}),
        await client.post(f"{ENTITIES}/{entity_id}/variants/generate"),
    ):
        error_of(response, status=401, code="UNAUTHORIZED")
    assert await count_rows(database, AuditEntry) == audits
    row = await stored(database, entity_id)
    assert row is not None and (row.slug, row.status) == ("blue-widget", "draft")


async def test_a_key_with_only_catalog_read_is_403_for_writes(
    admin: httpx.AsyncClient, reader: httpx.AsyncClient, database: Database
) -> None:
    entity = await create_entity(admin, slug="blue-widget")
    entity_id = entity["id"]
    audits = await count_rows(database, AuditEntry)
    for response in (
        await reader.post(ENTITIES, json={"type": "product", "slug": "mine"}),
        await reader.patch(f"{ENTITIES}/{entity_id}", json={"slug": "mine"}),
        await reader.delete(f"{ENTITIES}/{entity_id}"),
        await reader.post(f"{ENTITIES}/{entity_id}/publish"),
        await reader.post(CATEGORIES, json={"name": "X", "slug": "x"}),
        await reader.post(BRANDS, json={"name": "X", "slug": "x"}),
    ):
        error = error_of(response, status=403, code="FORBIDDEN")
        assert "catalog:" in error["message"]
    assert await count_rows(database, AuditEntry) == audits
    assert await count_rows(database, CatalogEntity) == 1
    row = await stored(database, entity_id)
    assert row is not None and (row.slug, row.status) == ("blue-widget", "draft")


async def test_a_key_that_may_write_but_not_read_can_change_the_drafts_it_writes(
    app: Starlette, database: Database
) -> None:
    _, plaintext = await make_api_key(
        database, permissions=["catalog:create", "catalog:update", "catalog:delete"]
    )
    async with client_for(app, headers={"x-api-key": plaintext}) as writer:
        draft = await create_entity(writer, slug="blue-widget")
        patched = await writer.patch(f"{ENTITIES}/{draft['id']}", json={"metadata": {"a": 1}})
        published = await act(writer, draft["id"], "publish")
        deleted = await writer.delete(f"{ENTITIES}/{draft['id']}")
    assert [patched.status_code, published.status_code, deleted.status_code] == [200, 200, 200]
    assert await stored(database, draft["id"]) is None


# --- audit ----------------------------------------------------------------------------------


async def test_entity_writes_are_audited_as_catalog_entity(
    admin: httpx.AsyncClient, database: Database
) -> None:
    entity = await create_entity(admin, slug="blue-widget")
    entity_id = entity["id"]
    await admin.patch(f"{ENTITIES}/{entity_id}", json={"slug": "navy-widget"})
    await act(admin, entity_id, "publish")
    await admin.put(f"{ENTITIES}/{entity_id}/attributes/en", json={"title": "Navy"})
    await admin.delete(f"{ENTITIES}/{entity_id}", headers={"x-request-id": "req-delete-1"})

    entries = await audit_entries(database, entity_id=entity_id)
    assert [(e.event, e.entity_type) for e in entries] == [
        ("catalog.create", "catalog_entity"),
        ("catalog.update", "catalog_entity"),
        ("catalog.update", "catalog_entity"),
        ("catalog.update", "catalog_entity"),
        ("catalog.delete", "catalog_entity"),
    ]
    created, renamed, published, texts, deleted = entries
    assert created.before is None and created.after is not None
    assert created.after["slug"] == "blue-widget" and created.after["status"] == "draft"
    assert renamed.before is not None and renamed.after is not None
    assert (renamed.before["slug"], renamed.after["slug"]) == ("blue-widget", "navy-widget")
    assert published.before is not None and published.after is not None
    assert (published.before["status"], published.after["status"]) == ("draft", "active")
    assert texts.after == {
        "attributes.en": {
            "title": "Navy",
            "description": None,
            "seoTitle": None,
            "seoDescription": None,
        }
    }
    assert deleted.before is not None and deleted.before["slug"] == "navy-widget"
    assert deleted.after is None and deleted.request_id == "req-delete-1"
    assert {e.actor_type for e in entries} == {"api_key"}


async def test_category_and_brand_creation_is_audited(
    admin: httpx.AsyncClient, database: Database
) -> None:
    category = await create_category(admin, slug="widgets")
    brand = await create_brand(admin, slug="acme")
    assert await audit_rows(database, entity_id=category["id"]) == [
        ("categories.create", "category")
    ]
    assert await audit_rows(database, entity_id=brand["id"]) == [("brands.create", "brand")]


async def test_rejected_writes_leave_no_audit_row(
    admin: httpx.AsyncClient, database: Database
) -> None:
    entity = await create_entity(admin, slug="blue-widget")
    await create_entity(admin, slug="taken")
    await create_category(admin, slug="widgets")
    audits = await count_rows(database, AuditEntry)
    rejected = [
        await admin.post(ENTITIES, json={"type": "product", "slug": "taken"}),
        await admin.post(ENTITIES, json={"type": "car", "slug": "new-one"}),
        await admin.patch(f"{ENTITIES}/{entity['id']}", json={"slug": "taken"}),
        await act(admin, entity["id"], "discontinue"),
        await admin.post(CATEGORIES, json={"name": "Again", "slug": "widgets"}),
        await admin.post(f"{ENTITIES}/{entity['id']}/variants/generate"),
    ]
    assert [r.status_code for r in rejected] == [409, 422, 409, 409, 409, 422]
    assert await count_rows(database, AuditEntry) == audits
    assert await audit_rows(database, entity_id=entity["id"]) == [
        ("catalog.create", "catalog_entity")
    ]
    row = await stored(database, entity["id"])
    assert row is not None and (row.slug, row.status) == ("blue-widget", "draft")
