"""Strawberry objects filled from rows (ORM objects, result rows, views) by attribute name,
and the columns a selection needs.

A type whose fields are all plain (no resolver needing the object, no `is_type_of`) needs no
object at all: Strawberry answers a field without a resolver by `getattr` on its source, so
a result row whose columns carry the fields' Python names is the source as it is (an `ID`
may stay a UUID: GraphQL serialises it as its text). The catalog listing answers categories,
brands and option values so, with only the selected columns read (`selected_fields`)."""

from __future__ import annotations

import dataclasses
import uuid
from functools import cache
from typing import Any, TypeVar

import strawberry
from strawberry.types.private import is_private
from strawberry.utils.str_converters import to_camel_case

from app.resolvers.selection import Selected

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


@cache
def _python_names(cls: type) -> dict[str, str]:
    """GraphQL field name -> Python name, for each field of a Strawberry type."""
    definition = cls.__strawberry_definition__  # type: ignore[attr-defined]
    return {
        field.graphql_name or to_camel_case(field.python_name): field.python_name
        for field in definition.fields
        if not is_private(field.type)
    }


def graphql_fields(cls: type) -> list[str]:
    """The GraphQL names of the fields of a Strawberry type."""
    return list(_python_names(cls))


def selected_fields(cls: type, selected: Selected) -> frozenset[str] | None:
    """The Python names of the fields of `cls` that `selected` asks for, to read only those
    columns; None (every column) when it names none of them, as a loader that builds
    everything passes an empty selection."""
    names = _python_names(cls)
    asked = frozenset(names[name] for name in selected.by_name if name in names)
    return asked or None
