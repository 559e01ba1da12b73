"""Catalog mutations: each checks its permission, calls one service, returns the result."""

from __future__ import annotations

from typing import Annotated, Any

import strawberry
from strawberry import UNSET, Info

from app.models.catalog import CatalogEntity
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
from app.resolvers.enums import EntityStatus, EntityType
from app.resolvers.permissions import requires, requires_or_vendor
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
NAME_SCHEMA = {"jsonschema": {"minLength": 1, "maxLength": 200, "pattern": r"\S"}}


@strawberry.input(description="A new catalog entity.")
class CreateCatalogEntityInput:
    type: EntityType = strawberry.field(description="What kind of thing it is.")
    slug: str = strawberry.field(
        description="Its unique URL name: lower-case words joined by hyphens.", metadata=SLUG_SCHEMA
    )
    status: EntityStatus = strawberry.field(
        description="Its status. Default: DRAFT.", default=EntityStatus.DRAFT
    )
    metadata: JSON | None = strawberry.field(
        default=None, description="Free-form data to store with it."
    )
    allow_backorder: bool = strawberry.field(
        default=False, description="Whether stock may be sold below zero."
    )
    vendor_id: strawberry.ID | None = strawberry.field(
        default=None,
        description="The marketplace vendor selling it (staff only; a vendor's user always "
        "creates its own vendor's). Default: the house's own.",
    )


@strawberry.input(description="Changes to a catalog entity; omitted fields stay as they are.")
class UpdateCatalogEntityInput:
    id: strawberry.ID = strawberry.field(description="The id of the entity to change.")
    type: EntityType | None = strawberry.field(
        description="The new type. Omit or null to leave as is.", default=UNSET
    )
    slug: str | None = strawberry.field(
        description="The new unique URL name. Omit or null to leave as is.",
        default=UNSET,
        metadata=SLUG_SCHEMA,
    )
    status: EntityStatus | None = strawberry.field(
        description="The new status; the change must be allowed. Omit or null to leave as is.",
        default=UNSET,
    )
    metadata: JSON | None = strawberry.field(
        default=UNSET, description="The new free-form data. Omit or null to leave as is."
    )
    allow_backorder: bool | None = strawberry.field(
        default=UNSET,
        description="Whether it can be sold when out of stock. Omit or null to leave as is.",
    )
    vendor_id: strawberry.ID | None = strawberry.field(
        default=UNSET,
        description="Hand it to this marketplace vendor (staff with catalog:update only). "
        "Omit or null to leave as is.",
    )


@strawberry.input(description="The catalog entity to act on.")
class CatalogEntityIdInput:
    id: strawberry.ID = strawberry.field(description="The entity's id.")


@strawberry.input(description="An entity's texts in one locale; they replace what that locale had.")
class SetCatalogAttributesInput:
    entity_id: strawberry.ID = strawberry.field(description="The id of the catalog entity.")
    locale: str = strawberry.field(description="The locale of the texts, e.g. en or de.")
    title: str | None = strawberry.field(
        default=None, description="The title, e.g. the product's name."
    )
    description: str | None = strawberry.field(default=None, description="The long description.")
    seo_title: str | None = strawberry.field(
        default=None, description="The title for search engines."
    )
    seo_description: str | None = strawberry.field(
        default=None, description="The description for search engines."
    )


@strawberry.input(description="A new category.")
class CreateCategoryInput:
    name: str = strawberry.field(
        description="The category's name, 1 to 200 characters.", metadata=NAME_SCHEMA
    )
    slug: str = strawberry.field(
        description="Its unique URL name: lower-case words joined by hyphens.", metadata=SLUG_SCHEMA
    )
    parent_id: strawberry.ID | None = strawberry.field(
        default=None, description="The id of the parent category. Default: none (a root)."
    )
    position: int = strawberry.field(
        default=0, description="Its place among its siblings: ascending. Default: 0."
    )
    description: str | None = strawberry.field(default=None, description="What the category holds.")


@strawberry.input(description="Changes to a category; omitted fields stay as they are.")
class UpdateCategoryInput:
    id: strawberry.ID = strawberry.field(description="The id of the category to change.")
    name: str | None = strawberry.field(
        default=UNSET, description="The new name. Omit or null to leave as is."
    )
    slug: str | None = strawberry.field(
        default=UNSET, description="The new unique URL name. Omit or null to leave as is."
    )
    parent_id: strawberry.ID | None = strawberry.field(
        default=UNSET, description="null makes the category a root."
    )
    position: int | None = strawberry.field(
        default=UNSET, description="The new place among its siblings. Omit or null to leave as is."
    )
    description: str | None = strawberry.field(
        default=UNSET, description="The new description; null clears it. Omit to leave as is."
    )


@strawberry.input(description="The thing to act on, by id.")
class IdInput:
    id: strawberry.ID = strawberry.field(description="The id.")


@strawberry.input(description="A new brand.")
class CreateBrandInput:
    name: str = strawberry.field(
        description="The brand's name, 1 to 200 characters.", metadata=NAME_SCHEMA
    )
    slug: str = strawberry.field(
        description="Its unique URL name: lower-case words joined by hyphens.", metadata=SLUG_SCHEMA
    )
    description: str | None = strawberry.field(default=None, description="About the brand.")


@strawberry.input(description="Changes to a brand; omitted fields stay as they are.")
class UpdateBrandInput:
    id: strawberry.ID = strawberry.field(description="The id of the brand to change.")
    name: str | None = strawberry.field(
        default=UNSET, description="The new name. Omit or null to leave as is."
    )
    slug: str | None = strawberry.field(
        default=UNSET, description="The new unique URL name. Omit or null to leave as is."
    )
    description: str | None = strawberry.field(
        default=UNSET, description="The new description; null clears it. Omit to leave as is."
    )


@strawberry.input(description="A catalog entity and a category, to link or unlink.")
class EntityCategoryInput:
    entity_id: strawberry.ID = strawberry.field(description="The id of the catalog entity.")
    category_id: strawberry.ID = strawberry.field(description="The id of the category.")


@strawberry.input(description="A catalog entity and a brand, to link or unlink.")
class EntityBrandInput:
    entity_id: strawberry.ID = strawberry.field(description="The id of the catalog entity.")
    brand_id: strawberry.ID = strawberry.field(description="The id of the brand.")


@strawberry.input(description="A new option for an entity's variants, e.g. Size, with its values.")
class CreateOptionTypeInput:
    entity_id: strawberry.ID = strawberry.field(description="The id of the catalog entity.")
    name: str = strawberry.field(description="The option's name, e.g. Size.")
    position: int | None = strawberry.field(default=None, description="Default: after the last.")
    values: list[str] = strawberry.field(
        description="Its values in order, e.g. S, M, L. Default: none.", default_factory=list
    )


@strawberry.input(description="A new value of an option type.")
class CreateOptionValueInput:
    option_type_id: strawberry.ID = strawberry.field(description="The id of the option type.")
    value: str = strawberry.field(description="The value, e.g. XL.")
    position: int | None = strawberry.field(
        default=None, description="Its place among the values. Default: after the last."
    )


@strawberry.input(description="A new variant of a catalog entity.")
class CreateVariantInput:
    entity_id: strawberry.ID = strawberry.field(description="The id of the catalog entity.")
    sku: str = strawberry.field(description="The variant's unique SKU.")
    option_value_ids: list[strawberry.ID] = strawberry.field(
        description=(
            "The ids of the option values that make it, one per option type. Default: none."
        ),
        default_factory=list,
    )
    metadata: JSON | None = strawberry.field(
        default=None, description="Free-form data to store with it."
    )


@strawberry.input(description="The entity to generate variants for.")
class GenerateVariantsInput:
    entity_id: strawberry.ID = strawberry.field(description="The id of the catalog entity.")
    sku_prefix: str | None = strawberry.field(
        default=None,
        description="What the new SKUs start with. Default: the entity's slug, upper-case.",
    )


@strawberry.type(description="What generateVariants did.")
class GenerateVariantsResult:
    created: list[VariantType] = strawberry.field(description="The variants created.")
    created_count: int = strawberry.field(description="How many variants were created.")
    existing_count: int = strawberry.field(
        description="How many combinations already had a variant."
    )
    total_count: int = strawberry.field(description="How many option combinations there are.")


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


@strawberry.input(
    description="A new product in one step: the entity, its texts, SKU, price and stock."
)
class CreateProductInput:
    name: str = strawberry.field(
        description=(
            "The product's name (its title in the default locale); its slug is made from it."
        )
    )
    description: str | None = strawberry.field(
        default=None, description="The product's description in the default locale."
    )
    sku: str | None = strawberry.field(default=None, description="The product's SKU.")
    status: EntityStatus = strawberry.field(
        default=EntityStatus.DRAFT, description="Its status. Default: DRAFT."
    )
    price: int | None = strawberry.field(default=None, description=PRICE_DESCRIPTION)
    currency: str | None = strawberry.field(default=None, description=CURRENCY_DESCRIPTION)
    stock: int | None = strawberry.field(default=None, description=STOCK_DESCRIPTION)


@strawberry.input(description="Changes to a product; omitted or null fields stay as they are.")
class UpdateProductInput:
    id: strawberry.ID = strawberry.field(description="The id of the product (catalog entity).")
    name: str | None = strawberry.field(
        default=None, description="The new name (title in the default locale). Default: unchanged."
    )
    description: str | None = strawberry.field(
        default=None, description="The new description in the default locale. Default: unchanged."
    )
    sku: str | None = strawberry.field(default=None, description="The new SKU. Default: unchanged.")
    status: EntityStatus | None = strawberry.field(
        default=None, description="The new status. Default: unchanged."
    )
    price: int | None = strawberry.field(default=None, description=PRICE_DESCRIPTION)
    currency: str | None = strawberry.field(default=None, description=CURRENCY_DESCRIPTION)
    stock: int | None = strawberry.field(default=None, description=STOCK_DESCRIPTION)


@strawberry.type
class CatalogMutations:
    @strawberry.mutation(
        description="Create a catalog entity. Needs catalog:create, or a vendor's user (its "
        "vendor active: the entity is its vendor's).",
        permission_classes=[requires_or_vendor(CREATE)],
    )
    async def create_catalog_entity(
        self,
        info: Info,
        input: Annotated[
            CreateCatalogEntityInput,
            strawberry.argument(description="The entity's type, slug and status."),
        ],
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
                vendor_id=input.vendor_id,
            )
        return await entity_result(info, row)

    @strawberry.mutation(
        description="Change a catalog entity. Needs catalog:update, or a vendor's user (its "
        "own vendor's entity, vendor active).",
        permission_classes=[requires_or_vendor(UPDATE)],
    )
    async def update_catalog_entity(
        self,
        info: Info,
        input: Annotated[
            UpdateCatalogEntityInput,
            strawberry.argument(description="The entity and what to change."),
        ],
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
                        vendor_id=input.vendor_id,
                    ).items()
                    if v is not None
                },
            )
        return await entity_result(info, row)

    @strawberry.mutation(
        description=(
            "Make an entity active (public), from draft or archived. Needs catalog:update."
        ),
        permission_classes=[requires_or_vendor(UPDATE)],
    )
    async def publish_catalog_entity(
        self,
        info: Info,
        input: Annotated[
            CatalogEntityIdInput, strawberry.argument(description="The entity to publish.")
        ],
    ) -> CatalogEntityType:
        return await _transition(info, input.id, "publish")

    @strawberry.mutation(
        description="Archive an entity, from draft or active. Needs catalog:update.",
        permission_classes=[requires_or_vendor(UPDATE)],
    )
    async def archive_catalog_entity(
        self,
        info: Info,
        input: Annotated[
            CatalogEntityIdInput, strawberry.argument(description="The entity to archive.")
        ],
    ) -> CatalogEntityType:
        return await _transition(info, input.id, "archive")

    @strawberry.mutation(
        description=(
            "Discontinue an entity for good, from active or archived. Needs catalog:update."
        ),
        permission_classes=[requires_or_vendor(UPDATE)],
    )
    async def discontinue_catalog_entity(
        self,
        info: Info,
        input: Annotated[
            CatalogEntityIdInput, strawberry.argument(description="The entity to discontinue.")
        ],
    ) -> CatalogEntityType:
        return await _transition(info, input.id, "discontinue")

    @strawberry.mutation(
        permission_classes=[requires_or_vendor(DELETE)],
        description="Deletes the entity and returns it as it was. Needs catalog:delete, or a "
        "vendor's user (its own vendor's entity, vendor active).",
    )
    async def delete_catalog_entity(
        self,
        info: Info,
        input: Annotated[
            CatalogEntityIdInput, strawberry.argument(description="The entity to delete.")
        ],
    ) -> CatalogEntityType:
        context = info.context
        async with context.command() as uow:
            row = await entity_service.get_entity_by_id(uow, context.actor, input.id)
            [entity] = await build_entities(info.context, uow.session, [row], Selected.of(info))
            await entity_service.delete_entity(uow, context.actor, id=input.id)
        return entity

    @strawberry.mutation(
        description="Set an entity's texts in one locale. Needs catalog:update.",
        permission_classes=[requires(UPDATE)],
    )
    async def set_catalog_attributes(
        self,
        info: Info,
        input: Annotated[
            SetCatalogAttributesInput,
            strawberry.argument(description="The entity, the locale and the texts."),
        ],
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

    @strawberry.mutation(
        description="Create a category. Needs catalog:create.",
        permission_classes=[requires(CREATE)],
    )
    async def create_category(
        self,
        info: Info,
        input: Annotated[
            CreateCategoryInput,
            strawberry.argument(description="The category's name, slug and place."),
        ],
    ) -> CategoryType:
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

    @strawberry.mutation(
        description="Change a category. Needs catalog:update.",
        permission_classes=[requires(UPDATE)],
    )
    async def update_category(
        self,
        info: Info,
        input: Annotated[
            UpdateCategoryInput, strawberry.argument(description="The category and what to change.")
        ],
    ) -> CategoryType:
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

    @strawberry.mutation(
        description="Delete a category and return it as it was. Needs catalog:delete.",
        permission_classes=[requires(DELETE)],
    )
    async def delete_category(
        self,
        info: Info,
        input: Annotated[IdInput, strawberry.argument(description="The category to delete.")],
    ) -> CategoryType:
        async with info.context.command() as uow:
            row = await taxonomy.delete_category(uow, info.context.actor, id=input.id)
        return CategoryType.from_row(row)

    @strawberry.mutation(
        description="Create a brand. Needs catalog:create.", permission_classes=[requires(CREATE)]
    )
    async def create_brand(
        self,
        info: Info,
        input: Annotated[
            CreateBrandInput,
            strawberry.argument(description="The brand's name, slug and description."),
        ],
    ) -> BrandType:
        async with info.context.command() as uow:
            row = await taxonomy.create_brand(
                uow,
                info.context.actor,
                name=input.name,
                slug=input.slug,
                description=input.description,
            )
        return BrandType.from_row(row)

    @strawberry.mutation(
        description="Change a brand. Needs catalog:update.", permission_classes=[requires(UPDATE)]
    )
    async def update_brand(
        self,
        info: Info,
        input: Annotated[
            UpdateBrandInput, strawberry.argument(description="The brand and what to change.")
        ],
    ) -> BrandType:
        given = _given(name=input.name, slug=input.slug, description=input.description)
        for name in ("name", "slug"):
            if given.get(name, "") is None:
                given.pop(name)
        async with info.context.command() as uow:
            row = await taxonomy.update_brand(uow, info.context.actor, id=input.id, **given)
        return BrandType.from_row(row)

    @strawberry.mutation(
        description="Delete a brand and return it as it was. Needs catalog:delete.",
        permission_classes=[requires(DELETE)],
    )
    async def delete_brand(
        self,
        info: Info,
        input: Annotated[IdInput, strawberry.argument(description="The brand to delete.")],
    ) -> BrandType:
        async with info.context.command() as uow:
            row = await taxonomy.delete_brand(uow, info.context.actor, id=input.id)
        return BrandType.from_row(row)

    @strawberry.mutation(
        description="Put an entity in a category; returns the entity. Needs catalog:update.",
        permission_classes=[requires(UPDATE)],
    )
    async def add_entity_to_category(
        self,
        info: Info,
        input: Annotated[
            EntityCategoryInput, strawberry.argument(description="The entity and the category.")
        ],
    ) -> CatalogEntityType:
        return await _link(info, input.entity_id, "category", input.category_id, add=True)

    @strawberry.mutation(
        description="Take an entity out of a category; returns the entity. Needs catalog:update.",
        permission_classes=[requires(UPDATE)],
    )
    async def remove_entity_from_category(
        self,
        info: Info,
        input: Annotated[
            EntityCategoryInput, strawberry.argument(description="The entity and the category.")
        ],
    ) -> CatalogEntityType:
        return await _link(info, input.entity_id, "category", input.category_id, add=False)

    @strawberry.mutation(
        description="Give an entity a brand; returns the entity. Needs catalog:update.",
        permission_classes=[requires(UPDATE)],
    )
    async def add_entity_to_brand(
        self,
        info: Info,
        input: Annotated[
            EntityBrandInput, strawberry.argument(description="The entity and the brand.")
        ],
    ) -> CatalogEntityType:
        return await _link(info, input.entity_id, "brand", input.brand_id, add=True)

    @strawberry.mutation(
        description="Take a brand off an entity; returns the entity. Needs catalog:update.",
        permission_classes=[requires(UPDATE)],
    )
    async def remove_entity_from_brand(
        self,
        info: Info,
        input: Annotated[
            EntityBrandInput, strawberry.argument(description="The entity and the brand.")
        ],
    ) -> CatalogEntityType:
        return await _link(info, input.entity_id, "brand", input.brand_id, add=False)

    @strawberry.mutation(
        description="Add an option type, with its values, to an entity. Needs catalog:update.",
        permission_classes=[requires(UPDATE)],
    )
    async def create_option_type(
        self,
        info: Info,
        input: Annotated[
            CreateOptionTypeInput,
            strawberry.argument(description="The entity, the option's name and values."),
        ],
    ) -> OptionTypeType:
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

    @strawberry.mutation(
        description="Add a value to an option type. Needs catalog:update.",
        permission_classes=[requires(UPDATE)],
    )
    async def create_option_value(
        self,
        info: Info,
        input: Annotated[
            CreateOptionValueInput,
            strawberry.argument(description="The option type and the value."),
        ],
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

    @strawberry.mutation(
        description="Create a variant of an entity. Needs catalog:update.",
        permission_classes=[requires(UPDATE)],
    )
    async def create_variant(
        self,
        info: Info,
        input: Annotated[
            CreateVariantInput,
            strawberry.argument(description="The entity, SKU and option values."),
        ],
    ) -> VariantType:
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
        self,
        info: Info,
        input: Annotated[
            GenerateVariantsInput, strawberry.argument(description="The entity and the SKU prefix.")
        ],
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

    @strawberry.mutation(
        description=(
            "Create a product in one step: entity, texts, SKU, price and stock. Needs "
            "catalog:create."
        ),
        permission_classes=[requires(CREATE)],
    )
    async def create_product(
        self,
        info: Info,
        input: Annotated[
            CreateProductInput,
            strawberry.argument(description="The product's name, texts, SKU, price and stock."),
        ],
    ) -> CatalogEntityType:
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

    @strawberry.mutation(
        description=(
            "Change a product's name, texts, SKU, status, price or stock. Needs catalog:update."
        ),
        permission_classes=[requires(UPDATE)],
    )
    async def update_product(
        self,
        info: Info,
        input: Annotated[
            UpdateProductInput, strawberry.argument(description="The product and what to change.")
        ],
    ) -> CatalogEntityType:
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
    info: Info, entity_id: str, kind: taxonomy.LinkKind, target_id: str, *, add: bool
) -> CatalogEntityType:
    context = info.context
    async with context.command() as uow:
        row = await taxonomy.link(
            uow, context.actor, entity_id=entity_id, kind=kind, target_id=target_id, add=add
        )
    return await entity_result(info, row)
