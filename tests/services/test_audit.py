"""Audit entries and outbox events live and die with the change's transaction."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from app.auth.actor import SYSTEM
from app.db import Database
from app.models.apikeys import ApiKey
from app.models.audit import AuditEntry, Event
from app.services.apikeys import create_api_key


async def counts(database: Database) -> tuple[int, int, int]:
    async with database.read_session() as session:
        return tuple(  # type: ignore[return-value]
            [
                (await session.execute(select(func.count()).select_from(model))).scalar_one()
                for model in (ApiKey, AuditEntry, Event)
            ]
        )


async def test_a_committed_change_writes_one_audit_entry_and_one_event(database: Database) -> None:
    async with database.unit_of_work(request_id="req-1") as uow:
        key, _ = await create_api_key(uow, SYSTEM, name="k", permissions=["audit:read"])
        await uow.commit()
    assert await counts(database) == (1, 1, 1)
    async with database.read_session() as session:
        entry = await session.scalar(select(AuditEntry))
        event = await session.scalar(select(Event))
    assert entry is not None and event is not None
    assert (entry.event, entry.entity_type, entry.entity_id) == (
        "apiKeys.create",
        "api_key",
        str(key.id),
    )
    assert (entry.actor_type, entry.actor_id, entry.request_id) == ("system", "system", "req-1")
    assert event.type == "apiKeys.create" and event.request_id == "req-1"
    assert event.data["after"]["name"] == "k"


async def test_a_change_that_fails_after_auditing_leaves_no_audit_row(database: Database) -> None:
    with pytest.raises(RuntimeError):
        async with database.unit_of_work() as uow:
            await create_api_key(uow, SYSTEM, name="k", permissions=["audit:read"])
            await uow.session.flush()
            raise RuntimeError("a later step of the command failed")
    assert await counts(database) == (0, 0, 0)


async def test_an_uncommitted_unit_of_work_rolls_back(database: Database) -> None:
    async with database.unit_of_work() as uow:
        await create_api_key(uow, SYSTEM, name="k", permissions=["audit:read"])
    assert await counts(database) == (0, 0, 0)
