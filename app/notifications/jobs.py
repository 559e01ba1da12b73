"""The notification job and the dispatcher fan-out that queues order confirmations.

Imported by `app.main` so that both are registered before a worker or the dispatcher runs.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.setup import policy_of
from app.config import Settings
from app.db import UnitOfWork
from app.events.dispatcher import on_dispatch
from app.jobs import JobContext, handler
from app.models.audit import Event
from app.models.notifications import Notification
from app.notifications import Channels, Message
from app.services import auth
from app.services import notifications as service


@handler(service.SEND_JOB, retry_delays=service.RETRY_DELAYS)
async def send(context: JobContext, payload: dict[str, Any]) -> None:
    """Send one notification (no transaction is open here: the job queue opens none)."""
    await service.send_notification(
        context.database,
        context.settings,
        Channels.from_settings(context.settings),
        str(payload["notificationId"]),
        last=context.last_attempt,
    )


@on_dispatch
async def confirm_orders(session: AsyncSession, events: Sequence[Event]) -> None:
    """A confirmation mail per order placed, queued in the dispatcher's transaction, so that
    each `orders.create` event queues exactly one."""
    placed = [event.entity_id for event in events if event.type == "orders.create"]
    if placed:
        await service.queue_order_confirmations(session, placed)


@service.composer(auth.PASSWORD_RESET)
async def reset_mail(uow: UnitOfWork, row: Notification, settings: Settings) -> Message | str:
    return await auth.reset_mail(uow, row, policy_of(settings))


@service.composer(auth.EMAIL_VERIFICATION)
async def verification_mail(
    uow: UnitOfWork, row: Notification, settings: Settings
) -> Message | str:
    return await auth.verification_mail(uow, row, policy_of(settings))
