"""The OpenAPI document's named, shared schemas (`components/schemas`), referenced by `$ref`.

Three kinds of schema land here:

- every GraphQL type a route selects from (`CatalogEntity`, `Money`) and every GraphQL input
  type a body uses (`CreateCartInput`), one each, whatever the number of routes;
- every hand-written schema of a route table that has a `title` (`Cart`, `GatewayProduct`):
  the title is its component name, and nested titled schemas are hoisted too;
- the envelopes and errors of the two dialects (`GatewaySuccess`, `EngineError`).

A generated client gets one model per component, so a resource is one class whatever the
number of routes that answer it.
"""

from __future__ import annotations

from typing import Any

Schema = dict[str, Any]
PREFIX = "#/components/schemas/"


def ref(name: str) -> Schema:
    return {"$ref": f"{PREFIX}{name}"}


def referring(target: Schema, *, nullable: bool = False, description: str | None = None) -> Schema:
    """A use of a component. OpenAPI 3.0 ignores keywords beside a `$ref`, so a nullable or
    described use wraps the reference in a one-item `allOf` (which generators pass through to
    the referenced model)."""
    if not nullable and not description:
        return target
    wrapped: Schema = {"allOf": [target]}
    if nullable:
        wrapped["nullable"] = True
    if description:
        wrapped["description"] = description
    return wrapped


class Components:
    def __init__(self) -> None:
        self.schemas: dict[str, Schema] = {}
        # Names built from GraphQL object types: each selection of the type adds its fields.
        self._selected: set[str] = set()

    def add(self, name: str, schema: Schema) -> Schema:
        """Register a fixed schema; one name means one schema, or the tables have a bug."""
        if name in self._selected:
            raise ValueError(f"schema {name} is both a GraphQL type and a hand-written schema")
        known = self.schemas.setdefault(name, schema)
        if known != schema:
            raise ValueError(f"two different schemas are both named {name}")
        return ref(name)

    def add_selection(
        self, name: str, properties: Schema, required: list[str], description: str | None
    ) -> Schema:
        """Register one selection of a GraphQL object type. Its component holds every field
        any route selects; a field is required when every route selects it unconditionally
        (no `@include`), since GraphQL always answers what was selected."""
        known = self.schemas.get(name)
        if known is None:
            schema: Schema = {"type": "object", "properties": dict(properties)}
            if description:
                schema["description"] = description
            if required:
                schema["required"] = list(required)
            self.schemas[name] = schema
            self._selected.add(name)
            return ref(name)
        if name not in self._selected:
            raise ValueError(f"schema {name} is both a GraphQL type and a hand-written schema")
        for key, value in properties.items():
            if known["properties"].setdefault(key, value) != value:
                raise ValueError(f"{name}.{key} is selected with two different schemas")
        kept = [n for n in known.get("required", []) if n in required]
        if kept:
            known["required"] = kept
        else:
            known.pop("required", None)
        return ref(name)

    def hoist(self, schema: Schema) -> Schema:
        """`schema` with every titled object schema in it (itself included) moved here and
        replaced by a reference; a nullable one becomes a nullable reference."""
        if "$ref" in schema:
            return schema
        schema = dict(schema)
        for key in ("items", "additionalProperties"):
            if isinstance(schema.get(key), dict):
                schema[key] = self.hoist(schema[key])
        if "properties" in schema:
            schema["properties"] = {k: self.hoist(v) for k, v in schema["properties"].items()}
        for key in ("allOf", "oneOf", "anyOf"):
            if key in schema:
                schema[key] = [self.hoist(s) for s in schema[key]]
        title = schema.get("title")
        if title is None:
            return schema
        nullable = schema.pop("nullable", False)
        return referring(self.add(title, schema), nullable=nullable)

    def sorted(self) -> dict[str, Schema]:
        return {name: self.schemas[name] for name in sorted(self.schemas)}


def without_fields(schema: Schema, names: list[str]) -> Schema:
    """A copy of an object schema without the given properties, nor their `required`."""
    kept = {k: v for k, v in schema.get("properties", {}).items() if k not in names}
    result = {**schema, "properties": kept}
    required = [n for n in schema.get("required", []) if n not in names]
    if required:
        result["required"] = required
    else:
        result.pop("required", None)
    return result
