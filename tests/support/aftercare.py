"""Marketplace aftercare for tests: signed-in shoppers, their orders of vendors' products
(through the real checkout and payment, then owned by the shopper), and sub-orders moved
along their machine by the marketplace."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import httpx
from sqlalchemy import select, update

from app.auth.actor import SYSTEM
from app.db import Database
from app.models.catalog import CatalogEntity
from app.models.marketplace import SubOrder
from app.models.orders import Order, OrderLine
from app.services.marketplace.sub_orders import move_sub_order
from tests.support.marketplace import MadeVendor, split_order
from tests.support.users import make_user, session_token

PATH = ("confirmed", "shipped", "delivered")


@dataclass(frozen=True)
class Shopper:
    customer_id: str
    user_id: str
    token: str


async def make_shopper(database: Database, name: str = "ada") -> Shopper:
    """A signed-in customer (a user with a customer record)."""
    user = await make_user(database, email=f"{name}@shoppers.example", name=name.title())
    assert user.customer_id is not None
    token = await session_token(database, user)
    return Shopper(customer_id=str(user.customer_id), user_id=str(user.id), token=token)


async def bought(
    client: httpx.AsyncClient,
    database: Database,
    shopper: Shopper,
    *lines: tuple[CatalogEntity, int],
) -> dict[str, Any]:
    """A paid order of `lines` (engine shape), the shopper's own."""
    order = await split_order(client, *lines)
    async with database.unit_of_work() as uow:
        await uow.session.execute(
            update(Order)
            .where(Order.id == uuid.UUID(order["id"]))
            .values(customer_id=shopper.customer_id)
        )
        await uow.commit()
    return order


async def move_to(database: Database, sub_order_id: str, status: str) -> None:
    """Move a pending sub-order along pending -> ... -> `status` as the marketplace."""
    for step in PATH[: PATH.index(status) + 1]:
        async with database.unit_of_work() as uow:
            await move_sub_order(
                uow, SYSTEM, id=sub_order_id, status=step, tracking_number="1Z", carrier="UPS"
            )
            await uow.commit()


async def sub_order_of(database: Database, order_id: str, vendor: MadeVendor) -> SubOrder:
    async with database.read_session() as session:
        found = await session.scalar(
            select(SubOrder).where(
                SubOrder.order_id == uuid.UUID(order_id),
                SubOrder.vendor_id == uuid.UUID(vendor.id),
            )
        )
    assert found is not None
    return found


async def lines_of(database: Database, sub_order_id: str) -> list[OrderLine]:
    async with database.read_session() as session:
        rows = await session.scalars(
            select(OrderLine)
            .where(OrderLine.sub_order_id == uuid.UUID(sub_order_id))
            .order_by(OrderLine.total.desc())
        )
        return list(rows)


async def delivered_sub_order(
    client: httpx.AsyncClient,
    database: Database,
    shopper: Shopper,
    vendor: MadeVendor,
    *lines: tuple[CatalogEntity, int],
    status: str = "delivered",
) -> str:
    """The shopper buys `lines` (of `vendor`'s products); its sub-order moved to `status`."""
    order = await bought(client, database, shopper, *lines)
    sub_order = await sub_order_of(database, order["id"], vendor)
    if status != "pending":
        await move_to(database, str(sub_order.id), status)
    return str(sub_order.id)
