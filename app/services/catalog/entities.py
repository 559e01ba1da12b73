"""Catalog entities: create, read, list, update, status transitions, delete."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Select, exists, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.actor import Actor
from app.db import UnitOfWork
from app.errors import Conflict, NotFound, ValidationFailed
from app.ids import parse_uuid
from app.models.base import utcnow
from app.models.catalog import (
    ENTITY_STATUSES,
    ENTITY_TYPES,
    CatalogEntity,
    CatalogEntityCount,
    entity_brands,
    entity_categories,
)
from app.pagination import Page, PageRequest, SortKey, paginate
from app.search.index import reindex
from app.services.audit import record_change
from app.services.catalog.loading import columns
from app.services.catalog.rules import Problems, check_metadata, check_slug
from app.services.marketplace import ownership

# Which status each action leads to, and from where it may be taken.
ACTIONS = {"publish": "active", "archive": "archived", "discontinue": "discontinued"}
TRANSITIONS: dict[str, tuple[str, ...]] = {
    "draft": ("active", "archived"),
    "active": ("archived", "discontinued"),
    "archived": ("active", "discontinued"),
    "discontinued": (),
}
SORT_FIELDS = {
    "createdAt": CatalogEntity.created_at,
    "updatedAt": CatalogEntity.updated_at,
    "slug": CatalogEntity.slug,
    "type": CatalogEntity.type,
    "status": CatalogEntity.status,
}
DEFAULT_SORT = "createdAt:desc"
# Who may see entities that are not active (drafts, archived, discontinued).
READ_ALL = "catalog:read"
CREATE, UPDATE, DELETE = "catalog:create", "catalog:update", "catalog:delete"


def visible_statuses(actor: Actor) -> tuple[str, ...] | None:
    """None when the actor sees every status; else the statuses it may see."""
    return None if actor.can(READ_ALL) else ("active",)


def _check(problems: Problems, *, type: str | None, status: str | None) -> None:
    if type is not None and type not in ENTITY_TYPES:
        problems.add("type", f"One of {', '.join(ENTITY_TYPES)}.")
    if status is not None and status not in ENTITY_STATUSES:
        problems.add("status", f"One of {', '.join(ENTITY_STATUSES)}.")


async def _slug_taken(session: AsyncSession, slug: str, *, other_than: uuid.UUID | None) -> bool:
    query = select(CatalogEntity.id).where(CatalogEntity.slug == slug)
    found = await session.scalar(query)
    return found is not None and found != other_than


async def create_entity(
    uow: UnitOfWork,
    actor: Actor,
    *,
    type: str,
    slug: str,
    status: str = "draft",
    metadata: object | None = None,
    allow_backorder: bool = False,
    vendor_id: str | None = None,
) -> CatalogEntity:
    """Create an entity; a slug in use is a CONFLICT. A vendor's user creates its own
    vendor's (`app.services.marketplace.ownership`); staff may name the vendor."""
    problems = Problems()
    _check(problems, type=type, status=status)
    check_slug(problems, slug)
    meta = check_metadata(problems, metadata if metadata is not None else {})
    problems.raise_if_any()
    owner = await ownership.owner_for_create(uow.session, actor, vendor_id, CREATE)
    if await _slug_taken(uow.session, slug, other_than=None):
        raise Conflict(f"The slug {slug} is in use.", details={"slug": "Already in use."})
    entity = CatalogEntity(
        type=type,
        slug=slug,
        status=status,
        meta=meta,
        allow_backorder=allow_backorder,
        vendor_id=owner,
    )
    uow.session.add(entity)
    await _flush_unique(uow, slug)
    await reindex(uow.session, [entity.id])
    record_change(
        uow,
        actor,
        event="catalog.create",
        entity_type="catalog_entity",
        entity_id=str(entity.id),
        after=entity.snapshot(),
    )
    return entity


async def _flush_unique(uow: UnitOfWork, slug: str) -> None:
    """Flush, turning a concurrent duplicate slug into the same CONFLICT as a checked one."""
    try:
        await uow.session.flush()
    except IntegrityError:
        raise Conflict(f"The slug {slug} is in use.", details={"slug": "Already in use."}) from None


async def get_entity(
    session: AsyncSession,
    actor: Actor,
    id_or_slug: str,
    *,
    for_update: bool = False,
    any_status: bool = False,
) -> CatalogEntity:
    """By UUID or slug; an entity the actor may not see is NOT_FOUND, as a missing one.

    `any_status` is for writes: their permission (checked by the caller) covers every status.
    """
    parsed = parse_uuid(id_or_slug)
    condition = CatalogEntity.id == parsed if parsed else CatalogEntity.slug == id_or_slug
    query = select(CatalogEntity).where(condition)
    if for_update:
        query = query.with_for_update()
    entity = await session.scalar(query)
    statuses = None if any_status else visible_statuses(actor)
    hidden = statuses is not None and entity is not None and entity.status not in statuses
    if entity is None or (hidden and not actor.is_vendor(entity.vendor_id)):
        raise NotFound("Entity not found.")
    return entity


async def get_entity_by_id(
    uow: UnitOfWork, actor: Actor, id: str, *, permission: str = UPDATE
) -> CatalogEntity:
    """For writes: by UUID only (the documented `:id` routes), locked for the change. A
    vendor's user (without `permission`) reaches its own vendor's entities only."""
    if parse_uuid(id) is None:
        raise NotFound("Entity not found.")
    entity = await get_entity(uow.session, actor, id, for_update=True, any_status=True)
    await ownership.check_owned(uow.session, actor, entity, permission)
    return entity


async def update_entity(
    uow: UnitOfWork,
    actor: Actor,
    *,
    id: str,
    type: str | None = None,
    slug: str | None = None,
    status: str | None = None,
    metadata: object | None = None,
    allow_backorder: bool | None = None,
    vendor_id: str | None = None,
) -> CatalogEntity:
    """Change the given fields; a status change follows the same machine as the actions.
    Only staff (catalog:update) may hand the entity to another vendor (`vendor_id`)."""
    problems = Problems()
    _check(problems, type=type, status=status)
    if slug is not None:
        check_slug(problems, slug)
    meta = check_metadata(problems, metadata) if metadata is not None else None
    problems.raise_if_any()
    entity = await get_entity_by_id(uow, actor, id)
    before = entity.snapshot()
    if slug is not None and slug != entity.slug:
        if await _slug_taken(uow.session, slug, other_than=entity.id):
            raise Conflict(f"The slug {slug} is in use.", details={"slug": "Already in use."})
        entity.slug = slug
    if type is not None:
        entity.type = type
    if meta is not None:
        entity.meta = meta
    if allow_backorder is not None:
        entity.allow_backorder = allow_backorder
    if vendor_id is not None and vendor_id != str(entity.vendor_id):
        entity.vendor_id = await ownership.owner_for_create(uow.session, actor, vendor_id, UPDATE)
    if status is not None and status != entity.status:
        _move(entity, status, verb=f"move to {status}")
    return await _save(uow, actor, entity, before)


async def touch(
    uow: UnitOfWork, actor: Actor, entity: CatalogEntity, *, part: str, before: Any, after: Any
) -> None:
    """Record a change to one of an entity's parts (attributes, options, variants, links)
    as a `catalog.update` of the entity, with that part before and after; the entity's
    search document follows in the same transaction."""
    entity.updated_at = utcnow()
    await uow.session.flush()
    await reindex(uow.session, [entity.id])
    record_change(
        uow,
        actor,
        event="catalog.update",
        entity_type="catalog_entity",
        entity_id=str(entity.id),
        before={part: before},
        after={part: after},
    )


async def _save(
    uow: UnitOfWork, actor: Actor, entity: CatalogEntity, before: dict[str, Any]
) -> CatalogEntity:
    entity.updated_at = utcnow()
    await _flush_unique(uow, entity.slug)
    await reindex(uow.session, [entity.id])
    record_change(
        uow,
        actor,
        event="catalog.update",
        entity_type="catalog_entity",
        entity_id=str(entity.id),
        before=before,
        after=entity.snapshot(),
    )
    return entity


def _move(entity: CatalogEntity, target: str, *, verb: str) -> None:
    allowed = TRANSITIONS[entity.status]
    if target not in allowed:
        names = ", ".join(allowed) if allowed else "none (discontinued is final)"
        raise Conflict(
            f"Cannot {verb} an entity that is {entity.status}; allowed next states: {names}.",
            details={"status": entity.status, "allowed": ", ".join(allowed)},
        )
    entity.status = target


async def transition(uow: UnitOfWork, actor: Actor, *, id: str, action: str) -> CatalogEntity:
    """publish -> active, archive -> archived, discontinue -> discontinued."""
    entity = await get_entity_by_id(uow, actor, id)
    before = entity.snapshot()
    _move(entity, ACTIONS[action], verb=action)
    return await _save(uow, actor, entity, before)


async def delete_entity(uow: UnitOfWork, actor: Actor, *, id: str) -> CatalogEntity:
    """Delete an entity with its attributes, options, variants and links."""
    entity = await get_entity_by_id(uow, actor, id, permission=DELETE)
    before = entity.snapshot()
    await uow.session.delete(entity)
    await uow.session.flush()
    record_change(
        uow,
        actor,
        event="catalog.delete",
        entity_type="catalog_entity",
        entity_id=str(entity.id),
        before=before,
    )
    return entity


@dataclass(frozen=True, slots=True)
class EntityFilter:
    type: str | None = None
    status: str | None = None
    category: str | None = None
    brand: str | None = None
    vendor: str | None = None


def parse_sort(sort: str | None) -> tuple[SortKey, SortKey]:
    """`createdAt:desc` -> the keyset keys (the field, then the id the same way)."""
    field, _, direction = (sort or DEFAULT_SORT).partition(":")
    direction = direction or "asc"
    if field not in SORT_FIELDS or direction not in ("asc", "desc"):
        raise ValidationFailed.field(
            "sort", f"field:direction with field one of {', '.join(SORT_FIELDS)}, asc or desc."
        )
    descending = direction == "desc"
    return SortKey(SORT_FIELDS[field], descending), SortKey(CatalogEntity.id, descending)


def _uuid_filter(problems: Problems, value: str | None, field: str) -> uuid.UUID | None:
    if value is None:
        return None
    parsed = parse_uuid(value)
    if parsed is None:
        problems.add(field, "Must be an id (UUID).")
    return parsed


def filtered(actor: Actor, filter: EntityFilter) -> Select[Any]:
    problems = Problems()
    _check(problems, type=filter.type, status=filter.status)
    category = _uuid_filter(problems, filter.category, "category")
    brand = _uuid_filter(problems, filter.brand, "brand")
    vendor = _uuid_filter(problems, filter.vendor, "vendor")
    problems.raise_if_any()
    # Plain rows: listings never write, and skip the ORM's per-object bookkeeping.
    statement = select(*columns(CatalogEntity))
    statuses = visible_statuses(actor)
    if statuses is not None:
        visible: ColumnElement[bool] = CatalogEntity.status.in_(statuses)
        if actor.vendor_id is not None:  # a vendor's user sees its own in every status
            visible = or_(visible, CatalogEntity.vendor_id == uuid.UUID(actor.vendor_id))
        statement = statement.where(visible)
    if vendor is not None:
        statement = statement.where(CatalogEntity.vendor_id == vendor)
    if filter.status is not None:
        statement = statement.where(CatalogEntity.status == filter.status)
    if filter.type is not None:
        statement = statement.where(CatalogEntity.type == filter.type)
    if category is not None:
        statement = statement.where(
            exists().where(
                entity_categories.c.entity_id == CatalogEntity.id,
                entity_categories.c.category_id == category,
            )
        )
    if brand is not None:
        statement = statement.where(
            exists().where(
                entity_brands.c.entity_id == CatalogEntity.id, entity_brands.c.brand_id == brand
            )
        )
    return statement


async def list_entities(
    session: AsyncSession,
    actor: Actor,
    *,
    filter: EntityFilter,
    sort: str | None,
    page: PageRequest,
    with_total: bool = True,
) -> Page[CatalogEntity]:
    """Filtered and sorted; anonymous actors see active entities only. The count rides on
    the page's statement (the storefront's listing: one round trip for both), and is read
    from the maintained counts where they answer it (`counted`)."""
    keys: Sequence[SortKey] = parse_sort(sort)
    return await paginate(
        session,
        filtered(actor, filter),
        keys=keys,
        request=page,
        with_total=with_total,
        count_in_page=True,
        count=counted(actor, filter),
    )


def counted(actor: Actor, filter: EntityFilter) -> Select[Any] | None:
    """The total of `filtered(actor, filter)` from catalog_entity_counts (a few rows, not
    every entity), or None when the counts cannot answer: a category, brand or vendor
    narrows the list, or a vendor's user also sees its own entities in other statuses."""
    if filter.category is not None or filter.brand is not None or filter.vendor is not None:
        return None
    statuses = visible_statuses(actor)
    if statuses is not None and actor.vendor_id is not None:  # as `filtered` widens it
        return None
    statement = select(func.coalesce(func.sum(CatalogEntityCount.entities), 0))
    if statuses is not None:
        statement = statement.where(CatalogEntityCount.status.in_(statuses))
    if filter.status is not None:
        statement = statement.where(CatalogEntityCount.status == filter.status)
    if filter.type is not None:
        statement = statement.where(CatalogEntityCount.type == filter.type)
    return statement
