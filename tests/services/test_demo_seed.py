"""The demo catalog: a deterministic, well-formed catalog that a rerun never duplicates.

These seed without the order history (`orders=False`), which the catalog does not need;
tests/services/test_demo_shop.py covers prices, stock, customers, promotions and orders.
"""

from __future__ import annotations

import asyncio
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.db import Database
from app.models.audit import AuditEntry
from app.models.catalog import (
    Brand,
    CatalogAttributes,
    CatalogEntity,
    Category,
    OptionType,
    OptionValue,
    Variant,
    entity_brands,
    entity_categories,
    variant_option_values,
)
from app.services.demo import seed_demo
from tests.conftest import truncate_all
from tests.test_cli import cartograph, rows

TABLES = (
    CatalogEntity.__table__,
    CatalogAttributes.__table__,
    Category.__table__,
    Brand.__table__,
    OptionType.__table__,
    OptionValue.__table__,
    Variant.__table__,
    entity_categories,
    entity_brands,
    variant_option_values,
)


async def mapping(session: AsyncSession, statement: Select[Any]) -> dict[Any, Any]:
    """The first column of each row mapped to its second."""
    return {key: value for key, value in (await session.execute(statement)).all()}


async def table_counts(database: Database) -> dict[str, int]:
    async with database.read_session() as session:
        return {
            table.name: (
                await session.execute(select(func.count()).select_from(table))
            ).scalar_one()
            for table in TABLES
        }


async def test_seeding_30_creates_30_entities_with_the_documented_mix(database: Database) -> None:
    report = await seed_demo(database, products=30, orders=False)

    assert (report.entities_created, report.entities_skipped) == (30, 0)
    assert (report.categories_created, report.brands_created) == (12, 15)
    async with database.read_session() as session:
        entities = (await session.execute(select(CatalogEntity))).scalars().all()
        locales = Counter(await session.scalars(select(CatalogAttributes.locale)))
    assert sorted(e.slug for e in entities) == [f"demo-{i:06d}" for i in range(1, 31)]
    assert Counter(e.type for e in entities) == {
        "product": 24,
        "digitalDownload": 3,
        "service": 2,
        "giftCard": 1,
    }
    assert Counter(e.status for e in entities) == {
        "active": 26,
        "draft": 2,
        "archived": 1,
        "discontinued": 1,
    }
    assert all(e.meta == {"demo": True} for e in entities)
    # Every entity speaks English; every third one German too.
    assert locales == {"en": 30, "de": 10}
    assert report.attributes_created == 40


async def test_categories_form_a_two_level_tree(database: Database) -> None:
    await seed_demo(database, products=1, orders=False)

    async with database.read_session() as session:
        categories = (await session.execute(select(Category))).scalars().all()
    by_id = {c.id: c for c in categories}
    roots = [c for c in categories if c.parent_id is None]
    assert len(categories) == 12 and len(roots) == 4
    assert all(by_id[c.parent_id].parent_id is None for c in categories if c.parent_id)


async def test_physical_products_have_two_option_types_and_three_to_six_variants(
    database: Database,
) -> None:
    await seed_demo(database, products=30, orders=False)

    async with database.read_session() as session:
        variant_counts = (
            await session.execute(
                select(CatalogEntity.id, CatalogEntity.type, func.count(Variant.id))
                .join(Variant, Variant.entity_id == CatalogEntity.id)
                .group_by(CatalogEntity.id, CatalogEntity.type)
            )
        ).all()
        variants_per_entity = {id: (kind, count) for id, kind, count in variant_counts}
        option_types_per_entity = Counter(await session.scalars(select(OptionType.entity_id)))
    physical = {id: count for id, (kind, count) in variants_per_entity.items() if kind == "product"}
    assert len(physical) == 24
    assert all(3 <= count <= 6 for count in physical.values())
    assert all(option_types_per_entity[id] == 2 for id in physical)
    # Downloads, services and gift cards are sellable too: each has at least one variant.
    assert len(variants_per_entity) == 30


async def test_every_option_key_is_the_sorted_ids_of_the_variants_option_values(
    database: Database,
) -> None:
    await seed_demo(database, products=30, orders=False)

    async with database.read_session() as session:
        variants = (await session.execute(select(Variant.id, Variant.option_key))).all()
        links = (await session.execute(select(variant_option_values))).all()
        value_entity = await mapping(
            session,
            select(OptionValue.id, OptionType.entity_id).join(
                OptionType, OptionType.id == OptionValue.option_type_id
            ),
        )
        variant_entity = await mapping(session, select(Variant.id, Variant.entity_id))
    values_of: dict[object, list[object]] = defaultdict(list)
    for variant_id, value_id in links:
        values_of[variant_id].append(value_id)
    for variant_id, option_key in variants:
        assert option_key == ",".join(sorted(str(id) for id in values_of[variant_id]))
        assert all(value_entity[v] == variant_entity[variant_id] for v in values_of[variant_id])


async def test_every_entity_has_a_category_and_exactly_one_brand_and_skus_are_unique(
    database: Database,
) -> None:
    await seed_demo(database, products=30, orders=False)

    async with database.read_session() as session:
        categories = Counter(await session.scalars(select(entity_categories.c.entity_id)))
        brands = Counter(await session.scalars(select(entity_brands.c.entity_id)))
        skus = list(await session.scalars(select(Variant.sku)))
    assert len(categories) == 30 and all(1 <= n <= 2 for n in categories.values())
    assert len(brands) == 30 and set(brands.values()) == {1}
    assert len(skus) == len(set(skus))
    assert all(sku.startswith("DEMO-0000") for sku in skus)


async def test_a_second_run_creates_nothing(database: Database) -> None:
    await seed_demo(database, products=30, orders=False)
    before = await table_counts(database)

    again = await seed_demo(database, products=30, orders=False)

    assert again.created == 0
    assert (again.entities_skipped, again.categories_skipped, again.brands_skipped) == (30, 12, 15)
    assert await table_counts(database) == before


async def test_a_larger_run_adds_only_the_missing_indexes(database: Database) -> None:
    await seed_demo(database, products=30, orders=False)
    before = await table_counts(database)

    report = await seed_demo(database, products=40, orders=False)

    assert (report.entities_created, report.entities_skipped) == (10, 30)
    after = await table_counts(database)
    assert after["catalog_entities"] == before["catalog_entities"] + 10
    assert after["variants"] == before["variants"] + report.variants_created
    async with database.read_session() as session:
        slugs = set(await session.scalars(select(CatalogEntity.slug)))
    assert slugs == {f"demo-{i:06d}" for i in range(1, 41)}


async def test_the_same_index_always_makes_the_same_product(database: Database) -> None:
    await seed_demo(database, products=5, orders=False)
    async with database.read_session() as session:
        first = sorted(await session.scalars(select(Variant.sku)))
        titles = sorted(await session.scalars(select(CatalogAttributes.title)))
    await truncate_all(database)

    await seed_demo(database, products=5, orders=False)

    async with database.read_session() as session:
        assert sorted(await session.scalars(select(Variant.sku))) == first
        assert sorted(await session.scalars(select(CatalogAttributes.title))) == titles


async def test_a_run_that_creates_something_is_audited_once(database: Database) -> None:
    report = await seed_demo(database, products=3, orders=False)
    await seed_demo(database, products=3, orders=False)

    async with database.read_session() as session:
        entries = (
            (await session.execute(select(AuditEntry).where(AuditEntry.event == "catalog.seed")))
            .scalars()
            .all()
        )
    [entry] = entries
    assert (entry.event, entry.entity_type, entry.entity_id) == ("catalog.seed", "catalog", "demo")
    assert (entry.actor_type, entry.actor_id) == ("system", "system")
    assert entry.after == report.as_json()
    assert entry.after["entitiesCreated"] == 3


async def test_cartograph_seed_demo_on_a_freshly_migrated_database(tmp_path: Path) -> None:
    db_file = tmp_path / "cartograph.db"
    url = f"sqlite+aiosqlite:///{db_file}"
    migrated = await asyncio.to_thread(cartograph, "migrate", cwd=tmp_path, database_url=url)
    assert migrated.returncode == 0, migrated.stderr

    result = await asyncio.to_thread(
        cartograph, "seed", "--demo", "--products", "5", cwd=tmp_path, database_url=url
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("created: 5 entities, ")
    assert "3 promotions, 24 orders" in result.stdout
    assert "already there: 0 entities, 0 categories, 0 brands, 0 orders" in result.stdout
    assert "seeded in " in result.stdout
    assert rows(db_file, "SELECT count(*) FROM catalog_entities") == [(5,)]
