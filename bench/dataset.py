"""The bench suite's data set on PostgreSQL: 100,000 catalog entities with 3 variants each,
a USD price per variant, stock in 3 warehouses and 100,000 paid orders, in a few set-based
statements (INSERT ... SELECT over generate_series) in one transaction.

The schema comes from the migrations; what the demo seed makes by the domain services (the
taxonomy, customer groups, customers, the main warehouse) is made by it
(`seed_demo(products=0, orders=False)`), and the search documents by `app.search.index`,
so the API reads the rows as it reads its own:

- entity `n` (`bench-000001`, ...): type product, active but every tenth one draft, an
  English title of a demo brand, line and noun, one leaf category and its brand; one option
  type (Size) with S, M and L and a variant for each (`BENCH-000001-S`, ...);
- a public USD price per variant, no group prices;
- a level per variant in each of MAIN, EAST and WEST (500 to 599 units), each with the
  `restock` movement that put its units there (a level's quantity is the sum of its
  movements, as everywhere else);
- order `o`: placed `100,000 - o` minutes before the build (ids are UUIDv7 of that time, so
  the id order is the order of creation, as checkout's are), one or two lines of a variant
  at its price, `confirmed` and `paid` with the succeeded `checkout` payment of its total;
  every third a guest's, the others a demo customer's. The order number sequence is moved
  past them, so checkouts during the bench get fresh numbers. The stock is the stock after
  those sales (the orders are history: no holds or sale movements are made for them).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select, text

from app.auth.actor import SYSTEM
from app.db import Database
from app.models.catalog import Brand, CatalogEntity, Category
from app.models.customers import Customer
from app.models.inventory import Warehouse
from app.models.orders import Order
from app.search.index import reindex
from app.services.demo import seed_demo
from app.services.demo.catalog import BRANDS, DEPARTMENTS, PRODUCT_LINES, slugify
from app.services.inventory.warehouses import create_warehouse

WAREHOUSES = (("EAST", "East warehouse"), ("WEST", "West warehouse"))
SIZES = ("S", "M", "L")
REINDEX_CHUNK = 5000
# What a search reads and what the scenarios list: vacuumed after the build, as autovacuum
# would soon after a bulk load (the test server runs with autovacuum off), so index-only
# scans need not visit the heap.
VACUUMED = (
    "catalog_entities", "catalog_attributes", "entity_categories", "entity_brands",
    "option_types", "option_values", "variants", "variant_option_values", "prices",
    "inventory_levels", "inventory_movements", "search_documents", "search_title_words",
    "orders", "order_lines", "payments", "brands", "categories",
)  # fmt: skip

# A UUIDv7 of a given time (PostgreSQL 15 has no uuidv7()): the time's milliseconds in the
# first 48 bits of a random UUID, version bits 0111.
UUID7 = """
CREATE OR REPLACE FUNCTION pg_temp.bench_uuid7(at timestamptz) RETURNS uuid
LANGUAGE sql VOLATILE AS $$
  SELECT encode(set_bit(set_bit(overlay(uuid_send(gen_random_uuid()) PLACING
    substring(int8send((extract(epoch FROM at) * 1000)::bigint) FROM 3) FROM 1 FOR 6),
    52, 1), 53, 1), 'hex')::uuid
$$
"""
# The element of `items` that `n` picks, round the array.
PICK = """
CREATE OR REPLACE FUNCTION pg_temp.bench_pick(items anyarray, n bigint) RETURNS anyelement
LANGUAGE sql IMMUTABLE AS $$ SELECT items[1 + n % cardinality(items)] $$
"""

CATALOG = [
    # One row per entity, with what the other tables need of it.
    """
    CREATE TEMP TABLE bench_e ON COMMIT DROP AS
    SELECT n, pg_temp.bench_uuid7(CAST(:t0 AS timestamptz) + n * interval '1 second') AS id,
           CAST(:t0 AS timestamptz) + n * interval '1 second' AS at,
           'bench-' || lpad(n::text, 6, '0') AS slug,
           CASE WHEN n % 10 = 0 THEN 'draft' ELSE 'active' END AS status,
           pg_temp.bench_pick(CAST(:brand_ids AS uuid[]), n) AS brand_id,
           pg_temp.bench_pick(CAST(:brand_names AS text[]), n) || ' '
             || pg_temp.bench_pick(CAST(:lines AS text[]), (n / 7)) || ' '
             || pg_temp.bench_pick(CAST(:nouns AS text[]), (n / 3)) AS title,
           pg_temp.bench_pick(CAST(:category_ids AS uuid[]), (n / 11)) AS category_id
    FROM generate_series(1, :n) AS n
    """,
    """
    INSERT INTO catalog_entities (id, type, slug, status, metadata, allow_backorder,
                                  created_at, updated_at)
    SELECT id, 'product', slug, status, '{"bench": true}', false, at, at FROM bench_e
    """,
    """
    INSERT INTO catalog_attributes (id, entity_id, locale, title, description, seo_title,
                                    seo_description, updated_at)
    SELECT pg_temp.bench_uuid7(at), id, 'en', title,
           'The ' || title || ', number ' || n || ' of the bench catalog.',
           title, 'Shop the ' || title || '.', at
    FROM bench_e
    """,
    "INSERT INTO entity_categories (entity_id, category_id) SELECT id, category_id FROM bench_e",
    "INSERT INTO entity_brands (entity_id, brand_id) SELECT id, brand_id FROM bench_e",
    """
    CREATE TEMP TABLE bench_t ON COMMIT DROP AS
    SELECT e.n, e.id AS entity_id, pg_temp.bench_uuid7(e.at) AS id FROM bench_e AS e
    """,
    "INSERT INTO option_types (id, entity_id, name, position) "
    "SELECT id, entity_id, 'Size', 0 FROM bench_t",
    # Variant k (1..3) of entity n is variant 3(n - 1) + k.
    """
    CREATE TEMP TABLE bench_v ON COMMIT DROP AS
    SELECT 3 * (e.n - 1) + k AS v, e.n, k, e.id AS entity_id, e.at, e.title,
           pg_temp.bench_uuid7(e.at) AS id, pg_temp.bench_uuid7(e.at) AS value_id,
           t.id AS type_id,
           'BENCH-' || lpad(e.n::text, 6, '0') || '-' || (CAST(:sizes AS text[]))[k] AS sku,
           (CAST(:sizes AS text[]))[k] AS size,
           ((10 + (e.n * 37) % 90) * 100 + (k - 1) * 500 - 1) AS amount
    FROM bench_e AS e JOIN bench_t AS t ON t.n = e.n, generate_series(1, 3) AS k
    """,
    "CREATE UNIQUE INDEX ON bench_v (v)",
    "INSERT INTO option_values (id, option_type_id, value, position) "
    "SELECT value_id, type_id, size, k - 1 FROM bench_v",
    """
    INSERT INTO variants (id, entity_id, sku, option_key, metadata, created_at, updated_at)
    SELECT id, entity_id, sku, value_id::text, '{"bench": true}', at, at FROM bench_v
    """,
    "INSERT INTO variant_option_values (variant_id, option_value_id) "
    "SELECT id, value_id FROM bench_v",
    """
    INSERT INTO prices (id, entity_id, variant_id, currency, amount, customer_group_id,
                        min_quantity, valid_from, valid_until, created_at, updated_at)
    SELECT pg_temp.bench_uuid7(at), entity_id, id, 'USD', amount, NULL, 1, NULL, NULL, at, at
    FROM bench_v
    """,
    """
    CREATE TEMP TABLE bench_l ON COMMIT DROP AS
    SELECT pg_temp.bench_uuid7(v.at) AS id, v.entity_id, v.id AS variant_id,
           w.id AS warehouse_id, v.sku, 500 + (v.v * 7 + w.position) % 100 AS quantity, v.at
    FROM bench_v AS v
    CROSS JOIN unnest(CAST(:warehouse_ids AS uuid[])) WITH ORDINALITY AS w (id, position)
    """,
    """
    INSERT INTO inventory_levels (id, entity_id, variant_id, warehouse_id, sku, quantity,
                                  reserved_quantity, reorder_point, reorder_quantity,
                                  last_updated)
    SELECT id, entity_id, variant_id, warehouse_id, sku, quantity, 0, 10, 50, at FROM bench_l
    """,
    """
    INSERT INTO inventory_movements (id, level_id, type, delta, reserved_delta, reason,
                                     reference_id, actor_id, created_at)
    SELECT pg_temp.bench_uuid7(at), id, 'restock', quantity, 0, 'bench stock', NULL,
           :system, at
    FROM bench_l
    """,
]

ORDERS = [
    # Order o's lines: variant (o * 7919) mod 3N, and for even o a second one.
    """
    CREATE TEMP TABLE bench_o ON COMMIT DROP AS
    SELECT o, pg_temp.bench_uuid7(at) AS id, at FROM (
      SELECT o, CAST(:built AS timestamptz) - (:orders - o + 1) * interval '1 minute' AS at
      FROM generate_series(1, :orders) AS o
    ) AS placed
    """,
    """
    CREATE TEMP TABLE bench_ol ON COMMIT DROP AS
    SELECT o.o, o.id AS order_id, o.at, line, v.entity_id, v.id AS variant_id, v.sku,
           v.title, 1 + (o.o + line) % 3 AS quantity, v.amount
    FROM bench_o AS o
    CROSS JOIN generate_series(1, 2) AS line
    JOIN bench_v AS v ON v.v = 1 + ((o.o * 7919 + line * 104729) % (3 * :n))
    WHERE line = 1 OR o.o % 2 = 0
    """,
    """
    INSERT INTO orders (id, number, status, payment_status, currency, customer_id, cart_id,
                        subtotal, modifier_discount_total, discount_total, shipping_total,
                        total, promotion_codes, shipping_address, idempotency_key,
                        request_hash, access_token_hash, created_at, updated_at)
    SELECT o.id, 'ORD-' || extract(year FROM o.at)::int || '-' || lpad(o.o::text, 6, '0'),
           'confirmed', 'paid', 'USD',
           CASE WHEN o.o % 3 = 0 THEN NULL
                ELSE pg_temp.bench_pick(CAST(:customers AS text[]), o.o) END,
           NULL, s.subtotal, 0, 0, 0, s.subtotal, '[]',
           '{"line1": "1 Bench Street", "city": "Springfield", "country": "US"}',
           NULL, NULL, NULL, o.at, o.at
    FROM bench_o AS o
    JOIN (SELECT o, sum(amount * quantity) AS subtotal FROM bench_ol GROUP BY o) AS s
      ON s.o = o.o
    """,
    """
    INSERT INTO order_lines (id, order_id, entity_id, variant_id, sku, title, quantity,
                             list_price, unit_price, discount, total, fulfilled_quantity,
                             refunded_quantity, sub_order_id)
    SELECT pg_temp.bench_uuid7(at + line * interval '1 millisecond'), order_id, entity_id,
           variant_id, sku, title, quantity, amount, amount, 0, amount * quantity, 0, 0, NULL
    FROM bench_ol
    """,
    """
    INSERT INTO payments (id, order_id, provider, provider_reference, payment_method_id,
                          amount, currency, status, kind, reason, created_at, updated_at)
    SELECT pg_temp.bench_uuid7(o.at), o.id, 'test', 'bench_' || o.o, 'pm_card_visa',
           orders.total, 'USD', 'succeeded', 'checkout', NULL, o.at, o.at
    FROM bench_o AS o JOIN orders ON orders.id = o.id
    """,
    "SELECT setval('order_number_seq', greatest(:orders, "
    "(SELECT last_value FROM order_number_seq)))",
]


@dataclass(frozen=True, slots=True)
class Built:
    entities: int
    orders: int
    seconds: float  # 0 when an earlier build was reused


async def counts(database: Database) -> tuple[int, int]:
    async with database.read_session() as session:
        entities = await session.scalar(
            select(func.count())
            .select_from(CatalogEntity)
            .where(CatalogEntity.slug.like("bench-%"))
        )
        orders = await session.scalar(select(func.count()).select_from(Order))
    return int(entities or 0), int(orders or 0)


async def build(database: Database, *, products: int, orders: int) -> Built:
    """Build the data set in an empty, migrated schema (a partial one is refused)."""
    found = await counts(database)
    if found[0] >= products and found[1] >= orders:
        return Built(*found, seconds=0.0)
    if found != (0, 0):
        raise RuntimeError(
            f"the schema holds {found[0]} bench entities and {found[1]} orders, not "
            f"{products} and {orders}: run without --reuse to build it afresh"
        )
    started = time.perf_counter()
    await seed_demo(database, products=0, orders=False)
    async with database.unit_of_work() as uow:
        session = uow.session
        for code, name in WAREHOUSES:
            await create_warehouse(uow, SYSTEM, code=code, name=name, address={"country": "US"})
        await session.flush()
        params = await _parameters(session, products, orders)
        await session.execute(text(UUID7))
        await session.execute(text(PICK))
        for statement in CATALOG:
            await session.execute(text(statement), _used(statement, params))
        ids = list(
            await session.scalars(
                select(CatalogEntity.id).where(CatalogEntity.slug.like("bench-%"))
            )
        )
        for start in range(0, len(ids), REINDEX_CHUNK):
            await reindex(session, ids[start : start + REINDEX_CHUNK])
        for statement in ORDERS:
            await session.execute(text(statement), _used(statement, params))
        await uow.commit()
    async with database.engine.connect() as connection:
        autocommit = await connection.execution_options(isolation_level="AUTOCOMMIT")
        for name in VACUUMED:
            await autocommit.execute(text(f"VACUUM (ANALYZE) {name}"))
    return Built(*await counts(database), seconds=time.perf_counter() - started)


async def _parameters(session: Any, products: int, orders: int) -> dict[str, Any]:
    brands = {slug: id for slug, id in (await session.execute(select(Brand.slug, Brand.id)))}
    leaves = [leaf.slug for department in DEPARTMENTS for leaf in department.leaves]
    categories = dict((await session.execute(select(Category.slug, Category.id))).all())
    warehouses = list(await session.scalars(select(Warehouse.id).order_by(Warehouse.code)))
    customers = [
        str(id) for id in await session.scalars(select(Customer.id).order_by(Customer.email))
    ]
    built = await session.scalar(text("SELECT now()"))
    return {
        "n": products,
        "orders": orders,
        "t0": await session.scalar(text("SELECT now() - interval '200 days'")),
        "built": built,
        "brand_ids": [brands[slugify(name)] for name, _ in BRANDS],
        "brand_names": [name for name, _ in BRANDS],
        "lines": list(PRODUCT_LINES),
        "nouns": sorted({noun for d in DEPARTMENTS for leaf in d.leaves for noun, _ in leaf.nouns}),
        "category_ids": [categories[slug] for slug in leaves],
        "sizes": list(SIZES),
        "warehouse_ids": warehouses,
        "customers": customers,
        "system": SYSTEM.id,
    }


def _used(statement: str, params: dict[str, Any]) -> dict[str, Any]:
    """The parameters a statement names (text() refuses none, but keeps the log short)."""
    return {key: value for key, value in params.items() if f":{key}" in statement}
