"""The REST dialects' spelling of GraphQL enums: the documented lower-case words.

GraphQL names a value `PARTIALLY_FULFILLED`; the documents, the database and the REST bodies
say `partially_fulfilled`. A route's operation is read once to learn where enums occur: in
its variables (the words a client sends become names before execution) and in its selection
(the names GraphQL answers become words again before the dialect shapes the payload).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLEnumType,
    GraphQLError,
    GraphQLInputObjectType,
    GraphQLInputType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLSchema,
    InlineFragmentNode,
    NamedTypeNode,
    OperationDefinitionNode,
    SelectionSetNode,
    get_named_type,
)

# Where enums sit in an answer: a response key leads to an enum, or to a deeper tree.
EnumTree = dict[str, "GraphQLEnumType | EnumTree"]


def words(enum: GraphQLEnumType) -> dict[str, str]:
    """Each value's word (`cancelled`) and its GraphQL name (`CANCELLED`)."""
    return {str(value.value): name for name, value in enum.values.items()}


def to_names(
    value: Any,
    type_: GraphQLInputType,
    path: list[str | int],
    on_error: Callable[[GraphQLError, list[str | int]], None],
) -> Any:
    """`value` with every enum word replaced by its GraphQL name; an unknown word is reported
    with the words that are allowed, and left for validation to refuse."""
    if isinstance(type_, GraphQLNonNull):
        type_ = type_.of_type
    if value is None:
        return value
    if isinstance(type_, GraphQLList):
        if not isinstance(value, list):
            return to_names(value, type_.of_type, path, on_error)
        return [to_names(item, type_.of_type, [*path, i], on_error) for i, item in enumerate(value)]
    if isinstance(type_, GraphQLInputObjectType) and isinstance(value, dict):
        return {
            key: to_names(item, type_.fields[key].type, [*path, key], on_error)
            if key in type_.fields
            else item
            for key, item in value.items()
        }
    if isinstance(type_, GraphQLEnumType):
        known = words(type_)
        if isinstance(value, str) and value in known:
            return known[value]
        on_error(GraphQLError(f"One of {', '.join(known)}."), path)
    return value


def enum_tree(
    schema: GraphQLSchema,
    parent: GraphQLObjectType,
    selection_set: SelectionSetNode,
    fragments: dict[str, FragmentDefinitionNode],
) -> EnumTree:
    """The enum-typed fields under `selection_set`, by response key."""
    tree: EnumTree = {}
    for selection in selection_set.selections:
        if isinstance(selection, FieldNode):
            name = selection.name.value
            if name.startswith("__"):
                continue
            field_type: GraphQLOutputType = parent.fields[name].type
            named = get_named_type(field_type)
            key = selection.alias.value if selection.alias else name
            if isinstance(named, GraphQLEnumType):
                tree[key] = named
            elif isinstance(named, GraphQLObjectType) and selection.selection_set:
                _merge(tree, {key: enum_tree(schema, named, selection.selection_set, fragments)})
            continue
        condition: NamedTypeNode | None
        if isinstance(selection, FragmentSpreadNode):
            fragment = fragments[selection.name.value]
            condition, sub_set = fragment.type_condition, fragment.selection_set
        else:
            assert isinstance(selection, InlineFragmentNode)
            condition, sub_set = selection.type_condition, selection.selection_set
        target = schema.get_type(condition.name.value) if condition is not None else parent
        if isinstance(target, GraphQLObjectType):
            _merge(tree, enum_tree(schema, target, sub_set, fragments))
    return tree


def _merge(into: EnumTree, other: EnumTree) -> None:
    for key, value in other.items():
        existing = into.get(key)
        if isinstance(existing, dict) and isinstance(value, dict):
            _merge(existing, value)
        else:
            into[key] = value


def operation_enums(
    schema: GraphQLSchema,
    operation: OperationDefinitionNode,
    fragments: dict[str, FragmentDefinitionNode],
) -> EnumTree:
    root = schema.get_root_type(operation.operation)
    assert root is not None
    return enum_tree(schema, root, operation.selection_set, fragments)


def to_words(data: Any, tree: EnumTree) -> Any:
    """`data` (an answer) with every enum name under `tree` replaced by its word."""
    if isinstance(data, list):
        return [to_words(item, tree) for item in data]
    if not isinstance(data, dict):
        return data
    out = dict(data)
    for key, sub in tree.items():
        value = out.get(key)
        if value is None:
            continue
        if isinstance(sub, GraphQLEnumType):
            out[key] = _word(value, sub)
        else:
            out[key] = to_words(value, sub)
    return out


def _word(value: Any, enum: GraphQLEnumType) -> Any:
    if isinstance(value, list):
        return [_word(item, enum) for item in value]
    return enum.values[value].value if value in enum.values else value
