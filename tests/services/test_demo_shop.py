"""The demo shop: every variant priced and stocked, customers in groups, promotion codes; a
rerun changes nothing (orders included) and finishes what an interrupted one left; a seeded
product can be bought. The order history itself: test_demo_orders.py."""

from __future__ import annotations

import uuid
from collections import Counter, defaultdict
from typing import Any

import httpx
import pytest
from sqlalchemy import delete, func, select, update

from app.auth.actor import SYSTEM
from app.db import Database
from app.models import Base
from app.models.catalog import CatalogEntity, Variant
from app.models.customers import Address, Customer
from app.models.inventory import InventoryLevel, InventoryMovement, Warehouse
from app.models.orders import Order
from app.models.pricing import CustomerGroup, Price, customer_group_members
from app.models.promotions import Promotion
from app.services.demo import orders as demo_orders
from app.services.demo import seed_demo
from app.services.demo.stock import REORDER_POINT, UNSHIPPED_STOCK
from app.services.orders import change_status
from tests.conftest import truncate_all

PRODUCTS = 20
STATUSES = {
    "pending": 4,
    "confirmed": 3,
    "processing": 3,
    "partially_fulfilled": 3,
    "fulfilled": 5,
    "cancelled": 3,
    "refunded": 3,
}


async def all_rows(database: Database, model: Any) -> list[Any]:
    async with database.read_session() as session:
        return list((await session.scalars(select(model))).all())


async def table_counts(database: Database) -> dict[str, int]:
    async with database.read_session() as session:
        return {
            table.name: (
                await session.execute(select(func.count()).select_from(table))
            ).scalar_one()
            for table in Base.metadata.sorted_tables
        }


async def variants_by_kind(database: Database) -> dict[str, list[tuple[Variant, str]]]:
    """Each variant with its entity's slug, by the entity's type."""
    async with database.read_session() as session:
        rows = (
            await session.execute(
                select(Variant, CatalogEntity.slug, CatalogEntity.type).join(
                    CatalogEntity, CatalogEntity.id == Variant.entity_id
                )
            )
        ).all()
    found: dict[str, list[tuple[Variant, str]]] = defaultdict(list)
    for variant, slug, kind in rows:
        found[kind].append((variant, slug))
    return found


# --- prices and stock -----------------------------------------------------------------------


async def test_every_variant_has_a_usd_price_and_physical_ones_a_wholesale_price(
    database: Database,
) -> None:
    report = await seed_demo(database, products=PRODUCTS, orders=False)

    kinds = await variants_by_kind(database)
    prices = await all_rows(database, Price)
    [wholesale] = [g for g in await all_rows(database, CustomerGroup) if g.name == "Wholesale"]
    public = {p.variant_id: p for p in prices if p.customer_group_id is None}
    group = {p.variant_id: p for p in prices if p.customer_group_id == wholesale.id}
    variants = [v for rows in kinds.values() for v, _ in rows]
    physical = [v for v, _ in kinds["product"]]
    assert len(public) == len(variants) and len(group) == len(physical)
    assert report.prices_created == len(prices) == len(variants) + len(physical)
    assert all(p.currency == "USD" and p.min_quantity == 1 for p in prices)
    assert all(p.amount % 100 == 99 for v, p in public.items() if v in group)
    assert all(group[v.id].amount == public[v.id].amount * 80 // 100 for v in physical)
    # A gift card costs its amount.
    assert {v.sku: public[v.id].amount for v, _ in kinds["giftCard"]} == {
        "DEMO-000020-25": 2500,
        "DEMO-000020-50": 5000,
        "DEMO-000020-100": 10000,
    }


async def test_every_variant_is_stocked_in_the_main_warehouse_by_a_restock(
    database: Database,
) -> None:
    report = await seed_demo(database, products=PRODUCTS, orders=False)

    [warehouse] = await all_rows(database, Warehouse)
    levels = {level.variant_id: level for level in await all_rows(database, InventoryLevel)}
    movements = await all_rows(database, InventoryMovement)
    kinds = await variants_by_kind(database)
    assert warehouse.code == "MAIN" and report.warehouses_created == 1
    assert report.levels_created == len(levels) == sum(len(rows) for rows in kinds.values())
    assert {level.warehouse_id for level in levels.values()} == {warehouse.id}
    restocked = {m.level_id: m.delta for m in movements if m.type == "restock"}
    assert len(movements) == len(restocked) == len(levels)
    assert all(restocked[level.id] == level.quantity > 0 for level in levels.values())
    for kind, rows in kinds.items():
        for variant, slug in rows:
            level = levels[variant.id]
            assert level.sku == variant.sku and level.reserved_quantity == 0
            if kind != "product":
                assert (level.quantity, level.reorder_point) == (UNSHIPPED_STOCK, 0)
            elif slug.endswith("7"):  # demo-000007, demo-000017: running low
                assert 0 < level.quantity < level.reorder_point == REORDER_POINT
            else:
                assert level.quantity >= 30 and level.reorder_point == REORDER_POINT


async def test_prices_and_stock_are_the_same_in_every_store(database: Database) -> None:
    async def shop() -> tuple[set[tuple[str, int]], set[tuple[str, int]]]:
        async with database.read_session() as session:
            prices = (
                await session.execute(
                    select(Variant.sku, Price.amount)
                    .join(Price, Price.variant_id == Variant.id)
                    .where(Price.customer_group_id.is_(None))
                )
            ).all()
            stock = (
                await session.execute(select(InventoryLevel.sku, InventoryLevel.quantity))
            ).all()
        return {tuple(row) for row in prices}, {tuple(row) for row in stock}

    await seed_demo(database, products=PRODUCTS, orders=False)
    first = await shop()
    await truncate_all(database)

    await seed_demo(database, products=PRODUCTS, orders=False)

    assert await shop() == first


async def test_a_catalog_seeded_before_prices_and_stock_existed_gets_them(
    database: Database,
) -> None:
    await seed_demo(database, products=PRODUCTS, orders=False)
    before = await table_counts(database)
    async with database.unit_of_work() as uow:
        for model in (Price, InventoryMovement, InventoryLevel):
            await uow.session.execute(delete(model))
        await uow.commit()

    report = await seed_demo(database, products=PRODUCTS, orders=False)

    assert (report.entities_created, report.entities_skipped) == (0, PRODUCTS)
    assert report.prices_created == before["prices"]
    assert report.levels_created == before["inventory_levels"]
    after = await table_counts(database)
    for table in ("prices", "inventory_levels", "inventory_movements", "catalog_entities"):
        assert after[table] == before[table], table


# --- people and codes -----------------------------------------------------------------------


async def test_customers_belong_to_the_vip_and_wholesale_groups(database: Database) -> None:
    report = await seed_demo(database, products=1, orders=False)

    groups = {g.id: g.name for g in await all_rows(database, CustomerGroup)}
    customers = {str(c.id): c.email for c in await all_rows(database, Customer)}
    async with database.read_session() as session:
        memberships = (await session.execute(select(customer_group_members))).all()
    members: dict[str, set[str]] = defaultdict(set)
    for row in memberships:
        members[groups[row.customer_group_id]].add(customers[row.customer_id])
    assert (report.customer_groups_created, report.customers_created) == (2, 7)
    assert sorted(groups.values()) == ["VIP", "Wholesale"]
    assert members == {
        "VIP": {
            "ada.lovelace@example.com",
            "grace.hopper@example.com",
            "sam.okafor@trailhead.example.com",
        },
        "Wholesale": {
            "morgan.reyes@harborsupply.example.com",
            "sam.okafor@trailhead.example.com",
        },
    }


async def test_each_customer_has_their_address_saved_as_default_once(database: Database) -> None:
    first = await seed_demo(database, products=1, orders=False)
    again = await seed_demo(database, products=1, orders=False)

    addresses = await all_rows(database, Address)
    customers = {c.id: c.email for c in await all_rows(database, Customer)}
    assert (first.addresses_created, again.addresses_created) == (7, 0)
    assert sorted(customers[a.customer_id] for a in addresses) == sorted(customers.values())
    ada = next(a for a in addresses if customers[a.customer_id] == "ada.lovelace@example.com")
    assert (ada.line1, ada.city, ada.country, ada.default_shipping, ada.default_billing) == (
        "12 St James's Square",
        "London",
        "GB",
        True,
        True,
    )


async def test_the_promotion_codes_are_welcome10_save15_and_vip20(database: Database) -> None:
    await seed_demo(database, products=1, orders=False)

    codes = {p.code: p for p in await all_rows(database, Promotion)}
    [vip] = [g for g in await all_rows(database, CustomerGroup) if g.name == "VIP"]
    assert sorted(codes) == ["SAVE15", "VIP20", "WELCOME10"]
    welcome, save, vip20 = codes["WELCOME10"], codes["SAVE15"], codes["VIP20"]
    assert (welcome.type, welcome.value, welcome.per_customer_limit) == (
        "percentage_off_order",
        10,
        1,
    )
    assert (save.type, save.value, save.currency, save.min_subtotal) == (
        "fixed_amount_off_order",
        1500,
        "USD",
        10000,
    )
    assert (vip20.value, vip20.customer_group_ids) == (20, [str(vip.id)])
    assert all(p.active and p.usage_count == 0 for p in codes.values())


# --- reruns -------------------------------------------------------------------------------


async def test_a_second_run_changes_nothing(database: Database) -> None:
    await seed_demo(database, products=PRODUCTS)
    before = await table_counts(database)

    again = await seed_demo(database, products=PRODUCTS)

    assert again.created == 0 and again.orders_skipped == 24
    assert await table_counts(database) == before


async def test_a_run_interrupted_after_the_checkouts_is_finished_by_the_next(
    database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    with monkeypatch.context() as patched:
        patched.setattr(demo_orders, "PATHS", dict.fromkeys(demo_orders.PATHS, ()))
        first = await seed_demo(database, products=PRODUCTS)
    assert {o.status for o in await all_rows(database, Order)} == {"pending"}

    report = await seed_demo(database, products=PRODUCTS)

    assert (first.orders_created, report.orders_created) == (24, 0)
    assert report.orders_advanced == 24 - STATUSES["pending"]
    assert Counter(o.status for o in await all_rows(database, Order)) == STATUSES


async def test_an_order_moved_by_hand_is_left_where_it_is(database: Database) -> None:
    await seed_demo(database, products=PRODUCTS)
    [order] = [o for o in await all_rows(database, Order) if o.idempotency_key == "demo-order-05"]
    assert order.status == "confirmed"
    await change_status(database, SYSTEM, id=str(order.id), status="cancelled")

    report = await seed_demo(database, products=PRODUCTS)

    async with database.read_session() as session:
        assert (await session.get(Order, order.id)).status == "cancelled"  # type: ignore[union-attr]
    assert report.created == 0


async def test_orders_that_cannot_be_placed_are_reported_and_placed_by_a_later_run(
    database: Database,
) -> None:
    await seed_demo(database, products=PRODUCTS, orders=False)
    async with database.unit_of_work() as uow:  # a store changed by hand: nothing to ship from
        await uow.session.execute(update(Warehouse).values(active=False))
        await uow.commit()

    failed = await seed_demo(database, products=PRODUCTS)

    assert (failed.orders_created, failed.orders_failed) == (0, 24)
    assert await all_rows(database, Order) == []
    async with database.unit_of_work() as uow:
        await uow.session.execute(update(Warehouse).values(active=True))
        await uow.commit()
    placed = await seed_demo(database, products=PRODUCTS)
    assert (placed.orders_created, placed.orders_failed) == (24, 0)


# --- the shop is open ---------------------------------------------------------------------


async def test_a_shopper_can_buy_a_seeded_product(
    database: Database, client: httpx.AsyncClient
) -> None:
    await seed_demo(database, products=PRODUCTS)
    product = (
        await client.get("/api/catalog/entities/demo-000001?include=variants,pricing")
    ).json()
    variant = product["data"]["variants"][0]

    cart = (await client.post("/api/carts", json={"currency": "USD"})).json()["data"]
    added = await client.post(
        f"/api/carts/{cart['id']}/items",
        json={"entityId": product["data"]["id"], "variantId": variant["id"], "quantity": 2},
    )
    placed = await client.post(
        "/api/checkout", json={"cartId": cart["id"], "paymentMethodId": "pm_card_visa"}
    )

    assert added.status_code == 201, added.text
    assert placed.status_code == 201, placed.text
    order = placed.json()["data"]
    assert (order["status"], order["paymentStatus"]) == ("pending", "paid")
    assert order["total"] == 2 * variant["price"]["amount"] > 0
    async with database.read_session() as session:
        level = await session.scalar(
            select(InventoryLevel).where(InventoryLevel.variant_id == uuid.UUID(variant["id"]))
        )
        sold = await session.scalar(
            select(func.sum(InventoryMovement.delta)).where(
                InventoryMovement.level_id == level.id,  # type: ignore[union-attr]
                InventoryMovement.reference_id == order["id"],
            )
        )
    assert sold == -2
