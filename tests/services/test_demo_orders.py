"""The demo shop's order history: a few dozen orders in every status, placed by the checkout
and moved by the order services, so stock, payments, refunds and code uses agree.

The tests only read, so they share one seeded store (seeding places 24 orders, which costs
seconds); nothing else runs between them (a module's tests run together, and none here
writes).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass
from typing import Any

import pytest

from app.db import Database
from app.models.customers import Customer
from app.models.inventory import InventoryLevel, InventoryMovement, Reservation
from app.models.orders import Fulfillment, Order, OrderLine, Payment
from app.models.pricing import Price
from app.models.promotions import Promotion, PromotionRedemption
from app.services.demo import SeedReport, seed_demo
from app.services.demo.catalog import demo_type
from tests.conftest import truncate_all
from tests.services.test_demo_shop import PRODUCTS, STATUSES, all_rows


@dataclass(frozen=True, slots=True)
class Seeded:
    database: Database
    report: SeedReport


@pytest.fixture(scope="module")
async def shop(shared_database: Database) -> Seeded:
    await truncate_all(shared_database)
    return Seeded(shared_database, await seed_demo(shared_database, products=PRODUCTS))


async def test_orders_reach_every_status_paid_shipped_and_refunded_as_planned(
    shop: Seeded,
) -> None:
    database, report = shop.database, shop.report

    orders = await all_rows(database, Order)
    shipped = Counter(f.order_id for f in await all_rows(database, Fulfillment))
    assert report.orders_created == len(orders) == 24
    assert Counter(o.status for o in orders) == STATUSES
    for order in orders:
        assert order.idempotency_key and order.idempotency_key.startswith("demo-order-")
        refunded = order.status in ("cancelled", "refunded")
        assert order.payment_status == ("refunded" if refunded else "paid")
        was_shipped = order.status in ("partially_fulfilled", "fulfilled", "refunded")
        assert shipped[order.id] == (1 if was_shipped else 0)
    # Guests and customers, and every code used on some order.
    assert any(o.customer_id is None for o in orders)
    assert {c for o in orders for c in o.promotion_codes} == {"WELCOME10", "SAVE15", "VIP20"}


async def test_stock_payments_refunds_and_code_uses_agree_with_the_orders(
    shop: Seeded,
) -> None:
    database = shop.database

    orders = {o.id: o for o in await all_rows(database, Order)}
    lines = await all_rows(database, OrderLine)
    levels = {level.id: level for level in await all_rows(database, InventoryLevel)}
    movements = await all_rows(database, InventoryMovement)
    payments = await all_rows(database, Payment)
    # Every level is the sum of its movements; nothing is left reserved.
    on_hand: Counter[Any] = Counter()
    reserved: Counter[Any] = Counter()
    restocked = {}
    for movement in movements:
        on_hand[movement.level_id] += movement.delta
        reserved[movement.level_id] += movement.reserved_delta
        if movement.type == "restock":
            restocked[levels[movement.level_id].sku] = movement.delta
    assert all(on_hand[id] == level.quantity for id, level in levels.items())
    assert all(reserved[id] == level.reserved_quantity == 0 for id, level in levels.items())
    assert all(r.status == "consumed" for r in await all_rows(database, Reservation))
    # What left the shelf is what the orders that were not cancelled bought.
    kept: Counter[str] = Counter()
    for line in lines:
        if orders[line.order_id].status != "cancelled":
            kept[line.sku] += line.quantity
    for level in levels.values():
        assert restocked[level.sku] - level.quantity == kept[level.sku], level.sku
    # Each order was charged its total once; cancelled and refunded ones got it all back.
    charged: dict[Any, int] = defaultdict(int)
    returned: dict[Any, int] = defaultdict(int)
    for payment in payments:
        if payment.kind == "checkout":
            assert payment.status == "succeeded"
            charged[payment.order_id] += payment.amount
        else:
            assert (payment.kind, payment.status) == ("refund", "refunded")
            returned[payment.order_id] -= payment.amount
    for order in orders.values():
        assert charged[order.id] == order.total > 0
        refunded = order.status in ("cancelled", "refunded")
        assert returned[order.id] == (order.total if refunded else 0)
    # A code counts the orders that used it and were not cancelled.
    uses = Counter(
        code for o in orders.values() if o.status != "cancelled" for code in o.promotion_codes
    )
    redemptions = await all_rows(database, PromotionRedemption)
    for promotion in await all_rows(database, Promotion):
        assert promotion.usage_count == uses[promotion.code]
        assert sum(r.promotion_id == promotion.id for r in redemptions) == uses[promotion.code]


async def test_wholesale_customers_are_charged_group_prices(shop: Seeded) -> None:
    database = shop.database

    customers = {c.email: str(c.id) for c in await all_rows(database, Customer)}
    orders = {o.id: o for o in await all_rows(database, Order)}
    public = {
        p.variant_id: p.amount for p in await all_rows(database, Price) if not p.customer_group_id
    }
    morgan = customers["morgan.reyes@harborsupply.example.com"]
    lines = await all_rows(database, OrderLine)
    bought = [line for line in lines if orders[line.order_id].customer_id == morgan]
    physical = [line for line in bought if demo_type(int(line.sku.split("-")[1])) == "product"]
    assert physical
    assert all(line.list_price == public[line.variant_id] * 80 // 100 for line in physical)
