"""The `/graphql` endpoint: GraphQL over HTTP, GraphQL over websocket, and GraphiQL.

HTTP follows the GraphQL-over-HTTP spec (`graphql-http`'s audit passes every MUST and
SHOULD): a client that accepts `application/graphql-response+json` gets it, with 400 for a
request that never reaches execution (a document that does not parse or validate, variables
that do not coerce) and no `data` entry then; every other client gets `application/json`
with the legacy 200 for any GraphQL result. GET runs queries, POST queries and mutations;
a mutation over GET is 405, a subscription over HTTP 400 (they are served over websocket).
A request that cannot be read (bad JSON, no query) is a 400 in the GraphQL error shape, in
the negotiated media type. A result the database failed (SERVICE_UNAVAILABLE: it is down, or
a statement timed out) is a 503 with `Retry-After` in either media type: the server's state,
not a GraphQL answer. Websockets are `app.resolvers.websocket`'s.

Persisted documents (APQ, and the allow-list of registered documents) are
`app.resolvers.persisted`'s; what HTTP caches may keep (`Cache-Control`, `Vary`, `ETag`) is
`app.resolvers.http_cache`'s.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache
from typing import Any

import mimeparse
import orjson
import strawberry
from cross_web import AsyncHTTPRequestAdapter, HTTPException
from graphql import GraphQLError, OperationDefinitionNode, parse
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.exceptions import MissingQueryError
from strawberry.http import GraphQLHTTPResponse, GraphQLRequestData
from strawberry.schema.exceptions import CannotGetOperationTypeError, InvalidOperationTypeError
from strawberry.types import ExecutionResult
from strawberry.types.graphql import OperationType

from app.db import Database
from app.errors import ServiceUnavailable
from app.middleware.rate_limit import RateLimiter
from app.resolvers.context import Context
from app.resolvers.http_cache import (
    NO_STORE,
    VARY,
    anonymous,
    etag_matches,
    etag_of,
    public_cache_control,
    public_operation,
)
from app.resolvers.persisted import MemoryDocuments, PersistedDocuments, Refused
from app.resolvers.websocket import LegacyWSHandler, TextFrames, TransportWSHandler
from app.responses import dumps
from app.rest.dialects import GRAPHQL

JSON = "application/json"
GRAPHQL_RESPONSE = "application/graphql-response+json"
GRAPHQL_RESPONSE_TYPE = "application/graphql-response+json; charset=utf-8"

# What each method runs; subscriptions are served over websocket.
OPERATIONS_BY_METHOD: Mapping[str, frozenset[OperationType]] = {
    "GET": frozenset({OperationType.QUERY}),
    "POST": frozenset({OperationType.QUERY, OperationType.MUTATION}),
}


# Where the request's operation name is left (scope state) for the telemetry middleware.
OPERATION_KEY = "graphql_operation"
# Documents longer than this are not parsed for their operation's name (a named request
# still says it in `operationName`); the token cap bounds the work on hostile ones.
NAMED_DOCUMENT_CHARS = 20_000
NAMED_DOCUMENT_TOKENS = 5000


@lru_cache(maxsize=256)
def operation_name_in(query: str) -> str:
    """The name of the document's only operation; "" when it has none, or several, or does
    not parse (its errors are the executor's to report)."""
    try:
        document = parse(query, no_location=True, max_tokens=NAMED_DOCUMENT_TOKENS)
    except GraphQLError:
        return ""
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    if len(operations) == 1 and operations[0].name is not None:
        return operations[0].name.value
    return ""


def operation_label(operation_name: str | None, query: str | None) -> str:
    """The operation a request runs, by name ("" for an unnamed one); `query` is the document
    run (a persisted query's, when the request sent only its hash)."""
    if operation_name:
        return operation_name
    if not query or len(query) > NAMED_DOCUMENT_CHARS:
        return ""
    return operation_name_in(query)


class RequestRefused(HTTPException):
    """A request refused before execution, with the headers its answer needs."""

    def __init__(
        self,
        status_code: int,
        reason: str,
        headers: Mapping[str, str] | None = None,
        code: str | None = None,
    ):
        super().__init__(status_code, reason)
        self.headers = dict(headers or {})
        self.code = code


def response_media_type(accept: str | None) -> str:
    """`application/graphql-response+json` when the Accept header names it and likes it no
    less than `application/json`; else `application/json`, the spec's default for a client
    that does not ask (no Accept, `*/*`, or an Accept naming neither)."""
    if not accept:
        return JSON
    try:
        ranges = [mimeparse.parse_media_range(part) for part in accept.split(",")]
        liking_json = mimeparse.quality(JSON, accept)
    except ValueError:
        return JSON
    liking = max(
        (
            float(params["q"])
            for kind, subtype, params in ranges
            if (kind, subtype) == ("application", "graphql-response+json")
        ),
        default=0.0,
    )
    return GRAPHQL_RESPONSE if liking > 0 and liking >= liking_json else JSON


def is_request_error(body: Mapping[str, Any]) -> bool:
    """Whether a result never reached execution: no data, and no error at a field's path
    (a field error that nulls the whole result has one)."""
    errors = body.get("errors") or []
    return body.get("data") is None and bool(errors) and not any("path" in e for e in errors)


def request_error_status(body: Mapping[str, Any]) -> int:
    """The status of a request error: its first error's code's (VALIDATION_FAILED: 400)."""
    code = (body["errors"][0].get("extensions") or {}).get("code", "INTERNAL_ERROR")
    return GRAPHQL.statuses.get(code, (500, "INTERNAL_ERROR"))[0]


def unavailable_error(body: Mapping[str, Any]) -> bool:
    """Whether the database failed the result (SERVICE_UNAVAILABLE): that is no GraphQL
    answer but the server's state, told in HTTP too (503, Retry-After) in either media type."""
    return any(
        (error.get("extensions") or {}).get("code") == ServiceUnavailable.code
        for error in body.get("errors") or []
    )


def refused_body(refused: HTTPException) -> dict[str, Any]:
    code = getattr(refused, "code", None) or (
        "NOT_FOUND" if refused.status_code == 404 else "VALIDATION_FAILED"
    )
    return {"errors": [{"message": refused.reason, "extensions": {"code": code}}]}


def operation_not_served(operation_type: OperationType, method: str) -> RequestRefused:
    if operation_type is OperationType.SUBSCRIPTION:
        return RequestRefused(
            400,
            "Subscriptions are not served over HTTP: open a websocket to /graphql "
            "(graphql-transport-ws or graphql-ws).",
        )
    return RequestRefused(
        405, f"{operation_type.value.capitalize()}s need POST.", headers={"Allow": "POST"}
    )


def ran(result: ExecutionResult) -> bool:
    """Whether the document reached execution (it parsed, validated and was priced): data, or
    an error at a field's path."""
    return result.data is not None or any(error.path for error in result.errors or [])


def without_throttle_status(body: Mapping[str, Any]) -> dict[str, Any]:
    """A public answer less `extensions.cost.throttleStatus`: one client's budget is not for a
    shared cache to hand to others."""
    extensions = dict(body.get("extensions") or {})
    if isinstance(cost := extensions.get("cost"), dict) and "throttleStatus" in cost:
        extensions["cost"] = {k: v for k, v in cost.items() if k != "throttleStatus"}
        return {**body, "extensions": extensions}
    return dict(body)


GRAPHIQL_HTML = """<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>Cartograph GraphiQL</title>
  <link rel="stylesheet" href="/static/graphiql/graphiql.min.css">
  <style>body { margin: 0; height: 100vh; } #graphiql { height: 100vh; }</style>
</head>
<body>
  <div id="graphiql">Loading GraphiQL...</div>
  <script src="/static/graphiql/react.production.min.js"></script>
  <script src="/static/graphiql/react-dom.production.min.js"></script>
  <script src="/static/graphiql/graphiql.min.js"></script>
  <script>
    const scheme = location.protocol === "https:" ? "wss://" : "ws://";
    const wsUrl = scheme + location.host + "/graphql";
    // With `subscriptionUrl` (not a ready-made wsClient) GraphiQL opens a socket per
    // subscription and sends the Headers tab as its connection_init payload.
    const graphiqlFetcher = GraphiQL.createFetcher({ url: "/graphql", subscriptionUrl: wsUrl });
    // GraphiQL routes an operation by the editor's parse, which it makes 100 ms after the last
    // keystroke: a run started sooner (Ctrl-Enter right after typing) sent the previous text's
    // kind, a subscription over HTTP. Route by the document actually sent.
    const parsed = (query) => {
      try { return GraphiQL.GraphQL.parse(query); } catch { return undefined; }
    };
    const fetcher = (params, options) => graphiqlFetcher(
      params, { ...options, documentAST: parsed(params.query) ?? options?.documentAST });
    ReactDOM.createRoot(document.getElementById("graphiql")).render(
      React.createElement(GraphiQL, {
        fetcher,
        isHeadersEditorEnabled: true,
        defaultHeaders: '{"x-api-key": ""}',
      })
    );
  </script>
</body>
</html>
"""


class GraphQLApp(GraphQL[Context, None]):
    websocket_adapter_class = TextFrames
    graphql_transport_ws_handler_class = TransportWSHandler
    graphql_ws_handler_class = LegacyWSHandler

    def __init__(
        self,
        schema: strawberry.Schema,
        *,
        database: Database,
        limiter: RateLimiter,
        graphiql: bool,
        max_message_bytes: int = 1_048_576,
        max_operations: int = 20,
        keep_alive_seconds: float = 15.0,
        name_operations: bool = False,
        documents: PersistedDocuments | None = None,
        session_cookie: str = "cartograph_session",
        get_max_age: int = 0,
    ):
        super().__init__(
            schema,
            graphql_ide="graphiql" if graphiql else None,
            keep_alive=keep_alive_seconds > 0,
            keep_alive_interval=keep_alive_seconds,
            max_subscriptions_per_connection=max_operations,
            # File uploads (the GraphQL multipart request spec); the CSRF middleware makes
            # them carry a preflight-forcing header.
            multipart_uploads_enabled=True,
        )
        self.database = database
        self.limiter = limiter
        # Seconds between the server's pings on an idle socket (0: none; `TransportWSHandler`).
        self.keep_alive_seconds = keep_alive_seconds
        # A websocket message obeys the request body limit (`TextFrames`).
        self.max_message_bytes = max_message_bytes
        # Whether to tell the telemetry middleware which operation each request ran.
        self.name_operations = name_operations
        # APQ and the allow-list (`app.resolvers.persisted`); websockets obey the allow-list.
        self.documents = documents or PersistedDocuments(store=MemoryDocuments(1024))
        # Who is anonymous, and how long a shared cache may keep a public answer (0: none is).
        self.session_cookie = session_cookie
        self.get_max_age = get_max_age

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await super().__call__(scope, receive, send)
            return
        request = Request(scope, receive)
        try:
            response = await self.run(request)
        except HTTPException as refused:
            media_type = response_media_type(request.headers.get("accept"))
            response = Response(
                self.encode_json(refused_body(refused)),
                status_code=refused.status_code,
                headers=getattr(refused, "headers", None),
                media_type=GRAPHQL_RESPONSE_TYPE if media_type == GRAPHQL_RESPONSE else JSON,
            )
        response = self.cache_headers(request, response)
        await response(scope, receive, send)

    def cache_headers(self, request: Request, response: Response) -> Response:
        """`Vary` on every GET; a public answer's `ETag` (304 when the client holds it); and
        `no-store` on everything that is not public (`app.resolvers.http_cache`)."""
        if request.method == "GET":
            response.headers["Vary"] = VARY
        if response.status_code != 200 or not response.headers.get("cache-control", "").startswith(
            "public"
        ):
            response.headers["Cache-Control"] = NO_STORE
            return response
        etag = etag_of(bytes(response.body))
        response.headers["ETag"] = etag
        if etag_matches(request.headers.get("if-none-match"), etag):
            keep = ("cache-control", "etag", "vary")
            return Response(
                status_code=304, headers={k: v for k, v in response.headers.items() if k in keep}
            )
        return response

    def should_render_graphql_ide(self, request: Any) -> bool:
        # A GET with only `extensions` (a persisted query's hash) asks for a result, whatever
        # its Accept header says (curl sends */*).
        return "extensions" not in request.query_params and super().should_render_graphql_ide(
            request
        )

    async def get_context(self, request: Request | WebSocket, response: Any) -> Context:
        return Context.for_connection(self.database, request, response)

    def is_websocket_origin_allowed(self, request: WebSocket, origin: str) -> bool:
        # Any page may open a socket and present a key in connection_init: only ambient
        # credentials (the session cookie) need an allowed origin, and the CSRF middleware
        # refuses a cookie-riding handshake from elsewhere (4403) before this view runs.
        return True

    def encode_json(self, data: object) -> bytes:
        return dumps(data)

    def decode_json(self, data: str | bytes) -> object:
        """orjson, which refuses as malformed JSON (400) what the standard library lets through
        to fail later as a 500: bytes that are not UTF-8, nesting past 1024 levels, and
        unpaired surrogates (`"\\ud800"`), which no response could encode. Bodies, GET
        parameters and websocket messages all pass through here."""
        return orjson.loads(data)

    async def execute_single(
        self,
        request: Request,
        request_adapter: AsyncHTTPRequestAdapter,
        sub_response: Response,
        context: Context,
        root_value: None,
        request_data: GraphQLRequestData,
    ) -> ExecutionResult:
        """Strawberry's, with this endpoint's `OPERATIONS_BY_METHOD` and clearer refusals
        (Strawberry would run a subscription sent over HTTP, and fail inside); the document
        may come from a persisted query's hash, and a public answer is marked so."""
        try:
            lookup = await self.documents.resolve(request_data.query, request_data.extensions)
        except Refused as refused:
            raise RequestRefused(refused.status, refused.message, code=refused.code) from refused
        if self.name_operations:
            request.scope.setdefault("state", {})[OPERATION_KEY] = operation_label(
                request_data.operation_name, lookup.query
            )
        try:
            result = await self.schema.execute(
                lookup.query,
                root_value=root_value,
                variable_values=request_data.variables,
                context_value=context,
                operation_name=request_data.operation_name,
                allowed_operation_types=OPERATIONS_BY_METHOD[request_adapter.method],
                operation_extensions=request_data.extensions,
            )
        except InvalidOperationTypeError as error:
            raise operation_not_served(error.operation_type, request_adapter.method) from error
        except CannotGetOperationTypeError as error:
            raise RequestRefused(400, error.as_http_error_reason()) from error
        except MissingQueryError as error:
            raise RequestRefused(400, "No GraphQL query found in the request.") from error
        if lookup.remember is not None and lookup.query is not None and ran(result):
            await self.documents.remember(lookup.remember, lookup.query)
        if (
            self.get_max_age > 0
            and request_adapter.method == "GET"
            and not result.errors
            and lookup.query is not None
            and anonymous(request.headers, request.cookies, self.session_cookie)
            and public_operation(lookup.query, request_data.operation_name)
        ):
            sub_response.headers["Cache-Control"] = public_cache_control(self.get_max_age)
        return result

    async def process_result(
        self, request: Request, result: ExecutionResult
    ) -> GraphQLHTTPResponse:
        response = await super().process_result(request, result)
        # Syntax errors end the operation before `ErrorCodes` sees a result; they are the
        # only errors that arrive here without a code. (Each is a formatted error, a dict.)
        for error in response.get("errors") or []:
            if isinstance(error, dict):
                error.setdefault("extensions", {}).setdefault("code", "VALIDATION_FAILED")
        return response

    async def get_sub_response(self, request: Request | WebSocket) -> Response:
        # The negotiated media type rides on the sub-response to `create_response`.
        sub_response = await super().get_sub_response(request)
        sub_response.media_type = response_media_type(request.headers.get("accept"))
        return sub_response

    def create_response(
        self,
        response_data: GraphQLHTTPResponse | list[GraphQLHTTPResponse],
        sub_response: Response,
    ) -> Response:
        body: Any = response_data
        status = 200
        headers: dict[str, str] = {}
        content_type = JSON
        if sub_response.media_type == GRAPHQL_RESPONSE:
            content_type = GRAPHQL_RESPONSE_TYPE
            if isinstance(body, dict) and is_request_error(body):
                status = request_error_status(body)
                body = {k: v for k, v in body.items() if k != "data"}
        if isinstance(body, dict) and unavailable_error(body):
            status = 503
            headers["Retry-After"] = str(ServiceUnavailable.retry_after)
        if isinstance(body, dict) and "cache-control" in sub_response.headers:
            body = without_throttle_status(body)
        response = Response(
            self.encode_json(body),
            status_code=sub_response.status_code or status,
            headers=headers,
            media_type=content_type,
        )
        response.headers.raw.extend(sub_response.headers.raw)
        if sub_response.background:
            response.background = sub_response.background
        return response

    async def render_graphql_ide(self, request: Request) -> Response:
        return HTMLResponse(GRAPHIQL_HTML)
