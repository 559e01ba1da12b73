"""inventory_level_counts, kept by the database's triggers (migration 0026), always equals a
count of inventory_levels per warehouse: after levels created through the services, levels
moved to another warehouse, levels deleted with their entity (a cascade), bulk statements,
rolled-back writes and concurrent writers; and the listing's totals read from it."""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import psycopg
import pytest
from sqlalchemy import create_engine, text, update

from app.auth.actor import SYSTEM
from app.db import Database
from app.migrations import upgrade
from app.models.inventory import Warehouse
from app.pagination import PageRequest
from app.services.catalog import entities
from app.services.inventory import levels as level_service
from app.services.inventory import queries
from app.services.inventory import warehouses as warehouse_service
from app.services.inventory.queries import LevelFilter
from tests.conftest import _admin_dsn, _postgres_url, _schema_name
from tests.support.catalog import make_entity

Counts = dict[uuid.UUID, int]
# One more counter row of 100 per warehouse: wrong on purpose.
INFLATE = text(
    "INSERT INTO inventory_level_counts (warehouse_id, tx, levels) "
    "SELECT id, -1, 100 FROM warehouses"
)


async def counters(database: Database) -> Counts:
    """What the table says, leaving out the rows that fell back to zero."""
    async with database.read_session() as session:
        rows = await session.execute(
            text(
                "SELECT warehouse_id, sum(levels) FROM inventory_level_counts "
                "GROUP BY warehouse_id HAVING sum(levels) <> 0"
            )
        )
        return {as_uuid(warehouse): n for warehouse, n in rows}


async def counted(database: Database) -> Counts:
    """What counting the levels says."""
    async with database.read_session() as session:
        rows = await session.execute(
            text("SELECT warehouse_id, count(*) FROM inventory_levels GROUP BY warehouse_id")
        )
        return {as_uuid(warehouse): n for warehouse, n in rows}


def as_uuid(value: object) -> uuid.UUID:
    """Raw SQL reads SQLite's uuids as their hex text."""
    return value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))


async def assert_exact(database: Database) -> Counts:
    kept, truth = await counters(database), await counted(database)
    assert kept == truth, f"inventory_level_counts {kept} != count(*) {truth}"
    return kept


def require_postgresql(database: Database) -> None:
    if database.is_sqlite:
        pytest.skip("PostgreSQL's statement triggers, bulk SQL and concurrent writers")


async def make_warehouse(database: Database, code: str) -> Warehouse:
    async with database.unit_of_work() as uow:
        warehouse = await warehouse_service.create_warehouse(
            uow, SYSTEM, code=code, name=code.title()
        )
        await uow.commit()
    return warehouse


async def stock(database: Database, sku: str, quantity: int, warehouse: Warehouse) -> None:
    async with database.unit_of_work() as uow:
        await level_service.set_level(
            uow, SYSTEM, sku=sku, quantity=quantity, warehouse_id=str(warehouse.id)
        )
        await uow.commit()


async def execute(database: Database, sql: str, **params: object) -> None:
    async with database.unit_of_work() as uow:
        await uow.session.execute(text(sql), params)
        await uow.commit()


def ids(database: Database, *warehouses: Warehouse) -> list[object]:
    """Warehouse ids as raw SQL binds them on this backend."""
    return [w.id.hex if database.is_sqlite else w.id for w in warehouses]


async def test_counts_follow_levels_created_moved_and_deleted_with_their_entity(
    database: Database,
) -> None:
    main, west = await make_warehouse(database, "MAIN"), await make_warehouse(database, "WEST")
    tee = await make_entity(database, slug="tee", sizes=("S", "M", "L"))
    await make_entity(database, slug="cap", sizes=("Blue", "Red"))
    for sku in ("TEE-S", "TEE-M", "CAP-BLUE"):
        await stock(database, sku, 5, main)
    for sku in ("TEE-L", "CAP-RED", "TEE-S"):
        await stock(database, sku, 2, west)
    assert await assert_exact(database) == {main.id: 3, west.id: 3}
    await stock(database, "TEE-S", 9, main)  # an existing level: no new one
    assert await assert_exact(database) == {main.id: 3, west.id: 3}

    # Nothing in the app moves a level between warehouses; SQL can.
    [main_id, west_id] = ids(database, main, west)
    await execute(
        database,
        "UPDATE inventory_levels SET warehouse_id = :west WHERE sku = 'TEE-M'",
        west=west_id,
    )
    assert await assert_exact(database) == {main.id: 2, west.id: 4}
    # An update that leaves the warehouse (or sets it to the same) changes no count.
    await execute(database, "UPDATE inventory_levels SET quantity = quantity + 1")
    await execute(
        database,
        "UPDATE inventory_levels SET warehouse_id = :main WHERE warehouse_id = :main",
        main=main_id,
    )
    assert await assert_exact(database) == {main.id: 2, west.id: 4}

    # Deleting the entity cascades to its levels; the triggers see those deletes too.
    async with database.unit_of_work() as uow:
        await entities.delete_entity(uow, SYSTEM, id=str(tee.id))
        await uow.commit()
    assert await assert_exact(database) == {main.id: 1, west.id: 1}
    await execute(database, "DELETE FROM inventory_levels")
    assert await assert_exact(database) == {}


async def test_a_rolled_back_write_leaves_the_counts_as_they_were(database: Database) -> None:
    main = await make_warehouse(database, "MAIN")
    await make_entity(database, slug="tee", sizes=("S", "M"))
    await stock(database, "TEE-S", 1, main)
    async with database.unit_of_work() as uow:
        await level_service.set_level(
            uow, SYSTEM, sku="TEE-M", quantity=3, warehouse_id=str(main.id)
        )
        # no commit: the unit of work rolls back, the triggers' upserts with it
    assert await assert_exact(database) == {main.id: 1}


async def test_the_listing_total_is_what_it_lists_for_every_filter(database: Database) -> None:
    """From the counters (none, a warehouse, active warehouses) or counted (the others)."""
    main, west = await make_warehouse(database, "MAIN"), await make_warehouse(database, "WEST")
    shut = await make_warehouse(database, "SHUT")
    tee = await make_entity(database, slug="tee", sizes=("S", "M", "L"))
    for sku, quantity, warehouse in [
        ("TEE-S", 1, main), ("TEE-M", 7, main), ("TEE-L", 3, west),
        ("TEE-S", 2, west), ("TEE-M", 4, shut),
    ]:  # fmt: skip
        await stock(database, sku, quantity, warehouse)
    async with database.unit_of_work() as uow:
        await warehouse_service.update_warehouse(uow, SYSTEM, id=str(shut.id), active=False)
        await uow.commit()
    filters = [
        (LevelFilter(), 5),
        (LevelFilter(warehouse_id=str(main.id)), 2),
        (LevelFilter(warehouse_id=str(uuid.uuid4())), 0),
        (LevelFilter(active_warehouses=True), 4),
        (LevelFilter(warehouse_id=str(shut.id), active_warehouses=True), 0),
        (LevelFilter(sku="TEE-M"), 2),
        (LevelFilter(sku_prefix="TEE-", active_warehouses=True), 4),
        (LevelFilter(entity_id=str(tee.id), warehouse_id=str(west.id)), 2),
        (LevelFilter(entity_id="not-a-uuid"), 0),
    ]
    async with database.read_session() as session:
        for filter, expected in filters:
            page = await queries.list_levels(session, filter=filter, page=PageRequest(limit=100))
            assert (page.total, len(page.items)) == (expected, expected), filter


async def test_the_unnarrowed_totals_come_from_the_counters(database: Database) -> None:
    """Counter rows made wrong on purpose show where the total is read; filters that the
    counters cannot answer still count the levels."""
    main, west = await make_warehouse(database, "MAIN"), await make_warehouse(database, "WEST")
    await make_entity(database, slug="tee", sizes=("S", "M"))
    await stock(database, "TEE-S", 1, main)
    await stock(database, "TEE-M", 1, west)
    async with database.unit_of_work() as uow:
        await uow.session.execute(
            update(Warehouse).where(Warehouse.id == west.id).values(active=False)
        )
        await uow.session.execute(INFLATE)
        await uow.commit()

    async def total(filter: LevelFilter) -> int:
        async with database.read_session() as session:
            page = await queries.list_levels(session, filter=filter, page=PageRequest(limit=10))
        return page.total

    assert await total(LevelFilter()) == 202
    assert await total(LevelFilter(warehouse_id=str(main.id))) == 101
    assert await total(LevelFilter(active_warehouses=True)) == 101
    assert await total(LevelFilter(sku_prefix="TEE")) == 2


# --- PostgreSQL: statement triggers, bulk statements and concurrent writers ---------------------


async def test_the_postgresql_triggers_run_once_per_statement(database: Database) -> None:
    """Row triggers would upsert one counter row once per level of a bulk insert."""
    require_postgresql(database)
    async with database.read_session() as session:
        rows = await session.execute(
            text(
                "SELECT tgname, tgtype & 1 FROM pg_trigger "
                "WHERE tgrelid = 'inventory_levels'::regclass AND NOT tgisinternal "
                "ORDER BY tgname"
            )
        )
        triggers = {name: row_level for name, row_level in rows}
    assert triggers == {f"inventory_level_counts_{e}": 0 for e in ("delete", "insert", "update")}


async def test_a_bulk_insert_select_move_and_delete_keep_the_counts_exact(
    database: Database,
) -> None:
    require_postgresql(database)
    main, west = await make_warehouse(database, "MAIN"), await make_warehouse(database, "WEST")
    tee = await make_entity(database, slug="tee", sizes=("S",))
    await stock(database, "TEE-S", 1, main)
    await execute(
        database,
        """
        INSERT INTO inventory_levels (id, entity_id, warehouse_id, sku, quantity,
                                      reserved_quantity, reorder_point, reorder_quantity,
                                      last_updated)
        SELECT gen_random_uuid(), :entity, w.id, 'BULK-' || n, n, 0, 0, 0, now()
        FROM generate_series(1, 3000) AS n CROSS JOIN warehouses AS w
        WHERE n % 3 <> 0 OR w.code = 'MAIN'
        """,
        entity=tee.id,
    )
    assert await assert_exact(database) == {main.id: 3001, west.id: 2000}
    await execute(
        database,
        "UPDATE inventory_levels SET warehouse_id = :west "
        "WHERE warehouse_id = :main AND quantity % 3 = 0",
        west=west.id,
        main=main.id,
    )
    assert await assert_exact(database) == {main.id: 2001, west.id: 3000}
    async with database.unit_of_work() as uow:  # the cascade, in one statement
        await entities.delete_entity(uow, SYSTEM, id=str(tee.id))
        await uow.commit()
    assert await assert_exact(database) == {}


async def test_concurrent_level_creation_keeps_the_counts_exact(database: Database) -> None:
    """Sixteen sessions at once, creating levels in the same two warehouses (one of them
    with no counter row yet)."""
    require_postgresql(database)
    main, west = await make_warehouse(database, "MAIN"), await make_warehouse(database, "WEST")
    for i in range(8):
        await make_entity(database, slug=f"shirt-{i}", sizes=("S", "M"))
    await stock(database, "SHIRT-0-S", 1, main)
    skus = [f"SHIRT-{i}-{size}" for i in range(8) for size in ("S", "M")]

    async def create(i: int, sku: str) -> None:
        await stock(database, sku, 2, (west, main)[i % 2])

    await asyncio.wait_for(
        asyncio.gather(*(create(i, sku) for i, sku in enumerate(skus))), timeout=60
    )
    # SHIRT-0-S in main (i = 0 goes west): 8 new levels in each warehouse, 1 already there.
    assert await assert_exact(database) == {main.id: 9, west.id: 8}
    # The next write folds every committed transaction's rows into its own: one a warehouse.
    await stock(database, "SHIRT-7-S", 1, main)
    assert await assert_exact(database) == {main.id: 10, west.id: 8}
    async with database.read_session() as session:
        rows = await session.scalar(text("SELECT count(*) FROM inventory_level_counts"))
    assert rows == 2


async def test_concurrent_bulk_sets_of_overlapping_new_skus_neither_deadlock_nor_miscount(
    database: Database,
) -> None:
    """A writer that held its warehouse's counter row until its commit while creating more
    levels would deadlock with another that made one of those levels first."""
    require_postgresql(database)
    main = await make_warehouse(database, "MAIN")
    for i in range(6):
        await make_entity(database, slug=f"shirt-{i}", sizes=("S", "M"))
    skus = sorted(f"SHIRT-{i}-{size}" for i in range(6) for size in ("S", "M"))

    async def bulk(start: int) -> None:
        async with database.unit_of_work() as uow:
            await level_service.bulk_set(
                uow,
                SYSTEM,
                updates=[(sku, 1) for sku in skus[start : start + 6]],
                warehouse_id=str(main.id),
            )
            await uow.commit()

    await asyncio.wait_for(asyncio.gather(*(bulk(i % 7) for i in range(12))), timeout=60)
    assert await assert_exact(database) == {main.id: 12}


# --- the migration counts what is already there -----------------------------------------------


async def test_stock_updates_write_no_counter_row(database: Database) -> None:
    """Holds, sales and releases update levels without moving them: the UPDATE trigger runs
    (PostgreSQL cannot limit one with transition tables to a column) but writes nothing."""
    require_postgresql(database)
    warehouse = await make_warehouse(database, "MAIN")
    await make_entity(database, slug="mug")
    await stock(database, "mug", 10, warehouse)

    async def rows() -> list[tuple[object, ...]]:
        async with database.read_session() as session:
            found = await session.execute(
                text("SELECT warehouse_id, tx, levels, xmin::text FROM inventory_level_counts")
            )
            return sorted(tuple(row) for row in found)

    before = await rows()
    await stock(database, "mug", 7, warehouse)  # the level's quantity, set again
    await execute(database, "UPDATE inventory_levels SET reserved_quantity = 2")
    assert await rows() == before  # not one counter row written (same xmin)
    await assert_exact(database)


@pytest.fixture
def fresh_url(database_url: str, tmp_path: Path) -> Iterator[str]:
    """An empty database of the backend's own, for migrating step by step."""
    if database_url.startswith("sqlite"):
        yield f"sqlite+aiosqlite:///{tmp_path / 'fresh.db'}"
        return
    schema = _schema_name(os.environ.get("PYTEST_XDIST_WORKER", "main")) + "_fresh_levels"
    yield _postgres_url(schema)
    with psycopg.connect(_admin_dsn(), autocommit=True) as connection:
        connection.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


def test_the_migration_counts_the_levels_already_there(fresh_url: str) -> None:
    """Synchronous: the migrations run their own event loop."""
    upgrade(fresh_url, "0025_catalog_entity_counts")
    engine = create_engine(fresh_url.replace("+aiosqlite", ""))
    sqlite = engine.dialect.name == "sqlite"

    def new_id() -> object:
        made = uuid.uuid4()
        return made.hex if sqlite else made

    main, west, entity = new_id(), new_id(), new_id()
    now = datetime.now(UTC)
    try:
        with engine.begin() as connection:
            connection.execute(
                text(
                    "INSERT INTO catalog_entities (id, type, slug, status, metadata, "
                    "allow_backorder, created_at, updated_at) VALUES "
                    "(:id, 'product', 'tee', 'active', '{}', false, :at, :at)"
                ),
                {"id": entity, "at": now},
            )
            for id, code in ((main, "MAIN"), (west, "WEST")):
                connection.execute(
                    text(
                        "INSERT INTO warehouses (id, code, name, address, active, created_at, "
                        "updated_at) VALUES (:id, :code, :code, '{}', true, :at, :at)"
                    ),
                    {"id": id, "code": code, "at": now},
                )
            for i, warehouse in enumerate([main, main, main, west]):
                connection.execute(
                    text(
                        "INSERT INTO inventory_levels (id, entity_id, warehouse_id, sku, "
                        "quantity, reserved_quantity, reorder_point, reorder_quantity, "
                        "last_updated) VALUES (:id, :entity, :warehouse, :sku, 1, 0, 0, 0, :at)"
                    ),
                    {
                        "id": new_id(),
                        "entity": entity,
                        "warehouse": warehouse,
                        "sku": f"S{i}",
                        "at": now,
                    },
                )
        upgrade(fresh_url)
        with engine.connect() as connection:
            kept = connection.execute(
                text("SELECT warehouse_id, tx, levels FROM inventory_level_counts")
            ).all()
    finally:
        engine.dispose()
    assert {(as_uuid(warehouse), tx): n for warehouse, tx, n in kept} == {
        (as_uuid(main), 0): 3,
        (as_uuid(west), 0): 1,
    }
