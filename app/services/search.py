"""Catalog search and suggestions: checks the caller's input and what it may see, then asks
the database's backend (`app.search.backend`)."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.actor import Actor
from app.errors import ValidationFailed
from app.models.catalog import ENTITY_STATUSES, ENTITY_TYPES
from app.pagination import PageRequest
from app.search.backend import (
    FACETS,
    MAX_RESULTS,
    Hit,
    SearchQuery,
    SearchResult,
    backend_for,
)
from app.services.catalog.entities import visible_statuses

# Longer queries are refused: nobody types them, and each word costs the database work.
MAX_QUERY = 500
SUGGEST_DEFAULT = 10
SUGGEST_MAX = 50


def _text(field: str, value: str | None) -> str:
    text = (value or "").replace("\x00", " ")
    if len(text) > MAX_QUERY:
        raise ValidationFailed.field(field, f"At most {MAX_QUERY} characters.")
    return text


def _type(value: str | None) -> str | None:
    if value is not None and value not in ENTITY_TYPES:
        raise ValidationFailed.field("type", f"One of {', '.join(ENTITY_TYPES)}.")
    return value


def _statuses(actor: Actor, status: str | None) -> tuple[str, ...] | None:
    """The statuses searched: the one asked for if the actor may see it. Anonymous callers
    (and anyone without catalog:read) see active entities only and may ask for no other."""
    visible = visible_statuses(actor)
    if status is None:
        return visible
    if status not in ENTITY_STATUSES:
        raise ValidationFailed.field("status", f"One of {', '.join(ENTITY_STATUSES)}.")
    if visible is not None and status not in visible:
        raise ValidationFailed.field("status", "Only active entities can be searched.")
    return (status,)


def _facets(names: Sequence[str]) -> tuple[str, ...]:
    wanted = tuple(dict.fromkeys(name.strip() for name in names if name.strip()))
    unknown = [name for name in wanted if name not in FACETS]
    if unknown:
        raise ValidationFailed.field("facets", f"Each one of {', '.join(FACETS)}.")
    return wanted


async def search(
    session: AsyncSession,
    actor: Actor,
    *,
    q: str | None,
    type: str | None,
    category: str | None,
    brand: str | None,
    status: str | None,
    facets: Sequence[str],
    page: PageRequest,
    max_results: int = MAX_RESULTS,
) -> SearchResult:
    """Entities matching `q` (all when empty), best first; facets count the whole result.
    At most `max_results` are ranked and counted: past them, `total` is `max_results`,
    `total_exact` False, and the facets count the first `max_results` the index found."""
    query = SearchQuery(
        text=_text("q", q),
        page=page,
        type=_type(type),
        category=category or None,
        brand=brand or None,
        statuses=_statuses(actor, status),
        facets=_facets(facets),
        max_results=max_results,
    )
    return await backend_for(session).search(session, query)


async def suggest(
    session: AsyncSession, actor: Actor, *, prefix: str, type: str | None, limit: int | None
) -> list[Hit]:
    """Entities whose title completes `prefix`, titles starting with it first."""
    size = SUGGEST_DEFAULT if limit is None else limit
    if size < 1:
        raise ValidationFailed.field("limit", "Must be at least 1.")
    return await backend_for(session).suggest(
        session,
        _text("prefix", prefix),
        type=_type(type),
        statuses=visible_statuses(actor),
        limit=min(size, SUGGEST_MAX),
    )
