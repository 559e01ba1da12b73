"""Webhook delivery to a real HTTP receiver on 127.0.0.1: Standard Webhooks signatures checked
with the reference verifier (`standardwebhooks`), the delivery log, retries after failures and
`Retry-After`, 410 Gone and long failure disabling the endpoint, targets refused again at
delivery, redirects not followed, and a timeout per attempt.

Most tests make one attempt (`attempt_delivery`, what the `webhook.deliver` job runs); the
first ones go the whole way: outbox event -> dispatcher fan-out -> job -> receiver."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select, update
from standardwebhooks.webhooks import Webhook

from app.db import Database
from app.events.dispatcher import dispatch_pending
from app.jobs import GiveUp, RetryLater, run_pending
from app.models.audit import Event
from app.models.base import utcnow
from app.models.jobs import Job
from app.models.webhooks import WebhookDelivery, WebhookEndpoint
from app.webhooks.delivery import Attempt, WebhookFailed, attempt_delivery
from tests.api.test_webhooks import graphql
from tests.conftest import settings_for
from tests.support.receiver import Reply, receiving
from tests.support.webhooks import make_endpoint, make_event

DATA = {"entityType": "catalog_entity", "entityId": "e-1", "before": None, "after": {"n": 1}}


def settings(database: Database, **overrides: Any) -> Any:
    return settings_for(database.url, **{"webhook_allow_private": True, **overrides})


async def attempt(
    database: Database,
    endpoint: WebhookEndpoint,
    event: Event,
    *,
    number: int = 1,
    last: bool = False,
    **overrides: Any,
) -> None:
    await attempt_delivery(
        database,
        settings(database, **overrides),
        Attempt(endpoint_id=endpoint.id, event_id=event.id, number=number, last=last),
    )


async def deliveries(database: Database) -> list[WebhookDelivery]:
    async with database.read_session() as session:
        rows = await session.scalars(select(WebhookDelivery).order_by(WebhookDelivery.id))
        return list(rows)


async def reloaded(database: Database, endpoint: WebhookEndpoint) -> WebhookEndpoint:
    async with database.read_session() as session:
        row = await session.get(WebhookEndpoint, endpoint.id)
    assert row is not None
    return row


async def jobs(database: Database) -> list[Job]:
    async with database.read_session() as session:
        return list(await session.scalars(select(Job).order_by(Job.id)))


async def test_a_change_is_delivered_retried_after_a_500_and_not_after_success(
    admin: httpx.AsyncClient, database: Database
) -> None:
    with receiving(Reply(500, body=b"down"), Reply(200)) as receiver:
        endpoint = await make_endpoint(database, url=receiver.url, events=["catalog.create"])
        made = await admin.post("/api/catalog/entities", json={"type": "product", "slug": "hook"})
        assert made.status_code == 201
        assert await dispatch_pending(database) >= 1
        ready = settings(database)
        assert await run_pending(database, ready, queue="webhooks") == 1
        [job] = await jobs(database)
        assert (job.kind, job.status, job.attempts) == ("webhook.deliver", "pending", 1)
        # The second attempt is due 5 s later (up to 10% jitter), not before.
        assert 4.5 <= (job.run_at - utcnow()).total_seconds() <= 5.6
        assert await run_pending(database, ready, queue="webhooks") == 0
        async with database.unit_of_work() as uow:
            await uow.session.execute(update(Job).values(run_at=utcnow()))
            await uow.commit()
        assert await run_pending(database, ready, queue="webhooks") == 1
        assert await run_pending(database, ready, queue="webhooks") == 0
    first, second = receiver.received
    assert first.headers["webhook-id"] == second.headers["webhook-id"]
    for got in (first, second):
        payload = Webhook(endpoint.secret).verify(got.body, got.headers)
        assert payload["type"] == "catalog.create"
        assert payload["data"]["entityId"] == made.json()["data"]["id"]
    [job] = await jobs(database)
    assert (job.status, job.attempts) == ("succeeded", 2)
    logged = [(d.attempt, d.status, d.response_status) for d in await deliveries(database)]
    assert logged == [(1, "pending", 500), (2, "succeeded", 200)]


async def test_only_active_subscribed_endpoints_are_sent_an_event(database: Database) -> None:
    catalog = await make_endpoint(database, events=["catalog.create"])
    await make_endpoint(database, events=["orders.create"])
    everything = await make_endpoint(database, events=["*"])
    async with database.unit_of_work() as uow:
        await uow.session.execute(
            update(WebhookEndpoint)
            .where(WebhookEndpoint.id == everything.id)
            .values(status="disabled")
        )
        await uow.commit()
    event = await make_event(database, type="catalog.create")
    await make_event(database, type="apiKeys.create")  # not a webhook event
    await dispatch_pending(database)
    queued = [(job.payload["endpointId"], job.payload["eventId"]) for job in await jobs(database)]
    assert queued == [(str(catalog.id), str(event.id))]


async def test_redelivery_is_one_more_attempt_with_the_same_webhook_id(
    admin: httpx.AsyncClient, database: Database
) -> None:
    with receiving() as receiver:
        endpoint = await make_endpoint(database, url=receiver.url)
        event = await make_event(database)
        await attempt(database, endpoint, event)
        [delivered] = await deliveries(database)
        body = await graphql(
            admin,
            """mutation($id: ID!) { redeliverWebhook(input: {deliveryId: $id}) {
              eventId eventType endpoint { id } } }""",
            id=str(delivered.id),
        )
        assert body["data"]["redeliverWebhook"] == {
            "eventId": str(event.id),
            "eventType": "catalog.create",
            "endpoint": {"id": str(endpoint.id)},
        }
        assert await run_pending(database, settings(database), queue="webhooks") == 1
    assert [got.headers["webhook-id"] for got in receiver.received] == [str(event.id)] * 2
    [job] = await jobs(database)
    assert (job.status, job.max_attempts) == ("succeeded", 1)


async def test_redelivery_to_a_disabled_endpoint_is_a_conflict(
    admin: httpx.AsyncClient, database: Database
) -> None:
    endpoint = await make_endpoint(database)
    event = await make_event(database)
    async with database.unit_of_work() as uow:
        await uow.session.execute(update(WebhookEndpoint).values(status="disabled"))
        await uow.commit()
    body = await graphql(
        admin,
        """mutation($e: ID!, $v: ID!) { redeliverWebhook(input: {endpointId: $e, eventId: $v}) {
          eventId } }""",
        e=str(endpoint.id),
        v=str(event.id),
    )
    assert body["errors"][0]["extensions"]["code"] == "CONFLICT"
    assert await jobs(database) == []


async def test_a_delivery_is_signed_as_standard_webhooks_verifies(database: Database) -> None:
    with receiving() as receiver:
        endpoint = await make_endpoint(database, url=receiver.url)
        event = await make_event(database, data=DATA)
        await attempt(database, endpoint, event)
    [got] = receiver.received
    payload = Webhook(endpoint.secret).verify(got.body, got.headers)
    assert payload == {
        "id": str(event.id),
        "type": "catalog.create",
        "timestamp": event.occurred_at.isoformat().replace("+00:00", "Z"),
        "data": DATA,
    }
    assert got.headers["webhook-id"] == str(event.id)
    assert got.headers["Host"] == receiver.url.split("/")[2]
    with pytest.raises(Exception, match="signature"):
        Webhook(endpoint.secret).verify(got.body + b" ", got.headers)
    [row] = await deliveries(database)
    assert (row.status, row.response_status, row.attempt) == ("succeeded", 200, 1)
    assert row.response_body == "ok" and row.latency_ms is not None and row.error is None
    assert (row.endpoint_id, row.event_id, row.event_type) == (
        endpoint.id,
        event.id,
        "catalog.create",
    )


async def test_a_500_is_a_failed_attempt_with_another_to_come(database: Database) -> None:
    with receiving(Reply(500, body=b"boom")) as receiver:
        endpoint = await make_endpoint(database, url=receiver.url)
        event = await make_event(database)
        with pytest.raises(WebhookFailed, match="500"):
            await attempt(database, endpoint, event)
        with pytest.raises(WebhookFailed):
            await attempt(database, endpoint, event, number=2, last=True)
    first, last = await deliveries(database)
    assert (first.status, first.response_status, first.response_body) == ("pending", 500, "boom")
    assert (last.status, last.attempt) == ("failed", 2)
    stored = await reloaded(database, endpoint)
    assert stored.status == "active" and stored.failing_since is not None


async def test_a_success_clears_the_failure_record(database: Database) -> None:
    with receiving(Reply(500), Reply(204, body=b"")) as receiver:
        endpoint = await make_endpoint(database, url=receiver.url)
        event = await make_event(database)
        with pytest.raises(WebhookFailed):
            await attempt(database, endpoint, event)
        await attempt(database, endpoint, event, number=2)
    assert [row.status for row in await deliveries(database)] == ["pending", "succeeded"]
    assert (await reloaded(database, endpoint)).failing_since is None
    # The same webhook-id on both attempts: the receiver deduplicates by it.
    assert len({got.headers["webhook-id"] for got in receiver.received}) == 1


async def test_410_gone_disables_the_endpoint(database: Database) -> None:
    with receiving(Reply(410)) as receiver:
        endpoint = await make_endpoint(database, url=receiver.url)
        event = await make_event(database)
        with pytest.raises(GiveUp):
            await attempt(database, endpoint, event)
        # Queued deliveries to it find it disabled and send nothing.
        await attempt(database, endpoint, event, number=2)
    assert len(receiver.received) == 1
    stored = await reloaded(database, endpoint)
    assert stored.status == "disabled" and "410" in (stored.disabled_reason or "")
    [row] = await deliveries(database)
    assert (row.status, row.response_status) == ("failed", 410)
    async with database.read_session() as session:
        disabled = await session.scalar(select(Event).where(Event.type == "webhooks.disabled"))
    assert disabled is not None and disabled.entity_id == str(endpoint.id)


async def test_failing_for_days_disables_the_endpoint(database: Database) -> None:
    with receiving(Reply(500)) as receiver:
        endpoint = await make_endpoint(database, url=receiver.url)
        event = await make_event(database)
        async with database.unit_of_work() as uow:
            await uow.session.execute(
                update(WebhookEndpoint)
                .where(WebhookEndpoint.id == endpoint.id)
                .values(failing_since=utcnow() - timedelta(days=5, minutes=1))
            )
            await uow.commit()
        with pytest.raises(GiveUp, match="5 days"):
            await attempt(database, endpoint, event, webhook_disable_after_days=5)
    stored = await reloaded(database, endpoint)
    assert stored.status == "disabled" and "5 days" in (stored.disabled_reason or "")
    async with database.read_session() as session:
        types = (await session.scalars(select(Event.type))).all()
    assert "webhooks.disabled" in types


@pytest.mark.parametrize(
    ("header", "seconds"),
    [("120", 120), ("999999", 36000)],
)
async def test_retry_after_sets_the_next_attempt(
    database: Database, header: str, seconds: int
) -> None:
    with receiving(Reply(503, headers={"Retry-After": header})) as receiver:
        endpoint = await make_endpoint(database, url=receiver.url)
        event = await make_event(database)
        with pytest.raises(RetryLater) as raised:
            await attempt(database, endpoint, event)
    assert raised.value.seconds == seconds


async def test_a_target_turned_private_is_refused_at_delivery(database: Database) -> None:
    with receiving() as receiver:
        # Registered while allowed; by delivery time private targets are refused.
        endpoint = await make_endpoint(database, url=receiver.url)
        event = await make_event(database)
        with pytest.raises(WebhookFailed, match="Refused target"):
            await attempt(database, endpoint, event, webhook_allow_private=False)
    assert receiver.received == []
    [row] = await deliveries(database)
    assert row.response_status is None and "loopback" in (row.error or "")


async def test_redirects_are_not_followed(database: Database) -> None:
    with receiving(Reply(302, headers={"Location": "http://127.0.0.1:9/elsewhere"})) as receiver:
        endpoint = await make_endpoint(database, url=receiver.url)
        event = await make_event(database)
        with pytest.raises(WebhookFailed, match="302"):
            await attempt(database, endpoint, event)
    assert len(receiver.received) == 1


async def test_the_log_keeps_the_first_kilobyte_of_the_answer(database: Database) -> None:
    with receiving(Reply(200, body=b"x" * 5000)) as receiver:
        endpoint = await make_endpoint(database, url=receiver.url)
        await attempt(database, endpoint, await make_event(database))
    [row] = await deliveries(database)
    assert row.response_body == "x" * 1024


async def test_an_attempt_times_out(database: Database) -> None:
    with receiving(Reply(200, delay=0.5)) as receiver:
        endpoint = await make_endpoint(database, url=receiver.url)
        with pytest.raises(WebhookFailed, match="Timed out"):
            await attempt(
                database, endpoint, await make_event(database), webhook_timeout_seconds=0.1
            )
    [row] = await deliveries(database)
    assert row.status == "pending" and row.response_status is None


async def test_a_deleted_endpoint_gets_nothing(database: Database) -> None:
    with receiving() as receiver:
        event = await make_event(database)
        gone = Attempt(endpoint_id=uuid.uuid4(), event_id=event.id, number=1, last=False)
        await attempt_delivery(database, settings(database), gone)
    assert receiver.received == [] and await deliveries(database) == []
