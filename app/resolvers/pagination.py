"""The list shape every GraphQL list shares: items, pageInfo and totalCount."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Generic, TypeVar

import strawberry

from app.pagination import Page

T = TypeVar("T")


@strawberry.type
class PageInfo:
    has_next_page: bool
    has_previous_page: bool
    start_cursor: str | None
    end_cursor: str | None
    page: int | None = strawberry.field(description="The page number; null when paging by cursor.")
    limit: int
    total_pages: int

    @classmethod
    def of(cls, page: Page[Any]) -> PageInfo:
        request = page.request
        return cls(
            has_next_page=page.has_next,
            has_previous_page=page.has_previous,
            start_cursor=page.start_cursor,
            end_cursor=page.end_cursor,
            page=request.page if request.after is None else None,
            limit=request.limit,
            total_pages=page.total_pages,
        )


@strawberry.type
class Connection(Generic[T]):
    items: list[T]
    page_info: PageInfo
    total_count: int


def to_connection(page: Page[Any], convert: Callable[[Any], T]) -> Connection[T]:
    return Connection(
        items=[convert(item) for item in page.items],
        page_info=PageInfo.of(page),
        total_count=page.total,
    )
