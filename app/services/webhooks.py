"""Webhook endpoints: registering, changing and removing them, reading their delivery log, and
asking for a delivery again. Delivery itself is `app.webhooks.delivery`.

A target URL is checked (resolved, every address public) by `check_target` before the unit of
work opens, so no DNS lookup happens inside a transaction; the functions that store a URL take
the checked `Target`, so none can store one unchecked.
"""

from __future__ import annotations

import base64
import secrets
import uuid
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.actor import Actor
from app.db import UnitOfWork
from app.errors import Conflict, NotFound, ValidationFailed
from app.jobs import enqueue
from app.models.audit import Event
from app.models.base import utcnow
from app.models.webhooks import URL_LENGTH, WebhookDelivery, WebhookEndpoint
from app.pagination import Page, PageRequest, SortKey, paginate
from app.services.audit import record_change
from app.webhooks.targets import Target, UnsafeTarget, check

# The events an endpoint may subscribe to: seed 003's list, stock falling low, media, and the
# marketplace's vendor lifecycle, sub-orders, commissions, balance entries, payouts,
# disputes, returns and reviews.
WEBHOOK_EVENTS = (
    "orders.create",
    "orders.statusChange",
    "catalog.create",
    "catalog.update",
    "catalog.delete",
    "inventory.afterAdjust",
    "inventory.low_stock",
    "customers.create",
    "customers.update",
    "pricing.create",
    "pricing.update",
    "promotions.create",
    "promotions.update",
    "fulfillment.create",
    "cart.afterAddItem",
    "vendors.create",
    "vendors.update",
    "vendors.statusChange",
    "subOrders.create",
    "subOrders.statusChange",
    "commissionRules.create",
    "commissionRules.update",
    "commissionRules.delete",
    "commissions.create",
    "balanceEntries.create",
    "payouts.create",
    "payouts.paid",
    "payouts.failed",
    "payouts.retry",
    "disputes.create",
    "disputes.statusChange",
    "returns.create",
    "returns.statusChange",
    "reviews.create",
    "reviews.update",
    "vendorDocuments.create",
    "vendorDocuments.statusChange",
    "media.create",
    "media.delete",
    "media.attach",
    "media.detach",
)
# Subscribes to every event above, and to those added later.
ALL_EVENTS = "*"
SECRET_PREFIX = "whsec_"
SECRET_BYTES = 32
DESCRIPTION_LENGTH = 500
DELIVER = "webhook.deliver"
QUEUE = "webhooks"
# Immediately, then 5 s, 5 min, 30 min, 2 h, 5 h and 10 h later (the job queue adds jitter).
RETRY_DELAYS = (5, 300, 1800, 7200, 18000, 36000)
MAX_ATTEMPTS = len(RETRY_DELAYS) + 1
ENDPOINT_ORDER = (SortKey(WebhookEndpoint.id, descending=True),)
DELIVERY_ORDER = (SortKey(WebhookDelivery.id, descending=True),)
ENTITY = "webhook_endpoint"
NAME_ONE_DELIVERY = "Give deliveryId, or eventId and endpointId."


def generate_secret() -> str:
    """A Standard Webhooks secret: `whsec_` and 32 random bytes in base64."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()


def subscribes(endpoint: WebhookEndpoint, event_type: str) -> bool:
    if event_type not in WEBHOOK_EVENTS:
        return False
    return ALL_EVENTS in endpoint.events or event_type in endpoint.events


async def check_target(url: str, *, allow_private: bool) -> Target:
    """`url` resolved and checked for delivery (VALIDATION_FAILED on `url` saying why not).

    Call it before opening the unit of work: it asks DNS.
    """
    url = url.strip()
    if not url or len(url) > URL_LENGTH:
        raise ValidationFailed.field("url", f"Must be 1 to {URL_LENGTH} characters.")
    try:
        return await check(url, allow_private=allow_private)
    except UnsafeTarget as error:
        raise ValidationFailed.field("url", str(error)) from None


def _events(events: list[str]) -> list[str]:
    unknown = sorted({name for name in events if name not in (*WEBHOOK_EVENTS, ALL_EVENTS)})
    if unknown:
        allowed = ", ".join((*WEBHOOK_EVENTS, ALL_EVENTS))
        raise ValidationFailed.field(
            "events", f"Unknown events: {', '.join(unknown)[:200]}. Allowed: {allowed}."
        )
    if not events:
        raise ValidationFailed.field("events", "Give at least one event.")
    return sorted(set(events))


def _description(description: str | None) -> str | None:
    if description is not None and len(description) > DESCRIPTION_LENGTH:
        raise ValidationFailed.field("description", f"At most {DESCRIPTION_LENGTH} characters.")
    return description or None


async def create_webhook_endpoint(
    uow: UnitOfWork,
    actor: Actor,
    *,
    target: Target,
    events: list[str],
    description: str | None = None,
) -> WebhookEndpoint:
    """Register an endpoint; its `secret` is readable on the returned row, this once."""
    endpoint = WebhookEndpoint(
        url=target.url,
        events=_events(events),
        description=_description(description),
        secret=generate_secret(),
        status="active",
        created_by=actor.id,
    )
    uow.session.add(endpoint)
    await uow.session.flush()
    record_change(
        uow,
        actor,
        event="webhooks.create",
        entity_type=ENTITY,
        entity_id=str(endpoint.id),
        after=endpoint.snapshot(),
    )
    return endpoint


async def _locked(uow: UnitOfWork, id: uuid.UUID) -> WebhookEndpoint:
    endpoint = await uow.session.get(WebhookEndpoint, id, with_for_update=True)
    if endpoint is None:
        raise NotFound("Webhook endpoint not found.")
    return endpoint


async def update_webhook_endpoint(
    uow: UnitOfWork,
    actor: Actor,
    *,
    id: uuid.UUID,
    target: Target | None = None,
    events: list[str] | None = None,
    description: str | None = None,
    status: str | None = None,
) -> WebhookEndpoint:
    """Change what is given. Enabling clears the failure record (a fresh start); disabling
    stops deliveries, those already queued included, and is recorded as `webhooks.disabled`."""
    endpoint = await _locked(uow, id)
    before = endpoint.snapshot()
    if target is not None:
        endpoint.url = target.url
    if events is not None:
        endpoint.events = _events(events)
    if description is not None:
        endpoint.description = _description(description)
    disabling = status == "disabled" and endpoint.status == "active"
    if status == "active" and endpoint.status == "disabled":
        endpoint.status = "active"
        endpoint.disabled_reason = None
        endpoint.failing_since = None
    elif disabling:
        endpoint.status = "disabled"
        endpoint.disabled_reason = f"Disabled by {actor.kind} {actor.id}."
    await uow.session.flush()
    record_change(
        uow,
        actor,
        event="webhooks.disabled" if disabling else "webhooks.update",
        entity_type=ENTITY,
        entity_id=str(endpoint.id),
        before=before,
        after=endpoint.snapshot(),
        reason=endpoint.disabled_reason if disabling else None,
    )
    return endpoint


async def rotate_webhook_secret(uow: UnitOfWork, actor: Actor, *, id: uuid.UUID) -> WebhookEndpoint:
    """A new secret, readable on the returned row this once; deliveries from now on are signed
    with it (queued retries included), the old one stops at once."""
    endpoint = await _locked(uow, id)
    endpoint.secret = generate_secret()
    endpoint.updated_at = utcnow()
    await uow.session.flush()
    record_change(
        uow,
        actor,
        event="webhooks.rotateSecret",
        entity_type=ENTITY,
        entity_id=str(endpoint.id),
        after=endpoint.snapshot(),
    )
    return endpoint


async def delete_webhook_endpoint(
    uow: UnitOfWork, actor: Actor, *, id: uuid.UUID
) -> WebhookEndpoint:
    """Remove an endpoint and its delivery log; queued deliveries to it find it gone and stop."""
    endpoint = await _locked(uow, id)
    before = endpoint.snapshot()
    await uow.session.delete(endpoint)
    await uow.session.flush()
    record_change(
        uow,
        actor,
        event="webhooks.delete",
        entity_type=ENTITY,
        entity_id=str(endpoint.id),
        before=before,
    )
    return endpoint


@dataclass(frozen=True, slots=True)
class Redelivery:
    endpoint: WebhookEndpoint
    event: Event


async def redeliver_webhook(
    uow: UnitOfWork,
    actor: Actor,
    *,
    delivery_id: uuid.UUID | None = None,
    endpoint_id: uuid.UUID | None = None,
    event_id: uuid.UUID | None = None,
) -> Redelivery:
    """Queue one more delivery of an event to an endpoint, named by a past delivery or by the
    two ids. It is one attempt (the automatic schedule does not start again) with the event's
    own `webhook-id`, so a receiver that already has it can tell. A disabled endpoint is a
    CONFLICT: enable it first."""
    if delivery_id is not None:
        if endpoint_id is not None or event_id is not None:
            raise ValidationFailed.field(
                "deliveryId", "Give deliveryId, or eventId and endpointId."
            )
        delivery = await uow.session.get(WebhookDelivery, delivery_id)
        if delivery is None:
            raise NotFound("Webhook delivery not found.")
        endpoint_id, event_id = delivery.endpoint_id, delivery.event_id
    elif endpoint_id is None or event_id is None:
        raise ValidationFailed.field("deliveryId", NAME_ONE_DELIVERY)
    endpoint = await _locked(uow, endpoint_id)
    event = await uow.session.get(Event, event_id)
    if event is None:
        raise NotFound("Event not found.")
    if not subscribes(endpoint, event.type):
        raise ValidationFailed.field(
            "eventId", f"The endpoint is not subscribed to {event.type} events."
        )
    if endpoint.status != "active":
        raise Conflict("The webhook endpoint is disabled; enable it before redelivering.")
    enqueue(
        uow.session,
        DELIVER,
        {"endpointId": str(endpoint.id), "eventId": str(event.id)},
        queue=QUEUE,
        max_attempts=1,
    )
    record_change(
        uow,
        actor,
        event="webhooks.redeliver",
        entity_type=ENTITY,
        entity_id=str(endpoint.id),
        after={"eventId": str(event.id), "eventType": event.type},
    )
    return Redelivery(endpoint=endpoint, event=event)


async def get_webhook_endpoint(session: AsyncSession, id: uuid.UUID) -> WebhookEndpoint:
    endpoint = await session.get(WebhookEndpoint, id)
    if endpoint is None:
        raise NotFound("Webhook endpoint not found.")
    return endpoint


async def list_webhook_endpoints(
    session: AsyncSession, *, page: PageRequest, status: str | None = None
) -> Page[WebhookEndpoint]:
    """Newest first; `status` narrows to `active` or `disabled` endpoints."""
    statement = select(WebhookEndpoint)
    if status is not None:
        statement = statement.where(WebhookEndpoint.status == status)
    return await paginate(session, statement, keys=ENDPOINT_ORDER, request=page)


async def list_webhook_deliveries(
    session: AsyncSession,
    *,
    endpoint_id: uuid.UUID,
    page: PageRequest,
    status: str | None = None,
    event_id: uuid.UUID | None = None,
) -> Page[WebhookDelivery]:
    """An endpoint's delivery log, newest attempt first."""
    statement = select(WebhookDelivery).where(WebhookDelivery.endpoint_id == endpoint_id)
    if status is not None:
        statement = statement.where(WebhookDelivery.status == status)
    if event_id is not None:
        statement = statement.where(WebhookDelivery.event_id == event_id)
    return await paginate(session, statement, keys=DELIVERY_ORDER, request=page)
