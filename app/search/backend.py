"""Search backends: one interface, a PostgreSQL and an SQLite implementation (DESIGN §6).

Both rank the documents of `app.models.search` inside the catalog's own database, so a
change is searchable the moment its transaction commits. Beyond one PostgreSQL, an
OpenSearch backend would implement the same `SearchBackend` (fed by the outbox's
`catalog.*` events instead of `reindex`), and the service would not change.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field
from typing import Any, Protocol

from sqlalchemy import (
    Float,
    Select,
    Subquery,
    case,
    exists,
    func,
    literal,
    literal_column,
    select,
    table,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.functions import Function

from app.ids import parse_uuid
from app.models.catalog import Brand, Category, entity_brands, entity_categories
from app.models.search import SearchDocument
from app.pagination import PageRequest

FACETS = ("type", "category", "brand", "status")
# Words of a query that count; the rest of a very long query is ignored.
MAX_TERMS = 16
WORD = re.compile(r"\w+")


@dataclass(frozen=True, slots=True)
class SearchQuery:
    text: str
    page: PageRequest
    type: str | None = None
    category: str | None = None
    brand: str | None = None
    # None: every status; else only these.
    statuses: tuple[str, ...] | None = None
    facets: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Hit:
    entity_id: uuid.UUID
    type: str
    status: str
    slug: str
    title: str
    score: float


@dataclass(frozen=True, slots=True)
class FacetValue:
    value: str
    label: str
    count: int


@dataclass(slots=True)
class SearchResult:
    hits: list[Hit]
    total: int
    page: PageRequest
    facets: dict[str, list[FacetValue]] = field(default_factory=dict)


class SearchBackend(Protocol):
    async def search(self, session: AsyncSession, query: SearchQuery) -> SearchResult: ...

    async def suggest(
        self,
        session: AsyncSession,
        prefix: str,
        *,
        type: str | None,
        statuses: tuple[str, ...] | None,
        limit: int,
    ) -> list[Hit]: ...


def terms(text: str) -> list[str]:
    """The words of a query, lower-cased: what the SQLite backend quotes for FTS5."""
    return [word.lower() for word in WORD.findall(text)][:MAX_TERMS]


# A websearch-style query: a "quoted phrase", a -excluded word, the word `or`, any word.
TOKEN = re.compile(r'"([^"]*)"?|(-?)([^\s"]+)')


def fts_query(text: str) -> str | None:
    """`text` as FTS5 syntax with PostgreSQL's websearch meaning, built from quoted words
    only (no operator, column filter or quote of the caller's reaches FTS5): words must all
    match (each as a prefix), "phrases" in order, `or` between two, `-word` excluded."""
    parts: list[str] = []
    operands = 0
    want_or = False
    for match in TOKEN.finditer(text):
        phrase, minus, raw = match.groups()
        words = terms(phrase if phrase is not None else raw)
        if not words or operands >= MAX_TERMS:
            continue
        if phrase is None and not minus and raw.lower() == "or":
            want_or = bool(parts)
            continue
        if phrase is not None:
            operand = '"' + " ".join(words) + '"'
        else:
            prefixes = " AND ".join(f'"{word}"*' for word in words)
            operand = f"({prefixes})" if len(words) > 1 else prefixes
        operands += 1
        negated = phrase is None and bool(minus)
        if negated and not parts:  # with nothing to subtract from, an exclusion is dropped
            continue
        # FTS5 wants its operators spelled out next to a parenthesised group.
        if parts:
            parts.append("NOT" if negated else "OR" if want_or else "AND")
        want_or = False
        parts.append(operand)
    return " ".join(parts) or None


def _node(model: Any, link: Any, column: str, value: str) -> Any:
    """`value` (an id or a slug) names a category or brand the document's entity is in."""
    parsed = parse_uuid(value)
    named = model.id == parsed if parsed else model.slug == value
    return exists(
        select(1)
        .select_from(link.join(model, model.id == getattr(link.c, column)))
        .where(link.c.entity_id == SearchDocument.entity_id, named)
    )


class SqlBackend:
    """Filters, facets and paging shared by both databases; subclasses say what matches a
    text (`match`, `fuzzy`) or a prefix (`prefix`) as selects of (document id, score)."""

    def match(self, text: str) -> Select[Any] | None:
        raise NotImplementedError

    def fuzzy(self, text: str) -> Select[Any] | None:
        raise NotImplementedError

    def prefix(self, text: str) -> Select[Any] | None:
        raise NotImplementedError

    async def prepare(self, session: AsyncSession) -> None:
        """Look up what the fuzzy statement needs (PostgreSQL: where pg_trgm lives)."""

    def _filtered(
        self,
        matches: Select[Any] | None,
        *,
        type: str | None,
        statuses: tuple[str, ...] | None,
        category: str | None = None,
        brand: str | None = None,
    ) -> Select[Any]:
        if matches is None:
            query = select(SearchDocument.id.label("doc"), literal(0.0, Float).label("score"))
        else:
            found = matches.subquery()
            query = (
                select(found.c.doc, func.max(found.c.score).label("score"))
                .join(SearchDocument, SearchDocument.id == found.c.doc)
                .group_by(found.c.doc)
            )
        if type is not None:
            query = query.where(SearchDocument.type == type)
        if statuses is not None:
            query = query.where(SearchDocument.status.in_(statuses))
        if category is not None:
            query = query.where(_node(Category, entity_categories, "category_id", category))
        if brand is not None:
            query = query.where(_node(Brand, entity_brands, "brand_id", brand))
        return query

    async def search(self, session: AsyncSession, query: SearchQuery) -> SearchResult:
        text = query.text.strip()
        matches = self.match(text) if text else None
        filters: dict[str, Any] = {
            "type": query.type,
            "statuses": query.statuses,
            "category": query.category,
            "brand": query.brand,
        }
        # No word to find (punctuation, or only exclusions): nothing matches, on both
        # databases alike (PostgreSQL would find everything without the excluded words).
        if text and (matches is None or fts_query(text) is None):
            return SearchResult([], 0, query.page, {name: [] for name in query.facets})
        filtered = self._filtered(matches, **filters)
        total = await self._count(session, filtered)
        if text and total == 0:  # a typo, perhaps: what the fuzzy match finds instead
            await self.prepare(session)
            fuzzy = self.fuzzy(text)
            if fuzzy is not None:
                filtered = self._filtered(fuzzy, **filters)
                total = await self._count(session, filtered)
        ranked = filtered.subquery()
        rows = await session.execute(
            _hits(ranked)
            .order_by(ranked.c.score.desc(), SearchDocument.title, SearchDocument.id)
            .limit(query.page.limit)
            .offset(query.page.offset)
        )
        hits = [Hit(row[0], row[1], row[2], row[3], row[4], float(row[5])) for row in rows]
        facets = {name: await self._facet(session, filtered, name) for name in query.facets}
        return SearchResult(hits, total, query.page, facets)

    async def _count(self, session: AsyncSession, filtered: Select[Any]) -> int:
        return int(await session.scalar(select(func.count()).select_from(filtered.subquery())) or 0)

    async def _facet(
        self, session: AsyncSession, filtered: Select[Any], name: str
    ) -> list[FacetValue]:
        """Counts per value over the whole result, most first."""
        docs = select(filtered.subquery().c.doc)
        count = func.count().label("count")
        if name in ("type", "status"):
            column = getattr(SearchDocument, name)
            query = (
                select(column, column, count).where(SearchDocument.id.in_(docs)).group_by(column)
            )
        else:
            model, link, key = (
                (Category, entity_categories, "category_id")
                if name == "category"
                else (Brand, entity_brands, "brand_id")
            )
            query = (
                select(model.slug, model.name, count)
                .select_from(link)
                .join(model, model.id == getattr(link.c, key))
                .join(SearchDocument, SearchDocument.entity_id == link.c.entity_id)
                .where(SearchDocument.id.in_(docs))
                .group_by(model.id, model.slug, model.name)
            )
        rows = await session.execute(query.order_by(count.desc(), literal_column("1")))
        return [FacetValue(str(value), str(label), int(n)) for value, label, n in rows]

    async def suggest(
        self,
        session: AsyncSession,
        prefix: str,
        *,
        type: str | None,
        statuses: tuple[str, ...] | None,
        limit: int,
    ) -> list[Hit]:
        matches = self.prefix(prefix.strip())
        if matches is None:
            return []
        ranked = self._filtered(matches, type=type, statuses=statuses).subquery()
        rows = await session.execute(
            _hits(ranked)
            .order_by(
                ranked.c.score.desc(), func.length(SearchDocument.title), SearchDocument.title
            )
            .limit(limit)
        )
        return [Hit(row[0], row[1], row[2], row[3], row[4], float(row[5])) for row in rows]


class PostgresSearch(SqlBackend):
    """websearch_to_tsquery over the weighted tsvector, ranked by ts_rank (normalised to
    0..1); typos by pg_trgm word similarity on titles (its GIN index serves `<%`)."""

    def __init__(self) -> None:
        self.trigram_schema = "public"

    async def prepare(self, session: AsyncSession) -> None:
        found = await session.scalar(
            select(literal_column("extnamespace::regnamespace::text"))
            .select_from(table("pg_extension"))
            .where(literal_column("extname") == "pg_trgm")
        )
        self.trigram_schema = str(found or "public")

    def _trigram(self, name: str, *args: Any) -> Any:
        return Function(name, *args, packagenames=(self.trigram_schema,), type_=Float)

    def match(self, text: str) -> Select[Any] | None:
        if not terms(text):
            return None
        query = func.websearch_to_tsquery("english", text)
        return select(
            SearchDocument.id.label("doc"),
            func.ts_rank(SearchDocument.document, query, 32).label("score"),
        ).where(SearchDocument.document.op("@@")(query))

    def fuzzy(self, text: str) -> Select[Any] | None:
        words = " ".join(terms(text))
        if not words:
            return None
        schema = self.trigram_schema.replace('"', "")
        near = literal(words).op(f'OPERATOR("{schema}".<%)', is_comparison=True)(
            SearchDocument.title
        )
        score = self._trigram("word_similarity", literal(words), SearchDocument.title)
        return select(SearchDocument.id.label("doc"), score.label("score")).where(near)

    def prefix(self, text: str) -> Select[Any] | None:
        if not text:
            return None
        escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        starts = case((SearchDocument.title.ilike(f"{escaped}%", escape="\\"), 1.0), else_=0.5)
        return select(SearchDocument.id.label("doc"), starts.label("score")).where(
            SearchDocument.title.ilike(f"%{escaped}%", escape="\\")
        )


FTS = table("search_fts", literal_column("rowid"))
# bm25 weights in FTS5 column order: titles, skus, brands, categories, description.
BM25 = (10.0, 10.0, 4.0, 4.0, 2.0)


class SqliteSearch(SqlBackend):
    """FTS5 with bm25 column weights; every word is a prefix ("shoe" finds "shoes"). Typo
    tolerance is weaker than PostgreSQL's: when nothing matches, titles holding any word's
    first three letters are found, so a typo within those is not forgiven."""

    def _fts(self, expression: str) -> Select[Any]:
        bm25: Any = func.bm25(literal_column("search_fts"), *BM25)
        score = -bm25 / (1.0 - bm25)  # bm25 is negative, better lower: to 0..1, higher better
        return (
            select(SearchDocument.id.label("doc"), score.label("score"))
            .select_from(FTS)
            .join(SearchDocument, SearchDocument.id == literal_column("search_fts.rowid"))
            .where(literal_column("search_fts").op("MATCH")(literal(expression)))
            # bm25 works only in the statement that does the MATCH; LIMIT -1 (no limit)
            # keeps SQLite from flattening this into the grouping query around it.
            .limit(-1)
        )

    def match(self, text: str) -> Select[Any] | None:
        expression = fts_query(text)
        return self._fts(expression) if expression else None

    def fuzzy(self, text: str) -> Select[Any] | None:
        stems = {word[:3] for word in terms(text) if len(word) >= 3}
        if not stems:
            return None
        return self._fts(" OR ".join(f'titles : "{stem}"*' for stem in sorted(stems)))

    def prefix(self, text: str) -> Select[Any] | None:
        words = terms(text)
        if not words:
            return None
        return self._fts(" AND ".join(f'titles : "{word}"*' for word in words))


def backend_for(session: AsyncSession) -> SearchBackend:
    """The backend of the session's database."""
    if session.get_bind().dialect.name == "postgresql":
        return PostgresSearch()
    return SqliteSearch()


def _hits(ranked: Subquery) -> Select[Any]:
    """The documents of a ranked match (`doc`, `score`) as hits, unordered."""
    return select(
        SearchDocument.entity_id,
        SearchDocument.type,
        SearchDocument.status,
        SearchDocument.slug,
        SearchDocument.title,
        ranked.c.score,
    ).join(ranked, ranked.c.doc == SearchDocument.id)
