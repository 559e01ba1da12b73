"""Rewrites of a generated GraphQL query that keep its meaning and exercise the executor:
aliases, repeated fields, inline fragments (with and without a type condition), named
fragments, `__typename`, and `@include`/`@skip` with variables or literals.

hypothesis-graphql generates plain field selections; `vary` spreads these shapes over them at
random (from a seed hypothesis draws), so that the differential test of the compiled executor
covers fragments and directives on every type of the schema.
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from graphql import (
    ArgumentNode,
    BooleanValueNode,
    DirectiveNode,
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLObjectType,
    GraphQLSchema,
    InlineFragmentNode,
    NamedTypeNode,
    NameNode,
    NonNullTypeNode,
    OperationDefinitionNode,
    OperationType,
    SelectionNode,
    SelectionSetNode,
    StringValueNode,
    VariableDefinitionNode,
    VariableNode,
    build_schema,
    get_named_type,
    is_required_argument,
    print_ast,
    print_schema,
)


def without_optional_arguments(schema: GraphQLSchema) -> GraphQLSchema:
    """A copy of `schema` whose fields take only their required arguments: hypothesis-graphql
    draws a value for every argument a field takes, which is slow and mostly answered by a
    validation error; without them, fields answer with their defaults."""
    copy = build_schema(print_schema(schema))
    for type_ in copy.type_map.values():
        for definition in getattr(type_, "fields", {}).values():
            arguments = getattr(definition, "args", None)
            if arguments:
                for name in [n for n, a in arguments.items() if not is_required_argument(a)]:
                    del arguments[name]
    return copy


def _name(value: str) -> NameNode:
    return NameNode(value=value)


@dataclass
class Varied:
    """A document being rewritten: the fragments and variables it has gained so far."""

    schema: GraphQLSchema
    rng: random.Random
    known: Mapping[tuple[str, str], Sequence[str]]
    fragments: list[FragmentDefinitionNode] = field(default_factory=list)
    variables: dict[str, bool] = field(default_factory=dict)
    names: int = 0

    def fresh(self, prefix: str) -> str:
        self.names += 1
        return f"{prefix}{self.names}"

    def directives(self) -> tuple[DirectiveNode, ...]:
        """Now and then an @include or @skip, on a variable or a literal."""
        roll = self.rng.random()
        if roll > 0.15:
            return ()
        name = self.rng.choice(("include", "skip"))
        if roll < 0.11:
            variable = self.fresh("v")
            self.variables[variable] = self.rng.random() < 0.6
            condition: Any = VariableNode(name=_name(variable))
        else:
            condition = BooleanValueNode(value=self.rng.random() < 0.5)
        argument = ArgumentNode(name=_name("if"), value=condition)
        return (DirectiveNode(name=_name(name), arguments=(argument,)),)

    def selection_set(self, selections: SelectionSetNode, parent: GraphQLObjectType) -> Any:
        varied: list[SelectionNode] = []
        for selection in selections.selections:
            if not isinstance(selection, FieldNode):
                varied.append(selection)
                continue
            node = self.field(selection, parent)
            varied.append(self.wrapped(node, parent))
            if self.rng.random() < 0.05:
                varied.append(node)  # the same field twice: merged into one answer
        if self.rng.random() < 0.1:
            alias = _name(self.fresh("t")) if self.rng.random() < 0.5 else None
            varied.insert(
                self.rng.randrange(len(varied) + 1),
                FieldNode(alias=alias, name=_name("__typename"), arguments=(), directives=()),
            )
        return SelectionSetNode(selections=tuple(varied))

    def field(self, node: FieldNode, parent: GraphQLObjectType) -> FieldNode:
        below = None
        if node.selection_set is not None:
            definition = parent.fields[node.name.value]
            named = get_named_type(definition.type)
            assert isinstance(named, GraphQLObjectType), named
            below = self.selection_set(node.selection_set, named)
        alias = node.alias
        if self.rng.random() < 0.15:
            alias = _name(self.fresh("a"))
        return FieldNode(
            alias=alias,
            name=node.name,
            arguments=tuple(self.argument(parent, node, a) for a in node.arguments),
            directives=self.directives(),
            selection_set=below,
        )

    def argument(self, parent: GraphQLObjectType, node: FieldNode, argument: Any) -> Any:
        """A value known to the store in place of a generated one, where there are some."""
        known = self.known.get((f"{parent.name}.{node.name.value}", argument.name.value))
        if not known:
            return argument
        return ArgumentNode(name=argument.name, value=StringValueNode(value=self.rng.choice(known)))

    def wrapped(self, node: FieldNode, parent: GraphQLObjectType) -> SelectionNode:
        """The field as it is, in an inline fragment, or in a named fragment."""
        roll = self.rng.random()
        if roll < 0.12:
            condition = NamedTypeNode(name=_name(parent.name)) if roll < 0.08 else None
            return InlineFragmentNode(
                type_condition=condition,
                directives=self.directives(),
                selection_set=SelectionSetNode(selections=(node,)),
            )
        if roll < 0.22:
            name = self.fresh("F")
            self.fragments.append(
                FragmentDefinitionNode(
                    name=_name(name),
                    type_condition=NamedTypeNode(name=_name(parent.name)),
                    directives=(),
                    selection_set=SelectionSetNode(selections=(node,)),
                )
            )
            return FragmentSpreadNode(name=_name(name), directives=self.directives())
        return node


def vary(
    document: DocumentNode,
    schema: GraphQLSchema,
    seed: int,
    known: Mapping[tuple[str, str], Sequence[str]] | None = None,
) -> tuple[str, dict[str, bool]]:
    """The query of `document` rewritten at random (by `seed`), and its variables. `known`
    gives values (strings) to use for arguments, by field coordinate and argument name."""
    (operation,) = document.definitions
    assert isinstance(operation, OperationDefinitionNode)
    assert schema.query_type is not None
    varied = Varied(schema, random.Random(seed), known or {})
    selection_set = varied.selection_set(operation.selection_set, schema.query_type)
    definitions = tuple(
        VariableDefinitionNode(
            variable=VariableNode(name=_name(name)),
            type=NonNullTypeNode(type=NamedTypeNode(name=_name("Boolean"))),
            directives=(),
        )
        for name in varied.variables
    )
    query = OperationDefinitionNode(
        operation=OperationType.QUERY,
        name=_name("Varied"),
        variable_definitions=definitions,
        directives=(),
        selection_set=selection_set,
    )
    return print_ast(DocumentNode(definitions=(query, *varied.fragments))), varied.variables
