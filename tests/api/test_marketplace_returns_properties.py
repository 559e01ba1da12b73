"""Returns keep the ledger whole (hypothesis; issue 14, "Must show"): after any sequence of
returns of a delivered line (each asked, shipped back and received, or refused when it asks
for more than is left), the vendor's balance is the sum of its entries and equals the model
(the sale less its commission, less each refund plus the commission given back on it), the
refunds add up to what the returns cost and never pass the line's total (all of it when every
unit came back, with the whole commission given back), the order's payment refunds match
them, and every returned unit is back in stock."""

from __future__ import annotations

import uuid

import httpx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from app.auth.actor import SYSTEM
from app.db import Database
from app.errors import Conflict, ValidationFailed
from app.models.ledger import BalanceEntry
from app.models.orders import Payment
from app.models.users import User
from app.services.marketplace import returns as return_service
from app.services.sessions import user_actor
from tests.api.test_checkout import available
from tests.conftest import truncate_all
from tests.support.aftercare import delivered_sub_order, lines_of, make_shopper
from tests.support.ledger import balance, make_rule
from tests.support.marketplace import make_vendor, vendor_product

RATE_BPS = 1000


def taken(amount: int) -> int:
    return (amount * RATE_BPS + 5000) // 10000


@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    price=st.integers(min_value=1, max_value=9999),
    quantity=st.integers(min_value=1, max_value=5),
    asks=st.lists(st.integers(min_value=1, max_value=3), min_size=1, max_size=5),
)
async def test_returns_refund_exactly_what_they_cost_and_the_balance_stays_the_sum(
    shared_database: Database,
    client: httpx.AsyncClient,
    price: int,
    quantity: int,
    asks: list[int],
) -> None:
    database = shared_database
    await truncate_all(database)
    await make_rule(database, kind="percentage", scope="global", rate_bps=RATE_BPS)
    vendor = await make_vendor(database, "acme")
    shopper = await make_shopper(database, "ada")
    saw = await vendor_product(database, "acme-saw", vendor, price, stock=10)
    sub_order = await delivered_sub_order(client, database, shopper, vendor, (saw, quantity))
    [line] = await lines_of(database, sub_order)
    total, stock = line.total, await available(client, saw)
    async with database.read_session() as session:
        user = await session.scalar(select(User).where(User.id == uuid.UUID(shopper.user_id)))
        assert user is not None
        customer = await user_actor(session, user)
    expected = total - taken(total)
    returned = refunded = 0
    for ask in asks:
        try:
            async with database.unit_of_work() as uow:
                made = await return_service.create_return(
                    uow, customer, sub_order_id=sub_order, lines=[(str(line.id), ask)],
                    reason="property",
                )  # fmt: skip
                await return_service.ship_back(
                    uow, customer, id=str(made.id), tracking_number="T", carrier="C"
                )
                await uow.commit()
        except (ValidationFailed, Conflict):
            assert ask > quantity - returned  # refused only when more than is left
            continue
        received = await return_service.receive_return(database, SYSTEM, id=str(made.id))
        assert received.status == "received"
        cost = total * (returned + ask) // quantity - total * returned // quantity
        assert received.amount == cost
        given_back = taken(total) * (refunded + cost) // total - taken(total) * refunded // total
        expected += -cost + given_back
        returned, refunded = returned + ask, refunded + cost
        async with database.read_session() as session:
            summed = await session.scalar(
                select(func.coalesce(func.sum(BalanceEntry.amount), 0)).where(
                    BalanceEntry.vendor_id == uuid.UUID(vendor.id)
                )
            )
            back = await session.scalar(
                select(func.coalesce(func.sum(Payment.amount), 0)).where(
                    Payment.kind == "refund", Payment.status == "refunded"
                )
            )
        assert await balance(database, vendor.id) == int(summed or 0) == expected
        assert -int(back or 0) == refunded <= total
        assert await available(client, saw) == stock + returned
    if returned == quantity:
        assert refunded == total and expected == 0  # the commission is all given back
