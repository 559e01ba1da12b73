"""Delivering events to webhook endpoints, as jobs.

The dispatcher's fan-out (`fan_out`, run inside the transaction that marks events dispatched)
queues one `webhook.deliver` job per active subscribed endpoint and event, so each pair is
queued exactly once. The job (`deliver`) runs with no transaction open: it reads the endpoint
and the event, checks the target's addresses again, POSTs to a checked address, and then
records the attempt in a short transaction of its own.

What a receiver gets (Standard Webhooks):
- headers `webhook-id` (the event's id: the same on every attempt, to deduplicate by),
  `webhook-timestamp` (the attempt's time, Unix seconds) and
  `webhook-signature: v1,<base64 HMAC-SHA256 of "id.timestamp.body">` keyed by the endpoint's
  `whsec_` secret (the base64 after the prefix, decoded);
- a JSON body `{"id", "type", "timestamp", "data"}`: the event id, its type
  (`orders.statusChange`), when it happened (ISO 8601, Z) and its data (the entity's type, id,
  and its state before and after).

2xx is success. 410 Gone disables the endpoint. Any other answer, a timeout or a refused
connection is a failed attempt, retried on the schedule (`RETRY_DELAYS`), or after the
answer's `Retry-After` (capped at the longest delay of the schedule). An endpoint that has
failed for `webhook_disable_after_days` without a success is disabled, with a
`webhooks.disabled` event. Redirects are not followed (a 3xx is a failure).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any

import httpx
import orjson
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.actor import Actor
from app.config import Settings
from app.db import Database
from app.events.dispatcher import on_dispatch
from app.jobs import GiveUp, JobContext, RetryLater, enqueue, handler
from app.models.audit import Event
from app.models.base import utcnow
from app.models.webhooks import SNIPPET_BYTES, WebhookDelivery, WebhookEndpoint
from app.services.audit import record_change
from app.services.webhooks import (
    DELIVER,
    ENTITY,
    MAX_ATTEMPTS,
    QUEUE,
    RETRY_DELAYS,
    SECRET_PREFIX,
    WEBHOOK_EVENTS,
    subscribes,
)
from app.telemetry.metrics import webhook_attempt_failed
from app.webhooks.targets import Target, UnsafeTarget, check

WEBHOOKS_ACTOR = Actor(kind="system", id="webhooks", name="webhook delivery")
USER_AGENT = "Cartograph-Webhooks/1"
# The longest a receiver's Retry-After may postpone the next attempt: the schedule's longest.
MAX_RETRY_AFTER = RETRY_DELAYS[-1]


def sign(secret: str, message_id: str, timestamp: int, body: bytes) -> str:
    """The `webhook-signature` value: `v1,` and the base64 HMAC-SHA256 of `id.timestamp.body`
    keyed by the secret's decoded bytes (as the Standard Webhooks reference verifies it)."""
    key = base64.b64decode(secret.removeprefix(SECRET_PREFIX))
    signed = f"{message_id}.{timestamp}.".encode() + body
    digest = hmac.new(key, signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def message_body(event: Event) -> bytes:
    occurred = event.occurred_at.isoformat().replace("+00:00", "Z")
    return orjson.dumps(
        {"id": str(event.id), "type": event.type, "timestamp": occurred, "data": event.data}
    )


@dataclass(frozen=True, slots=True)
class Answer:
    """What one attempt came to: the receiver's status and the start of its body, or why
    there was no answer."""

    status: int | None = None
    latency_ms: int | None = None
    body: str | None = None
    error: str | None = None
    retry_after: float | None = None

    @property
    def succeeded(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


def retry_after(value: str | None) -> float | None:
    """Seconds from a `Retry-After` header (delta-seconds or an HTTP date), if it says any."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if moment.tzinfo is None:
        return None
    return max(0.0, (moment - utcnow()).total_seconds())


async def post(target: Target, body: bytes, headers: dict[str, str], seconds: float) -> Answer:
    """POST `body` to the target's first checked address, naming the host in `Host` and TLS's
    SNI (so certificates are verified for the name), without following redirects or proxies."""
    address = target.addresses[0]
    url = httpx.URL(target.url).copy_with(host=str(address))
    started = time.perf_counter()
    try:
        async with (
            httpx.AsyncClient(timeout=seconds, follow_redirects=False, trust_env=False) as client,
            client.stream(
                "POST",
                url,
                content=body,
                headers={**headers, "Host": target.netloc},
                extensions={"sni_hostname": target.host},
            ) as response,
        ):
            snippet = b""
            async for chunk in response.aiter_bytes():
                snippet += chunk
                if len(snippet) >= SNIPPET_BYTES:
                    break
    except httpx.TimeoutException:
        return Answer(latency_ms=_since(started), error=f"Timed out after {seconds:g} s.")
    except httpx.HTTPError as error:
        return Answer(latency_ms=_since(started), error=f"{type(error).__name__}: {error}"[:500])
    return Answer(
        status=response.status_code,
        latency_ms=_since(started),
        body=snippet[:SNIPPET_BYTES].decode(errors="replace"),
        retry_after=retry_after(response.headers.get("retry-after")),
    )


def _since(started: float) -> int:
    return round((time.perf_counter() - started) * 1000)


@dataclass(frozen=True, slots=True)
class Attempt:
    endpoint_id: uuid.UUID
    event_id: uuid.UUID
    number: int
    last: bool


async def attempt_delivery(database: Database, settings: Settings, attempt: Attempt) -> None:
    """One attempt to deliver one event to one endpoint; raises what the job queue needs to
    schedule the next (RetryLater, GiveUp, or WebhookFailed for the standard schedule)."""
    async with database.read_session() as session:
        endpoint = await session.get(WebhookEndpoint, attempt.endpoint_id)
        event = await session.get(Event, attempt.event_id)
    if endpoint is None or endpoint.status != "active" or event is None:
        return  # Deleted or disabled since the job was queued: nothing to deliver.
    body = message_body(event)
    try:
        target = await check(endpoint.url, allow_private=settings.webhook_allow_private)
    except UnsafeTarget as error:
        answer = Answer(error=f"Refused target: {error}"[:500])
    else:
        timestamp = int(time.time())
        headers = {
            "content-type": "application/json",
            "user-agent": USER_AGENT,
            "webhook-id": str(event.id),
            "webhook-timestamp": str(timestamp),
            "webhook-signature": sign(endpoint.secret, str(event.id), timestamp, body),
        }
        answer = await post(target, body, headers, settings.webhook_timeout_seconds)
    disabled = await record(database, settings, endpoint, event, attempt, answer)
    if answer.succeeded:
        return
    webhook_attempt_failed("failed" if attempt.last or disabled is not None else "retrying")
    reason = answer.error or f"The endpoint answered {answer.status}."
    if disabled is not None:
        raise GiveUp(disabled)
    if answer.retry_after is not None and not attempt.last:
        raise RetryLater(min(answer.retry_after, MAX_RETRY_AFTER), reason)
    raise WebhookFailed(reason)


class WebhookFailed(Exception):
    """A failed attempt, retried on the standard schedule."""


async def record(
    database: Database,
    settings: Settings,
    endpoint: WebhookEndpoint,
    event: Event,
    attempt: Attempt,
    answer: Answer,
) -> str | None:
    """Write the attempt to the delivery log and the endpoint's failure record; disable the
    endpoint on 410 Gone or after failing for too long. Returns why it was disabled, if so."""
    now = utcnow()
    async with database.unit_of_work() as uow:
        current = await uow.session.get(WebhookEndpoint, endpoint.id, with_for_update=True)
        disabled: str | None = None
        if current is not None and answer.succeeded:
            current.failing_since = None
        elif current is not None:
            current.failing_since = current.failing_since or now
            disabled = _disabling(current.failing_since, now, answer, settings)
            if disabled is not None and current.status == "active":
                before = current.snapshot()
                current.status = "disabled"
                current.disabled_reason = disabled
                await uow.session.flush()
                record_change(
                    uow,
                    WEBHOOKS_ACTOR,
                    event="webhooks.disabled",
                    entity_type=ENTITY,
                    entity_id=str(current.id),
                    before=before,
                    after=current.snapshot(),
                    reason=disabled,
                )
        if answer.succeeded:
            status = "succeeded"
        elif attempt.last or disabled is not None:
            status = "failed"
        else:
            status = "pending"
        if current is not None:
            uow.session.add(
                WebhookDelivery(
                    endpoint_id=endpoint.id,
                    event_id=event.id,
                    event_type=event.type,
                    attempt=attempt.number,
                    status=status,
                    response_status=answer.status,
                    latency_ms=answer.latency_ms,
                    response_body=answer.body,
                    error=answer.error,
                )
            )
        await uow.commit()
    return disabled


def _disabling(
    failing_since: datetime, now: datetime, answer: Answer, settings: Settings
) -> str | None:
    if answer.status == 410:
        return "The endpoint answered 410 Gone."
    if now - failing_since >= timedelta(days=settings.webhook_disable_after_days):
        return (
            f"Every delivery failed for {settings.webhook_disable_after_days:g} days "
            f"(since {failing_since.isoformat().replace('+00:00', 'Z')})."
        )
    return None


@handler(DELIVER, retry_delays=RETRY_DELAYS)
async def deliver(context: JobContext, payload: dict[str, Any]) -> None:
    attempt = Attempt(
        endpoint_id=uuid.UUID(payload["endpointId"]),
        event_id=uuid.UUID(payload["eventId"]),
        number=context.attempt,
        last=context.last_attempt,
    )
    await attempt_delivery(context.database, context.settings, attempt)


@on_dispatch
async def fan_out(session: AsyncSession, events: Sequence[Event]) -> None:
    """Queue one delivery job per event and active endpoint subscribed to its type."""
    relevant = [event for event in events if event.type in WEBHOOK_EVENTS]
    if not relevant:
        return
    endpoints = (
        await session.scalars(select(WebhookEndpoint).where(WebhookEndpoint.status == "active"))
    ).all()
    for event in relevant:
        for endpoint in endpoints:
            if subscribes(endpoint, event.type):
                enqueue(
                    session,
                    DELIVER,
                    {"endpointId": str(endpoint.id), "eventId": str(event.id)},
                    queue=QUEUE,
                    max_attempts=MAX_ATTEMPTS,
                )
