"""Alembic's async environment: the same migrations run on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from typing import Any

from sqlalchemy import JSON
from sqlalchemy.engine import Connection

from alembic import context
from app.config import Settings
from app.db import Database
from app.migrations import include_object
from app.models import Base
from app.models.base import UTCDateTime

target_metadata = Base.metadata


def _render_item(kind: str, obj: Any, autogen_context: Any) -> str | bool:
    """Render the portable column types as plain SQLAlchemy, so migrations import no app code."""
    if kind == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    if kind == "type" and isinstance(obj, JSON):
        autogen_context.imports.add("from sqlalchemy.dialects import postgresql")
        return 'sa.JSON().with_variant(postgresql.JSONB(), "postgresql")'
    return False


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
        render_item=_render_item,
        include_object=include_object(connection.dialect.name),
    )
    with context.begin_transaction():
        context.run_migrations()


async def _run_async(url: str) -> None:
    database = Database(url)
    try:
        async with database.engine.connect() as connection:
            await connection.run_sync(_run)
            await connection.commit()
    finally:
        await database.dispose()


def run_migrations_online() -> None:
    url = context.config.attributes.get("database_url") or Settings().database_url
    asyncio.run(_run_async(url))


if context.is_offline_mode():
    raise SystemExit("Offline (SQL script) migrations are not supported; run `cartograph migrate`.")
run_migrations_online()
