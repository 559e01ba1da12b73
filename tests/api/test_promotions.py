"""Promotions through their faces: the engine dialect's documented routes (seed 003,
`/api/promotions`) and GraphQL's `validatePromotion`.

Documented permissions: POST /promotions needs `promotions:create`; PATCH /promotions/:id and
POST /promotions/:id/deactivate need `promotions:update`; listing and validating are public.
Events: `promotions.create`, and `promotions.update` for changes and deactivation.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from starlette.applications import Starlette

from app.db import Database
from app.models.audit import AuditEntry, Event
from app.models.catalog import CatalogEntity
from app.models.promotions import Promotion
from tests.conftest import client_with
from tests.support.catalog import make_entity
from tests.support.pricing import make_price
from tests.support.promotions import make_promotion

BASE = "/api/promotions"
UNKNOWN_ID = "0190b6a2-0000-7000-8000-000000000000"
NOW = datetime.now(UTC)
DOCUMENTED = {
    "code": "SAVE10",
    "name": "Save 10%",
    "type": "percentage_off_order",
    "value": 10,
    "validFrom": "2025-01-01T00:00:00Z",
    "validUntil": "2099-12-31T23:59:59Z",
}
FIELDS = {
    "id", "code", "name", "type", "value", "currency", "validFrom", "validUntil", "usageLimit",
    "perCustomerLimit", "usageCount", "minSubtotal", "customerGroupIds", "entityIds",
    "categoryIds", "buyQuantity", "getQuantity", "stackable", "active", "createdAt", "updatedAt",
}  # fmt: skip
VALIDATION_FIELDS = {
    "valid", "code", "reason", "message", "currency", "subtotal", "modifierDiscountTotal",
    "discount", "total", "freeShipping", "lines", "promotion",
}  # fmt: skip


@pytest.fixture
async def creator(app: Starlette, database: Database) -> AsyncIterator[httpx.AsyncClient]:
    async for http in client_with(app, database, "promotions:create"):
        yield http


@pytest.fixture
async def updater(app: Starlette, database: Database) -> AsyncIterator[httpx.AsyncClient]:
    async for http in client_with(app, database, "promotions:update"):
        yield http


@pytest.fixture
async def mug(database: Database) -> CatalogEntity:
    entity = await make_entity(database, slug="mug")
    await make_price(database, entity, amount=2500)
    return entity


def error_of(response: httpx.Response, *, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"}
    assert body["error"]["code"] == code and body["error"]["message"]
    return body["error"]


async def changes(database: Database, entity_id: str) -> list[tuple[str, str]]:
    """(audit event, outbox event type) pairs for one promotion, oldest first."""
    async with database.read_session() as session:
        audits = await session.scalars(
            select(AuditEntry.event)
            .where(AuditEntry.entity_id == entity_id)
            .order_by(AuditEntry.id)
        )
        events = await session.scalars(
            select(Event.type).where(Event.entity_id == entity_id).order_by(Event.id)
        )
        return list(zip(audits.all(), events.all(), strict=True))


async def promotion_count(database: Database) -> int:
    async with database.read_session() as session:
        return len((await session.scalars(select(Promotion.id))).all())


# --- POST /promotions ---------------------------------------------------------------------


async def test_create_the_documented_body_answers_201(
    admin: httpx.AsyncClient, database: Database
) -> None:
    response = await admin.post(BASE, json=DOCUMENTED)
    assert response.status_code == 201, response.text
    body = response.json()
    assert set(body) == {"data"}
    data = body["data"]
    assert set(data) == FIELDS
    assert (data["code"], data["type"], data["value"]) == ("SAVE10", "percentage_off_order", 10)
    assert data["validFrom"] == "2025-01-01T00:00:00Z"
    assert data["validUntil"] == "2099-12-31T23:59:59Z"
    assert data["active"] is True and data["stackable"] is False and data["usageCount"] == 0
    assert data["minSubtotal"] is None and data["entityIds"] == []
    assert await changes(database, data["id"]) == [("promotions.create", "promotions.create")]


async def test_create_stores_the_code_upper_case_and_flattens_money(
    admin: httpx.AsyncClient,
) -> None:
    body = {
        "code": "take5",
        "name": "Five off",
        "type": "fixed_amount_off_order",
        "value": 500,
        "currency": "USD",
        "minSubtotal": 2000,
        "usageLimit": 100,
        "perCustomerLimit": 1,
        "stackable": True,
    }
    data = (await admin.post(BASE, json=body)).json()["data"]
    assert (data["code"], data["currency"], data["minSubtotal"]) == ("TAKE5", "USD", 2000)
    assert (data["usageLimit"], data["perCustomerLimit"], data["stackable"]) == (100, 1, True)


async def test_create_needs_promotions_create(
    client: httpx.AsyncClient,
    creator: httpx.AsyncClient,
    updater: httpx.AsyncClient,
    database: Database,
) -> None:
    error_of(await client.post(BASE, json=DOCUMENTED), status=401, code="UNAUTHORIZED")
    error_of(await updater.post(BASE, json=DOCUMENTED), status=403, code="FORBIDDEN")
    assert await promotion_count(database) == 0
    assert (await creator.post(BASE, json=DOCUMENTED)).status_code == 201


async def test_a_code_in_use_in_any_case_is_409(
    admin: httpx.AsyncClient, database: Database
) -> None:
    await make_promotion(database, code="SAVE10")
    error = error_of(
        await admin.post(BASE, json={**DOCUMENTED, "code": "save10"}), status=409, code="CONFLICT"
    )
    assert error["details"] == {"code": "Already in use."}
    assert await promotion_count(database) == 1


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"code": "a"}, "code", "3 to 50"),
        ({"code": "no spaces"}, "code", "3 to 50"),
        ({"type": "bogo"}, "type", "One of"),
        ({"value": 0}, "value", "1 to 100"),
        ({"value": 101}, "value", "1 to 100"),
        ({"type": "fixed_amount_off_order", "value": 500}, "currency", "needs the currency"),
        ({"type": "buy_x_get_y", "value": None}, "buyQuantity", "needs this"),
        ({"type": "percentage_off_items"}, "entityIds", "needs entityIds"),
        ({"entityIds": [UNKNOWN_ID]}, "entityIds", "Only for"),
        ({"validUntil": "2024-01-01T00:00:00Z"}, "validUntil", "after validFrom"),
        ({"currency": "usd"}, "currency", "three upper-case letters"),
        ({"currency": "XYZ"}, "currency", "not a known currency"),
        ({"usageLimit": 0}, "usageLimit", "At least 1"),
        ({"minSubtotal": 100}, "currency", "minimum subtotal"),
        ({"customerGroupIds": [UNKNOWN_ID]}, "customerGroupIds", "Unknown id"),
        ({"colour": "red"}, "colour", "Unknown field"),
    ],
)
async def test_create_with_bad_input_is_422_naming_the_field(
    admin: httpx.AsyncClient,
    database: Database,
    change: dict[str, Any],
    field: str,
    message: str,
) -> None:
    body = {**DOCUMENTED, **change}
    error = error_of(await admin.post(BASE, json=body), status=422, code="VALIDATION_FAILED")
    assert message in error["details"][field], error
    assert await promotion_count(database) == 0


# --- GET /promotions ----------------------------------------------------------------------


async def test_list_shows_only_promotions_on_offer_paginated(
    client: httpx.AsyncClient, database: Database
) -> None:
    for code in ("AAA", "BBB", "CCC"):
        await make_promotion(database, code=code)
    await make_promotion(database, code="OFF", active=False)
    await make_promotion(database, code="GONE", valid_until=NOW - timedelta(seconds=1))
    await make_promotion(database, code="LATER", valid_from=NOW + timedelta(days=1))
    response = await client.get(BASE, params={"limit": 2})
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == {"data", "meta"}
    assert body["meta"] == {"pagination": {"page": 1, "limit": 2, "total": 3, "totalPages": 2}}
    assert [p["code"] for p in body["data"]] == ["AAA", "BBB"]
    assert all(set(item) == FIELDS for item in body["data"])
    second = (await client.get(BASE, params={"limit": 2, "page": 2})).json()
    assert [p["code"] for p in second["data"]] == ["CCC"]


# --- PATCH /promotions/{id} and POST /promotions/{id}/deactivate ---------------------------


async def test_patch_changes_fields_and_records_an_update(
    updater: httpx.AsyncClient, database: Database
) -> None:
    promotion = await make_promotion(database, usage_limit=5)
    response = await updater.patch(
        f"{BASE}/{promotion.id}",
        json={"name": "Bigger", "value": 20, "usageLimit": None, "stackable": True},
    )
    assert response.status_code == 200, response.text
    data = response.json()["data"]
    assert (data["name"], data["value"], data["usageLimit"], data["stackable"]) == (
        "Bigger", 20, None, True,
    )  # fmt: skip
    assert data["code"] == "SAVE10"
    assert await changes(database, str(promotion.id)) == [
        ("promotions.create", "promotions.create"),
        ("promotions.update", "promotions.update"),
    ]


async def test_patch_is_checked_like_create(admin: httpx.AsyncClient, database: Database) -> None:
    promotion = await make_promotion(database)
    path = f"{BASE}/{promotion.id}"
    error = error_of(
        await admin.patch(path, json={"value": 150}), status=422, code="VALIDATION_FAILED"
    )
    assert "1 to 100" in error["details"]["value"]
    error_of(
        await admin.patch(f"{BASE}/{UNKNOWN_ID}", json={"value": 5}), status=404, code="NOT_FOUND"
    )


async def test_patch_and_deactivate_need_promotions_update(
    client: httpx.AsyncClient, creator: httpx.AsyncClient, database: Database
) -> None:
    promotion = await make_promotion(database)
    path = f"{BASE}/{promotion.id}"
    error_of(await client.patch(path, json={"value": 5}), status=401, code="UNAUTHORIZED")
    error_of(await creator.patch(path, json={"value": 5}), status=403, code="FORBIDDEN")
    error_of(await client.post(f"{path}/deactivate"), status=401, code="UNAUTHORIZED")
    error_of(await creator.post(f"{path}/deactivate"), status=403, code="FORBIDDEN")


async def test_deactivate_stops_the_code_and_records_an_update(
    updater: httpx.AsyncClient, client: httpx.AsyncClient, database: Database, mug: CatalogEntity
) -> None:
    promotion = await make_promotion(database)
    response = await updater.post(f"{BASE}/{promotion.id}/deactivate")
    assert response.status_code == 200, response.text
    assert set(response.json()) == {"data"}
    assert response.json()["data"]["active"] is False
    assert await changes(database, str(promotion.id)) == [
        ("promotions.create", "promotions.create"),
        ("promotions.update", "promotions.update"),
    ]
    assert (await client.get(BASE)).json()["data"] == []
    validated = await client.post(f"{BASE}/validate", json=cart(mug))
    assert validated.json()["data"]["reason"] == "inactive"
    error_of(await updater.post(f"{BASE}/{UNKNOWN_ID}/deactivate"), status=404, code="NOT_FOUND")
    error_of(await updater.post(f"{BASE}/nope/deactivate"), status=404, code="NOT_FOUND")


# --- POST /promotions/validate ------------------------------------------------------------


def cart(entity: CatalogEntity, *, quantity: int = 2, unit_price: int = 2500, **extra: Any) -> dict:
    """The documented body; prices as a client would (perhaps falsely) claim them."""
    return {
        "code": "SAVE10",
        "currency": "USD",
        "subtotal": unit_price * quantity,
        "lineItems": [
            {
                "entityId": str(entity.id),
                "entityType": "product",
                "quantity": quantity,
                "unitPrice": unit_price,
                "totalPrice": unit_price * quantity,
            }
        ],
        "customerId": "cus_1",
        "customerGroupIds": [],
        **extra,
    }


async def test_validate_answers_the_discount_in_minor_units(
    client: httpx.AsyncClient, database: Database, mug: CatalogEntity
) -> None:
    await make_promotion(database)
    response = await client.post(f"{BASE}/validate", json=cart(mug))
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == {"data"}
    data = body["data"]
    assert set(data) == VALIDATION_FIELDS
    assert (data["valid"], data["code"], data["currency"]) == (True, "SAVE10", "USD")
    assert (data["subtotal"], data["discount"], data["freeShipping"]) == (5000, 500, False)
    assert (data["modifierDiscountTotal"], data["total"]) == (0, 4500)
    assert data["reason"] is None and data["message"] is None
    assert data["lines"] == [
        {
            "entityId": str(mug.id),
            "variantId": None,
            "quantity": 2,
            "unitPrice": 2500,
            "discount": 500,
        }
    ]
    assert set(data["promotion"]) == FIELDS and data["promotion"]["code"] == "SAVE10"


async def test_a_tampered_unit_price_never_changes_the_discount(
    client: httpx.AsyncClient, database: Database, mug: CatalogEntity
) -> None:
    await make_promotion(database, min_subtotal=4000, currency="USD")
    honest = (await client.post(f"{BASE}/validate", json=cart(mug))).json()["data"]
    for claimed in (1, 999_999):
        lying = (await client.post(f"{BASE}/validate", json=cart(mug, unit_price=claimed))).json()
        assert lying["data"] == honest
    cheap = cart(mug, quantity=1, unit_price=100_000)  # claims 1000.00; really 25.00
    refused = (await client.post(f"{BASE}/validate", json=cheap)).json()["data"]
    assert (refused["valid"], refused["reason"]) == (False, "min_subtotal_not_met")


async def test_an_unusable_code_is_a_200_with_the_reason(
    client: httpx.AsyncClient, mug: CatalogEntity
) -> None:
    response = await client.post(f"{BASE}/validate", json=cart(mug, code="NOPE"))
    assert response.status_code == 200, response.text
    data = response.json()["data"]
    assert (data["valid"], data["reason"], data["discount"]) == (False, "unknown_code", 0)
    assert data["message"] and data["promotion"] is None


@pytest.mark.parametrize(
    "change",
    [
        {"currency": "usd"},
        {"lineItems": [{"entityId": "nope", "quantity": 1}]},
        {"lineItems": [{"entityId": UNKNOWN_ID, "quantity": 0}]},
        {"lineItems": [{"quantity": 1}]},
        {"code": None},
    ],
)
async def test_a_malformed_validate_body_is_422(
    client: httpx.AsyncClient, database: Database, mug: CatalogEntity, change: dict[str, Any]
) -> None:
    await make_promotion(database)
    response = await client.post(f"{BASE}/validate", json={**cart(mug), **change})
    error_of(response, status=422, code="VALIDATION_FAILED")


# --- GraphQL --------------------------------------------------------------------------------

VALIDATE = """mutation V($input: ValidatePromotionInput!) {
  validatePromotion(input: $input) {
    valid code reason message freeShipping
    discount { amount currency formatted }
    subtotal { amount }
    promotion { code type value }
  }
}"""


async def test_graphql_validate_promotion(
    client: httpx.AsyncClient, database: Database, mug: CatalogEntity
) -> None:
    await make_promotion(database, code="HALF", value=50)
    variables = {
        "input": {
            "code": "half",
            "currency": "USD",
            "lineItems": [{"entityId": str(mug.id), "quantity": 1, "unitPrice": 1}],
        }
    }
    response = await client.post("/graphql", json={"query": VALIDATE, "variables": variables})
    assert response.status_code == 200, response.text
    result = response.json()["data"]["validatePromotion"]
    assert result["valid"] and result["code"] == "HALF"
    assert result["discount"] == {"amount": 1250, "currency": "USD", "formatted": "12.50 USD"}
    assert result["subtotal"] == {"amount": 2500}
    assert result["promotion"] == {"code": "HALF", "type": "PERCENTAGE_OFF_ORDER", "value": 50}


async def test_graphql_lists_inactive_promotions_only_for_staff(
    client: httpx.AsyncClient, admin: httpx.AsyncClient, database: Database
) -> None:
    await make_promotion(database, code="ONN")
    await make_promotion(database, code="OFF", active=False)
    query = "{ promotions(activeOnly: false) { items { code } totalCount } }"
    refused = (await client.post("/graphql", json={"query": query})).json()
    assert refused["errors"][0]["extensions"]["code"] == "UNAUTHORIZED"
    listed = (await admin.post("/graphql", json={"query": query})).json()["data"]["promotions"]
    assert [p["code"] for p in listed["items"]] == ["ONN", "OFF"]
    one = '{ promotion(idOrCode: "off") { code active } }'
    assert (await admin.post("/graphql", json={"query": one})).json()["data"]["promotion"] == {
        "code": "OFF",
        "active": False,
    }
