"""OpenTelemetry traces, sent over OTLP/HTTP to a real receiver (an HTTP server in the test)
and decoded with opentelemetry-proto: a span per request, per statement, per outgoing call."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue
from opentelemetry.proto.trace.v1.trace_pb2 import Span
from starlette.applications import Starlette

from app.db import Database
from app.telemetry.middleware import TelemetryMiddleware
from app.telemetry.tracing import Tracing, traces_url
from app.webhooks.delivery import Attempt, attempt_delivery
from tests.conftest import client_for, settings_for
from tests.support.catalog import make_entity
from tests.support.queries import IGNORED_PREFIXES, count_queries
from tests.support.receiver import Receiver, receiving
from tests.support.webhooks import make_endpoint, make_event

TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
PARENT_ID = "00f067aa0ba902b7"


def value(any_value: AnyValue) -> Any:
    return getattr(any_value, any_value.WhichOneof("value"))


def attributes(span: Span) -> dict[str, Any]:
    return {kv.key: value(kv.value) for kv in span.attributes}


def received_spans(collector: Receiver) -> Iterator[tuple[dict[str, Any], Span]]:
    """Every span the collector got, with its resource's attributes."""
    for request in collector.received:
        assert request.path.endswith("/v1/traces")
        assert {k.lower(): v for k, v in request.headers.items()}["content-type"] == (
            "application/x-protobuf"
        )
        export = ExportTraceServiceRequest.FromString(request.body)
        for resource_spans in export.resource_spans:
            resource = {kv.key: value(kv.value) for kv in resource_spans.resource.attributes}
            for scope_spans in resource_spans.scope_spans:
                for span in scope_spans.spans:
                    yield resource, span


@pytest.fixture
def collector() -> Iterator[Receiver]:
    with receiving() as receiver:
        yield receiver


@pytest.fixture
async def traced(
    make_app: Callable[..., Starlette], collector: Receiver
) -> AsyncIterator[Starlette]:
    app = make_app(otel_endpoint=collector.url.removesuffix("/hooks"), otel_service_name="shop-api")
    try:
        yield app
    finally:
        app.state.tracing.close()


def flush(app: Starlette) -> None:
    tracing: Tracing = app.state.tracing
    assert tracing.provider.force_flush(10_000)


def test_the_endpoint_gets_the_traces_path_once() -> None:
    assert traces_url("http://collector:4318") == "http://collector:4318/v1/traces"
    assert traces_url("http://collector:4318/v1/traces/") == "http://collector:4318/v1/traces"


async def test_no_telemetry_layer_unless_something_asks_for_it(
    make_app: Callable[..., Starlette],
) -> None:
    app = make_app()
    assert app.state.tracing is None and app.state.metrics is None
    assert all(m.cls is not TelemetryMiddleware for m in app.user_middleware)


async def test_a_request_is_a_span_with_its_statements_as_children(
    traced: Starlette, collector: Receiver, database: Database
) -> None:
    await make_entity(database, slug="lamp")
    query = "query Storefront { catalogEntities(limit: 5) { items { id slug } } }"
    async with client_for(traced) as client:
        with count_queries(database) as queries:
            response = await client.post(
                "/graphql",
                json={"query": query},
                headers={"traceparent": f"00-{TRACE_ID}-{PARENT_ID}-01"},
            )
    assert response.status_code == 200, response.text
    assert response.json()["data"]["catalogEntities"]["items"][0]["slug"] == "lamp"
    flush(traced)

    spans = list(received_spans(collector))
    servers = [span for _, span in spans if span.kind == Span.SPAN_KIND_SERVER]
    assert len(servers) == 1
    server = servers[0]
    assert server.name == "POST /graphql Storefront"
    # It joins the caller's trace.
    assert server.trace_id.hex() == TRACE_ID
    assert server.parent_span_id.hex() == PARENT_ID
    assert attributes(server) == {
        "http.request.method": "POST",
        "url.path": "/graphql",
        "cartograph.request_id": response.headers["x-request-id"],
        "http.route": "/graphql",
        "http.response.status_code": 200,
        "graphql.operation.name": "Storefront",
    }
    assert all(resource["service.name"] == "shop-api" for resource, _ in spans)
    statements = [
        span
        for _, span in spans
        if span.trace_id == server.trace_id
        and "db.query.text" in attributes(span)
        and not attributes(span)["db.query.text"].lstrip().upper().startswith(IGNORED_PREFIXES)
    ]
    assert len(statements) == queries.count > 0
    for span in statements:
        assert span.kind == Span.SPAN_KIND_CLIENT
        assert span.trace_id == server.trace_id
        assert span.parent_span_id == server.span_id
        assert attributes(span)["db.system.name"] == (
            "sqlite" if database.is_sqlite else "postgresql"
        )
        assert span.name == attributes(span)["db.operation.name"] == "SELECT"


async def test_an_outgoing_call_is_a_span(
    traced: Starlette, collector: Receiver, database: Database
) -> None:
    with receiving() as target:
        endpoint = await make_endpoint(database, url=target.url)
        event = await make_event(database)
        settings = settings_for(database.url, webhook_allow_private=True)
        await attempt_delivery(
            database, settings, Attempt(endpoint.id, event.id, number=1, last=False)
        )
        assert len(target.received) == 1
    flush(traced)

    calls = [
        span
        for _, span in received_spans(collector)
        if span.kind == Span.SPAN_KIND_CLIENT and "db.query.text" not in attributes(span)
    ]
    assert len(calls) == 1
    found = attributes(calls[0])
    assert calls[0].name == "POST"
    assert found.get("http.response.status_code", found.get("http.status_code")) == 200
    assert str(target.url.split(":")[-1].split("/")[0]) in found.get(
        "url.full", found.get("http.url", "")
    )
