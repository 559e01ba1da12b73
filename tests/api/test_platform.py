"""Health, request ids, unknown routes, the documents and the UIs."""

from __future__ import annotations

import httpx
import pytest

from app import __version__
from app.config import Settings
from app.db import Database
from app.main import create_app
from tests.conftest import client_for


async def test_health_reports_ok_and_version(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "version": __version__}


async def test_health_answers_503_when_the_database_is_unreachable() -> None:
    unreachable = "postgresql+psycopg://postgres@127.0.0.1:1/nothing"
    database = Database(unreachable)
    app = create_app(Settings(database_url=unreachable), database=database)
    try:
        async with client_for(app) as client:
            response = await client.get("/api/health")
    finally:
        await database.dispose()
    assert response.status_code == 503
    assert response.json() == {"status": "error", "version": __version__, "database": "unreachable"}


async def test_a_sane_request_id_is_echoed(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/health", headers={"X-Request-Id": "abc-123.x:y_z"})
    assert response.headers["x-request-id"] == "abc-123.x:y_z"


@pytest.mark.parametrize("inbound", ["has space", "x" * 129, "semi;colon", "<script>"])
async def test_an_insane_request_id_is_replaced(client: httpx.AsyncClient, inbound: str) -> None:
    response = await client.get("/api/health", headers={"X-Request-Id": inbound})
    generated = response.headers["x-request-id"]
    assert generated != inbound
    assert generated.startswith("req_") and len(generated) == 36


@pytest.mark.parametrize("path", ["/api/health", "/graphql", "/api/nope", "/api/v1/nope"])
async def test_every_response_carries_a_request_id(client: httpx.AsyncClient, path: str) -> None:
    response = await client.get(path, headers={"accept": "application/json"})
    assert response.headers["x-request-id"].startswith("req_")


async def test_unknown_engine_path_is_a_404_in_the_engine_dialect(
    client: httpx.AsyncClient,
) -> None:
    response = await client.get("/api/nope")
    assert response.status_code == 404
    assert response.json() == {"error": {"code": "NOT_FOUND", "message": "No route for /api/nope."}}


async def test_unknown_gateway_path_is_a_404_in_the_gateway_dialect(
    client: httpx.AsyncClient,
) -> None:
    response = await client.get("/api/v1/nope", headers={"x-request-id": "r1"})
    body = response.json()
    assert response.status_code == 404
    assert body["success"] is False
    assert body["error"]["code"] == "NOT_FOUND"
    assert body["meta"]["requestId"] == "r1"
    assert body["meta"]["timestamp"].endswith("Z")


async def test_wrong_method_is_a_405_in_the_dialect(client: httpx.AsyncClient) -> None:
    response = await client.put("/api/health")
    assert response.status_code == 405
    assert response.json()["error"]["code"] == "NOT_FOUND"


async def test_graphiql_is_served_to_a_browser_with_local_assets(client: httpx.AsyncClient) -> None:
    response = await client.get("/graphql", headers={"accept": "text/html"})
    assert response.status_code == 200
    page = response.text
    assert "GraphiQL" in page
    assert "unpkg" not in page and "cdn" not in page.lower() and "https://" not in page
    for asset in (
        "graphiql.min.js",
        "graphiql.min.css",
        "react.production.min.js",
        "react-dom.production.min.js",
    ):
        assert f"/static/graphiql/{asset}" in page
        served = await client.get(f"/static/graphiql/{asset}")
        assert served.status_code == 200 and len(served.content) > 1000


async def test_graphiql_subscribes_with_the_headers_tab_in_connection_init(
    client: httpx.AsyncClient,
) -> None:
    # GraphiQL's toolkit sends the Headers tab as the connection_init payload only when it
    # makes the websocket client itself, from `subscriptionUrl`; a ready-made `wsClient`
    # would subscribe with no credential at all.
    page = (await client.get("/graphql", headers={"accept": "text/html"})).text

    assert "subscriptionUrl: wsUrl" in page
    assert "wsClient:" not in page


async def test_swagger_ui_is_served_with_local_assets(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/reference")
    assert response.status_code == 200
    assert 'url: "/api/doc"' in response.text
    assert "https://" not in response.text
    for asset in ("swagger-ui-bundle.js", "swagger-ui.css"):
        assert f"/static/swagger/{asset}" in response.text
        served = await client.get(f"/static/swagger/{asset}")
        assert served.status_code == 200 and len(served.content) > 1000
