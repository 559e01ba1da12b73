"""Batch reads of an entity list's relations: one statement per relation, whatever the
number of entities. List resolvers call these for the relations a query selects (DESIGN §8).

They read plain rows, not ORM objects: the rows have the models' attribute names, so the same
code reads either, and skipping identity-map bookkeeping halves the cost of a listing. Given
`only` (attribute names), they read those columns and the keys they group by, no more: the
GraphQL types answer straight from these rows (app.resolvers.rows)."""

from __future__ import annotations

import uuid
from collections import defaultdict, namedtuple
from collections.abc import Collection, Iterable, Sequence
from functools import cache, lru_cache
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Integer,
    Select,
    String,
    Table,
    bindparam,
    inspect,
    literal_column,
    null,
    select,
    type_coerce,
    union_all,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from app.models.base import Base
from app.models.catalog import (
    Brand,
    CatalogAttributes,
    Category,
    OptionType,
    OptionValue,
    Variant,
    entity_brands,
    entity_categories,
    variant_option_values,
)

Ids = Sequence[uuid.UUID]
# Statements of a listing's relations are built once per shape (the columns a query selects)
# and bound per call: building one and computing its cache key cost more than running it.
# Shapes are bounded (subsets of a few columns); the caches are bounded all the same.
SHAPES = 256


def among_ids(column: Any) -> ColumnElement[bool]:
    """`column IN :ids`, the ids bound when the statement runs (`{"ids": [...]}`)."""
    condition: ColumnElement[bool] = column.in_(bindparam("ids", expanding=True))
    return condition


def shape(only: Collection[str] | None) -> frozenset[str] | None:
    """`only` as a key of the statement caches."""
    return None if only is None else frozenset(only)


def columns(
    model: type[Base], only: Collection[str] | None = None
) -> list[InstrumentedAttribute[Any]]:
    """Every mapped column of `model` (or those named in `only`), selected under its
    attribute name (`meta`)."""
    return [
        getattr(model, attribute.key)
        for attribute in inspect(model).column_attrs
        if only is None or attribute.key in only
    ]


def _group(pairs: Iterable[tuple[uuid.UUID, Any]]) -> dict[uuid.UUID, list[Any]]:
    """Values per entity. Typed Any: most are result rows standing in for the model whose
    attribute names they carry (the callers' return types name that model)."""
    grouped: dict[uuid.UUID, list[Any]] = defaultdict(list)
    for key, value in pairs:
        grouped[key].append(value)
    return grouped


async def attributes(
    session: AsyncSession, ids: Ids, locales: Iterable[str]
) -> dict[uuid.UUID, list[CatalogAttributes]]:
    rows = await session.execute(_attributes(), {"ids": ids, "locales": sorted(set(locales))})
    return _group((row.entity_id, row) for row in rows)


@cache
def _attributes() -> Select[Any]:
    return select(*columns(CatalogAttributes)).where(
        among_ids(CatalogAttributes.entity_id),
        CatalogAttributes.locale.in_(bindparam("locales", expanding=True)),
    )


async def variants(
    session: AsyncSession, ids: Ids, only: Collection[str] | None = None
) -> dict[uuid.UUID, list[Any]]:
    """Each entity's variants, by SKU; with `only`, those columns and the id and entity id."""
    wanted = None if only is None else {"id", "entity_id", *only}
    rows = await session.execute(
        select(*columns(Variant, wanted)).where(Variant.entity_id.in_(ids)).order_by(Variant.sku)
    )
    return _group((row.entity_id, row) for row in rows)


# An option value as a variant carries it, under the names of GraphQL's OptionValue: its
# option type's name comes along.
CHOSEN_VALUE = {
    "id": OptionValue.id,
    "value": OptionValue.value,
    "position": OptionValue.position,
    "option_type_id": OptionValue.option_type_id,
    "option_type": OptionType.name,
}


async def variant_values(
    session: AsyncSession, variant_ids: Ids, only: Collection[str] | None = None
) -> dict[uuid.UUID, list[Any]]:
    """Each variant's option values (rows with CHOSEN_VALUE's names, or those in `only`), by
    their option type's position."""
    chosen = [
        column.label(name) for name, column in CHOSEN_VALUE.items() if only is None or name in only
    ]
    rows = await session.execute(
        select(variant_option_values.c.variant_id.label("chosen_by_variant_id"), *chosen)
        .join(OptionValue, OptionValue.id == variant_option_values.c.option_value_id)
        .join(OptionType, OptionType.id == OptionValue.option_type_id)
        .where(variant_option_values.c.variant_id.in_(variant_ids))
        .order_by(OptionType.position, OptionType.name)
    )
    return _group((row.chosen_by_variant_id, row) for row in rows)


@cache
def _chosen_value(names: tuple[str, ...]) -> Any:
    """A named tuple with these CHOSEN_VALUE names: an option value read off a joined row."""
    return namedtuple("ChosenValue", names)


async def variants_with_values(
    session: AsyncSession,
    ids: Ids,
    only: Collection[str] | None = None,
    values_only: Collection[str] | None = None,
) -> tuple[dict[uuid.UUID, list[Any]], dict[uuid.UUID, list[Any]]]:
    """`variants` and their `variant_values` in one statement: the variants LEFT JOINed to
    their option values (a variant's columns repeat once per value: a few, on a listing)."""
    wanted = None if only is None else frozenset({"id", "entity_id", *only})
    names = tuple(name for name in CHOSEN_VALUE if values_only is None or name in values_only)
    rows = await session.execute(_variants_with_values(wanted, names), {"ids": ids})
    chosen = _chosen_value(names)
    variants: dict[uuid.UUID, list[Any]] = defaultdict(list)
    values: dict[uuid.UUID, list[Any]] = defaultdict(list)
    for row in rows:
        if row.id not in values:
            variants[row.entity_id].append(row)
            values[row.id] = []
        if row.chosen_value_id is not None:
            mapping = row._mapping
            values[row.id].append(chosen(*(mapping[f"chosen_{name}"] for name in names)))
    return variants, values


@lru_cache(maxsize=SHAPES)
def _variants_with_values(wanted: frozenset[str] | None, names: tuple[str, ...]) -> Select[Any]:
    return (
        select(
            *columns(Variant, wanted),
            variant_option_values.c.option_value_id.label("chosen_value_id"),
            *(CHOSEN_VALUE[name].label(f"chosen_{name}") for name in names),
        )
        .outerjoin(variant_option_values, variant_option_values.c.variant_id == Variant.id)
        .outerjoin(OptionValue, OptionValue.id == variant_option_values.c.option_value_id)
        .outerjoin(OptionType, OptionType.id == OptionValue.option_type_id)
        .where(among_ids(Variant.entity_id))
        .order_by(Variant.sku, OptionType.position, OptionType.name)
    )


async def option_types(
    session: AsyncSession, ids: Ids
) -> dict[uuid.UUID, list[tuple[OptionType, list[OptionValue]]]]:
    """Each entity's option types with their values, in one statement."""
    rows = await session.execute(
        select(OptionType, OptionValue)
        .outerjoin(OptionValue, OptionValue.option_type_id == OptionType.id)
        .where(OptionType.entity_id.in_(ids))
        .order_by(OptionType.position, OptionType.id, OptionValue.position, OptionValue.id)
    )
    types: dict[uuid.UUID, tuple[OptionType, list[OptionValue]]] = {}
    for option_type, value in rows:
        _, values = types.setdefault(option_type.id, (option_type, []))
        if value is not None:
            values.append(value)
    return _group((t.entity_id, (t, values)) for t, values in types.values())


async def categories(
    session: AsyncSession, ids: Ids, only: Collection[str] | None = None
) -> dict[uuid.UUID, list[Category]]:
    rows = await session.execute(
        select(entity_categories.c.entity_id.label("link_entity_id"), *columns(Category, only))
        .join(Category, Category.id == entity_categories.c.category_id)
        .where(entity_categories.c.entity_id.in_(ids))
        .order_by(Category.position, Category.name)
    )
    return _group((row.link_entity_id, row) for row in rows)


async def brands(
    session: AsyncSession, ids: Ids, only: Collection[str] | None = None
) -> dict[uuid.UUID, list[Brand]]:
    rows = await session.execute(
        select(entity_brands.c.entity_id.label("link_entity_id"), *columns(Brand, only))
        .join(Brand, Brand.id == entity_brands.c.brand_id)
        .where(entity_brands.c.entity_id.in_(ids))
        .order_by(Brand.name)
    )
    return _group((row.link_entity_id, row) for row in rows)


@lru_cache(maxsize=SHAPES)
def _taxonomy(
    category_only: frozenset[str] | None, brand_only: frozenset[str] | None
) -> Select[Any]:
    names = sorted(
        {column.key for column in columns(Category, category_only)}
        | {column.key for column in columns(Brand, brand_only)}
    )
    union = union_all(
        _taxonomy_side(Category, entity_categories, "category", names, category_only),
        _taxonomy_side(Brand, entity_brands, "brand", names, brand_only),
    ).subquery()
    return select(union).order_by(union.c.kind.desc(), union.c.sort_position, union.c.sort_name)


def _taxonomy_side(
    model: type[Category] | type[Brand],
    link: Table,
    kind: str,
    names: list[str],
    only: Collection[str] | None,
) -> Select[Any]:
    """One side of `taxonomy`'s UNION ALL: `names` in a fixed order, NULL (typed as the
    column of that name, so values convert alike on either side) for those it does not read."""
    own = {column.key: column for column in columns(model, only)}
    typed = {column.key: column for column in (*columns(Brand), *columns(Category))}
    position = Category.position if model is Category else literal_column("0", Integer)
    return (
        select(
            link.c.entity_id.label("link_entity_id"),
            literal_column(f"'{kind}'", String).label("kind"),
            position.label("sort_position"),
            model.name.label("sort_name"),
            *(
                own[name].label(name)
                if name in own
                else type_coerce(null(), typed[name].type).label(name)
                for name in names
            ),
        )
        .join(model, model.id == link.c[f"{kind}_id"])
        .where(among_ids(link.c.entity_id))
    )


async def taxonomy(
    session: AsyncSession,
    ids: Ids,
    category_only: Collection[str] | None = None,
    brand_only: Collection[str] | None = None,
) -> tuple[dict[uuid.UUID, list[Category]], dict[uuid.UUID, list[Brand]]]:
    """`categories` and `brands` in one statement (a UNION ALL with a `kind` column), in the
    same orders: each entity's categories by position then name, its brands by name."""
    statement = _taxonomy(shape(category_only), shape(brand_only))
    rows = (await session.execute(statement, {"ids": ids})).all()
    return (
        _group((row.link_entity_id, row) for row in rows if row.kind == "category"),
        _group((row.link_entity_id, row) for row in rows if row.kind == "brand"),
    )
