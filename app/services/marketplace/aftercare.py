"""What disputes, returns and reviews share: the shopper's own delivered sub-order, who reaches
which records, and giving money back.

Who reaches what: `marketplace:admin` every record; a vendor's signed-in user its own
vendor's; a signed-in customer their own (the records copy the order's `customer_id`).
Anyone else is refused (UNAUTHORIZED when anonymous, FORBIDDEN otherwise); a record out of
reach is NOT_FOUND, as a missing one.

Money given back (a received return, a dispute resolved with a refund) moves twice, in one
transaction: the vendor's ledger is debited through `ledger.record_refund` (keyed by the
return's or dispute's id, so it is recorded once), and a refund of the order's captured
payment is opened (`settlement.open_refund`); the provider is asked after commit, with no
transaction open (`settlement.complete_refunds`, DESIGN §10).
"""

from __future__ import annotations

import dataclasses
import uuid
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, false, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.actor import Actor
from app.db import UnitOfWork
from app.errors import Conflict, Forbidden, NotFound, Unauthorized, ValidationFailed
from app.ids import parse_uuid
from app.models.marketplace import SubOrder
from app.models.orders import Order
from app.pagination import Page, PageRequest, paginate
from app.services import settlement
from app.services.marketplace import ADMIN, ledger

T = TypeVar("T")


def require_customer(actor: Actor) -> str:
    """The signed-in customer's id: UNAUTHORIZED when anonymous, FORBIDDEN for anyone who is
    not a customer."""
    if actor.customer_id is None:
        if actor.is_anonymous:
            raise Unauthorized("Authentication required.")
        raise Forbidden("Only a signed-in customer may do this, on their own orders.")
    return actor.customer_id


async def customers_sub_order(
    session: AsyncSession, actor: Actor, id: str, *, lock: bool = False
) -> SubOrder:
    """A vendor's sub-order of the signed-in customer's own order (another's, the house's or
    a missing one is NOT_FOUND)."""
    require_customer(actor)
    parsed = parse_uuid(id)
    found = None
    if parsed is not None:
        query = (
            select(SubOrder, Order.customer_id)
            .join(Order, Order.id == SubOrder.order_id)
            .where(SubOrder.id == parsed)
        )
        if lock:
            query = query.with_for_update(of=SubOrder)
        found = (await session.execute(query)).first()
    if found is None or found[0].vendor_id is None or not actor.is_customer(found[1]):
        raise NotFound("Sub-order not found.")
    return found[0]


def require_delivered(sub_order: SubOrder, what: str) -> None:
    if sub_order.status != "delivered":
        raise Conflict(
            f"Only a delivered sub-order can have {what}.", details={"status": sub_order.status}
        )


@dataclass(frozen=True, slots=True)
class Reach:
    """Whose records an actor reads: everyone's (`every`), or its vendor's and/or its own as
    a customer."""

    every: bool = False
    vendor_id: uuid.UUID | None = None
    customer_id: str | None = None

    def condition(self, model: Any) -> ColumnElement[bool] | None:
        """The filter on `model` (None: no filter)."""
        if self.every:
            return None
        parts = []
        if self.vendor_id is not None:
            parts.append(model.vendor_id == self.vendor_id)
        if self.customer_id is not None:
            parts.append(model.customer_id == self.customer_id)
        return or_(*parts) if parts else false()

    def reaches(self, row: Any) -> bool:
        return (
            self.every
            or (self.vendor_id is not None and row.vendor_id == self.vendor_id)
            or (self.customer_id is not None and row.customer_id == self.customer_id)
        )


def reach_of(actor: Actor) -> Reach:
    """See the module: marketplace:admin, a vendor's user, a customer; else refused."""
    if actor.can(ADMIN):
        return Reach(every=True)
    if actor.vendor_id is None and actor.customer_id is None:
        actor.require(ADMIN)  # UNAUTHORIZED when anonymous, else FORBIDDEN
    return Reach(
        vendor_id=uuid.UUID(actor.vendor_id) if actor.vendor_id else None,
        customer_id=actor.customer_id,
    )


async def reached(session: AsyncSession, actor: Actor, model: type[T], id: str, missing: str) -> T:
    """The `model` record `id` if the actor reaches it; NOT_FOUND (`missing`) otherwise."""
    reach = reach_of(actor)
    parsed = parse_uuid(id)
    row = await session.get(model, parsed) if parsed else None
    if row is None or not reach.reaches(row):
        raise NotFound(missing)
    return row


async def list_reached(
    session: AsyncSession,
    actor: Actor,
    model: type[T],
    *,
    statuses: tuple[str, ...],
    order: Any,
    page: PageRequest,
    status: str | None,
    vendor_id: str | None,
    sub_order_id: str | None,
) -> Page[T]:
    """The `model` records the actor reaches (newest first by `order`), filtered by status,
    vendor and sub-order; an id that is not a UUID names nothing."""
    reach = reach_of(actor)
    if status is not None and status not in statuses:
        raise ValidationFailed.field("status", f"One of {', '.join(statuses)}.")
    entity: Any = model
    statement = select(model)
    if (condition := reach.condition(model)) is not None:
        statement = statement.where(condition)
    nothing = uuid.UUID(int=0)
    if status is not None:
        statement = statement.where(entity.status == status)
    if vendor_id is not None:
        statement = statement.where(entity.vendor_id == (parse_uuid(vendor_id) or nothing))
    if sub_order_id is not None:
        statement = statement.where(entity.sub_order_id == (parse_uuid(sub_order_id) or nothing))
    return await paginate(session, statement, keys=order, request=page)


def settling(actor: Actor) -> Actor:
    """The actor as the ledger sees it while a return or dispute it may settle gives money
    back: `record_refund` is marketplace:admin's entry point for direct calls; here the
    return's or dispute's own rules (checked by the caller) decide, and the audit trail keeps
    the real actor's id."""
    if actor.can(ADMIN):
        return actor
    return dataclasses.replace(actor, permissions=actor.permissions | {ADMIN})


async def give_money_back(
    uow: UnitOfWork,
    actor: Actor,
    *,
    sub_order: SubOrder,
    amount: int,
    reason: str,
    key: str,
) -> uuid.UUID:
    """Debit the vendor (`record_refund`, once per `key`) and open the shopper's refund of
    `amount` on the order's captured payment (CONFLICT when the payment cannot cover it).
    Answers the order's id, whose refund the caller completes after commit."""
    order = await uow.session.scalar(
        select(Order).where(Order.id == sub_order.order_id).with_for_update()
    )
    assert order is not None
    if order.payment_status == "processing":
        raise Conflict("A payment for this order is being processed; try again shortly.")
    await ledger.record_refund(
        uow, settling(actor), sub_order_id=str(sub_order.id), amount=amount, reason=reason,
        key=key,
    )  # fmt: skip
    _, left = await settlement.refundable(uow, order)
    if left < amount:
        raise Conflict(
            f"The order's payment has {left} left to refund.", details={"refundable": str(left)}
        )
    await settlement.open_refund(uow, order, amount=amount, reason=reason)
    return order.id
