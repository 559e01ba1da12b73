"""GraphQL for outgoing webhooks (`webhooks:manage`): endpoints, their delivery log, redelivery."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

import strawberry
from strawberry import Info

from app.ids import parse_uuid
from app.models.webhooks import WebhookDelivery, WebhookEndpoint
from app.resolvers.arguments import (
    AfterArg,
    FirstArg,
    LimitArg,
    OffsetArg,
    PageArg,
    page_request,
    uuid_or_not_found,
)
from app.resolvers.enums import WebhookDeliveryStatus, WebhookEndpointStatus
from app.resolvers.pagination import Connection, to_connection
from app.resolvers.permissions import requires
from app.resolvers.rows import from_row
from app.services import webhooks as service

MANAGE = "webhooks:manage"
EVENTS_DESCRIPTION = (
    "Event names: " + ", ".join(service.WEBHOOK_EVENTS) + "; or `*` for every one of them."
)
EVENTS_SCHEMA = {
    "jsonschema": {
        "minItems": 1,
        "maxItems": len(service.WEBHOOK_EVENTS) + 1,
        "items": {"enum": [*service.WEBHOOK_EVENTS, service.ALL_EVENTS]},
    }
}
URL_SCHEMA = {"jsonschema": {"minLength": 1, "maxLength": 2048, "pattern": "^https?://"}}


@strawberry.type(
    name="WebhookDelivery",
    description="One attempt to deliver one event to a webhook endpoint, and its answer.",
)
class WebhookDeliveryType:
    id: strawberry.ID = strawberry.field(description="The attempt's id.")
    endpoint_id: strawberry.ID = strawberry.field(description="The endpoint it went to.")
    event_id: strawberry.ID = strawberry.field(
        description="The event delivered: its `webhook-id` header, the same on every attempt."
    )
    event_type: str = strawberry.field(description="The event's type, e.g. orders.create.")
    attempt: int = strawberry.field(description="1 for the first attempt, then 2, 3 ...")
    status: WebhookDeliveryStatus = strawberry.field(description="How the attempt went.")
    response_status: int | None = strawberry.field(
        description="The HTTP status the endpoint answered; null if it did not answer."
    )
    latency_ms: int | None = strawberry.field(
        description="Milliseconds from sending to the answer; null if never sent."
    )
    response_body: str | None = strawberry.field(
        description="The first 1 KB of the answer's body, as text."
    )
    error: str | None = strawberry.field(
        description="Why there was no answer (timeout, refused connection, refused target)."
    )
    created_at: datetime = strawberry.field(description="When the attempt finished.")

    @classmethod
    def from_row(cls, row: WebhookDelivery) -> WebhookDeliveryType:
        return from_row(cls, row)


@strawberry.type(
    name="WebhookEndpoint",
    description="A URL that is sent the events it subscribes to, signed (Standard Webhooks).",
)
class WebhookEndpointType:
    id: strawberry.ID = strawberry.field(description="The endpoint's id.")
    url: str = strawberry.field(description="Where events are POSTed (http or https).")
    description: str | None = strawberry.field(description="What its creator wrote about it.")
    events: list[str] = strawberry.field(
        description="The event names it subscribes to (`*`: all of them)."
    )
    status: WebhookEndpointStatus = strawberry.field(description="Whether it is sent events.")
    disabled_reason: str | None = strawberry.field(
        description="Why it was disabled (by whom, 410 Gone, or failing for days)."
    )
    failing_since: datetime | None = strawberry.field(
        description="The first failed attempt since the last success; null while it succeeds."
    )
    created_at: datetime = strawberry.field(description="When it was registered.")
    updated_at: datetime = strawberry.field(description="When it last changed.")
    secret: str | None = strawberry.field(
        default=None,
        description="The `whsec_` signing secret: only in the createWebhookEndpoint and "
        "rotateWebhookSecret responses, never again.",
    )

    @classmethod
    def from_row(cls, row: WebhookEndpoint, *, secret: str | None = None) -> WebhookEndpointType:
        return from_row(cls, row, secret=secret)

    @strawberry.field(description="The delivery log: every attempt, newest first.")
    async def deliveries(
        self,
        info: Info,
        status: Annotated[
            WebhookDeliveryStatus | None,
            strawberry.argument(description="Only attempts that went this way. Default: all."),
        ] = None,
        event_id: Annotated[
            strawberry.ID | None,
            strawberry.argument(description="Only attempts to deliver this event."),
        ] = None,
        page: PageArg = None,
        limit: LimitArg = None,
        offset: OffsetArg = None,
        first: FirstArg = None,
        after: AfterArg = None,
    ) -> Connection[WebhookDeliveryType]:
        request = page_request(page=page, limit=limit, offset=offset, first=first, after=after)
        endpoint_id = uuid_or_not_found(self.id, "Webhook endpoint")
        # An id that is not a UUID names no event: the nil UUID matches no delivery either.
        event = None if event_id is None else (parse_uuid(event_id) or uuid.UUID(int=0))
        async with info.context.read() as session:
            result = await service.list_webhook_deliveries(
                session, endpoint_id=endpoint_id, page=request, status=status, event_id=event
            )
        return to_connection(result, WebhookDeliveryType.from_row)


@strawberry.type(name="WebhookRedelivery", description="A delivery queued by redeliverWebhook.")
class WebhookRedeliveryType:
    endpoint: WebhookEndpointType = strawberry.field(description="Where it will go.")
    event_id: strawberry.ID = strawberry.field(description="The event it will deliver.")
    event_type: str = strawberry.field(description="The event's type.")


@strawberry.input(description="A new webhook endpoint.")
class CreateWebhookEndpointInput:
    url: str = strawberry.field(
        description="An http or https URL whose host resolves to public addresses only.",
        metadata=URL_SCHEMA,
    )
    events: list[str] = strawberry.field(description=EVENTS_DESCRIPTION, metadata=EVENTS_SCHEMA)
    description: str | None = strawberry.field(
        default=None,
        description="At most 500 characters.",
        metadata={"jsonschema": {"maxLength": service.DESCRIPTION_LENGTH}},
    )


@strawberry.input(description="What to change on a webhook endpoint; what is left out stays.")
class UpdateWebhookEndpointInput:
    id: strawberry.ID = strawberry.field(description="The endpoint's id.")
    url: str | None = strawberry.field(
        default=None, description="A new URL, checked as at creation.", metadata=URL_SCHEMA
    )
    events: list[str] | None = strawberry.field(
        default=None, description=EVENTS_DESCRIPTION, metadata=EVENTS_SCHEMA
    )
    description: str | None = strawberry.field(
        default=None,
        description="At most 500 characters.",
        metadata={"jsonschema": {"maxLength": service.DESCRIPTION_LENGTH}},
    )
    status: WebhookEndpointStatus | None = strawberry.field(
        default=None,
        description="ACTIVE enables it (clearing its failure record); DISABLED stops deliveries.",
    )


@strawberry.input(description="A webhook endpoint, by id.")
class WebhookEndpointIdInput:
    id: strawberry.ID = strawberry.field(description="The endpoint's id.")


@strawberry.input(
    description="What to deliver again: a past delivery's event and endpoint, or both ids."
)
class RedeliverWebhookInput:
    delivery_id: strawberry.ID | None = strawberry.field(
        default=None, description="A delivery from the log: its event, to its endpoint."
    )
    event_id: strawberry.ID | None = strawberry.field(
        default=None, description="An event's id (with endpointId)."
    )
    endpoint_id: strawberry.ID | None = strawberry.field(
        default=None, description="An endpoint's id (with eventId)."
    )


def _uuid(value: strawberry.ID | None, what: str) -> uuid.UUID | None:
    return None if value is None else uuid_or_not_found(value, what)


@strawberry.type
class WebhookQueries:
    @strawberry.field(
        description="Webhook endpoints, newest first. Needs webhooks:manage.",
        permission_classes=[requires(MANAGE)],
    )
    async def webhook_endpoints(
        self,
        info: Info,
        status: Annotated[
            WebhookEndpointStatus | None,
            strawberry.argument(description="Only endpoints in this status. Default: all."),
        ] = None,
        page: PageArg = None,
        limit: LimitArg = None,
        offset: OffsetArg = None,
        first: FirstArg = None,
        after: AfterArg = None,
    ) -> Connection[WebhookEndpointType]:
        request = page_request(page=page, limit=limit, offset=offset, first=first, after=after)
        async with info.context.read() as session:
            result = await service.list_webhook_endpoints(session, page=request, status=status)
        return to_connection(result, WebhookEndpointType.from_row)

    @strawberry.field(
        description="A webhook endpoint (never its secret), with its delivery log. "
        "Needs webhooks:manage.",
        permission_classes=[requires(MANAGE)],
    )
    async def webhook_endpoint(
        self,
        info: Info,
        id: Annotated[strawberry.ID, strawberry.argument(description="The endpoint's id.")],
    ) -> WebhookEndpointType:
        async with info.context.read() as session:
            row = await service.get_webhook_endpoint(
                session, uuid_or_not_found(id, "Webhook endpoint")
            )
        return WebhookEndpointType.from_row(row)


@strawberry.type
class WebhookMutations:
    @strawberry.mutation(
        description="Register a webhook endpoint; the response's `secret` is shown this once. "
        "Needs webhooks:manage.",
        permission_classes=[requires(MANAGE)],
    )
    async def create_webhook_endpoint(
        self,
        info: Info,
        input: Annotated[
            CreateWebhookEndpointInput,
            strawberry.argument(description="Its URL, events and description."),
        ],
    ) -> WebhookEndpointType:
        target = await service.check_target(
            input.url, allow_private=info.context.webhook_allow_private
        )
        async with info.context.command() as uow:
            row = await service.create_webhook_endpoint(
                uow,
                info.context.actor,
                target=target,
                events=input.events,
                description=input.description,
            )
        return WebhookEndpointType.from_row(row, secret=row.secret)

    @strawberry.mutation(
        description="Change a webhook endpoint's URL, events or description, or enable or "
        "disable it. Needs webhooks:manage.",
        permission_classes=[requires(MANAGE)],
    )
    async def update_webhook_endpoint(
        self,
        info: Info,
        input: Annotated[
            UpdateWebhookEndpointInput, strawberry.argument(description="What to change.")
        ],
    ) -> WebhookEndpointType:
        id = uuid_or_not_found(input.id, "Webhook endpoint")
        target = None
        if input.url is not None:
            target = await service.check_target(
                input.url, allow_private=info.context.webhook_allow_private
            )
        async with info.context.command() as uow:
            row = await service.update_webhook_endpoint(
                uow,
                info.context.actor,
                id=id,
                target=target,
                events=input.events,
                description=input.description,
                status=input.status,
            )
        return WebhookEndpointType.from_row(row)

    @strawberry.mutation(
        description="Delete a webhook endpoint and its delivery log (answered as it was). "
        "Needs webhooks:manage.",
        permission_classes=[requires(MANAGE)],
    )
    async def delete_webhook_endpoint(
        self,
        info: Info,
        input: Annotated[
            WebhookEndpointIdInput, strawberry.argument(description="The endpoint to delete.")
        ],
    ) -> WebhookEndpointType:
        async with info.context.command() as uow:
            row = await service.delete_webhook_endpoint(
                uow, info.context.actor, id=uuid_or_not_found(input.id, "Webhook endpoint")
            )
        return WebhookEndpointType.from_row(row)

    @strawberry.mutation(
        description="Give a webhook endpoint a new signing secret, shown this once; the old "
        "one stops at once. Needs webhooks:manage.",
        permission_classes=[requires(MANAGE)],
    )
    async def rotate_webhook_secret(
        self,
        info: Info,
        input: Annotated[WebhookEndpointIdInput, strawberry.argument(description="The endpoint.")],
    ) -> WebhookEndpointType:
        async with info.context.command() as uow:
            row = await service.rotate_webhook_secret(
                uow, info.context.actor, id=uuid_or_not_found(input.id, "Webhook endpoint")
            )
        return WebhookEndpointType.from_row(row, secret=row.secret)

    @strawberry.mutation(
        description="Queue one more delivery of an event to an endpoint (one attempt, same "
        "`webhook-id`). Needs webhooks:manage.",
        permission_classes=[requires(MANAGE)],
    )
    async def redeliver_webhook(
        self,
        info: Info,
        input: Annotated[
            RedeliverWebhookInput, strawberry.argument(description="What to deliver again.")
        ],
    ) -> WebhookRedeliveryType:
        async with info.context.command() as uow:
            queued = await service.redeliver_webhook(
                uow,
                info.context.actor,
                delivery_id=_uuid(input.delivery_id, "Webhook delivery"),
                endpoint_id=_uuid(input.endpoint_id, "Webhook endpoint"),
                event_id=_uuid(input.event_id, "Event"),
            )
        return WebhookRedeliveryType(
            endpoint=WebhookEndpointType.from_row(queued.endpoint),
            event_id=strawberry.ID(str(queued.event.id)),
            event_type=queued.event.type,
        )
