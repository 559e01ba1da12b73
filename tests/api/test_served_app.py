"""The app `cartograph serve` runs (`app.main.create_served_app`, uvicorn's factory) freezes
what start-up built (`gc.freeze`), so that the collector's full collections, which would
walk every module, the schema and the pools each time (150 ms and more under load: the p99
of a busy server), skip it. The apps tests build do not: what is frozen is never collected."""

from __future__ import annotations

import gc

from app.db import Database
from app.main import create_app
from tests.conftest import client_for, settings_for


async def test_the_served_app_freezes_the_heap_once_started(database: Database) -> None:
    assert gc.get_freeze_count() == 0
    app = create_app(settings_for(database.url), database=database, freeze_heap=True)
    try:
        assert gc.get_freeze_count() == 0  # not before start-up has run
        async with app.router.lifespan_context(app), client_for(app) as client:
            frozen = gc.get_freeze_count()
            assert frozen > 10_000  # modules, the schema, the app
            assert (await client.get("/api/health")).status_code == 200
    finally:
        gc.unfreeze()


async def test_an_app_built_for_tests_freezes_nothing(database: Database) -> None:
    app = create_app(settings_for(database.url), database=database)
    async with app.router.lifespan_context(app):
        assert gc.get_freeze_count() == 0
