"""Demo data: a shop to try Cartograph in, made by `cartograph seed --demo`.

- `catalog`: categories, brands and products `1..N` with options, variants and texts;
- `stock`: the main warehouse, a USD price for every variant (Wholesale group prices on
  physical products) and stock, in the same bulk transactions as the products;
- `shop`: the VIP and Wholesale groups, customers in them (each with a user, role customer,
  no password), and the promotion codes;
- `orders`: a few dozen orders in every status, placed and moved by the real services.

Everything is found again by a natural key (slug, code, name, e-mail address, idempotency
key), so running it twice changes nothing, and a run with a larger N adds only what is
missing.
"""

from __future__ import annotations

from sqlalchemy import text

from app.auth.actor import SYSTEM
from app.db import Database
from app.services.audit import record_change
from app.services.demo.catalog import (
    PRODUCTS_PER_TRANSACTION,
    ensure_taxonomy,
    seed_products,
)
from app.services.demo.orders import place_orders
from app.services.demo.report import SeedReport
from app.services.demo.shop import (
    WHOLESALE,
    ensure_addresses,
    ensure_customer_users,
    ensure_customers,
    ensure_groups,
    ensure_promotions,
)
from app.services.demo.stock import Shelf, ensure_warehouse, stock_chunk

__all__ = ["SeedReport", "seed_demo"]


async def seed_demo(database: Database, *, products: int, orders: bool = True) -> SeedReport:
    """Create the demo shop with products `1..products`; idempotent.

    Each chunk of products commits with its prices and stock, so an interrupted run keeps
    whole, sellable products and the next run completes it. One audit entry
    (`catalog.seed`) records a run that created anything; what the domain services create
    (groups, customers, promotions, orders) is audited by them as well. `orders=False`
    leaves the order history out (a catalog to measure, not a shop to visit).
    """
    if products < 0:
        raise ValueError("products must not be negative")
    report = SeedReport()
    async with database.unit_of_work() as uow:
        taxonomy = await ensure_taxonomy(uow.session, report)
        groups = await ensure_groups(uow, report)
        shelf = Shelf(await ensure_warehouse(uow, report), groups[WHOLESALE])
        await uow.commit()
    for start in range(1, products + 1, PRODUCTS_PER_TRANSACTION):
        indexes = range(start, min(start + PRODUCTS_PER_TRANSACTION, products + 1))
        async with database.unit_of_work() as uow:
            chunk = await seed_products(uow.session, indexes, taxonomy, report)
            await stock_chunk(uow.session, chunk, shelf, report)
            await uow.commit()
    if report.entities_created or report.prices_created:
        await _analyze(database)
    async with database.unit_of_work() as uow:
        customers = await ensure_customers(uow, groups, report)
        await ensure_customer_users(uow, customers, report)
        await ensure_addresses(uow, customers, report)
        await ensure_promotions(uow, groups, report)
        await uow.commit()
    if orders:
        await place_orders(database, products=products, customers=customers, report=report)
    if report.created:
        async with database.unit_of_work() as uow:
            record_change(
                uow,
                SYSTEM,
                event="catalog.seed",
                entity_type="catalog",
                entity_id="demo",
                after=report.as_json(),
            )
            await uow.commit()
    return report


BULK_TABLES = (
    "catalog_entities", "catalog_attributes", "entity_categories", "entity_brands",
    "option_types", "option_values", "variants", "variant_option_values", "prices",
    "inventory_levels", "inventory_movements", "search_documents",
)  # fmt: skip


async def _analyze(database: Database) -> None:
    """Fresh planner statistics after a bulk load (PostgreSQL): until autovacuum gets to
    them, the planner guesses, and a rerun's look-ups of 100,000 products took 50 s instead
    of 2."""
    if database.is_sqlite:
        return
    async with database.engine.begin() as connection:
        await connection.execute(text(f"ANALYZE {', '.join(BULK_TABLES)}"))
