"""Warehouses: where stock is kept."""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.actor import Actor
from app.db import UnitOfWork
from app.errors import Conflict, NotFound
from app.ids import parse_uuid
from app.models.base import utcnow
from app.models.inventory import Warehouse
from app.pagination import Page, PageRequest, SortKey, paginate
from app.services.audit import record_change
from app.services.catalog.rules import Problems, check_address, check_name

CODE = re.compile(r"^[A-Z0-9][A-Z0-9_-]{0,49}$")


def _check(problems: Problems, *, code: str | None, address: object) -> dict[str, Any] | None:
    """The checked address (see `check_address`)."""
    if code is not None and not CODE.match(code):
        problems.add("code", "Upper-case letters, digits, _ and -, at most 50.")
    return check_address(problems, address)


async def get_warehouse(session: AsyncSession, id: str, *, for_update: bool = False) -> Warehouse:
    parsed = parse_uuid(id)
    found = await session.get(Warehouse, parsed, with_for_update=for_update) if parsed else None
    if found is None:
        raise NotFound("Warehouse not found.")
    return found


async def create_warehouse(
    uow: UnitOfWork, actor: Actor, *, code: str, name: str, address: object | None = None
) -> Warehouse:
    problems = Problems()
    name = check_name(problems, name)
    checked_address = _check(problems, code=code, address=address)
    problems.raise_if_any()
    if await uow.session.scalar(select(Warehouse.id).where(Warehouse.code == code)):
        raise Conflict(f"The warehouse code {code} is in use.", details={"code": "Already in use."})
    warehouse = Warehouse(code=code, name=name, address=checked_address or {})
    uow.session.add(warehouse)
    await uow.session.flush()
    record_change(
        uow,
        actor,
        event="warehouses.create",
        entity_type="warehouse",
        entity_id=str(warehouse.id),
        after=warehouse.snapshot(),
    )
    return warehouse


async def update_warehouse(
    uow: UnitOfWork,
    actor: Actor,
    *,
    id: str,
    name: str | None = None,
    address: object | None = None,
    active: bool | None = None,
) -> Warehouse:
    """Rename, re-address, (de)activate. An inactive warehouse keeps its stock but takes no
    new reservations."""
    problems = Problems()
    checked = check_name(problems, name) if name is not None else None
    checked_address = _check(problems, code=None, address=address)
    problems.raise_if_any()
    warehouse = await get_warehouse(uow.session, id, for_update=True)
    before = warehouse.snapshot()
    if checked is not None:
        warehouse.name = checked
    if checked_address is not None:
        warehouse.address = checked_address
    if active is not None:
        warehouse.active = active
    warehouse.updated_at = utcnow()
    await uow.session.flush()
    record_change(
        uow,
        actor,
        event="warehouses.update",
        entity_type="warehouse",
        entity_id=str(warehouse.id),
        before=before,
        after=warehouse.snapshot(),
    )
    return warehouse


async def list_warehouses(
    session: AsyncSession, *, page: PageRequest, active: bool | None = None
) -> Page[Warehouse]:
    statement = select(Warehouse)
    if active is not None:
        statement = statement.where(Warehouse.active.is_(active))
    return await paginate(
        session, statement, keys=(SortKey(Warehouse.code), SortKey(Warehouse.id)), request=page
    )
