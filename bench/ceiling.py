"""The ceiling: the storefront listing as a hand-written Starlette endpoint over plain SQL.

No GraphQL, no middleware: a page of active entities (newest first) and its count (read from
`catalog_entity_counts`, as the API reads it), then one statement per relation on the page's
ids, built into the same JSON as the GraphQL answer to `bench.run.STOREFRONT_QUERY`. It
measures what one uvicorn worker can serve at best, so the GraphQL path has a number to be
compared with. `GET /storefront?offers=1` adds each variant's price (the public USD price of
one unit) and its units available across warehouses, two statements more: the listing of
`bench.suite`'s scenario (a).

    DATABASE_URL=postgresql+psycopg://... uvicorn bench.ceiling:create_app --factory
"""

from __future__ import annotations

import contextlib
import os
import uuid
from collections import defaultdict
from collections.abc import AsyncIterator, Sequence
from typing import Any

import orjson
from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncConnection
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from app.db import Database
from app.models.base import utcnow
from app.models.catalog import (
    Brand,
    CatalogAttributes,
    CatalogEntity,
    CatalogEntityCount,
    Category,
    OptionType,
    OptionValue,
    Variant,
    entity_brands,
    entity_categories,
    variant_option_values,
)
from app.models.inventory import InventoryLevel, Warehouse
from app.models.pricing import Price
from app.resolvers.enums import EntityType

PAGE_SIZE = 20
LOCALE = "en"
# GraphQL answers an entity's type by its enum name (PRODUCT), the database holds its value.
TYPE_NAMES = {member.value: member.name for member in EntityType}
CURRENCY = "USD"


async def storefront(connection: AsyncConnection, *, offers: bool = False) -> dict[str, Any]:
    """The listing's data: six statements whatever the page holds (eight with `offers`)."""
    entities = (
        await connection.execute(
            select(CatalogEntity.id, CatalogEntity.slug, CatalogEntity.type)
            .where(CatalogEntity.status == "active")
            .order_by(CatalogEntity.id.desc())
            .limit(PAGE_SIZE)
        )
    ).all()
    # The total from the maintained counts, as the API reads it (migration 0025).
    total = (
        await connection.execute(
            select(func.coalesce(func.sum(CatalogEntityCount.entities), 0)).where(
                CatalogEntityCount.status == "active"
            )
        )
    ).scalar_one()
    ids = [row.id for row in entities]
    attributes, variants, categories, brands = (
        await _attributes(connection, ids),
        await _variants(connection, ids),
        await _categories(connection, ids),
        await _brands(connection, ids),
    )
    if offers:
        await _offers(connection, [v for vs in variants.values() for v in vs])
    items = [
        {
            "id": str(row.id),
            "slug": row.slug,
            "type": TYPE_NAMES[row.type],
            "attributes": attributes.get(row.id),
            "variants": variants.get(row.id, []),
            "categories": categories.get(row.id, []),
            "brands": brands.get(row.id, []),
        }
        for row in entities
    ]
    return {"data": {"catalogEntities": {"totalCount": total, "items": items}}}


async def _attributes(
    connection: AsyncConnection, ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, dict[str, Any]]:
    rows = await connection.execute(
        select(CatalogAttributes.entity_id, CatalogAttributes.title, CatalogAttributes.description)
        .where(CatalogAttributes.entity_id.in_(ids))
        .where(CatalogAttributes.locale == LOCALE)
    )
    return {row.entity_id: {"title": row.title, "description": row.description} for row in rows}


async def _variants(
    connection: AsyncConnection, ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, list[dict[str, Any]]]:
    """Variants and their option values in one statement (a variant without values, too)."""
    rows = await connection.execute(
        select(Variant.entity_id, Variant.id, Variant.sku, OptionValue.value)
        .outerjoin(variant_option_values, variant_option_values.c.variant_id == Variant.id)
        .outerjoin(OptionValue, OptionValue.id == variant_option_values.c.option_value_id)
        .outerjoin(OptionType, OptionType.id == OptionValue.option_type_id)
        .where(Variant.entity_id.in_(ids))
        .order_by(Variant.sku, OptionType.position, OptionValue.position)
    )
    result: dict[uuid.UUID, list[dict[str, Any]]] = defaultdict(list)
    current: dict[str, Any] | None = None
    for row in rows:
        if current is None or current["id"] != str(row.id):
            current = {"id": str(row.id), "sku": row.sku, "optionValues": []}
            result[row.entity_id].append(current)
        if row.value is not None:
            current["optionValues"].append({"value": row.value})
    return result


async def _offers(connection: AsyncConnection, variants: list[dict[str, Any]]) -> None:
    """Each variant's `price` (its public USD price for one unit: no group, the highest
    quantity tier up to 1, the newest row) and `available` (null when it has no level)."""
    ids = [uuid.UUID(variant["id"]) for variant in variants]
    now = utcnow()
    prices = await connection.execute(
        select(Price.variant_id, Price.amount, Price.currency)
        .distinct(Price.variant_id)
        .where(Price.variant_id.in_(ids), Price.currency == CURRENCY)
        .where(Price.customer_group_id.is_(None), Price.min_quantity <= 1)
        .where(or_(Price.valid_from.is_(None), Price.valid_from <= now))
        .where(or_(Price.valid_until.is_(None), Price.valid_until > now))
        .order_by(Price.variant_id, Price.min_quantity.desc(), Price.created_at.desc())
    )
    price = {row.variant_id: {"amount": row.amount, "currency": row.currency} for row in prices}
    stock = await connection.execute(
        select(
            InventoryLevel.variant_id,
            func.sum(InventoryLevel.quantity - InventoryLevel.reserved_quantity),
        )
        .join(Warehouse, Warehouse.id == InventoryLevel.warehouse_id)
        .where(InventoryLevel.variant_id.in_(ids), Warehouse.active.is_not(False))
        .group_by(InventoryLevel.variant_id)
    )
    available = {row[0]: int(row[1]) for row in stock}
    for variant, id in zip(variants, ids, strict=True):
        variant["price"] = price.get(id)
        variant["available"] = available.get(id)


async def _categories(
    connection: AsyncConnection, ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, list[dict[str, Any]]]:
    rows = await connection.execute(
        select(entity_categories.c.entity_id, Category.id, Category.name, Category.slug)
        .join(Category, Category.id == entity_categories.c.category_id)
        .where(entity_categories.c.entity_id.in_(ids))
        .order_by(Category.position, Category.name)
    )
    result: dict[uuid.UUID, list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        result[row.entity_id].append({"id": str(row.id), "name": row.name, "slug": row.slug})
    return result


async def _brands(
    connection: AsyncConnection, ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, list[dict[str, Any]]]:
    rows = await connection.execute(
        select(entity_brands.c.entity_id, Brand.id, Brand.name, Brand.slug)
        .join(Brand, Brand.id == entity_brands.c.brand_id)
        .where(entity_brands.c.entity_id.in_(ids))
        .order_by(Brand.name)
    )
    result: dict[uuid.UUID, list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        result[row.entity_id].append({"id": str(row.id), "name": row.name, "slug": row.slug})
    return result


def create_app(database_url: str | None = None) -> Starlette:
    """The ceiling app on `database_url` (default: the DATABASE_URL environment variable).

    Its engine is the application's (`app.db.Database`, same pool), so the comparison differs
    only in what sits between the socket and the SQL.
    """
    database = Database(database_url or os.environ["DATABASE_URL"])

    async def listing(request: Request) -> Response:
        offers = request.query_params.get("offers") == "1"
        async with database.engine.connect() as connection:
            body = await storefront(connection, offers=offers)
        return Response(orjson.dumps(body), media_type="application/json")

    async def health(request: Request) -> Response:
        return Response(b'{"status":"ok"}', media_type="application/json")

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        yield
        await database.dispose()

    return Starlette(
        routes=[
            Route("/storefront", listing, methods=["GET"]),
            Route("/health", health, methods=["GET"]),
        ],
        lifespan=lifespan,
    )
