"""The payment provider's webhook: signed, stored once, then handled.

`Stripe-Signature: t=<unix>,v1=<hex HMAC-SHA256 of "t.body">` keyed by
CARTOGRAPH_PAYMENT_WEBHOOK_SECRET, within five minutes; anything else is refused and changes
nothing. `payment_intent.succeeded` with `metadata.orderId` confirms a pending order when the
amount and currency are the order's; an event id seen before changes nothing.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from typing import Any

import orjson
from sqlalchemy import select

from app.auth.actor import Actor
from app.db import Database, insert_ignoring_duplicates
from app.errors import Conflict, ValidationFailed
from app.ids import parse_uuid
from app.models.base import utcnow
from app.models.orders import Order, PaymentWebhookEvent
from app.services.audit import record_change

TOLERANCE_SECONDS = 300
PROVIDER_ACTOR = Actor(kind="system", id="payments", name="payment provider")


def verify(
    secret: str | None, header: str | None, body: bytes, *, now: float | None = None
) -> None:
    """Raise ValidationFailed unless `header` signs `body` with `secret`, recently."""
    if not secret:
        raise ValidationFailed("The payment webhook is not configured.")
    parts = dict(part.split("=", 1) for part in (header or "").split(",") if "=" in part)
    timestamp, signature = parts.get("t", ""), parts.get("v1", "")
    if not timestamp.isdigit() or not signature:
        raise ValidationFailed("Missing or malformed Stripe-Signature.")
    if abs((now or time.time()) - int(timestamp)) > TOLERANCE_SECONDS:
        raise ValidationFailed("The signature's timestamp is outside the tolerance.")
    expected = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    if not hmac.compare_digest(expected.hexdigest(), signature):
        raise ValidationFailed("The signature does not match.")


def sign(secret: str, body: bytes, timestamp: int | None = None) -> str:
    """The header a provider would send (for tests and local tools)."""
    t = timestamp or int(time.time())
    digest = hmac.new(secret.encode(), f"{t}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={t},v1={digest}"


async def handle(database: Database, body: bytes, *, request_id: str | None = None) -> str:
    """Store the event once and act on it; returns what happened."""
    try:
        event = orjson.loads(body)
        event_id, event_type = str(event["id"]), str(event["type"])
        intent: dict[str, Any] = event.get("data", {}).get("object", {}) or {}
    except (orjson.JSONDecodeError, KeyError, TypeError, AttributeError):
        raise ValidationFailed("Not a provider event.") from None
    async with database.unit_of_work(request_id=request_id) as uow:
        stored = await uow.session.execute(
            insert_ignoring_duplicates(database, PaymentWebhookEvent.__table__, ["id"])
            .values(id=event_id, type=event_type, received_at=utcnow())
            .returning(PaymentWebhookEvent.id)
        )
        if stored.first() is None:
            return "duplicate"
        outcome = "ignored"
        if event_type == "payment_intent.succeeded":
            outcome = await _confirm(uow, intent)
        await uow.commit()
    return outcome


async def _confirm(uow: Any, intent: dict[str, Any]) -> str:
    order_id = parse_uuid(str((intent.get("metadata") or {}).get("orderId", "")))
    order = (
        await uow.session.scalar(select(Order).where(Order.id == order_id).with_for_update())
        if order_id
        else None
    )
    if order is None:
        raise ValidationFailed("metadata.orderId names no order.")
    if (
        intent.get("amount") != order.total
        or str(intent.get("currency", "")).upper() != order.currency
    ):
        raise Conflict("The payment's amount or currency is not the order's.")
    if order.status != "pending":
        return "already-confirmed"
    before = order.snapshot()
    order.status = "confirmed"
    order.updated_at = utcnow()
    await uow.session.flush()
    record_change(
        uow,
        PROVIDER_ACTOR,
        event="orders.statusChange",
        entity_type="order",
        entity_id=str(order.id),
        before=before,
        after=order.snapshot(),
        reason="payment succeeded",
    )
    return "confirmed"
