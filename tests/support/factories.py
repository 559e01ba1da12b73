"""Small keyword-only factories for tests."""

from __future__ import annotations

from collections.abc import Sequence

from app.auth.actor import SYSTEM
from app.db import Database
from app.models.apikeys import ApiKey
from app.services.apikeys import create_api_key


async def make_api_key(
    database: Database, *, permissions: Sequence[str] = ("*:*",), name: str = "test key"
) -> tuple[ApiKey, str]:
    """A stored key and its plaintext."""
    async with database.unit_of_work() as uow:
        key, plaintext = await create_api_key(uow, SYSTEM, name=name, permissions=list(permissions))
        await uow.commit()
    return key, plaintext
