"""GraphQL for notifications: `sendNotification` (`notifications:send`) queues a message to a
user; `notifications` (`notifications:read`) lists every notification with how its sending
went, newest first."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import strawberry
from strawberry import Info

from app.models.notifications import Notification
from app.resolvers.arguments import AfterArg, FirstArg, LimitArg, OffsetArg, PageArg, page_request
from app.resolvers.enums import NotificationChannel, NotificationKind, NotificationStatus
from app.resolvers.pagination import Connection, to_connection
from app.resolvers.permissions import requires
from app.resolvers.rows import from_row
from app.services import notifications as service

READ, SEND = "notifications:read", "notifications:send"


@strawberry.type(
    name="Notification",
    description="A message to a person (e-mail or text) and how its sending went.",
)
class NotificationType:
    id: strawberry.ID = strawberry.field(description="The notification's id.")
    user_id: strawberry.ID | None = strawberry.field(
        description="The user it was sent to; null when it went to a customer without an "
        "account (an order confirmation) or the user was deleted."
    )
    kind: NotificationKind = strawberry.field(description="Why it was sent.")
    channel: NotificationChannel = strawberry.field(description="E-mail or text message.")
    recipient: str = strawberry.field(description="The e-mail address or phone number.")
    subject: str | None = strawberry.field(description="The e-mail's subject; null for a text.")
    body: str = strawberry.field(
        description="The text. A one-time link (password reset, verification) is not part of "
        "it: its token is made when the mail is sent and never stored."
    )
    status: NotificationStatus = strawberry.field(description="Where its sending stands.")
    attempts: int = strawberry.field(description="How many times sending was tried.")
    last_error: str | None = strawberry.field(
        description="Why the last failed try failed; null when none failed."
    )
    created_at: datetime = strawberry.field(description="When it was asked for.")
    sent_at: datetime | None = strawberry.field(description="When it was sent; null until then.")

    @classmethod
    def from_row(cls, row: Notification) -> NotificationType:
        return from_row(cls, row)


@strawberry.input(description="Which notifications to list; every given criterion holds.")
class NotificationFilter:
    status: NotificationStatus | None = strawberry.field(
        default=None, description="Only this status."
    )
    channel: NotificationChannel | None = strawberry.field(
        default=None, description="Only this channel."
    )
    user_id: strawberry.ID | None = strawberry.field(
        default=None, description="Only those sent to this user."
    )


@strawberry.input(description="A message to one user (seed 002's notification request).")
class SendNotificationInput:
    user_id: strawberry.ID = strawberry.field(description="The user to notify.")
    type: NotificationChannel = strawberry.field(
        description="EMAIL to their address, or SMS to the phone of their customer record."
    )
    subject: str | None = strawberry.field(
        default=None, description="The subject (at most 200 characters); required for EMAIL."
    )
    message: str = strawberry.field(
        description="The text: at most 10,000 characters for EMAIL, 1,600 for SMS."
    )


@strawberry.type
class NotificationQueries:
    @strawberry.field(
        description="Every notification, newest first. Needs notifications:read.",
        permission_classes=[requires(READ)],
    )
    async def notifications(
        self,
        info: Info,
        filter: Annotated[
            NotificationFilter | None,
            strawberry.argument(description="By status, channel and user. Default: all."),
        ] = None,
        page: PageArg = None,
        limit: LimitArg = None,
        offset: OffsetArg = None,
        first: FirstArg = None,
        after: AfterArg = None,
    ) -> Connection[NotificationType]:
        request = page_request(page=page, limit=limit, offset=offset, first=first, after=after)
        given = filter or NotificationFilter()
        criteria = service.NotificationFilter(
            status=given.status, channel=given.channel, user_id=given.user_id
        )
        async with info.context.read() as session:
            result = await service.list_notifications(session, filter=criteria, page=request)
        return to_connection(result, NotificationType.from_row)


@strawberry.type
class NotificationMutations:
    @strawberry.mutation(
        description="Queue a message to a user; it is sent by a background job (retried with "
        "back-off), so the answer is the notification as QUEUED. An unknown user is "
        "NOT_FOUND; SMS to a user whose customer record has no phone is VALIDATION_FAILED. "
        "Needs notifications:send.",
        permission_classes=[requires(SEND)],
    )
    async def send_notification(
        self,
        info: Info,
        input: Annotated[
            SendNotificationInput, strawberry.argument(description="Who, how and what.")
        ],
    ) -> NotificationType:
        async with info.context.command() as uow:
            row = await service.send_to_user(
                uow,
                info.context.actor,
                user_id=input.user_id,
                channel=input.type,
                subject=input.subject,
                message=input.message,
            )
        return NotificationType.from_row(row)
