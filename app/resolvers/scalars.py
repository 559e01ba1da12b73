"""Scalars: UTC date-times with `Z` on the wire, and free JSON objects."""

from __future__ import annotations

from datetime import UTC, datetime

import strawberry
from strawberry.scalars import JSON
from strawberry.types.scalar import ScalarDefinition


def _serialize(value: datetime) -> str:
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _parse(value: object) -> datetime:
    if not isinstance(value, str):
        raise ValueError("DateTime must be an ISO 8601 string.")
    parsed = datetime.fromisoformat(value)
    if parsed.tzinfo is None:
        raise ValueError("DateTime must carry a time zone (e.g. 2026-01-01T00:00:00Z).")
    return parsed.astimezone(UTC)


DateTime = strawberry.scalar(
    name="DateTime",
    description="A UTC instant in ISO 8601, e.g. 2026-11-22T16:44:04Z.",
    serialize=_serialize,
    parse_value=_parse,
)

SCALAR_MAP: dict[object, ScalarDefinition] = {datetime: DateTime}

__all__ = ["JSON", "SCALAR_MAP", "DateTime"]
