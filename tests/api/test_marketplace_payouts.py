"""Marketplace payouts (issue 14, part 4): a run pays every active vendor above the minimum
its whole balance, exactly once however often or concurrently it runs; the provider is asked
with no transaction open; a refused transfer reverses its debit and may be retried (once); a
payout left pending by a dead process is resumed under its key; the routes in both dialects,
and isolation between vendors."""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from datetime import timedelta

import httpx
import pytest
from sqlalchemy import select, update
from starlette.applications import Starlette

from app import payouts
from app.auth.actor import SYSTEM
from app.db import Database
from app.errors import Conflict
from app.models.audit import Event
from app.models.base import utcnow
from app.models.ledger import Payout
from app.services.marketplace import payouts as payout_service
from app.services.marketplace.ledger import adjust_balance
from app.services.marketplace.payouts import Minimums
from tests.api.test_marketplace_vendors import error, gql
from tests.conftest import client_for
from tests.support.ledger import balance, entries, entry_sum, fresh_payout_provider, sale
from tests.support.marketplace import MARKET, make_vendor
from tests.support.users import cookie_client

MINIMUM = Minimums({"USD": 1000}, 1000)
PAYOUTS = f"{MARKET}/payouts"


@pytest.fixture
def provider() -> object:
    with fresh_payout_provider() as fresh:
        yield fresh


async def all_payouts(database: Database) -> list[Payout]:
    async with database.read_session() as session:
        return list(await session.scalars(select(Payout).order_by(Payout.id)))


async def event_types(database: Database) -> Counter[str]:
    async with database.read_session() as session:
        rows = await session.scalars(select(Event.type).where(Event.type.like("payouts.%")))
        return Counter(rows)


async def run(database: Database) -> list[Payout]:
    return await payout_service.run_payouts(database, SYSTEM, minimums=MINIMUM)


# --- the run -----------------------------------------------------------------------------------


async def test_a_run_pays_each_active_vendor_above_the_minimum_its_whole_balance_once(
    database: Database, provider: payouts.TestPayoutProvider
) -> None:
    rich = await make_vendor(database, "rich")
    poor = await make_vendor(database, "poor")
    gone = await make_vendor(database, "gone", status="suspended")
    await sale(database, rich.id, (2500, 1))
    await sale(database, rich.id, (1000, 1), currency="EUR")
    await sale(database, poor.id, (999, 1))
    async with database.unit_of_work() as uow:  # a suspended vendor's earnings stay put
        from app.services.marketplace.ledger import add_entry

        add_entry(
            uow,
            SYSTEM,
            vendor_id=uuid.UUID(gone.id),
            kind="adjustment",
            amount=5000,
            currency="USD",
            key="test:gone",
            reason="test",
        )
        await uow.commit()

    made = await run(database)
    assert sorted((p.currency, p.amount, p.status, str(p.vendor_id)) for p in made) == [
        ("EUR", 1000, "paid", rich.id),
        ("USD", 2500, "paid", rich.id),
    ]
    assert sorted((t["vendorId"], t["amount"], t["currency"]) for t in provider.paid()) == [
        (rich.id, 1000, "EUR"),
        (rich.id, 2500, "USD"),
    ]
    assert await balance(database, rich.id) == 0 == await balance(database, rich.id, "EUR")
    assert await balance(database, poor.id) == 999
    assert await balance(database, gone.id) == 5000
    # Repeated: nothing is left to pay.
    assert await run(database) == []
    assert len(provider.paid()) == 2 and provider.calls == 2
    assert await event_types(database) == {"payouts.create": 2, "payouts.paid": 2}
    [usd] = [p for p in made if p.currency == "USD"]
    assert usd.provider_reference == provider.transfers[f"{usd.id}:1"]["reference"]


async def test_the_provider_is_called_with_no_transaction_open(
    database: Database, provider: payouts.TestPayoutProvider
) -> None:
    """Inside the fake provider, the pool has no connection checked out: no transaction (and
    no row lock) of this process spans the call (DESIGN §10)."""
    vendor = await make_vendor(database, "acme")
    await sale(database, vendor.id, (5000, 1))
    seen: list[int] = []
    provider.before_transfer = lambda: seen.append(database.engine.pool.checkedout())  # type: ignore[attr-defined]
    await run(database)
    assert seen == [0]


async def test_two_concurrent_runs_pay_each_vendor_once(
    database: Database, database_url: str, provider: payouts.TestPayoutProvider
) -> None:
    """Four runs at once on four engines of their own (on PostgreSQL their transactions
    overlap; SQLite serialises them): every vendor is paid once, in full."""
    vendors = [await make_vendor(database, f"v{i}") for i in range(6)]
    for i, vendor in enumerate(vendors):
        await sale(database, vendor.id, (1000 + i, 1))
    engines = [Database(database_url, pool_size=2) for _ in range(4)]
    barrier = asyncio.Barrier(len(engines))

    async def racer(engine: Database) -> list[Payout]:
        await barrier.wait()
        return await payout_service.run_payouts(engine, SYSTEM, minimums=MINIMUM)

    try:
        results = await asyncio.wait_for(asyncio.gather(*(racer(e) for e in engines)), 60)
    finally:
        for engine in engines:
            await engine.dispose()
    made = [p for result in results for p in result]
    assert sorted(str(p.vendor_id) for p in made) == sorted(v.id for v in vendors)
    assert Counter(t["vendorId"] for t in provider.paid()) == {v.id: 1 for v in vendors}
    for i, vendor in enumerate(vendors):
        assert await balance(database, vendor.id) == 0
        assert [p.amount for p in await all_payouts(database) if str(p.vendor_id) == vendor.id] == [
            1000 + i
        ]


async def test_a_refused_transfer_reverses_its_debit_and_a_retry_pays_it_once(
    database: Database, database_url: str, provider: payouts.TestPayoutProvider
) -> None:
    vendor = await make_vendor(database, "acme")
    await sale(database, vendor.id, (4000, 1))
    provider.failing.add(vendor.id)
    [failed] = await run(database)
    assert (failed.status, failed.attempt) == ("failed", 1)
    assert failed.failure_message and "refused" in failed.failure_message
    assert await balance(database, vendor.id) == 4000  # the debit is reversed at once
    assert [k for k, _ in await entries(database, vendor.id)][-2:] == [
        "payout_debit",
        "payout_debit",
    ]
    # The next run does not send it again: the money waits for the retry (or the next run).
    again = await payout_service.retry_payout(database, SYSTEM, id=str(failed.id))
    assert (again.status, again.attempt) == ("failed", 2)
    provider.failing.clear()

    engines = [Database(database_url, pool_size=2) for _ in range(3)]
    barrier = asyncio.Barrier(len(engines))

    async def retry(engine: Database) -> str:
        await barrier.wait()
        try:
            done = await payout_service.retry_payout(engine, SYSTEM, id=str(failed.id))
        except Conflict:
            return "conflict"
        return done.status

    try:
        outcomes = await asyncio.wait_for(asyncio.gather(*(retry(e) for e in engines)), 60)
    finally:
        for engine in engines:
            await engine.dispose()
    assert Counter(outcomes) == {"paid": 1, "conflict": 2}
    assert [t["amount"] for t in provider.paid()] == [4000]
    [payout] = await all_payouts(database)
    assert (payout.status, payout.attempt) == ("paid", 3)
    assert await balance(database, vendor.id) == 0 == await entry_sum(database, vendor.id)

    # A paid payout is never sent again, even when the balance would cover it once more.
    async with database.unit_of_work() as uow:
        await adjust_balance(
            uow, SYSTEM, vendor_id=vendor.id, amount=4000, currency="USD", reason="test"
        )
        await uow.commit()
    with pytest.raises(Conflict):
        await payout_service.retry_payout(database, SYSTEM, id=str(payout.id))
    assert [t["amount"] for t in provider.paid()] == [4000]
    assert await balance(database, vendor.id) == 4000
    assert await event_types(database) == {
        "payouts.create": 1,
        "payouts.failed": 2,
        "payouts.retry": 2,
        "payouts.paid": 1,
    }


async def test_a_retry_needs_the_balance_to_still_cover_the_payout(
    database: Database, admin: httpx.AsyncClient, provider: payouts.TestPayoutProvider
) -> None:
    vendor = await make_vendor(database, "acme")
    await sale(database, vendor.id, (4000, 1))
    provider.failing.add(vendor.id)
    [failed] = await run(database)
    provider.failing.clear()
    adjust = """mutation A($input: AdjustVendorBalanceInput!) { adjustVendorBalance(input: $input)
      { kind } }"""
    await gql(
        admin,
        adjust,
        {
            "input": {
                "vendorId": vendor.id,
                "amount": -100,
                "currency": "USD",
                "reason": "chargeback",
            }
        },
    )
    refused = await admin.post(f"{PAYOUTS}/{failed.id}/retry")
    body = error(refused, 409, "CONFLICT")
    assert "3900" in body["message"]
    assert provider.paid() == []


async def test_a_payout_left_pending_by_a_dead_process_is_resumed_under_its_key(
    database: Database, provider: payouts.TestPayoutProvider
) -> None:
    """The provider paid, then the process died before recording it: the next run asks again
    with the same key, which answers the first transfer; no money moves twice."""
    vendor = await make_vendor(database, "acme")
    await sale(database, vendor.id, (3000, 1))
    opened = await payout_service._open(
        database,
        SYSTEM,
        vendor_id=uuid.UUID(vendor.id),
        currency="USD",
        minimum=1,
        amount=None,
        request_id=None,
    )
    assert opened is not None
    first = await provider.transfer(
        vendor_id=vendor.id, amount=3000, currency="USD", idempotency_key=f"{opened.id}:1"
    )
    # A fresh run does not resume it yet (it may still be in flight) nor pay it twice.
    assert await run(database) == []
    async with database.unit_of_work() as uow:
        await uow.session.execute(update(Payout).values(updated_at=utcnow() - timedelta(minutes=5)))
        await uow.commit()
    [resumed] = await run(database)
    assert (resumed.id, resumed.status, resumed.provider_reference) == (
        opened.id,
        "paid",
        first.reference,
    )
    assert len(provider.paid()) == 1 and provider.calls == 2
    assert await balance(database, vendor.id) == 0


# --- the routes --------------------------------------------------------------------------------


async def test_payout_routes_in_the_engine_dialect(
    app: Starlette,
    admin: httpx.AsyncClient,
    database: Database,
    provider: payouts.TestPayoutProvider,
) -> None:
    a = await make_vendor(database, "acme")
    b = await make_vendor(database, "bolt")
    await sale(database, a.id, (2500, 1))
    await sale(database, b.id, (1500, 1))
    provider.failing.add(b.id)

    ran = await admin.post(f"{PAYOUTS}/run")
    assert ran.status_code == 200, ran.text
    made = {p["vendorId"]: p for p in ran.json()["data"]}
    assert {v: (p["amount"], p["currency"], p["status"]) for v, p in made.items()} == {
        a.id: (2500, "USD", "paid"),
        b.id: (1500, "USD", "failed"),
    }
    assert made[a.id]["paidAt"] and made[b.id]["failureMessage"]

    listed = await admin.get(PAYOUTS, params={"status": "failed"})
    assert listed.status_code == 200
    assert [p["id"] for p in listed.json()["data"]] == [made[b.id]["id"]]
    assert listed.json()["meta"]["pagination"]["total"] == 1
    by_vendor = await admin.get(PAYOUTS, params={"vendorId": a.id})
    assert [p["id"] for p in by_vendor.json()["data"]] == [made[a.id]["id"]]
    error(await admin.get(PAYOUTS, params={"status": "lost"}), 422, "VALIDATION_FAILED")

    provider.failing.clear()
    retried = await admin.post(f"{PAYOUTS}/{made[b.id]['id']}/retry")
    assert retried.status_code == 200, retried.text
    assert (retried.json()["data"]["status"], retried.json()["data"]["attempt"]) == ("paid", 2)
    error(await admin.post(f"{PAYOUTS}/{made[b.id]['id']}/retry"), 409, "CONFLICT")
    error(await admin.post(f"{PAYOUTS}/{uuid.uuid4()}/retry"), 404, "NOT_FOUND")
    error(await admin.post(f"{PAYOUTS}/nope/retry"), 404, "NOT_FOUND")

    async with cookie_client(app, a.token) as http:
        own = await http.get(f"{MARKET}/vendor/me/payouts")
        assert own.status_code == 200, own.text
        assert [p["id"] for p in own.json()["data"]] == [made[a.id]["id"]]
        # Another vendor's payout is NOT_FOUND; the admin routes are FORBIDDEN.
        other = await gql(
            http, "query P($id: ID!) { payout(id: $id) { id } }", {"id": made[b.id]["id"]}
        )
        assert other["errors"][0]["extensions"]["code"] == "NOT_FOUND"
        mine = await gql(
            http, "query P($id: ID!) { payout(id: $id) { status } }", {"id": made[a.id]["id"]}
        )
        assert mine["data"] == {"payout": {"status": "PAID"}}
        error(await http.get(PAYOUTS), 403, "FORBIDDEN")
        error(await http.post(f"{PAYOUTS}/run"), 403, "FORBIDDEN")
        error(await http.post(f"{PAYOUTS}/{made[b.id]['id']}/retry"), 403, "FORBIDDEN")
    async with client_for(app) as anonymous:
        error(await anonymous.get(f"{MARKET}/vendor/me/payouts"), 401, "UNAUTHORIZED")
        error(await anonymous.post(f"{PAYOUTS}/run"), 401, "UNAUTHORIZED")
    error(await admin.get(f"{MARKET}/vendor/me/payouts"), 403, "FORBIDDEN")


async def test_the_run_answers_the_minimum_setting(
    make_app: object, database: Database, admin_key: str, provider: payouts.TestPayoutProvider
) -> None:
    vendor = await make_vendor(database, "acme")
    await sale(database, vendor.id, (2500, 1))
    app = make_app(payout_minimum="USD=3000,*=1")  # type: ignore[operator]
    async with client_for(app, headers={"x-api-key": admin_key}) as http:
        assert (await http.post(f"{PAYOUTS}/run")).json()["data"] == []
    app = make_app(payout_minimum="USD=2500")  # type: ignore[operator]
    async with client_for(app, headers={"x-api-key": admin_key}) as http:
        [paid] = (await http.post(f"{PAYOUTS}/run")).json()["data"]
    assert paid["amount"] == 2500


async def test_gateway_schedules_a_payout_on_the_same_ledger(
    app: Starlette,
    admin: httpx.AsyncClient,
    database: Database,
    provider: payouts.TestPayoutProvider,
) -> None:
    vendor = await make_vendor(database, "acme")
    await sale(database, vendor.id, (2500, 1))
    made = await admin.post(
        "/api/v1/commissions", json={"vendorId": vendor.id, "currency": "USD", "amount": 10.5}
    )
    assert made.status_code == 201, made.text
    body = made.json()
    assert body["success"] is True
    assert {k: body["data"][k] for k in ("vendorId", "amount", "currency", "status")} == {
        "vendorId": vendor.id,
        "amount": 10.5,
        "currency": "USD",
        "status": "paid",
    }
    assert await balance(database, vendor.id) == 1450
    # Below any minimum, yet scheduled on purpose: the rest is paid too.
    rest = await admin.post("/api/v1/commissions", json={"vendorId": vendor.id, "currency": "USD"})
    assert rest.status_code == 201 and rest.json()["data"]["amount"] == 14.5
    assert [t["amount"] for t in provider.paid()] == [1050, 1450]

    over = await admin.post(
        "/api/v1/commissions", json={"vendorId": vendor.id, "currency": "USD", "amount": 0.01}
    )
    assert over.status_code == 409 and over.json()["error"]["code"] == "CONFLICT"
    finer = await admin.post(
        "/api/v1/commissions", json={"vendorId": vendor.id, "currency": "USD", "amount": 1.001}
    )
    assert finer.status_code == 400 and "amount" in finer.json()["error"]["details"]
    unknown = await admin.post(
        "/api/v1/commissions", json={"vendorId": str(uuid.uuid4()), "currency": "USD"}
    )
    assert unknown.status_code == 404
    suspended = await make_vendor(database, "gone", status="suspended")
    refused = await admin.post(
        "/api/v1/commissions", json={"vendorId": suspended.id, "currency": "USD"}
    )
    assert refused.status_code == 409
    async with cookie_client(app, vendor.token) as http:
        own = await http.post(
            "/api/v1/commissions", json={"vendorId": vendor.id, "currency": "USD"}
        )
        assert own.status_code == 403
    assert len(provider.paid()) == 2
