"""Look-ahead: what a query selects below a field, so list resolvers can fetch each selected
relation in one statement up front (DESIGN §8). `@include`/`@skip` are honoured, fragments
are flattened, and aliases of the same field are merged."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from strawberry import Info
from strawberry.types.nodes import FragmentSpread, InlineFragment, SelectedField, Selection


def _included(node: Selection) -> bool:
    directives = node.directives or {}
    if directives.get("skip", {}).get("if"):
        return False
    return directives.get("include", {}).get("if", True) is not False


def flatten(selections: Iterable[Selection]) -> Iterator[SelectedField]:
    for node in selections:
        if not _included(node):
            continue
        if isinstance(node, SelectedField):
            yield node
        elif isinstance(node, (FragmentSpread, InlineFragment)):
            yield from flatten(node.selections)


class Selected:
    """The fields selected at one level, by name (every alias of a name kept)."""

    def __init__(self, fields: Iterable[SelectedField]):
        self.by_name: dict[str, list[SelectedField]] = {}
        for field in fields:
            self.by_name.setdefault(field.name, []).append(field)

    @classmethod
    def of(cls, info: Info, *path: str) -> Selected:
        """The level below the current field, then below each name of `path` in turn."""
        level = (
            cls(flatten(info.selected_fields[0].selections)) if info.selected_fields else cls([])
        )
        for name in path:
            level = level.child(name)
        return level

    def __contains__(self, name: str) -> bool:
        return name in self.by_name

    def child(self, name: str) -> Selected:
        return Selected(
            field for node in self.by_name.get(name, []) for field in flatten(node.selections)
        )

    def items(self) -> Selected:
        """What a connection's items select, wherever the query asks for them: `items`,
        `nodes` or `edges { node }`, merged."""
        edges = self.child("edges")
        return Selected(
            field
            for level, name in ((self, "items"), (self, "nodes"), (edges, "node"))
            for node in level.by_name.get(name, [])
            for field in flatten(node.selections)
        )

    def arguments(self, name: str, argument: str) -> list[Any]:
        """The values given to `argument` by every selection of `name` (None when omitted)."""
        return [node.arguments.get(argument) for node in self.by_name.get(name, [])]
