"""Fulfillments: shipping an order's lines; the order's status follows by itself."""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.actor import Actor
from app.db import UnitOfWork
from app.errors import Conflict, ValidationFailed
from app.ids import parse_uuid
from app.models.base import utcnow
from app.models.orders import Fulfillment, OrderLine
from app.services.audit import record_change
from app.services.orders import get_order

SHIPPABLE = ("confirmed", "processing", "partially_fulfilled")


async def create_fulfillment(
    uow: UnitOfWork,
    actor: Actor,
    *,
    order_id: str,
    lines: list[tuple[str, int]],
    carrier: str | None = None,
    tracking_number: str | None = None,
) -> Fulfillment:
    """Ship `lines` ((line id, quantity)); at most what is left of each. The order moves to
    partially_fulfilled, or fulfilled once every unit has shipped."""
    if not lines:
        raise ValidationFailed.field("lines", "Give at least one line.")
    for value, field in ((carrier, "carrier"), (tracking_number, "trackingNumber")):
        if value is not None and len(value) > 200:
            raise ValidationFailed.field(field, "At most 200 characters.")
    order = await get_order(uow.session, actor, order_id, lock=True, write=True)
    if order.status not in SHIPPABLE:
        raise Conflict(
            f"An order that is {order.status} cannot be fulfilled; it must be "
            f"{', '.join(SHIPPABLE)}."
        )
    order_lines = {
        line.id: line
        for line in (
            await uow.session.scalars(select(OrderLine).where(OrderLine.order_id == order.id))
        ).all()
    }
    shipped: list[dict[str, object]] = []
    for index, (line_id, quantity) in enumerate(lines):
        line = order_lines.get(parse_uuid(line_id) or uuid.UUID(int=0))
        if line is None:
            raise ValidationFailed.field(f"lines.{index}.lineId", "Not a line of this order.")
        left = line.quantity - line.fulfilled_quantity
        if not 1 <= quantity <= left:
            raise ValidationFailed.field(f"lines.{index}.quantity", f"Between 1 and {left}.")
        line.fulfilled_quantity += quantity
        shipped.append({"lineId": str(line.id), "quantity": quantity})
    fulfillment = Fulfillment(
        order_id=order.id, carrier=carrier, tracking_number=tracking_number, lines=shipped
    )
    uow.session.add(fulfillment)
    before = order.snapshot()
    done = all(line.fulfilled_quantity == line.quantity for line in order_lines.values())
    order.status = "fulfilled" if done else "partially_fulfilled"
    order.updated_at = utcnow()
    await uow.session.flush()
    record_change(
        uow,
        actor,
        event="fulfillment.create",
        entity_type="fulfillment",
        entity_id=str(fulfillment.id),
        after=fulfillment.snapshot(),
    )
    if before["status"] != order.status:
        record_change(
            uow,
            actor,
            event="orders.statusChange",
            entity_type="order",
            entity_id=str(order.id),
            before=before,
            after=order.snapshot(),
            reason="fulfillment",
        )
    return fulfillment


async def list_fulfillments(
    session: AsyncSession, actor: Actor, *, order_id: str
) -> list[Fulfillment]:
    order = await get_order(session, actor, order_id)
    return list(
        (
            await session.scalars(
                select(Fulfillment).where(Fulfillment.order_id == order.id).order_by(Fulfillment.id)
            )
        ).all()
    )
