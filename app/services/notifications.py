"""Notifications: asked for inside a command, sent by a job after it commits.

Rules that are not obvious:

- Asking for a notification writes its row (status `queued`) and enqueues its
  `notification.send` job in the caller's transaction: both commit with the change or
  neither does, and nothing is sent for a rolled-back command. Sending (`send_notification`)
  runs in the job, with no transaction open while the mail server or SMS provider is called.
- Each try is counted on the row (`attempts`, `last_error`); a failed try is retried with
  back-off until MAX_ATTEMPTS, after which the row is `failed`. A row already `sent` is not
  sent again (a job may run twice when its worker died after sending).
- One-time links (password reset, e-mail verification) are minted when the mail is sent, by
  the `Composer` registered for the kind (`app.services.auth`): the row holds the text without
  the link, and the plaintext token is never stored.
- A text message goes to the phone of the customer record linked to the user; a user without
  one cannot be texted (VALIDATION_FAILED on `type`).
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.actor import Actor
from app.config import Settings
from app.db import Database, UnitOfWork
from app.errors import ValidationFailed
from app.ids import parse_uuid, uuid7
from app.jobs import enqueue
from app.models.base import utcnow
from app.models.customers import Customer
from app.models.notifications import (
    CHANNELS,
    ERROR_LENGTH,
    NOTIFICATION_STATUSES,
    SUBJECT_LENGTH,
    Notification,
)
from app.models.orders import Order
from app.models.users import User
from app.money import format_money
from app.notifications import Channels, Message
from app.pagination import Page, PageRequest, SortKey, paginate
from app.services.audit import record_change
from app.services.catalog.rules import Problems
from app.services.users import get_user

SEND_JOB = "notification.send"
# Tries in all: the first, then after 30 s, 2 min, 10 min and 1 h (`app.notifications.jobs`).
MAX_ATTEMPTS = 5
RETRY_DELAYS = (30, 120, 600, 3600)
EMAIL_BODY_LENGTH = 10_000
# Ten concatenated SMS segments; providers refuse longer texts.
SMS_BODY_LENGTH = 1600
NOTIFICATION_ORDER = (SortKey(Notification.id, descending=True),)


def queue_notification(
    session: AsyncSession,
    *,
    kind: str,
    channel: str,
    recipient: str,
    body: str,
    subject: str | None = None,
    user_id: uuid.UUID | None = None,
    data: dict[str, Any] | None = None,
) -> Notification:
    """Add a queued notification and the job that sends it; both commit with the caller."""
    row = Notification(
        id=uuid7(),
        user_id=user_id,
        kind=kind,
        channel=channel,
        recipient=recipient,
        subject=subject,
        body=body,
        data=data or {},
        status="queued",
        attempts=0,
        created_at=utcnow(),
    )
    session.add(row)
    enqueue(session, SEND_JOB, {"notificationId": str(row.id)}, max_attempts=MAX_ATTEMPTS)
    return row


def _check_text(problems: Problems, field: str, value: str | None, limit: int) -> str | None:
    """Trimmed text, with no NUL (PostgreSQL refuses it) and at most `limit` characters."""
    if value is None:
        return None
    value = value.strip()
    if not value:
        problems.add(field, "Required.")
    elif "\x00" in value:
        problems.add(field, "Must not contain NUL characters.")
    elif len(value) > limit:
        problems.add(field, f"At most {limit} characters.")
    return value


async def send_to_user(
    uow: UnitOfWork,
    actor: Actor,
    *,
    user_id: str,
    channel: str,
    subject: str | None,
    message: str,
) -> Notification:
    """Queue a message written by the caller to a user: an e-mail to their address, or a text
    to the phone of their customer record. An unknown user is NOT_FOUND."""
    problems = Problems()
    if channel not in CHANNELS:
        problems.add("type", "Must be email or sms.")
    limit = SMS_BODY_LENGTH if channel == "sms" else EMAIL_BODY_LENGTH
    body = _check_text(problems, "message", message, limit)
    if channel == "email" and subject is None:
        problems.add("subject", "Required for an e-mail.")
    subject = _check_text(problems, "subject", subject, SUBJECT_LENGTH)
    if subject is not None and any(c in subject for c in "\r\n"):
        problems.add("subject", "Must be one line.")
    problems.raise_if_any()
    user = await get_user(uow.session, user_id)
    recipient = user.email
    if channel == "sms":
        phone = await _phone_of(uow.session, user)
        if phone is None:
            raise ValidationFailed.field("type", "The user has no phone number to text.")
        recipient = phone
    assert body is not None  # checked above
    row = queue_notification(
        uow.session,
        kind="custom",
        channel=channel,
        recipient=recipient,
        subject=subject,
        body=body,
        user_id=user.id,
    )
    await uow.session.flush()
    record_change(
        uow, actor, event="notifications.send", entity_type="notification",
        entity_id=str(row.id), after=row.snapshot(),
    )  # fmt: skip
    return row


async def _phone_of(session: AsyncSession, user: User) -> str | None:
    if user.customer_id is None:
        return None
    phone = await session.scalar(select(Customer.phone).where(Customer.id == user.customer_id))
    return phone.strip() or None if phone else None


async def queue_order_confirmations(session: AsyncSession, order_ids: list[str]) -> int:
    """Queue a confirmation e-mail for each of these orders whose customer has a record (a
    guest order has no address to write to); how many were queued. Run by the dispatcher's
    fan-out on `orders.create`, once per event."""
    ids = [parsed for value in order_ids if (parsed := parse_uuid(value)) is not None]
    if not ids:
        return 0
    orders = (await session.scalars(select(Order).where(Order.id.in_(ids)))).all()
    customer_ids = {c for o in orders if (c := parse_uuid(o.customer_id or "")) is not None}
    customers = {
        str(c.id): c
        for c in await session.scalars(select(Customer).where(Customer.id.in_(customer_ids)))
    }
    linked = await session.execute(
        select(User.customer_id, User.id).where(User.customer_id.in_(customer_ids))
    )
    users = {customer_id: user_id for customer_id, user_id in linked}
    queued = 0
    for order in orders:
        customer = customers.get(str(order.customer_id))
        if customer is None:
            continue
        queue_notification(
            session,
            kind="order_confirmation",
            channel="email",
            recipient=customer.email,
            subject=f"Your order {order.number}",
            body=f"Thank you for your order {order.number}. Total: "
            f"{format_money(order.total, order.currency)}. We will write again when it ships.",
            user_id=users.get(customer.id),
            data={"orderId": str(order.id)},
        )
        queued += 1
    return queued


# ---- reading -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class NotificationFilter:
    status: str | None = None
    channel: str | None = None
    user_id: str | None = None


async def list_notifications(
    session: AsyncSession, *, filter: NotificationFilter, page: PageRequest
) -> Page[Notification]:
    """Newest first. A `userId` that is not a UUID matches nothing."""
    statement = select(Notification)
    if filter.status is not None:
        if filter.status not in NOTIFICATION_STATUSES:
            raise ValidationFailed.field("status", "Must be queued, sent or failed.")
        statement = statement.where(Notification.status == filter.status)
    if filter.channel is not None:
        if filter.channel not in CHANNELS:
            raise ValidationFailed.field("channel", "Must be email or sms.")
        statement = statement.where(Notification.channel == filter.channel)
    if filter.user_id is not None:
        try:
            user_id = uuid.UUID(filter.user_id)
        except ValueError:
            raise ValidationFailed.field("userId", "Must be a user's id.") from None
        statement = statement.where(Notification.user_id == user_id)
    return await paginate(session, statement, keys=NOTIFICATION_ORDER, request=page)


# ---- sending (in the job) ------------------------------------------------------------------

# Builds the e-mail of a kind whose text is completed at sending (a one-time link), in a unit
# of work of its own that commits before the mail goes out; or, when it is no longer to be
# sent (the account was deactivated, the address verified meanwhile), the reason why not.
Composer = Callable[[UnitOfWork, Notification, Settings], Awaitable[Message | str]]
COMPOSERS: dict[str, Composer] = {}


def composer(kind: str) -> Callable[[Composer], Composer]:
    """Register the function that completes the mails of `kind` when they are sent."""

    def register(fn: Composer) -> Composer:
        COMPOSERS[kind] = fn
        return fn

    return register


class NotSent(Exception):
    """A try that failed; the row has recorded it."""


async def send_notification(
    database: Database, settings: Settings, channels: Channels, id: str, *, last: bool
) -> None:
    """Send one queued notification and record how it went. Raises NotSent (chained to the
    channel's error) when the try failed, so that the job is retried; the row is `failed` when
    it was the `last` try the job allows."""
    async with database.read_session() as session:
        row = await session.get(Notification, uuid.UUID(id))
    if row is None or row.status == "sent":
        return
    compose = COMPOSERS.get(row.kind)
    message: Message | str = Message(to=row.recipient, subject=row.subject or "", body=row.body)
    if compose is not None and row.channel == "email":
        async with database.unit_of_work() as uow:
            message = await compose(uow, row, settings)
            await uow.commit()
    if isinstance(message, str):
        await _record(database, row.id, status="failed", error=message)
        return
    try:
        if row.channel == "sms":
            await channels.sms.send(row.recipient, row.body)
        else:
            await channels.email.send(message)
    except Exception as error:
        reason = f"{type(error).__name__}: {error}"[:ERROR_LENGTH]
        await _record(database, row.id, status="failed" if last else "queued", error=reason)
        raise NotSent(reason) from error
    await _record(database, row.id, status="sent")


async def _record(
    database: Database, id: uuid.UUID, *, status: str, error: str | None = None
) -> None:
    values: dict[str, Any] = {"status": status, "attempts": Notification.attempts + 1}
    if error is not None:
        values["last_error"] = error
    if status == "sent":
        values["sent_at"] = utcnow()
    async with database.unit_of_work() as uow:
        await uow.session.execute(update(Notification).where(Notification.id == id).values(values))
        await uow.commit()
