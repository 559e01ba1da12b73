"""The money path: cancellations that refund or release, late payments that count, partial
refunds, and promotion uses given back, through GraphQL and both REST dialects, with the
database (payments, holds, stock, events) and the provider's own record checked."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select, update
from starlette.applications import Starlette

from app import payments
from app.auth.actor import SYSTEM
from app.db import Database
from app.models.audit import Event
from app.models.base import utcnow
from app.models.inventory import Reservation
from app.models.orders import Order, Payment
from app.models.promotions import Promotion, PromotionRedemption
from app.services import settlement
from app.services.catalog.entities import delete_entity
from app.services.payments import sign
from tests.api.test_checkout import available, cart_with, post_checkout, product
from tests.conftest import client_for
from tests.support.catalog import entity_by_slug

ORDERS, V1_ORDERS, V1_PAYMENTS = "/api/orders", "/api/v1/orders", "/api/v1/payments"
SECRET = "whsec_money_path"


@pytest.fixture
def provider() -> Iterator[payments.TestProvider]:
    """A provider of this test's own, so its record holds this test's calls only."""
    fresh = payments.TestProvider()
    previous = payments.use(fresh)
    yield fresh
    payments.use(previous)


@pytest.fixture
async def hooks(make_app: Callable[..., Starlette]) -> AsyncIterator[httpx.AsyncClient]:
    async with client_for(make_app(payment_webhook_secret=SECRET)) as client:
        yield client


async def paid_order(
    client: httpx.AsyncClient, database: Database, *, quantity: int = 3, **body: Any
) -> dict[str, Any]:
    """A paid checkout of `quantity` mugs at 12.50 USD (10 in stock)."""
    mug = await product(database, "mug", 1250, stock=10)
    cart = await cart_with(client, (mug, quantity))
    response = await post_checkout(client, cart, **body)
    assert response.status_code == 201, response.text
    return response.json()["data"]


async def unpaid_order(admin: httpx.AsyncClient, database: Database) -> dict[str, Any]:
    """A gateway order of 2 mugs (12.50 USD each, 10 in stock), placed unpaid."""
    mug = await product(database, "mug", 1250, stock=10)
    response = await admin.post(
        V1_ORDERS, json={"items": [{"productId": str(mug.id), "quantity": 2}]}
    )
    assert response.status_code == 201, response.text
    return response.json()["data"]


async def payment_rows(database: Database, order_id: str) -> list[tuple[str, str, int]]:
    async with database.read_session() as session:
        rows = await session.execute(
            select(Payment.kind, Payment.status, Payment.amount)
            .where(Payment.order_id == uuid.UUID(order_id))
            .order_by(Payment.created_at)
        )
        return [tuple(row) for row in rows]  # type: ignore[misc]


async def holds(database: Database, order_id: str) -> dict[str, int]:
    async with database.read_session() as session:
        rows = await session.execute(
            select(Reservation.status, func.sum(Reservation.quantity))
            .where(Reservation.reference_id == order_id)
            .group_by(Reservation.status)
        )
        return {status: int(total) for status, total in rows}


async def events(database: Database, order_id: str) -> list[str]:
    async with database.read_session() as session:
        rows = await session.scalars(
            select(Event.type).where(Event.entity_id == order_id).order_by(Event.id)
        )
        return list(rows)


async def engine_cancel(admin: httpx.AsyncClient, order_id: str) -> httpx.Response:
    return await admin.patch(f"{ORDERS}/{order_id}/status", json={"status": "cancelled"})


async def gateway_cancel(admin: httpx.AsyncClient, order_id: str) -> httpx.Response:
    return await admin.put(f"{V1_ORDERS}/{order_id}", json={"status": "cancelled"})


async def graphql_cancel(admin: httpx.AsyncClient, order_id: str) -> httpx.Response:
    return await admin.post(
        "/graphql",
        json={
            "query": "mutation C($id: ID!) { changeOrderStatus(input: {id: $id, "
            "status: CANCELLED}) { status paymentStatus } }",
            "variables": {"id": order_id},
        },
    )


CANCEL = {"engine": engine_cancel, "gateway": gateway_cancel, "graphql": graphql_cancel}


# --- cancelling ---------------------------------------------------------------------------


@pytest.mark.parametrize("face", sorted(CANCEL))
async def test_cancelling_a_paid_order_refunds_it_and_restocks(
    client: httpx.AsyncClient,
    admin: httpx.AsyncClient,
    database: Database,
    provider: payments.TestProvider,
    face: str,
) -> None:
    order = await paid_order(client, database)
    assert order["paymentStatus"] == "paid" and order["total"] == 3750
    response = await CANCEL[face](admin, order["id"])
    assert response.status_code == 200, response.text
    assert "errors" not in response.json()

    data = (await admin.get(f"{ORDERS}/{order['id']}")).json()["data"]
    assert (data["status"], data["paymentStatus"]) == ("cancelled", "refunded")
    assert await payment_rows(database, order["id"]) == [
        ("checkout", "succeeded", 3750),
        ("refund", "refunded", -3750),
    ]
    [refund] = provider.ledger.entries("refund")
    assert (refund["amount"], refund["charge"]) == (
        3750,
        provider.ledger.entries("charge")[0]["reference"],
    )
    mug = await entity_by_slug(database, "mug")
    assert await available(client, mug) == 10
    assert await events(database, order["id"]) == [
        "orders.create", "orders.statusChange", "orders.update",
    ]  # fmt: skip


@pytest.mark.parametrize("face", sorted(CANCEL))
async def test_cancelling_an_unpaid_order_releases_its_holds_at_once(
    client: httpx.AsyncClient,
    admin: httpx.AsyncClient,
    database: Database,
    provider: payments.TestProvider,
    face: str,
) -> None:
    order = await unpaid_order(admin, database)
    mug = await entity_by_slug(database, "mug")
    assert await available(client, mug) == 8
    assert await holds(database, order["id"]) == {"active": 2}

    response = await CANCEL[face](admin, order["id"])
    assert response.status_code == 200, response.text
    assert await available(client, mug) == 10
    assert await holds(database, order["id"]) == {"released": 2}
    assert await payment_rows(database, order["id"]) == []
    assert provider.calls == 0


async def test_a_cancelled_order_cannot_be_paid_on_any_face(
    client: httpx.AsyncClient,
    admin: httpx.AsyncClient,
    database: Database,
    provider: payments.TestProvider,
) -> None:
    order = await unpaid_order(admin, database)
    assert (await gateway_cancel(admin, order["id"])).status_code == 200
    rest = await admin.post(
        V1_PAYMENTS,
        json={"orderId": order["id"], "paymentMethodId": "pm_card_visa", "amount": 25.00,
              "currency": "USD"},
    )  # fmt: skip
    assert rest.status_code == 409, rest.text
    assert rest.json()["error"]["code"] == "CONFLICT"
    graphql = await admin.post(
        "/graphql",
        json={"query": "mutation P($id: ID!) { payOrder(input: {orderId: $id, "
              "paymentMethodId: \"pm_card_visa\", amount: 2500, currency: \"USD\"}) { id } }",
              "variables": {"id": order["id"]}},
    )  # fmt: skip
    assert graphql.json()["errors"][0]["extensions"]["code"] == "CONFLICT"
    assert provider.calls == 0  # nothing charged
    assert await payment_rows(database, order["id"]) == []
    assert await available(client, await entity_by_slug(database, "mug")) == 10  # nothing sold


async def test_cancelling_while_a_payment_is_processing_is_409(
    client: httpx.AsyncClient, admin: httpx.AsyncClient, database: Database
) -> None:
    order = await unpaid_order(admin, database)
    async with database.unit_of_work() as uow:
        await uow.session.execute(
            update(Order)
            .where(Order.id == uuid.UUID(order["id"]))
            .values(payment_status="processing")
        )
        await uow.commit()
    response = await engine_cancel(admin, order["id"])
    assert response.status_code == 409
    assert "being processed" in response.json()["error"]["message"]
    assert await holds(database, order["id"]) == {"active": 2}


async def test_a_refund_the_provider_cannot_take_stays_pending_until_retried(
    client: httpx.AsyncClient,
    admin: httpx.AsyncClient,
    database: Database,
    provider: payments.TestProvider,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    order = await paid_order(client, database)

    async def unreachable(**_: Any) -> payments.Charge:
        raise ConnectionError("provider down")

    monkeypatch.setattr(provider, "refund", unreachable)
    response = await engine_cancel(admin, order["id"])
    assert response.status_code == 200, response.text
    data = response.json()["data"]
    assert (data["status"], data["paymentStatus"]) == ("cancelled", "refund_pending")
    assert await payment_rows(database, order["id"]) == [
        ("checkout", "succeeded", 3750),
        ("refund", "refund_pending", -3750),
    ]

    monkeypatch.undo()
    assert await settlement.reconcile(database, older_than=timedelta(0)) == 1
    data = (await admin.get(f"{ORDERS}/{order['id']}")).json()["data"]
    assert data["paymentStatus"] == "refunded"
    assert len(provider.ledger.entries("refund")) == 1


# --- partial refunds ----------------------------------------------------------------------


async def refund(admin: httpx.AsyncClient, order_id: str, **body: Any) -> httpx.Response:
    return await admin.post(f"{ORDERS}/{order_id}/refunds", json=body)


async def test_partial_refunds_by_amount_never_exceed_what_was_captured(
    client: httpx.AsyncClient,
    admin: httpx.AsyncClient,
    database: Database,
    provider: payments.TestProvider,
) -> None:
    order = await paid_order(client, database)
    first = await refund(admin, order["id"], amount=1000, reason="scratched")
    assert first.status_code == 201, first.text
    assert first.json()["data"]["paymentStatus"] == "partially_refunded"
    assert first.json()["data"]["status"] == "pending"  # the status machine is not moved

    too_much = await refund(admin, order["id"], amount=2751)
    assert too_much.status_code == 422
    assert "2750" in str(too_much.json()["error"])
    assert await payment_rows(database, order["id"]) == [
        ("checkout", "succeeded", 3750),
        ("refund", "refunded", -1000),
    ]

    rest = await refund(admin, order["id"], amount=2750)
    assert rest.json()["data"]["paymentStatus"] == "refunded"
    assert [e["amount"] for e in provider.ledger.entries("refund")] == [1000, 2750]
    nothing_left = await refund(admin, order["id"], amount=1)
    assert nothing_left.status_code == 409


async def test_partial_refunds_by_lines_refund_each_units_share(
    client: httpx.AsyncClient, admin: httpx.AsyncClient, database: Database
) -> None:
    order = await paid_order(client, database)
    [line] = order["lines"]
    one = await refund(admin, order["id"], lines=[{"lineId": line["id"], "quantity": 1}])
    assert one.status_code == 201, one.text
    assert one.json()["data"]["lines"][0]["refundedQuantity"] == 1
    over = await refund(admin, order["id"], lines=[{"lineId": line["id"], "quantity": 3}])
    assert over.status_code == 422
    assert over.json()["error"]["details"] == {"lines.0.quantity": "Between 1 and 2."}
    rest = await refund(admin, order["id"], lines=[{"lineId": line["id"], "quantity": 2}])
    assert rest.json()["data"]["paymentStatus"] == "refunded"
    assert [amount for _, _, amount in await payment_rows(database, order["id"])] == [
        3750, -1250, -2500,
    ]  # fmt: skip


async def test_refund_input_mistakes_are_422_and_change_nothing(
    client: httpx.AsyncClient, admin: httpx.AsyncClient, database: Database
) -> None:
    order = await paid_order(client, database)
    [line] = order["lines"]
    for body in (
        {},
        {"amount": 0},
        {"amount": 10, "lines": [{"lineId": line["id"], "quantity": 1}]},
        {"lines": [{"lineId": "5b0c6f0e-0000-4000-8000-000000000000", "quantity": 1}]},
        {"lines": [{"lineId": line["id"], "quantity": 0}]},
    ):
        response = await refund(admin, order["id"], **body)
        assert response.status_code == 422, (body, response.text)
    assert await payment_rows(database, order["id"]) == [("checkout", "succeeded", 3750)]


async def test_refunding_needs_orders_update(
    client: httpx.AsyncClient, app: Starlette, database: Database
) -> None:
    from tests.conftest import client_with

    order = await paid_order(client, database)
    async for reader in client_with(app, database, "orders:read"):
        response = await refund(reader, order["id"], amount=100)
        assert response.status_code == 403
    assert await payment_rows(database, order["id"]) == [("checkout", "succeeded", 3750)]


async def test_graphql_refund_order_by_amount(
    client: httpx.AsyncClient, admin: httpx.AsyncClient, database: Database
) -> None:
    order = await paid_order(client, database)
    response = await admin.post(
        "/graphql",
        json={"query": "mutation R($id: ID!) { refundOrder(input: {orderId: $id, amount: 750}) "
              "{ paymentStatus payments { kind status amount { amount } } } }",
              "variables": {"id": order["id"]}},
    )  # fmt: skip
    data = response.json()["data"]["refundOrder"]
    assert data["paymentStatus"] == "PARTIALLY_REFUNDED"
    assert [(p["kind"], p["status"], p["amount"]["amount"]) for p in data["payments"]] == [
        ("CHECKOUT", "SUCCEEDED", 3750),
        ("REFUND", "REFUNDED", -750),
    ]


async def test_the_documented_refunded_status_refunds_what_is_left(
    client: httpx.AsyncClient, admin: httpx.AsyncClient, database: Database
) -> None:
    order = await paid_order(client, database)
    await refund(admin, order["id"], amount=750)
    for status in ("confirmed", "processing", "fulfilled", "refunded"):
        moved = await admin.patch(f"{ORDERS}/{order['id']}/status", json={"status": status})
        assert moved.status_code == 200, moved.text
    assert moved.json()["data"]["paymentStatus"] == "refunded"
    assert [amount for _, _, amount in await payment_rows(database, order["id"])] == [
        3750, -750, -3000,
    ]  # fmt: skip


# --- late payments (the provider's webhook) -----------------------------------------------


def intent_event(order: dict[str, Any], *, id: str = "evt_1", pi: str = "pi_late") -> bytes:
    import orjson

    # The gateway sends decimals: 25.0 USD is 2500 minor units.
    obj = {"id": pi, "amount": round(order["total"] * 100), "currency": "usd",
           "metadata": {"orderId": order["id"]}}  # fmt: skip
    return orjson.dumps({"id": id, "type": "payment_intent.succeeded", "data": {"object": obj}})


async def webhook(hooks: httpx.AsyncClient, body: bytes) -> httpx.Response:
    return await hooks.post(
        "/api/payments/webhook",
        content=body,
        headers={"content-type": "application/json", "stripe-signature": sign(SECRET, body)},
    )


async def test_a_late_payment_for_an_unpaid_order_records_it_and_sells_the_holds(
    client: httpx.AsyncClient,
    admin: httpx.AsyncClient,
    hooks: httpx.AsyncClient,
    database: Database,
) -> None:
    order = await unpaid_order(admin, database)
    response = await webhook(hooks, intent_event(order))
    assert response.json() == {"data": {"received": True, "outcome": "paid"}}

    async with database.read_session() as session:
        stored = await session.get(Order, uuid.UUID(order["id"]))
        payment = await session.scalar(
            select(Payment).where(Payment.order_id == uuid.UUID(order["id"]))
        )
    assert stored is not None and payment is not None
    assert (stored.status, stored.payment_status) == ("confirmed", "paid")
    assert (payment.provider_reference, payment.amount, payment.status) == (
        "pi_late",
        2500,
        "succeeded",
    )
    assert await holds(database, order["id"]) == {"consumed": 2}
    mug = await entity_by_slug(database, "mug")
    assert await available(client, mug) == 8
    # The holds are gone, so their expiry can never put the sold units back on sale.
    async with database.unit_of_work() as uow:
        assert await settlement.reconcile(database, older_than=timedelta(0)) == 0
        from app.services.inventory.reservations import sweep_expired

        await sweep_expired(uow, now=utcnow() + timedelta(days=1))
        await uow.commit()
    assert await available(client, mug) == 8
    assert "orders.update" in await events(database, order["id"])


async def test_a_late_payment_for_a_cancelled_order_is_refunded(
    client: httpx.AsyncClient,
    admin: httpx.AsyncClient,
    hooks: httpx.AsyncClient,
    database: Database,
    provider: payments.TestProvider,
) -> None:
    order = await unpaid_order(admin, database)
    await gateway_cancel(admin, order["id"])
    response = await webhook(hooks, intent_event(order))
    assert response.json()["data"]["outcome"] == "refunded"
    assert await payment_rows(database, order["id"]) == [
        ("payment", "succeeded", 2500),
        ("refund", "refunded", -2500),
    ]
    [back] = provider.ledger.entries("refund")
    assert (back["charge"], back["amount"]) == ("pi_late", 2500)
    data = (await admin.get(f"{ORDERS}/{order['id']}")).json()["data"]
    assert (data["status"], data["paymentStatus"]) == ("cancelled", "refunded")
    assert await available(client, await entity_by_slug(database, "mug")) == 10


async def test_a_late_payment_whose_stock_was_sold_meanwhile_is_refunded(
    client: httpx.AsyncClient,
    admin: httpx.AsyncClient,
    hooks: httpx.AsyncClient,
    database: Database,
) -> None:
    order = await unpaid_order(admin, database)
    # The holds lapse and are swept; the ten units then go to another order.
    async with database.unit_of_work() as uow:
        await uow.session.execute(
            update(Reservation)
            .where(Reservation.reference_id == order["id"])
            .values(expires_at=utcnow() - timedelta(seconds=1))
        )
        await uow.commit()
    mug = await entity_by_slug(database, "mug")
    other = await cart_with(client, (mug, 10))
    assert (await post_checkout(client, other)).status_code == 201

    response = await webhook(hooks, intent_event(order))
    assert response.json()["data"]["outcome"] == "refunded"
    data = (await admin.get(f"{ORDERS}/{order['id']}")).json()["data"]
    assert (data["status"], data["paymentStatus"]) == ("cancelled", "refunded")
    assert await available(client, mug) == 0  # nothing oversold


async def test_a_late_payment_whose_product_was_deleted_is_refunded(
    admin: httpx.AsyncClient,
    hooks: httpx.AsyncClient,
    database: Database,
    provider: payments.TestProvider,
) -> None:
    order = await unpaid_order(admin, database)
    # Deleting the product takes its stock and the order's holds with it; the order's line
    # stays (a snapshot), without its product.
    mug = await entity_by_slug(database, "mug")
    async with database.unit_of_work() as uow:
        await delete_entity(uow, SYSTEM, id=str(mug.id))
        await uow.commit()
    assert await holds(database, order["id"]) == {}

    response = await webhook(hooks, intent_event(order))
    assert response.status_code == 200, response.text
    assert response.json()["data"]["outcome"] == "refunded"
    data = (await admin.get(f"{ORDERS}/{order['id']}")).json()["data"]
    assert (data["status"], data["paymentStatus"]) == ("cancelled", "refunded")
    assert await payment_rows(database, order["id"]) == [
        ("payment", "succeeded", 2500),
        ("refund", "refunded", -2500),
    ]
    [back] = provider.ledger.entries("refund")
    assert (back["charge"], back["amount"]) == ("pi_late", 2500)


# --- promotions ---------------------------------------------------------------------------


async def test_a_cancelled_order_gives_its_promotion_use_back(
    client: httpx.AsyncClient, admin: httpx.AsyncClient, database: Database
) -> None:
    created = await admin.post(
        "/api/promotions",
        json={"code": "ONCE", "name": "Once", "type": "fixed_amount_off_order", "value": 500,
              "currency": "USD", "usageLimit": 1},
    )  # fmt: skip
    assert created.status_code == 201, created.text
    order = await paid_order(client, database, promotionCodes=["ONCE"])
    assert order["promotionDiscountTotal"] == 500 and order["total"] == 3250

    async def uses() -> tuple[int, int]:
        async with database.read_session() as session:
            count = await session.scalar(select(Promotion.usage_count))
            redeemed = await session.scalar(select(func.count()).select_from(PromotionRedemption))
        return count or 0, redeemed or 0

    assert await uses() == (1, 1)
    assert (await engine_cancel(admin, order["id"])).status_code == 200
    assert await uses() == (0, 0)
    # The code can be used again.
    mug = await entity_by_slug(database, "mug")
    again = await post_checkout(client, await cart_with(client, (mug, 1)), promotionCodes=["ONCE"])
    assert again.status_code == 201, again.text


# --- money fields mean one thing everywhere ------------------------------------------------


async def test_subtotal_discounts_and_total_mean_the_same_on_cart_validation_and_order(
    client: httpx.AsyncClient, admin: httpx.AsyncClient, database: Database
) -> None:
    """subtotal = list prices; modifierDiscountTotal = what modifiers take off;
    promotion discount on top; total = what is charged."""
    mug = await product(database, "mug", 2000, stock=10)
    sale = await admin.post(
        "/api/pricing/modifiers",
        json={"name": "Sale", "kind": "percentage", "value": 10, "entityId": str(mug.id)},
    )
    assert sale.status_code == 201, sale.text
    code = await admin.post(
        "/api/promotions",
        json={"code": "FIVE", "name": "Five off", "type": "fixed_amount_off_order",
              "value": 500, "currency": "USD"},
    )  # fmt: skip
    assert code.status_code == 201, code.text

    cart = await cart_with(client, (mug, 2))
    seen = (await client.get(f"/api/carts/{cart}")).json()["data"]
    assert (seen["subtotal"], seen["modifierDiscountTotal"], seen["total"]) == (4000, 400, 3600)
    assert (seen["items"][0]["listPrice"], seen["items"][0]["unitPrice"]) == (2000, 1800)

    validated = await client.post(
        "/api/promotions/validate",
        json={"code": "FIVE", "currency": "USD",
              "lineItems": [{"entityId": str(mug.id), "quantity": 2}]},
    )  # fmt: skip
    check = validated.json()["data"]
    assert (check["subtotal"], check["modifierDiscountTotal"], check["discount"]) == (
        4000, 400, 500,
    )  # fmt: skip
    assert check["total"] == 3100

    order = (await post_checkout(client, cart, promotionCodes=["FIVE"])).json()["data"]
    assert (order["subtotal"], order["modifierDiscountTotal"]) == (4000, 400)
    assert (order["promotionDiscountTotal"], order["discountTotal"], order["total"]) == (
        500, 900, 3100,
    )  # fmt: skip
    [line] = order["lines"]
    assert (line["listPrice"], line["unitPrice"], line["discount"], line["total"]) == (
        2000, 1800, 500, 3100,
    )  # fmt: skip


async def test_gateway_partial_refund_takes_a_decimal_amount_in_the_orders_currency(
    client: httpx.AsyncClient,
    admin: httpx.AsyncClient,
    database: Database,
    provider: payments.TestProvider,
) -> None:
    order = await paid_order(client, database)  # 37.50 USD
    url = f"{V1_ORDERS}/{order['id']}/refunds"
    part = await admin.post(url, json={"amount": 12.5, "currency": "USD", "reason": "dent"})
    assert part.status_code == 201, part.text
    body = part.json()
    assert body["success"] is True and body["data"]["paymentStatus"] == "partially_refunded"
    for wrong in ({"amount": 12.505, "currency": "USD"}, {"amount": 1, "currency": "EUR"},
                  {"amount": 25.01, "currency": "USD"}):  # fmt: skip
        refused = await admin.post(url, json=wrong)
        assert refused.status_code == 400, (wrong, refused.text)
        assert refused.json()["error"]["code"] == "VALIDATION_ERROR"
    rest = await admin.post(url, json={"amount": 25, "currency": "USD"})
    assert rest.json()["data"]["paymentStatus"] == "refunded"
    assert [e["amount"] for e in provider.ledger.entries("refund")] == [1250, 2500]
