"""Checkout's split of an order into sub-orders, one per vendor among its lines (see
`app.services.marketplace.sub_orders` for what follows). Kept apart from the sub-order
machine so that checkout and settlement can call it without importing what imports them."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Sequence

from sqlalchemy import select

from app.auth.actor import Actor
from app.db import UnitOfWork
from app.models.catalog import CatalogEntity
from app.models.marketplace import SubOrder
from app.models.orders import Order, OrderLine
from app.services.audit import record_change

ENTITY = "sub_order"


async def split_order(uow: UnitOfWork, order: Order, lines: Sequence[OrderLine]) -> list[SubOrder]:
    """One sub-order per vendor among the order's lines, and one for the house's lines when
    there are vendor lines too; an order of house lines only is not split. The lines are
    given their sub-order; nothing is recorded until `record_split` (the order itself is
    announced only once it is placed)."""
    entity_ids = {line.entity_id for line in lines if line.entity_id is not None}
    owners = dict(
        (
            await uow.session.execute(
                select(CatalogEntity.id, CatalogEntity.vendor_id).where(
                    CatalogEntity.id.in_(entity_ids)
                )
            )
        ).all()
    ) if entity_ids else {}  # fmt: skip
    by_vendor: dict[uuid.UUID | None, list[OrderLine]] = defaultdict(list)
    for line in lines:
        owner = owners.get(line.entity_id) if line.entity_id is not None else None
        by_vendor[owner].append(line)
    if set(by_vendor) == {None}:
        return []
    made = []
    # The house's part last; vendors in a stable order.
    for vendor_id in sorted(by_vendor, key=lambda v: (v is None, str(v))):
        part = by_vendor[vendor_id]
        sub_order = SubOrder(
            order_id=order.id,
            order_number=order.number,
            shipping_address=order.shipping_address,
            vendor_id=vendor_id,
            status="pending",
            currency=order.currency,
            total=sum(line.total for line in part),
        )
        uow.session.add(sub_order)
        made.append((sub_order, part))
    await uow.session.flush()
    for sub_order, part in made:
        for line in part:
            line.sub_order_id = sub_order.id
    await uow.session.flush()
    return [sub_order for sub_order, _ in made]


async def record_split(uow: UnitOfWork, actor: Actor, order: Order) -> None:
    """`subOrders.create` for each of a placed order's sub-orders (with the order's own
    `orders.create`, in its transaction)."""
    rows = await uow.session.scalars(
        select(SubOrder).where(SubOrder.order_id == order.id).order_by(SubOrder.id)
    )
    for sub_order in rows:
        record_change(
            uow, actor, event="subOrders.create", entity_type=ENTITY,
            entity_id=str(sub_order.id), after=sub_order.snapshot(),
        )  # fmt: skip
