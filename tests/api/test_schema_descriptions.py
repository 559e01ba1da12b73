"""DESIGN §4 "Schema": every type, field, argument and enum value has a description.

Walks the built schema (graphql-core objects) and lists every object type, interface,
input type, union, enum, custom scalar, field, input field, argument and enum value
outside introspection (names starting `__`) and the built-in scalars that has no
description.
"""

from __future__ import annotations

from graphql import (
    GraphQLEnumType,
    GraphQLInputObjectType,
    GraphQLInterfaceType,
    GraphQLObjectType,
    GraphQLScalarType,
    GraphQLUnionType,
    is_specified_scalar_type,
)

from app.config import Settings
from app.resolvers.schema import schema_for


def undescribed() -> list[str]:
    schema = schema_for(Settings())._schema
    missing: list[str] = []

    def check(path: str, description: str | None) -> None:
        if not (description or "").strip():
            missing.append(path)

    for name, kind in sorted(schema.type_map.items()):
        if name.startswith("__") or is_specified_scalar_type(kind):
            continue
        check(name, kind.description)
        if isinstance(kind, GraphQLObjectType | GraphQLInterfaceType):
            for field_name, field in kind.fields.items():
                check(f"{name}.{field_name}", field.description)
                for arg_name, arg in field.args.items():
                    check(f"{name}.{field_name}({arg_name})", arg.description)
        elif isinstance(kind, GraphQLInputObjectType):
            for field_name, field in kind.fields.items():
                check(f"{name}.{field_name}", field.description)
        elif isinstance(kind, GraphQLEnumType):
            for value_name, value in kind.values.items():
                check(f"{name}.{value_name}", value.description)
        else:
            assert isinstance(kind, GraphQLScalarType | GraphQLUnionType), name
    return missing


def test_every_type_field_argument_and_enum_value_has_a_description() -> None:
    missing = undescribed()
    assert not missing, f"{len(missing)} without a description:\n" + "\n".join(missing)
