"""Argument helpers shared by resolvers."""

from __future__ import annotations

import uuid

from app.errors import NotFound
from app.ids import parse_uuid
from app.pagination import DEFAULT_LIMIT, PageRequest


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
