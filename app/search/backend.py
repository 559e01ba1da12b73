"""Search backends: one interface, a PostgreSQL and an SQLite implementation (DESIGN §6).

Both rank the documents of `app.models.search` inside the catalog's own database, so a
change is searchable the moment its transaction commits. Beyond one PostgreSQL, an
OpenSearch backend would implement the same `SearchBackend` (fed by the outbox's
`catalog.*` events instead of `reindex`), and the service would not change.
"""

from __future__ import annotations

import dataclasses
import re
import uuid
import weakref
from dataclasses import dataclass, field
from typing import Any, Protocol

from sqlalchemy import (
    Float,
    Integer,
    Select,
    String,
    Uuid,
    bindparam,
    exists,
    func,
    literal,
    literal_column,
    select,
    table,
    text,
    union_all,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.functions import Function

from app.ids import parse_uuid
from app.models.catalog import Brand, Category, entity_brands, entity_categories
from app.models.search import SearchDocument
from app.pagination import PageRequest
from app.text import like_escaped

FACETS = ("type", "category", "brand", "status")
# The most matches a search ranks, counts and pages through (see `SqlBackend`): ten pages of
# 20. Each candidate costs the database about 5 us (its row, the sort, the facet joins):
# 500 put search's p95 over its 30 ms goal at 100,000 entities (bench/RESULTS.md).
MAX_RESULTS = 200
# The most a typo's fuzzy matches are (see `SqlBackend.search`): each costs a similarity
# check of its title, the slowest step of a search that finds nothing exactly.
FUZZY_RESULTS = 50
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
    # The most matches ranked, counted and paged through (see `SqlBackend`).
    max_results: int = MAX_RESULTS


@dataclass(frozen=True, slots=True)
class Hit:
    """One matching entity. GraphQL's SearchHit and SearchSuggestion answer from it as it is
    (`id`, the stored `type` and `status` words, `score` rounded to 6 places)."""

    entity_id: uuid.UUID
    type: str
    status: str
    slug: str
    title: str
    score: float

    @property
    def id(self) -> uuid.UUID:
        return self.entity_id


@dataclass(frozen=True, slots=True)
class FacetValue:
    value: str
    label: str
    count: int


@dataclass(slots=True)
class SearchResult:
    hits: list[Hit]
    # How many entities matched, at most the query's `max_results`; `total_exact` False
    # when more did.
    total: int
    page: PageRequest
    facets: dict[str, list[FacetValue]] = field(default_factory=dict)
    total_exact: bool = True


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


def _reference(value: str | None) -> str | None:
    """How a category or brand filter names its node: by `id` or `slug` (None: no filter)."""
    if value is None:
        return None
    return "id" if parse_uuid(value) else "slug"


def _node(model: Any, link: Any, column: str, name: str, by: str) -> Any:
    """The document's entity is in the category or brand whose id or slug (`by`) is the
    bound `name`."""
    named = (
        model.id == bindparam(name, type_=Uuid)
        if by == "id"
        else model.slug == bindparam(name, type_=String)
    )
    return exists(
        select(1)
        .select_from(link.join(model, model.id == getattr(link.c, column)))
        .where(link.c.entity_id == SearchDocument.entity_id, named)
    )


@dataclass(frozen=True, slots=True)
class Shape:
    """What a search statement is built from; the values it binds vary within a shape."""

    kind: str  # "all" (no text), "match", "fuzzy" (or, not cached, "prefix")
    type: bool
    statuses: bool
    category: str | None  # "id", "slug" or None
    brand: str | None
    facets: tuple[str, ...]


# Search statements by backend and shape; a few dozen in practice, cleared past the bound.
STATEMENTS: dict[tuple[Any, ...], Any] = {}
MAX_STATEMENTS = 512


class SqlBackend:
    """Filters, facets and paging shared by both databases; subclasses say what matches a
    text (`match`, `fuzzy`) or a prefix (`prefix`) as selects of (document id, score) over
    `search_documents`, one row per document.

    A search ranks at most `max_results` (MAX_RESULTS) + 1 candidates: the matches the
    index yields first (the whole result when it is smaller; PostgreSQL's GIN index yields
    them in table order, not by rank), filtered in the same statement that ranks them,
    pages them, counts them and counts each requested facet over them. So `total` and the
    facets are exact up to `max_results` matches; beyond that, `total` is `max_results` and
    `total_exact` False, the facets count the first ones, and pages end there (as a search
    engine's result window does). Ranking every match of a common word cost seconds at
    100,000 entities (bench/RESULTS.md). A typo's fuzzy matches, sought only when nothing
    matched exactly, are capped at FUZZY_RESULTS the same way.
    """

    def match(self) -> Select[Any]:
        """What matches the query `:q` (the value `match_value` gives)."""
        raise NotImplementedError

    def match_value(self, text: str) -> str | None:
        """`:q` for `match`; None when the text holds nothing to match."""
        raise NotImplementedError

    def fuzzy(self) -> Select[Any]:
        """What a misspelt `:q` (the value `fuzzy_value` gives) nearly matches."""
        raise NotImplementedError

    def fuzzy_value(self, text: str) -> str | None:
        raise NotImplementedError

    def prefix(self, text: str) -> Select[Any] | None:
        raise NotImplementedError

    def shape(self) -> tuple[str, ...]:
        """What, besides the query's shape, the backend's statements are built from."""
        return (type(self).__name__,)

    async def prepare(self, session: AsyncSession) -> None:
        """Look up what the fuzzy statement needs (PostgreSQL: where pg_trgm lives)."""

    def _candidates(self, matches: Select[Any] | None, shape: Shape) -> Select[Any]:
        """The matches the filters let through, with the columns a hit shows, unlimited.
        Without a text, every document, in title order (`ix_search_documents_title`)."""
        if matches is None:
            matches = select(
                SearchDocument.id.label("doc"), literal(0.0, Float).label("score")
            ).order_by(SearchDocument.title, SearchDocument.id)
        query = matches.add_columns(
            SearchDocument.entity_id,
            SearchDocument.type,
            SearchDocument.status,
            SearchDocument.slug,
            SearchDocument.title,
        )
        if shape.type:
            query = query.where(SearchDocument.type == bindparam("type", type_=String))
        if shape.statuses:
            # Written into the SQL, not bound: a prepared statement's generic plan then knows
            # that `active` is most documents (PostgreSQL would otherwise AND in a bitmap of
            # the status index, which costs more than checking each candidate).
            statuses = bindparam("statuses", expanding=True, literal_execute=True, type_=String)
            query = query.where(SearchDocument.status.in_(statuses))
        if shape.category:
            query = query.where(
                _node(Category, entity_categories, "category_id", "category", shape.category)
            )
        if shape.brand:
            query = query.where(_node(Brand, entity_brands, "brand_id", "brand", shape.brand))
        return query

    async def search(self, session: AsyncSession, query: SearchQuery) -> SearchResult:
        text = query.text.strip()
        params = _window(query)
        if query.type is not None:
            params["type"] = query.type
        if query.statuses is not None:
            params["statuses"] = list(query.statuses)
        for name, value in (("category", query.category), ("brand", query.brand)):
            if value is not None:
                params[name] = parse_uuid(value) or value
        shape = Shape(
            kind="match" if text else "all",
            type=query.type is not None,
            statuses=query.statuses is not None,
            category=_reference(query.category),
            brand=_reference(query.brand),
            facets=query.facets,
        )
        if text:
            value = self.match_value(text)
            # No word to find (punctuation, or only exclusions): nothing matches, on both
            # databases alike (PostgreSQL would find everything without the excluded words).
            if value is None or fts_query(text) is None:
                return SearchResult([], 0, query.page, {name: [] for name in query.facets})
            params["q"] = value
        result = await self._ranked(session, shape, params, query)
        if text and result.total == 0:  # a typo, perhaps: what the fuzzy match finds instead
            await self.prepare(session)
            value = self.fuzzy_value(text)
            if value is not None:
                # Fewer of them: the first FUZZY_RESULTS near matches the index yields.
                nearly = dataclasses.replace(
                    query, max_results=min(query.max_results, FUZZY_RESULTS)
                )
                params.update(_window(nearly), q=value)
                fuzzy = dataclasses.replace(shape, kind="fuzzy")
                result = await self._ranked(session, fuzzy, params, nearly)
        return result

    async def _ranked(
        self, session: AsyncSession, shape: Shape, params: dict[str, Any], query: SearchQuery
    ) -> SearchResult:
        key = (*self.shape(), shape)
        statement = STATEMENTS.get(key)
        if statement is None:
            if len(STATEMENTS) >= MAX_STATEMENTS:
                STATEMENTS.clear()
            statement = STATEMENTS[key] = self._statement(shape)
        rows = (await session.execute(statement, params)).all()
        total = 0
        found_hits: list[Hit] = []
        facets: dict[str, list[FacetValue]] = {name: [] for name in query.facets}
        positions: list[int] = []
        for kind, entity_id, first, second, slug, title, score, count in rows:
            if kind == "hit":
                found_hits.append(Hit(entity_id, first, second, slug, title, _score(score)))
                positions.append(count)
            elif kind == "total":
                total = int(count)
            else:
                facets[kind].append(FacetValue(str(first), str(second), int(count)))
        # A UNION keeps no order: the hits carry their rank (in the count column).
        found_hits = [
            hit for _, hit in sorted(zip(positions, found_hits, strict=True), key=lambda p: p[0])
        ]
        for values in facets.values():
            values.sort(key=lambda value: (-value.count, value.value))
        return SearchResult(
            found_hits,
            min(total, query.max_results),
            query.page,
            facets,
            total_exact=total <= query.max_results,
        )

    def _statement(self, shape: Shape) -> Any:
        """One statement: the first `max_results` + 1 candidates (`found`), the page of them
        best first, how many they are, and each requested facet's counts over them; rows
        told apart by their first column (`hit`, `total`, or the facet's name). Built once
        per shape (`STATEMENTS`) with every value bound: SQLAlchemy then reuses its
        compiled form, and building the statement anew cost more than running it."""
        matches = {"all": None, "match": self.match, "fuzzy": self.fuzzy}[shape.kind]
        candidates = self._candidates(matches() if matches else None, shape)
        cap = bindparam("cap", literal_execute=True, type_=Integer)
        found = candidates.limit(cap).cte("found")
        order = (found.c.score.desc(), found.c.title, found.c.doc)
        ranked = (
            select(found, func.row_number().over(order_by=order).label("position"))
            .order_by(*order)
            .limit(bindparam("page_limit", type_=Integer))
            .offset(bindparam("page_offset", type_=Integer))
            .subquery("ranked")
        )
        nothing = literal(None, String)
        hits = select(
            literal("hit", String).label("kind"),
            ranked.c.entity_id,
            ranked.c.type,
            ranked.c.status,
            ranked.c.slug,
            ranked.c.title,
            ranked.c.score,
            ranked.c.position,
        )
        empty: tuple[Any, ...] = (literal(None, Uuid),)
        parts: list[Any] = [
            hits,
            select(literal("total", String), *empty, nothing, nothing, nothing, nothing)
            .add_columns(literal(None, Float), func.count())
            .select_from(found),
        ]
        # The facets count the candidates up to the cap (`found` holds one more, to tell).
        counted = (
            select(found.c.entity_id, found.c.type, found.c.status)
            .limit(bindparam("max_results", literal_execute=True, type_=Integer))
            .cte("counted")
        )
        for name in shape.facets:
            value: Any
            label: Any
            source: Any
            if name in ("type", "status"):
                value, label, source = counted.c[name], counted.c[name], counted
                grouped: tuple[Any, ...] = (counted.c[name],)
            else:
                model, link, key = (
                    (Category, entity_categories, "category_id")
                    if name == "category"
                    else (Brand, entity_brands, "brand_id")
                )
                value, label, grouped = model.slug, model.name, (model.id, model.slug, model.name)
                source = counted.join(link, link.c.entity_id == counted.c.entity_id).join(
                    model, model.id == getattr(link.c, key)
                )
            parts.append(
                select(literal(name, String), *empty, value, label, nothing, nothing)
                .add_columns(literal(None, Float), func.count())
                .select_from(source)
                .group_by(*grouped)
            )
        return union_all(*parts)

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
        shape = Shape("prefix", type is not None, statuses is not None, None, None, ())
        params: dict[str, Any] = {"type": type, "statuses": list(statuses or ())}
        found = self._candidates(matches, shape).subquery()
        rows = await session.execute(
            select(
                found.c.entity_id,
                found.c.type,
                found.c.status,
                found.c.slug,
                found.c.title,
                found.c.score,
            )
            .order_by(found.c.score.desc(), func.length(found.c.title), found.c.title)
            .limit(limit),
            {name: value for name, value in params.items() if getattr(shape, name)},
        )
        return [_hit(row) for row in rows]


# The schema pg_trgm was created in, by engine: an extension stays where it was made.
TRIGRAM_SCHEMAS: weakref.WeakKeyDictionary[Any, str] = weakref.WeakKeyDictionary()


class PostgresSearch(SqlBackend):
    """websearch_to_tsquery over the weighted tsvector, ranked by ts_rank (normalised to
    0..1); typos by pg_trgm word similarity on titles (its GIN index serves `<%`)."""

    def __init__(self) -> None:
        self.trigram_schema = "public"

    async def prepare(self, session: AsyncSession) -> None:
        """Where pg_trgm lives, looked up once per engine (`TRIGRAM_SCHEMAS`)."""
        engine = session.get_bind()
        known = TRIGRAM_SCHEMAS.get(engine)
        if known is None:
            found = await session.scalar(
                select(literal_column("extnamespace::regnamespace::text"))
                .select_from(table("pg_extension"))
                .where(literal_column("extname") == "pg_trgm")
            )
            known = TRIGRAM_SCHEMAS[engine] = str(found or "public")
        self.trigram_schema = known

    def _trigram(self, name: str, *args: Any) -> Any:
        return Function(name, *args, packagenames=(self.trigram_schema,), type_=Float)

    def shape(self) -> tuple[str, ...]:
        return (type(self).__name__, self.trigram_schema)

    def match(self) -> Select[Any]:
        query = func.websearch_to_tsquery("english", bindparam("q", type_=String))
        return select(
            SearchDocument.id.label("doc"),
            func.ts_rank(SearchDocument.document, query, 32).label("score"),
        ).where(SearchDocument.document.op("@@")(query))

    def match_value(self, text: str) -> str | None:
        return text if terms(text) else None

    def fuzzy(self) -> Select[Any]:
        words = bindparam("q", type_=String)
        schema = self.trigram_schema.replace('"', "")
        near = words.op(f'OPERATOR("{schema}".<%)', is_comparison=True)(SearchDocument.title)
        score = self._trigram("word_similarity", words, SearchDocument.title)
        return select(SearchDocument.id.label("doc"), score.label("score")).where(near)

    def fuzzy_value(self, text: str) -> str | None:
        return " ".join(terms(text)) or None

    async def suggest(
        self,
        session: AsyncSession,
        prefix: str,
        *,
        type: str | None,
        statuses: tuple[str, ...] | None,
        limit: int,
    ) -> list[Hit]:
        """Titles with a word starting with the prefix's last word (and, for each earlier
        word, a word starting with it), walking `search_title_words`: the first
        SUGGEST_WORDS words the last one completes, then each word's best titles."""
        words = terms(prefix)
        if not words:
            return []
        params: dict[str, Any] = {"word": _like(words[-1]), "limit": limit}
        conditions = []
        if type is not None:
            conditions.append("t.type = :type")
            params["type"] = type
        if statuses is not None:
            conditions.append("t.status IN :statuses")
            params["statuses"] = statuses
        for index, word in enumerate(words[:-1]):
            conditions.append(
                "EXISTS (SELECT 1 FROM search_title_words o WHERE o.document_id = "
                f"t.document_id AND o.word LIKE :word{index} ESCAPE '\\')"
            )
            params[f"word{index}"] = _like(word)
        statement = text(
            SUGGEST_SQL.format(where="".join(f" AND {c}" for c in conditions))
        ).bindparams(
            *([bindparam("statuses", expanding=True)] if statuses is not None else []),
            words=SUGGEST_WORDS,
        )
        rows = await session.execute(statement, params)
        return [
            Hit(entity_id, type, status, slug, title, 0.5 if later else 1.0)
            for entity_id, type, status, slug, title, later in rows
        ]


def _like(word: str) -> str:
    """A LIKE pattern for the words starting with `word` (a `terms` word: `_` the only
    wildcard it can hold)."""
    return like_escaped(word) + "%"


# How many of the words a prefix completes suggestions come from (alphabetically first).
SUGGEST_WORDS = 20
# The words `:word` completes, one index probe each (a loose index scan), then for each its
# first :limit titles in suggestion order straight from the index; the best :limit of
# those, one per document.
SUGGEST_SQL = """
WITH RECURSIVE completions(word) AS (
    (SELECT word FROM search_title_words WHERE word LIKE :word ESCAPE '\\'
     ORDER BY word LIMIT 1)
    UNION ALL
    SELECT (SELECT w.word FROM search_title_words w
            WHERE w.word > c.word AND w.word LIKE :word ESCAPE '\\' ORDER BY w.word LIMIT 1)
    FROM completions c WHERE c.word IS NOT NULL
),
best AS (
    SELECT t.document_id, bool_and(t.later) AS later, min(t.title_length) AS title_length,
        min(t.title) AS title
    FROM (SELECT word FROM completions WHERE word IS NOT NULL LIMIT :words) c
    CROSS JOIN LATERAL (
        SELECT t.document_id, t.later, t.title_length, t.title FROM search_title_words t
        WHERE t.word = c.word{where}
        ORDER BY t.later, t.title_length, t.title, t.document_id LIMIT :limit
    ) t
    GROUP BY t.document_id
    ORDER BY later, title_length, title, document_id
    LIMIT :limit
)
SELECT d.entity_id, d.type, d.status, d.slug, d.title, best.later
FROM best JOIN search_documents d ON d.id = best.document_id
ORDER BY best.later, best.title_length, best.title, best.document_id
"""


FTS = table("search_fts", literal_column("rowid"))
# bm25 weights in FTS5 column order: titles, skus, brands, categories, description.
BM25 = (10.0, 10.0, 4.0, 4.0, 2.0)


class SqliteSearch(SqlBackend):
    """FTS5 with bm25 column weights; every word is a prefix ("shoe" finds "shoes"). Typo
    tolerance is weaker than PostgreSQL's: when nothing matches, titles holding any word's
    first three letters are found, so a typo within those is not forgiven."""

    def _fts(self, expression: Any) -> Select[Any]:
        bm25: Any = func.bm25(literal_column("search_fts"), *BM25)
        score = -bm25 / (1.0 - bm25)  # bm25 is negative, better lower: to 0..1, higher better
        return (
            select(SearchDocument.id.label("doc"), score.label("score"))
            .select_from(FTS)
            .join(SearchDocument, SearchDocument.id == literal_column("search_fts.rowid"))
            .where(literal_column("search_fts").op("MATCH")(expression))
            # bm25 works only in the statement that does the MATCH; LIMIT -1 (no limit)
            # keeps SQLite from flattening this into a query around it.
            .limit(-1)
        )

    def match(self) -> Select[Any]:
        return self._fts(bindparam("q", type_=String))

    def match_value(self, text: str) -> str | None:
        return fts_query(text)

    def fuzzy(self) -> Select[Any]:
        return self._fts(bindparam("q", type_=String))

    def fuzzy_value(self, text: str) -> str | None:
        stems = {word[:3] for word in terms(text) if len(word) >= 3}
        return " OR ".join(f'titles : "{stem}"*' for stem in sorted(stems)) or None

    def prefix(self, text: str) -> Select[Any] | None:
        words = terms(text)
        if not words:
            return None
        return self._fts(literal(" AND ".join(f'titles : "{word}"*' for word in words)))


def _window(query: SearchQuery) -> dict[str, Any]:
    """The bound values of the page and the cap of `query`'s results."""
    return {
        "page_limit": max(0, min(query.page.limit, query.max_results - query.page.offset)),
        # Past the cap a page is empty (its limit 0) whatever its offset: clamped, an offset
        # of billions stays within the database's integer.
        "page_offset": min(query.page.offset, query.max_results),
        "cap": query.max_results + 1,
        "max_results": query.max_results,
    }


def backend_for(session: AsyncSession) -> SearchBackend:
    """The backend of the session's database."""
    if session.get_bind().dialect.name == "postgresql":
        return PostgresSearch()
    return SqliteSearch()


def _hit(row: Any) -> Hit:
    """A hit of a row (entity_id, type, status, slug, title, score, ...)."""
    return Hit(row[0], row[1], row[2], row[3], row[4], _score(row[5]))


def _score(value: Any) -> float:
    """A rank as answered: a float of 6 decimal places (beyond them it is noise)."""
    return round(float(value), 6)
