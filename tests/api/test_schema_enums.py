"""Closed sets are GraphQL enums; the REST dialects still speak the documented words.

Introspected over HTTP as a client would: no status, kind or type is a `String`. Then the
same order and entity read and written through GraphQL (`CANCELLED`) and both REST dialects
(`cancelled`), and a word outside the set refused in each dialect's envelope.
"""

from __future__ import annotations

import re
from typing import Any

import httpx
from sqlalchemy import func, select

from app.db import Database
from app.models.catalog import CatalogEntity
from tests.support.catalog import make_entity
from tests.support.openapi import resolved

INTROSPECT = """{
  __schema { types { name kind
    fields { name type { ...Named } args { name type { ...Named } } }
    inputFields { name type { ...Named } }
    enumValues { name description } } }
}
fragment Named on __Type { kind name ofType { kind name ofType { kind name ofType { name } } } }
"""

# A field named like this holds one of a closed set of words.
CLOSED = re.compile(r"^(status|kind|type|actorType|paymentStatus)$|Status$")
# Closed-set-looking names that are open on purpose.
OPEN = {
    "AuditEntry.entityType",  # grows with every domain; e.g. catalog_entity, order
    "AuditEntryFilter.entityType",
    "PromotionLineItemInput.entityType",  # documented as ignored
    "AuthStatus.status",  # Better Auth's `{"status": true}`: a boolean, not a word
    "LogEntry.status",  # an HTTP status code: a number, not a word
    "Job.kind",  # a job handler's name (webhook.deliver): grows with every kind of work
    "JobFilter.kind",
    "Event.type",  # an event's name (orders.statusChange): grows with every domain, as webhooks'
    "WebhookDelivery.responseStatus",  # the receiver's HTTP status code, likewise
}


def named(type_ref: dict[str, Any]) -> dict[str, Any]:
    while type_ref.get("ofType"):
        type_ref = type_ref["ofType"]
    return type_ref


async def introspect(client: httpx.AsyncClient) -> list[dict[str, Any]]:
    response = await client.post("/graphql", json={"query": INTROSPECT})
    assert response.status_code == 200, response.text
    return [
        t for t in response.json()["data"]["__schema"]["types"] if not t["name"].startswith("__")
    ]


async def test_no_status_kind_or_type_is_a_string(client: httpx.AsyncClient) -> None:
    strings: list[str] = []
    enums: set[str] = set()
    for type_ in await introspect(client):
        places = [(f["name"], f["type"]) for f in type_["fields"] or []]
        places += [(f["name"], f["type"]) for f in type_["inputFields"] or []]
        for field in type_["fields"] or []:
            places += [(f"{field['name']}({a['name']})", a["type"]) for a in field["args"]]
        for name, type_ref in places:
            bare = name.split("(")[-1].rstrip(")")
            if not CLOSED.search(bare) or f"{type_['name']}.{name}" in OPEN:
                continue
            target = named(type_ref)
            if target["kind"] == "ENUM":
                enums.add(target["name"])
            elif target["kind"] == "SCALAR":
                strings.append(f"{type_['name']}.{name}: {target['name']}")
    assert strings == []
    # The sets the issue names, each an enum.
    assert {
        "OrderStatus", "OrderPaymentStatus", "PaymentStatus", "ReservationStatus",
        "PromotionKind", "AdjustmentKind", "EntityStatus", "EntityType", "CartStatus",
        "ApiKeyStatus", "MovementType", "ActorType",
    } <= enums  # fmt: skip


async def test_every_enum_value_is_described(client: httpx.AsyncClient) -> None:
    enums = [t for t in await introspect(client) if t["kind"] == "ENUM"]
    assert len(enums) >= 16
    bare = [
        f"{t['name']}.{v['name']}" for t in enums for v in t["enumValues"] if not v["description"]
    ]
    assert bare == []


async def test_graphql_names_and_rest_words_are_the_same_values(
    admin: httpx.AsyncClient, database: Database
) -> None:
    created = await admin.post(
        "/graphql",
        json={
            "query": "mutation { createCatalogEntity(input: {type: DIGITAL_DOWNLOAD, "
            'slug: "ebook", status: ACTIVE}) { id type status } }'
        },
    )
    entity = created.json()["data"]["createCatalogEntity"]
    assert (entity["type"], entity["status"]) == ("DIGITAL_DOWNLOAD", "ACTIVE")

    engine = await admin.get(f"/api/catalog/entities/{entity['id']}")
    assert engine.status_code == 200
    assert (engine.json()["data"]["type"], engine.json()["data"]["status"]) == (
        "digitalDownload",
        "active",
    )
    listed = await admin.get("/api/catalog/entities", params={"type": "digitalDownload"})
    assert [e["id"] for e in listed.json()["data"]] == [entity["id"]]

    written = await admin.post(
        "/api/catalog/entities", json={"type": "giftCard", "slug": "card", "status": "archived"}
    )
    assert written.status_code == 201, written.text
    assert (written.json()["data"]["type"], written.json()["data"]["status"]) == (
        "giftCard",
        "archived",
    )
    async with database.read_session() as session:
        stored = await session.scalar(select(CatalogEntity).where(CatalogEntity.slug == "card"))
    assert stored is not None and (stored.type, stored.status) == ("giftCard", "archived")
    read = await admin.post(
        "/graphql", json={"query": '{ catalogEntity(idOrSlug: "card") { type status } }'}
    )
    assert read.json()["data"]["catalogEntity"] == {"type": "GIFT_CARD", "status": "ARCHIVED"}


async def count_entities(database: Database) -> int:
    async with database.read_session() as session:
        return await session.scalar(select(func.count()).select_from(CatalogEntity)) or 0


async def test_a_word_outside_the_set_is_refused_in_each_dialect(
    admin: httpx.AsyncClient, database: Database
) -> None:
    await make_entity(database, slug="mug")
    # GraphQL names, not words: the stored word is not a value of the enum.
    graphql = await admin.post(
        "/graphql",
        json={
            "query": 'mutation { createCatalogEntity(input: {type: "product", slug: "x"}) { id } }'
        },
    )
    assert graphql.json()["errors"][0]["extensions"]["code"] == "VALIDATION_FAILED"

    engine = await admin.post("/api/catalog/entities", json={"type": "PRODUCT", "slug": "y"})
    assert engine.status_code == 422
    assert engine.json()["error"]["details"] == {
        "type": "One of product, digitalDownload, service, bundle, giftCard."
    }
    listing = await admin.get("/api/orders", params={"status": "lost"})
    assert listing.status_code in (400, 422)
    assert "cancelled" in listing.json()["error"]["details"]["status"]

    gateway = await admin.get("/api/v1/orders", params={"status": "CANCELLED"})
    assert gateway.status_code == 400
    assert gateway.json()["success"] is False
    assert "partially_fulfilled" in str(gateway.json())
    assert await count_entities(database) == 1


async def test_the_openapi_document_lists_the_words(client: httpx.AsyncClient) -> None:
    document = (await client.get("/api/doc")).json()
    body = document["paths"]["/api/orders/{id}/status"]["patch"]["requestBody"]["content"][
        "application/json"
    ]["schema"]
    assert resolved(document, body)["properties"]["status"]["enum"] == [
        "pending", "confirmed", "processing", "partially_fulfilled", "fulfilled", "cancelled",
        "refunded",
    ]  # fmt: skip
    assert "PARTIALLY_FULFILLED" not in str(document)
