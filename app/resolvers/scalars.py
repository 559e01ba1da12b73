"""Scalars: UTC date-times with `Z` on the wire, and free JSON values."""

from __future__ import annotations

from datetime import UTC, datetime

import strawberry
from strawberry.scalars import JSON
from strawberry.schema.types.scalar import DEFAULT_SCALAR_REGISTRY
from strawberry.types.scalar import ScalarDefinition

from app.json_values import json_problem


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


def _parse_json(value: object) -> object:
    if (problem := json_problem(value)) is not None:
        raise ValueError(problem)
    return value


# Strawberry's own JSON scalar (name, description, specification), checked on the way in
# (`app.json_values`): variables, literals and the REST bodies that fill them alike.
_STRAWBERRY_JSON = DEFAULT_SCALAR_REGISTRY[JSON]
CheckedJSON = strawberry.scalar(
    name="JSON",
    description=_STRAWBERRY_JSON.description,
    specified_by_url=_STRAWBERRY_JSON.specified_by_url,
    serialize=lambda value: value,
    parse_value=_parse_json,
)

SCALAR_MAP: dict[object, ScalarDefinition] = {datetime: DateTime, JSON: CheckedJSON}

__all__ = ["JSON", "SCALAR_MAP", "DateTime"]
