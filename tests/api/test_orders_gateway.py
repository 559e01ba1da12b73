"""Orders and payments in the gateway dialect (seed 000 routes, seed 002 bodies)."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from starlette.applications import Starlette

from app.db import Database
from app.models.audit import AuditEntry
from app.models.orders import Order, Payment
from tests.conftest import client_for
from tests.support.factories import make_api_key

ORDERS, PAYMENTS = "/api/v1/orders", "/api/v1/payments"
ADDRESS = {"street": "123 Main St", "city": "Anytown", "zipCode": "12345", "country": "USA"}


async def widget(admin: httpx.AsyncClient, *, stock: int = 5) -> dict[str, Any]:
    """An active product at 49.99 USD with `stock` units."""
    product = (
        await admin.post(
            "/api/v1/products", json={"name": "Premium Widget", "sku": "PW-1", "status": "active"}
        )
    ).json()["data"]
    await admin.post(
        "/api/pricing/prices", json={"entityId": product["id"], "currency": "USD", "amount": 4999}
    )
    await admin.post("/api/inventory/warehouses", json={"code": "MAIN", "name": "Main"})
    await admin.put("/api/v1/inventory/PW-1", json={"quantity": stock})
    return product


async def shopper(admin: httpx.AsyncClient) -> str:
    """A new customer's id: the `userId` an order names must be a customer's."""
    query = "mutation($input: CreateCustomerInput!) { createCustomer(input: $input) { id } }"
    email = f"shopper-{uuid.uuid4().hex[:12]}@example.com"
    created = await admin.post(
        "/graphql", json={"query": query, "variables": {"input": {"email": email}}}
    )
    return created.json()["data"]["createCustomer"]["id"]


async def place(
    admin: httpx.AsyncClient,
    product: dict[str, Any],
    quantity: int = 2,
    *,
    user_id: str | None = None,
) -> httpx.Response:
    user_id = user_id or await shopper(admin)
    return await admin.post(
        ORDERS,
        json={"userId": user_id, "items": [{"productId": product["id"], "quantity": quantity}],
              "shippingAddress": ADDRESS},
    )  # fmt: skip


async def available(admin: httpx.AsyncClient) -> int:
    return (await admin.get("/api/v1/inventory/PW-1")).json()["data"]["availableQuantity"]


async def test_post_orders_takes_seed_002s_body_and_holds_the_stock(
    admin: httpx.AsyncClient,
) -> None:
    product = await widget(admin)
    user_id = await shopper(admin)
    response = await place(admin, product, user_id=user_id)
    assert response.status_code == 201
    body = response.json()
    assert body["success"] is True and set(body["meta"]) == {"timestamp", "requestId"}
    data = body["data"]
    assert data["userId"] == user_id and data["status"] == "pending"
    assert data["paymentStatus"] == "pending" and data["shippingAddress"] == ADDRESS
    assert data["items"] == [{
        "productId": product["id"], "variantId": data["items"][0]["variantId"], "sku": "PW-1",
        "name": "Premium Widget", "quantity": 2, "unitPrice": 49.99, "total": 99.98,
    }]  # fmt: skip
    assert (data["subtotal"], data["total"], data["currency"]) == (99.98, 99.98, "USD")
    assert await available(admin) == 3


async def test_payment_with_the_right_amount_sells_the_held_stock(admin: httpx.AsyncClient) -> None:
    product = await widget(admin)
    order = (await place(admin, product)).json()["data"]
    paid = await admin.post(
        PAYMENTS,
        json={"orderId": order["id"], "paymentMethodId": "pm_card_visa", "amount": 99.98,
              "currency": "USD"},
    )  # fmt: skip
    assert paid.status_code == 200
    payment = paid.json()["data"]
    assert (payment["status"], payment["amount"], payment["orderId"]) == (
        "succeeded",
        99.98,
        order["id"],
    )
    stock = (await admin.get("/api/v1/inventory/PW-1")).json()["data"]
    assert (stock["quantity"], stock["reservedQuantity"]) == (3, 0)
    assert (await admin.get(f"{ORDERS}/{order['id']}")).json()["data"]["paymentStatus"] == "paid"
    again = await admin.post(
        PAYMENTS,
        json={"orderId": order["id"], "paymentMethodId": "pm_card_visa", "amount": 99.98,
              "currency": "USD"},
    )  # fmt: skip
    assert again.status_code == 409


async def test_a_declined_payment_is_402_and_changes_nothing(
    admin: httpx.AsyncClient, database: Database
) -> None:
    product = await widget(admin)
    order = (await place(admin, product)).json()["data"]
    declined = await admin.post(
        PAYMENTS,
        json={"orderId": order["id"], "paymentMethodId": "pm_card_declined", "amount": 99.98,
              "currency": "USD"},
    )  # fmt: skip
    assert declined.status_code == 402
    assert declined.json()["error"]["code"] == "PAYMENT_REQUIRED"
    async with database.read_session() as session:
        attempts = (await session.execute(select(Payment.status, Payment.amount))).all()
    assert attempts == [("failed", 9998)]  # the declined attempt, on record; nothing taken
    assert await available(admin) == 3  # still held for a retry
    assert (await admin.get(f"{ORDERS}/{order['id']}")).json()["data"]["paymentStatus"] == "pending"
    async with database.read_session() as session:
        audited = (
            await session.scalars(
                select(AuditEntry.reason).where(AuditEntry.entity_id == order["id"])
            )
        ).all()
    assert "payment declined: The card was declined." in audited

    retried = await admin.post(
        PAYMENTS,
        json={"orderId": order["id"], "paymentMethodId": "pm_card_visa", "amount": 99.98,
              "currency": "USD"},
    )  # fmt: skip
    assert retried.status_code == 200, retried.text
    async with database.read_session() as session:
        attempts = (await session.execute(select(Payment.status).order_by(Payment.id))).all()
    assert [a for (a,) in attempts] == ["failed", "succeeded"]
    assert (await admin.get(f"{ORDERS}/{order['id']}")).json()["data"]["paymentStatus"] == "paid"


@pytest.mark.parametrize(("amount", "currency"), [(99.0, "USD"), (9998, "USD"), (99.98, "EUR")])
async def test_an_amount_that_is_not_the_orders_is_400(
    admin: httpx.AsyncClient, amount: float, currency: str
) -> None:
    product = await widget(admin)
    order = (await place(admin, product)).json()["data"]
    response = await admin.post(
        PAYMENTS,
        json={"orderId": order["id"], "paymentMethodId": "pm_card_visa", "amount": amount,
              "currency": currency},
    )  # fmt: skip
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "VALIDATION_ERROR"


async def test_out_of_stock_is_409_and_places_nothing(
    admin: httpx.AsyncClient, database: Database
) -> None:
    product = await widget(admin, stock=1)
    response = await place(admin, product, quantity=2)
    assert response.status_code == 409
    async with database.read_session() as session:
        assert await session.scalar(select(func.count()).select_from(Order)) == 0
    assert await available(admin) == 1


async def test_an_order_for_an_unknown_user_is_404_and_places_nothing(
    admin: httpx.AsyncClient, database: Database
) -> None:
    product = await widget(admin)
    response = await place(admin, product, user_id="usr_123abc")
    assert response.status_code == 404, response.text
    error = response.json()["error"]
    assert (error["code"], error["details"]) == ("NOT_FOUND", {"customerId": "Unknown."})
    async with database.read_session() as session:
        assert await session.scalar(select(func.count()).select_from(Order)) == 0
    assert await available(admin) == 5


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"items": []}, 400),
        ({"items": [{"productId": "00000000-0000-7000-8000-000000000000", "quantity": 1}]}, 404),
        ({"items": [{"quantity": 1}]}, 400),
        ({"items": "two widgets"}, 400),
        ({"items": [{"productId": "x", "quantity": 0}]}, 400),
    ],
)
async def test_bad_order_bodies(
    admin: httpx.AsyncClient, body: dict[str, Any], status: int
) -> None:
    await widget(admin)
    response = await admin.post(ORDERS, json=body)
    assert response.status_code == status, response.text
    assert response.json()["success"] is False


async def test_list_get_and_put_status(admin: httpx.AsyncClient) -> None:
    product = await widget(admin)
    order = (await place(admin, product, quantity=1)).json()["data"]
    listed = await admin.get(ORDERS, params={"per_page": 10})
    assert listed.status_code == 200 and listed.headers["x-total-count"] == "1"
    assert listed.json()["pagination"] == {"page": 1, "limit": 10, "total": 1, "pages": 1}
    by_number = await admin.get(f"{ORDERS}/{order['number']}")
    assert by_number.json()["data"]["id"] == order["id"]
    confirmed = await admin.put(f"{ORDERS}/{order['id']}", json={"status": "confirmed"})
    assert confirmed.status_code == 200 and confirmed.json()["data"]["status"] == "confirmed"
    refused = await admin.put(f"{ORDERS}/{order['id']}", json={"status": "refunded"})
    assert refused.status_code == 409
    assert (await admin.get(f"{ORDERS}/00000000-0000-7000-8000-000000000000")).status_code == 404


async def test_orders_need_credentials_and_permissions(
    app: Starlette, client: httpx.AsyncClient, database: Database
) -> None:
    assert (await client.get(ORDERS)).status_code == 401
    anonymous = await client.post(
        ORDERS,
        json={"items": [{"productId": "00000000-0000-7000-8000-000000000000", "quantity": 1}]},
    )
    assert anonymous.status_code == 401
    _, plaintext = await make_api_key(database, permissions=["catalog:read"])
    async with client_for(app, headers={"x-api-key": plaintext}) as limited:
        assert (await limited.get(ORDERS)).status_code == 403
        refused = await limited.post(
            ORDERS, json={"items": [{"productId": "00000000-0000-7000-8000-000000000000",
                                     "quantity": 1}]}
        )  # fmt: skip
        assert refused.status_code == 403
