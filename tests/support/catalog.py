"""Catalog factories for tests: entities built through the services, as an admin would."""

from __future__ import annotations

from sqlalchemy import select

from app.auth.actor import SYSTEM
from app.db import Database
from app.models.catalog import Brand, CatalogEntity, Category
from app.services.catalog import attributes, entities, taxonomy, variants


async def make_category(
    database: Database, *, slug: str, parent: Category | None = None
) -> Category:
    async with database.unit_of_work() as uow:
        category = await taxonomy.create_category(
            uow,
            SYSTEM,
            name=slug.title(),
            slug=slug,
            parent_id=str(parent.id) if parent else None,
        )
        await uow.commit()
    return category


async def make_brand(database: Database, *, slug: str) -> Brand:
    async with database.unit_of_work() as uow:
        brand = await taxonomy.create_brand(uow, SYSTEM, name=slug.title(), slug=slug)
        await uow.commit()
    return brand


async def make_entity(
    database: Database,
    *,
    slug: str,
    status: str = "active",
    type: str = "product",
    title: str | None = None,
    sizes: tuple[str, ...] = (),
    category: Category | None = None,
    brand: Brand | None = None,
) -> CatalogEntity:
    """An entity with English texts and, given sizes, a Size option and generated variants."""
    async with database.unit_of_work() as uow:
        entity = await entities.create_entity(uow, SYSTEM, type=type, slug=slug, status=status)
        id = str(entity.id)
        await attributes.set_attributes(
            uow,
            SYSTEM,
            entity_id=id,
            locale="en",
            title=title or slug.title(),
            description=f"About {slug}.",
        )
        if sizes:
            await variants.create_option_type(
                uow, SYSTEM, entity_id=id, name="Size", values=list(sizes)
            )
            await variants.generate_variants(uow, SYSTEM, entity_id=id)
        if category is not None:
            await taxonomy.link(
                uow, SYSTEM, entity_id=id, kind="category", target_id=str(category.id), add=True
            )
        if brand is not None:
            await taxonomy.link(
                uow, SYSTEM, entity_id=id, kind="brand", target_id=str(brand.id), add=True
            )
        await uow.commit()
    return entity


async def entity_by_slug(database: Database, slug: str) -> CatalogEntity:
    """The stored entity with this slug (it must exist)."""
    async with database.read_session() as session:
        found = await session.scalar(select(CatalogEntity).where(CatalogEntity.slug == slug))
    assert found is not None, slug
    return found
