"""The OpenAPI 3 document, generated from the route table: every route with its parameters,
its body (from the GraphQL input type, less what the path gives) and its responses (from the
operation's selection), every resource, body, envelope and error a named component
(`app.rest.components`) so that generated clients get one model each."""

from __future__ import annotations

from typing import Any

import strawberry
from graphql import (
    GraphQLEnumType,
    GraphQLInputField,
    GraphQLInputObjectType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLScalarType,
    GraphQLType,
    OperationDefinitionNode,
    SelectionSetNode,
    Undefined,
    get_named_type,
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
from app.rest.components import PREFIX, Components, Schema, ref, referring, without_fields
from app.rest.dialects import Dialect
from app.rest.enums import words
from app.rest.oauth import OAUTH_PATHS, OAUTH_SCHEMAS
from app.rest.table import PATH_PARAM, Param, RestRoute

SCALARS: dict[str, Schema] = {
    "String": {"type": "string"},
    "ID": {"type": "string"},
    "Int": {"type": "integer", "format": "int32"},
    "Float": {"type": "number"},
    "Boolean": {"type": "boolean"},
    "DateTime": {"type": "string", "format": "date-time"},
    "UUID": {"type": "string", "format": "uuid"},
    "JSON": {"type": "object", "additionalProperties": True},
    "Upload": {"type": "string", "format": "binary"},
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
    503: "The database is unavailable (SERVICE_UNAVAILABLE); retry after Retry-After seconds",
}
# Every route reads or writes the database, so any may answer 503 while it is out of reach.
RETRY_AFTER_HEADER = {
    "Retry-After": {"description": "Seconds to wait", "schema": {"type": "integer"}}
}


def _scalar(type_: GraphQLScalarType) -> Schema:
    return dict(SCALARS.get(type_.name, {"type": "string"}))


def _described(schema: Schema, description: str | None) -> Schema:
    if not description:
        return schema
    if "$ref" in schema:
        return referring(schema, description=description)
    return {**schema, "description": description}


def input_schema(type_: GraphQLType, components: Components) -> Schema:
    """An input type's JSON Schema; input object types become shared components."""
    if isinstance(type_, GraphQLNonNull):
        return input_schema(type_.of_type, components)
    if isinstance(type_, GraphQLList):
        return {"type": "array", "items": input_schema(type_.of_type, components)}
    if isinstance(type_, GraphQLEnumType):
        return {"type": "string", "enum": list(words(type_))}
    if isinstance(type_, GraphQLInputObjectType):
        if type_.name in components.schemas:  # also ends recursive input types
            return ref(type_.name)
        return components.add(type_.name, input_object_schema(type_, components))
    assert isinstance(type_, GraphQLScalarType)
    return _scalar(type_)


def input_object_schema(type_: GraphQLInputObjectType, components: Components) -> Schema:
    properties = {name: _input_field(field, components) for name, field in type_.fields.items()}
    # An unknown field is refused (as GraphQL does), so the document says so.
    schema: Schema = {"type": "object", "properties": properties, "additionalProperties": False}
    if type_.description:
        schema["description"] = type_.description
    required = [
        n
        for n, f in type_.fields.items()
        if isinstance(f.type, GraphQLNonNull) and f.default_value is Undefined
    ]
    if required:
        schema["required"] = required
    return schema


def _input_field(field: GraphQLInputField, components: Components) -> Schema:
    schema = _described(input_schema(field.type, components), field.description)
    extra = _constraints(field.extensions)
    if extra and "$ref" in schema:
        schema = {"allOf": [schema]}
    return _merge(schema, extra)


def _constraints(extensions: dict[str, Any] | None) -> Schema:
    """JSON Schema constraints declared on a Strawberry input field:
    `strawberry.field(metadata={"jsonschema": {"minLength": 1}})`."""
    definition = (extensions or {}).get("strawberry-definition")
    return dict(getattr(definition, "metadata", {}).get("jsonschema", {}))


def _merge(schema: Schema, extra: Schema) -> Schema:
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(schema.get(key), dict):
            schema[key] = _merge(schema[key], value)
        else:
            schema[key] = value
    return schema


def _fields(
    selection: SelectionSetNode,
    fragments: dict[str, FragmentDefinitionNode],
    conditional: bool = False,
) -> list[tuple[FieldNode, bool]]:
    """The fields of a selection set, with fragment spreads and inline fragments expanded;
    each says whether it is conditional (under `@include`/`@skip` or a type condition)."""
    found: list[tuple[FieldNode, bool]] = []
    for node in selection.selections:
        maybe = conditional or bool(node.directives)
        if isinstance(node, FieldNode):
            found.append((node, maybe))
        elif isinstance(node, FragmentSpreadNode):
            fragment = fragments[node.name.value]
            found += _fields(fragment.selection_set, fragments, maybe)
        elif isinstance(node, InlineFragmentNode):
            found += _fields(node.selection_set, fragments, maybe or bool(node.type_condition))
    return found


def output_schema(
    type_: GraphQLType,
    selection: SelectionSetNode | None,
    fragments: dict[str, FragmentDefinitionNode],
    components: Components,
) -> Schema:
    """The JSON Schema of a selection; each object type it selects from is one shared
    component holding every field that any route selects."""
    nullable = not isinstance(type_, GraphQLNonNull)
    inner = type_.of_type if isinstance(type_, GraphQLNonNull) else type_
    if isinstance(inner, GraphQLObjectType) and selection is not None:
        properties: Schema = {}
        required: list[str] = []
        for node, conditional in _fields(selection, fragments):
            field = inner.fields[node.name.value]
            key = node.alias.value if node.alias else node.name.value
            field_schema = output_schema(field.type, node.selection_set, fragments, components)
            properties[key] = _described(field_schema, field.description)
            if not conditional and key not in required:
                required.append(key)
        target = components.add_selection(inner.name, properties, required, inner.description)
        return referring(target, nullable=nullable)
    if isinstance(inner, GraphQLList):
        schema: Schema = {
            "type": "array",
            "items": output_schema(inner.of_type, selection, fragments, components),
        }
    elif isinstance(inner, GraphQLEnumType):
        schema = {"type": "string", "enum": list(words(inner))}
    else:
        assert isinstance(inner, GraphQLScalarType)
        schema = _scalar(inner)
    if nullable:
        schema["nullable"] = True
    return schema


def _common_schemas(components: Components) -> None:
    """The dialects' envelopes and errors, shared by every route."""
    integer = {"type": "integer"}
    components.add(
        "Error",
        {
            "type": "object",
            "description": "What went wrong: a stable code, a message, and per-field details "
            "(field path -> problem) for validation errors.",
            "properties": {
                "code": {"type": "string"},
                "message": {"type": "string"},
                "details": {"type": "object", "additionalProperties": True},
            },
            "required": ["code", "message"],
        },
    )
    components.add(
        "EngineError",
        {
            "type": "object",
            "description": "The engine dialect's error envelope.",
            "properties": {"error": ref("Error")},
            "required": ["error"],
        },
    )
    components.add(
        "EnginePagination",
        {
            "type": "object",
            "properties": {n: integer for n in ("page", "limit", "total", "totalPages")},
            "required": ["page", "limit", "total", "totalPages"],
        },
    )
    components.add(
        "EnginePageMeta",
        {
            "type": "object",
            "properties": {"pagination": ref("EnginePagination")},
            "required": ["pagination"],
        },
    )
    components.add(
        "GatewayMeta",
        {
            "type": "object",
            "properties": {
                "timestamp": {"type": "string", "format": "date-time"},
                "requestId": {"type": "string"},
            },
            "required": ["timestamp", "requestId"],
        },
    )
    components.add(
        "GatewaySuccess",
        {
            "type": "object",
            "description": "The gateway dialect's success envelope; `data` is the payload.",
            "properties": {"success": {"type": "boolean"}, "meta": ref("GatewayMeta")},
            "required": ["success", "meta"],
        },
    )
    components.add(
        "GatewayPagination",
        {
            "type": "object",
            "properties": {n: integer for n in ("page", "limit", "total", "pages")},
            "required": ["page", "limit", "total", "pages"],
        },
    )
    components.add(
        "GatewayError",
        {
            "type": "object",
            "description": "The gateway dialect's error envelope.",
            "properties": {
                "success": {"type": "boolean"},
                "error": ref("Error"),
                "meta": ref("GatewayMeta"),
            },
            "required": ["success", "error", "meta"],
        },
    )


def _payload_name(route: RestRoute, data: Schema) -> str:
    """The component name a payload is referenced by (`Cart`, or `Cart` for a list of them)."""
    node = data["items"] if data.get("type") == "array" else data
    if "allOf" in node and len(node["allOf"]) == 1:
        node = node["allOf"][0]
    if "$ref" not in node:
        raise ValueError(
            f"{route.method} {route.path}: its payload needs a name: give its shaped_schema a title"
        )
    name: str = node["$ref"]
    return name.removeprefix(PREFIX)


def _envelope(route: RestRoute, data: Schema, components: Components) -> Schema:
    """The route's success envelope, one shared component per dialect and payload."""
    name = _payload_name(route, data)
    is_list = data.get("type") == "array"
    suffix = "Page" if route.paginated else "ListResponse" if is_list else "Response"
    properties: Schema = {"data": data}
    required = ["data"]
    if route.dialect.name == "gateway":
        if route.paginated:
            properties["pagination"] = ref("GatewayPagination")
            required.append("pagination")
        own = {"type": "object", "properties": properties, "required": required}
        if not route.paginated and not name.startswith("Gateway"):
            # `{data}` alone is the engine's envelope of the same payload: shared, not copied.
            own = components.add(f"{name}{suffix}", own)
        schema: Schema = {"allOf": [ref("GatewaySuccess"), own]}
        return components.add(f"Gateway{name.removeprefix('Gateway')}{suffix}", schema)
    if route.paginated:
        properties["meta"] = ref("EnginePageMeta")
        required.append("meta")
    schema = {"type": "object", "properties": properties, "required": required}
    return components.add(f"{name}{suffix}", schema)


def _error_schema(dialect: Dialect) -> Schema:
    return ref("GatewayError" if dialect.name == "gateway" else "EngineError")


def _parameter(param: Param, where: str) -> Schema:
    special: dict[str, Schema] = {
        "date-time": {"type": "string", "format": "date-time"},
        "csv": {"type": "array", "items": {"type": "string"}},
    }
    schema = special.get(param.type, {"type": param.type})
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


def _closed(schema: Schema) -> Schema:
    """A hand-written body schema that refuses unknown fields, as the route does: the object
    and the untitled objects in it (a titled one is a component shared with answers)."""
    if schema.get("type") == "array" and isinstance(schema.get("items"), dict):
        return {**schema, "items": _closed(schema["items"])}
    if schema.get("type") != "object" or "properties" not in schema:
        return schema
    properties = {k: v if "title" in v else _closed(v) for k, v in schema["properties"].items()}
    return {"additionalProperties": False, **schema, "properties": properties}


def _request_body(route: RestRoute, body_type: GraphQLType, components: Components) -> Schema:
    """The body's schema, named: the input type without the fields its path fills in
    (`POST /api/carts/{id}/items` takes no `cartId`: the path gives it)."""
    from_path = list(route.body_fields_from_path())
    if route.body_schema is not None:
        return components.hoist(_closed(without_fields(route.body_schema, from_path)))
    named = body_type.of_type if isinstance(body_type, GraphQLNonNull) else body_type
    assert isinstance(named, GraphQLInputObjectType), f"{route.path}: body is not an input"
    schema = input_object_schema(named, components)
    if not from_path:
        return components.add(named.name, schema)
    return components.add(
        f"{named.name.removesuffix('Input')}Body", without_fields(schema, from_path)
    )


def _operation(route: RestRoute, schema: strawberry.Schema, components: Components) -> Schema:
    graphql_schema = schema._schema
    document = parse(route.operation)
    operation = next(d for d in document.definitions if isinstance(d, OperationDefinitionNode))
    root = (
        graphql_schema.mutation_type
        if operation.operation.value == "mutation"
        else graphql_schema.query_type
    )
    assert root is not None
    # The payload's field, below the root field when the route names a path (`me.orders`).
    parent: GraphQLObjectType = root
    selection_set = operation.selection_set
    for name in route.result.split("."):
        field_node = next(
            n
            for n in selection_set.selections
            if isinstance(n, FieldNode) and (n.alias or n.name).value == name
        )
        field_type = parent.fields[field_node.name.value].type
        named = get_named_type(field_type)
        if isinstance(named, GraphQLObjectType) and field_node.selection_set is not None:
            parent, selection_set = named, field_node.selection_set
    fragments = {
        d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
    }
    if route.shaped_schema is not None:
        shaped = components.hoist(route.shaped_schema)
        data = {"type": "array", "items": shaped} if route.paginated else shaped
    elif route.paginated:
        # A connection: the payload is its `items`; `totalCount` and `pageInfo` become meta.
        connection = field_type.of_type if isinstance(field_type, GraphQLNonNull) else field_type
        assert isinstance(connection, GraphQLObjectType) and field_node.selection_set
        items = next(
            node
            for node, _ in _fields(field_node.selection_set, fragments)
            if node.name.value == "items"
        )
        data = output_schema(
            connection.fields["items"].type, items.selection_set, fragments, components
        )
    else:
        data = output_schema(field_type, field_node.selection_set, fragments, components)
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
        | {503}
        | set(route.extra_responses)
    )
    if route.envelope:
        success = _envelope(route, data, components)
    elif isinstance(field_type, GraphQLNonNull):
        success = data  # the payload is the body
    else:  # ... or `null` (get-session without a session)
        nullable: Schema = {"allOf": [data], "nullable": True}
        success = components.add(f"{_payload_name(route, data)}OrNull", nullable)
    responses: Schema = {
        str(route.status): {
            "description": "Success",
            "content": {"application/json": {"schema": success}},
        }
    }
    if route.redirect is not None:
        responses = {
            str(route.status): {
                "description": "Found: the file is at the Location URL",
                "headers": {
                    "Location": {"description": "The file's URL", "schema": {"type": "string"}}
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
        if status == 503:
            responses[str(status)]["headers"] = RETRY_AFTER_HEADER
    description = route.description
    if route.permission:
        description = f"{description}\n\nRequires `{route.permission}`.".strip()
    result: Schema = {
        "operationId": f"{route.dialect.name}_{route.method.lower()}_{_slug(route.path)}",
        "summary": route.summary,
        "description": description,
        "tags": [route.tag],
        "parameters": parameters,
        "responses": responses,
    }
    if route.session:
        result["security"] = [{"sessionCookie": []}]
    if route.body is not None:
        variable = next(
            d for d in operation.variable_definitions or () if d.variable.name.value == route.body
        )
        body_type = type_from_ast(graphql_schema, variable.type)
        assert body_type is not None
        media_type = "multipart/form-data" if route.form else "application/json"
        result["requestBody"] = {
            "required": not route.optional_body,
            "content": {media_type: {"schema": _request_body(route, body_type, components)}},
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
                    "content": {"application/json": {"schema": ref("EngineError")}},
                },
                "409": {
                    "description": "Amount or currency is not the order's",
                    "content": {"application/json": {"schema": ref("EngineError")}},
                },
                "413": {
                    "description": "Body too large",
                    "content": {"application/json": {"schema": ref("EngineError")}},
                },
                "422": {
                    "description": "Not a provider event",
                    "content": {"application/json": {"schema": ref("EngineError")}},
                },
                "429": {
                    "description": "Rate limited",
                    "content": {"application/json": {"schema": ref("EngineError")}},
                },
                "503": {
                    "description": ERROR_DESCRIPTIONS[503],
                    "headers": RETRY_AFTER_HEADER,
                    "content": {"application/json": {"schema": ref("EngineError")}},
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


def _component(schema: Schema, components: Components) -> Schema:
    """A schema with its reference (or one-item `allOf` around one) followed."""
    while True:
        if "$ref" in schema:
            schema = components.schemas[schema["$ref"].removeprefix(PREFIX)]
        elif len(schema.get("allOf", [])) == 1 and "properties" not in schema:
            schema = schema["allOf"][0]
        else:
            return schema


def _answers_created_id(route: RestRoute, operation: Schema, components: Components) -> bool:
    """Whether the route's success envelope always carries a single resource with an `id`
    (`data.id`), in the engine's `{data}` or the gateway's `allOf` envelope alike."""
    success = operation["responses"][str(route.status)]["content"]["application/json"]
    envelope = _component(success["schema"], components)
    for part in [envelope, *(_component(p, components) for p in envelope.get("allOf", []))]:
        if "data" in part.get("properties", {}):
            data = _component(part["properties"]["data"], components)
            return "id" in data.get("required", []) and "id" in data.get("properties", {})
    return False


def add_links(paths: Schema, routes: list[RestRoute], components: Components) -> None:
    """OpenAPI links from each create to what can be done with what it created: a POST on a
    collection (`/api/carts`, no path parameter of its own) answering 201 with `data.id`
    links to every operation under `{collection}/{param}`, with `param` bound to that id.
    Clients (and the fuzzer's stateful phase) follow them from a new resource to its routes."""
    for route in routes:
        if route.method != "POST" or route.status != 201 or route.path_params:
            continue
        operation = paths[route.path]["post"]
        if not _answers_created_id(route, operation, components):
            continue
        links: Schema = {}
        prefix = f"{route.path}/"
        for target in routes:
            rest = target.path.removeprefix(prefix)
            if rest == target.path or not (match := PATH_PARAM.match(rest.split("/")[0])):
                continue
            if match.group(0) != rest.split("/")[0]:
                continue
            target_id = paths[target.path][target.method.lower()]["operationId"]
            links[target_id] = {
                "operationId": target_id,
                "parameters": {match.group(1): "$response.body#/data/id"},
                "description": f"The created resource's `id` as `{match.group(1)}`.",
            }
        if links:
            operation["responses"][str(route.status)]["links"] = links


def build_openapi(routes: list[RestRoute], schema: strawberry.Schema) -> Schema:
    components = Components()
    _common_schemas(components)
    for name, fixed in OAUTH_SCHEMAS.items():
        components.add(name, fixed)
    paths: Schema = {k: dict(v) for k, v in {**PLATFORM_PATHS, **OAUTH_PATHS}.items()}
    for route in routes:
        paths.setdefault(route.path, {})[route.method.lower()] = _operation(
            route, schema, components
        )
    add_links(paths, routes, components)
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
            "schemas": components.sorted(),
            "securitySchemes": {
                "apiKey": {"type": "apiKey", "in": "header", "name": "x-api-key"},
                "bearer": {"type": "http", "scheme": "bearer"},
                # The OAuth endpoints' client authentication (client_secret_basic).
                "clientBasic": {"type": "http", "scheme": "basic"},
                # The default name; CARTOGRAPH_SESSION_COOKIE may rename it.
                "sessionCookie": {"type": "apiKey", "in": "cookie", "name": "cartograph_session"},
            },
        },
        "security": [{"apiKey": []}, {"bearer": []}],
        "paths": paths,
    }
