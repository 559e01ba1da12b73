"""Argument helpers shared by resolvers."""

from __future__ import annotations

import uuid
from typing import Annotated

import strawberry

from app.errors import NotFound
from app.ids import parse_uuid
from app.pagination import DEFAULT_LIMIT, MAX_LIMIT, PageRequest

# The paging arguments every list takes (app.pagination.PageRequest checks them).
PageArg = Annotated[
    int | None,
    strawberry.argument(
        description="The 1-based page number to read, of `limit` items each; not with `offset` "
        "or `after`. Default: 1."
    ),
]
LimitArg = Annotated[
    int | None,
    strawberry.argument(
        description=f"How many items per page, at least 1 and capped at {MAX_LIMIT}. "
        "Default: the list's own (usually 20)."
    ),
]
OffsetArg = Annotated[
    int | None,
    strawberry.argument(
        description="How many items to skip from the start of the list; not with `page` or "
        "`after`. Default: 0."
    ),
]
FirstArg = Annotated[
    int | None,
    strawberry.argument(
        description="The Cursor Connections name for `limit`: how many items per page "
        "(give one of the two, or equal values)."
    ),
]
AfterArg = Annotated[
    str | None,
    strawberry.argument(
        description="A cursor (an edge's `cursor` or pageInfo's `endCursor`): the page "
        "starts after that item. Not with `page` or `offset`."
    ),
]


def page_request(
    *,
    page: int | None,
    limit: int | None,
    offset: int | None,
    first: int | None,
    after: str | None,
    default_limit: int = DEFAULT_LIMIT,
) -> PageRequest:
    return PageRequest.build(
        page=page,
        limit=limit,
        offset=offset,
        first=first,
        after=after,
        default_limit=default_limit,
    )


def uuid_or_not_found(value: str, what: str) -> uuid.UUID:
    """An id that is not a UUID names nothing that exists: NOT_FOUND, as for an unknown one."""
    parsed = parse_uuid(value)
    if parsed is None:
        raise NotFound(f"{what} not found.")
    return parsed
