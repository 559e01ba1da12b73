"""The gateway's products (seeds 000 and 002): a catalog entity seen as name, description,
SKU, status, price and stock. Built from the catalog, pricing and inventory services, so the
same rules, audit entries and events apply, all in the caller's one unit of work."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.actor import Actor
from app.db import UnitOfWork
from app.errors import ValidationFailed
from app.models.catalog import CatalogAttributes, CatalogEntity, Variant
from app.models.pricing import Price
from app.services.catalog import attributes, entities, variants
from app.services.catalog.rules import Problems, check_name, check_text, slugify
from app.services.inventory import levels
from app.services.pricing import prices
from app.services.pricing.rules import check_amount, check_currency

# Setting a product's stock is an inventory change; its price, a pricing one.
SET_STOCK = "inventory:update"
CREATE_PRICE, UPDATE_PRICE = "pricing:create", "pricing:update"


async def _free_slug(session: AsyncSession, base: str) -> str:
    taken = set(
        (
            await session.scalars(
                select(CatalogEntity.slug).where(
                    (CatalogEntity.slug == base) | CatalogEntity.slug.like(f"{base}-%")
                )
            )
        ).all()
    )
    if base not in taken:
        return base
    number = 2
    while f"{base}-{number}" in taken:
        number += 1
    return f"{base}-{number}"


def _check(
    name: str | None,
    description: str | None,
    *,
    price: int | None = None,
    currency: str | None = None,
    stock: int | None = None,
) -> str | None:
    problems = Problems()
    checked = check_name(problems, name, limit=500) if name is not None else None
    check_text(problems, description, "description", limit=50_000)
    check_currency(problems, currency)
    if price is not None:
        check_amount(problems, price, "price")
        if currency is None:
            problems.add("currency", "Give the price's currency (ISO 4217, e.g. USD).")
    elif currency is not None:
        problems.add("price", "Give the price in this currency.")
    if stock is not None and not 0 <= stock <= levels.MAX_QUANTITY:
        problems.add("stock", f"Must be between 0 and {levels.MAX_QUANTITY}.")
    problems.raise_if_any()
    return checked


async def create_product(
    uow: UnitOfWork,
    actor: Actor,
    *,
    name: str,
    description: str | None = None,
    sku: str | None = None,
    status: str = "draft",
    type: str = "product",
    metadata: dict[str, Any] | None = None,
    price: int | None = None,
    currency: str | None = None,
    stock: int | None = None,
) -> CatalogEntity:
    """An entity with its default-locale texts and, given a SKU, its one variant; given a
    price (minor units of `currency`), its base price; given stock, that many units on hand
    in the default warehouse."""
    name = _check(name, description, price=price, currency=currency, stock=stock) or name
    slug = await _free_slug(uow.session, slugify(name))
    entity = await entities.create_entity(
        uow, actor, type=type, slug=slug, status=status, metadata=metadata
    )
    await attributes.set_attributes(
        uow,
        actor,
        entity_id=str(entity.id),
        locale=attributes.DEFAULT_LOCALE,
        title=name,
        description=description,
    )
    if sku is not None:
        await variants.create_variant(uow, actor, entity_id=str(entity.id), sku=sku)
    await _set_price_and_stock(uow, actor, entity, price, currency, stock)
    return entity


async def update_product(
    uow: UnitOfWork,
    actor: Actor,
    *,
    id: str,
    name: str | None = None,
    description: str | None = None,
    sku: str | None = None,
    status: str | None = None,
    price: int | None = None,
    currency: str | None = None,
    stock: int | None = None,
) -> CatalogEntity:
    """Change the given fields; the others stay as they are. A price replaces the base price
    in its currency (or creates it); stock sets the units on hand in the default warehouse."""
    name = _check(name, description, price=price, currency=currency, stock=stock)
    entity = await entities.get_entity_by_id(uow, actor, id)
    if name is not None or description is not None:
        current = await uow.session.scalar(
            select(CatalogAttributes).where(
                CatalogAttributes.entity_id == entity.id,
                CatalogAttributes.locale == attributes.DEFAULT_LOCALE,
            )
        )
        await attributes.set_attributes(
            uow,
            actor,
            entity_id=id,
            locale=attributes.DEFAULT_LOCALE,
            title=name if name is not None else getattr(current, "title", None),
            description=description
            if description is not None
            else getattr(current, "description", None),
            seo_title=getattr(current, "seo_title", None),
            seo_description=getattr(current, "seo_description", None),
        )
    if sku is not None:
        await _set_sku(uow, actor, entity, sku)
    if status is not None:
        entity = await entities.update_entity(uow, actor, id=id, status=status)
    await _set_price_and_stock(uow, actor, entity, price, currency, stock)
    return entity


async def _set_sku(uow: UnitOfWork, actor: Actor, entity: CatalogEntity, sku: str) -> None:
    """The product's SKU is its first variant's; a product without variants gets one."""
    first = await uow.session.scalar(
        select(Variant).where(Variant.entity_id == entity.id).order_by(Variant.sku).limit(1)
    )
    if first is None:
        await variants.create_variant(uow, actor, entity_id=str(entity.id), sku=sku)
        return
    if first.sku == sku:
        return
    await variants.rename_variant(uow, actor, variant=first, sku=sku)


async def _set_price_and_stock(
    uow: UnitOfWork,
    actor: Actor,
    entity: CatalogEntity,
    price: int | None,
    currency: str | None,
    stock: int | None,
) -> None:
    if price is not None:
        assert currency is not None  # _check
        await _set_base_price(uow, actor, entity, price, currency)
    if stock is not None:
        await _set_stock(uow, actor, entity, stock)


async def _set_base_price(
    uow: UnitOfWork, actor: Actor, entity: CatalogEntity, amount: int, currency: str
) -> None:
    """The base price is the entity's public, untiered, unwindowed price in `currency`:
    replaced where there is one (every such record, so no older one undercuts it), created
    where there is none. Creating needs pricing:create, replacing pricing:update."""
    base = list(
        (
            await uow.session.scalars(
                select(Price)
                .where(
                    Price.entity_id == entity.id,
                    Price.currency == currency,
                    Price.variant_id.is_(None),
                    Price.customer_group_id.is_(None),
                    Price.min_quantity == 1,
                    Price.valid_from.is_(None),
                    Price.valid_until.is_(None),
                )
                .order_by(Price.id)
                .with_for_update()
            )
        ).all()
    )
    if not base:
        actor.require(CREATE_PRICE)
        await prices.create_price(
            uow, actor, entity_id=str(entity.id), currency=currency, amount=amount
        )
        return
    actor.require(UPDATE_PRICE)
    for record in base:
        if record.amount != amount:
            await prices.update_price(uow, actor, id=str(record.id), amount=amount)


async def _set_stock(uow: UnitOfWork, actor: Actor, entity: CatalogEntity, quantity: int) -> None:
    """Units on hand in the default warehouse, for a product with at most one variant (the
    stock of several is each variant's own, set by SKU)."""
    actor.require(SET_STOCK)
    count = len(
        (await uow.session.scalars(select(Variant.id).where(Variant.entity_id == entity.id))).all()
    )
    if count > 1:
        raise ValidationFailed.field(
            "stock", f"The product has {count} variants: set each one's stock by its SKU."
        )
    warehouse = await levels.default_warehouse(uow.session)
    level = await levels.level_for_entity(
        uow, entity_id=str(entity.id), variant_id=None, warehouse_id=str(warehouse.id)
    )
    await levels.set_level(uow, actor, sku=level.sku, quantity=quantity, level=level)
