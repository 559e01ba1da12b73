"""The ledger's invariants under any sequence of sales (deliveries), refunds, adjustments,
payout runs, refused transfers and retries (hypothesis; issue 14, "Must show").

After every step, for every vendor:
- its balance (what the API reports) is the sum of its entries, and equals an independent
  model: sales - commissions taken + commissions given back on refunds - refunds +
  adjustments - the money the payout provider actually sent it (the provider's own record);
- every payout has a positive amount, no payout was sent twice (at most one succeeded
  transfer per payout, and exactly one for a paid one), and a payout's debits net to its
  amount when paid or pending and to nothing when failed.
"""

from __future__ import annotations

import contextlib
import uuid
from collections import defaultdict
from dataclasses import dataclass, field

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from app import payouts
from app.auth.actor import SYSTEM
from app.db import Database
from app.errors import Conflict
from app.models.ledger import BalanceEntry, Payout
from app.models.marketplace import Vendor
from app.payouts import Minimums
from app.services.marketplace import ledger
from app.services.marketplace import payouts as payout_service
from tests.conftest import truncate_all
from tests.support.ledger import fresh_payout_provider, make_rule, sale

VENDORS = 2
RATE_BPS = 1000
MINIMUM = Minimums({}, 500)

vendor = st.integers(min_value=0, max_value=VENDORS - 1)
steps = st.lists(
    st.one_of(
        st.tuples(st.just("sale"), vendor, st.integers(min_value=1, max_value=5000)),
        st.tuples(st.just("refund"), vendor, st.integers(min_value=1, max_value=1000)),
        st.tuples(
            st.just("adjust"),
            vendor,
            st.integers(min_value=-3000, max_value=3000).filter(lambda n: n != 0),
        ),
        st.tuples(st.just("run")),
        st.tuples(st.just("fail"), vendor, st.booleans()),
        st.tuples(st.just("retry")),
    ),
    min_size=1,
    max_size=12,
)


@dataclass
class Model:
    """What the balance must be, worked out from the steps alone."""

    expected: dict[int, int] = field(default_factory=lambda: defaultdict(int))
    # Per vendor, its delivered sub-orders: [id, earned, taken, refunded].
    sales: dict[int, list[list[object]]] = field(default_factory=lambda: defaultdict(list))


def taken(amount: int) -> int:
    return (amount * RATE_BPS + 5000) // 10000


async def make_vendors(database: Database) -> list[str]:
    async with database.unit_of_work() as uow:
        made = [
            Vendor(name=f"V{i}", slug=f"v{i}", email=f"v{i}@example.com", status="active")
            for i in range(VENDORS)
        ]
        uow.session.add_all(made)
        await uow.commit()
    return [str(v.id) for v in made]


async def refund(database: Database, model: Model, index: int, per_mille: int) -> None:
    open_ = [s for s in model.sales[index] if s[3] < s[1]]  # type: ignore[operator]
    if not open_:
        return
    sub = open_[-1]
    id, earned, took, refunded = sub
    assert isinstance(earned, int) and isinstance(took, int) and isinstance(refunded, int)
    amount = max(1, (earned - refunded) * per_mille // 1000)
    async with database.unit_of_work() as uow:
        await ledger.record_refund(
            uow, SYSTEM, sub_order_id=str(id), amount=amount, reason="property"
        )
        await uow.commit()
    given_back = took * (refunded + amount) // earned - took * refunded // earned
    model.expected[index] += -amount + given_back
    sub[3] = refunded + amount


async def check(
    database: Database, ids: list[str], model: Model, provider: payouts.TestPayoutProvider
) -> None:
    sent: dict[str, int] = defaultdict(int)
    succeeded_per_payout: dict[str, int] = defaultdict(int)
    for transfer in provider.paid():
        sent[str(transfer["vendorId"])] += int(str(transfer["amount"]))
        succeeded_per_payout[str(transfer["key"]).split(":")[0]] += 1
    async with database.read_session() as session:
        reported = await ledger.balances_by_vendor(session, [uuid.UUID(i) for i in ids])
        entries = list(await session.scalars(select(BalanceEntry)))
        rows = list(await session.scalars(select(Payout)))
        nets = dict(
            (
                await session.execute(
                    select(BalanceEntry.payout_id, func.sum(BalanceEntry.amount))
                    .where(BalanceEntry.payout_id.is_not(None))
                    .group_by(BalanceEntry.payout_id)
                )
            ).all()
        )
    for index, id in enumerate(ids):
        summed = sum(e.amount for e in entries if str(e.vendor_id) == id)
        balance = reported[uuid.UUID(id)].get("USD", 0)
        assert balance == summed, (index, balance, summed)
        assert balance == model.expected[index] - sent[id], (index, balance, model.expected)
    for payout in rows:
        assert payout.amount > 0
        assert succeeded_per_payout[str(payout.id)] <= 1
        assert succeeded_per_payout[str(payout.id)] == (1 if payout.status == "paid" else 0)
        net = int(nets.get(payout.id, 0))
        assert net == (0 if payout.status == "failed" else -payout.amount), (payout.status, net)


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(steps=steps)
async def test_balance_is_the_sum_of_entries_and_no_payout_is_made_twice(
    shared_database: Database, steps: list[tuple[object, ...]]
) -> None:
    database = shared_database
    await truncate_all(database)
    ids = await make_vendors(database)
    await make_rule(database, kind="percentage", scope="global", rate_bps=RATE_BPS)
    model = Model()
    with fresh_payout_provider() as provider:
        for step in steps:
            kind = step[0]
            if kind == "sale":
                _, index, amount = step
                assert isinstance(index, int) and isinstance(amount, int)
                made = await sale(database, ids[index], (amount, 1))
                model.expected[index] += amount - taken(amount)
                model.sales[index].append([made, amount, taken(amount), 0])
            elif kind == "refund":
                _, index, per_mille = step
                assert isinstance(index, int) and isinstance(per_mille, int)
                await refund(database, model, index, per_mille)
            elif kind == "adjust":
                _, index, amount = step
                assert isinstance(index, int) and isinstance(amount, int)
                async with database.unit_of_work() as uow:
                    await ledger.adjust_balance(
                        uow,
                        SYSTEM,
                        vendor_id=ids[index],
                        amount=amount,
                        currency="USD",
                        reason="property",
                    )
                    await uow.commit()
                model.expected[index] += amount
            elif kind == "run":
                await payout_service.run_payouts(database, SYSTEM, minimums=MINIMUM)
            elif kind == "fail":
                _, index, failing = step
                assert isinstance(index, int)
                (provider.failing.add if failing else provider.failing.discard)(ids[index])
            else:
                async with database.read_session() as session:
                    failed = await session.scalar(
                        select(Payout.id).where(Payout.status == "failed").order_by(Payout.id)
                    )
                # Refused when the balance no longer covers it, or one is in flight.
                if failed is not None:
                    with contextlib.suppress(Conflict):
                        await payout_service.retry_payout(database, SYSTEM, id=str(failed))
            await check(database, ids, model, provider)
