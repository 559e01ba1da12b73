"""Run a REST route: request -> variables -> the GraphQL operation -> the dialect's envelope.

Variables are checked against the operation's variable types before execution, so a wrong
type or a missing field becomes the dialect's validation error naming the wire field
(`name`, `limit`), exactly as the document calls it.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import orjson
import strawberry
from graphql import (
    FragmentDefinitionNode,
    GraphQLError,
    GraphQLInputObjectType,
    GraphQLInputType,
    GraphQLList,
    GraphQLNonNull,
    OperationDefinitionNode,
    Undefined,
    assert_input_type,
    parse,
    type_from_ast,
)
from graphql.utilities import validate_input_value
from starlette.exceptions import HTTPException
from starlette.formparsers import MultiPartException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from app.db import Database
from app.errors import ERRORS_BY_CODE, AppError, InternalError, ValidationFailed
from app.pagination import PageRequest
from app.resolvers.context import Context
from app.responses import JSONResponse
from app.rest.enums import operation_enums, to_names, to_words
from app.rest.table import Param, RestRoute

TRUE_WORDS = frozenset({"true", "1", "yes"})
FALSE_WORDS = frozenset({"false", "0", "no"})


def convert_param(param: Param, raw: str) -> Any:
    if param.type == "integer":
        try:
            return int(raw)
        except ValueError:
            raise ValidationFailed.field(param.name, "Must be an integer.") from None
    if param.type == "csv":
        return [part.strip() for part in raw.split(",") if part.strip()]
    if param.type == "boolean":
        word = raw.lower()
        if word not in TRUE_WORDS | FALSE_WORDS:
            raise ValidationFailed.field(param.name, "Must be true or false.")
        return word in TRUE_WORDS
    return raw


def set_path(variables: dict[str, Any], dotted: str, value: Any) -> None:
    *parents, leaf = dotted.split(".")
    node = variables
    for part in parents:
        node = node.setdefault(part, {})
    node[leaf] = value


_REQUIRED = re.compile(r"include required field '([^']+)'")
_UNKNOWN = re.compile(r"unknown field '([^']+)'")


def _explain(message: str) -> tuple[list[str], str]:
    """graphql-core reports a missing or unknown field at its parent; name the field itself."""
    if match := _REQUIRED.search(message):
        return [match.group(1)], "Field is required."
    if match := _UNKNOWN.search(message):
        return [match.group(1)], "Unknown field."
    return [], message


def _strict_lists(
    value: Any, type_: GraphQLInputType, path: list[str | int], on_error: Any
) -> None:
    """GraphQL turns a lone value into a one-item list; JSON clients get told instead."""
    if isinstance(type_, GraphQLNonNull):
        type_ = type_.of_type
    if value is None or value is Undefined:
        return
    if isinstance(type_, GraphQLList):
        if not isinstance(value, list):
            on_error(GraphQLError("Expected a list."), path)
            return
        for index, item in enumerate(value):
            _strict_lists(item, type_.of_type, [*path, index], on_error)
    elif isinstance(type_, GraphQLInputObjectType) and isinstance(value, dict):
        for name, field in type_.fields.items():
            if name in value:
                _strict_lists(value[name], field.type, [*path, name], on_error)


WITHHOLDING_CODES = frozenset({"UNAUTHORIZED", "FORBIDDEN"})


def _withheld(error: GraphQLError, depth: int = 1) -> bool:
    """A field inside the payload that the caller may not read (`quantity` of an availability
    without inventory:read): the answer goes out with that field null, as GraphQL sends it.
    A refusal of the operation itself (its root field, or any field on the way down to the
    payload: `depth` levels) still fails the request."""
    code = (error.extensions or {}).get("code")
    return code in WITHHOLDING_CODES and error.path is not None and len(error.path) > depth


def dig(data: Any, dotted: str) -> Any:
    """`data["me"]["orders"]` for `me.orders`: a route's payload may sit below its root field
    (the `/api/me` routes read `me { ... }`); None when a level on the way is null."""
    for name in dotted.split("."):
        if not isinstance(data, dict):
            return None
        data = data.get(name)
    return data


# The most parts a form body may have (a file and a few fields).
MAX_FORM_FIELDS = 20


async def form_body(request: Request) -> dict[str, Any]:
    """A multipart/form-data body as a dict: text fields as strings, one file per name."""
    content_type = request.headers.get("content-type", "")
    if not content_type.lower().startswith("multipart/form-data"):
        raise ValidationFailed(
            "Send the body as multipart/form-data.", details={"body": "Expected multipart."}
        )
    try:
        form = await request.form(max_files=1, max_fields=MAX_FORM_FIELDS)
    except (MultiPartException, HTTPException) as error:
        detail = getattr(error, "message", None) or getattr(error, "detail", "Malformed.")
        raise ValidationFailed(
            f"Malformed multipart body: {detail}", details={"body": str(detail)}
        ) from None
    body: dict[str, Any] = {}
    for name, value in form.multi_items():
        if name in body:
            raise ValidationFailed.field(name, "Given more than once.")
        body[name] = value
    return body


class RouteExecutor:
    def __init__(self, route: RestRoute, schema: strawberry.Schema, database: Database):
        self.route = route
        self.schema = schema
        self.database = database
        document = parse(route.operation)
        operation = next(d for d in document.definitions if isinstance(d, OperationDefinitionNode))
        graphql_schema = schema._schema
        fragments = {
            d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
        }
        # Where the operation's answer holds enums, to give them back as documented words.
        self.enums = operation_enums(graphql_schema, operation, fragments)
        definitions = operation.variable_definitions or ()
        self.variable_types: dict[str, GraphQLInputType] = {
            d.variable.name.value: assert_input_type(type_from_ast(graphql_schema, d.type))
            for d in definitions
        }
        self.defaulted = {d.variable.name.value for d in definitions if d.default_value}
        params = route.parameters()
        self.query_params = [
            p
            for p in params
            if p not in route.path_params
            and p not in route.headers
            and not (route.include and p.name == "include")
        ]
        # From a variable path back to the name the client sent, for error details.
        self.wire_names = {p.target: p.name for p in params}
        self.path_fields = route.body_fields_from_path()

    async def handle(self, request: Request) -> Response:
        state = request.scope.get("state", {})
        request_id = state.get("request_id")
        # What resolvers set on `info.context.response` (a session cookie, Retry-After) goes
        # out with the route's answer, success or error, as it does on /graphql.
        sub_response = Response()
        del sub_response.headers["content-length"]
        try:
            sent: dict[str, str] = {}
            variables = await self.variables(request, sent)
            self.check(variables, sent)
            payload = await self.execute(request, variables, sent, sub_response)
        except AppError as error:
            response: Response = self.route.dialect.error_response(error, request_id)
        else:
            response = self.render(payload, variables, request_id)
        finally:
            if self.route.form:
                await request.close()  # the uploaded files' temporary spools
        response.headers.raw.extend(sub_response.headers.raw)
        return response

    async def variables(self, request: Request, sent: dict[str, str]) -> dict[str, Any]:
        """The operation's variables; `sent` learns which wire name filled each of them."""
        variables: dict[str, Any] = dict(self.route.defaults)
        for param in self.route.path_params:
            set_path(variables, param.target, request.path_params[param.name])
        for param in self.route.headers:
            if (value := request.headers.get(param.name)) is not None:
                sent[param.target] = param.name
                set_path(variables, param.target, value)
        if self.route.include:
            variables.update(self.included(request.query_params.get("include")))
        for param in self.query_params:
            raw = request.query_params.get(param.name)
            if raw is not None and raw != "":
                sent[param.target] = param.name
                set_path(variables, param.target, convert_param(param, raw))
        if self.route.form:
            body: Any = await form_body(request)
            self.refuse_path_fields(body)
            name = self.route.body or "input"
            # Path parameters aimed into the body's variable complete it, as for JSON.
            variables[name] = {**body, **variables.get(name, {})}
        elif self.route.body is not None:
            raw_body = await request.body()
            try:
                body = (
                    orjson.loads(raw_body)
                    if raw_body
                    else ({} if self.route.optional_body else None)
                )
            except orjson.JSONDecodeError as error:
                raise ValidationFailed(
                    f"Malformed JSON body: {error.msg}.", details={"body": "Malformed JSON."}
                ) from None
            if not isinstance(body, dict):
                raise ValidationFailed(
                    "The body must be a JSON object.", details={"body": "Expected an object."}
                )
            if self.route.prepare is not None:
                body = self.route.prepare(body)
            self.refuse_path_fields(body)
            for name, variable in self.route.body_variables.items():
                if body.get(name) is not None:
                    sent[variable] = name
                    variables[variable] = body[name]
            # Path parameters aimed into the body's variable (`input.id`) complete it.
            variables[self.route.body] = {**body, **variables.get(self.route.body, {})}
        return variables

    def refuse_path_fields(self, body: dict[str, Any]) -> None:
        """A body field the path gives (`cartId` of `/api/carts/{id}/items`) is not part of the
        documented body: sent anyway, it is refused like any unknown field, equal to the path's
        value or not, rather than one of the two silently winning."""
        for name, param in self.path_fields.items():
            if name in body:
                raise ValidationFailed.field(
                    name, f"Given by the path ({{{param.name}}}); leave it out of the body."
                )

    def included(self, raw: str | None) -> dict[str, bool]:
        """`include=attributes,variants` -> the operation's `@include(if:)` variables."""
        names = [n.strip() for n in (raw or "").split(",") if n.strip()]
        known = self.route.include
        unknown = [n for n in names if n not in known]
        if unknown:
            raise ValidationFailed.field(
                "include", f"Unknown: {', '.join(unknown)}; choose from {', '.join(known)}."
            )
        return {variable: name in names for name, variable in known.items()}

    def check(self, variables: dict[str, Any], sent: dict[str, str]) -> None:
        """Coerce each variable as GraphQL would, collecting every problem with its field."""
        details: dict[str, str] = {}
        for name, variable_type in self.variable_types.items():
            if name in self.defaulted and name not in variables:
                continue

            def on_error(error: GraphQLError, path: list[str | int], name: str = name) -> None:
                field_path, message = _explain(error.message)
                details.setdefault(self.wire_field([name, *path, *field_path], sent), message)

            value = variables.get(name, Undefined)
            if value is not Undefined:
                value = variables[name] = to_names(value, variable_type, [], on_error)
            _strict_lists(value, variable_type, [], on_error)
            validate_input_value(value, variable_type, on_error)
        if details:
            message = "; ".join(f"{field}: {text}" for field, text in details.items())
            raise ValidationFailed(message, details=details)

    def wire_field(self, path: Sequence[str | int], sent: dict[str, str]) -> str:
        dotted = ".".join(str(p) for p in path)
        if dotted in sent:
            return sent[dotted]
        if dotted in self.wire_names:
            return self.wire_names[dotted]
        if path[0] == self.route.body:
            path = path[1:]
            if not path:
                return "body"
        names = self.route.body_names
        return ".".join(names.get(p, p) if isinstance(p, str) else str(p) for p in path)

    async def execute(
        self,
        request: Request,
        variables: dict[str, Any],
        sent: dict[str, str],
        sub_response: Response | None = None,
    ) -> Any:
        context = Context.for_connection(self.database, request, sub_response)
        # A route's operation is fixed and its pages capped: the request rate limit is its
        # measure, not the query cost budget (list lengths are still checked).
        context.priced = False
        result = await self.schema.execute(
            self.route.operation, variable_values=variables, context_value=context
        )
        errors = result.errors or []
        payload = dig(result.data, self.route.result)
        depth = self.route.result.count(".") + 1
        # A withheld field nulls only itself; should a null reach the payload, it is refused.
        refusals = [e for e in errors if not _withheld(e, depth)] or (
            errors if payload is None else []
        )
        if refusals:
            first = refusals[0]
            code = (first.extensions or {}).get("code", "INTERNAL_ERROR")
            error_class = ERRORS_BY_CODE.get(code, InternalError)
            details = (first.extensions or {}).get("details")
            raise error_class(first.message, details=self.wire_details(details, sent))
        assert result.data is not None
        return dig(to_words(result.data, self.enums), self.route.result)

    def wire_details(
        self, details: dict[str, str] | None, sent: dict[str, str]
    ) -> dict[str, str] | None:
        if not details:
            return details
        return {self.wire_field(key.split("."), sent): value for key, value in details.items()}

    def render(self, payload: Any, variables: dict[str, Any], request_id: str | None) -> Response:
        dialect = self.route.dialect
        if self.route.redirect is not None:
            return RedirectResponse(
                payload[self.route.redirect],
                status_code=self.route.status,
                headers={"Cache-Control": "no-store"},
            )
        shape = self.route.shape or (lambda item: item)
        if self.route.paginated:
            request = PageRequest.build(
                page=variables.get("page"),
                offset=variables.get("offset"),
                limit=payload["pageInfo"]["limit"],
            )
            body, headers = dialect.page(
                [shape(item) for item in payload["items"]],
                total=payload["totalCount"],
                request=request,
                request_id=request_id,
            )
            return JSONResponse(body, status_code=self.route.status, headers=headers)
        shaped = [shape(item) for item in payload] if isinstance(payload, list) else shape(payload)
        if not self.route.envelope:
            return JSONResponse(shaped, status_code=self.route.status)
        meta = self.route.meta(payload) if self.route.meta else None
        return JSONResponse(
            dialect.success(shaped, request_id, meta), status_code=self.route.status
        )
