"""Webhook endpoints and events made for tests, as the service makes them."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from app.auth.actor import SYSTEM
from app.db import Database
from app.events.outbox import add_event
from app.models.audit import Event
from app.models.webhooks import WebhookDelivery, WebhookEndpoint
from app.services.webhooks import check_target, create_webhook_endpoint

PUBLIC_URL = "https://1.1.1.1/hooks"


async def make_endpoint(
    database: Database, *, url: str = PUBLIC_URL, events: Sequence[str] = ("*",)
) -> WebhookEndpoint:
    """An active endpoint; private targets are allowed (tests deliver to 127.0.0.1)."""
    target = await check_target(url, allow_private=True)
    async with database.unit_of_work() as uow:
        endpoint = await create_webhook_endpoint(uow, SYSTEM, target=target, events=list(events))
        await uow.commit()
    return endpoint


async def make_event(
    database: Database, *, type: str = "catalog.create", data: dict[str, Any] | None = None
) -> Event:
    """An outbox event, as a change would have recorded it."""
    async with database.unit_of_work() as uow:
        event = add_event(
            uow.session,
            type=type,
            entity_type="catalog_entity",
            entity_id="e-1",
            data=data or {"entityType": "catalog_entity", "entityId": "e-1"},
        )
        await uow.commit()
    return event


async def make_delivery(
    database: Database, endpoint: WebhookEndpoint, event: Event, *, status: str = "succeeded"
) -> WebhookDelivery:
    """A delivery-log row, as an attempt that got a 200 would have written it."""
    async with database.unit_of_work() as uow:
        delivery = WebhookDelivery(
            endpoint_id=endpoint.id,
            event_id=event.id,
            event_type=event.type,
            attempt=1,
            status=status,
            response_status=200,
            latency_ms=3,
            response_body="ok",
        )
        uow.session.add(delivery)
        await uow.commit()
    return delivery
