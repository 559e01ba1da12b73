"""The payment provider's webhook: signed, stored once, then handled.

`Stripe-Signature: t=<unix>,v1=<hex HMAC-SHA256 of "t.body">` keyed by
CARTOGRAPH_PAYMENT_WEBHOOK_SECRET, within five minutes; anything else is refused and changes
nothing. `payment_intent.succeeded` with `metadata.orderId`, when the amount and currency
are the order's: an unpaid order records the payment, its holds become sales, and it is
confirmed; a cancelled order records the payment and refunds it; a paid order is confirmed.
An event id seen before changes nothing.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import time
import uuid
from typing import Any

import orjson
from sqlalchemy import select

from app import payments
from app.auth.actor import Actor
from app.db import Database, UnitOfWork, insert_ignoring_duplicates
from app.errors import Conflict, ValidationFailed
from app.ids import parse_uuid
from app.models.base import utcnow
from app.models.orders import Order, Payment, PaymentWebhookEvent
from app.services import settlement
from app.services.audit import record_change

TOLERANCE_SECONDS = 300
# A Unix time in ASCII digits (ten today): anything longer would overflow a float.
TIMESTAMP = re.compile(r"[0-9]{1,12}")
# The longest event id stored (its column's length), and of its type.
MAX_EVENT_ID = 200
MAX_EVENT_TYPE = 100
PROVIDER_ACTOR = Actor(kind="system", id="payments", name="payment provider")


def verify(
    secret: str | None, header: str | None, body: bytes, *, now: float | None = None
) -> None:
    """Raise ValidationFailed unless `header` signs `body` with `secret`, recently."""
    if not secret:
        raise ValidationFailed("The payment webhook is not configured.")
    parts = dict(part.split("=", 1) for part in (header or "").split(",") if "=" in part)
    timestamp, signature = parts.get("t", ""), parts.get("v1", "")
    if not TIMESTAMP.fullmatch(timestamp) or not signature:
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
    """Store the event once and act on it; returns what happened. A refund it opens is asked
    of the provider after commit."""
    event_id, event_type, intent = parse_event(body)
    try:
        order_id, outcome = await _store_and_act(database, event_id, event_type, intent, request_id)
    except settlement.StockGone:
        order_id, outcome = await _store_and_act(
            database, event_id, event_type, intent, request_id, stock_gone=True
        )
    if outcome == "refunded" and order_id is not None:
        await settlement.complete_refunds(database, PROVIDER_ACTOR, order_id, request_id=request_id)
    return outcome


def parse_event(body: bytes) -> tuple[str, str, dict[str, Any]]:
    """The event's id, type and object (the payment intent), or ValidationFailed naming the
    field that is not what a provider sends: refused before anything is stored."""
    try:
        event = orjson.loads(body)
    except orjson.JSONDecodeError:
        raise ValidationFailed("Not a provider event: malformed JSON.") from None
    if not isinstance(event, dict):
        raise ValidationFailed.field("body", "Not a provider event: expected an object.")
    event_id = _text(event.get("id"), MAX_EVENT_ID)
    if event_id is None:
        raise ValidationFailed.field("id", f"1 to {MAX_EVENT_ID} printable characters.")
    event_type = _text(event.get("type"), MAX_EVENT_TYPE)
    if event_type is None:
        raise ValidationFailed.field("type", f"1 to {MAX_EVENT_TYPE} printable characters.")
    data = event.get("data")
    intent = data.get("object") if isinstance(data, dict) else None
    if not isinstance(intent, dict):
        raise ValidationFailed.field("data.object", "Must be an object.")
    if not isinstance(intent.get("metadata", {}), dict):
        raise ValidationFailed.field("data.object.metadata", "Must be an object.")
    return event_id, event_type, intent


def _text(value: object, limit: int) -> str | None:
    """`value` if it is text a column can hold (1 to `limit` printable characters: no NUL, which
    PostgreSQL refuses), else None."""
    if isinstance(value, str) and 1 <= len(value) <= limit and value.isprintable():
        return value
    return None


async def _store_and_act(
    database: Database,
    event_id: str,
    event_type: str,
    intent: dict[str, Any],
    request_id: str | None,
    *,
    stock_gone: bool = False,
) -> tuple[uuid.UUID | None, str]:
    async with database.unit_of_work(request_id=request_id) as uow:
        stored = await uow.session.execute(
            insert_ignoring_duplicates(database, PaymentWebhookEvent.__table__, ["id"])
            .values(id=event_id, type=event_type, received_at=utcnow())
            .returning(PaymentWebhookEvent.id)
        )
        if stored.first() is None:
            return None, "duplicate"
        order_id, outcome = None, "ignored"
        if event_type == "payment_intent.succeeded":
            order_id, outcome = await _succeeded(uow, intent, stock_gone=stock_gone)
        await uow.commit()
    return order_id, outcome


async def _succeeded(
    uow: UnitOfWork, intent: dict[str, Any], *, stock_gone: bool = False
) -> tuple[uuid.UUID | None, str]:
    """The provider took the money for an order: an unpaid order is paid (its holds become
    sales) and confirmed; a cancelled one is refunded; a paid one is confirmed."""
    metadata = intent.get("metadata")
    order_id = parse_uuid(str(metadata.get("orderId", ""))) if isinstance(metadata, dict) else None
    order = (
        await uow.session.scalar(select(Order).where(Order.id == order_id).with_for_update())
        if order_id
        else None
    )
    if order is None:
        raise ValidationFailed("metadata.orderId names no order.")
    reference = _text(intent.get("id"), 200)
    if reference is None:
        raise ValidationFailed.field("data.object.id", "1 to 200 printable characters.")
    if (
        intent.get("amount") != order.total
        or str(intent.get("currency", "")).upper() != order.currency
    ):
        raise Conflict("The payment's amount or currency is not the order's.")
    if order.payment_status not in ("pending", "processing") and order.status != "cancelled":
        return order.id, await _confirm(uow, order)
    if await uow.session.scalar(
        select(Payment.id).where(
            Payment.order_id == order.id, Payment.provider_reference == reference
        )
    ):
        return order.id, "already-recorded"
    recorded = await _record_payment(uow, order, intent, reference)
    if order.status == "cancelled":
        before = order.snapshot()
        await settlement.open_refund(uow, order, reason="paid after the order was cancelled")
        record_change(
            uow, PROVIDER_ACTOR, event="orders.update", entity_type="order",
            entity_id=str(order.id), before=before, after=order.snapshot(),
            reason="payment after cancellation; refunding",
        )  # fmt: skip
        return order.id, "refunded"
    settled = await settlement.record_paid(
        uow, PROVIDER_ACTOR, order, placed=recorded.kind == "checkout", reason="paid (webhook)",
        stock_gone=stock_gone,
    )  # fmt: skip
    if settled.outcome == "refunded":
        return order.id, "refunded"
    await _confirm(uow, order)
    return order.id, "paid"


async def _record_payment(
    uow: UnitOfWork, order: Order, intent: dict[str, Any], reference: str
) -> Payment:
    """The pending attempt the provider answered, or a payment made outside Cartograph."""
    attempt = await uow.session.scalar(
        select(Payment)
        .where(Payment.order_id == order.id, Payment.status == "pending")
        .with_for_update()
    )
    if attempt is None:
        method = intent.get("payment_method")
        attempt = Payment(
            order_id=order.id,
            provider=payments.provider().name,
            payment_method_id=_text(method, 200) or "",
            amount=order.total,
            currency=order.currency,
            kind="payment",
        )
        uow.session.add(attempt)
    attempt.status = "succeeded"
    attempt.provider_reference = reference
    attempt.updated_at = utcnow()
    await uow.session.flush()
    return attempt


async def _confirm(uow: UnitOfWork, order: Order) -> str:
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
