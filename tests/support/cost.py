"""Every GraphQL result reports its cost (`extensions.cost`); tests that compare a whole result
check that it is there and compare the rest."""

from __future__ import annotations

from typing import Any


def without_cost(result: dict[str, Any]) -> dict[str, Any]:
    """`result` less `extensions.cost`, which must be there with its requested cost."""
    extensions = dict(result.get("extensions") or {})
    cost = extensions.pop("cost", None)
    assert isinstance(cost, dict) and isinstance(cost.get("requestedQueryCost"), int), result
    rest = {key: value for key, value in result.items() if key != "extensions"}
    if extensions:
        rest["extensions"] = extensions
    return rest
