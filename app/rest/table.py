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

ParamType = Literal["string", "integer", "boolean", "date-time", "csv"]
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


PAGING_PARAMS = {
    "engine": (
        Param("page", type="integer", description="Page number (default 1).", minimum=1),
        Param(
            "limit", type="integer", description="Items per page (default 20, max 100).", minimum=1
        ),
    ),
    "gateway": (
        Param("page", type="integer", description="Page number, 1-indexed (default 1).", minimum=1),
        Param(
            "limit", type="integer", description="Items per page (default 20, max 100).", minimum=1
        ),
        Param(
            "per_page", variable="limit", type="integer", description="Same as limit.", minimum=1
        ),
        Param("offset", type="integer", description="Items to skip (with limit).", minimum=0),
    ),
}


def mutation(name: str, input_type: str, selection: str) -> str:
    """The usual route operation: one mutation taking the body as `$input`."""
    return f"mutation M($input: {input_type}!) {{ {name}(input: $input) {{ {selection} }} }}"


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
    # `include=a,b` turns on the operation's `@include(if: $variable)` parts: name -> variable.
    include: dict[str, str] = field(default_factory=dict)
    # Variables every call sets (e.g. a changed entity is answered with all its parts).
    defaults: dict[str, Any] = field(default_factory=dict)
    # The body may be empty (every field of its input type is optional).
    optional_body: bool = False
    # Rewrites a documented body into the operation's input (names, units), before checks.
    prepare: Callable[[dict[str, Any]], dict[str, Any]] | None = None
    # Extra `meta` for the envelope, read from the result (e.g. checkout's hookErrors).
    meta: Callable[[dict[str, Any]], dict[str, Any] | None] | None = None
    # The documented body's JSON Schema where `prepare` makes it differ from the input type.
    body_schema: dict[str, Any] | None = None
    # Request headers mapped onto variables (`Idempotency-Key` -> `idempotencyKey`).
    headers: tuple[Param, ...] = ()
    # The JSON Schema of one item after `shape`, when shaping changes it.
    shaped_schema: dict[str, Any] | None = None
    # Body fields also given to the operation as variables of their own, after `prepare`
    # (a product is answered with its price in the currency the body set it in).
    body_variables: dict[str, str] = field(default_factory=dict)
    # The documented names of input fields `prepare` renamed (`entityId` -> `productId`), so
    # that error details name what the client sent.
    body_names: dict[str, str] = field(default_factory=dict)
    # False: the payload is the whole body, without the dialect's envelope (Better Auth's
    # `/api/auth` answers `{"user", "session"}`, or `null`); errors keep the envelope.
    envelope: bool = True
    # Answers a signed-in customer's session cookie only, no key (`/api/me`): the OpenAPI
    # document says so in the operation's `security`.
    session: bool = False
    # The body comes as multipart/form-data (its file parts become `Upload` values), not JSON.
    form: bool = False
    # The answer is a 302 to the URL in this field of the payload (`GET /api/media/{id}`).
    redirect: str | None = None

    def parameters(self) -> list[Param]:
        """Path, query, include and the dialect's paging parameters, as the client sends them."""
        params = [*self.path_params, *self.query]
        if self.include:
            choices = ", ".join(self.include)
            params.append(Param("include", description=f"Comma-separated: {choices}."))
        if self.paginated:
            params += PAGING_PARAMS[self.dialect.name]
        return params + list(self.headers)

    def body_fields_from_path(self) -> dict[str, Param]:
        """The body fields the path fills in (`Param("id", "input.cartId")` -> `cartId`): the
        documented body leaves them out, and a body that repeats one is refused."""
        prefix = f"{self.body}."
        return {
            p.target.removeprefix(prefix): p
            for p in self.path_params
            if self.body is not None and p.target.startswith(prefix)
        }

    def __post_init__(self) -> None:
        declared = {p.name for p in self.path_params}
        for name in PATH_PARAM.findall(self.path):
            if name not in declared:
                raise ValueError(f"{self.method} {self.path}: path parameter {name} undeclared")
        for field_name in self.body_fields_from_path():
            if "." in field_name:
                raise ValueError(
                    f"{self.method} {self.path}: a path parameter may fill a top-level body "
                    f"field only, not {field_name}"
                )
