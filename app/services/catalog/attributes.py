"""Localized attributes: one row per entity and locale, read with a fallback."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.actor import Actor
from app.db import UnitOfWork
from app.errors import NotFound
from app.models.base import utcnow
from app.models.catalog import CatalogAttributes
from app.services.catalog.entities import get_entity, get_entity_by_id, touch
from app.services.catalog.rules import Problems, check_locale, check_text

DEFAULT_LOCALE = "en"
FIELDS = ("title", "description", "seo_title", "seo_description")
LIMITS = {"title": 500, "description": 50_000, "seo_title": 500, "seo_description": 5_000}


@dataclass(frozen=True, slots=True)
class Localized:
    """The attributes as read in `locale`: each missing field filled from the default locale.

    `locale` is the locale the texts mostly come from: the requested one when it has a row,
    else the default.
    """

    entity_id: uuid.UUID
    locale: str
    title: str | None
    description: str | None
    seo_title: str | None
    seo_description: str | None


def localize(
    rows: list[CatalogAttributes], locale: str, default: str = DEFAULT_LOCALE
) -> Localized | None:
    """Merge one entity's rows for `locale` and the default; None when neither exists."""
    by_locale = {row.locale: row for row in rows}
    wanted, fallback = by_locale.get(locale), by_locale.get(default)
    primary = wanted or fallback
    if primary is None:
        return None
    values = {
        name: getattr(wanted, name, None)
        if wanted is not None and getattr(wanted, name) is not None
        else getattr(fallback, name, None)
        for name in FIELDS
    }
    return Localized(entity_id=primary.entity_id, locale=primary.locale, **values)


async def set_attributes(
    uow: UnitOfWork,
    actor: Actor,
    *,
    entity_id: str,
    locale: str,
    title: str | None = None,
    description: str | None = None,
    seo_title: str | None = None,
    seo_description: str | None = None,
) -> CatalogAttributes:
    """Set (replace) an entity's texts in one locale."""
    check_locale(locale)
    values = {
        "title": title,
        "description": description,
        "seo_title": seo_title,
        "seo_description": seo_description,
    }
    problems = Problems()
    for name, value in values.items():
        check_text(problems, value, _camel(name), limit=LIMITS[name])
    problems.raise_if_any()
    entity = await get_entity_by_id(uow, actor, entity_id)
    row = await uow.session.scalar(
        select(CatalogAttributes).where(
            CatalogAttributes.entity_id == entity.id, CatalogAttributes.locale == locale
        )
    )
    before = _texts(row) if row is not None else None
    if row is None:
        row = CatalogAttributes(entity_id=entity.id, locale=locale)
        uow.session.add(row)
    for name, value in values.items():
        setattr(row, name, value)
    row.updated_at = utcnow()
    await touch(uow, actor, entity, part=f"attributes.{locale}", before=before, after=_texts(row))
    return row


def _texts(row: CatalogAttributes) -> dict[str, str | None]:
    return {_camel(name): getattr(row, name) for name in FIELDS}


async def get_attributes(
    session: AsyncSession, actor: Actor, *, entity_id: str, locale: str
) -> Localized:
    """The texts in `locale`, falling back to the default locale field by field."""
    check_locale(locale)
    entity = await get_entity(session, actor, entity_id)
    rows = list(
        (
            await session.scalars(
                select(CatalogAttributes).where(
                    CatalogAttributes.entity_id == entity.id,
                    CatalogAttributes.locale.in_({locale, DEFAULT_LOCALE}),
                )
            )
        ).all()
    )
    localized = localize(rows, locale)
    if localized is None:
        raise NotFound(f"No attributes in {locale} or {DEFAULT_LOCALE}.")
    return localized


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)
