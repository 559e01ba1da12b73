"""A REST route is one row: method, path, the GraphQL operation it runs, how the request maps
onto the operation's variables, which field of the result is the payload, and the dialect
that renders it. The executor (`app.rest.executor`) and the OpenAPI document
(`app.rest.openapi`) are both generated from these rows.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from app.rest.dialects import Dialect

ParamType = Literal["string", "integer", "boolean", "date-time"]
PATH_PARAM = re.compile(r"{([A-Za-z_][A-Za-z0-9_]*)}")


@dataclass(frozen=True, slots=True)
class Param:
    """A path or query parameter; `variable` is a dotted path into the operation's variables
    (`filter.entityType`), by default the parameter's own name."""

    name: str
    variable: str | None = None
    type: ParamType = "string"
    description: str = ""
    required: bool = False
    minimum: int | None = None

    @property
    def target(self) -> str:
        return self.variable or self.name


@dataclass(frozen=True, slots=True)
class RestRoute:
    method: str
    path: str
    operation: str
    result: str
    dialect: Dialect
    summary: str
    tag: str
    path_params: tuple[Param, ...] = ()
    query: tuple[Param, ...] = ()
    body: str | None = None
    paginated: bool = False
    status: int = 200
    permission: str | None = None
    shape: Callable[[dict[str, Any]], dict[str, Any]] | None = None
    description: str = ""
    extra_responses: dict[int, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        declared = {p.name for p in self.path_params}
        for name in PATH_PARAM.findall(self.path):
            if name not in declared:
                raise ValueError(f"{self.method} {self.path}: path parameter {name} undeclared")
