"""Body limit, rate limit and the CSRF Origin check, answered in each face's own dialect."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable

import httpx
import pytest
from starlette.applications import Starlette

from tests.conftest import client_for
from tests.support.cost import without_cost
from tests.support.rate_limit import STORAGES, client_at, redis_url_for

# ---- body limit -------------------------------------------------------------------------


@pytest.fixture
async def small_body_client(make_app: Callable[..., Starlette]) -> AsyncIterator[httpx.AsyncClient]:
    async with client_for(make_app(max_body_bytes=100)) as client:
        yield client


@pytest.mark.parametrize(
    ("path", "code"),
    [
        ("/api/audit", "PAYLOAD_TOO_LARGE"),
        ("/api/v1/api-keys", "PAYLOAD_TOO_LARGE"),
        ("/graphql", "PAYLOAD_TOO_LARGE"),
    ],
)
async def test_declared_oversized_body_is_413_in_the_dialect(
    small_body_client: httpx.AsyncClient, path: str, code: str
) -> None:
    response = await small_body_client.post(path, content=b"x" * 101)
    assert response.status_code == 413
    body = response.json()
    if path.startswith("/api/v1"):
        assert body["success"] is False and body["error"]["code"] == code
    elif path == "/graphql":
        assert body["errors"][0]["extensions"]["code"] == code
    else:
        assert body == {"error": {"code": code, "message": "Request body exceeds 100 bytes."}}


async def test_chunked_oversized_body_without_length_is_413(
    small_body_client: httpx.AsyncClient,
) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(10):
            yield b'{"query": "' + b"x" * 30

    response = await small_body_client.post(
        "/graphql", content=chunks(), headers={"content-type": "application/json"}
    )
    assert "content-length" not in response.request.headers
    assert response.status_code == 413
    assert response.json()["errors"][0]["extensions"]["code"] == "PAYLOAD_TOO_LARGE"


async def test_chunked_oversized_body_on_a_rest_route_is_413_and_creates_nothing(
    small_body_client: httpx.AsyncClient, admin_key: str
) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        yield b'{"name": "big", "permissions": ["audit:read"], "pad": "'
        for _ in range(5):
            yield b"y" * 40
        yield b'"}'

    response = await small_body_client.post(
        "/api/v1/api-keys",
        content=chunks(),
        headers={"x-api-key": admin_key, "content-type": "application/json"},
    )
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "PAYLOAD_TOO_LARGE"
    listed = await small_body_client.get("/api/v1/api-keys", headers={"x-api-key": admin_key})
    assert listed.json()["pagination"]["total"] == 1


async def test_body_within_the_limit_passes(small_body_client: httpx.AsyncClient) -> None:
    response = await small_body_client.post("/graphql", json={"query": "{ ping }"})
    assert response.status_code == 200
    assert without_cost(response.json()) == {"data": {"ping": "pong"}}


async def test_default_limit_is_one_megabyte(client: httpx.AsyncClient) -> None:
    response = await client.post("/graphql", content=b" " * (1_048_576 + 1))
    assert response.status_code == 413


# ---- rate limit -------------------------------------------------------------------------


@pytest.fixture(params=STORAGES)
def limited_app(
    request: pytest.FixtureRequest, make_app: Callable[..., Starlette]
) -> Callable[..., Starlette]:
    def build(**overrides: object) -> Starlette:
        return make_app(rate_limit="3/minute", redis_url=redis_url_for(request.param), **overrides)

    return build


async def test_rate_limit_headers_on_every_response_and_429_after_the_limit(
    limited_app: Callable[..., Starlette],
) -> None:
    app = limited_app()
    async with client_at(app) as client:
        responses = [await client.get("/api/health") for _ in range(3)]
        refused = await client.get("/api/health")
        gateway = await client.get("/api/v1/api-keys")
        graphql = await client.post("/graphql", json={"query": "{ ping }"})
    assert [r.status_code for r in responses] == [200, 200, 200]
    assert [r.headers["x-ratelimit-remaining"] for r in responses] == ["2", "1", "0"]
    for response in [*responses, refused]:
        assert response.headers["x-ratelimit-limit"] == "3"
        assert int(response.headers["x-ratelimit-reset"]) >= int(time.time())
    assert refused.status_code == 429
    assert refused.json()["error"]["code"] == "TOO_MANY_REQUESTS"
    assert 1 <= int(refused.headers["retry-after"]) <= 60
    assert refused.headers["x-request-id"]
    assert gateway.status_code == 429
    assert gateway.json()["error"]["code"] == "RATE_LIMITED"
    assert gateway.json()["success"] is False
    assert graphql.status_code == 429
    assert graphql.json()["errors"][0]["extensions"]["code"] == "RATE_LIMITED"


async def test_each_client_address_has_its_own_window(
    limited_app: Callable[..., Starlette],
) -> None:
    app = limited_app()
    async with client_at(app) as first:
        for _ in range(4):
            await first.get("/api/health")
        assert (await first.get("/api/health")).status_code == 429
    async with client_at(app) as second:
        assert (await second.get("/api/health")).status_code == 200


async def test_refusals_by_the_middleware_further_in_are_counted_with_headers(
    limited_app: Callable[..., Starlette],
) -> None:
    app = limited_app(max_body_bytes=100)
    cross_origin = {"cookie": "cartograph_session=abc", "origin": "https://evil.example.net"}
    async with client_at(app) as client:
        too_large = await client.post("/graphql", content=b"x" * 101)
        forbidden = await client.post("/graphql", json={"query": "{ ping }"}, headers=cross_origin)
        unauthorized = await client.get("/api/v1/api-keys", headers={"x-api-key": "ck_nope"})
        refused = await client.get("/api/health")
    responses = [too_large, forbidden, unauthorized]
    assert [r.status_code for r in responses] == [413, 403, 401]
    assert [r.headers["x-ratelimit-remaining"] for r in responses] == ["2", "1", "0"]
    assert refused.status_code == 429


async def test_static_assets_are_not_counted(limited_app: Callable[..., Starlette]) -> None:
    app = limited_app()
    async with client_at(app) as client:
        for _ in range(5):
            assert (await client.get("/static/swagger/swagger-ui.css")).status_code == 200
        assert (await client.get("/api/health")).status_code == 200


# ---- CSRF -------------------------------------------------------------------------------

COOKIE = {"cookie": "cartograph_session=abc"}
PING = {"query": "{ ping }"}


@pytest.fixture
async def browser(make_app: Callable[..., Starlette]) -> AsyncIterator[httpx.AsyncClient]:
    app = make_app(allowed_origins="https://shop.example.com, https://admin.example.com/")
    async with client_for(app) as client:
        yield client


@pytest.mark.parametrize("origin", [None, "https://evil.example.net", "null"])
async def test_cookie_mutation_from_a_foreign_or_missing_origin_is_refused(
    browser: httpx.AsyncClient, origin: str | None
) -> None:
    headers = dict(COOKIE) | ({"origin": origin} if origin else {})
    graphql = await browser.post("/graphql", json=PING, headers=headers)
    engine = await browser.post("/api/audit", json={}, headers=headers)
    gateway = await browser.delete("/api/v1/api-keys/x", headers=headers)
    assert graphql.status_code == 403
    assert graphql.json()["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert engine.status_code == 403
    assert engine.json() == {
        "error": {"code": "FORBIDDEN", "message": "Cross-origin request refused."}
    }
    assert gateway.status_code == 403 and gateway.json()["error"]["code"] == "FORBIDDEN"


@pytest.mark.parametrize(
    "origin", ["https://shop.example.com", "https://admin.example.com", "http://testserver"]
)
async def test_cookie_mutation_from_an_allowed_or_own_origin_passes(
    browser: httpx.AsyncClient, origin: str
) -> None:
    response = await browser.post("/graphql", json=PING, headers=COOKIE | {"origin": origin})
    assert response.status_code == 200
    assert without_cost(response.json()) == {"data": {"ping": "pong"}}


async def test_api_key_requests_are_exempt_from_the_origin_check(
    browser: httpx.AsyncClient, admin_key: str
) -> None:
    headers = COOKIE | {"origin": "https://evil.example.net", "x-api-key": admin_key}
    response = await browser.post("/graphql", json=PING, headers=headers)
    assert response.status_code == 200


async def test_safe_methods_and_cookieless_requests_are_not_checked(
    browser: httpx.AsyncClient,
) -> None:
    evil = {"origin": "https://evil.example.net"}
    assert (await browser.get("/api/health", headers=COOKIE | evil)).status_code == 200
    assert (await browser.post("/graphql", json=PING, headers=evil)).status_code == 200
