"""The outbox dispatcher: every committed event fanned out exactly once, in order, after a
failed round too, and by only one of two dispatchers on PostgreSQL; published after commit."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Sequence
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.actor import SYSTEM
from app.db import Database
from app.events import dispatcher
from app.events.dispatcher import Dispatcher, dispatch_pending
from app.models.audit import Event
from app.services.audit import record_change

FANNED: list[str] = []
PUBLISHED: list[dict[str, Any]] = []


async def fan_out(session: AsyncSession, events: Sequence[Event]) -> None:
    FANNED.extend(str(event.id) for event in events)


async def publish(messages: list[dict[str, Any]]) -> None:
    PUBLISHED.extend(messages)
    published.set()


published = asyncio.Event()


@pytest.fixture(autouse=True)
def _only_this_fan_out(monkeypatch: pytest.MonkeyPatch) -> None:
    FANNED.clear()
    PUBLISHED.clear()
    published.clear()
    monkeypatch.setattr(dispatcher, "FANOUTS", [fan_out])


async def _change(database: Database, count: int = 1, *, commit: bool = True) -> None:
    async with database.unit_of_work() as uow:
        for n in range(count):
            record_change(
                uow,
                SYSTEM,
                event="catalog.update",
                entity_type="catalog_entity",
                entity_id=f"e{n}",
                after={"n": n},
            )
        if commit:
            await uow.commit()


async def _event_ids(database: Database) -> list[str]:
    async with database.read_session() as session:
        return [str(i) for i in (await session.scalars(select(Event.id).order_by(Event.id)))]


async def test_committed_events_are_fanned_out_once_in_order_then_published(
    database: Database,
) -> None:
    await _change(database, 3)
    await _change(database, 2, commit=False)  # rolled back: no events

    assert await dispatch_pending(database, publish=publish) == 3
    assert await dispatch_pending(database, publish=publish) == 0

    ids = await _event_ids(database)
    assert ids == FANNED and len(ids) == 3
    assert [message["id"] for message in PUBLISHED] == ids
    first = PUBLISHED[0]
    assert first["type"] == "catalog.update"
    assert (first["entityType"], first["entityId"]) == ("catalog_entity", "e0")
    assert first["data"]["after"] == {"n": 0}
    assert first["occurredAt"].endswith("Z")
    async with database.read_session() as session:
        assert None not in (await session.scalars(select(Event.dispatched_at))).all()


async def test_a_round_that_fails_leaves_its_events_for_the_next(
    database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    await _change(database, 2)

    async def broken(session: AsyncSession, events: Sequence[Event]) -> None:
        raise RuntimeError("the process dies mid-round")

    monkeypatch.setattr(dispatcher, "FANOUTS", [fan_out, broken])
    with pytest.raises(RuntimeError):
        await dispatch_pending(database, publish=publish)
    assert PUBLISHED == []
    async with database.read_session() as session:
        assert set((await session.scalars(select(Event.dispatched_at))).all()) == {None}

    FANNED.clear()
    monkeypatch.setattr(dispatcher, "FANOUTS", [fan_out])
    assert await dispatch_pending(database, publish=publish) == 2
    assert await _event_ids(database) == FANNED


async def test_the_dispatcher_wakes_when_this_process_commits_an_event(
    database: Database,
) -> None:
    task = asyncio.create_task(Dispatcher(database, publish=publish, poll_seconds=30).run())
    try:
        await asyncio.sleep(0.05)
        await _change(database, 1)
        await asyncio.wait_for(published.wait(), 5)
    finally:
        task.cancel()
    assert [message["entityId"] for message in PUBLISHED] == ["e0"]


async def test_two_dispatchers_on_postgresql_fan_each_event_out_once(
    database: Database, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    if database.is_sqlite:
        pytest.skip("SQLite has one writer: concurrent claiming is a PostgreSQL question")
    for _ in range(6):
        await _change(database, 50)

    async def slow_fan_out(session: AsyncSession, events: Sequence[Event]) -> None:
        await asyncio.sleep(0.02)  # a round holds its events a while, as a real one does
        await fan_out(session, events)

    monkeypatch.setattr(dispatcher, "FANOUTS", [slow_fan_out])
    others = [Database(database_url, pool_size=2) for _ in range(2)]

    async def drain(other: Database) -> int:
        total = 0
        while n := await dispatch_pending(other, limit=20):
            total += n
        return total

    try:
        counts = await asyncio.gather(*(drain(other) for other in others))
    finally:
        for other in others:
            await other.dispose()
    fanned = Counter(FANNED)
    assert len(fanned) == 300 and set(fanned.values()) == {1}
    assert sum(counts) == 300 and min(counts) > 0, counts
