"""Carts through the engine dialect and GraphQL: server-side prices, merging, ownership."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy import select
from starlette.applications import Starlette

from app.auth.actor import SYSTEM, Actor
from app.db import Database
from app.errors import NotFound
from app.models.audit import Event
from app.models.carts import Cart
from app.models.catalog import CatalogEntity
from app.services import carts as cart_service
from app.services.pricing.prices import create_price
from tests.support.catalog import make_entity
from tests.support.factories import customer
from tests.support.queries import count_queries

CARTS = "/api/carts"


async def priced(database: Database, slug: str, amount: int, **entity: Any) -> CatalogEntity:
    made = await make_entity(database, slug=slug, **entity)
    async with database.unit_of_work() as uow:
        await create_price(uow, SYSTEM, entity_id=str(made.id), currency="USD", amount=amount)
        await uow.commit()
    return made


async def new_cart(client: httpx.AsyncClient, currency: str = "USD") -> str:
    response = await client.post(CARTS, json={"currency": currency})
    assert response.status_code == 201, response.text
    return response.json()["data"]["id"]


async def add(
    client: httpx.AsyncClient, cart: str, entity: CatalogEntity, **body: Any
) -> httpx.Response:
    return await client.post(
        f"{CARTS}/{cart}/items", json={"entityId": str(entity.id), "quantity": 1, **body}
    )


async def test_anonymous_cart_lifecycle_with_server_totals(
    client: httpx.AsyncClient, database: Database
) -> None:
    mug = await priced(database, "mug", 1250)
    cart = await new_cart(client)
    added = await add(client, cart, mug, quantity=2)
    assert added.status_code == 201
    data = added.json()["data"]
    assert (data["subtotal"], data["discountTotal"], data["total"], data["itemCount"]) == (
        2500,
        0,
        2500,
        2,
    )
    [item] = data["items"]
    assert (item["title"], item["unitPrice"], item["lineTotal"], item["sku"]) == (
        "Mug",
        1250,
        2500,
        None,
    )

    changed = await client.patch(f"{CARTS}/{cart}/items/{item['id']}", json={"quantity": 5})
    assert changed.status_code == 200 and changed.json()["data"]["total"] == 6250
    fetched = await client.get(f"{CARTS}/{cart}")
    assert fetched.json()["data"]["items"][0]["quantity"] == 5
    removed = await client.delete(f"{CARTS}/{cart}/items/{item['id']}")
    assert removed.status_code == 200
    assert removed.json()["data"]["items"] == [] and removed.json()["data"]["total"] == 0


async def test_adding_the_same_variant_twice_merges_lines(
    client: httpx.AsyncClient, database: Database
) -> None:
    tee = await make_entity(database, slug="tee", sizes=("S", "M"))
    async with database.unit_of_work() as uow:
        await create_price(uow, SYSTEM, entity_id=str(tee.id), currency="USD", amount=1000)
        await uow.commit()
    body = await client.post(
        "/graphql", json={"query": '{ catalogEntity(idOrSlug: "tee") { variants { id sku } } }'}
    )
    small = body.json()["data"]["catalogEntity"]["variants"][1]
    cart = await new_cart(client)
    await add(client, cart, tee, variantId=small["id"], quantity=1)
    merged = (await add(client, cart, tee, variantId=small["id"], quantity=2)).json()["data"]
    assert [(i["sku"], i["quantity"]) for i in merged["items"]] == [(small["sku"], 3)]


async def test_a_tampered_price_snapshot_is_flagged_and_never_charged(
    client: httpx.AsyncClient, database: Database
) -> None:
    mug = await priced(database, "mug", 1250)
    cart = await new_cart(client)
    data = (await add(client, cart, mug, unitPriceSnapshot=1)).json()["data"]
    [item] = data["items"]
    assert (item["unitPriceSnapshot"], item["unitPrice"], item["priceChanged"]) == (1, 1250, True)
    assert data["total"] == 1250
    honest = (await add(client, cart, mug, unitPriceSnapshot=1250)).json()["data"]
    assert honest["items"][0]["priceChanged"] is False and honest["total"] == 2500


@pytest.mark.parametrize(
    ("body", "status", "field"),
    [
        ({"quantity": 0}, 422, "quantity"),
        ({"quantity": 1001}, 422, "quantity"),
        ({"quantity": "two"}, 422, "quantity"),
        ({"unitPriceSnapshot": -1}, 422, "unitPriceSnapshot"),
        ({"entityId": "not-an-id"}, 404, "entityId"),
    ],
)
async def test_bad_items_are_refused_and_change_nothing(
    client: httpx.AsyncClient, database: Database, body: dict[str, Any], status: int, field: str
) -> None:
    mug = await priced(database, "mug", 1250)
    cart = await new_cart(client)
    response = await add(client, cart, mug, **body)
    assert response.status_code == status
    assert field in response.json()["error"].get("details", {}), response.json()
    assert (await client.get(f"{CARTS}/{cart}")).json()["data"]["items"] == []


async def test_drafts_and_unpriced_entities_cannot_be_added(
    client: httpx.AsyncClient, database: Database
) -> None:
    draft = await priced(database, "draft-mug", 1000, status="draft")
    unpriced = await make_entity(database, slug="free-mug")
    cart = await new_cart(client)
    assert (await add(client, cart, draft)).status_code == 404
    refused = await add(client, cart, unpriced)
    assert refused.status_code == 422
    assert refused.json()["error"]["details"] == {"entityId": "Not sold in USD."}
    euro_cart = await new_cart(client, "EUR")
    mug = await priced(database, "mug", 1000)
    assert (await add(client, euro_cart, mug)).status_code == 422


async def test_a_bad_currency_is_422(client: httpx.AsyncClient) -> None:
    response = await client.post(CARTS, json={"currency": "usd"})
    assert response.status_code == 422
    assert "currency" in response.json()["error"]["details"]


async def test_unknown_cart_and_item_are_404(client: httpx.AsyncClient, database: Database) -> None:
    mug = await priced(database, "mug", 1000)
    assert (await client.get(f"{CARTS}/5b0c6f0e-0000-4000-8000-000000000000")).status_code == 404
    assert (await client.get(f"{CARTS}/nope")).status_code == 404
    cart = await new_cart(client)
    await add(client, cart, mug)
    missing = await client.patch(
        f"{CARTS}/{cart}/items/5b0c6f0e-0000-4000-8000-000000000000", json={"quantity": 2}
    )
    assert missing.status_code == 404


async def test_a_customers_cart_is_theirs_alone(
    app: Starlette, client: httpx.AsyncClient, admin: httpx.AsyncClient, database: Database
) -> None:
    """A customer's cart answers 404 to anyone else, anonymous callers included."""
    alice_record, bob_record = await customer(database), await customer(database)
    alice = Actor(kind="user", id=str(alice_record.id), customer_id=str(alice_record.id))
    bob = Actor(kind="user", id=str(bob_record.id), customer_id=str(bob_record.id))
    async with database.unit_of_work() as uow:
        cart = await cart_service.create_cart(uow, alice, currency="USD")
        await uow.commit()
    assert cart.customer_id == str(alice_record.id)
    assert (await client.get(f"{CARTS}/{cart.id}")).status_code == 404
    async with database.read_session() as session:
        seen = await cart_service.view(session, alice, id=str(cart.id))
        with pytest.raises(NotFound):
            await cart_service.view(session, bob, id=str(cart.id))
    assert seen.cart.id == cart.id
    # Staff with carts:manage (here *:*) may look.
    assert (await admin.get(f"{CARTS}/{cart.id}")).status_code == 200


async def test_opening_a_cart_for_someone_else_needs_carts_manage(
    client: httpx.AsyncClient, admin: httpx.AsyncClient, database: Database
) -> None:
    alice = str((await customer(database)).id)
    refused = await client.post(CARTS, json={"currency": "USD", "customerId": alice})
    assert refused.status_code == 403
    allowed = await admin.post(CARTS, json={"currency": "USD", "customerId": alice})
    assert allowed.status_code == 201 and allowed.json()["data"]["customerId"] == alice


async def test_a_cart_for_an_unknown_customer_is_refused(
    client: httpx.AsyncClient, admin: httpx.AsyncClient, database: Database
) -> None:
    for unknown in ("5b0c6f0e-0000-4000-8000-000000000000", "cus_made_up"):
        response = await admin.post(CARTS, json={"currency": "USD", "customerId": unknown})
        assert response.status_code == 404, response.text
        assert response.json() == {
            "error": {
                "code": "NOT_FOUND",
                "message": "Customer not found.",
                "details": {"customerId": "Unknown."},
            }
        }
    # Without carts:manage the answer is 403 before any lookup: no probing for customers.
    probe = await client.post(CARTS, json={"currency": "USD", "customerId": unknown})
    assert probe.status_code == 403
    async with database.read_session() as session:
        assert (await session.scalars(select(Cart))).all() == []
        assert (await session.scalars(select(Event).where(Event.entity_type == "cart"))).all() == []


async def test_a_cart_names_its_customer_by_the_canonical_id(
    admin: httpx.AsyncClient, database: Database
) -> None:
    alice = await customer(database)
    written = str(alice.id).upper()
    response = await admin.post(CARTS, json={"currency": "USD", "customerId": written})
    assert response.status_code == 201, response.text
    assert response.json()["data"]["customerId"] == str(alice.id)


async def test_adding_emits_cart_after_add_item(
    client: httpx.AsyncClient, database: Database
) -> None:
    mug = await priced(database, "mug", 1000)
    cart = await new_cart(client)
    await add(client, cart, mug, quantity=3)
    async with database.read_session() as session:
        events = (
            await session.scalars(select(Event).where(Event.entity_id == cart).order_by(Event.id))
        ).all()
    assert [e.type for e in events] == ["cart.create", "cart.update", "cart.afterAddItem"]
    assert events[2].data["quantity"] == 3


@pytest.mark.parametrize("lines", [1, 20])
async def test_reading_a_cart_costs_the_same_for_1_and_20_lines(
    client: httpx.AsyncClient, database: Database, lines: int
) -> None:
    cart = await new_cart(client)
    for i in range(lines):
        await add(client, cart, await priced(database, f"item-{i}", 100 + i))
    with count_queries(database) as queries:
        response = await client.get(f"{CARTS}/{cart}")
    assert len(response.json()["data"]["items"]) == lines
    # the cart, its lines (with SKU and title), prices (no modifier may apply: none sent)
    assert queries.count == 3, queries.statements


async def test_graphql_cart(client: httpx.AsyncClient, database: Database) -> None:
    mug = await priced(database, "mug", 1250)
    created = await client.post(
        "/graphql", json={"query": 'mutation { createCart(input: {currency: "USD"}) { id } }'}
    )
    cart = created.json()["data"]["createCart"]["id"]
    added = await client.post(
        "/graphql",
        json={
            "query": """mutation($cart: ID!, $entity: ID!) {
              addCartItem(input: {cartId: $cart, entityId: $entity, quantity: 2}) {
                total { amount currency formatted } items { quantity unitPrice { amount } }
              }
            }""",
            "variables": {"cart": cart, "entity": str(mug.id)},
        },
    )
    assert added.json()["data"]["addCartItem"] == {
        "total": {"amount": 2500, "currency": "USD", "formatted": "25.00 USD"},
        "items": [{"quantity": 2, "unitPrice": {"amount": 1250}}],
    }
    read = await client.post(
        "/graphql",
        json={"query": f'{{ cart(id: "{cart}") {{ itemCount subtotal {{ amount }} }} }}'},
    )
    assert read.json()["data"]["cart"] == {"itemCount": 2, "subtotal": {"amount": 2500}}


async def test_price_modifiers_show_as_cart_discounts(
    admin: httpx.AsyncClient, client: httpx.AsyncClient, database: Database
) -> None:
    mug = await priced(database, "mug", 2000)
    await admin.post(
        "/api/pricing/modifiers", json={"name": "Sale", "kind": "percentage", "value": 10}
    )
    cart = await new_cart(client)
    data = (await add(client, cart, mug, quantity=2)).json()["data"]
    assert (data["subtotal"], data["discountTotal"], data["total"]) == (4000, 400, 3600)
