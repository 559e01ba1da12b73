"""One pagination helper for every list: page/limit (or offset) and keyset cursors.

A list is ordered by a fixed key whose last column is unique (the UUIDv7 id), so a keyset
cursor, the key of the last row seen, finds the next page with an index seek however deep,
and rows inserted between reads cause neither gaps nor repeats.
"""

from __future__ import annotations

import base64
import binascii
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, TypeVar

import orjson
from sqlalchemy import ColumnElement, Select, and_, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.types import TypeDecorator

from app.errors import ValidationFailed

T = TypeVar("T")

DEFAULT_LIMIT = 20
MAX_LIMIT = 100


@dataclass(frozen=True, slots=True)
class PageRequest:
    limit: int = DEFAULT_LIMIT
    offset: int = 0
    after: str | None = None

    @property
    def page(self) -> int:
        return self.offset // self.limit + 1

    @classmethod
    def build(
        cls,
        *,
        page: int | None = None,
        limit: int | None = None,
        offset: int | None = None,
        first: int | None = None,
        after: str | None = None,
        default_limit: int = DEFAULT_LIMIT,
    ) -> PageRequest:
        """Validate the caller's paging arguments; `limit` is capped at MAX_LIMIT."""
        if first is not None and limit is not None and first != limit:
            raise ValidationFailed.field("first", "Give either first or limit, not both.")
        size = first if first is not None else limit
        if size is None:
            size = default_limit
        if size < 1:
            raise ValidationFailed.field("limit", "Must be at least 1.")
        size = min(size, MAX_LIMIT)
        if after is not None and (page is not None or offset is not None):
            raise ValidationFailed.field(
                "after", "A cursor cannot be combined with page or offset."
            )
        if page is not None and offset is not None:
            raise ValidationFailed.field("offset", "Give either page or offset, not both.")
        if page is not None and page < 1:
            raise ValidationFailed.field("page", "Must be at least 1.")
        if offset is not None and offset < 0:
            raise ValidationFailed.field("offset", "Must not be negative.")
        start = offset if offset is not None else ((page or 1) - 1) * size
        return cls(limit=size, offset=start, after=after)


@dataclass(slots=True)
class Page(Generic[T]):
    items: list[T]
    total: int
    request: PageRequest
    has_next: bool
    start_cursor: str | None
    end_cursor: str | None
    # Each item's cursor, computed only when asked for (GraphQL `edges`).
    cursor_of: Callable[[Any], str] | None = None

    def cursors(self) -> list[str]:
        """The cursor that resumes after each item, in order."""
        if self.cursor_of is None:
            return []
        return [self.cursor_of(item) for item in self.items]

    @property
    def total_pages(self) -> int:
        return (self.total + self.request.limit - 1) // self.request.limit

    @property
    def has_previous(self) -> bool:
        return self.request.after is not None or self.request.offset > 0


@dataclass(frozen=True, slots=True)
class SortKey:
    column: Any
    descending: bool = False


def encode_cursor(values: Sequence[Any]) -> str:
    encoded = [_encode_value(v) for v in values]
    return base64.urlsafe_b64encode(orjson.dumps(encoded)).decode().rstrip("=")


def decode_cursor(cursor: str, keys: Sequence[SortKey]) -> list[Any]:
    """The key values a cursor of this list holds. Anything else (not base64 or JSON, another
    width, a value of another type than its column's) is refused as input, never sent on to
    the database to fail there."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        values = orjson.loads(raw)
        if not isinstance(values, list) or len(values) != len(keys):
            raise ValueError
        return [_decode_value(value, key) for value, key in zip(values, keys, strict=True)]
    except (ValueError, binascii.Error, TypeError, KeyError, AttributeError):
        raise ValidationFailed.field("after", "Not a cursor this list issued.") from None


def _encode_value(value: Any) -> Any:
    if isinstance(value, uuid.UUID):
        return {"u": str(value)}
    if isinstance(value, datetime):
        return {"d": value.isoformat()}
    return value


def _decode_value(value: Any, key: SortKey) -> Any:
    """A cursor's value for `key`, of the column's Python type (ValueError otherwise)."""
    if isinstance(value, dict):
        if set(value) == {"u"} and isinstance(value["u"], str):
            value = uuid.UUID(value["u"])
        elif set(value) == {"d"} and isinstance(value["d"], str):
            value = datetime.fromisoformat(value["d"])
            if value.tzinfo is None:
                raise ValueError
        else:
            raise ValueError
    expected = _python_type(key)
    # bool is an int to Python, not to a cursor; JSON has no int/float distinction to keep.
    if type(value) is bool or not isinstance(value, expected):
        raise ValueError
    if isinstance(value, str) and "\x00" in value:  # PostgreSQL text holds no NUL
        raise ValueError
    return value


def _python_type(key: SortKey) -> type | tuple[type, ...]:
    column_type = key.column.type
    if isinstance(column_type, TypeDecorator):
        column_type = column_type.impl_instance
    python_type = column_type.python_type
    return (int, float) if python_type is float else python_type


def _after(keys: Sequence[SortKey], values: Sequence[Any]) -> ColumnElement[bool]:
    """Rows strictly after `values` in the order given by `keys`."""
    clauses = []
    for i, key in enumerate(keys):
        equal = [keys[j].column == values[j] for j in range(i)]
        beyond = key.column < values[i] if key.descending else key.column > values[i]
        clauses.append(and_(*equal, beyond))
    return or_(*clauses)


# The label of the count a page's statement carries (`paginate(..., count_in_page=True)`).
PAGE_TOTAL = "page_total_"


async def paginate(
    session: AsyncSession,
    statement: Select[Any],
    *,
    keys: Sequence[SortKey],
    request: PageRequest,
    with_total: bool = True,
    count_in_page: bool = False,
    count: Select[Any] | None = None,
) -> Page[Any]:
    """Run `statement` (filtered, unordered, selecting one entity) for one page.

    Costs two statements: the page (one row over the limit tells whether there is a next
    page) and the count; `with_total=False` skips the count. Sort keys are read from the rows
    by the columns' keys, so a select of ORM attributes gives rows that page alike.

    `count_in_page` sends the count inside the page's statement, as an uncorrelated scalar
    subquery (PostgreSQL and SQLite evaluate it once, and the page keeps its ordered index
    scan, unlike a `count(*) OVER ()` that must see every row): one round trip instead of
    two. Plain rows then carry the count as one more column, `PAGE_TOTAL`. An empty page
    carries nothing, so past the first page it costs the separate count after all.

    `count` is the statement that counts the rows (one row, one column), when something
    cheaper than counting them answers (a maintained counter); it is sent as the count
    would be, inside the page's statement or alone.
    """
    total = 0
    # Built only when the page is counted: a listing that shows no total builds nothing.
    if not with_total:
        count = None
    elif count is None:
        count = select(func.count()).select_from(statement.order_by(None).subquery())
    # The count the page's own statement carries, if it does.
    inline = count if count_in_page else None
    if count is not None and inline is None:
        total = (await session.execute(count)).scalar_one()
    ordered = statement.order_by(
        *(k.column.desc() if k.descending else k.column.asc() for k in keys)
    )
    if request.after is not None:
        ordered = ordered.where(_after(keys, decode_cursor(request.after, keys)))
    else:
        ordered = ordered.offset(request.offset)
    entity = len(statement.column_descriptions) == 1
    if inline is not None:
        ordered = ordered.add_columns(inline.scalar_subquery().label(PAGE_TOTAL))
    result = await session.execute(ordered.limit(request.limit + 1))
    # One ORM entity per row (`select(Model)`), or plain rows (`select(*columns)`).
    if inline is None:
        rows = list(result.scalars() if entity else result.all())
    else:
        rows = list(result.all())
        if rows:
            total = rows[0][-1]
        elif request.after is not None or request.offset > 0:
            total = (await session.execute(inline)).scalar_one()
        if entity:
            rows = [row[0] for row in rows]
    has_next = len(rows) > request.limit
    rows = rows[: request.limit]

    def cursor(row: Any) -> str:
        return encode_cursor([getattr(row, k.column.key) for k in keys])

    return Page(
        items=rows,
        total=total,
        request=request,
        has_next=has_next,
        start_cursor=cursor(rows[0]) if rows else None,
        end_cursor=cursor(rows[-1]) if rows else None,
        cursor_of=cursor,
    )
