"""Small keyword-only factories for tests."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from app.auth.actor import SYSTEM
from app.db import Database
from app.models.apikeys import ApiKey
from app.models.customers import Customer
from app.models.pricing import CustomerGroup
from app.services.apikeys import create_api_key
from app.services.customers import create_customer
from app.services.pricing.groups import add_customer_to_group


async def make_api_key(
    database: Database, *, permissions: Sequence[str] = ("*:*",), name: str = "test key"
) -> tuple[ApiKey, str]:
    """A stored key and its plaintext."""
    async with database.unit_of_work() as uow:
        key, plaintext = await create_api_key(uow, SYSTEM, name=name, permissions=list(permissions))
        await uow.commit()
    return key, plaintext


async def customer(
    database: Database,
    *,
    email: str | None = None,
    first_name: str | None = None,
    last_name: str | None = None,
    groups: Sequence[CustomerGroup] = (),
) -> Customer:
    """A stored customer (a fresh address unless `email` is given), a member of `groups`."""
    async with database.unit_of_work() as uow:
        made = await create_customer(
            uow,
            SYSTEM,
            email=email or f"customer-{uuid.uuid4().hex[:12]}@example.com",
            first_name=first_name,
            last_name=last_name,
        )
        for group in groups:
            await add_customer_to_group(
                uow, SYSTEM, customer_group_id=str(group.id), customer_id=str(made.id)
            )
        await uow.commit()
    return made
