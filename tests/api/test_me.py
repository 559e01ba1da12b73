"""The signed-in customer's own API (seed 003's `/api/me`, GraphQL `me`), and guest orders'
access tokens. Customers are signed in through `tests/support/users.py` (a session started
directly), not through the sign-in routes."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest
from sqlalchemy import delete, func, select, update
from starlette.applications import Starlette

from app.auth.actor import SYSTEM
from app.db import Database
from app.models.audit import AuditEntry, Event
from app.models.catalog import CatalogEntity
from app.models.customers import Address, Customer
from app.models.orders import Order, OrderLine
from app.models.pricing import Price
from app.models.users import User
from app.services.fulfillments import create_fulfillment
from tests.api.test_checkout import product, set_stock
from tests.conftest import client_for
from tests.support.cost import without_cost
from tests.support.queries import count_queries
from tests.support.users import cookie_client, make_user, session_token

ME = "/api/me"
ADDRESS = {"line1": "1 Main St", "city": "Springfield", "country": "US", "postalCode": "62701"}
# Every /api/me route, with a path that names nothing in particular (the 401/403 tests).
UNKNOWN = "5b0c6f0e-0000-4000-8000-000000000000"
ROUTES = [
    ("GET", f"{ME}/profile", None),
    ("PATCH", f"{ME}/profile", {"firstName": "X"}),
    ("GET", f"{ME}/addresses", None),
    ("POST", f"{ME}/addresses", ADDRESS),
    ("DELETE", f"{ME}/addresses/{UNKNOWN}", None),
    ("GET", f"{ME}/orders", None),
    ("GET", f"{ME}/orders/{UNKNOWN}", None),
    ("GET", f"{ME}/orders/{UNKNOWN}/tracking", None),
    ("GET", f"{ME}/orders/{UNKNOWN}/downloads", None),
    ("POST", f"{ME}/orders/{UNKNOWN}/reorder", None),
]


async def customer(database: Database, email: str, app: Starlette) -> httpx.AsyncClient:
    """A signed-in customer's client (cookie and own Origin)."""
    user = await make_user(database, email=email, name=f"{email.split('@')[0].title()} Doe")
    return cookie_client(app, await session_token(database, user))


async def customer_id(database: Database, email: str) -> str:
    async with database.read_session() as session:
        return str(await session.scalar(select(User.customer_id).where(User.email == email)))


async def place(http: httpx.AsyncClient, *lines: tuple[CatalogEntity, int]) -> dict[str, Any]:
    """An order checked out by `http`'s caller (engine shape), with the guest token of the
    answer's meta as `accessToken` (None when there is none)."""
    cart = (await http.post("/api/carts", json={"currency": "USD"})).json()["data"]["id"]
    for entity, quantity in lines:
        added = await http.post(
            f"/api/carts/{cart}/items", json={"entityId": str(entity.id), "quantity": quantity}
        )
        assert added.status_code == 201, added.text
    placed = await http.post("/api/checkout", json={"cartId": cart, "paymentMethodId": "pm_ok"})
    assert placed.status_code == 201, placed.text
    body = placed.json()
    return {**body["data"], "accessToken": (body.get("meta") or {}).get("accessToken")}


async def graphql(http: httpx.AsyncClient, query: str, **variables: Any) -> dict[str, Any]:
    response = await http.post("/graphql", json={"query": query, "variables": variables})
    assert response.status_code == 200, response.text
    return without_cost(response.json())


def code(body: dict[str, Any]) -> str:
    return body["errors"][0]["extensions"]["code"]


# ---- who may call /me ------------------------------------------------------------------------


@pytest.mark.parametrize(("method", "path", "body"), ROUTES)
async def test_every_me_route_is_401_anonymous_and_with_an_api_key(
    app: Starlette, database: Database, admin_key: str, method: str, path: str, body: Any
) -> None:
    async with client_for(app) as anonymous:
        refused = await anonymous.request(method, path, json=body)
    # An API key (even `*:*`) is no one's session.
    async with client_for(app, headers={"x-api-key": admin_key}) as keyed:
        keyed_answer = await keyed.request(method, path, json=body)
    assert (refused.status_code, refused.json()["error"]["code"]) == (401, "UNAUTHORIZED")
    assert (keyed_answer.status_code, keyed_answer.json()["error"]["code"]) == (
        401,
        "UNAUTHORIZED",
    )


@pytest.mark.parametrize(("method", "path", "body"), ROUTES)
async def test_every_me_route_is_403_for_a_user_without_a_customer_record(
    app: Starlette, database: Database, method: str, path: str, body: Any
) -> None:
    staff = await make_user(database, email="staff@example.com", roles=("admin",), customer=False)
    async with cookie_client(app, await session_token(database, staff)) as http:
        response = await http.request(method, path, json=body)
    assert response.status_code == 403, response.text
    assert "no customer record" in response.json()["error"]["message"]


async def test_graphql_me_is_null_with_unauthorized_without_a_session(
    app: Starlette, database: Database, admin_key: str
) -> None:
    async with client_for(app) as anonymous:
        body = await graphql(anonymous, "{ me { profile { email } } }")
    async with client_for(app, headers={"x-api-key": admin_key}) as keyed:
        keyed_body = await graphql(keyed, "{ me { profile { email } } }")
    assert body["data"] == {"me": None} and code(body) == "UNAUTHORIZED"
    assert keyed_body["data"] == {"me": None} and code(keyed_body) == "UNAUTHORIZED"


async def test_graphql_me_mutations_are_unauthorized_without_a_session(app: Starlette) -> None:
    async with client_for(app) as anonymous:
        body = await graphql(
            anonymous, 'mutation { updateMyProfile(input: {firstName: "X"}) { id } }'
        )
    assert code(body) == "UNAUTHORIZED"


# ---- profile ---------------------------------------------------------------------------------


async def test_profile_is_the_customer_record_in_rest_and_graphql(
    app: Starlette, database: Database
) -> None:
    async with await customer(database, "ada@example.com", app) as http:
        rest = await http.get(f"{ME}/profile")
        graph = await graphql(
            http, "{ me { profile { id email firstName lastName groups { id } } } }"
        )
    mine = await customer_id(database, "ada@example.com")
    assert rest.status_code == 200
    data = rest.json()["data"]
    assert data["id"] == mine and data["email"] == "ada@example.com"
    assert (data["firstName"], data["lastName"], data["phone"], data["groups"]) == (
        "Ada",
        "Doe",
        None,
        [],
    )
    assert set(data) == {
        "id", "email", "firstName", "lastName", "phone", "metadata", "createdAt", "updatedAt",
        "groups",
    }  # fmt: skip
    assert graph["data"]["me"]["profile"] == {
        "id": mine,
        "email": "ada@example.com",
        "firstName": "Ada",
        "lastName": "Doe",
        "groups": [],
    }


async def test_profile_update_changes_the_record_emits_customers_update_and_is_audited(
    app: Starlette, database: Database
) -> None:
    async with await customer(database, "ada@example.com", app) as http:
        response = await http.patch(f"{ME}/profile", json={"lastName": "King", "phone": "+44 1"})
        graph = await graphql(
            http,
            'mutation { updateMyProfile(input: {firstName: "Augusta"}) { firstName lastName } }',
        )
    assert response.status_code == 200, response.text
    assert response.json()["data"]["lastName"] == "King"
    assert graph["data"]["updateMyProfile"] == {"firstName": "Augusta", "lastName": "King"}
    mine = await customer_id(database, "ada@example.com")
    async with database.read_session() as session:
        row = await session.get(Customer, uuid.UUID(mine))
        events = (
            await session.scalars(
                select(Event.type).where(Event.entity_id == mine).order_by(Event.occurred_at)
            )
        ).all()
        audited = await session.scalar(
            select(func.count()).select_from(AuditEntry).where(AuditEntry.entity_id == mine)
        )
    assert row is not None and (row.first_name, row.last_name, row.phone) == (
        "Augusta",
        "King",
        "+44 1",
    )
    assert list(events) == ["customers.update", "customers.update"]
    assert audited == 2


async def test_profile_update_refuses_a_bad_phone_and_changes_nothing(
    app: Starlette, database: Database
) -> None:
    async with await customer(database, "ada@example.com", app) as http:
        response = await http.patch(f"{ME}/profile", json={"phone": "call me"})
        unknown = await http.patch(f"{ME}/profile", json={"email": "x@example.com"})
        after = await http.get(f"{ME}/profile")
    assert (response.status_code, response.json()["error"]["code"]) == (422, "VALIDATION_FAILED")
    # The sign-in address is not the profile's to change.
    assert unknown.status_code == 422
    assert after.json()["data"]["phone"] is None


# ---- addresses ---------------------------------------------------------------------------------


async def test_addresses_are_added_listed_and_deleted(app: Starlette, database: Database) -> None:
    async with await customer(database, "ada@example.com", app) as http:
        added = await http.post(f"{ME}/addresses", json={**ADDRESS, "defaultShipping": True})
        second = await graphql(
            http,
            """mutation { addMyAddress(input: {line1: "2 Elm St", city: "Berlin", country: "de",
               defaultShipping: true}) { id country defaultShipping } }""",
        )
        listed = await http.get(f"{ME}/addresses")
        graph = await graphql(
            http, "{ me { addresses { totalCount items { line1 defaultShipping } } } }"
        )
        third = await graphql(
            http,
            'mutation { addMyAddress(input: {line1: "3 Oak St", city: "Paris", country: "FR"}) '
            "{ id } }",
        )
        removed = await graphql(
            http,
            "mutation($id: ID!) { deleteMyAddress(input: {id: $id}) { line1 city country } }",
            id=third["data"]["addMyAddress"]["id"],
        )
        deleted = await http.delete(f"{ME}/addresses/{added.json()['data']['id']}")
        again = await http.delete(f"{ME}/addresses/{added.json()['data']['id']}")
        left = await http.get(f"{ME}/addresses")
    assert added.status_code == 201, added.text
    data = added.json()["data"]
    assert set(data) == {
        "id", "firstName", "lastName", "company", "line1", "line2", "city", "state",
        "postalCode", "country", "phone", "defaultShipping", "defaultBilling", "createdAt",
    }  # fmt: skip
    assert (data["defaultShipping"], data["defaultBilling"]) == (True, False)
    assert {k: data[k] for k in ("line1", "city", "country", "postalCode", "line2")} == {
        **ADDRESS,
        "line2": None,
    }
    assert second["data"]["addMyAddress"]["country"] == "DE"
    # The default moved to the newer address.
    assert graph["data"]["me"]["addresses"] == {
        "totalCount": 2,
        "items": [
            {"line1": "1 Main St", "defaultShipping": False},
            {"line1": "2 Elm St", "defaultShipping": True},
        ],
    }
    assert listed.json()["meta"]["pagination"] == {
        "page": 1,
        "limit": 20,
        "total": 2,
        "totalPages": 1,
    }
    assert removed["data"]["deleteMyAddress"] == {
        "line1": "3 Oak St",
        "city": "Paris",
        "country": "FR",
    }
    assert deleted.status_code == 200 and deleted.json()["data"]["line1"] == "1 Main St"
    assert again.status_code == 404
    assert [a["line1"] for a in left.json()["data"]] == ["2 Elm St"]
    async with database.read_session() as session:
        audited = (
            await session.scalars(
                select(AuditEntry.reason).where(AuditEntry.entity_type == "address")
            )
        ).all()
    assert sorted(audited) == ["address added"] * 3 + ["address deleted"] * 2


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({**ADDRESS, "country": "ZZ"}, "country"),
        ({**ADDRESS, "country": "USA"}, "country"),
        ({**ADDRESS, "line1": "   "}, "line1"),
        ({**ADDRESS, "city": "a\u0000b"}, "city"),
        ({**ADDRESS, "postalCode": "9" * 21}, "postalCode"),
        ({"city": "X", "country": "US"}, "line1"),
    ],
)
async def test_a_bad_address_is_422_naming_the_field_and_saves_nothing(
    app: Starlette, database: Database, body: dict[str, Any], field: str
) -> None:
    async with await customer(database, "ada@example.com", app) as http:
        response = await http.post(f"{ME}/addresses", json=body)
    assert (response.status_code, response.json()["error"]["code"]) == (422, "VALIDATION_FAILED")
    assert field in response.json()["error"]["details"], response.text
    async with database.read_session() as session:
        assert await session.scalar(select(func.count()).select_from(Address)) == 0


# ---- orders, tracking, downloads ---------------------------------------------------------------


async def test_orders_list_filters_by_status_and_pages(app: Starlette, database: Database) -> None:
    goods = await product(database, "goods")
    async with await customer(database, "ada@example.com", app) as http:
        first = await place(http, (goods, 1))
        second = await place(http, (goods, 2))
        await set_status(database, first["id"], "cancelled")
        listed = await http.get(f"{ME}/orders", params={"limit": 1})
        cancelled = await http.get(f"{ME}/orders", params={"status": "cancelled"})
        bad = await http.get(f"{ME}/orders", params={"status": "lost"})
        graph = await graphql(
            http,
            "{ me { orders(status: PENDING) { totalCount items { number status } } } }",
        )
    assert listed.status_code == 200
    assert [o["id"] for o in listed.json()["data"]] == [second["id"]]  # newest first
    assert listed.json()["meta"]["pagination"] == {
        "page": 1,
        "limit": 1,
        "total": 2,
        "totalPages": 2,
    }
    assert [o["number"] for o in cancelled.json()["data"]] == [first["number"]]
    assert cancelled.json()["data"][0]["status"] == "cancelled"
    assert bad.status_code == 422
    assert graph["data"]["me"]["orders"] == {
        "totalCount": 1,
        "items": [{"number": second["number"], "status": "PENDING"}],
    }


async def set_status(database: Database, order_id: str, status: str) -> None:
    async with database.unit_of_work() as uow:
        await uow.session.execute(
            update(Order).where(Order.id == uuid.UUID(order_id)).values(status=status)
        )
        await uow.commit()


async def test_an_order_is_read_by_id_and_by_number_in_rest_and_graphql(
    app: Starlette, database: Database
) -> None:
    goods = await product(database, "goods", amount=1999)
    async with await customer(database, "ada@example.com", app) as http:
        placed = await place(http, (goods, 2))
        by_id = await http.get(f"{ME}/orders/{placed['id']}")
        by_number = await http.get(f"{ME}/orders/{placed['number']}")
        graph = await graphql(
            http,
            "query($n: String!) { me { order(idOrNumber: $n) { id total { amount } "
            "lines { quantity } } } }",
            n=placed["number"],
        )
    assert by_id.status_code == 200 and by_number.status_code == 200
    assert by_id.json()["data"] == by_number.json()["data"]
    data = by_id.json()["data"]
    assert data["customerId"] == await customer_id(database, "ada@example.com")
    assert data["total"] == 3998 and data["lines"][0]["quantity"] == 2
    assert graph["data"]["me"]["order"] == {
        "id": placed["id"],
        "total": {"amount": 3998},
        "lines": [{"quantity": 2}],
    }


async def test_tracking_lists_the_shipments_with_carrier_and_number(
    app: Starlette, database: Database
) -> None:
    goods = await product(database, "goods")
    async with await customer(database, "ada@example.com", app) as http:
        placed = await place(http, (goods, 2))
        before = await http.get(f"{ME}/orders/{placed['number']}/tracking")
        await set_status(database, placed["id"], "confirmed")
        async with database.unit_of_work() as uow:
            await create_fulfillment(
                uow, SYSTEM, order_id=placed["id"], lines=[(placed["lines"][0]["id"], 1)],
                carrier="DHL", tracking_number="JD0001",
            )  # fmt: skip
            await uow.commit()
        after = await http.get(f"{ME}/orders/{placed['id']}/tracking")
        graph = await graphql(
            http,
            "query($n: String!) { me { tracking(idOrNumber: $n) { number status "
            "fulfillments { carrier trackingNumber } } } }",
            n=placed["number"],
        )
    assert before.status_code == 200
    assert before.json()["data"] == {
        "orderId": placed["id"],
        "number": placed["number"],
        "status": "pending",
        "fulfillments": [],
    }
    shipment = after.json()["data"]["fulfillments"][0]
    assert (shipment["carrier"], shipment["trackingNumber"], shipment["status"]) == (
        "DHL",
        "JD0001",
        "shipped",
    )
    assert after.json()["data"]["status"] == "partially_fulfilled"
    assert graph["data"]["me"]["tracking"] == {
        "number": placed["number"],
        "status": "PARTIALLY_FULFILLED",
        "fulfillments": [{"carrier": "DHL", "trackingNumber": "JD0001"}],
    }


async def test_downloads_are_an_empty_list_with_a_note_without_download_files(
    app: Starlette, database: Database
) -> None:
    goods = await product(database, "goods")
    async with await customer(database, "ada@example.com", app) as http:
        placed = await place(http, (goods, 1))
        rest = await http.get(f"{ME}/orders/{placed['id']}/downloads")
        graph = await graphql(
            http,
            "query($n: String!) { me { downloads(orderId: $n) { orderId items { url } note } } }",
            n=placed["number"],
        )
    assert rest.status_code == 200
    body = rest.json()
    assert body["data"] == [] and "file to download" in body["meta"]["note"]
    assert graph["data"]["me"]["downloads"]["items"] == []
    assert graph["data"]["me"]["downloads"]["orderId"] == placed["id"]


async def test_the_order_list_costs_the_same_statements_for_one_order_and_for_five(
    app: Starlette, database: Database
) -> None:
    goods = await product(database, "goods", stock=100)
    query = """{ me { orders { totalCount items { number lines { sku } payments { status }
      fulfillments { carrier } } } } }"""
    async with await customer(database, "ada@example.com", app) as http:
        await place(http, (goods, 1))
        with count_queries(database) as one:
            small = await graphql(http, query)
        for _ in range(4):
            await place(http, (goods, 1))
        with count_queries(database) as five:
            large = await graphql(http, query)
    assert small["data"]["me"]["orders"]["totalCount"] == 1
    assert large["data"]["me"]["orders"]["totalCount"] == 5
    assert five.count == one.count, five.statements


# ---- reorder ---------------------------------------------------------------------------------


async def test_reorder_makes_a_cart_at_todays_prices_and_says_what_it_skipped(
    app: Starlette, database: Database
) -> None:
    kept = await product(database, "kept", amount=1000)
    archived = await product(database, "archived")
    unpriced = await product(database, "unpriced")
    scarce = await product(database, "scarce")
    async with await customer(database, "ada@example.com", app) as http:
        placed = await place(http, (kept, 2), (archived, 1), (unpriced, 1), (scarce, 3))
        async with database.unit_of_work() as uow:
            await uow.session.execute(
                update(CatalogEntity)
                .where(CatalogEntity.id == archived.id)
                .values(status="archived")
            )
            await uow.session.execute(delete(Price).where(Price.entity_id == unpriced.id))
            await uow.session.execute(
                update(Price).where(Price.entity_id == kept.id).values(amount=1200)
            )
            await uow.commit()
        await set_stock(database, "scarce", 2)
        response = await http.post(f"{ME}/orders/{placed['number']}/reorder")
        graph = await graphql(
            http,
            "mutation($id: String!) { reorder(input: {orderId: $id}) { cart { id } "
            "skipped { sku reason } } }",
            id=placed["id"],
        )
    assert response.status_code == 201, response.text
    body = response.json()
    cart = body["data"]
    assert cart["customerId"] == await customer_id(database, "ada@example.com")
    assert [(i["entityId"], i["quantity"], i["unitPrice"]) for i in cart["items"]] == [
        (str(kept.id), 2, 1200)
    ]
    assert cart["total"] == 2400
    skipped = {s["entityId"]: s["reason"] for s in body["meta"]["skipped"]}
    assert skipped == {
        str(archived.id): "not_for_sale",
        str(unpriced.id): "no_price",
        str(scarce.id): "out_of_stock",
    }
    assert all(s["message"] and s["quantity"] for s in body["meta"]["skipped"])
    assert sorted(s["reason"] for s in graph["data"]["reorder"]["skipped"]) == [
        "NOT_FOR_SALE",
        "NO_PRICE",
        "OUT_OF_STOCK",
    ]
    assert graph["data"]["reorder"]["cart"]["id"] != cart["id"]


async def test_reorder_of_a_deleted_product_skips_it_as_discontinued(
    app: Starlette, database: Database
) -> None:
    gone = await product(database, "gone")
    kept = await product(database, "kept")
    async with await customer(database, "ada@example.com", app) as http:
        placed = await place(http, (gone, 1), (kept, 1))
        async with database.unit_of_work() as uow:
            await uow.session.execute(
                update(OrderLine).where(OrderLine.entity_id == gone.id).values(entity_id=None)
            )
            await uow.commit()
        response = await http.post(f"{ME}/orders/{placed['id']}/reorder")
    assert response.status_code == 201, response.text
    assert [s["reason"] for s in response.json()["meta"]["skipped"]] == ["discontinued"]
    assert [i["entityId"] for i in response.json()["data"]["items"]] == [str(kept.id)]


# ---- isolation -------------------------------------------------------------------------------


async def test_customer_b_never_sees_customer_as_orders_addresses_or_carts(
    app: Starlette, database: Database
) -> None:
    goods = await product(database, "goods")
    async with await customer(database, "ada@example.com", app) as ada:
        order = await place(ada, (goods, 1))
        address = (await ada.post(f"{ME}/addresses", json=ADDRESS)).json()["data"]
        cart = (await ada.post("/api/carts", json={"currency": "USD"})).json()["data"]
    async with await customer(database, "bob@example.com", app) as bob:
        answers = {
            "order by id": await bob.get(f"{ME}/orders/{order['id']}"),
            "order by number": await bob.get(f"{ME}/orders/{order['number']}"),
            "tracking": await bob.get(f"{ME}/orders/{order['number']}/tracking"),
            "downloads": await bob.get(f"{ME}/orders/{order['id']}/downloads"),
            "reorder": await bob.post(f"{ME}/orders/{order['id']}/reorder"),
            "delete address": await bob.delete(f"{ME}/addresses/{address['id']}"),
            "cart": await bob.get(f"/api/carts/{cart['id']}"),
            "engine order": await bob.get(f"/api/orders/{order['number']}"),
        }
        listed = await bob.get(f"{ME}/orders")
        addresses = await bob.get(f"{ME}/addresses")
        graph = await graphql(
            bob,
            """query($id: String!) { me {
                 order(idOrNumber: $id) { id } } }""",
            id=order["number"],
        )
        graph_answers = {
            "tracking": await graphql(
                bob, "query($id: String!) { me { tracking(idOrNumber: $id) { number } } }",
                id=order["id"],
            ),
            "downloads": await graphql(
                bob, "query($id: String!) { me { downloads(orderId: $id) { note } } }",
                id=order["number"],
            ),
            "reorder": await graphql(
                bob, "mutation($id: String!) { reorder(input: {orderId: $id}) { cart { id } } }",
                id=order["number"],
            ),
            "delete address": await graphql(
                bob, "mutation($id: ID!) { deleteMyAddress(input: {id: $id}) { id } }",
                id=address["id"],
            ),
            "cart": await graphql(bob, "query($id: ID!) { cart(id: $id) { id } }", id=cart["id"]),
        }  # fmt: skip
        mine = await graphql(bob, "{ me { orders { totalCount } addresses { totalCount } } }")
    assert {name: r.status_code for name, r in answers.items()} == dict.fromkeys(answers, 404)
    assert {r.json()["error"]["code"] for r in answers.values()} == {"NOT_FOUND"}
    assert listed.json()["data"] == [] and addresses.json()["data"] == []
    assert code(graph) == "NOT_FOUND"
    assert {name: code(body) for name, body in graph_answers.items()} == dict.fromkeys(
        graph_answers, "NOT_FOUND"
    )
    assert mine["data"]["me"] == {"orders": {"totalCount": 0}, "addresses": {"totalCount": 0}}
    async with database.read_session() as session:
        assert await session.scalar(select(func.count()).select_from(Address)) == 1


# ---- CSRF --------------------------------------------------------------------------------------


async def test_a_cookie_write_from_a_foreign_origin_is_refused_and_from_the_own_accepted(
    app: Starlette, database: Database
) -> None:
    user = await make_user(database)
    token = await session_token(database, user)
    async with cookie_client(app, token, headers={"origin": "https://evil.example"}) as evil:
        refused = await evil.post(f"{ME}/addresses", json=ADDRESS)
    async with cookie_client(app, token) as own:
        accepted = await own.post(f"{ME}/addresses", json=ADDRESS)
    assert refused.status_code == 403
    assert accepted.status_code == 201
    async with database.read_session() as session:
        assert await session.scalar(select(func.count()).select_from(Address)) == 1


# ---- guest orders ----------------------------------------------------------------------------


async def test_a_guest_checkout_answers_a_token_that_opens_that_order_only(
    app: Starlette, database: Database
) -> None:
    goods = await product(database, "goods")
    async with client_for(app) as guest:
        placed = await place(guest, (goods, 1))
        other = await place(guest, (goods, 1))
        token = placed["accessToken"]
        opened = await guest.get(
            f"/api/orders/{placed['number']}", headers={"x-order-token": token}
        )
        by_id = await guest.get(f"/api/orders/{placed['id']}", headers={"x-order-token": token})
        without = await guest.get(f"/api/orders/{placed['number']}")
        wrong = await guest.get(
            f"/api/orders/{placed['number']}", headers={"x-order-token": token[:-2] + "xx"}
        )
        elsewhere = await guest.get(
            f"/api/orders/{other['number']}", headers={"x-order-token": token}
        )
        unknown = await guest.get("/api/orders/ORD-1999-000001", headers={"x-order-token": token})
        graph = await graphql(
            guest,
            "query($n: String!, $t: String) { order(idOrNumber: $n, accessToken: $t) { id } }",
            n=placed["number"],
            t=token,
        )
    assert token.startswith("ot_") and other["accessToken"] not in (None, token)
    assert opened.status_code == 200 and opened.json()["data"]["id"] == placed["id"]
    assert by_id.status_code == 200
    for refused in (without, wrong, elsewhere):
        assert refused.status_code == 404
        # A wrong token looks exactly like an unknown order.
        assert refused.json()["error"] == unknown.json()["error"]
    assert graph["data"]["order"]["id"] == placed["id"]
    async with database.read_session() as session:
        stored = await session.scalar(
            select(Order.access_token_hash).where(Order.number == placed["number"])
        )
    assert stored is not None and token not in stored and len(stored) == 64


async def test_a_customers_checkout_answers_no_token_nor_does_a_replay(
    app: Starlette, database: Database
) -> None:
    goods = await product(database, "goods")
    async with await customer(database, "ada@example.com", app) as http:
        mine = await place(http, (goods, 1))
    async with client_for(app) as guest:
        cart = (await guest.post("/api/carts", json={"currency": "USD"})).json()["data"]["id"]
        await guest.post(
            f"/api/carts/{cart}/items", json={"entityId": str(goods.id), "quantity": 1}
        )
        body = {"cartId": cart, "paymentMethodId": "pm_ok"}
        first = await guest.post("/api/checkout", json=body, headers={"idempotency-key": "k1"})
        again = await guest.post("/api/checkout", json=body, headers={"idempotency-key": "k1"})
        token = first.json()["meta"]["accessToken"]
        graph = await graphql(
            guest,
            "query($n: String!, $t: String) { order(idOrNumber: $n, accessToken: $t) { id } }",
            n=first.json()["data"]["number"],
            t=token,
        )
    assert mine["accessToken"] is None
    assert token.startswith("ot_")
    assert again.json()["data"]["id"] == first.json()["data"]["id"]
    assert "accessToken" not in (again.json().get("meta") or {})
    # The first answer's token still opens the order.
    assert graph["data"]["order"]["id"] == first.json()["data"]["id"]


async def test_the_graphql_checkout_payload_carries_the_guest_token(
    app: Starlette, database: Database
) -> None:
    goods = await product(database, "goods")
    async with client_for(app) as guest:
        cart = (await guest.post("/api/carts", json={"currency": "USD"})).json()["data"]["id"]
        await guest.post(
            f"/api/carts/{cart}/items", json={"entityId": str(goods.id), "quantity": 1}
        )
        body = await graphql(
            guest,
            """mutation($c: ID!) { checkout(input: {cartId: $c, paymentMethodId: "pm_ok"}) {
                 order { number } accessToken } }""",
            c=cart,
        )
    assert body["data"]["checkout"]["accessToken"].startswith("ot_")


async def test_the_openapi_document_says_me_routes_take_the_session_cookie(
    app: Starlette,
) -> None:
    async with client_for(app) as http:
        document = (await http.get("/api/doc")).json()
    me = {
        (method, path): operation
        for path, operations in document["paths"].items()
        if path.startswith(f"{ME}/")
        for method, operation in operations.items()
    }
    assert len(me) == len(ROUTES)
    assert {str(op["security"]) for op in me.values()} == {"[{'sessionCookie': []}]"}
    scheme = document["components"]["securitySchemes"]["sessionCookie"]
    assert scheme == {"type": "apiKey", "in": "cookie", "name": "cartograph_session"}
