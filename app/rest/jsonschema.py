"""Small JSON Schema builders for the route tables' hand-written (shaped) schemas."""

from __future__ import annotations

from typing import Any


def json_type(type_: str, nullable: bool = False, **extra: Any) -> dict[str, Any]:
    return {"type": type_, **({"nullable": True} if nullable else {}), **extra}


def nullable(type_: str, **extra: Any) -> dict[str, Any]:
    return json_type(type_, True, **extra)


def string(nullable: bool = False, **extra: Any) -> dict[str, Any]:
    return json_type("string", nullable, **extra)


def integer(nullable: bool = False, **extra: Any) -> dict[str, Any]:
    return json_type("integer", nullable, **extra)


def all_required(schema: dict[str, Any]) -> dict[str, Any]:
    """An object schema whose every property is always sent (a shape function builds them all),
    so that generated clients type them as present."""
    return {**schema, "required": list(schema["properties"])}
