"""The OpenAPI 3 document, generated from the route table: every route with its parameters,
its body (from the GraphQL input type) and its responses (from the operation's selection)."""

from __future__ import annotations

from typing import Any

import strawberry
from graphql import (
    GraphQLEnumType,
    GraphQLInputObjectType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLScalarType,
    GraphQLType,
    OperationDefinitionNode,
    SelectionSetNode,
    Undefined,
    parse,
    type_from_ast,
)
from graphql.language import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    InlineFragmentNode,
)

from app import __version__
from app.rest.dialects import Dialect
from app.rest.table import Param, RestRoute

SCALARS: dict[str, dict[str, Any]] = {
    "String": {"type": "string"},
    "ID": {"type": "string"},
    "Int": {"type": "integer", "format": "int32"},
    "Float": {"type": "number"},
    "Boolean": {"type": "boolean"},
    "DateTime": {"type": "string", "format": "date-time"},
    "UUID": {"type": "string", "format": "uuid"},
    "JSON": {"type": "object", "additionalProperties": True},
}

ERROR_DESCRIPTIONS = {
    400: "Invalid input (VALIDATION_ERROR)",
    401: "Missing or invalid credentials",
    403: "Insufficient permissions",
    404: "Not found",
    409: "Conflict",
    413: "Body too large",
    422: "Validation failed",
    429: "Rate limit exceeded",
}


def _scalar(type_: GraphQLScalarType) -> dict[str, Any]:
    return dict(SCALARS.get(type_.name, {"type": "string"}))


def input_schema(type_: GraphQLType) -> dict[str, Any]:
    if isinstance(type_, GraphQLNonNull):
        return input_schema(type_.of_type)
    if isinstance(type_, GraphQLList):
        return {"type": "array", "items": input_schema(type_.of_type)}
    if isinstance(type_, GraphQLEnumType):
        return {"type": "string", "enum": list(type_.values)}
    if isinstance(type_, GraphQLInputObjectType):
        properties = {
            name: _merge(
                _described(input_schema(f.type), f.description), _constraints(f.extensions)
            )
            for name, f in type_.fields.items()
        }
        schema: dict[str, Any] = {"type": "object", "properties": properties}
        required = [
            n
            for n, f in type_.fields.items()
            if isinstance(f.type, GraphQLNonNull) and f.default_value is Undefined
        ]
        if required:
            schema["required"] = required
        return schema
    assert isinstance(type_, GraphQLScalarType)
    return _scalar(type_)


def _constraints(extensions: dict[str, Any] | None) -> dict[str, Any]:
    """JSON Schema constraints declared on a Strawberry input field:
    `strawberry.field(metadata={"jsonschema": {"minLength": 1}})`."""
    definition = (extensions or {}).get("strawberry-definition")
    return dict(getattr(definition, "metadata", {}).get("jsonschema", {}))


def _described(schema: dict[str, Any], description: str | None) -> dict[str, Any]:
    return {**schema, "description": description} if description else schema


def _merge(schema: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(schema.get(key), dict):
            schema[key] = _merge(schema[key], value)
        else:
            schema[key] = value
    return schema


def _fields(
    selection: SelectionSetNode, fragments: dict[str, FragmentDefinitionNode]
) -> list[FieldNode]:
    """The fields of a selection set, with fragment spreads and inline fragments expanded."""
    found: list[FieldNode] = []
    for node in selection.selections:
        if isinstance(node, FieldNode):
            found.append(node)
        elif isinstance(node, FragmentSpreadNode):
            found += _fields(fragments[node.name.value].selection_set, fragments)
        elif isinstance(node, InlineFragmentNode):
            found += _fields(node.selection_set, fragments)
    return found


def output_schema(
    type_: GraphQLType,
    selection: SelectionSetNode | None,
    fragments: dict[str, FragmentDefinitionNode] | None = None,
) -> dict[str, Any]:
    fragments = fragments or {}
    nullable = not isinstance(type_, GraphQLNonNull)
    inner = type_.of_type if isinstance(type_, GraphQLNonNull) else type_
    if isinstance(inner, GraphQLList):
        schema: dict[str, Any] = {
            "type": "array",
            "items": output_schema(inner.of_type, selection, fragments),
        }
    elif isinstance(inner, GraphQLObjectType) and selection is not None:
        properties = {}
        for node in _fields(selection, fragments):
            field = inner.fields[node.name.value]
            key = node.alias.value if node.alias else node.name.value
            properties[key] = output_schema(field.type, node.selection_set, fragments)
        schema = {"type": "object", "properties": properties}
    elif isinstance(inner, GraphQLEnumType):
        schema = {"type": "string", "enum": list(inner.values)}
    else:
        assert isinstance(inner, GraphQLScalarType)
        schema = _scalar(inner)
    if nullable:
        schema["nullable"] = True
    return schema


def _envelope(dialect: Dialect, data: dict[str, Any], paginated: bool) -> dict[str, Any]:
    meta = {
        "type": "object",
        "properties": {
            "timestamp": {"type": "string", "format": "date-time"},
            "requestId": {"type": "string"},
        },
    }
    if dialect.name == "gateway":
        properties: dict[str, Any] = {"success": {"type": "boolean"}, "data": data, "meta": meta}
        if paginated:
            properties["pagination"] = _pagination(("page", "limit", "total", "pages"))
        return {"type": "object", "properties": properties, "required": ["success", "data"]}
    properties = {"data": data}
    if paginated:
        properties["meta"] = {
            "type": "object",
            "properties": {"pagination": _pagination(("page", "limit", "total", "totalPages"))},
        }
    return {"type": "object", "properties": properties, "required": ["data"]}


def _pagination(names: tuple[str, ...]) -> dict[str, Any]:
    return {"type": "object", "properties": {n: {"type": "integer"} for n in names}}


def _error_schema(dialect: Dialect) -> dict[str, Any]:
    error = {
        "type": "object",
        "properties": {
            "code": {"type": "string"},
            "message": {"type": "string"},
            "details": {"type": "object", "additionalProperties": True},
        },
        "required": ["code", "message"],
    }
    if dialect.name == "gateway":
        return {
            "type": "object",
            "properties": {
                "success": {"type": "boolean"},
                "error": error,
                "meta": {"type": "object"},
            },
            "required": ["success", "error"],
        }
    return {"type": "object", "properties": {"error": error}, "required": ["error"]}


def _parameter(param: Param, where: str) -> dict[str, Any]:
    schema: dict[str, Any] = {
        "date-time": {"type": "string", "format": "date-time"},
        "csv": {"type": "array", "items": {"type": "string"}},
    }.get(param.type, {"type": param.type})
    if param.type == "integer":
        schema["format"] = "int32"  # GraphQL's Int
    if param.minimum is not None:
        schema["minimum"] = param.minimum
    extra = {"style": "form", "explode": False} if param.type == "csv" else {}
    return {
        **extra,
        "name": param.name,
        "in": where,
        "required": where == "path" or param.required,
        "description": param.description,
        "schema": schema,
    }


def _operation(route: RestRoute, schema: strawberry.Schema) -> dict[str, Any]:
    graphql_schema = schema._schema
    document = parse(route.operation)
    operation = next(d for d in document.definitions if isinstance(d, OperationDefinitionNode))
    root = (
        graphql_schema.mutation_type
        if operation.operation.value == "mutation"
        else graphql_schema.query_type
    )
    assert root is not None
    field_node = next(
        n
        for n in operation.selection_set.selections
        if isinstance(n, FieldNode) and (n.alias or n.name).value == route.result
    )
    field_type = root.fields[field_node.name.value].type
    fragments = {
        d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
    }
    data = output_schema(field_type, field_node.selection_set, fragments)
    if route.paginated:
        data = data["properties"]["items"]
    if route.shaped_schema is not None:
        data = (
            {"type": "array", "items": route.shaped_schema}
            if route.paginated
            else route.shaped_schema
        )
    parameters = [
        _parameter(
            p, "path" if p in route.path_params else "header" if p in route.headers else "query"
        )
        for p in route.parameters()
    ]
    error_statuses = sorted(
        {route.dialect.statuses[c][0] for c in ("UNAUTHORIZED", "FORBIDDEN", "RATE_LIMITED")}
        | {route.dialect.statuses["VALIDATION_FAILED"][0]}
        # Anything a route names, in its path or its body, may not exist.
        | {404}
        | ({413} if route.body else set())
        | set(route.extra_responses)
    )
    responses: dict[str, Any] = {
        str(route.status): {
            "description": "Success",
            "content": {
                "application/json": {"schema": _envelope(route.dialect, data, route.paginated)}
            },
        }
    }
    for status in error_statuses:
        responses[str(status)] = {
            "description": route.extra_responses.get(
                status, ERROR_DESCRIPTIONS.get(status, "Error")
            ),
            "content": {"application/json": {"schema": _error_schema(route.dialect)}},
        }
    description = route.description
    if route.permission:
        description = f"{description}\n\nRequires `{route.permission}`.".strip()
    result: dict[str, Any] = {
        "operationId": f"{route.dialect.name}_{route.method.lower()}_{_slug(route.path)}",
        "summary": route.summary,
        "description": description,
        "tags": [route.tag],
        "parameters": parameters,
        "responses": responses,
    }
    if route.body is not None:
        variable = next(
            d for d in operation.variable_definitions if d.variable.name.value == route.body
        )
        body_type = type_from_ast(graphql_schema, variable.type)
        body_schema = route.body_schema or input_schema(body_type)
        result["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": body_schema}},
        }
    return result


def _slug(path: str) -> str:
    return "".join(c if c.isalnum() else "_" for c in path).strip("_")


PLATFORM_PATHS: dict[str, Any] = {
    "/api/health": {
        "get": {
            "operationId": "health",
            "summary": "Server status, version and database connectivity",
            "tags": ["platform"],
            "security": [],
            "responses": {
                "200": {
                    "description": "Healthy",
                    "content": {
                        "application/json": {
                            "schema": {
                                "type": "object",
                                "properties": {
                                    "status": {"type": "string", "enum": ["ok"]},
                                    "version": {"type": "string"},
                                },
                            }
                        }
                    },
                },
                "503": {
                    "description": "The database is unreachable",
                    "content": {
                        "application/json": {
                            "schema": {
                                "type": "object",
                                "properties": {
                                    "status": {"type": "string", "enum": ["error"]},
                                    "version": {"type": "string"},
                                    "database": {"type": "string", "enum": ["unreachable"]},
                                },
                            }
                        }
                    },
                },
            },
        }
    },
    "/api/payments/webhook": {
        "post": {
            "operationId": "payment_webhook",
            "summary": "Payment provider webhook receiver",
            "description": "Signed with `Stripe-Signature: t=<unix>,v1=<hex HMAC-SHA256 of "
            '"t.body">` (CARTOGRAPH_PAYMENT_WEBHOOK_SECRET, 5-minute tolerance). '
            "`payment_intent.succeeded` with `metadata.orderId` confirms the order; a replayed "
            "event id changes nothing.",
            "tags": ["payments"],
            "security": [],
            "parameters": [
                {
                    "name": "Stripe-Signature",
                    "in": "header",
                    "required": True,
                    "schema": {"type": "string"},
                }
            ],
            "requestBody": {
                "required": True,
                "content": {
                    "application/json": {"schema": {"type": "object", "additionalProperties": True}}
                },
            },
            "responses": {
                "200": {
                    "description": "Received",
                    "content": {
                        "application/json": {
                            "schema": {"type": "object", "properties": {"data": {"type": "object"}}}
                        }
                    },
                },
                "400": {
                    "description": "Bad or missing signature; nothing changed",
                    "content": {"application/json": {"schema": {"type": "object"}}},
                },
                "409": {
                    "description": "Amount or currency is not the order's",
                    "content": {"application/json": {"schema": {"type": "object"}}},
                },
                "413": {
                    "description": "Body too large",
                    "content": {"application/json": {"schema": {"type": "object"}}},
                },
                "422": {
                    "description": "Not a provider event",
                    "content": {"application/json": {"schema": {"type": "object"}}},
                },
                "429": {
                    "description": "Rate limited",
                    "content": {"application/json": {"schema": {"type": "object"}}},
                },
            },
        }
    },
    "/api/doc": {
        "get": {
            "operationId": "openapi",
            "summary": "This OpenAPI 3 document",
            "tags": ["platform"],
            "security": [],
            "responses": {"200": {"description": "The document"}},
        }
    },
    "/api/reference": {
        "get": {
            "operationId": "reference",
            "summary": "Swagger UI for this document",
            "tags": ["platform"],
            "security": [],
            "responses": {"200": {"description": "An HTML page", "content": {"text/html": {}}}},
        }
    },
}


def build_openapi(routes: list[RestRoute], schema: strawberry.Schema) -> dict[str, Any]:
    paths: dict[str, Any] = {k: dict(v) for k, v in PLATFORM_PATHS.items()}
    for route in routes:
        paths.setdefault(route.path, {})[route.method.lower()] = _operation(route, schema)
    return {
        "openapi": "3.0.3",
        "info": {
            "title": "Cartograph REST API",
            "version": __version__,
            "description": (
                "The REST faces of Cartograph. `/api/...` speaks the engine dialect "
                "(`{data}` envelopes, money in minor units); `/api/v1/...` speaks the gateway "
                "dialect (`{success, data, meta}` envelopes). Every route runs a GraphQL "
                "operation of `/graphql`."
            ),
        },
        "servers": [{"url": "/"}],
        "components": {
            "securitySchemes": {
                "apiKey": {"type": "apiKey", "in": "header", "name": "x-api-key"},
                "bearer": {"type": "http", "scheme": "bearer"},
            }
        },
        "security": [{"apiKey": []}, {"bearer": []}],
        "paths": paths,
    }
