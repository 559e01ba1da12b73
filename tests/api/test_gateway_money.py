"""Money in the gateway dialect (DESIGN §10): decimal major units with the currency's ISO 4217
exponent, exact both ways. Bodies are read with `parse_float=Decimal` so that `500.0` and
`500`, or `1.2340` and `1.234`, are told apart: the test sees the digits on the wire."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from decimal import Decimal
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from starlette.applications import Starlette

from app.db import Database
from app.models.orders import Order, Payment
from tests.conftest import client_for

PRODUCTS, ORDERS, PAYMENTS = "/api/v1/products", "/api/v1/orders", "/api/v1/payments"


def wire(response: httpx.Response) -> Any:
    """The body with every JSON number as written: ints as int, others as Decimal."""
    return json.loads(response.text, parse_float=Decimal)


@pytest.fixture
async def admin_in(
    make_app: Callable[..., Starlette], admin_key: str
) -> AsyncIterator[Callable[[str], httpx.AsyncClient]]:
    """An admin client on an app whose default currency (the gateway products') is given."""
    opened: list[httpx.AsyncClient] = []

    def build(currency: str) -> httpx.AsyncClient:
        client = client_for(make_app(default_currency=currency), headers={"x-api-key": admin_key})
        opened.append(client)
        return client

    yield build
    for client in opened:
        await client.aclose()


async def product(admin: httpx.AsyncClient, *, amount: int, currency: str, stock: int = 10) -> str:
    """An active product priced `amount` minor units of `currency`, with `stock` units."""
    created = await admin.post(PRODUCTS, json={"name": "Widget", "sku": "W-1", "status": "active"})
    product_id: str = created.json()["data"]["id"]
    priced = await admin.post(
        "/api/pricing/prices", json={"entityId": product_id, "currency": currency, "amount": amount}
    )
    assert priced.status_code == 201, priced.text
    await admin.post("/api/inventory/warehouses", json={"code": "MAIN", "name": "Main"})
    await admin.put("/api/v1/inventory/W-1", json={"quantity": stock})
    return product_id


async def place(admin: httpx.AsyncClient, product_id: str, *, currency: str, quantity: int) -> Any:
    response = await admin.post(
        ORDERS,
        json={"currency": currency, "items": [{"productId": product_id, "quantity": quantity}]},
    )
    assert response.status_code == 201, response.text
    return wire(response)["data"]


async def pay(admin: httpx.AsyncClient, order: Any, amount: Any, currency: str) -> httpx.Response:
    body = {"orderId": order["id"], "paymentMethodId": "pm_card_visa", "currency": currency}
    # Written out by hand so the JSON carries exactly the digits given.
    text = json.dumps(body)[:-1] + f', "amount": {amount}}}'
    return await admin.post(PAYMENTS, content=text, headers={"content-type": "application/json"})


async def nothing_paid(admin: httpx.AsyncClient, database: Database, order_id: str) -> None:
    async with database.read_session() as session:
        assert await session.scalar(select(func.count()).select_from(Payment)) == 0
        assert await session.scalar(select(Order.payment_status)) == "pending"
    stock = (await admin.get("/api/v1/inventory/W-1")).json()["data"]
    assert stock["reservedQuantity"] > 0  # still held for a retry
    assert (await admin.get(f"{ORDERS}/{order_id}")).json()["data"]["paymentStatus"] == "pending"


@pytest.mark.parametrize(
    ("currency", "amount", "price"),
    [("USD", 4999, Decimal("49.99")), ("USD", 4990, Decimal("49.90")), ("JPY", 500, 500),
     ("BHD", 1234, Decimal("1.234")), ("CLF", 12345, Decimal("1.2345"))],
)  # fmt: skip
async def test_a_products_price_is_exact_in_its_currencys_places(
    admin_in: Callable[[str], httpx.AsyncClient], currency: str, amount: int, price: Any
) -> None:
    admin = admin_in(currency)
    product_id = await product(admin, amount=amount, currency=currency)
    for response in (await admin.get(f"{PRODUCTS}/{product_id}"), await admin.get(PRODUCTS)):
        data = wire(response)["data"]
        data = data[0] if isinstance(data, list) else data
        assert (data["price"], data["currency"]) == (price, currency)
        assert type(data["price"]) is type(price) and str(data["price"]) == str(price)


async def test_a_jpy_order_is_in_whole_yen(admin: httpx.AsyncClient) -> None:
    product_id = await product(admin, amount=500, currency="JPY")
    order = await place(admin, product_id, currency="JPY", quantity=3)
    assert order["currency"] == "JPY"
    assert (order["items"][0]["unitPrice"], order["items"][0]["total"]) == (500, 1500)
    assert [type(order[k]) for k in ("subtotal", "discount", "total")] == [int, int, int]
    assert (order["subtotal"], order["discount"], order["total"]) == (1500, 0, 1500)


async def test_a_bhd_order_keeps_three_places(admin: httpx.AsyncClient) -> None:
    product_id = await product(admin, amount=1234, currency="BHD")
    order = await place(admin, product_id, currency="BHD", quantity=2)
    line = order["items"][0]
    assert (str(line["unitPrice"]), str(line["total"])) == ("1.234", "2.468")
    assert (str(order["subtotal"]), str(order["discount"]), str(order["total"])) == (
        "2.468",
        "0.000",
        "2.468",
    )
    again = wire(await admin.get(f"{ORDERS}/{order['id']}"))["data"]
    assert str(again["total"]) == "2.468"


async def test_a_three_decimal_bhd_payment_is_taken_exactly(
    admin: httpx.AsyncClient, database: Database
) -> None:
    product_id = await product(admin, amount=1234, currency="BHD")
    order = await place(admin, product_id, currency="BHD", quantity=2)
    paid = await pay(admin, order, "2.468", "BHD")
    assert paid.status_code == 200, paid.text
    payment = wire(paid)["data"]
    assert (payment["status"], str(payment["amount"]), payment["currency"]) == (
        "succeeded",
        "2.468",
        "BHD",
    )
    async with database.read_session() as session:
        stored = (await session.scalars(select(Payment))).one()
    assert (stored.amount, stored.currency) == (2468, "BHD")


async def test_a_whole_yen_payment_is_taken(admin: httpx.AsyncClient) -> None:
    product_id = await product(admin, amount=500, currency="JPY")
    order = await place(admin, product_id, currency="JPY", quantity=3)
    paid = await pay(admin, order, "1500", "JPY")
    assert paid.status_code == 200, paid.text
    assert wire(paid)["data"]["amount"] == 1500


@pytest.mark.parametrize(
    ("currency", "amount", "quantity", "sent", "message"),
    [("BHD", 1234, 2, "2.4681", "At most 3 decimal places: the minor unit of BHD is 0.001."),
     ("BHD", 1234, 2, "2.4679", "At most 3 decimal places: the minor unit of BHD is 0.001."),
     ("USD", 4999, 1, "49.999", "At most 2 decimal places: the minor unit of USD is 0.01."),
     ("USD", 4999, 1, "49.989999999", "At most 2 decimal places: the minor unit of USD is 0.01."),
     ("JPY", 500, 3, "1500.5", "A whole number: JPY has no minor unit."),
     ("JPY", 500, 3, "1499.9", "A whole number: JPY has no minor unit.")],
)  # fmt: skip
async def test_an_amount_finer_than_the_minor_unit_is_400_and_changes_nothing(
    admin: httpx.AsyncClient,
    database: Database,
    currency: str,
    amount: int,
    quantity: int,
    sent: str,
    message: str,
) -> None:
    """Rounding 2.4679 BHD or 49.989999999 USD would match the order's total: refused instead."""
    product_id = await product(admin, amount=amount, currency=currency)
    order = await place(admin, product_id, currency=currency, quantity=quantity)
    refused = await pay(admin, order, sent, currency)
    assert refused.status_code == 400
    error = refused.json()["error"]
    assert error["code"] == "VALIDATION_ERROR" and error["details"] == {"amount": message}
    await nothing_paid(admin, database, order["id"])


async def test_an_unknown_currency_is_400_everywhere_it_is_taken(
    admin: httpx.AsyncClient, database: Database
) -> None:
    product_id = await product(admin, amount=4999, currency="USD")
    order = await place(admin, product_id, currency="USD", quantity=1)
    payment = await pay(admin, order, "49.99", "XYZ")
    assert payment.status_code == 400
    assert payment.json()["error"]["details"] == {
        "currency": "An ISO 4217 code, e.g. USD: XYZ is not a known currency."
    }
    await nothing_paid(admin, database, order["id"])
    placed = await admin.post(
        ORDERS, json={"currency": "XYZ", "items": [{"productId": product_id, "quantity": 1}]}
    )
    assert placed.status_code == 400 and set(placed.json()["error"]["details"]) == {"currency"}
    priced = await admin.post(
        "/api/pricing/prices", json={"entityId": product_id, "currency": "XYZ", "amount": 1}
    )
    assert priced.status_code == 422 and set(priced.json()["error"]["details"]) == {"currency"}
    async with database.read_session() as session:
        assert await session.scalar(select(func.count()).select_from(Order)) == 1
