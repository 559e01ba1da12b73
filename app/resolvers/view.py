"""The `/graphql` endpoint: queries and mutations over HTTP, subscriptions over websocket
(graphql-transport-ws), and GraphiQL for a browser's GET, its assets served by the app."""

from __future__ import annotations

from typing import Any

import strawberry
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.http import GraphQLHTTPResponse
from strawberry.types import ExecutionResult

from app.db import Database
from app.resolvers.context import Context
from app.responses import dumps

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
  <script src="/static/graphiql/graphql-ws.min.js"></script>
  <script src="/static/graphiql/graphiql.min.js"></script>
  <script>
    const scheme = location.protocol === "https:" ? "wss://" : "ws://";
    const wsUrl = scheme + location.host + "/graphql";
    const fetcher = GraphiQL.createFetcher({
      url: "/graphql",
      wsClient: graphqlWs.createClient({ url: wsUrl, lazy: true }),
    });
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
    def __init__(self, schema: strawberry.Schema, *, database: Database, graphiql: bool):
        super().__init__(schema, graphql_ide="graphiql" if graphiql else None)
        self.database = database

    async def get_context(self, request: Request | WebSocket, response: Any) -> Context:
        return Context.for_connection(self.database, request, response)

    def encode_json(self, data: object) -> bytes:
        return dumps(data)

    async def process_result(
        self, request: Request, result: ExecutionResult
    ) -> GraphQLHTTPResponse:
        response = await super().process_result(request, result)
        # Syntax errors end the operation before `ErrorCodes` sees a result; they are the
        # only errors that arrive here without a code.
        for error in response.get("errors") or []:
            error.setdefault("extensions", {}).setdefault("code", "VALIDATION_FAILED")
        return response

    async def render_graphql_ide(self, request: Request) -> Response:
        return HTMLResponse(GRAPHIQL_HTML)
