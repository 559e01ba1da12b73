"""The gateway's products (seeds 000 and 002): a catalog entity seen as name, description,
SKU and status. Built from the catalog services, so the same rules and events apply."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.actor import Actor
from app.db import UnitOfWork
from app.models.catalog import CatalogAttributes, CatalogEntity, Variant
from app.services.catalog import attributes, entities, variants
from app.services.catalog.rules import Problems, check_name, check_text, slugify


async def _free_slug(session: AsyncSession, base: str) -> str:
    taken = set(
        (
            await session.scalars(
                select(CatalogEntity.slug).where(
                    (CatalogEntity.slug == base) | CatalogEntity.slug.like(f"{base}-%")
                )
            )
        ).all()
    )
    if base not in taken:
        return base
    number = 2
    while f"{base}-{number}" in taken:
        number += 1
    return f"{base}-{number}"


def _check(name: str | None, description: str | None) -> str | None:
    problems = Problems()
    checked = check_name(problems, name, limit=500) if name is not None else None
    check_text(problems, description, "description", limit=50_000)
    problems.raise_if_any()
    return checked


async def create_product(
    uow: UnitOfWork,
    actor: Actor,
    *,
    name: str,
    description: str | None = None,
    sku: str | None = None,
    status: str = "draft",
    type: str = "product",
    metadata: dict[str, Any] | None = None,
) -> CatalogEntity:
    """An entity with its default-locale texts and, given a SKU, its one variant."""
    name = _check(name, description) or name
    slug = await _free_slug(uow.session, slugify(name))
    entity = await entities.create_entity(
        uow, actor, type=type, slug=slug, status=status, metadata=metadata
    )
    await attributes.set_attributes(
        uow,
        actor,
        entity_id=str(entity.id),
        locale=attributes.DEFAULT_LOCALE,
        title=name,
        description=description,
    )
    if sku is not None:
        await variants.create_variant(uow, actor, entity_id=str(entity.id), sku=sku)
    return entity


async def update_product(
    uow: UnitOfWork,
    actor: Actor,
    *,
    id: str,
    name: str | None = None,
    description: str | None = None,
    sku: str | None = None,
    status: str | None = None,
) -> CatalogEntity:
    """Change the given fields; the others stay as they are."""
    name = _check(name, description)
    entity = await entities.get_entity_by_id(uow, actor, id)
    if name is not None or description is not None:
        current = await uow.session.scalar(
            select(CatalogAttributes).where(
                CatalogAttributes.entity_id == entity.id,
                CatalogAttributes.locale == attributes.DEFAULT_LOCALE,
            )
        )
        await attributes.set_attributes(
            uow,
            actor,
            entity_id=id,
            locale=attributes.DEFAULT_LOCALE,
            title=name if name is not None else getattr(current, "title", None),
            description=description
            if description is not None
            else getattr(current, "description", None),
            seo_title=getattr(current, "seo_title", None),
            seo_description=getattr(current, "seo_description", None),
        )
    if sku is not None:
        await _set_sku(uow, actor, entity, sku)
    if status is not None:
        entity = await entities.update_entity(uow, actor, id=id, status=status)
    return entity


async def _set_sku(uow: UnitOfWork, actor: Actor, entity: CatalogEntity, sku: str) -> None:
    """The product's SKU is its first variant's; a product without variants gets one."""
    first = await uow.session.scalar(
        select(Variant).where(Variant.entity_id == entity.id).order_by(Variant.sku).limit(1)
    )
    if first is None:
        await variants.create_variant(uow, actor, entity_id=str(entity.id), sku=sku)
        return
    if first.sku == sku:
        return
    await variants.rename_variant(uow, actor, variant=first, sku=sku)
