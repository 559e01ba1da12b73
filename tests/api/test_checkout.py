"""Checkout through the engine dialect (POST /api/checkout) and the GraphQL `checkout` mutation.

All or nothing: a declined card, missing stock or a bad promotion code is 422 CHECKOUT_FAILED
and leaves no order, no stock held, no promotion use, and the cart still open.
"""

from __future__ import annotations

import re
import uuid
from typing import Any

import httpx
import pytest
from sqlalchemy import delete, func, select, update

from app.auth.actor import SYSTEM
from app.db import Database
from app.models.audit import AuditEntry, Event
from app.models.carts import Cart
from app.models.catalog import CatalogEntity
from app.models.inventory import Reservation, Warehouse
from app.models.orders import Order, OrderLine, Payment
from app.models.pricing import Price
from app.services.checkout import CheckoutRequest, checkout
from app.services.inventory import levels as level_service
from app.services.inventory import warehouses as warehouse_service
from app.services.pricing.prices import create_price
from tests.support.catalog import make_entity
from tests.support.queries import count_queries

CHECKOUT = "/api/checkout"
CARTS = "/api/carts"
NUMBER = re.compile(r"^ORD-\d{4}-\d{6}$")
UNKNOWN = "5b0c6f0e-0000-4000-8000-000000000000"


# --- helpers (also used by test_orders.py and test_checkout_concurrency.py) -----------------


async def warehouse(database: Database, code: str = "MAIN") -> Warehouse:
    async with database.read_session() as session:
        found = await session.scalar(select(Warehouse).where(Warehouse.code == code))
    if found is not None:
        return found
    async with database.unit_of_work() as uow:
        made = await warehouse_service.create_warehouse(uow, SYSTEM, code=code, name=code)
        await uow.commit()
    return made


async def set_stock(database: Database, sku: str, quantity: int) -> None:
    where = await warehouse(database)
    async with database.unit_of_work() as uow:
        await level_service.set_level(
            uow, SYSTEM, sku=sku, quantity=quantity, warehouse_id=str(where.id)
        )
        await uow.commit()


async def product(
    database: Database, slug: str, amount: int = 1250, stock: int | None = 10
) -> CatalogEntity:
    """An active product priced in USD with `stock` units in the MAIN warehouse."""
    made = await make_entity(database, slug=slug)
    async with database.unit_of_work() as uow:
        await create_price(uow, SYSTEM, entity_id=str(made.id), currency="USD", amount=amount)
        await uow.commit()
    if stock is not None:
        await set_stock(database, slug, stock)
    return made


async def new_cart(client: httpx.AsyncClient, currency: str = "USD") -> str:
    response = await client.post(CARTS, json={"currency": currency})
    assert response.status_code == 201, response.text
    return response.json()["data"]["id"]


async def add(
    client: httpx.AsyncClient, cart: str, entity: CatalogEntity, quantity: int = 1, **body: Any
) -> None:
    response = await client.post(
        f"{CARTS}/{cart}/items",
        json={"entityId": str(entity.id), "quantity": quantity, **body},
    )
    assert response.status_code == 201, response.text


async def cart_with(
    client: httpx.AsyncClient, *lines: tuple[CatalogEntity, int], **body: Any
) -> str:
    cart = await new_cart(client)
    for entity, quantity in lines:
        await add(client, cart, entity, quantity, **body)
    return cart


async def post_checkout(
    client: httpx.AsyncClient,
    cart: str,
    payment: str = "pm_card_visa",
    key: str | None = None,
    **body: Any,
) -> httpx.Response:
    headers = {"Idempotency-Key": key} if key is not None else {}
    return await client.post(
        CHECKOUT, json={"cartId": cart, "paymentMethodId": payment, **body}, headers=headers
    )


async def place_order(
    client: httpx.AsyncClient, database: Database, slug: str = "mug", quantity: int = 2
) -> dict[str, Any]:
    """A fresh product (10 in stock, 1250 each) and a paid order of `quantity` of it."""
    mug = await product(database, slug)
    cart = await cart_with(client, (mug, quantity))
    response = await post_checkout(client, cart)
    assert response.status_code == 201, response.text
    return response.json()["data"]


async def available(client: httpx.AsyncClient, entity: CatalogEntity) -> int:
    response = await client.get("/api/inventory/check", params={"entityIds": str(entity.id)})
    assert response.status_code == 200, response.text
    return sum(row["availableQuantity"] for row in response.json()["data"])


async def count(database: Database, model: Any, *where: Any) -> int:
    async with database.read_session() as session:
        return await session.scalar(select(func.count()).select_from(model).where(*where)) or 0


async def active_reservations(database: Database) -> int:
    return await count(database, Reservation, Reservation.status == "active")


async def cart_status(database: Database, cart: str) -> str:
    async with database.read_session() as session:
        row = await session.get(Cart, uuid.UUID(cart))
    assert row is not None
    return row.status


def failed(response: httpx.Response, code: str = "CHECKOUT_FAILED", status: int = 422) -> str:
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert error["code"] == code, error
    return error["message"]


# --- the happy path ---------------------------------------------------------------------------


async def test_checkout_creates_a_paid_pending_order_from_the_cart(
    client: httpx.AsyncClient, admin: httpx.AsyncClient, database: Database
) -> None:
    mug = await product(database, "mug", 1250, stock=10)
    tee = await product(database, "tee", 2000, stock=5)
    cart = await cart_with(client, (mug, 3), (tee, 1))
    address = {
        "line1": "123 Main St",
        "city": "Springfield",
        "state": "IL",
        "postalCode": "62701",
        "country": "US",
    }
    response = await post_checkout(client, cart, currency="USD", shippingAddress=address)
    assert response.status_code == 201, response.text
    order = response.json()["data"]
    assert NUMBER.match(order["number"]), order["number"]
    assert (order["status"], order["paymentStatus"], order["currency"]) == (
        "pending",
        "paid",
        "USD",
    )
    assert (order["subtotal"], order["discountTotal"], order["total"]) == (5750, 0, 5750)
    assert order["cartId"] == cart and order["shippingAddress"] == address
    lines = sorted(
        (line["title"], line["quantity"], line["unitPrice"], line["discount"], line["total"])
        for line in order["lines"]
    )
    assert lines == [("Mug", 3, 1250, 0, 3750), ("Tee", 1, 2000, 0, 2000)]
    [payment] = order["payments"]
    assert (payment["provider"], payment["status"], payment["amount"]) == (
        "test",
        "succeeded",
        5750,
    )
    assert payment["providerReference"].startswith("pi_test_")

    # Stock sold; nothing left held; one payment row; the cart is closed.
    assert await available(client, mug) == 7 and await available(client, tee) == 4
    assert await active_reservations(database) == 0
    assert await count(database, Payment) == 1
    assert await cart_status(database, cart) == "checked_out"

    # Staff read it back by its number, as it was answered.
    fetched = await admin.get(f"/api/orders/{order['number']}")
    assert fetched.status_code == 200 and fetched.json()["data"] == order

    again = await post_checkout(client, cart)
    failed(again)
    assert await count(database, Order) == 1
    assert await available(client, mug) == 7


async def test_order_lines_are_snapshots_that_outlive_price_changes(
    client: httpx.AsyncClient, admin: httpx.AsyncClient, database: Database
) -> None:
    mug = await product(database, "mug", 1250)
    cart = await cart_with(client, (mug, 2))
    order = (await post_checkout(client, cart)).json()["data"]
    async with database.unit_of_work() as uow:
        await uow.session.execute(delete(Price).where(Price.entity_id == mug.id))
        await create_price(uow, SYSTEM, entity_id=str(mug.id), currency="USD", amount=9999)
        await uow.commit()
    fetched = (await admin.get(f"/api/orders/{order['id']}")).json()["data"]
    [line] = fetched["lines"]
    assert (line["unitPrice"], line["total"], line["title"]) == (1250, 2500, "Mug")
    assert fetched["total"] == 2500


async def test_order_numbers_increment_per_order(
    client: httpx.AsyncClient, database: Database
) -> None:
    mug = await product(database, "mug", 100, stock=10)
    numbers = []
    for _ in range(3):
        cart = await cart_with(client, (mug, 1))
        response = await post_checkout(client, cart)
        assert response.status_code == 201, response.text
        numbers.append(response.json()["data"]["number"])
    assert all(NUMBER.match(n) for n in numbers)
    prefixes = {n.rsplit("-", 1)[0] for n in numbers}
    assert len(prefixes) == 1
    sequence = [int(n.rsplit("-", 1)[1]) for n in numbers]
    assert sequence == [sequence[0], sequence[0] + 1, sequence[0] + 2]


async def test_checkout_records_orders_create_event_and_audit(
    client: httpx.AsyncClient, database: Database
) -> None:
    order = await place_order(client, database)
    async with database.read_session() as session:
        audits = (
            await session.scalars(select(AuditEntry).where(AuditEntry.entity_id == order["id"]))
        ).all()
        events = (await session.scalars(select(Event).where(Event.entity_id == order["id"]))).all()
    assert [(a.event, a.entity_type) for a in audits] == [("orders.create", "order")]
    assert audits[0].after is not None
    assert [e.type for e in events] == ["orders.create"]


# --- declines and other failures leave nothing behind ------------------------------------------


@pytest.mark.parametrize("card", ["pm_card_declined", "pm_fail_insufficient_funds"])
async def test_a_declined_payment_changes_nothing(
    client: httpx.AsyncClient, database: Database, card: str
) -> None:
    mug = await product(database, "mug", 1250, stock=5)
    cart = await cart_with(client, (mug, 2))
    message = failed(await post_checkout(client, cart, card))
    assert "declined" in message.lower()
    assert await count(database, Order) == 0
    assert await count(database, OrderLine) == 0
    assert await count(database, Payment) == 0
    assert await available(client, mug) == 5
    assert await active_reservations(database) == 0
    assert await count(database, Event, Event.type == "orders.create") == 0
    assert await cart_status(database, cart) == "active"

    # The same cart then goes through with a good card.
    ok = await post_checkout(client, cart, "pm_card_visa")
    assert ok.status_code == 201, ok.text
    assert ok.json()["data"]["total"] == 2500
    assert await available(client, mug) == 3
    assert await count(database, Order) == 1


async def test_out_of_stock_is_checkout_failed_and_holds_nothing(
    client: httpx.AsyncClient, database: Database
) -> None:
    mug = await product(database, "mug", 1000, stock=5)
    tee = await product(database, "tee", 1000, stock=1)
    cart = await cart_with(client, (mug, 2), (tee, 2))
    message = failed(await post_checkout(client, cart))
    assert "stock" in message.lower()
    assert await available(client, mug) == 5 and await available(client, tee) == 1
    assert await active_reservations(database) == 0
    assert await count(database, Order) == 0 and await count(database, Payment) == 0
    assert await cart_status(database, cart) == "active"


async def test_a_product_with_no_stock_level_is_checkout_failed(
    client: httpx.AsyncClient, database: Database
) -> None:
    mug = await product(database, "mug", 1000, stock=None)
    cart = await cart_with(client, (mug, 1))
    failed(await post_checkout(client, cart))
    assert await count(database, Order) == 0


async def test_an_empty_cart_is_checkout_failed(
    client: httpx.AsyncClient, database: Database
) -> None:
    cart = await new_cart(client)
    failed(await post_checkout(client, cart))
    assert await count(database, Order) == 0


async def test_a_line_that_lost_its_price_is_checkout_failed(
    client: httpx.AsyncClient, database: Database
) -> None:
    mug = await product(database, "mug", 1000, stock=5)
    cart = await cart_with(client, (mug, 1))
    async with database.unit_of_work() as uow:
        await uow.session.execute(delete(Price).where(Price.entity_id == mug.id))
        await uow.commit()
    message = failed(await post_checkout(client, cart))
    assert "price" in message.lower()
    assert await count(database, Order) == 0 and await available(client, mug) == 5


async def test_a_currency_other_than_the_carts_is_checkout_failed(
    client: httpx.AsyncClient, database: Database
) -> None:
    mug = await product(database, "mug", 1000)
    cart = await cart_with(client, (mug, 1))
    failed(await post_checkout(client, cart, currency="EUR"))
    assert await count(database, Order) == 0


@pytest.mark.parametrize("cart", [UNKNOWN, "not-a-uuid"])
async def test_an_unknown_cart_is_404(client: httpx.AsyncClient, cart: str) -> None:
    failed(await post_checkout(client, cart), "NOT_FOUND", 404)


@pytest.mark.parametrize(
    "body",
    [
        {"cartId": UNKNOWN},
        {"cartId": UNKNOWN, "paymentMethodId": "card_visa"},
        {"cartId": UNKNOWN, "paymentMethodId": ""},
        {"cartId": UNKNOWN, "paymentMethodId": "pm_" + "x" * 300},
        {"paymentMethodId": "pm_card_visa"},
        {"cartId": UNKNOWN, "paymentMethodId": "pm_card_visa", "promotionCodes": ["A"] * 6},
        {
            "cartId": UNKNOWN,
            "paymentMethodId": "pm_card_visa",
            "shippingAddress": {"planet": "Mars"},
        },
    ],
    ids=[
        "missing-payment",
        "not-pm",
        "empty-pm",
        "long-pm",
        "missing-cart",
        "six-codes",
        "unknown-address-field",
    ],
)
async def test_a_bad_body_is_422_validation_failed(
    client: httpx.AsyncClient, database: Database, body: dict[str, Any]
) -> None:
    response = await client.post(CHECKOUT, json=body)
    failed(response, "VALIDATION_FAILED", 422)
    assert await count(database, Order) == 0


async def test_a_bad_payment_method_on_a_real_cart_changes_nothing(
    client: httpx.AsyncClient, database: Database
) -> None:
    mug = await product(database, "mug", 1000, stock=3)
    cart = await cart_with(client, (mug, 1))
    failed(await post_checkout(client, cart, "tok_visa"), "VALIDATION_FAILED", 422)
    assert await cart_status(database, cart) == "active"
    assert await available(client, mug) == 3


async def test_a_tampered_price_snapshot_is_never_charged(
    client: httpx.AsyncClient, database: Database
) -> None:
    mug = await product(database, "mug", 1250, stock=10)
    cart = await cart_with(client, (mug, 3), unitPriceSnapshot=1)
    response = await post_checkout(client, cart)
    assert response.status_code == 201, response.text
    order = response.json()["data"]
    assert order["total"] == 3750
    assert [line["unitPrice"] for line in order["lines"]] == [1250]
    async with database.read_session() as session:
        amounts = (await session.scalars(select(Payment.amount))).all()
    assert amounts == [1250 * 3]


# --- idempotency ------------------------------------------------------------------------------


async def test_the_same_idempotency_key_and_body_answers_the_same_order(
    client: httpx.AsyncClient, database: Database
) -> None:
    mug = await product(database, "mug", 1000, stock=10)
    cart = await cart_with(client, (mug, 2))
    first = await post_checkout(client, cart, key="key-1")
    assert first.status_code == 201, first.text
    second = await post_checkout(client, cart, key="key-1")
    assert second.status_code in (200, 201), second.text
    assert second.json()["data"]["id"] == first.json()["data"]["id"]
    assert second.json()["data"]["number"] == first.json()["data"]["number"]
    assert await count(database, Order) == 1
    assert await count(database, Payment) == 1
    assert await available(client, mug) == 8


async def test_the_same_idempotency_key_with_another_body_is_409(
    client: httpx.AsyncClient, database: Database
) -> None:
    mug = await product(database, "mug", 1000, stock=10)
    cart = await cart_with(client, (mug, 1))
    assert (await post_checkout(client, cart, key="key-1")).status_code == 201
    failed(await post_checkout(client, cart, "pm_card_mastercard", key="key-1"), "CONFLICT", 409)
    other = await cart_with(client, (mug, 1))
    failed(await post_checkout(client, other, key="key-1"), "CONFLICT", 409)
    assert await count(database, Order) == 1 and await count(database, Payment) == 1
    assert await cart_status(database, other) == "active"


async def test_a_failed_checkout_does_not_burn_its_idempotency_key(
    client: httpx.AsyncClient, database: Database
) -> None:
    mug = await product(database, "mug", 1000, stock=10)
    cart = await cart_with(client, (mug, 1))
    failed(await post_checkout(client, cart, "pm_card_declined", key="key-2"))
    # Another body under the key is fine: the failed attempt left nothing behind.
    ok = await post_checkout(client, cart, "pm_card_visa", key="key-2")
    assert ok.status_code == 201, ok.text


async def test_an_overlong_idempotency_key_is_422(
    client: httpx.AsyncClient, database: Database
) -> None:
    mug = await product(database, "mug", 1000, stock=10)
    cart = await cart_with(client, (mug, 1))
    failed(await post_checkout(client, cart, key="k" * 201), "VALIDATION_FAILED", 422)
    assert await count(database, Order) == 0


# --- GraphQL ----------------------------------------------------------------------------------

GQL_CHECKOUT = """mutation C($input: CheckoutInput!, $key: String) {
  checkout(input: $input, idempotencyKey: $key) {
    replayed
    order {
      id number status paymentStatus total { amount currency formatted }
      lines { quantity unitPrice { amount } total { amount } }
      payments { amount { amount } status }
    }
  }
}"""


async def gql_checkout(
    client: httpx.AsyncClient, cart: str, payment: str = "pm_card_visa", key: str | None = None
) -> dict[str, Any]:
    response = await client.post(
        "/graphql",
        json={
            "query": GQL_CHECKOUT,
            "variables": {"input": {"cartId": cart, "paymentMethodId": payment}, "key": key},
        },
    )
    assert response.status_code == 200, response.text
    return response.json()


async def test_graphql_checkout(client: httpx.AsyncClient, database: Database) -> None:
    mug = await product(database, "mug", 1250, stock=4)
    cart = await cart_with(client, (mug, 2))
    body = await gql_checkout(client, cart, key="gql-1")
    assert "errors" not in body, body
    result = body["data"]["checkout"]
    order = result["order"]
    assert result["replayed"] is False
    assert NUMBER.match(order["number"])
    assert (order["status"], order["paymentStatus"]) == ("PENDING", "PAID")
    assert order["total"] == {"amount": 2500, "currency": "USD", "formatted": "25.00 USD"}
    assert order["lines"] == [
        {"quantity": 2, "unitPrice": {"amount": 1250}, "total": {"amount": 2500}}
    ]
    assert order["payments"] == [{"amount": {"amount": 2500}, "status": "SUCCEEDED"}]
    assert await available(client, mug) == 2

    replay = (await gql_checkout(client, cart, key="gql-1"))["data"]["checkout"]
    assert replay["replayed"] is True and replay["order"]["id"] == order["id"]

    again = await gql_checkout(client, cart)
    assert again["errors"][0]["extensions"]["code"] == "CHECKOUT_FAILED"


async def test_graphql_checkout_declined(client: httpx.AsyncClient, database: Database) -> None:
    mug = await product(database, "mug", 1250, stock=4)
    cart = await cart_with(client, (mug, 1))
    body = await gql_checkout(client, cart, "pm_card_declined")
    assert body.get("data") is None or body["data"].get("checkout") is None
    assert body["errors"][0]["extensions"]["code"] == "CHECKOUT_FAILED"
    assert await count(database, Order) == 0 and await available(client, mug) == 4
    unknown = await gql_checkout(client, UNKNOWN)
    assert unknown["errors"][0]["extensions"]["code"] == "NOT_FOUND"
    bad = await gql_checkout(client, cart, "visa")
    assert bad["errors"][0]["extensions"]["code"] == "VALIDATION_FAILED"


# --- promotions -------------------------------------------------------------------------------

SAVE10 = {
    "code": "SAVE10",
    "name": "Save 10%",
    "type": "percentage_off_order",
    "value": 10,
    "validFrom": "2025-01-01T00:00:00Z",
    "validUntil": "2099-12-31T23:59:59Z",
}


async def make_save10(admin: httpx.AsyncClient) -> str:
    response = await admin.post("/api/promotions", json=SAVE10)
    assert response.status_code == 201, response.text
    return response.json()["data"]["id"]


async def usage(database: Database, promotion_id: str) -> tuple[int, int]:
    from app.models.promotions import Promotion, PromotionRedemption

    async with database.read_session() as session:
        row = await session.get(Promotion, uuid.UUID(promotion_id))
        assert row is not None
        redemptions = await session.scalar(
            select(func.count())
            .select_from(PromotionRedemption)
            .where(PromotionRedemption.promotion_id == row.id)
        )
    return row.usage_count, redemptions or 0


async def test_a_promotion_code_discounts_the_order_and_counts_its_use(
    client: httpx.AsyncClient, admin: httpx.AsyncClient, database: Database
) -> None:
    promotion = await make_save10(admin)
    mug = await product(database, "mug", 1250, stock=10)
    tee = await product(database, "tee", 2000, stock=10)
    cart = await cart_with(client, (mug, 2), (tee, 1))
    response = await post_checkout(client, cart, promotionCodes=["save10"])
    assert response.status_code == 201, response.text
    order = response.json()["data"]
    assert (order["subtotal"], order["discountTotal"], order["total"]) == (4500, 450, 4050)
    assert order["promotionCodes"] == ["SAVE10"]
    assert sum(line["discount"] for line in order["lines"]) == 450
    assert sum(line["total"] for line in order["lines"]) == 4050
    assert [p["amount"] for p in order["payments"]] == [4050]
    assert await usage(database, promotion) == (1, 1)


async def test_an_unknown_promotion_code_is_checkout_failed(
    client: httpx.AsyncClient, admin: httpx.AsyncClient, database: Database
) -> None:
    promotion = await make_save10(admin)
    mug = await product(database, "mug", 1250, stock=10)
    cart = await cart_with(client, (mug, 1))
    message = failed(await post_checkout(client, cart, promotionCodes=["SAVE10", "NOPE"]))
    assert "NOPE" in message
    assert await usage(database, promotion) == (0, 0)
    assert await count(database, Order) == 0 and await available(client, mug) == 10


async def test_a_declined_payment_does_not_count_promotion_use(
    client: httpx.AsyncClient, admin: httpx.AsyncClient, database: Database
) -> None:
    promotion = await make_save10(admin)
    mug = await product(database, "mug", 1250, stock=10)
    cart = await cart_with(client, (mug, 1))
    failed(await post_checkout(client, cart, "pm_card_declined", promotionCodes=["SAVE10"]))
    assert await usage(database, promotion) == (0, 0)
    assert await available(client, mug) == 10 and await active_reservations(database) == 0
    ok = await post_checkout(client, cart, promotionCodes=["SAVE10"])
    assert ok.status_code == 201 and ok.json()["data"]["total"] == 1125
    assert await usage(database, promotion) == (1, 1)


# --- order numbers ----------------------------------------------------------------------------


async def test_a_number_an_order_already_has_is_passed_over_not_a_500(
    client: httpx.AsyncClient, database: Database
) -> None:
    """Orders restored or imported behind the order number counter: the next checkout takes
    the next free number instead of failing on the unique number."""
    mug = await product(database, "mug", 100, stock=5)
    numbers = [await _checked_out(client, mug) for _ in range(2)]
    year, serial = numbers[0].rsplit("-", 1)
    # The two numbers the counter gives next become the two orders' (as a restore of orders
    # without their counter leaves them).
    taken = [f"{year}-{int(serial) + step:06d}" for step in (2, 3)]
    async with database.unit_of_work() as uow:
        for number, new in zip(numbers, taken, strict=True):
            await uow.session.execute(
                update(Order).where(Order.number == number).values(number=new)
            )
        await uow.commit()

    assert await _checked_out(client, mug) == f"{year}-{int(serial) + 4:06d}"


async def test_when_every_number_tried_is_taken_checkout_says_why_and_changes_nothing(
    client: httpx.AsyncClient, database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    from app.services import orders as order_service

    mug = await product(database, "mug", 100, stock=5)
    first = await _checked_out(client, mug)
    year, serial = first.rsplit("-", 1)
    following = f"{year}-{int(serial) + 1:06d}"
    async with database.unit_of_work() as uow:
        renumbered = update(Order).where(Order.number == first).values(number=following)
        await uow.session.execute(renumbered)
        await uow.commit()
    monkeypatch.setattr(order_service, "NUMBER_SKIPS", 1)
    cart = await new_cart(client)
    await add(client, cart, mug)
    before = await active_reservations(database)
    answer = await post_checkout(client, cart)
    assert answer.status_code == 409, answer.text
    error = answer.json()["error"]
    assert error["code"] == "CONFLICT" and "order number counter is behind" in error["message"]
    assert await active_reservations(database) == before
    async with database.read_session() as session:
        assert await session.scalar(select(func.count()).select_from(Order)) == 1


async def _checked_out(client: httpx.AsyncClient, entity: CatalogEntity) -> str:
    """The number of a new order of one `entity`."""
    cart = await new_cart(client)
    await add(client, cart, entity)
    made = await post_checkout(client, cart)
    assert made.status_code == 201, made.text
    number: str = made.json()["data"]["number"]
    return number


# --- statement count --------------------------------------------------------------------------


@pytest.mark.parametrize("lines", [1, 20])
async def test_checkout_statement_count(
    client: httpx.AsyncClient, database: Database, lines: int
) -> None:
    cart = await new_cart(client)
    for i in range(lines):
        await add(client, cart, await product(database, f"item-{i}", 100 + i, stock=5))
    request = CheckoutRequest(cart_id=cart, payment_method_id="pm_card_visa")
    with count_queries(database) as queries:
        order, replayed = await checkout(database, SYSTEM, request)
    assert replayed is False and order.total == sum(100 + i for i in range(lines))
    expected = checkout_statements()
    assert queries.count == expected, (queries.count, queries.statements)


def checkout_statements() -> int:
    """Measured: a paid checkout costs 30 statements on SQLite and on PostgreSQL, the same
    for 1 and for 20 lines. Two transactions, the provider called between them:

    First: the cart (locked), its items, prices (their modifiers only when one may apply:
    none here); the order number (SQLite: the year's counter insert, its increment, and the
    check that no order has that number; PostgreSQL: one nextval, that check in the same
    statement); the order, its lines (one executemany), their entities' vendors (the
    marketplace split: no sub-order for an order of the house's own lines); the stock held
    (`hold_lines`: every candidate level, their expired holds, on PostgreSQL the rows locked
    in id order, one guarded UPDATE, the reservations, the movements); the inventory audit
    entries and events; the cart closed; the pending charge.

    Second: the order and the charge (both locked), the order's
    lines, its holds (`consume_holds`: the live reservations, on PostgreSQL the levels
    locked in id order, one UPDATE of the levels, one of the reservations, the movements);
    the charge, the order; its sub-orders (announced with it: none here); and the audit
    entries and events of the sale and the order, one insert per table.
    """
    return 30


async def test_a_failing_after_hook_is_reported_in_meta_and_keeps_the_order(
    client: httpx.AsyncClient, database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    from app.services import checkout as checkout_service

    async def notify_shop(order: Any) -> None:
        raise RuntimeError("mail server down")

    seen: list[str] = []

    async def record(order: Any) -> None:
        seen.append(order.number)

    monkeypatch.setattr(checkout_service, "AFTER_CHECKOUT", [notify_shop, record])
    await warehouse(database)
    mug = await product(database, "mug")
    cart = await cart_with(client, (mug, 1))
    response = await post_checkout(client, cart)
    assert response.status_code == 201
    body = response.json()
    # (A guest's checkout also answers meta.accessToken: tests/api/test_me.py.)
    assert body["meta"]["hookErrors"] == ["notify_shop: mail server down"]
    assert seen == [body["data"]["number"]]  # the other hooks still ran
    assert await count(database, Order) == 1


async def test_without_hook_errors_there_are_none_in_meta(
    client: httpx.AsyncClient, database: Database
) -> None:
    await warehouse(database)
    mug = await product(database, "mug")
    response = await post_checkout(client, await cart_with(client, (mug, 1)))
    assert response.status_code == 201
    # A guest's checkout answers its order's access token there, and nothing else.
    assert set(response.json()["meta"]) == {"accessToken"}
