"""GraphQL over HTTP (the GraphQL-over-HTTP spec): media types, status codes, what HTTP runs.

A client that accepts `application/graphql-response+json` gets it, with 400 and no `data`
for a request that never reaches execution; `application/json` keeps the legacy 200 for every
GraphQL result. Requests that cannot be read are 400 in the GraphQL error shape; mutations
need POST (405 otherwise), subscriptions a websocket (400). `test_graphql_http_audit.py` runs
the spec's own audit against a live server.
"""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest
from starlette.applications import Starlette

from app.resolvers.view import GRAPHQL_RESPONSE, JSON, response_media_type
from tests.conftest import client_for
from tests.support.cost import without_cost

GRAPHQL_RESPONSE_TYPE = "application/graphql-response+json; charset=utf-8"
ACCEPT_GRAPHQL_RESPONSE = {"accept": "application/graphql-response+json"}
ACCEPT_JSON = {"accept": "application/json"}
PARSE_ERROR = {"query": "{ ping "}
VALIDATION_ERROR = {"query": "{ noSuchField }"}
COERCION_ERROR = {
    "query": "query Q($n: Int!) { apiKeys(limit: $n) { totalCount } }",
    "variables": {"n": "many"},
}


@pytest.mark.parametrize(
    ("accept", "media_type"),
    [
        (None, JSON),
        ("", JSON),
        ("*/*", JSON),
        ("application/*", JSON),
        ("application/json", JSON),
        ("text/html", JSON),
        ("not a media range", JSON),
        ("application/graphql-response+json", GRAPHQL_RESPONSE),
        ("application/graphql-response+json; charset=utf-8", GRAPHQL_RESPONSE),
        ("application/graphql-response+json, application/json", GRAPHQL_RESPONSE),
        ("application/json, application/graphql-response+json", GRAPHQL_RESPONSE),
        ("application/graphql-response+json, application/json;q=0.9", GRAPHQL_RESPONSE),
        ("application/graphql-response+json;q=0.9, */*;q=0.5", GRAPHQL_RESPONSE),
        ("application/graphql-response+json;q=0.5, application/json", JSON),
        ("application/graphql-response+json;q=0", JSON),
    ],
)
def test_media_type_is_graphql_response_only_when_named_and_liked_best(
    accept: str | None, media_type: str
) -> None:
    assert response_media_type(accept) == media_type


async def test_success_in_graphql_response_json_is_200(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/graphql", json={"query": "{ ping }"}, headers=ACCEPT_GRAPHQL_RESPONSE
    )

    assert response.status_code == 200
    assert response.headers["content-type"] == GRAPHQL_RESPONSE_TYPE
    assert without_cost(response.json()) == {"data": {"ping": "pong"}}


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (PARSE_ERROR, "Syntax Error: Expected Name, found <EOF>."),
        (VALIDATION_ERROR, "Cannot query field 'noSuchField' on type 'Query'."),
        (COERCION_ERROR, "Variable '$n' has invalid value: Int cannot represent"),
    ],
    ids=["parse", "validation", "variable coercion"],
)
async def test_request_errors_in_graphql_response_json_are_400_without_data(
    client: httpx.AsyncClient, body: dict[str, object], message: str
) -> None:
    response = await client.post("/graphql", json=body, headers=ACCEPT_GRAPHQL_RESPONSE)

    assert response.status_code == 400
    assert response.headers["content-type"] == GRAPHQL_RESPONSE_TYPE
    payload = response.json()
    assert "data" not in payload
    assert payload["errors"][0]["message"].startswith(message)
    assert payload["errors"][0]["extensions"]["code"] == "VALIDATION_FAILED"


@pytest.mark.parametrize("body", [PARSE_ERROR, VALIDATION_ERROR, COERCION_ERROR])
async def test_request_errors_in_application_json_stay_200_with_null_data(
    client: httpx.AsyncClient, body: dict[str, object]
) -> None:
    response = await client.post("/graphql", json=body, headers=ACCEPT_JSON)

    assert response.status_code == 200
    assert response.headers["content-type"] == JSON
    assert response.json()["data"] is None
    assert response.json()["errors"][0]["extensions"]["code"] == "VALIDATION_FAILED"


async def test_a_field_error_that_nulls_the_result_is_still_200(client: httpx.AsyncClient) -> None:
    # Execution began (the error has a path), so it is a GraphQL result, not a request error.
    response = await client.post(
        "/graphql", json={"query": "{ apiKeys { totalCount } }"}, headers=ACCEPT_GRAPHQL_RESPONSE
    )

    assert response.status_code == 200
    assert response.json()["data"] is None
    assert response.json()["errors"][0]["path"] == ["apiKeys"]
    assert response.json()["errors"][0]["extensions"]["code"] == "UNAUTHORIZED"


@pytest.mark.parametrize(
    ("accept", "content_type"),
    [(ACCEPT_JSON, JSON), (ACCEPT_GRAPHQL_RESPONSE, GRAPHQL_RESPONSE_TYPE)],
)
async def test_unreadable_json_is_400_in_the_graphql_error_shape(
    client: httpx.AsyncClient, accept: dict[str, str], content_type: str
) -> None:
    response = await client.post(
        "/graphql",
        content=b'{ "not a JSON',
        headers={"content-type": "application/json", **accept},
    )

    assert response.status_code == 400
    assert response.headers["content-type"] == content_type
    assert response.json() == {
        "errors": [
            {
                "message": "Unable to parse request body as JSON",
                "extensions": {"code": "VALIDATION_FAILED"},
            }
        ]
    }


async def test_a_body_without_a_query_is_400(client: httpx.AsyncClient) -> None:
    response = await client.post("/graphql", json={"qeury": "{ ping }"})

    assert response.status_code == 400
    assert response.json()["errors"][0] == {
        "message": "No GraphQL query found in the request.",
        "extensions": {"code": "VALIDATION_FAILED"},
    }


async def test_an_unknown_operation_name_is_400(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/graphql", json={"query": "query A { ping }", "operationName": "B"}
    )

    assert response.status_code == 400
    assert response.json()["errors"][0]["extensions"]["code"] == "VALIDATION_FAILED"
    assert "B" in response.json()["errors"][0]["message"]


@pytest.mark.parametrize("accept", [ACCEPT_JSON, ACCEPT_GRAPHQL_RESPONSE])
async def test_a_subscription_over_http_post_is_400_pointing_at_the_websocket(
    client: httpx.AsyncClient, accept: dict[str, str]
) -> None:
    response = await client.post(
        "/graphql", json={"query": "subscription { events { id } }"}, headers=accept
    )

    assert response.status_code == 400
    assert response.json() == {
        "errors": [
            {
                "message": "Subscriptions are not served over HTTP: open a websocket to "
                "/graphql (graphql-transport-ws or graphql-ws).",
                "extensions": {"code": "VALIDATION_FAILED"},
            }
        ]
    }


async def test_a_subscription_over_http_get_is_400(client: httpx.AsyncClient) -> None:
    response = await client.get("/graphql", params={"query": "subscription { events { id } }"})

    assert response.status_code == 400
    assert "websocket" in response.json()["errors"][0]["message"]


async def test_a_mutation_over_get_is_405_and_changes_nothing(
    admin: httpx.AsyncClient,
) -> None:
    mutation = 'mutation { createApiKey(input: {name: "via GET", permissions: ["*:*"]}) { id } }'

    response = await admin.get("/graphql", params={"query": mutation})
    listed = await admin.post("/graphql", json={"query": "{ apiKeys { totalCount } }"})

    assert response.status_code == 405
    assert response.headers["allow"] == "POST"
    assert response.json()["errors"][0] == {
        "message": "Mutations need POST.",
        "extensions": {"code": "VALIDATION_FAILED"},
    }
    assert listed.json()["data"]["apiKeys"]["totalCount"] == 1  # only the admin's own


async def test_a_query_over_get_runs(client: httpx.AsyncClient) -> None:
    response = await client.get(
        "/graphql", params={"query": "{ ping }"}, headers=ACCEPT_GRAPHQL_RESPONSE
    )

    assert response.status_code == 200
    assert without_cost(response.json()) == {"data": {"ping": "pong"}}


async def test_a_browser_get_without_graphiql_is_404_in_the_graphql_error_shape(
    make_app: Callable[..., Starlette],
) -> None:
    async with client_for(make_app(graphiql=False)) as client:
        response = await client.get("/graphql", headers={"accept": "text/html"})

    assert response.status_code == 404
    assert response.json() == {
        "errors": [{"message": "Not Found", "extensions": {"code": "NOT_FOUND"}}]
    }
