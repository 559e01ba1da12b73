"""`/metrics`: request counts and latency by route template and GraphQL operation, and the
gauges a scrape reads from the pool and the database (outbox, jobs, webhooks)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable
from datetime import timedelta

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import update
from starlette.applications import Starlette

from app.db import Database
from app.jobs import enqueue
from app.models.audit import Event
from app.models.base import utcnow
from app.models.webhooks import WebhookEndpoint
from app.telemetry import metrics as metrics_module
from app.webhooks.delivery import Attempt, attempt_delivery
from tests.conftest import client_for, settings_for
from tests.support.queries import count_queries
from tests.support.webhooks import make_endpoint, make_event

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def samples(text: str) -> Samples:
    """Every sample of a scrape, by name and labels."""
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def requests(found: Samples, **labels: str) -> float:
    """The request count with exactly these labels (0 when absent)."""
    return found.get(("cartograph_http_requests_total", frozenset(labels.items())), 0.0)


@pytest.fixture
async def metered(make_app: Callable[..., Starlette]) -> AsyncIterator[httpx.AsyncClient]:
    async with client_for(make_app(metrics=True)) as client:
        yield client


async def scrape(client: httpx.AsyncClient, **headers: str) -> Samples:
    response = await client.get("/metrics", headers=headers)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain; version=")
    return samples(response.text)


async def test_metrics_are_not_served_unless_turned_on(client: httpx.AsyncClient) -> None:
    response = await client.get("/metrics")
    assert response.status_code == 404


async def test_requests_are_counted_by_route_template_operation_and_status_class(
    metered: httpx.AsyncClient,
) -> None:
    named = {"query": "query Shop { __typename }"}
    for _ in range(2):
        assert (await metered.post("/graphql", json=named)).status_code == 200
    # The name comes from `operationName` when the request gives one.
    picked = {"query": "query A { __typename } query B { __typename }", "operationName": "B"}
    assert (await metered.post("/graphql", json=picked)).status_code == 200
    assert (await metered.post("/graphql", json={"query": "{ __typename }"})).status_code == 200
    for _ in range(3):
        response = await metered.get(f"/api/v1/products/{uuid.uuid4()}")
        assert response.status_code == 404
    assert (await metered.get("/no/such/path")).status_code == 404

    found = await scrape(metered)

    graphql = {"method": "POST", "route": "/graphql", "status": "2xx"}
    assert requests(found, **graphql, operation="Shop") == 2
    assert requests(found, **graphql, operation="B") == 1
    assert requests(found, **graphql, operation="(anonymous)") == 1
    product = {"method": "GET", "route": "/api/v1/products/{id}", "operation": ""}
    assert requests(found, **product, status="4xx") == 3
    assert requests(found, method="GET", route="(unmatched)", operation="", status="4xx") == 1
    # Raw paths never become label values; the scrape itself is not counted.
    routes = {dict(labels).get("route") for _, labels in found}
    assert not any(route and "/api/v1/products/" in route and "{" not in route for route in routes)
    assert "/metrics" not in routes
    histogram = (
        "cartograph_http_request_duration_seconds_count",
        frozenset({**product, "status": "4xx"}.items()),
    )
    assert found[histogram] == 3


async def test_operation_names_past_the_cap_share_one_label(
    metered: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(metrics_module, "MAX_OPERATIONS", 2)
    for name in ("One", "Two", "Three", "Four"):
        query = {"query": f"query {name} {{ __typename }}"}
        assert (await metered.post("/graphql", json=query)).status_code == 200
    # A name that is no GraphQL name (the client's own words) is never a label.
    odd = {"query": "{ __typename }", "operationName": "x" * 500}
    assert (await metered.post("/graphql", json=odd)).status_code in (200, 400)

    found = await scrape(metered)

    operations: dict[str, float] = {}
    for (name, labels), value in found.items():
        if name == "cartograph_http_requests_total" and dict(labels)["route"] == "/graphql":
            operation = dict(labels)["operation"]
            operations[operation] = operations.get(operation, 0) + value
    assert operations == {"One": 1, "Two": 1, "(other)": 3}


async def test_a_token_guards_the_scrape(make_app: Callable[..., Starlette]) -> None:
    async with client_for(make_app(metrics=True, metrics_token="s3cret")) as client:
        assert (await client.get("/metrics")).status_code == 401
        wrong = await client.get("/metrics", headers={"authorization": "Bearer nope"})
        assert wrong.status_code == 401
        assert wrong.headers["www-authenticate"] == 'Bearer realm="metrics"'
        right = await client.get("/metrics", headers={"authorization": "Bearer s3cret"})
        assert right.status_code == 200
        assert "cartograph_database_up 1.0" in right.text


async def test_requests_cost_no_statement_for_metrics(
    metered: httpx.AsyncClient, database: Database
) -> None:
    with count_queries(database) as queries:
        assert (await metered.get("/no/such/path")).status_code == 404
        assert (await metered.post("/graphql", json={"query": "{ __typename }"})).status_code == 200
    assert queries.count == 0, queries.statements


async def test_a_scrape_reads_the_outbox_jobs_webhooks_and_pool_in_two_statements(
    metered: httpx.AsyncClient, database: Database
) -> None:
    failing = await make_endpoint(database)
    await make_endpoint(database)
    async with database.unit_of_work() as uow:
        await uow.session.execute(
            update(WebhookEndpoint)
            .where(WebhookEndpoint.id == failing.id)
            .values(failing_since=utcnow())
        )
        # The endpoints' own events, as a dispatcher would have left them.
        await uow.session.execute(update(Event).values(dispatched_at=utcnow()))
        await uow.commit()
    first = await make_event(database)
    await make_event(database)
    dispatched = await make_event(database)
    async with database.unit_of_work() as uow:
        await uow.session.execute(
            update(Event)
            .where(Event.id == first.id)
            .values(occurred_at=utcnow() - timedelta(seconds=90))
        )
        await uow.session.execute(
            update(Event).where(Event.id == dispatched.id).values(dispatched_at=utcnow())
        )
        for queue, count in (("webhooks", 2), ("default", 1)):
            for _ in range(count):
                enqueue(uow.session, "test.kind", {}, queue=queue)
        failed = enqueue(uow.session, "test.kind", {}, queue="webhooks")
        failed.status = "failed"
        await uow.commit()

    with count_queries(database) as queries:
        found = await scrape(metered)

    assert queries.count == 2, queries.statements
    assert found[("cartograph_outbox_pending_events", frozenset())] == 2
    assert 89 <= found[("cartograph_outbox_oldest_pending_seconds", frozenset())] < 120
    jobs = {
        (dict(labels)["queue"], dict(labels)["state"]): value
        for (name, labels), value in found.items()
        if name == "cartograph_jobs"
    }
    assert jobs == {
        ("webhooks", "pending"): 2,
        ("default", "pending"): 1,
        ("webhooks", "failed"): 1,
    }
    assert found[("cartograph_webhook_endpoints_failing", frozenset())] == 1
    pool = database.engine.sync_engine.pool
    assert found[("cartograph_db_pool_size", frozenset())] == pool.size()  # type: ignore[attr-defined]
    assert found[("cartograph_db_pool_checked_out", frozenset())] == 0
    assert found[("cartograph_database_up", frozenset())] == 1


async def test_failed_webhook_attempts_are_counted(
    metered: httpx.AsyncClient, database: Database
) -> None:
    # A loopback target with private targets refused: the attempt fails without a request.
    endpoint = await make_endpoint(database, url="http://127.0.0.1:9/hook")
    event = await make_event(database)
    settings = settings_for(database.url)
    for number, last in ((1, False), (2, True)):
        with pytest.raises(Exception, match="Refused target"):
            await attempt_delivery(
                database, settings, Attempt(endpoint.id, event.id, number=number, last=last)
            )

    found = await scrape(metered)

    counter = "cartograph_webhook_delivery_failures_total"
    assert found[(counter, frozenset({("outcome", "retrying")}))] == 1
    assert found[(counter, frozenset({("outcome", "failed")}))] == 1
