"""Depth and alias limits of a GraphQL document, measured in time linear in its size.

Strawberry's `QueryDepthLimiter` and `MaxAliasesLimiter` walk a fragment afresh at every
spread, so a 2 KB document whose twenty fragments each spread the next twice made them walk a
million fields: 36 s of one worker before any limit answered. Here each fragment is measured
once and its measure reused wherever it is spread, with the same answers and messages:

- depth: a field with a selection set is one deeper than its deepest child; a leaf and an
  introspection field (`__schema`, `__type`) count 0; an operation deeper than `max_depth` is
  refused (`'<name>' exceeds maximum operation depth of N`, `anonymous` for a nameless one);
- aliases: every aliased field of every operation, fragments expanded, counts; more than
  `max_aliases` in the document is refused (`N aliases found. Allowed: M`).

A fragment that spreads itself counts nothing the second time (NoFragmentsCycleRule refuses
the document anyway).
"""

from __future__ import annotations

from dataclasses import dataclass

from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
    ValidationContext,
    ValidationRule,
)


@dataclass(frozen=True, slots=True)
class Measure:
    depth: int = 0
    aliases: int = 0


NOTHING = Measure()


class Measurer:
    def __init__(self, fragments: dict[str, FragmentDefinitionNode]) -> None:
        self.fragments = fragments
        self.measured: dict[str, Measure] = {}
        self.measuring: set[str] = set()

    def selection_set(self, selection_set: SelectionSetNode | None) -> Measure:
        depth = aliases = 0
        for selection in selection_set.selections if selection_set else ():
            inner = self.selection(selection)
            depth = max(depth, inner.depth)
            aliases += inner.aliases
        return Measure(depth, aliases)

    def selection(self, selection: object) -> Measure:
        if isinstance(selection, FieldNode):
            inner = self.selection_set(selection.selection_set)
            aliases = inner.aliases + (1 if selection.alias else 0)
            if selection.selection_set is None or selection.name.value.startswith("__"):
                return Measure(0, aliases)
            return Measure(1 + inner.depth, aliases)
        if isinstance(selection, InlineFragmentNode):
            return self.selection_set(selection.selection_set)
        if isinstance(selection, FragmentSpreadNode):
            return self.fragment(selection.name.value)
        return NOTHING

    def fragment(self, name: str) -> Measure:
        if name in self.measured:
            return self.measured[name]
        fragment = self.fragments.get(name)
        if fragment is None or name in self.measuring:
            return NOTHING
        self.measuring.add(name)
        self.measured[name] = self.selection_set(fragment.selection_set)
        self.measuring.discard(name)
        return self.measured[name]


def document_limits(*, max_depth: int, max_aliases: int) -> type[ValidationRule]:
    """The rule for these limits (built once: the validation cache is keyed by the rules)."""

    class DocumentLimits(ValidationRule):
        def __init__(self, context: ValidationContext) -> None:
            super().__init__(context)
            definitions = context.document.definitions
            measurer = Measurer(
                {d.name.value: d for d in definitions if isinstance(d, FragmentDefinitionNode)}
            )
            aliases = 0
            for operation in definitions:
                if not isinstance(operation, OperationDefinitionNode):
                    continue
                measure = measurer.selection_set(operation.selection_set)
                aliases += measure.aliases
                if measure.depth > max_depth:
                    name = operation.name.value if operation.name else "anonymous"
                    context.report_error(
                        GraphQLError(
                            f"'{name}' exceeds maximum operation depth of {max_depth}", operation
                        )
                    )
            if aliases > max_aliases:
                context.report_error(
                    GraphQLError(f"{aliases} aliases found. Allowed: {max_aliases}")
                )

    return DocumentLimits
