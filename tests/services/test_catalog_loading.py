"""`loading.taxonomy`: categories and brands in one statement, the same rows in the same
orders as `loading.categories` and `loading.brands` read them one statement each."""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

import pytest
from sqlalchemy import insert, update

from app.db import Database
from app.models.catalog import Brand, Category, entity_brands, entity_categories
from app.services.catalog import loading
from app.services.catalog.loading import columns
from tests.support.catalog import make_brand, make_category, make_entity
from tests.support.queries import count_queries


def _read(
    found: dict[Any, list[Any]], model: type[Category] | type[Brand], only: Collection[str] | None
) -> dict[Any, list[dict[str, Any]]]:
    names = [column.key for column in columns(model, only)]
    return {
        key: [{n: getattr(row, n) for n in names} for row in rows] for key, rows in found.items()
    }


@pytest.mark.parametrize(
    ("category_only", "brand_only"),
    [
        (None, None),
        ({"name", "slug"}, {"slug", "description", "created_at"}),
        ({"id", "parent_id", "position", "updated_at"}, {"id"}),
    ],
)
async def test_taxonomy_reads_what_categories_and_brands_read_in_one_statement(
    database: Database,
    category_only: Collection[str] | None,
    brand_only: Collection[str] | None,
) -> None:
    parent = await make_category(database, slug="clothes")
    shirts = await make_category(database, slug="shirts", parent=parent)
    hats = await make_category(database, slug="hats")
    zeta, alpha = await make_brand(database, slug="zeta"), await make_brand(database, slug="alpha")
    both = await make_entity(database, slug="both", category=shirts, brand=zeta)
    one = await make_entity(database, slug="one", category=hats)
    none = await make_entity(database, slug="none")
    async with database.unit_of_work() as uow:
        # Hats before shirts by position, though after them by name.
        await uow.session.execute(
            update(Category).where(Category.id == hats.id).values(position=-1)
        )
        await uow.session.execute(
            update(Brand).where(Brand.id == alpha.id).values(description="The first.")
        )
        await uow.session.execute(
            insert(entity_categories).values(entity_id=both.id, category_id=hats.id)
        )
        await uow.session.execute(
            insert(entity_brands).values(entity_id=both.id, brand_id=alpha.id)
        )
        await uow.commit()
    ids = [both.id, one.id, none.id]
    async with database.read_session() as session:
        with count_queries(database) as statements:
            categories, brands = await loading.taxonomy(session, ids, category_only, brand_only)
        assert statements.count == 1, statements.statements
        apart = await loading.categories(session, ids, category_only)
        brands_apart = await loading.brands(session, ids, brand_only)
    assert _read(categories, Category, category_only) == _read(apart, Category, category_only)
    assert _read(brands, Brand, brand_only) == _read(brands_apart, Brand, brand_only)
    if category_only is None and brand_only is None:
        assert [c.id for c in categories[both.id]] == [hats.id, shirts.id]
        assert [b.slug for b in brands[both.id]] == ["alpha", "zeta"]
    assert none.id not in categories and none.id not in brands and one.id not in brands


async def test_variants_with_values_reads_what_variants_and_their_values_read(
    database: Database,
) -> None:
    from app.auth.actor import SYSTEM
    from app.services.catalog.variants import create_variant

    sized = await make_entity(database, slug="tee", sizes=("S", "M", "L"))
    plain = await make_entity(database, slug="mug")
    async with database.unit_of_work() as uow:  # a variant without option values
        await create_variant(uow, SYSTEM, entity_id=str(plain.id), sku="MUG-1")
        await uow.commit()
    ids = [sized.id, plain.id]
    async with database.read_session() as session:
        with count_queries(database) as statements:
            variants, values = await loading.variants_with_values(
                session, ids, {"sku"}, {"value", "position", "option_type"}
            )
        assert statements.count == 1, statements.statements
        apart = await loading.variants(session, ids, {"sku"})
        values_apart = await loading.variant_values(
            session,
            [v.id for vs in apart.values() for v in vs],
            {"value", "position", "option_type"},
        )
    assert {k: [(v.id, v.sku) for v in vs] for k, vs in variants.items()} == {
        k: [(v.id, v.sku) for v in vs] for k, vs in apart.items()
    }
    assert [v.sku for v in variants[plain.id]] == ["MUG-1"]
    every = [v.id for vs in apart.values() for v in vs]
    assert {id: [tuple(x) for x in values.get(id, [])] for id in every} == {
        id: [(x.value, x.position, x.option_type) for x in values_apart.get(id, [])] for id in every
    }
