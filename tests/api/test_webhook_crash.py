"""A real server killed (SIGKILL) after a change committed and before its event was
dispatched: after a restart, the webhook receiver gets the event exactly once.

The first server runs without its dispatcher (`CARTOGRAPH_DISPATCHER=false`), so the window
between commit and dispatch stays open until the kill; the second runs the dispatcher and the
job runner in-process, as `cartograph serve` does by default.
"""

from __future__ import annotations

import asyncio
import os
import signal

import httpx
import pytest
from sqlalchemy import select
from standardwebhooks.webhooks import Webhook

from app.db import Database
from app.models.audit import Event
from app.models.webhooks import WebhookDelivery
from tests.support.factories import make_api_key
from tests.support.receiver import receiving
from tests.support.server import running_server
from tests.support.webhooks import make_endpoint

SERVER = {
    "CARTOGRAPH_WEBHOOK_ALLOW_PRIVATE": "true",  # the receiver is on 127.0.0.1
    "CARTOGRAPH_DISPATCH_POLL_SECONDS": "0.1",
    "CARTOGRAPH_JOBS_POLL_SECONDS": "0.1",
    "CARTOGRAPH_RESERVATION_SWEEP_SECONDS": "0",
}


async def undispatched(database: Database, type: str) -> list[Event]:
    async with database.read_session() as session:
        rows = await session.scalars(
            select(Event).where(Event.type == type, Event.dispatched_at.is_(None))
        )
        return list(rows)


@pytest.mark.one_backend
async def test_an_event_committed_before_a_crash_is_delivered_once_after_restart(
    database: Database, database_url: str
) -> None:
    _, key = await make_api_key(database)
    with receiving() as receiver:
        endpoint = await make_endpoint(database, url=receiver.url, events=["catalog.create"])
        with running_server(database_url, CARTOGRAPH_DISPATCHER="false", **SERVER) as first:
            assert first.process is not None
            async with httpx.AsyncClient(base_url=first.base_url, timeout=30) as http:
                made = await http.post(
                    "/api/catalog/entities",
                    json={"type": "product", "slug": "crash-hook"},
                    headers={"x-api-key": key},
                )
            assert made.status_code == 201, made.text
            os.kill(first.process.pid, signal.SIGKILL)
            first.process.wait(timeout=10)
        [event] = await undispatched(database, "catalog.create")
        assert receiver.received == []

        with running_server(database_url, **SERVER) as second:
            for _ in range(300):
                if receiver.received:
                    break
                await asyncio.sleep(0.05)
            # Several dispatcher and job-runner rounds more: nothing is sent again.
            await asyncio.sleep(0.5)
            assert len(receiver.received) == 1, second.log()

    [got] = receiver.received
    assert got.headers["webhook-id"] == str(event.id)
    payload = Webhook(endpoint.secret).verify(got.body, got.headers)
    assert payload["data"]["entityId"] == made.json()["data"]["id"]
    assert await undispatched(database, "catalog.create") == []
    async with database.read_session() as session:
        logged = (await session.scalars(select(WebhookDelivery.status))).all()
    assert logged == ["succeeded"]
