"""Keeping the search documents in step with the catalog, in the caller's transaction.

Catalog services call `reindex` after every change to an entity or to what its document
holds (attributes, variants, brand and category links or names), before their unit of work
commits: a search right after the commit finds the change, and a rolled-back change leaves
the index as it was. One set-based INSERT ... SELECT per call keeps bulk loads (the demo
seed's chunks) to a few statements; on PostgreSQL, it returns the titles whose words go into
`search_title_words` (one more, multi-row, INSERT).
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Collection, Iterable
from typing import Any

from sqlalchemy import ColumnElement, delete, func, insert, literal, literal_column, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.models.base import utcnow
from app.models.catalog import (
    Brand,
    CatalogAttributes,
    CatalogEntity,
    Category,
    Variant,
    entity_brands,
    entity_categories,
)
from app.models.search import WORD_LENGTH, SearchDocument, SearchTitleWord

# PostgreSQL's weighted vector: titles and SKUs rank highest, then brand and category
# names, then descriptions (ts_rank weighs A 1.0, B 0.4, C 0.2).
DOCUMENT_SQL = (
    "setweight(to_tsvector('english', titles), 'A')"
    " || setweight(to_tsvector('simple', skus), 'A')"
    " || setweight(to_tsvector('english', brands), 'B')"
    " || setweight(to_tsvector('english', categories), 'B')"
    " || setweight(to_tsvector('english', description), 'C')"
)


WORD = re.compile(r"\w+")


def title_words(title: str) -> list[tuple[str, bool]]:
    """The distinct words of a title, lower-cased, each with whether it comes after the
    first word (`later`); what suggestions complete on PostgreSQL."""
    seen: dict[str, bool] = {}
    for position, word in enumerate(WORD.findall(title.lower())):
        seen.setdefault(word[:WORD_LENGTH], position > 0)
    return list(seen.items())


def word_rows(documents: Iterable[Any]) -> list[dict[str, Any]]:
    """`search_title_words` rows for documents of (id, title, type, status)."""
    return [
        {
            "document_id": id,
            "word": word,
            "later": later,
            "title_length": len(title),
            "title": title,
            "type": type,
            "status": status,
        }
        for id, title, type, status in documents
        for word, later in title_words(title)
    ]


def _joined(column: Any, *where: ColumnElement[bool]) -> ColumnElement[str]:
    """The non-null values of `column` joined by spaces, '' when none."""
    aggregated = select(func.aggregate_strings(column, " ")).where(*where).scalar_subquery()
    return func.coalesce(aggregated, literal(""))


async def reindex(session: AsyncSession, entity_ids: Collection[uuid.UUID]) -> None:
    """Rewrite the documents of `entity_ids`; an id whose entity is gone loses its document."""
    ids = list(set(entity_ids))
    if not ids:
        return
    await session.flush()
    await session.execute(delete(SearchDocument).where(SearchDocument.entity_id.in_(ids)))
    entity = CatalogEntity.id
    english_first = (
        select(CatalogAttributes.title)
        .where(CatalogAttributes.entity_id == entity, CatalogAttributes.title.is_not(None))
        .order_by(CatalogAttributes.locale != "en", CatalogAttributes.locale)
        .limit(1)
        .scalar_subquery()
    )
    columns = [
        "entity_id", "type", "status", "slug", "title", "titles", "description", "skus",
        "brands", "categories", "updated_at",
    ]  # fmt: skip
    values: list[Any] = [
        CatalogEntity.id,
        CatalogEntity.type,
        CatalogEntity.status,
        CatalogEntity.slug,
        func.coalesce(english_first, literal("")),
        _joined(CatalogAttributes.title, CatalogAttributes.entity_id == entity),
        _joined(CatalogAttributes.description, CatalogAttributes.entity_id == entity),
        _joined(Variant.sku, Variant.entity_id == entity),
        _joined(
            Brand.name, entity_brands.c.entity_id == entity, entity_brands.c.brand_id == Brand.id
        ),
        _joined(
            Category.name,
            entity_categories.c.entity_id == entity,
            entity_categories.c.category_id == Category.id,
        ),
        literal(utcnow()),
    ]
    labelled = [value.label(name) for value, name in zip(values, columns, strict=True)]
    rows = select(*labelled).where(CatalogEntity.id.in_(ids))
    if session.get_bind().dialect.name != "postgresql":
        await session.execute(insert(SearchDocument).from_select(columns, rows))
        return
    # PostgreSQL: the tsvector computed from the texts in the same INSERT (an UPDATE after
    # it would leave every row's first version dead), and the title's words for
    # suggestions (the old ones went with their documents, ON DELETE CASCADE).
    texts = rows.subquery("texts")
    documents = await session.execute(
        insert(SearchDocument)
        .from_select(
            [*columns, "document"],
            select(*texts.c, literal_column(DOCUMENT_SQL)).select_from(texts),
        )
        .returning(
            SearchDocument.id, SearchDocument.title, SearchDocument.type, SearchDocument.status
        )
    )
    words = word_rows(documents.all())
    if words:
        await session.execute(insert(SearchTitleWord), words)


async def linked_entities(
    session: AsyncSession,
    *,
    category_id: uuid.UUID | None = None,
    brand_id: uuid.UUID | None = None,
) -> list[uuid.UUID]:
    """The entities linked to a category or brand, whose documents hold its name."""
    if category_id is not None:
        query = select(entity_categories.c.entity_id).where(
            entity_categories.c.category_id == category_id
        )
    else:
        query = select(entity_brands.c.entity_id).where(entity_brands.c.brand_id == brand_id)
    return list(await session.scalars(query))
