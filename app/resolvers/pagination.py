"""The list shape every GraphQL list shares: items (also as `nodes`), `edges { cursor node }`
per the Cursor Connections spec (what Relay and Apollo pagination helpers read), pageInfo and
totalCount."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Generic, TypeVar

import strawberry

from app.pagination import Page

T = TypeVar("T")


@strawberry.type(description="Where a page stands in its list.")
class PageInfo:
    has_next_page: bool = strawberry.field(description="Whether items follow this page.")
    has_previous_page: bool = strawberry.field(description="Whether items precede this page.")
    start_cursor: str | None = strawberry.field(
        description="The cursor of the page's first item; null when the page is empty."
    )
    end_cursor: str | None = strawberry.field(
        description=(
            "The cursor of the page's last item (pass as `after` for the next"
            " page); null when the page is empty."
        )
    )
    page: int | None = strawberry.field(description="The page number; null when paging by cursor.")
    limit: int = strawberry.field(
        description=(
            "The page size used: the requested `limit` or `first`, capped, or the list's default."
        )
    )
    total_pages: int = strawberry.field(
        description="How many pages of `limit` items the whole list has."
    )

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


@strawberry.type(description="An item of a list with the cursor that resumes after it.")
class Edge(Generic[T]):
    cursor: str = strawberry.field(description="Pass as `after` to get what follows this item.")
    node: T = strawberry.field(description="The item.")


@strawberry.type(description="A page of a list.")
class Connection(Generic[T]):
    items: list[T] = strawberry.field(description="The page's items.")
    page_info: PageInfo = strawberry.field(description="Where the page stands in the list.")
    total_count: int = strawberry.field(description="How many items the whole list has.")
    page: strawberry.Private[Page[Any] | None] = None

    @strawberry.field(description="The page's items (the same as `items`).")
    def nodes(self) -> list[T]:
        return self.items

    @strawberry.field(description="The page's items, each with its cursor.")
    def edges(self) -> list[Edge[T]]:
        cursors = self.page.cursors() if self.page is not None else []
        return [Edge(cursor=c, node=n) for c, n in zip(cursors, self.items, strict=True)]

    @classmethod
    def of(cls, page: Page[Any], items: list[T]) -> Connection[T]:
        """`items` built from the page's rows, in the same order."""
        return cls(items=items, page_info=PageInfo.of(page), total_count=page.total, page=page)


def to_connection(page: Page[Any], convert: Callable[[Any], T]) -> Connection[T]:
    return Connection.of(page, [convert(item) for item in page.items])
