"""Pricing factories for tests: records built through the services, as staff would."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select

from app.auth.actor import SYSTEM
from app.db import Database
from app.models.catalog import CatalogEntity, Variant
from app.models.pricing import CustomerGroup, Price, PriceModifier
from app.services.pricing import groups, modifiers, prices


def _id(row: Any) -> str | None:
    return str(row.id) if row is not None else None


async def make_group(
    database: Database, *, name: str, members: tuple[str, ...] = ()
) -> CustomerGroup:
    async with database.unit_of_work() as uow:
        group = await groups.create_customer_group(uow, SYSTEM, name=name)
        for customer_id in members:
            await groups.add_customer_to_group(
                uow, SYSTEM, customer_group_id=str(group.id), customer_id=customer_id
            )
        await uow.commit()
    return group


async def make_price(
    database: Database,
    entity: CatalogEntity,
    *,
    amount: int,
    currency: str = "USD",
    variant: Variant | None = None,
    group: CustomerGroup | None = None,
    min_quantity: int = 1,
    valid_from: datetime | None = None,
    valid_until: datetime | None = None,
) -> Price:
    async with database.unit_of_work() as uow:
        price = await prices.create_price(
            uow,
            SYSTEM,
            entity_id=str(entity.id),
            variant_id=_id(variant),
            currency=currency,
            amount=amount,
            customer_group_id=_id(group),
            min_quantity=min_quantity,
            valid_from=valid_from,
            valid_until=valid_until,
        )
        await uow.commit()
    return price


async def make_modifier(
    database: Database,
    *,
    kind: str,
    value: int,
    name: str = "discount",
    currency: str | None = None,
    entity: CatalogEntity | None = None,
    group: CustomerGroup | None = None,
    min_quantity: int | None = None,
    valid_from: datetime | None = None,
    valid_until: datetime | None = None,
    active: bool = True,
    priority: int = 0,
) -> PriceModifier:
    async with database.unit_of_work() as uow:
        modifier = await modifiers.create_modifier(
            uow,
            SYSTEM,
            name=name,
            kind=kind,
            value=value,
            currency=currency,
            entity_id=_id(entity),
            customer_group_id=_id(group),
            min_quantity=min_quantity,
            valid_from=valid_from,
            valid_until=valid_until,
            active=active,
            priority=priority,
        )
        await uow.commit()
    return modifier


async def variants_of(database: Database, entity: CatalogEntity) -> dict[str, Variant]:
    """The entity's variants by SKU (make_entity names them SLUG-SIZE)."""
    async with database.read_session() as session:
        rows = await session.scalars(select(Variant).where(Variant.entity_id == entity.id))
        return {row.sku: row for row in rows}
