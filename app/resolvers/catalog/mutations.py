"""Catalog mutations: each checks its permission, calls one service, returns the result."""

from __future__ import annotations

from typing import Any

import strawberry
from strawberry import UNSET, Info

from app.models.catalog import ENTITY_STATUSES, ENTITY_TYPES, CatalogEntity
from app.resolvers.catalog.types import (
    BrandType,
    CatalogEntityType,
    CategoryType,
    LocalizedAttributesType,
    OptionTypeType,
    OptionValueType,
    VariantType,
    build_entities,
)
from app.resolvers.permissions import requires
from app.resolvers.scalars import JSON
from app.resolvers.selection import Selected
from app.services.catalog import attributes as attribute_service
from app.services.catalog import entities as entity_service
from app.services.catalog import loading, taxonomy
from app.services.catalog import products as product_service
from app.services.catalog import variants as variant_service
from app.services.catalog.attributes import Localized
from app.services.catalog.rules import SLUG

CREATE, UPDATE, DELETE = "catalog:create", "catalog:update", "catalog:delete"


async def entity_result(info: Info, row: CatalogEntity) -> CatalogEntityType:
    """The changed entity, with what the mutation's selection asks for, as committed."""
    async with info.context.read() as session:
        [entity] = await build_entities(info.context, session, [row], Selected.of(info))
    return entity


def _given(**values: Any) -> dict[str, Any]:
    """Only the arguments the caller gave (UNSET ones are left alone)."""
    return {name: value for name, value in values.items() if value is not UNSET}


SLUG_SCHEMA = {"jsonschema": {"pattern": SLUG.pattern, "maxLength": 200}}
TYPE_SCHEMA = {"jsonschema": {"enum": list(ENTITY_TYPES)}}
STATUS_SCHEMA = {"jsonschema": {"enum": list(ENTITY_STATUSES)}}
NAME_SCHEMA = {"jsonschema": {"minLength": 1, "maxLength": 200, "pattern": r"\S"}}


@strawberry.input
class CreateCatalogEntityInput:
    type: str = strawberry.field(
        description="product, digitalDownload, service, bundle, giftCard", metadata=TYPE_SCHEMA
    )
    slug: str = strawberry.field(metadata=SLUG_SCHEMA)
    status: str = strawberry.field(default="draft", metadata=STATUS_SCHEMA)
    metadata: JSON | None = None
    allow_backorder: bool = strawberry.field(
        default=False, description="Whether stock may be sold below zero."
    )


@strawberry.input
class UpdateCatalogEntityInput:
    id: strawberry.ID
    type: str | None = strawberry.field(default=UNSET, metadata=TYPE_SCHEMA)
    slug: str | None = strawberry.field(default=UNSET, metadata=SLUG_SCHEMA)
    status: str | None = strawberry.field(default=UNSET, metadata=STATUS_SCHEMA)
    metadata: JSON | None = UNSET
    allow_backorder: bool | None = UNSET


@strawberry.input
class CatalogEntityIdInput:
    id: strawberry.ID


@strawberry.input
class SetCatalogAttributesInput:
    entity_id: strawberry.ID
    locale: str
    title: str | None = None
    description: str | None = None
    seo_title: str | None = None
    seo_description: str | None = None


@strawberry.input
class CreateCategoryInput:
    name: str = strawberry.field(metadata=NAME_SCHEMA)
    slug: str = strawberry.field(metadata=SLUG_SCHEMA)
    parent_id: strawberry.ID | None = None
    position: int = 0
    description: str | None = None


@strawberry.input
class UpdateCategoryInput:
    id: strawberry.ID
    name: str | None = UNSET
    slug: str | None = UNSET
    parent_id: strawberry.ID | None = strawberry.field(
        default=UNSET, description="null makes the category a root."
    )
    position: int | None = UNSET
    description: str | None = UNSET


@strawberry.input
class IdInput:
    id: strawberry.ID


@strawberry.input
class CreateBrandInput:
    name: str = strawberry.field(metadata=NAME_SCHEMA)
    slug: str = strawberry.field(metadata=SLUG_SCHEMA)
    description: str | None = None


@strawberry.input
class UpdateBrandInput:
    id: strawberry.ID
    name: str | None = UNSET
    slug: str | None = UNSET
    description: str | None = UNSET


@strawberry.input
class EntityCategoryInput:
    entity_id: strawberry.ID
    category_id: strawberry.ID


@strawberry.input
class EntityBrandInput:
    entity_id: strawberry.ID
    brand_id: strawberry.ID


@strawberry.input
class CreateOptionTypeInput:
    entity_id: strawberry.ID
    name: str
    position: int | None = strawberry.field(default=None, description="Default: after the last.")
    values: list[str] = strawberry.field(default_factory=list)


@strawberry.input
class CreateOptionValueInput:
    option_type_id: strawberry.ID
    value: str
    position: int | None = None


@strawberry.input
class CreateVariantInput:
    entity_id: strawberry.ID
    sku: str
    option_value_ids: list[strawberry.ID] = strawberry.field(default_factory=list)
    metadata: JSON | None = None


@strawberry.input
class GenerateVariantsInput:
    entity_id: strawberry.ID
    sku_prefix: str | None = None


@strawberry.type
class GenerateVariantsResult:
    created: list[VariantType]
    created_count: int
    existing_count: int
    total_count: int


PRICE_DESCRIPTION = (
    "The base price in minor units of `currency` (4999 for 49.99 USD): created, or replaced "
    "where the product has one in that currency. Needs pricing:create to create, "
    "pricing:update to replace."
)
CURRENCY_DESCRIPTION = "The price's ISO 4217 code (default: the store's currency)."
STOCK_DESCRIPTION = (
    "Units on hand in the default warehouse (needs inventory:update); a product with several "
    "variants has each variant's stock, set by SKU instead."
)


@strawberry.input
class CreateProductInput:
    name: str
    description: str | None = None
    sku: str | None = None
    status: str = "draft"
    price: int | None = strawberry.field(default=None, description=PRICE_DESCRIPTION)
    currency: str | None = strawberry.field(default=None, description=CURRENCY_DESCRIPTION)
    stock: int | None = strawberry.field(default=None, description=STOCK_DESCRIPTION)


@strawberry.input
class UpdateProductInput:
    id: strawberry.ID
    name: str | None = None
    description: str | None = None
    sku: str | None = None
    status: str | None = None
    price: int | None = strawberry.field(default=None, description=PRICE_DESCRIPTION)
    currency: str | None = strawberry.field(default=None, description=CURRENCY_DESCRIPTION)
    stock: int | None = strawberry.field(default=None, description=STOCK_DESCRIPTION)


@strawberry.type
class CatalogMutations:
    @strawberry.mutation(permission_classes=[requires(CREATE)])
    async def create_catalog_entity(
        self, info: Info, input: CreateCatalogEntityInput
    ) -> CatalogEntityType:
        async with info.context.command() as uow:
            row = await entity_service.create_entity(
                uow,
                info.context.actor,
                type=input.type,
                slug=input.slug,
                status=input.status,
                metadata=input.metadata,
                allow_backorder=input.allow_backorder,
            )
        return await entity_result(info, row)

    @strawberry.mutation(permission_classes=[requires(UPDATE)])
    async def update_catalog_entity(
        self, info: Info, input: UpdateCatalogEntityInput
    ) -> CatalogEntityType:
        async with info.context.command() as uow:
            row = await entity_service.update_entity(
                uow,
                info.context.actor,
                id=input.id,
                **{
                    k: v
                    for k, v in _given(
                        type=input.type,
                        slug=input.slug,
                        status=input.status,
                        metadata=input.metadata,
                        allow_backorder=input.allow_backorder,
                    ).items()
                    if v is not None
                },
            )
        return await entity_result(info, row)

    @strawberry.mutation(permission_classes=[requires(UPDATE)])
    async def publish_catalog_entity(
        self, info: Info, input: CatalogEntityIdInput
    ) -> CatalogEntityType:
        return await _transition(info, input.id, "publish")

    @strawberry.mutation(permission_classes=[requires(UPDATE)])
    async def archive_catalog_entity(
        self, info: Info, input: CatalogEntityIdInput
    ) -> CatalogEntityType:
        return await _transition(info, input.id, "archive")

    @strawberry.mutation(permission_classes=[requires(UPDATE)])
    async def discontinue_catalog_entity(
        self, info: Info, input: CatalogEntityIdInput
    ) -> CatalogEntityType:
        return await _transition(info, input.id, "discontinue")

    @strawberry.mutation(
        permission_classes=[requires(DELETE)],
        description="Deletes the entity and returns it as it was.",
    )
    async def delete_catalog_entity(
        self, info: Info, input: CatalogEntityIdInput
    ) -> CatalogEntityType:
        context = info.context
        async with context.command() as uow:
            row = await entity_service.get_entity_by_id(uow, context.actor, input.id)
            [entity] = await build_entities(info.context, uow.session, [row], Selected.of(info))
            await entity_service.delete_entity(uow, context.actor, id=input.id)
        return entity

    @strawberry.mutation(permission_classes=[requires(UPDATE)])
    async def set_catalog_attributes(
        self, info: Info, input: SetCatalogAttributesInput
    ) -> LocalizedAttributesType:
        async with info.context.command() as uow:
            row = await attribute_service.set_attributes(
                uow,
                info.context.actor,
                entity_id=input.entity_id,
                locale=input.locale,
                title=input.title,
                description=input.description,
                seo_title=input.seo_title,
                seo_description=input.seo_description,
            )
        return LocalizedAttributesType.from_localized(
            Localized(
                entity_id=row.entity_id,
                locale=row.locale,
                title=row.title,
                description=row.description,
                seo_title=row.seo_title,
                seo_description=row.seo_description,
            )
        )

    @strawberry.mutation(permission_classes=[requires(CREATE)])
    async def create_category(self, info: Info, input: CreateCategoryInput) -> CategoryType:
        async with info.context.command() as uow:
            row = await taxonomy.create_category(
                uow,
                info.context.actor,
                name=input.name,
                slug=input.slug,
                parent_id=input.parent_id,
                position=input.position,
                description=input.description,
            )
        return CategoryType.from_row(row)

    @strawberry.mutation(permission_classes=[requires(UPDATE)])
    async def update_category(self, info: Info, input: UpdateCategoryInput) -> CategoryType:
        given = _given(
            name=input.name,
            slug=input.slug,
            position=input.position,
            parent_id=input.parent_id,
            description=input.description,
        )
        for name in ("name", "slug", "position"):
            if given.get(name, "") is None:
                given.pop(name)
        async with info.context.command() as uow:
            row = await taxonomy.update_category(uow, info.context.actor, id=input.id, **given)
        return CategoryType.from_row(row)

    @strawberry.mutation(permission_classes=[requires(DELETE)])
    async def delete_category(self, info: Info, input: IdInput) -> CategoryType:
        async with info.context.command() as uow:
            row = await taxonomy.delete_category(uow, info.context.actor, id=input.id)
        return CategoryType.from_row(row)

    @strawberry.mutation(permission_classes=[requires(CREATE)])
    async def create_brand(self, info: Info, input: CreateBrandInput) -> BrandType:
        async with info.context.command() as uow:
            row = await taxonomy.create_brand(
                uow,
                info.context.actor,
                name=input.name,
                slug=input.slug,
                description=input.description,
            )
        return BrandType.from_row(row)

    @strawberry.mutation(permission_classes=[requires(UPDATE)])
    async def update_brand(self, info: Info, input: UpdateBrandInput) -> BrandType:
        given = _given(name=input.name, slug=input.slug, description=input.description)
        for name in ("name", "slug"):
            if given.get(name, "") is None:
                given.pop(name)
        async with info.context.command() as uow:
            row = await taxonomy.update_brand(uow, info.context.actor, id=input.id, **given)
        return BrandType.from_row(row)

    @strawberry.mutation(permission_classes=[requires(DELETE)])
    async def delete_brand(self, info: Info, input: IdInput) -> BrandType:
        async with info.context.command() as uow:
            row = await taxonomy.delete_brand(uow, info.context.actor, id=input.id)
        return BrandType.from_row(row)

    @strawberry.mutation(permission_classes=[requires(UPDATE)])
    async def add_entity_to_category(
        self, info: Info, input: EntityCategoryInput
    ) -> CatalogEntityType:
        return await _link(info, input.entity_id, "category", input.category_id, add=True)

    @strawberry.mutation(permission_classes=[requires(UPDATE)])
    async def remove_entity_from_category(
        self, info: Info, input: EntityCategoryInput
    ) -> CatalogEntityType:
        return await _link(info, input.entity_id, "category", input.category_id, add=False)

    @strawberry.mutation(permission_classes=[requires(UPDATE)])
    async def add_entity_to_brand(self, info: Info, input: EntityBrandInput) -> CatalogEntityType:
        return await _link(info, input.entity_id, "brand", input.brand_id, add=True)

    @strawberry.mutation(permission_classes=[requires(UPDATE)])
    async def remove_entity_from_brand(
        self, info: Info, input: EntityBrandInput
    ) -> CatalogEntityType:
        return await _link(info, input.entity_id, "brand", input.brand_id, add=False)

    @strawberry.mutation(permission_classes=[requires(UPDATE)])
    async def create_option_type(self, info: Info, input: CreateOptionTypeInput) -> OptionTypeType:
        async with info.context.command() as uow:
            row, values = await variant_service.create_option_type(
                uow,
                info.context.actor,
                entity_id=input.entity_id,
                name=input.name,
                position=input.position,
                values=input.values,
            )
        return OptionTypeType.from_row(row, values)

    @strawberry.mutation(permission_classes=[requires(UPDATE)])
    async def create_option_value(
        self, info: Info, input: CreateOptionValueInput
    ) -> OptionValueType:
        async with info.context.command() as uow:
            row = await variant_service.create_option_value(
                uow,
                info.context.actor,
                option_type_id=input.option_type_id,
                value=input.value,
                position=input.position,
            )
        return OptionValueType.from_row(row)

    @strawberry.mutation(permission_classes=[requires(UPDATE)])
    async def create_variant(self, info: Info, input: CreateVariantInput) -> VariantType:
        async with info.context.command() as uow:
            row = await variant_service.create_variant(
                uow,
                info.context.actor,
                entity_id=input.entity_id,
                sku=input.sku,
                option_value_ids=[str(v) for v in input.option_value_ids],
                metadata=input.metadata,
            )
            values = await loading.variant_values(uow.session, [row.id])
        return VariantType.from_row(row, values.get(row.id, []))

    @strawberry.mutation(
        permission_classes=[requires(UPDATE)],
        description="Create the variants of every option combination that has none yet.",
    )
    async def generate_variants(
        self, info: Info, input: GenerateVariantsInput
    ) -> GenerateVariantsResult:
        async with info.context.command() as uow:
            created, existing, total = await variant_service.generate_variants(
                uow, info.context.actor, entity_id=input.entity_id, sku_prefix=input.sku_prefix
            )
            values = await loading.variant_values(uow.session, [v.id for v in created])
        return GenerateVariantsResult(
            created=[VariantType.from_row(v, values.get(v.id, [])) for v in created],
            created_count=len(created),
            existing_count=existing,
            total_count=total,
        )

    @strawberry.mutation(permission_classes=[requires(CREATE)])
    async def create_product(self, info: Info, input: CreateProductInput) -> CatalogEntityType:
        async with info.context.command() as uow:
            row = await product_service.create_product(
                uow,
                info.context.actor,
                name=input.name,
                description=input.description,
                sku=input.sku,
                status=input.status,
                price=input.price,
                currency=_price_currency(info, input.price, input.currency),
                stock=input.stock,
            )
        return await entity_result(info, row)

    @strawberry.mutation(permission_classes=[requires(UPDATE)])
    async def update_product(self, info: Info, input: UpdateProductInput) -> CatalogEntityType:
        async with info.context.command() as uow:
            row = await product_service.update_product(
                uow,
                info.context.actor,
                id=input.id,
                name=input.name,
                description=input.description,
                sku=input.sku,
                status=input.status,
                price=input.price,
                currency=_price_currency(info, input.price, input.currency),
                stock=input.stock,
            )
        return await entity_result(info, row)


def _price_currency(info: Info, price: int | None, currency: str | None) -> str | None:
    """A price without a currency is in the store's."""
    return info.context.default_currency if price is not None and currency is None else currency


async def _transition(info: Info, id: str, action: str) -> CatalogEntityType:
    async with info.context.command() as uow:
        row = await entity_service.transition(uow, info.context.actor, id=id, action=action)
    return await entity_result(info, row)


async def _link(
    info: Info, entity_id: str, kind: str, target_id: str, *, add: bool
) -> CatalogEntityType:
    context = info.context
    async with context.command() as uow:
        row = await taxonomy.link(
            uow, context.actor, entity_id=entity_id, kind=kind, target_id=target_id, add=add
        )
    return await entity_result(info, row)
