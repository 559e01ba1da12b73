"""catalog_entity_counts, kept by the database's triggers (migration 0025), always equals a
count of catalog_entities per (status, type): after every service write, bulk statements,
rolled-back writes, random sequences of them (hypothesis) and concurrent writers."""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import psycopg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import create_engine, text

from app.auth.actor import SYSTEM
from app.db import Database
from app.errors import Conflict
from app.migrations import upgrade
from app.models.catalog import ENTITY_STATUSES, ENTITY_TYPES
from app.services.catalog import entities
from tests.conftest import _admin_dsn, _postgres_url, _schema_name, truncate_all
from tests.support.catalog import make_entity

Counts = dict[tuple[str, str], int]


async def counters(database: Database) -> Counts:
    """What the table says, leaving out the rows that fell back to zero."""
    async with database.read_session() as session:
        rows = await session.execute(
            text("SELECT status, type, entities FROM catalog_entity_counts WHERE entities <> 0")
        )
        return {(status, type): n for status, type, n in rows}


async def counted(database: Database) -> Counts:
    """What counting the entities says."""
    async with database.read_session() as session:
        rows = await session.execute(
            text("SELECT status, type, count(*) FROM catalog_entities GROUP BY status, type")
        )
        return {(status, type): n for status, type, n in rows}


async def assert_exact(database: Database) -> Counts:
    kept, truth = await counters(database), await counted(database)
    assert kept == truth, f"catalog_entity_counts {kept} != count(*) {truth}"
    return kept


def require_postgresql(database: Database) -> None:
    if database.is_sqlite:
        pytest.skip("PostgreSQL's statement triggers and concurrent writers")


async def test_counts_follow_an_entity_through_create_moves_type_change_and_delete(
    database: Database,
) -> None:
    mug = await make_entity(database, slug="mug", status="draft")
    await make_entity(database, slug="tee", status="active")
    assert await assert_exact(database) == {("draft", "product"): 1, ("active", "product"): 1}

    async def act(action: str) -> None:
        async with database.unit_of_work() as uow:
            await entities.transition(uow, SYSTEM, id=str(mug.id), action=action)
            await uow.commit()

    await act("publish")
    assert await assert_exact(database) == {("active", "product"): 2}
    await act("archive")
    assert await assert_exact(database) == {("active", "product"): 1, ("archived", "product"): 1}
    async with database.unit_of_work() as uow:
        await entities.update_entity(uow, SYSTEM, id=str(mug.id), type="service")
        await uow.commit()
    assert await assert_exact(database) == {("active", "product"): 1, ("archived", "service"): 1}
    async with database.unit_of_work() as uow:
        await entities.update_entity(
            uow, SYSTEM, id=str(mug.id), type="bundle", status="active", slug="big-mug"
        )
        await uow.commit()
    assert await assert_exact(database) == {("active", "product"): 1, ("active", "bundle"): 1}
    async with database.unit_of_work() as uow:
        await entities.delete_entity(uow, SYSTEM, id=str(mug.id))
        await uow.commit()
    assert await assert_exact(database) == {("active", "product"): 1}


async def test_a_write_that_changes_neither_status_nor_type_leaves_the_counts(
    database: Database,
) -> None:
    mug = await make_entity(database, slug="mug", status="active")
    async with database.unit_of_work() as uow:
        await entities.update_entity(uow, SYSTEM, id=str(mug.id), slug="cup", metadata={"a": 1})
        await uow.commit()
    assert await assert_exact(database) == {("active", "product"): 1}


async def test_a_rolled_back_write_leaves_the_counts_as_they_were(database: Database) -> None:
    await make_entity(database, slug="mug", status="active")
    async with database.unit_of_work() as uow:
        await entities.create_entity(uow, SYSTEM, type="service", slug="fitting")
        await uow.session.execute(text("UPDATE catalog_entities SET status = 'archived'"))
        # no commit: the unit of work rolls back, the triggers' upserts with it
    assert await assert_exact(database) == {("active", "product"): 1}


async def test_counts_follow_statements_that_change_and_delete_many_entities(
    database: Database,
) -> None:
    """Whatever deletes entities in bulk (nothing in the app cascades onto them: a vendor's
    or category's removal is refused while entities name it) is a multi-row DELETE; the
    entities' own children cascade from it."""
    for i in range(6):
        await make_entity(
            database, slug=f"e{i}", status=("draft", "active")[i % 2], type=ENTITY_TYPES[i % 3]
        )
    async with database.unit_of_work() as uow:
        await uow.session.execute(
            text("UPDATE catalog_entities SET status = 'archived' WHERE status = 'draft'")
        )
        await uow.session.execute(text("UPDATE catalog_entities SET type = 'giftCard'"))
        await uow.commit()
    assert await assert_exact(database) == {("archived", "giftCard"): 3, ("active", "giftCard"): 3}
    async with database.unit_of_work() as uow:
        await uow.session.execute(text("DELETE FROM catalog_entities WHERE status = 'archived'"))
        await uow.commit()
    assert await assert_exact(database) == {("active", "giftCard"): 3}
    async with database.unit_of_work() as uow:
        await uow.session.execute(text("DELETE FROM catalog_entities"))
        await uow.commit()
    assert await assert_exact(database) == {}
    async with database.read_session() as session:
        left = await session.scalar(text("SELECT count(*) FROM catalog_attributes"))
    assert left == 0  # the children went with them


# --- any sequence of writes (hypothesis) -----------------------------------------------------

slot = st.integers(min_value=0, max_value=3)
operations = st.lists(
    st.one_of(
        st.tuples(
            st.just("create"), st.sampled_from(ENTITY_STATUSES), st.sampled_from(ENTITY_TYPES)
        ),
        st.tuples(st.just("move"), slot, st.sampled_from(sorted(entities.ACTIONS))),
        st.tuples(st.just("retype"), slot, st.sampled_from(ENTITY_TYPES)),
        st.tuples(st.just("delete"), slot),
        st.tuples(st.just("bulk"), st.sampled_from(ENTITY_STATUSES)),
    ),
    min_size=1,
    max_size=10,
)


async def apply(database: Database, operation: tuple[object, ...], ids: list[str]) -> None:
    """One write, committed, on the entity in `slot` (round the live ones), if any."""
    kind, *args = operation
    async with database.unit_of_work() as uow:
        if kind == "create":
            status, type = str(args[0]), str(args[1])
            made = await entities.create_entity(
                uow, SYSTEM, type=type, slug=f"e-{uuid.uuid4().hex}", status=status
            )
            ids.append(str(made.id))
        elif kind == "bulk":  # every active entity to one status, in one statement
            await uow.session.execute(
                text("UPDATE catalog_entities SET status = :s WHERE status = 'active'"),
                {"s": args[0]},
            )
        elif ids:
            assert isinstance(args[0], int)
            id = ids[args[0] % len(ids)]
            if kind == "move":
                try:
                    await entities.transition(uow, SYSTEM, id=id, action=str(args[1]))
                except Conflict:  # not allowed from its status: nothing changes
                    return
            elif kind == "retype":
                await entities.update_entity(uow, SYSTEM, id=id, type=str(args[1]))
            else:
                await entities.delete_entity(uow, SYSTEM, id=id)
                ids.remove(id)
        await uow.commit()


@settings(
    max_examples=20,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(operations=operations)
async def test_any_sequence_of_writes_keeps_the_counts_exact(
    shared_database: Database, operations: list[tuple[object, ...]]
) -> None:
    database = shared_database
    await truncate_all(database)
    ids: list[str] = []
    for operation in operations:
        await apply(database, operation, ids)
        await assert_exact(database)
    assert sum((await counters(database)).values()) == len(ids)


# --- PostgreSQL: bulk statements and concurrent writers --------------------------------------


async def test_the_postgresql_triggers_run_once_per_statement(database: Database) -> None:
    """Row triggers would upsert one counter row once per entity of a bulk insert."""
    require_postgresql(database)
    async with database.read_session() as session:
        rows = await session.execute(
            text(
                "SELECT tgname, tgtype & 1 FROM pg_trigger "
                "WHERE tgrelid = 'catalog_entities'::regclass AND NOT tgisinternal "
                "ORDER BY tgname"
            )
        )
        triggers = {name: row_level for name, row_level in rows}
    assert triggers == {f"catalog_entity_counts_{e}": 0 for e in ("delete", "insert", "update")}


async def test_a_bulk_insert_select_of_thousands_keeps_the_counts_exact(
    database: Database,
) -> None:
    require_postgresql(database)
    await make_entity(database, slug="mug", status="active")
    async with database.unit_of_work() as uow:
        await uow.session.execute(
            text(
                """
                INSERT INTO catalog_entities (id, type, slug, status, metadata, allow_backorder,
                                              created_at, updated_at)
                SELECT gen_random_uuid(), (ARRAY['product', 'service'])[1 + n % 2],
                       'bulk-' || n, (ARRAY['draft', 'active', 'archived'])[1 + n % 3],
                       '{}', false, now(), now()
                FROM generate_series(1, 6000) AS n
                """
            )
        )
        await uow.commit()
    kept = await assert_exact(database)
    assert sum(kept.values()) == 6001 and kept[("active", "service")] == 1000
    async with database.unit_of_work() as uow:
        await uow.session.execute(
            text("UPDATE catalog_entities SET status = 'active' WHERE slug LIKE 'bulk-%'")
        )
        await uow.session.execute(text("DELETE FROM catalog_entities WHERE type = 'service'"))
        await uow.commit()
    assert await assert_exact(database) == {("active", "product"): 3001}


async def test_concurrent_creates_and_moves_keep_the_counts_exact(database: Database) -> None:
    """Sixteen sessions at once, all on the same few counter rows (and rows none had yet)."""
    require_postgresql(database)

    async def create(i: int) -> str:
        async with database.unit_of_work() as uow:
            made = await entities.create_entity(
                uow,
                SYSTEM,
                type=ENTITY_TYPES[i % 2],
                slug=f"c{i}",
                status=("draft", "active")[i % 2],
            )
            await uow.commit()
        return str(made.id)

    async def publish(id: str) -> None:
        async with database.unit_of_work() as uow:
            await entities.transition(uow, SYSTEM, id=id, action="publish")
            await uow.commit()

    ids = await asyncio.wait_for(asyncio.gather(*(create(i) for i in range(16))), timeout=60)
    assert await assert_exact(database) == {
        ("draft", "product"): 8,
        ("active", "digitalDownload"): 8,
    }
    drafts = ids[::2]
    await asyncio.wait_for(asyncio.gather(*(publish(id) for id in drafts)), timeout=60)
    assert await assert_exact(database) == {
        ("active", "product"): 8,
        ("active", "digitalDownload"): 8,
    }


# --- the migration counts what is already there -----------------------------------------------


@pytest.fixture
def fresh_url(database_url: str, tmp_path: Path) -> Iterator[str]:
    """An empty database of the backend's own, for migrating step by step."""
    if database_url.startswith("sqlite"):
        yield f"sqlite+aiosqlite:///{tmp_path / 'fresh.db'}"
        return
    schema = _schema_name(os.environ.get("PYTEST_XDIST_WORKER", "main")) + "_fresh"
    yield _postgres_url(schema)
    with psycopg.connect(_admin_dsn(), autocommit=True) as connection:
        connection.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


def test_the_migration_counts_the_entities_already_there(fresh_url: str) -> None:
    """Synchronous: the migrations run their own event loop."""
    upgrade(fresh_url, "0024_vendor_documents")
    rows = [(status, type) for status in ("draft", "active") for type in ("product", "service")]
    engine = create_engine(fresh_url.replace("+aiosqlite", ""))
    try:
        with engine.begin() as connection:
            for i, (status, type) in enumerate(rows * 3 + rows[:1]):
                connection.execute(
                    text(
                        "INSERT INTO catalog_entities (id, type, slug, status, metadata, "
                        "allow_backorder, created_at, updated_at) VALUES "
                        "(:id, :type, :slug, :status, '{}', false, :at, :at)"
                    ),
                    {
                        "id": uuid.uuid4().hex if engine.dialect.name == "sqlite" else uuid.uuid4(),
                        "type": type,
                        "slug": f"e{i}",
                        "status": status,
                        "at": datetime.now(UTC),
                    },
                )
        upgrade(fresh_url)
        with engine.connect() as connection:
            kept = connection.execute(
                text("SELECT status, type, entities FROM catalog_entity_counts")
            ).all()
    finally:
        engine.dispose()
    assert sorted(tuple(row) for row in kept) == [
        ("active", "product", 3),
        ("active", "service", 3),
        ("draft", "product", 4),
        ("draft", "service", 3),
    ]
