"""What makes the demo catalog sellable: a warehouse, a price for every variant, and stock.

Each chunk of products gets its prices and stock in the transaction that creates it, with
the same bulk inserts: a public USD price per variant (and a Wholesale group price on
physical products), and a level per variant in the main warehouse with the `restock`
movement that put its units there, so a level's quantity is the sum of its movements as
everywhere else. Products found already there are completed the same way when they have no
USD price, or no stock in the warehouse, at all (a catalog seeded before prices existed);
one that has either keeps what it has. Every amount and quantity comes from the product's
index and SKU, so a rerun or another database makes the same shop.
"""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import exists, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.actor import SYSTEM
from app.db import UnitOfWork
from app.ids import uuid7
from app.models.base import utcnow
from app.models.catalog import CatalogEntity, Variant
from app.models.inventory import InventoryLevel, InventoryMovement, Warehouse
from app.models.pricing import Price
from app.services.demo.catalog import (
    Chunk,
    NewVariant,
    demo_index,
    demo_type,
    department_of,
    insert_rows,
)
from app.services.demo.report import SeedReport
from app.services.inventory.warehouses import create_warehouse

CURRENCY = "USD"
WAREHOUSE_CODE = "MAIN"
WAREHOUSE_ADDRESS = {"line1": "1 Harbor Way", "city": "Springfield", "country": "US"}
# A product's list price in whole dollars, by department (or by kind for what is not a
# physical product); every amount ends in .99.
DOLLARS_BY_DEPARTMENT = {
    "apparel": (15, 79),
    "home": (12, 149),
    "electronics": (19, 299),
    "outdoors": (10, 249),
}
DOLLARS_BY_KIND = {"digitalDownload": (5, 29), "service": (39, 149)}
# Dearer variants: percent on top of the product's price, by a part of the SKU.
PREMIUM_BY_SKU_PART = {"XL": 10, "LARGE": 10, "PLUS": 25, "PRO": 50}
# The Wholesale group pays this share of the list price for physical products.
WHOLESALE_PERCENT = 80
# Physical stock: most variants have plenty, every tenth product (index ending in 7) runs
# low, under its reorder point, so the low-stock views have something to show. What is not
# shipped (downloads, services, gift cards) has a large stock and no reorder point.
PLENTY = (30, 150)
LOW = (2, 9)
REORDER_POINT = 10
REORDER_QUANTITY = 50
UNSHIPPED_STOCK = 1000


def is_low_stock(index: int) -> bool:
    return demo_type(index) == "product" and index % 10 == 7


def list_price(index: int, sku: str) -> int:
    """Minor units of USD: the product's price in its range, plus the variant's premium."""
    kind = demo_type(index)
    if kind == "giftCard":  # DEMO-000020-50: its amount is its price
        return int(sku.rsplit("-", 1)[1]) * 100
    low, high = DOLLARS_BY_KIND.get(kind) or DOLLARS_BY_DEPARTMENT[department_of(index).slug]
    dollars = random.Random(f"demo-price-{index}").randint(low, high)
    premium = sum(PREMIUM_BY_SKU_PART.get(part, 0) for part in sku.split("-")[2:])
    return (dollars * (100 + premium) // 100) * 100 - 1


def wholesale_price(amount: int) -> int:
    # List prices end in 99 cents, and so does four fifths of them: 2999 -> 2399.
    return amount * WHOLESALE_PERCENT // 100


def stock_quantity(index: int, sku: str) -> int:
    if demo_type(index) != "product":
        return UNSHIPPED_STOCK
    low, high = LOW if is_low_stock(index) else PLENTY
    return random.Random(f"demo-stock-{sku}").randint(low, high)


@dataclass(frozen=True, slots=True)
class Shelf:
    """Where a chunk's stock goes, and the group that gets wholesale prices."""

    warehouse_id: uuid.UUID
    wholesale_group_id: uuid.UUID


async def ensure_warehouse(uow: UnitOfWork, report: SeedReport) -> uuid.UUID:
    """The main warehouse, found by code or created (audited, as any warehouse is)."""
    found = await uow.session.scalar(select(Warehouse.id).where(Warehouse.code == WAREHOUSE_CODE))
    if found is not None:
        return found
    warehouse = await create_warehouse(
        uow, SYSTEM, code=WAREHOUSE_CODE, name="Main warehouse", address=WAREHOUSE_ADDRESS
    )
    report.warehouses_created += 1
    return warehouse.id


async def stock_chunk(
    session: AsyncSession, chunk: Chunk, shelf: Shelf, report: SeedReport
) -> None:
    """Price and stock the chunk's new variants, and the variants of the products it found
    that have no price or no stock yet."""
    priced, stocked = list(chunk.new_variants), list(chunk.new_variants)
    if chunk.existing_slugs:
        unpriced, unstocked = await _incomplete(session, chunk.existing_slugs, shelf)
        priced += unpriced
        stocked += unstocked
    now = utcnow()
    prices = [row for variant in priced for row in _price_rows(variant, shelf, now)]
    levels, movements = _stock_rows(stocked, shelf, now)
    await insert_rows(session, Price.__table__, prices)
    await insert_rows(session, InventoryLevel.__table__, levels)
    await insert_rows(session, InventoryMovement.__table__, movements)
    report.prices_created += len(prices)
    report.levels_created += len(levels)


async def _incomplete(
    session: AsyncSession, slugs: list[str], shelf: Shelf
) -> tuple[list[NewVariant], list[NewVariant]]:
    """The variants of these products that still need prices, and those that need stock:
    one statement for the products, one for their variants when any need something."""
    has_price = exists().where(Price.entity_id == CatalogEntity.id, Price.currency == CURRENCY)
    has_stock = exists().where(
        InventoryLevel.entity_id == CatalogEntity.id,
        InventoryLevel.warehouse_id == shelf.warehouse_id,
    )
    rows = (
        await session.execute(
            select(CatalogEntity.id, CatalogEntity.slug, has_price, has_stock).where(
                CatalogEntity.slug.in_(slugs)
            )
        )
    ).all()
    needs = {id: (slug, not priced, not stocked) for id, slug, priced, stocked in rows}
    needs = {id: need for id, need in needs.items() if need[1] or need[2]}
    if not needs:
        return [], []
    variants = (
        await session.execute(
            select(Variant.entity_id, Variant.id, Variant.sku)
            .where(Variant.entity_id.in_(list(needs)))
            .order_by(Variant.sku)
        )
    ).all()
    unpriced, unstocked = [], []
    for entity_id, variant_id, sku in variants:
        slug, wants_price, wants_stock = needs[entity_id]
        variant = NewVariant(demo_index(slug), entity_id, variant_id, sku)
        if wants_price:
            unpriced.append(variant)
        if wants_stock:
            unstocked.append(variant)
    return unpriced, unstocked


def _price_rows(variant: NewVariant, shelf: Shelf, now: datetime) -> list[dict[str, Any]]:
    amount = list_price(variant.index, variant.sku)
    groups: list[tuple[uuid.UUID | None, int]] = [(None, amount)]
    if demo_type(variant.index) == "product":
        groups.append((shelf.wholesale_group_id, wholesale_price(amount)))
    return [
        {
            "id": uuid7(),
            "entity_id": variant.entity_id,
            "variant_id": variant.id,
            "currency": CURRENCY,
            "amount": group_amount,
            "customer_group_id": group_id,
            "min_quantity": 1,
            "valid_from": None,
            "valid_until": None,
            "created_at": now,
            "updated_at": now,
        }
        for group_id, group_amount in groups
    ]


def _stock_rows(
    variants: list[NewVariant], shelf: Shelf, now: datetime
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    levels, movements = [], []
    for variant in variants:
        quantity = stock_quantity(variant.index, variant.sku)
        physical = demo_type(variant.index) == "product"
        level_id = uuid7()
        levels.append(
            {
                "id": level_id,
                "entity_id": variant.entity_id,
                "variant_id": variant.id,
                "warehouse_id": shelf.warehouse_id,
                "sku": variant.sku,
                "quantity": quantity,
                "reserved_quantity": 0,
                "reorder_point": REORDER_POINT if physical else 0,
                "reorder_quantity": REORDER_QUANTITY if physical else 0,
                "last_updated": now,
            }
        )
        movements.append(
            {
                "id": uuid7(),
                "level_id": level_id,
                "type": "restock",
                "delta": quantity,
                "reserved_delta": 0,
                "reason": "demo stock",
                "reference_id": None,
                "actor_id": SYSTEM.id,
                "created_at": now,
            }
        )
    return levels, movements
