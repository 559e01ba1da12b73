"""Options and variants: option types and values per entity, variants, and the generator."""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.actor import Actor
from app.db import UnitOfWork
from app.errors import Conflict, NotFound, ValidationFailed
from app.ids import parse_uuid
from app.models.catalog import OptionType, OptionValue, Variant, variant_option_values
from app.models.inventory import InventoryLevel
from app.services.catalog.entities import get_entity_by_id, touch
from app.services.catalog.rules import SKU, Problems, check_metadata, check_name

MAX_COMBINATIONS = 1000


def option_key(value_ids: list[uuid.UUID]) -> str:
    return ",".join(sorted(str(v) for v in value_ids))


async def create_option_type(
    uow: UnitOfWork,
    actor: Actor,
    *,
    entity_id: str,
    name: str,
    position: int | None = None,
    values: list[str] | None = None,
) -> tuple[OptionType, list[OptionValue]]:
    """An option type (Size) with its first values (S, M, L); a name in use is a CONFLICT."""
    problems = Problems()
    name = check_name(problems, name, limit=100)
    cleaned = [
        check_name(problems, v, f"values.{i}", limit=100) for i, v in enumerate(values or [])
    ]
    if len(set(cleaned)) != len(cleaned):
        problems.add("values", "Values must be distinct.")
    problems.raise_if_any()
    entity = await get_entity_by_id(uow, actor, entity_id)
    names = list(
        (
            await uow.session.scalars(
                select(OptionType.name).where(OptionType.entity_id == entity.id)
            )
        ).all()
    )
    if name in names:
        raise Conflict(f"The entity has an option type named {name}.")
    option_type = OptionType(
        entity_id=entity.id, name=name, position=len(names) if position is None else position
    )
    uow.session.add(option_type)
    await uow.session.flush()
    created = [
        OptionValue(option_type_id=option_type.id, value=value, position=i)
        for i, value in enumerate(cleaned)
    ]
    uow.session.add_all(created)
    await touch(
        uow,
        actor,
        entity,
        part="options",
        before=None,
        after={"name": name, "values": cleaned, "id": str(option_type.id)},
    )
    return option_type, created


async def create_option_value(
    uow: UnitOfWork, actor: Actor, *, option_type_id: str, value: str, position: int | None = None
) -> OptionValue:
    problems = Problems()
    value = check_name(problems, value, "value", limit=100)
    problems.raise_if_any()
    parsed = parse_uuid(option_type_id)
    option_type = await uow.session.get(OptionType, parsed) if parsed else None
    if option_type is None:
        raise NotFound("Option type not found.")
    entity = await get_entity_by_id(uow, actor, str(option_type.entity_id))
    existing = list(
        (
            await uow.session.scalars(
                select(OptionValue).where(OptionValue.option_type_id == option_type.id)
            )
        ).all()
    )
    if any(v.value == value for v in existing):
        raise Conflict(f"The option type {option_type.name} has a value {value}.")
    option_value = OptionValue(
        option_type_id=option_type.id,
        value=value,
        position=position if position is not None else len(existing),
    )
    uow.session.add(option_value)
    await touch(
        uow,
        actor,
        entity,
        part=f"options.{option_type.name}",
        before=None,
        after={"value": value},
    )
    return option_value


async def _option_matrix(
    session: AsyncSession, entity_id: uuid.UUID
) -> list[tuple[OptionType, list[OptionValue]]]:
    types = list(
        (
            await session.scalars(
                select(OptionType)
                .where(OptionType.entity_id == entity_id)
                .order_by(OptionType.position, OptionType.id)
            )
        ).all()
    )
    values = (
        await session.scalars(
            select(OptionValue)
            .where(OptionValue.option_type_id.in_([t.id for t in types]))
            .order_by(OptionValue.position, OptionValue.id)
        )
    ).all()
    return [(t, [v for v in values if v.option_type_id == t.id]) for t in types]


async def _sku_taken(session: AsyncSession, sku: str) -> bool:
    return await session.scalar(select(Variant.id).where(Variant.sku == sku)) is not None


async def _insert_variant(
    session: AsyncSession,
    *,
    entity_id: uuid.UUID,
    sku: str,
    values: list[OptionValue],
    metadata: dict[str, Any],
) -> Variant:
    variant = Variant(
        entity_id=entity_id, sku=sku, option_key=option_key([v.id for v in values]), meta=metadata
    )
    session.add(variant)
    await session.flush()
    if values:
        await session.execute(
            insert(variant_option_values),
            [{"variant_id": variant.id, "option_value_id": v.id} for v in values],
        )
    return variant


async def create_variant(
    uow: UnitOfWork,
    actor: Actor,
    *,
    entity_id: str,
    sku: str,
    option_value_ids: list[str] | None = None,
    metadata: object | None = None,
) -> Variant:
    """One variant: exactly one value of each of the entity's option types (none if it has
    none). A SKU in use, or a combination that exists, is a CONFLICT."""
    problems = Problems()
    if not SKU.match(sku):
        problems.add(
            "sku", "1 to 100 letters, digits and . _ - /, starting with a letter or digit."
        )
    meta = check_metadata(problems, metadata if metadata is not None else {})
    wanted = [parse_uuid(v) for v in option_value_ids or []]
    if any(v is None for v in wanted):
        problems.add("optionValueIds", "Must be option value ids.")
    problems.raise_if_any()
    entity = await get_entity_by_id(uow, actor, entity_id)
    matrix = await _option_matrix(uow.session, entity.id)
    by_id = {v.id: (t, v) for t, values in matrix for v in values}
    chosen = [by_id[v] for v in wanted if v in by_id]
    if len(chosen) != len(wanted):
        raise ValidationFailed.field("optionValueIds", "Not values of this entity's options.")
    if sorted(t.name for t, _ in chosen) != sorted(t.name for t, _ in matrix):
        raise ValidationFailed.field(
            "optionValueIds",
            "Give one value of each option type: " + ", ".join(t.name for t, _ in matrix) + "."
            if matrix
            else "This entity has no option types; give no option values.",
        )
    if await _sku_taken(uow.session, sku):
        raise Conflict(f"The SKU {sku} is in use.", details={"sku": "Already in use."})
    values = [v for _, v in chosen]
    key = option_key([v.id for v in values])
    duplicate = await uow.session.scalar(
        select(Variant.sku).where(Variant.entity_id == entity.id, Variant.option_key == key)
    )
    if duplicate is not None:
        raise Conflict(f"The variant {duplicate} has these option values already.")
    variant = await _insert_variant(
        uow.session, entity_id=entity.id, sku=sku, values=values, metadata=meta
    )
    await touch(
        uow,
        actor,
        entity,
        part="variants",
        before=None,
        after={"id": str(variant.id), "sku": sku, "optionValues": [v.value for v in values]},
    )
    return variant


async def rename_variant(uow: UnitOfWork, actor: Actor, *, variant: Variant, sku: str) -> Variant:
    """Give a variant another SKU; one in use is a CONFLICT. Its stock levels, which the
    inventory API finds by SKU, follow it (levels already kept under the new SKU, say a
    product's slug, make it a CONFLICT too)."""
    if not SKU.match(sku):
        raise ValidationFailed.field("sku", "Letters, digits and . _ - / only.")
    if await _sku_taken(uow.session, sku) or await uow.session.scalar(
        select(InventoryLevel.id).where(InventoryLevel.sku == sku).limit(1)
    ):
        raise Conflict(f"The SKU {sku} is in use.", details={"sku": "Already in use."})
    entity = await get_entity_by_id(uow, actor, str(variant.entity_id))
    before = variant.sku
    variant.sku = sku
    await uow.session.execute(
        update(InventoryLevel).where(InventoryLevel.variant_id == variant.id).values(sku=sku)
    )
    await touch(uow, actor, entity, part="variants", before={"sku": before}, after={"sku": sku})
    return variant


async def generate_variants(
    uow: UnitOfWork, actor: Actor, *, entity_id: str, sku_prefix: str | None = None
) -> tuple[list[Variant], int, int]:
    """Create the variants of every combination of option values that has none yet.

    Returns (created, existing, total combinations). Safe to call again: what exists stays.
    """
    entity = await get_entity_by_id(uow, actor, entity_id)
    matrix = await _option_matrix(uow.session, entity.id)
    if not matrix:
        raise ValidationFailed.field("options", "The entity has no option types to combine.")
    empty = [t.name for t, values in matrix if not values]
    if empty:
        raise ValidationFailed.field("options", f"Option types without values: {', '.join(empty)}.")
    combinations = list(itertools.product(*(values for _, values in matrix)))
    if len(combinations) > MAX_COMBINATIONS:
        raise ValidationFailed.field(
            "options", f"{len(combinations)} combinations; at most {MAX_COMBINATIONS}."
        )
    prefix = (sku_prefix or entity.slug).upper()
    if sku_prefix is not None and not SKU.match(sku_prefix):
        raise ValidationFailed.field("skuPrefix", "Letters, digits and . _ - / only.")
    existing_keys = set(
        (
            await uow.session.scalars(
                select(Variant.option_key).where(Variant.entity_id == entity.id)
            )
        ).all()
    )
    created: list[Variant] = []
    for combination in combinations:
        values = list(combination)
        if option_key([v.id for v in values]) in existing_keys:
            continue
        sku = await _free_sku(uow.session, _sku_for(prefix, values))
        created.append(
            await _insert_variant(
                uow.session, entity_id=entity.id, sku=sku, values=values, metadata={}
            )
        )
    if created:
        await touch(
            uow,
            actor,
            entity,
            part="variants",
            before=None,
            after={"generated": [v.sku for v in created]},
        )
    return created, len(combinations) - len(created), len(combinations)


def _sku_for(prefix: str, values: list[OptionValue]) -> str:
    parts = [prefix, *("".join(c for c in v.value.upper() if c.isalnum()) or "X" for v in values)]
    return "-".join(parts)[:90]


async def _free_sku(session: AsyncSession, sku: str) -> str:
    """`sku`, or `sku-2`, `sku-3`... when it is taken by another entity's variant."""
    taken = set(
        (
            await session.scalars(
                select(Variant.sku).where((Variant.sku == sku) | Variant.sku.like(f"{sku}-%"))
            )
        ).all()
    )
    if sku not in taken:
        return sku
    return next(f"{sku}-{n}" for n in itertools.count(2) if f"{sku}-{n}" not in taken)


# An order item as a client names it: (entity id, variant id, SKU, quantity), any of the
# first three left out.
NamedItem = tuple[str | None, str | None, str | None, int]


async def order_items(
    session: AsyncSession, items: Sequence[NamedItem]
) -> list[tuple[str, str | None, int]]:
    """Order items as checkout takes them, (entity, variant, quantity): a SKU or a variant id
    alone names its product, in one statement for the whole order. A SKU given beside an
    entity or variant id must name that entity's variant, that variant. What stays open (a
    product of several variants, none named) is checkout's to refuse. Errors name the item
    (`items.0.sku`)."""
    skus = {sku for _, _, sku, _ in items if sku is not None}
    ids = {parse_uuid(v) for e, v, sku, _ in items if e is None and sku is None and v is not None}
    ids.discard(None)
    rows = (
        (
            await session.execute(
                select(Variant.id, Variant.entity_id, Variant.sku).where(
                    or_(Variant.sku.in_(skus), Variant.id.in_(ids))
                )
            )
        ).all()
        if skus or ids
        else []
    )
    by_sku = {row.sku: row for row in rows}
    by_id = {row.id: row for row in rows}
    named = []
    for index, (entity_id, variant_id, sku, quantity) in enumerate(items):
        if sku is None and entity_id is not None:
            named.append((entity_id, variant_id, quantity))  # checkout checks the pair
            continue
        found = by_sku.get(sku) if sku is not None else by_id.get(parse_uuid(variant_id or ""))
        row = _check_named(f"items.{index}", entity_id, variant_id, sku, found)
        named.append((str(row.entity_id), str(row.id), quantity))
    return named


def _check_named(
    field: str, entity_id: str | None, variant_id: str | None, sku: str | None, found: Any
) -> Any:
    """The variant an item names by SKU (or by id alone), checked against the rest of it."""
    if sku is None and variant_id is None:
        raise ValidationFailed.field(
            f"{field}.entityId", "Name the product, its variant's id or its SKU."
        )
    if found is None:
        if sku is not None:
            raise NotFound(f"Unknown SKU {sku}.", details={f"{field}.sku": "Unknown."})
        raise NotFound("Variant not found.", details={f"{field}.variantId": "Unknown."})
    if sku is not None and variant_id is not None and parse_uuid(variant_id) != found.id:
        raise ValidationFailed.field(f"{field}.sku", "Names another variant than variantId.")
    if entity_id is not None and parse_uuid(entity_id) != found.entity_id:
        raise ValidationFailed.field(f"{field}.sku", "Not a SKU of this product.")
    return found
