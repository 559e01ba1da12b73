"""Stock under real concurrency (DESIGN §6: stock only by conditional atomic updates).

These run on PostgreSQL, where transactions overlap. Each attempt is its own unit of work on a
connection of its own, all started together behind a barrier so they really race. SQLite
takes its write lock up front (BEGIN IMMEDIATE) and serialises writers, so the race cannot
happen there and these tests skip on it.
"""

from __future__ import annotations

import asyncio
import random
from collections import Counter

import pytest
from sqlalchemy import func, select

from app.auth.actor import SYSTEM
from app.db import Database
from app.errors import Conflict
from app.models.inventory import InventoryLevel, InventoryMovement, Reservation, Warehouse
from app.services.inventory import levels as level_service
from app.services.inventory import reservations as reservation_service
from app.services.inventory import warehouses as warehouse_service
from tests.support.catalog import make_entity

SQLITE_REASON = "SQLite serialises writers (BEGIN IMMEDIATE), so the race cannot happen there"


def require_concurrent_database(database: Database) -> None:
    if database.is_sqlite:
        pytest.skip(SQLITE_REASON)


async def make_warehouse(database: Database, code: str) -> Warehouse:
    async with database.unit_of_work() as uow:
        warehouse = await warehouse_service.create_warehouse(uow, SYSTEM, code=code, name=code)
        await uow.commit()
    return warehouse


async def set_stock(database: Database, sku: str, quantity: int, warehouse: Warehouse) -> None:
    async with database.unit_of_work() as uow:
        await level_service.set_level(
            uow, SYSTEM, sku=sku, quantity=quantity, warehouse_id=str(warehouse.id)
        )
        await uow.commit()


async def test_50_concurrent_reservations_of_10_units_hold_exactly_10(
    database: Database, database_url: str
) -> None:
    require_concurrent_database(database)
    warehouse = await make_warehouse(database, "MAIN")
    mug = await make_entity(database, slug="mug")
    await set_stock(database, "mug", 10, warehouse)

    racers = Database(database_url, pool_size=25)  # 25 + 25 overflow: one connection each
    barrier = asyncio.Barrier(50)

    async def attempt(index: int) -> str:
        async with racers.unit_of_work() as uow:
            await uow.session.connection()  # a connection and a transaction of its own
            await barrier.wait()
            try:
                await reservation_service.reserve(
                    uow, SYSTEM, entity_id=str(mug.id), quantity=1, reference_id=f"cart-{index}"
                )
            except Conflict:
                return "conflict"
            await uow.commit()
            return "held"

    try:
        outcomes = await asyncio.wait_for(
            asyncio.gather(*(attempt(i) for i in range(50))), timeout=30
        )
    finally:
        await racers.dispose()

    assert Counter(outcomes) == {"held": 10, "conflict": 40}
    async with database.read_session() as session:
        level = await session.scalar(select(InventoryLevel).where(InventoryLevel.sku == "mug"))
        assert level is not None
        assert (level.quantity, level.reserved_quantity, level.available_quantity) == (10, 10, 0)
        reservations = (await session.scalars(select(Reservation))).all()
        assert sorted(r.quantity for r in reservations) == [1] * 10
        assert {r.status for r in reservations} == {"active"}
        assert len({r.reference_id for r in reservations}) == 10
        reserved_total, delta_total, count = (
            await session.execute(
                select(
                    func.sum(InventoryMovement.reserved_delta),
                    func.sum(InventoryMovement.delta),
                    func.count(),
                ).where(InventoryMovement.level_id == level.id)
            )
        ).one()
    assert (reserved_total, delta_total, count) == (10, 10, 11)  # the stocking + 10 holds


@pytest.mark.parametrize("first_stocking", [False, True], ids=["levels-exist", "levels-new"])
async def test_20_concurrent_bulk_updates_over_overlapping_skus_never_deadlock(
    database: Database, database_url: str, first_stocking: bool
) -> None:
    """Each bulk names an overlapping window of 5-8 of 10 SKUs in its own shuffled order;
    rows are locked in SKU order, so they queue instead of deadlocking (PostgreSQL would
    abort one with a DeadlockDetected error). With `first_stocking` the levels do not exist
    yet and the bulks race to create them too."""
    require_concurrent_database(database)
    warehouse = await make_warehouse(database, "MAIN")
    await make_entity(database, slug="sock", sizes=tuple(f"V{i}" for i in range(10)))
    skus = [f"SOCK-V{i}" for i in range(10)]
    if not first_stocking:
        for sku in skus:
            await set_stock(database, sku, 1, warehouse)

    # Bulk b sets SKU j to 1000 * (b + 1) + j: every value differs from every other, so each
    # update changes its level and writes exactly one movement.
    bulks: list[list[tuple[str, int]]] = []
    for b in range(20):
        window = [skus[(b + k) % 10] for k in range(5 + b % 4)]
        random.Random(b).shuffle(window)
        bulks.append([(sku, 1000 * (b + 1) + skus.index(sku)) for sku in window])

    racers = Database(database_url, pool_size=25)
    barrier = asyncio.Barrier(len(bulks))

    async def run(updates: list[tuple[str, int]]) -> None:
        async with racers.unit_of_work() as uow:
            await uow.session.connection()
            await barrier.wait()
            await level_service.bulk_set(
                uow, SYSTEM, updates=updates, reason="ERP sync", warehouse_id=str(warehouse.id)
            )
            await uow.commit()

    try:
        # Any exception (a deadlock, a unique violation on a level made twice) fails the test.
        await asyncio.wait_for(asyncio.gather(*(run(updates) for updates in bulks)), timeout=30)
    finally:
        await racers.dispose()

    submitted: dict[str, set[int]] = {sku: set() for sku in skus}
    touched: Counter[str] = Counter()
    for updates in bulks:
        for sku, quantity in updates:
            submitted[sku].add(quantity)
            touched[sku] += 1
    async with database.read_session() as session:
        levels = (await session.scalars(select(InventoryLevel))).all()
        sums = dict(
            (
                await session.execute(
                    select(
                        InventoryMovement.level_id,
                        func.sum(InventoryMovement.delta),
                    ).group_by(InventoryMovement.level_id)
                )
            ).all()
        )
        movement_counts = dict(
            (
                await session.execute(
                    select(InventoryMovement.level_id, func.count()).group_by(
                        InventoryMovement.level_id
                    )
                )
            ).all()
        )
    assert sorted(level.sku for level in levels) == skus  # one level per SKU, none twice
    for level in levels:
        assert level.warehouse_id == warehouse.id
        assert level.quantity in submitted[level.sku], level.sku  # some bulk's value won
        assert sums[level.id] == level.quantity, level.sku  # movements add up to it
        stocking = 0 if first_stocking else 1
        assert movement_counts[level.id] == touched[level.sku] + stocking, level.sku
        assert level.reserved_quantity == 0


async def test_sweepers_in_several_processes_at_once_release_each_expired_hold_once(
    database: Database, database_url: str
) -> None:
    """Every `serve` process runs the reservation sweeper (docs/deployment.md advises one
    worker per core): four sweeps at once, each its own transaction, release each of 30
    expired holds exactly once (SKIP LOCKED: a hold another sweep has taken is passed over)."""
    require_concurrent_database(database)
    from datetime import timedelta

    from sqlalchemy import update

    from app.models.base import utcnow

    warehouse = await make_warehouse(database, "MAIN")
    mug = await make_entity(database, slug="mug")
    await set_stock(database, "mug", 100, warehouse)
    async with database.unit_of_work() as uow:
        for index in range(30):
            await reservation_service.reserve(
                uow, SYSTEM, entity_id=str(mug.id), quantity=2, reference_id=f"cart-{index}"
            )
        await uow.commit()
    async with database.unit_of_work() as uow:
        await uow.session.execute(
            update(Reservation).values(expires_at=utcnow() - timedelta(seconds=1))
        )
        await uow.commit()

    racers = Database(database_url, pool_size=4)
    barrier = asyncio.Barrier(4)

    async def sweep() -> int:
        async with racers.unit_of_work() as uow:
            await uow.session.connection()
            await barrier.wait()
            released = await reservation_service.sweep_expired(uow, now=utcnow())
            await uow.commit()
            return released

    try:
        released = await asyncio.wait_for(asyncio.gather(*(sweep() for _ in range(4))), 30)
    finally:
        await racers.dispose()

    assert sum(released) == 30, released
    async with database.read_session() as session:
        level = (await session.scalars(select(InventoryLevel))).one()
        statuses = Counter((await session.scalars(select(Reservation.status))).all())
        releases = await session.scalar(
            select(func.count())
            .select_from(InventoryMovement)
            .where(InventoryMovement.level_id == level.id, InventoryMovement.type == "release")
        )
    assert (level.quantity, level.reserved_quantity) == (100, 0)
    assert statuses == {"expired": 30}
    assert releases == 30
