"""Strawberry objects filled from rows (ORM objects, result rows, views) by attribute name."""

from __future__ import annotations

import dataclasses
import uuid
from functools import cache
from typing import Any, TypeVar

import strawberry

T = TypeVar("T")


@cache
def _field_names(cls: type) -> tuple[str, ...]:
    return tuple(f.name for f in dataclasses.fields(cls) if f.init)


def from_row(cls: type[T], row: Any, **given: Any) -> T:
    """`cls` with each field read from the same-named attribute of `row` (UUIDs become IDs),
    except those `given`. For lists on hot paths, write the constructor out instead."""
    values = dict(given)
    # mypy does not see type[T] as Hashable (python/mypy#20409); every class is.
    for name in _field_names(cls):  # type: ignore[arg-type]
        if name not in values and hasattr(row, name):
            value = getattr(row, name)
            values[name] = strawberry.ID(str(value)) if isinstance(value, uuid.UUID) else value
    return cls(**values)
