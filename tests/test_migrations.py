"""The Alembic migrations build exactly the schema the models describe, on every backend.

`database_url` is migrated to head by Alembic (as in production) once per session; these
tests compare that database with `app.models.Base.metadata`, the way `alembic revision
--autogenerate` would. A difference means a model changed without a migration.
"""

from __future__ import annotations

from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Connection

from app.db import Database
from app.migrations import alembic_config, include_object
from app.models import Base


def _autogenerate_diff(connection: Connection) -> list[Any]:
    options = {"compare_type": True, "include_object": include_object(connection.dialect.name)}
    context = MigrationContext.configure(connection, opts=options)
    return compare_metadata(context, Base.metadata)


def _current_heads(connection: Connection) -> tuple[str, ...]:
    return MigrationContext.configure(connection).get_current_heads()


async def _run(database_url: str, work: Any) -> Any:
    database = Database(database_url)
    try:
        async with database.engine.connect() as connection:
            return await connection.run_sync(work)
    finally:
        await database.dispose()


async def test_autogenerate_finds_no_difference_between_migrations_and_models(
    database_url: str,
) -> None:
    diff = await _run(database_url, _autogenerate_diff)
    assert diff == [], (
        "the models and the migrations disagree; add a migration "
        "(alembic revision --autogenerate) for:\n" + "\n".join(map(repr, diff))
    )


async def test_the_migrated_database_is_at_the_single_head(database_url: str) -> None:
    heads = ScriptDirectory.from_config(alembic_config(database_url)).get_heads()
    assert len(heads) == 1, f"the migration history has branched: heads {heads}"
    assert await _run(database_url, _current_heads) == (heads[0],)
