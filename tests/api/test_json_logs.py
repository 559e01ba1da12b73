"""JSON log lines: one object each, with the request id of the request they were written in
(tests/api/test_operations_server.py reads a real server's stderr)."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator

import httpx
import orjson
import pytest
from starlette.types import Receive, Scope, Send

from app.middleware.request_id import RequestIdMiddleware
from app.telemetry.logs import JsonFormatter


@pytest.fixture
def captured() -> Iterator[io.StringIO]:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger("app.json_test")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        yield stream
    finally:
        logger.removeHandler(handler)


async def deep_inside(scope: Scope, receive: Receive, send: Send) -> None:
    """An app that logs somewhere below the middleware, as a resolver or service would."""
    logging.getLogger("app.json_test").info("stock low for %s", "sku-1", extra={"sku": "sku-1"})
    try:
        raise ValueError("boom")
    except ValueError:
        logging.getLogger("app.json_test").exception("it failed")
    await send({"type": "http.response.start", "status": 204, "headers": []})
    await send({"type": "http.response.body", "body": b""})


async def test_lines_inside_a_request_carry_its_id(captured: io.StringIO) -> None:
    app = RequestIdMiddleware(deep_inside)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://testserver"
    ) as client:
        response = await client.get("/", headers={"x-request-id": "req-abc.1"})
    assert response.headers["x-request-id"] == "req-abc.1"
    logging.getLogger("app.json_test").info("after the request")

    first, second, outside = (orjson.loads(line) for line in captured.getvalue().splitlines())
    assert first["message"] == "stock low for sku-1" and first["sku"] == "sku-1"
    assert first["level"] == "INFO" and first["logger"] == "app.json_test"
    assert first["time"].endswith("Z") and first["request_id"] == "req-abc.1"
    assert second["level"] == "ERROR" and second["request_id"] == "req-abc.1"
    assert "ValueError: boom" in second["exception"]
    assert "request_id" not in outside
