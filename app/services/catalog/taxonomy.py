"""Categories (a tree), brands, and the links between them and entities."""

from __future__ import annotations

import uuid
from typing import Any, Literal, TypeVar

from sqlalchemy import Table, delete, func, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.actor import Actor
from app.db import UnitOfWork
from app.errors import Conflict, NotFound, ValidationFailed
from app.ids import parse_uuid
from app.models.base import utcnow
from app.models.catalog import Brand, CatalogEntity, Category, entity_brands, entity_categories
from app.pagination import Page, PageRequest, SortKey, paginate
from app.search.index import linked_entities, reindex
from app.services.audit import record_change
from app.services.catalog.entities import get_entity_by_id, touch
from app.services.catalog.rules import Problems, check_name, check_slug, check_text

Node = TypeVar("Node", Category, Brand)
MAX_DEPTH = 10


async def _get(session: AsyncSession, model: type[Node], id_or_slug: str, what: str) -> Node:
    parsed = parse_uuid(id_or_slug)
    condition = model.id == parsed if parsed else model.slug == id_or_slug
    found = await session.scalar(select(model).where(condition))
    if found is None:
        raise NotFound(f"{what} not found.")
    return found


async def get_category(session: AsyncSession, id_or_slug: str) -> Category:
    return await _get(session, Category, id_or_slug, "Category")


async def get_brand(session: AsyncSession, id_or_slug: str) -> Brand:
    return await _get(session, Brand, id_or_slug, "Brand")


async def _unique_slug(session: AsyncSession, model: type[Node], slug: str, own: Any) -> None:
    found = await session.scalar(select(model.id).where(model.slug == slug))
    if found is not None and found != own:
        raise Conflict(f"The slug {slug} is in use.", details={"slug": "Already in use."})


async def _flush(session: AsyncSession, slug: str) -> None:
    try:
        await session.flush()
    except IntegrityError:
        raise Conflict(f"The slug {slug} is in use.", details={"slug": "Already in use."}) from None


def _check_fields(
    problems: Problems, *, name: str | None, slug: str | None, description: str | None
) -> str | None:
    if slug is not None:
        check_slug(problems, slug)
    check_text(problems, description, "description", limit=10_000)
    return check_name(problems, name) if name is not None else None


async def _check_parent(
    session: AsyncSession, parent_id: str | None, *, moving: uuid.UUID | None
) -> uuid.UUID | None:
    """The parent's id; a parent that would put a category under itself is a CONFLICT."""
    if parent_id is None:
        return None
    parent = await get_category(session, parent_id)
    node: Category | None = parent
    for _ in range(MAX_DEPTH):
        if node is None:
            return parent.id
        if node.id == moving:
            raise Conflict("A category cannot be moved under itself or its descendants.")
        node = await session.get(Category, node.parent_id) if node.parent_id else None
    raise Conflict(f"Categories nest at most {MAX_DEPTH} deep.")


async def create_category(
    uow: UnitOfWork,
    actor: Actor,
    *,
    name: str,
    slug: str,
    parent_id: str | None = None,
    position: int = 0,
    description: str | None = None,
) -> Category:
    problems = Problems()
    name = _check_fields(problems, name=name, slug=slug, description=description) or name
    problems.raise_if_any()
    await _unique_slug(uow.session, Category, slug, None)
    parent = await _check_parent(uow.session, parent_id, moving=None)
    category = Category(
        name=name, slug=slug, parent_id=parent, position=position, description=description
    )
    uow.session.add(category)
    await _flush(uow.session, slug)
    record_change(
        uow,
        actor,
        event="categories.create",
        entity_type="category",
        entity_id=str(category.id),
        after=category.snapshot(),
    )
    return category


UNSET: Any = object()


async def update_category(
    uow: UnitOfWork,
    actor: Actor,
    *,
    id: str,
    name: str | None = None,
    slug: str | None = None,
    parent_id: str | None = UNSET,
    position: int | None = None,
    description: str | None = UNSET,
) -> Category:
    """Change the given fields; `parent_id=None` makes it a root, UNSET leaves it."""
    problems = Problems()
    checked_name = _check_fields(
        problems, name=name, slug=slug, description=None if description is UNSET else description
    )
    problems.raise_if_any()
    category = await _by_id(uow.session, Category, id, "Category")
    before = category.snapshot()
    if slug is not None:
        await _unique_slug(uow.session, Category, slug, category.id)
        category.slug = slug
    if checked_name is not None:
        category.name = checked_name
    if position is not None:
        category.position = position
    if description is not UNSET:
        category.description = description
    if parent_id is not UNSET:
        category.parent_id = await _check_parent(uow.session, parent_id, moving=category.id)
    category.updated_at = utcnow()
    await _flush(uow.session, category.slug)
    if checked_name is not None:  # the name is in its entities' search documents
        await reindex(uow.session, await linked_entities(uow.session, category_id=category.id))
    record_change(
        uow,
        actor,
        event="categories.update",
        entity_type="category",
        entity_id=str(category.id),
        before=before,
        after=category.snapshot(),
    )
    return category


async def _by_id(session: AsyncSession, model: type[Node], id: str, what: str) -> Node:
    parsed = parse_uuid(id)
    found = await session.get(model, parsed, with_for_update=True) if parsed else None
    if found is None:
        raise NotFound(f"{what} not found.")
    return found


async def delete_category(uow: UnitOfWork, actor: Actor, *, id: str) -> Category:
    """Delete a category without children; its entity links go with it."""
    category = await _by_id(uow.session, Category, id, "Category")
    children = await uow.session.scalar(
        select(func.count()).select_from(Category).where(Category.parent_id == category.id)
    )
    if children:
        raise Conflict(f"The category has {children} child categories; move or delete them first.")
    before = category.snapshot()
    linked = await linked_entities(uow.session, category_id=category.id)
    await uow.session.delete(category)
    await uow.session.flush()
    await reindex(uow.session, linked)
    record_change(
        uow,
        actor,
        event="categories.delete",
        entity_type="category",
        entity_id=str(category.id),
        before=before,
    )
    return category


async def list_categories(
    session: AsyncSession, *, parent_id: str | None, page: PageRequest
) -> Page[Category]:
    """Ordered by position; `parent_id` narrows to one level (`root` for the top level)."""
    statement = select(Category)
    if parent_id == "root":
        statement = statement.where(Category.parent_id.is_(None))
    elif parent_id is not None:
        parent = parse_uuid(parent_id)
        if parent is None:
            raise ValidationFailed.field("parentId", "Must be a category id or root.")
        statement = statement.where(Category.parent_id == parent)
    keys = (SortKey(Category.position), SortKey(Category.id))
    return await paginate(session, statement, keys=keys, request=page)


async def all_categories(session: AsyncSession) -> list[Category]:
    """Every category, for building the tree in one statement."""
    return list(
        (await session.scalars(select(Category).order_by(Category.position, Category.id))).all()
    )


async def create_brand(
    uow: UnitOfWork, actor: Actor, *, name: str, slug: str, description: str | None = None
) -> Brand:
    problems = Problems()
    name = _check_fields(problems, name=name, slug=slug, description=description) or name
    problems.raise_if_any()
    await _unique_slug(uow.session, Brand, slug, None)
    brand = Brand(name=name, slug=slug, description=description)
    uow.session.add(brand)
    await _flush(uow.session, slug)
    record_change(
        uow,
        actor,
        event="brands.create",
        entity_type="brand",
        entity_id=str(brand.id),
        after=brand.snapshot(),
    )
    return brand


async def update_brand(
    uow: UnitOfWork,
    actor: Actor,
    *,
    id: str,
    name: str | None = None,
    slug: str | None = None,
    description: str | None = UNSET,
) -> Brand:
    problems = Problems()
    checked_name = _check_fields(
        problems, name=name, slug=slug, description=None if description is UNSET else description
    )
    problems.raise_if_any()
    brand = await _by_id(uow.session, Brand, id, "Brand")
    before = brand.snapshot()
    if slug is not None:
        await _unique_slug(uow.session, Brand, slug, brand.id)
        brand.slug = slug
    if checked_name is not None:
        brand.name = checked_name
    if description is not UNSET:
        brand.description = description
    brand.updated_at = utcnow()
    await _flush(uow.session, brand.slug)
    if checked_name is not None:  # the name is in its entities' search documents
        await reindex(uow.session, await linked_entities(uow.session, brand_id=brand.id))
    record_change(
        uow,
        actor,
        event="brands.update",
        entity_type="brand",
        entity_id=str(brand.id),
        before=before,
        after=brand.snapshot(),
    )
    return brand


async def delete_brand(uow: UnitOfWork, actor: Actor, *, id: str) -> Brand:
    brand = await _by_id(uow.session, Brand, id, "Brand")
    before = brand.snapshot()
    linked = await linked_entities(uow.session, brand_id=brand.id)
    await uow.session.delete(brand)
    await uow.session.flush()
    await reindex(uow.session, linked)
    record_change(
        uow,
        actor,
        event="brands.delete",
        entity_type="brand",
        entity_id=str(brand.id),
        before=before,
    )
    return brand


async def list_brands(session: AsyncSession, *, page: PageRequest) -> Page[Brand]:
    keys = (SortKey(Brand.name), SortKey(Brand.id))
    return await paginate(session, select(Brand), keys=keys, request=page)


LinkKind = Literal["category", "brand"]
LINKS: dict[LinkKind, tuple[Table, str]] = {
    "category": (entity_categories, "category_id"),
    "brand": (entity_brands, "brand_id"),
}


async def link(
    uow: UnitOfWork, actor: Actor, *, entity_id: str, kind: LinkKind, target_id: str, add: bool
) -> CatalogEntity:
    """Add the entity to (or remove it from) a category or brand.

    Adding twice changes nothing and records nothing; removing a link that does not exist
    is NOT_FOUND.
    """
    entity = await get_entity_by_id(uow, actor, entity_id)
    target: Category | Brand = (
        await _by_id(uow.session, Category, target_id, "Category")
        if kind == "category"
        else await _by_id(uow.session, Brand, target_id, "Brand")
    )
    table, column = LINKS[kind]
    condition = (table.c.entity_id == entity.id) & (table.c[column] == target.id)
    linked = await uow.session.scalar(select(func.count()).select_from(table).where(condition))
    if add and linked:
        return entity
    if not add and not linked:
        raise NotFound(f"The entity is not in this {kind}.")
    if add:
        await uow.session.execute(insert(table).values(entity_id=entity.id, **{column: target.id}))
    else:
        await uow.session.execute(delete(table).where(condition))
    change = {"id": str(target.id), "slug": target.slug}
    await touch(
        uow,
        actor,
        entity,
        part=f"{kind}s",
        before=None if add else change,
        after=change if add else None,
    )
    return entity
