"""Pricing through its faces: the engine dialect's documented routes (seed 003,
`/api/pricing`) and GraphQL's mutations and `resolvePrice`.

Documented permissions: POST /pricing/prices and POST /pricing/modifiers need
`pricing:create`; GET /pricing/prices needs `pricing:update`. Events: `pricing.create` for
new records, `pricing.update` for changes.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from starlette.applications import Starlette

from app.db import Database
from app.models.audit import AuditEntry, Event
from app.models.catalog import CatalogEntity
from app.models.pricing import Price
from tests.conftest import client_with
from tests.support.catalog import make_entity
from tests.support.factories import customer
from tests.support.openapi import request_body, response_body
from tests.support.pricing import make_group, make_modifier, make_price, variants_of
from tests.support.queries import count_queries

PRICES = "/api/pricing/prices"
MODIFIERS = "/api/pricing/modifiers"
UNKNOWN_ID = "0190b6a2-0000-7000-8000-000000000000"
PRICE_FIELDS = {
    "id",
    "entityId",
    "variantId",
    "currency",
    "amount",
    "customerGroupId",
    "minQuantity",
    "validFrom",
    "validUntil",
    "createdAt",
    "updatedAt",
}
MODIFIER_FIELDS = {
    "id",
    "name",
    "kind",
    "value",
    "currency",
    "entityId",
    "customerGroupId",
    "minQuantity",
    "validFrom",
    "validUntil",
    "active",
    "priority",
    "createdAt",
    "updatedAt",
}
RESOLVE = """query R($entityId: ID!, $variantId: ID, $currency: String!, $quantity: Int! = 1,
  $groups: [ID!]) {
  resolvePrice(entityId: $entityId, variantId: $variantId, currency: $currency,
    quantity: $quantity, customerGroupIds: $groups) {
    baseAmount { amount currency formatted }
    amount { amount currency }
    discount { amount }
    quantity
    price { id entityId variantId customerGroupId minQuantity amount { amount currency } }
    modifiers { modifierId name kind value discount { amount currency } }
  }
}"""


# --- helpers ------------------------------------------------------------------------------


@pytest.fixture
async def creator(app: Starlette, database: Database) -> AsyncIterator[httpx.AsyncClient]:
    """Holds `pricing:create` only."""
    async for http in client_with(app, database, "pricing:create"):
        yield http


@pytest.fixture
async def updater(app: Starlette, database: Database) -> AsyncIterator[httpx.AsyncClient]:
    """Holds `pricing:update` only."""
    async for http in client_with(app, database, "pricing:update"):
        yield http


@pytest.fixture
async def mug(database: Database) -> CatalogEntity:
    return await make_entity(database, slug="mug")


def error_of(response: httpx.Response, *, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"}
    assert body["error"]["code"] == code and body["error"]["message"]
    return body["error"]


async def gql(client: httpx.AsyncClient, query: str, **variables: Any) -> dict[str, Any]:
    response = await client.post("/graphql", json={"query": query, "variables": variables})
    assert response.status_code == 200, response.text
    return response.json()


def code_of(body: dict[str, Any]) -> str:
    return body["errors"][0]["extensions"]["code"]


async def changes(database: Database, entity_id: str) -> list[tuple[str, str]]:
    """(audit event, outbox event type) pairs for one record, oldest first."""
    async with database.read_session() as session:
        audits = (
            await session.scalars(
                select(AuditEntry.event)
                .where(AuditEntry.entity_id == entity_id)
                .order_by(AuditEntry.id)
            )
        ).all()
        events = (
            await session.scalars(
                select(Event.type).where(Event.entity_id == entity_id).order_by(Event.id)
            )
        ).all()
    return list(zip(audits, events, strict=True))


async def price_count(database: Database) -> int:
    async with database.read_session() as session:
        return len((await session.scalars(select(Price.id))).all())


# --- POST /pricing/prices -------------------------------------------------------------------


async def test_create_price_answers_201_with_a_flat_price_in_minor_units(
    admin: httpx.AsyncClient, database: Database, mug: CatalogEntity
) -> None:
    response = await admin.post(
        PRICES, json={"entityId": str(mug.id), "currency": "USD", "amount": 2999}
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert set(body) == {"data"}
    data = body["data"]
    assert set(data) == PRICE_FIELDS
    assert (data["entityId"], data["currency"], data["amount"]) == (str(mug.id), "USD", 2999)
    assert data["variantId"] is None and data["customerGroupId"] is None
    assert data["minQuantity"] == 1
    assert data["validFrom"] is None and data["validUntil"] is None
    assert data["createdAt"].endswith("Z") and data["updatedAt"].endswith("Z")
    assert await changes(database, data["id"]) == [("pricing.create", "pricing.create")]


async def test_create_price_takes_variant_group_tier_and_window(
    admin: httpx.AsyncClient, database: Database
) -> None:
    shirt = await make_entity(database, slug="shirt", sizes=("S",))
    small = (await variants_of(database, shirt))["SHIRT-S"]
    trade = await make_group(database, name="Trade")
    body = {
        "entityId": str(shirt.id),
        "variantId": str(small.id),
        "currency": "EUR",
        "amount": 1500,
        "customerGroupId": str(trade.id),
        "minQuantity": 10,
        "validFrom": "2026-01-01T00:00:00Z",
        "validUntil": "2026-12-31T23:59:59+00:00",
    }
    response = await admin.post(PRICES, json=body)
    assert response.status_code == 201, response.text
    data = response.json()["data"]
    assert data["variantId"] == str(small.id) and data["customerGroupId"] == str(trade.id)
    assert (data["currency"], data["amount"], data["minQuantity"]) == ("EUR", 1500, 10)
    assert data["validFrom"] == "2026-01-01T00:00:00Z"
    assert data["validUntil"] == "2026-12-31T23:59:59Z"


async def test_create_price_needs_pricing_create(
    client: httpx.AsyncClient,
    creator: httpx.AsyncClient,
    updater: httpx.AsyncClient,
    database: Database,
    mug: CatalogEntity,
) -> None:
    body = {"entityId": str(mug.id), "currency": "USD", "amount": 100}
    error_of(await client.post(PRICES, json=body), status=401, code="UNAUTHORIZED")
    error_of(await updater.post(PRICES, json=body), status=403, code="FORBIDDEN")
    assert await price_count(database) == 0
    assert (await creator.post(PRICES, json=body)).status_code == 201


@pytest.mark.parametrize(
    ("change", "what"),
    [
        ({"entityId": UNKNOWN_ID}, "Entity"),
        ({"entityId": "nope"}, "Entity"),
        ({"variantId": UNKNOWN_ID}, "Variant"),
        ({"customerGroupId": UNKNOWN_ID}, "Customer group"),
    ],
)
async def test_create_price_for_something_unknown_is_404(
    admin: httpx.AsyncClient,
    database: Database,
    mug: CatalogEntity,
    change: dict[str, str],
    what: str,
) -> None:
    body = {"entityId": str(mug.id), "currency": "USD", "amount": 100, **change}
    error = error_of(await admin.post(PRICES, json=body), status=404, code="NOT_FOUND")
    assert error["message"].startswith(what)
    assert await price_count(database) == 0


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"currency": "usd"}, "currency", "three upper-case letters"),
        ({"currency": "XYZ"}, "currency", "XYZ is not a known currency"),
        ({"amount": -1}, "amount", "0 or more"),
        ({"amount": "29.99"}, "amount", "Int"),
        ({"amount": None}, "amount", "null"),
        ({"minQuantity": 0}, "minQuantity", "At least 1"),
        (
            {"validFrom": "2026-02-01T00:00:00Z", "validUntil": "2026-01-01T00:00:00Z"},
            "validUntil",
            "after validFrom",
        ),
        ({"validFrom": "2026-02-01T00:00:00"}, "validFrom", "time zone"),
        ({"colour": "red"}, "colour", "Unknown field"),
    ],
)
async def test_create_price_with_bad_input_is_422_naming_the_field(
    admin: httpx.AsyncClient,
    database: Database,
    mug: CatalogEntity,
    change: dict[str, Any],
    field: str,
    message: str,
) -> None:
    body = {"entityId": str(mug.id), "currency": "USD", "amount": 100, **change}
    error = error_of(await admin.post(PRICES, json=body), status=422, code="VALIDATION_FAILED")
    assert message in error["details"][field]
    assert await price_count(database) == 0


async def test_create_price_without_an_amount_is_422(
    admin: httpx.AsyncClient, mug: CatalogEntity
) -> None:
    response = await admin.post(PRICES, json={"entityId": str(mug.id), "currency": "USD"})
    error = error_of(response, status=422, code="VALIDATION_FAILED")
    assert error["details"] == {"amount": "Field is required."}


async def test_a_variant_of_another_entity_is_422(
    admin: httpx.AsyncClient, database: Database, mug: CatalogEntity
) -> None:
    shirt = await make_entity(database, slug="shirt", sizes=("S",))
    small = (await variants_of(database, shirt))["SHIRT-S"]
    body = {"entityId": str(mug.id), "variantId": str(small.id), "currency": "USD", "amount": 1}
    error = error_of(await admin.post(PRICES, json=body), status=422, code="VALIDATION_FAILED")
    assert error["details"] == {"variantId": "Not a variant of this entity."}


# --- GET /pricing/prices --------------------------------------------------------------------


async def test_list_prices_is_paginated_in_the_engine_envelope(
    admin: httpx.AsyncClient, database: Database, mug: CatalogEntity
) -> None:
    for amount in (1000, 900, 800):
        await make_price(database, mug, amount=amount, min_quantity=1 + (1000 - amount) // 10)
    response = await admin.get(PRICES, params={"limit": 2})
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"data", "meta"}
    assert body["meta"] == {"pagination": {"page": 1, "limit": 2, "total": 3, "totalPages": 2}}
    assert [(p["amount"], p["minQuantity"]) for p in body["data"]] == [(1000, 1), (900, 11)]
    assert all(set(item) == PRICE_FIELDS for item in body["data"])
    second = (await admin.get(PRICES, params={"limit": 2, "page": 2})).json()
    assert [p["amount"] for p in second["data"]] == [800]


async def test_list_prices_filters_by_entity_variant_currency_and_group(
    admin: httpx.AsyncClient, database: Database, mug: CatalogEntity
) -> None:
    shirt = await make_entity(database, slug="shirt", sizes=("S",))
    small = (await variants_of(database, shirt))["SHIRT-S"]
    trade = await make_group(database, name="Trade")
    await make_price(database, mug, amount=1)
    await make_price(database, mug, amount=2, currency="EUR")
    await make_price(database, shirt, amount=3)
    await make_price(database, shirt, variant=small, amount=4)
    await make_price(database, shirt, amount=5, group=trade)

    async def amounts(**params: str) -> list[int]:
        response = await admin.get(PRICES, params=params)
        assert response.status_code == 200, response.text
        return [item["amount"] for item in response.json()["data"]]

    assert await amounts(entityId=str(mug.id)) == [1, 2]
    assert await amounts(variantId=str(small.id)) == [4]
    assert await amounts(currency="EUR") == [2]
    assert await amounts(customerGroupId=str(trade.id)) == [5]
    assert await amounts(entityId=str(shirt.id), currency="USD") == [3, 4, 5]
    assert await amounts(entityId=UNKNOWN_ID) == []


async def test_list_prices_needs_pricing_update_as_documented(
    client: httpx.AsyncClient, creator: httpx.AsyncClient, updater: httpx.AsyncClient
) -> None:
    error_of(await client.get(PRICES), status=401, code="UNAUTHORIZED")
    error_of(await creator.get(PRICES), status=403, code="FORBIDDEN")
    response = await updater.get(PRICES)
    assert response.status_code == 200 and response.json()["data"] == []


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"entityId": "nope"}, "entityId"),
        ({"customerGroupId": "nope"}, "customerGroupId"),
        ({"currency": "dollars"}, "currency"),
        ({"limit": "0"}, "limit"),
        ({"page": "x"}, "page"),
    ],
)
async def test_list_prices_with_bad_parameters_is_422(
    admin: httpx.AsyncClient, params: dict[str, str], field: str
) -> None:
    error = error_of(await admin.get(PRICES, params=params), status=422, code="VALIDATION_FAILED")
    assert field in error["details"]


# --- POST /pricing/modifiers ----------------------------------------------------------------


async def test_create_modifier_answers_201_and_records_pricing_create(
    admin: httpx.AsyncClient, database: Database, mug: CatalogEntity
) -> None:
    trade = await make_group(database, name="Trade")
    body = {
        "name": "Trade 10%",
        "kind": "percentage",
        "value": 10,
        "entityId": str(mug.id),
        "customerGroupId": str(trade.id),
        "minQuantity": 5,
        "validFrom": "2026-01-01T00:00:00Z",
        "priority": 2,
    }
    response = await admin.post(MODIFIERS, json=body)
    assert response.status_code == 201, response.text
    data = response.json()["data"]
    assert set(data) == MODIFIER_FIELDS
    assert (data["name"], data["kind"], data["value"], data["currency"]) == (
        "Trade 10%",
        "percentage",
        10,
        None,
    )
    assert (data["entityId"], data["customerGroupId"]) == (str(mug.id), str(trade.id))
    assert (data["minQuantity"], data["priority"], data["active"]) == (5, 2, True)
    assert data["validFrom"] == "2026-01-01T00:00:00Z" and data["validUntil"] is None
    assert await changes(database, data["id"]) == [("pricing.create", "pricing.create")]


async def test_create_modifier_needs_pricing_create(
    client: httpx.AsyncClient, creator: httpx.AsyncClient, updater: httpx.AsyncClient
) -> None:
    body = {"name": "Sale", "kind": "fixed", "value": 100, "currency": "USD"}
    error_of(await client.post(MODIFIERS, json=body), status=401, code="UNAUTHORIZED")
    error_of(await updater.post(MODIFIERS, json=body), status=403, code="FORBIDDEN")
    response = await creator.post(MODIFIERS, json=body)
    assert response.status_code == 201
    assert response.json()["data"]["entityId"] is None  # every entity


@pytest.mark.parametrize(
    ("body", "status", "field"),
    [
        ({"kind": "percentage", "value": 150}, 422, "value"),
        ({"kind": "fixed", "value": 100}, 422, "currency"),
        ({"kind": "markup", "value": 5}, 422, "kind"),
        ({"kind": "percentage"}, 422, "value"),
        ({"kind": "percentage", "value": 5, "entityId": UNKNOWN_ID}, 404, None),
        ({"kind": "percentage", "value": 5, "customerGroupId": UNKNOWN_ID}, 404, None),
    ],
)
async def test_create_modifier_refuses_bad_or_unknown_input(
    admin: httpx.AsyncClient, body: dict[str, Any], status: int, field: str | None
) -> None:
    response = await admin.post(MODIFIERS, json={"name": "Sale", **body})
    if field is None:
        error_of(response, status=status, code="NOT_FOUND")
    else:
        error = error_of(response, status=status, code="VALIDATION_FAILED")
        assert field in error["details"]


# --- GraphQL: changes -----------------------------------------------------------------------


async def test_update_price_records_pricing_update_with_before_and_after(
    admin: httpx.AsyncClient, database: Database, mug: CatalogEntity
) -> None:
    price = await make_price(database, mug, amount=1000)
    body = await gql(
        admin,
        """mutation($input: UpdatePriceInput!) {
          updatePrice(input: $input) { id amount { amount currency } minQuantity validUntil }
        }""",
        input={"id": str(price.id), "amount": 850, "validUntil": "2030-01-01T00:00:00Z"},
    )
    assert body["data"]["updatePrice"] == {
        "id": str(price.id),
        "amount": {"amount": 850, "currency": "USD"},
        "minQuantity": 1,
        "validUntil": "2030-01-01T00:00:00Z",
    }
    assert await changes(database, str(price.id)) == [
        ("pricing.create", "pricing.create"),
        ("pricing.update", "pricing.update"),
    ]
    async with database.read_session() as session:
        entry = await session.scalar(
            select(AuditEntry).where(
                AuditEntry.entity_id == str(price.id), AuditEntry.event == "pricing.update"
            )
        )
    assert entry is not None and entry.before is not None and entry.after is not None
    assert (entry.before["amount"], entry.after["amount"]) == (1000, 850)


async def test_update_price_needs_pricing_update(
    creator: httpx.AsyncClient, database: Database, mug: CatalogEntity
) -> None:
    price = await make_price(database, mug, amount=1000)
    body = await gql(
        creator,
        "mutation($input: UpdatePriceInput!) { updatePrice(input: $input) { id } }",
        input={"id": str(price.id), "amount": 1},
    )
    assert code_of(body) == "FORBIDDEN"


async def test_customer_groups_are_created_listed_and_joined(
    admin: httpx.AsyncClient, database: Database
) -> None:
    created = await gql(
        admin,
        """mutation { createCustomerGroup(input: {name: "Wholesale", description: "B2B"}) {
          id name description createdAt } }""",
    )
    group = created["data"]["createCustomerGroup"]
    assert (group["name"], group["description"]) == ("Wholesale", "B2B")
    duplicate = await gql(
        admin, 'mutation { createCustomerGroup(input: {name: "Wholesale"}) { id } }'
    )
    assert code_of(duplicate) == "CONFLICT"

    membership = """mutation($input: CustomerGroupMembershipInput!) {
      %s(input: $input) { id name } }"""
    member = str((await customer(database)).id)
    joined = {"customerGroupId": group["id"], "customerId": member}
    body = await gql(admin, membership % "addCustomerToGroup", input=joined)
    assert body["data"]["addCustomerToGroup"] == {"id": group["id"], "name": "Wholesale"}
    listing = await gql(
        admin,
        """query($customerId: String, $groupId: ID!) {
          customerGroups(customerId: $customerId) { totalCount items { name } }
          customerGroupMembers(customerGroupId: $groupId) { items { customerId } }
        }""",
        customerId=member,
        groupId=group["id"],
    )
    assert listing["data"]["customerGroups"] == {"totalCount": 1, "items": [{"name": "Wholesale"}]}
    assert listing["data"]["customerGroupMembers"]["items"] == [{"customerId": member}]

    body = await gql(admin, membership % "removeCustomerFromGroup", input=joined)
    assert "errors" not in body
    again = await gql(admin, membership % "removeCustomerFromGroup", input=joined)
    assert code_of(again) == "NOT_FOUND"
    assert await changes(database, group["id"]) == [
        ("pricing.create", "pricing.create"),
        ("pricing.update", "pricing.update"),
        ("pricing.update", "pricing.update"),
    ]


async def test_staff_lists_need_pricing_update(
    client: httpx.AsyncClient, creator: httpx.AsyncClient
) -> None:
    query = "{ %s { totalCount } }"
    for field in ("prices", "priceModifiers", "customerGroups"):
        assert code_of(await gql(client, query % field)) == "UNAUTHORIZED"
        assert code_of(await gql(creator, query % field)) == "FORBIDDEN"


async def test_update_price_modifier_can_switch_a_discount_off(
    admin: httpx.AsyncClient, database: Database, mug: CatalogEntity
) -> None:
    await make_price(database, mug, amount=1000)
    modifier = await make_modifier(database, kind="percentage", value=10)
    before = await gql(admin, RESOLVE, entityId=str(mug.id), currency="USD")
    assert before["data"]["resolvePrice"]["amount"]["amount"] == 900
    body = await gql(
        admin,
        """mutation($input: UpdatePriceModifierInput!) {
          updatePriceModifier(input: $input) { id active } }""",
        input={"id": str(modifier.id), "active": False},
    )
    assert body["data"]["updatePriceModifier"] == {"id": str(modifier.id), "active": False}
    after = await gql(admin, RESOLVE, entityId=str(mug.id), currency="USD")
    assert after["data"]["resolvePrice"]["amount"]["amount"] == 1000


# --- GraphQL: resolvePrice ------------------------------------------------------------------


async def test_resolve_price_is_public_and_shows_base_final_and_modifiers(
    client: httpx.AsyncClient, database: Database, mug: CatalogEntity
) -> None:
    price = await make_price(database, mug, amount=2000)
    await make_price(database, mug, amount=1800, min_quantity=10)
    modifier = await make_modifier(database, kind="percentage", value=10, name="Spring")
    body = await gql(client, RESOLVE, entityId=str(mug.id), currency="USD", quantity=2)
    assert body["data"]["resolvePrice"] == {
        "baseAmount": {"amount": 2000, "currency": "USD", "formatted": "20.00 USD"},
        "amount": {"amount": 1800, "currency": "USD"},
        "discount": {"amount": 200},
        "quantity": 2,
        "price": {
            "id": str(price.id),
            "entityId": str(mug.id),
            "variantId": None,
            "customerGroupId": None,
            "minQuantity": 1,
            "amount": {"amount": 2000, "currency": "USD"},
        },
        "modifiers": [
            {
                "modifierId": str(modifier.id),
                "name": "Spring",
                "kind": "PERCENTAGE",
                "value": 10,
                "discount": {"amount": 200, "currency": "USD"},
            }
        ],
    }
    tier = await gql(client, RESOLVE, entityId=str(mug.id), currency="USD", quantity=10)
    assert tier["data"]["resolvePrice"]["amount"]["amount"] == 1620


async def test_resolve_price_is_null_when_unpriced(
    client: httpx.AsyncClient, database: Database, mug: CatalogEntity
) -> None:
    await make_price(database, mug, amount=1000)
    for entity_id, currency in ((str(mug.id), "EUR"), (UNKNOWN_ID, "USD"), ("nope", "USD")):
        body = await gql(client, RESOLVE, entityId=entity_id, currency=currency)
        assert body == {"data": {"resolvePrice": None}}


async def test_resolve_price_prices_a_variant_with_the_entity_price_as_fallback(
    client: httpx.AsyncClient, database: Database
) -> None:
    shirt = await make_entity(database, slug="shirt", sizes=("S", "M"))
    variants = await variants_of(database, shirt)
    await make_price(database, shirt, amount=1000)
    await make_price(database, shirt, variant=variants["SHIRT-S"], amount=1100)

    async def amount(variant: str) -> int:
        body = await gql(client, RESOLVE, entityId=str(shirt.id), variantId=variant, currency="USD")
        return body["data"]["resolvePrice"]["amount"]["amount"]

    assert await amount(str(variants["SHIRT-S"].id)) == 1100
    assert await amount(str(variants["SHIRT-M"].id)) == 1000


async def test_group_prices_are_not_public(
    client: httpx.AsyncClient,
    creator: httpx.AsyncClient,
    updater: httpx.AsyncClient,
    database: Database,
    mug: CatalogEntity,
) -> None:
    trade = await make_group(database, name="Trade")
    await make_price(database, mug, amount=1000)
    await make_price(database, mug, amount=700, group=trade)
    ask = {"entityId": str(mug.id), "currency": "USD", "groups": [str(trade.id)]}
    assert code_of(await gql(client, RESOLVE, **ask)) == "UNAUTHORIZED"
    assert code_of(await gql(creator, RESOLVE, **ask)) == "FORBIDDEN"
    quoted = await gql(updater, RESOLVE, **ask)
    assert quoted["data"]["resolvePrice"]["amount"]["amount"] == 700
    assert quoted["data"]["resolvePrice"]["price"]["customerGroupId"] == str(trade.id)
    public = await gql(client, RESOLVE, entityId=str(mug.id), currency="USD", groups=[])
    assert public["data"]["resolvePrice"]["amount"]["amount"] == 1000


async def test_resolve_price_hides_entities_the_caller_may_not_see(
    client: httpx.AsyncClient, admin: httpx.AsyncClient, database: Database
) -> None:
    draft = await make_entity(database, slug="secret", status="draft")
    await make_price(database, draft, amount=1000)
    hidden = await gql(client, RESOLVE, entityId=str(draft.id), currency="USD")
    assert hidden == {"data": {"resolvePrice": None}}
    seen = await gql(admin, RESOLVE, entityId=str(draft.id), currency="USD")
    assert seen["data"]["resolvePrice"]["amount"]["amount"] == 1000


async def test_resolve_price_at_another_moment_is_for_staff(
    client: httpx.AsyncClient, admin: httpx.AsyncClient, database: Database, mug: CatalogEntity
) -> None:
    await make_price(database, mug, amount=1000)
    query = """query($id: ID!) {
      resolvePrice(entityId: $id, currency: "USD", at: "2000-01-01T00:00:00Z") { quantity } }"""
    assert code_of(await gql(client, query, id=str(mug.id))) == "UNAUTHORIZED"
    assert (await gql(admin, query, id=str(mug.id))) == {"data": {"resolvePrice": {"quantity": 1}}}


@pytest.mark.parametrize(("currency", "quantity"), [("usd", 1), ("USD", 0)])
async def test_resolve_price_with_a_bad_currency_or_quantity_is_a_validation_error(
    client: httpx.AsyncClient, mug: CatalogEntity, currency: str, quantity: int
) -> None:
    body = await gql(client, RESOLVE, entityId=str(mug.id), currency=currency, quantity=quantity)
    assert code_of(body) == "VALIDATION_FAILED"


async def test_prices_query_pages_by_cursor(
    admin: httpx.AsyncClient, database: Database, mug: CatalogEntity
) -> None:
    created = [await make_price(database, mug, amount=a, min_quantity=a) for a in (1, 2, 3)]
    query = """query($after: String) {
      prices(first: 2, after: $after) { items { id } pageInfo { hasNextPage endCursor } } }"""
    first = (await gql(admin, query))["data"]["prices"]
    assert [i["id"] for i in first["items"]] == [str(p.id) for p in created[:2]]
    assert first["pageInfo"]["hasNextPage"] is True
    rest = (await gql(admin, query, after=first["pageInfo"]["endCursor"]))["data"]["prices"]
    assert [i["id"] for i in rest["items"]] == [str(created[2].id)]
    assert uuid.UUID(rest["items"][0]["id"])


@pytest.mark.parametrize("count", [5, 50])
async def test_listing_prices_costs_the_same_statements_for_5_and_50(
    updater: httpx.AsyncClient, database: Database, mug: CatalogEntity, count: int
) -> None:
    for quantity in range(1, count + 1):
        await make_price(database, mug, amount=1000 - quantity, min_quantity=quantity)
    with count_queries(database) as queries:
        response = await updater.get(PRICES, params={"limit": 100})
    assert len(response.json()["data"]) == count
    # Besides the key's own lookup: the count and the page.
    pricing = [s for s in queries.statements if "api_keys" not in s]
    assert len(pricing) == 2, queries.statements


async def test_openapi_documents_the_bodies_with_only_the_documented_fields_required(
    client: httpx.AsyncClient,
) -> None:
    document = (await client.get("/api/doc")).json()

    def body(path: str) -> dict[str, Any]:
        return request_body(document, "POST", path)

    assert body(PRICES)["required"] == ["entityId", "currency", "amount"]
    assert body(PRICES)["properties"]["currency"]["pattern"] == "^[A-Z]{3}$"
    assert body(MODIFIERS)["required"] == ["name", "kind", "value"]
    assert "pricing:update" in document["paths"][PRICES]["get"]["description"]
    listing = response_body(document, "GET", PRICES, 200)
    assert set(listing["properties"]["data"]["items"]["properties"]) == PRICE_FIELDS
