"""Catalog GraphQL types. Relations are prefetched by `build_entities` for exactly what the
query selects, so every field below resolves synchronously from memory (DESIGN §8)."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from typing import TYPE_CHECKING, Annotated, Any, TypeAlias, TypeVar

import strawberry
from aiodataloader import DataLoader
from sqlalchemy import Row, select
from sqlalchemy.ext.asyncio import AsyncSession
from strawberry.types.nodes import SelectedField

from app.models.catalog import (
    Brand,
    CatalogAttributes,
    CatalogEntity,
    Category,
    OptionType,
    OptionValue,
    Variant,
)
from app.resolvers.context import Context
from app.resolvers.enums import EntityStatus, EntityType, MediaRole
from app.resolvers.inventory import READ as INVENTORY_READ
from app.resolvers.inventory import InventoryLevelType
from app.resolvers.media import READ as MEDIA_READ
from app.resolvers.media import MediaAttachmentType
from app.resolvers.money import Money
from app.resolvers.permissions import requires
from app.resolvers.rows import from_row, graphql_fields, selected_fields
from app.resolvers.scalars import JSON
from app.resolvers.selection import Selected
from app.services.catalog import loading
from app.services.catalog.attributes import DEFAULT_LOCALE, Localized, localize
from app.services.inventory import queries as inventory_queries
from app.services.inventory.queries import LevelView
from app.services.media import attached_to
from app.services.pricing.groups import groups_for
from app.services.pricing.resolution import PriceQuery, resolve_prices

if TYPE_CHECKING:
    from app.resolvers.marketplace import VendorType

T = TypeVar("T")
# A field answered later: the awaitable Strawberry awaits when a relation was not prefetched
# (None when the entity is gone meanwhile).
Later: TypeAlias = Awaitable[T | None]


# The arguments of an entity's and a variant's `price`.
PriceCurrencyArg = Annotated[
    str | None,
    strawberry.argument(
        description="The ISO 4217 currency to price in. Default: the store's currency."
    ),
]
PriceQuantityArg = Annotated[
    int,
    strawberry.argument(
        description="How many units to price (picks the quantity tier). Default: 1."
    ),
]


@strawberry.type(description="An entity's texts in one locale.", name="LocalizedAttributes")
class LocalizedAttributesType:
    locale: str = strawberry.field(description="The locale the texts come from (after fallback).")
    title: str | None = strawberry.field(description="The title, e.g. the product's name.")
    description: str | None = strawberry.field(description="The long description.")
    seo_title: str | None = strawberry.field(
        description="The title for search engines (the page's <title>)."
    )
    seo_description: str | None = strawberry.field(
        description="The description for search engines (meta description)."
    )

    @classmethod
    def from_localized(cls, value: Localized) -> LocalizedAttributesType:
        return cls(
            locale=value.locale,
            title=value.title,
            description=value.description,
            seo_title=value.seo_title,
            seo_description=value.seo_description,
        )


@strawberry.type(description="A category of the catalog tree.", name="Category")
class CategoryType:
    id: strawberry.ID = strawberry.field(description="The category's id.")
    name: str = strawberry.field(description="The category's name.")
    slug: str = strawberry.field(description="The category's unique URL name.")
    description: str | None = strawberry.field(description="What the category holds, if given.")
    position: int = strawberry.field(description="Its place among its siblings: ascending.")
    parent_id: strawberry.ID | None = strawberry.field(
        description="The id of the parent category; null for a root."
    )
    created_at: datetime = strawberry.field(description="When the category was created.")
    updated_at: datetime = strawberry.field(description="When the category last changed.")

    @classmethod
    def from_row(cls, row: Category) -> CategoryType:
        return from_row(cls, row)


@strawberry.type(description="A category with its subcategories.", name="CategoryTreeNode")
class CategoryTreeNode:
    id: strawberry.ID = strawberry.field(description="The category's id.")
    name: str = strawberry.field(description="The category's name.")
    slug: str = strawberry.field(description="The category's unique URL name.")
    position: int = strawberry.field(description="Its place among its siblings: ascending.")
    children: list[CategoryTreeNode] = strawberry.field(
        description="Its subcategories, by position."
    )


@strawberry.type(description="A brand catalog entities can carry.", name="Brand")
class BrandType:
    id: strawberry.ID = strawberry.field(description="The brand's id.")
    name: str = strawberry.field(description="The brand's name.")
    slug: str = strawberry.field(description="The brand's unique URL name.")
    description: str | None = strawberry.field(description="About the brand, if given.")
    created_at: datetime = strawberry.field(description="When the brand was created.")
    updated_at: datetime = strawberry.field(description="When the brand last changed.")

    @classmethod
    def from_row(cls, row: Brand) -> BrandType:
        return from_row(cls, row)


@strawberry.type(description="A value of an option type, e.g. M for Size.", name="OptionValue")
class OptionValueType:
    id: strawberry.ID = strawberry.field(description="The option value's id.")
    value: str = strawberry.field(description="The value, e.g. M.")
    position: int = strawberry.field(
        description="Its place among its option type's values: ascending."
    )
    option_type_id: strawberry.ID = strawberry.field(
        description="The id of the option type it belongs to."
    )
    option_type: str | None = strawberry.field(
        default=None, description="The option type's name (Size), where a variant carries it."
    )

    @classmethod
    def from_row(cls, row: OptionValue) -> OptionValueType:
        return from_row(cls, row)


@strawberry.type(
    description="An option an entity's variants vary by, e.g. Size, with its values.",
    name="OptionType",
)
class OptionTypeType:
    id: strawberry.ID = strawberry.field(description="The option type's id.")
    name: str = strawberry.field(description="The option's name, e.g. Size.")
    position: int = strawberry.field(
        description="Its place among the entity's option types: ascending."
    )
    values: list[OptionValueType] = strawberry.field(description="Its values, by position.")

    @classmethod
    def from_row(cls, row: OptionType, values: list[OptionValue]) -> OptionTypeType:
        return from_row(cls, row, values=[OptionValueType.from_row(v) for v in values])


@strawberry.type(
    description="A purchasable version of an entity with its own SKU, e.g. the M / Blue shirt.",
    name="Variant",
)
class VariantType:
    id: strawberry.ID = strawberry.field(description="The variant's id.")
    entity_id: strawberry.ID = strawberry.field(
        description="The id of the catalog entity (product) it belongs to."
    )
    sku: str = strawberry.field(description="The variant's unique SKU.")
    metadata: JSON = strawberry.field(description="Free-form data stored with the variant.")
    created_at: datetime = strawberry.field(description="When the variant was created.")
    updated_at: datetime = strawberry.field(description="When the variant last changed.")
    option_values: list[OptionValueType] = strawberry.field(
        description="The option values that make this variant, e.g. M and Blue."
    )
    available: int | None = strawberry.field(
        default=None, description="Units available across warehouses; null when not stocked."
    )
    prices: strawberry.Private[Prices | None] = None

    loaders: strawberry.Private[EntityLoaders | None] = None

    # Prefetched prices answer at once; otherwise an awaitable that Strawberry awaits.
    @strawberry.field(
        description="The unit price for the caller (default currency, 1 unit).",
        graphql_type=Money | None,
    )
    def price(
        self,
        currency: PriceCurrencyArg = None,
        quantity: PriceQuantityArg = 1,
    ) -> Money | Later[Money] | None:
        if self.prices is not None:
            return self.prices.money(currency, quantity, self.id)
        return self._price_later(currency, quantity)

    async def _price_later(self, currency: str | None, quantity: int) -> Money | None:
        loaders = _loaders(self.loaders, "Variant.price")
        entity = await loaders.load(self.entity_id, currency=currency, quantity=quantity)
        prices = entity.related.prices if entity is not None else None
        return prices.money(currency, quantity, self.id) if prices else None

    @classmethod
    def from_row(
        cls,
        row: Variant,
        values: list[Any],
        loaders: EntityLoaders | None = None,
    ) -> VariantType:
        """The variant of `row` (a model, or a row of the columns a query selected: a column
        it lacks was not asked for, and stays None), with its option values (rows of
        `loading.variant_values`, the sources of their GraphQL objects as they are). Written
        out: a listing builds one per variant. An object, not the row: `price` reads the
        prefetched prices from it."""
        # A row's columns by name: a lookup of one it lacks would raise (and build) an error.
        column = row._asdict().get if isinstance(row, Row) else partial(getattr, row)
        return cls(
            loaders=loaders,
            id=strawberry.ID(str(row.id)),
            entity_id=strawberry.ID(str(row.entity_id)),
            sku=column("sku", None),  # type: ignore[arg-type]
            metadata=JSON(column("meta", None)),
            created_at=column("created_at", None),  # type: ignore[arg-type]
            updated_at=column("updated_at", None),  # type: ignore[arg-type]
            option_values=values,
        )


@dataclass(slots=True)
class Related:
    """What was prefetched for one entity; None means the query did not select it."""

    attributes: list[CatalogAttributes] | None = None
    variants: list[VariantType] | None = None
    option_types: list[OptionTypeType] | None = None
    # Result rows, the sources of their GraphQL objects as they are (app.resolvers.rows).
    categories: list[Any] | None = None
    brands: list[Any] | None = None
    # The vendor's VendorType (app.resolvers.marketplace) when planned.
    vendor: Any = None
    inventory: list[LevelView] | None = None
    # Units available per variant id (None: the entity's own levels), from `inventory` when
    # that was fetched, else summed by the database (`units_available`).
    available: dict[uuid.UUID | None, int] | None = None
    prices: Prices | None = None
    media: list[MediaAttachmentType] | None = None
    # Where a relation that was not prefetched is loaded from (DESIGN §8's fallback).
    loaders: EntityLoaders | None = None


@dataclass(slots=True)
class Prices:
    """Resolved prices of one page: (variant id or None, currency, quantity) -> Money."""

    entity_id: uuid.UUID
    default_currency: str
    resolved: dict[tuple[str | None, str, int], Money]

    def money(self, currency: str | None, quantity: int, variant_id: str | None) -> Money | None:
        return self.resolved.get((variant_id, currency or self.default_currency, quantity))


def _loaders(loaders: EntityLoaders | None, name: str) -> EntityLoaders:
    if loaders is None:
        raise RuntimeError(f"{name} was neither prefetched nor loadable (see build_entities)")
    return loaders


@strawberry.type(
    description=(
        "A thing the store sells: a product, digital download, service, bundle or gift card."
    ),
    name="CatalogEntity",
)
class CatalogEntityType:
    id: strawberry.ID = strawberry.field(description="The entity's id.")
    type: EntityType = strawberry.field(description="What kind of thing it is.")
    slug: str = strawberry.field(description="The entity's unique URL name.")
    status: EntityStatus = strawberry.field(
        description="Where it stands; only ACTIVE entities are public."
    )
    metadata: JSON = strawberry.field(description="Free-form data stored with the entity.")
    allow_backorder: bool = strawberry.field(
        description="Whether it can be sold when out of stock."
    )
    vendor_id: strawberry.ID | None = strawberry.field(
        description="The id of the marketplace vendor selling it; null for the house's own."
    )
    created_at: datetime = strawberry.field(description="When the entity was created.")
    updated_at: datetime = strawberry.field(description="When the entity last changed.")
    related: strawberry.Private[Related]

    # The fields below answer through `_from`, now or later: their Python return type
    # (`X | Later[X]`) is not their GraphQL type, so each names that with `graphql_type`.
    def _from(self, needed: str, compute: Callable[[Related], T], **args: Any) -> T | Later[T]:
        """`compute` from what was prefetched, or, when the list did not plan `needed`, from
        the fallback loader (an awaitable, batched with every other entity of the tick)."""
        if getattr(self.related, needed) is not None:
            return compute(self.related)
        return self._later(needed, compute, args)

    async def _later(
        self, needed: str, compute: Callable[[Related], T], args: dict[str, Any]
    ) -> T | None:
        loaded = await _loaders(self.related.loaders, f"CatalogEntity.{needed}").load(
            self.id, **args
        )
        return compute(loaded.related) if loaded is not None else None

    @strawberry.field(
        description="Texts in `locale` (default en), missing ones from en.",
        graphql_type=LocalizedAttributesType | None,
    )
    def attributes(
        self,
        locale: Annotated[
            str | None, strawberry.argument(description="The locale to read, e.g. de. Default: en.")
        ] = None,
    ) -> LocalizedAttributesType | Later[LocalizedAttributesType] | None:
        def compute(related: Related) -> LocalizedAttributesType | None:
            localized = localize(related.attributes or [], locale or DEFAULT_LOCALE)
            return LocalizedAttributesType.from_localized(localized) if localized else None

        return self._from("attributes", compute, locale=locale)

    @strawberry.field(description="The entity's variants, by SKU.", graphql_type=list[VariantType])
    def variants(self) -> list[VariantType] | Later[list[VariantType]] | None:
        return self._from("variants", lambda related: related.variants)

    @strawberry.field(
        description="The options its variants vary by, with their values.",
        graphql_type=list[OptionTypeType],
    )
    def option_types(self) -> list[OptionTypeType] | Later[list[OptionTypeType]] | None:
        return self._from("option_types", lambda related: related.option_types)

    @strawberry.field(description="The categories it is in.", graphql_type=list[CategoryType])
    def categories(self) -> list[CategoryType] | Later[list[CategoryType]] | None:
        return self._from("categories", lambda related: related.categories)

    @strawberry.field(
        description="The marketplace vendor selling it (its public profile); null for the "
        "house's own.",
        graphql_type=Annotated["VendorType", strawberry.lazy("app.resolvers.marketplace")] | None,
    )
    def vendor(self) -> Any:
        if self.vendor_id is None:
            return None
        return self._from("vendor", lambda related: related.vendor)

    @strawberry.field(description="The brands it carries.", graphql_type=list[BrandType])
    def brands(self) -> list[BrandType] | Later[list[BrandType]] | None:
        return self._from("brands", lambda related: related.brands)

    @strawberry.field(
        description="Its media assets by role, then position. Without media:read, only those "
        "in public roles (no `download` files).",
        graphql_type=list[MediaAttachmentType],
    )
    def media(
        self,
        role: Annotated[
            MediaRole | None,
            strawberry.argument(description="Only assets in this role. Default: every role."),
        ] = None,
    ) -> list[MediaAttachmentType] | Later[list[MediaAttachmentType]] | None:
        return self._from(
            "media", lambda r: [m for m in r.media or [] if role is None or m.role == role]
        )

    @strawberry.field(
        description="The title in the default locale (the gateway's name).", graphql_type=str | None
    )
    def name(self) -> str | Later[str] | None:
        def compute(related: Related) -> str | None:
            localized = localize(related.attributes or [], DEFAULT_LOCALE)
            return localized.title if localized else None

        return self._from("attributes", compute)

    @strawberry.field(description="The description in the default locale.", graphql_type=str | None)
    def description(self) -> str | Later[str] | None:
        def compute(related: Related) -> str | None:
            localized = localize(related.attributes or [], DEFAULT_LOCALE)
            return localized.description if localized else None

        return self._from("attributes", compute)

    @strawberry.field(
        description="The SKU of the first variant (by SKU), if any.", graphql_type=str | None
    )
    def sku(self) -> str | Later[str] | None:
        return self._from("variants", lambda r: r.variants[0].sku if r.variants else None)

    @strawberry.field(
        description="The unit price for the caller: the entity's own, else its cheapest "
        "variant's (a 'from' price); null when unpriced. Default currency, 1 unit.",
        graphql_type=Money | None,
    )
    def price(
        self,
        currency: PriceCurrencyArg = None,
        quantity: PriceQuantityArg = 1,
    ) -> Money | Later[Money] | None:
        def compute(related: Related) -> Money | None:
            prices = related.prices
            assert prices is not None
            own = prices.money(currency, quantity, None)
            if own is not None:
                return own
            options = [prices.money(currency, quantity, v.id) for v in related.variants or []]
            return min((m for m in options if m is not None), key=lambda m: m.amount, default=None)

        return self._from("prices", compute, currency=currency, quantity=quantity)

    @strawberry.field(
        description=(
            "The entity's stock per SKU and warehouse. Needs inventory:read (else null, with "
            "an error); `stock` and `Variant.available` are public."
        ),
        graphql_type=list[InventoryLevelType] | None,
        permission_classes=[requires(INVENTORY_READ)],
    )
    def inventory(self) -> list[InventoryLevelType] | Later[list[InventoryLevelType]] | None:
        return self._from(
            "inventory",
            lambda r: [InventoryLevelType.from_view(level) for level in r.inventory or []],
        )

    @strawberry.field(
        description="Units available across warehouses; null when not stocked.",
        graphql_type=int | None,
    )
    def stock(self) -> int | Later[int] | None:
        return self._from("available", lambda r: sum(r.available.values()) if r.available else None)


async def _price(
    context: Context,
    session: AsyncSession,
    related: dict[uuid.UUID, Related],
    entity_fields: list[Any],
    variant_fields: list[Any],
) -> None:
    """Every (currency, quantity) the query asks for, for each entity and its variants: the
    caller's customer groups, then one batch resolution (two statements)."""

    # Look-ahead sees literals as written (`quantity: 10` arrives as "10"); GraphQL has
    # validated them as Int already.
    def asked(fields: list[Any]) -> set[tuple[str, int]]:
        return {
            (field.arguments.get("currency") or context.default_currency,
             int(field.arguments.get("quantity") or 1))
            for field in fields
        }  # fmt: skip

    # An entity's own price is asked for only where its `price` is selected; its variants'
    # prices are asked for both (an entity without a price of its own shows its cheapest
    # variant's).
    own = asked(entity_fields)
    each_variant = own | asked(variant_fields)
    groups = await groups_for(session, context.actor, None)
    queries = {
        (entity_id, variant, currency, quantity): PriceQuery(
            entity_id=entity_id,
            currency=currency,
            quantity=quantity,
            variant_id=uuid.UUID(variant) if variant else None,
            customer_group_ids=groups,
        )
        for entity_id, parts in related.items()
        for variant, pairs in [(None, own), *((v.id, each_variant) for v in parts.variants or [])]
        for currency, quantity in pairs
    }
    resolved = await resolve_prices(session, queries.values())
    # One pass over the queries (not one per entity: a page of 20 asks 80 of them).
    by_entity = {
        entity_id: Prices(entity_id, context.default_currency, {}) for entity_id in related
    }
    for (owner, variant, currency, quantity), query in queries.items():
        found = resolved.get(query)
        if found is not None:
            by_entity[owner].resolved[variant, currency, quantity] = Money(
                amount=found.amount, currency=found.currency
            )
    for entity_id, parts in related.items():
        prices = by_entity[entity_id]
        parts.prices = prices
        for variant_type in parts.variants or []:
            variant_type.prices = prices


def _variant_columns(fields: frozenset[str] | None) -> frozenset[str] | None:
    """The Variant columns behind VariantType's `fields` (None: all)."""
    if fields is None:
        return None
    return frozenset("meta" if name == "metadata" else name for name in fields)


# Which selected fields need which relation.
NEEDS_ATTRIBUTES = ("attributes", "name", "description")
NEEDS_VARIANTS = ("variants", "sku", "price")
# Variant.available is filled from the stock prefetch, which comes after the variants.


async def build_entities(
    context: Context, session: AsyncSession, rows: list[Any], selected: Selected
) -> list[CatalogEntityType]:
    """Types for `rows`, with each relation `selected` fetched in one statement."""
    ids = [row.id for row in rows]
    loaders = entity_loaders(context)
    related: dict[uuid.UUID, Related] = {row.id: Related(loaders=loaders) for row in rows}
    if ids and any(name in selected for name in NEEDS_ATTRIBUTES):
        locales = {DEFAULT_LOCALE} | {
            locale for locale in selected.arguments("attributes", "locale") if locale
        }
        found = await loading.attributes(session, ids, locales)
        for id in ids:
            related[id].attributes = found.get(id, [])
    if ids and any(name in selected for name in NEEDS_VARIANTS):
        # Only the columns selected, unless the entity's own `sku` or `price` needs more.
        asked = selected.child("variants")
        only = selected_fields(VariantType, asked) if "variants" in selected else None
        if only is not None and "sku" in selected:
            only |= {"sku"}
        # Option values joined to the variants: each variant's columns repeat once per value.
        if "optionValues" in asked:
            variants, values = await loading.variants_with_values(
                session,
                ids,
                _variant_columns(only),
                selected_fields(OptionValueType, asked.child("optionValues")),
            )
        else:
            variants, values = await loading.variants(session, ids, _variant_columns(only)), {}
        for id in ids:
            related[id].variants = [
                VariantType.from_row(v, values.get(v.id, []), loaders) for v in variants.get(id, [])
            ]
    if ids and "inventory" in selected:
        stock = await inventory_queries.levels_for_entities(session, ids)
        for id in ids:
            levels = related[id].inventory = stock.get(id, [])
            related[id].available = {
                sku.variant_id: sku.available_quantity
                for sku in inventory_queries.availability(levels)
            }
    elif ids and ("stock" in selected or "available" in selected.child("variants")):
        # Sums, not levels: one row per variant, none per warehouse.
        summed = await inventory_queries.units_available(session, ids)
        for id in ids:
            related[id].available = summed.get(id, {})
    for id in ids:
        per_variant = related[id].available
        if per_variant is not None:
            for variant in related[id].variants or []:
                variant.available = per_variant.get(uuid.UUID(variant.id))
    variant_prices = selected.child("variants")
    if ids and ("price" in selected or "price" in variant_prices):
        await _price(
            context,
            session,
            related,
            selected.by_name.get("price", []),
            variant_prices.by_name.get("price", []),
        )
    if ids and "optionTypes" in selected:
        types = await loading.option_types(session, ids)
        for id in ids:
            related[id].option_types = [
                OptionTypeType.from_row(t, values) for t, values in types.get(id, [])
            ]
    if ids and "categories" in selected and "brands" in selected:
        categories, brands = await loading.taxonomy(
            session,
            ids,
            selected_fields(CategoryType, selected.child("categories")),
            selected_fields(BrandType, selected.child("brands")),
        )
        for id in ids:
            related[id].categories = categories.get(id, [])
            related[id].brands = brands.get(id, [])
    elif ids and "categories" in selected:
        only = selected_fields(CategoryType, selected.child("categories"))
        categories = await loading.categories(session, ids, only)
        for id in ids:
            related[id].categories = categories.get(id, [])
    elif ids and "brands" in selected:
        only = selected_fields(BrandType, selected.child("brands"))
        brands = await loading.brands(session, ids, only)
        for id in ids:
            related[id].brands = brands.get(id, [])
    if ids and "vendor" in selected:
        await _vendors(session, rows, related)
    if ids and "media" in selected:
        media = await attached_to(session, ids, public_only=not context.actor.can(MEDIA_READ))
        for id in ids:
            related[id].media = [MediaAttachmentType.of(a, a.asset) for a in media[id]]
    return [
        CatalogEntityType(
            id=strawberry.ID(str(row.id)),
            type=row.type,
            slug=row.slug,
            status=row.status,
            metadata=JSON(row.meta),
            allow_backorder=row.allow_backorder,
            vendor_id=strawberry.ID(str(row.vendor_id)) if row.vendor_id else None,
            created_at=row.created_at,
            updated_at=row.updated_at,
            related=related[row.id],
        )
        for row in rows
    ]


async def _vendors(
    session: AsyncSession, rows: list[Any], related: dict[uuid.UUID, Related]
) -> None:
    """The vendors of a page of entities, in one statement."""
    from app.resolvers.marketplace import VendorType
    from app.services.marketplace.vendors import vendors_by_id

    found = await vendors_by_id(session, [row.vendor_id for row in rows if row.vendor_id])
    for row in rows:
        vendor = found.get(row.vendor_id) if row.vendor_id else None
        related[row.id].vendor = VendorType.from_row(vendor) if vendor else None


def _selected(name: str, arguments: dict[str, Any] | None = None, *below: Any) -> SelectedField:
    return SelectedField(name=name, directives={}, arguments=arguments or {}, selections=[*below])


def _everything(locale: str | None, currency: str | None, quantity: int) -> Selected:
    """A selection of every relation, as if a query had asked for all of them."""
    priced = {"currency": currency, "quantity": quantity}
    # Every field of a variant by name (its columns are read as selected); below, a relation
    # with nothing selected reads every column.
    plain = [_selected(name) for name in graphql_fields(VariantType) if name != "price"]
    return Selected(
        [
            _selected("attributes", {"locale": locale}),
            _selected("variants", None, *plain, _selected("price", priced)),
            _selected("optionTypes"),
            _selected("categories"),
            _selected("brands"),
            _selected("vendor"),
            _selected("media"),
            _selected("inventory"),
            _selected("price", priced),
        ]
    )  # fmt: skip


class EntityLoaders:
    """DESIGN §8's fallback: an entity reached on a path whose list did not plan a relation
    loads it here. One DataLoader per (locale, currency, quantity) asked for; each batch
    builds every entity of the tick with all relations (`build_entities`), in a short read
    session of its own. The look-ahead plan stays the fast path; this only keeps a query the
    plan missed from failing."""

    def __init__(self, context: Context) -> None:
        self.context = context
        self._by_arguments: dict[
            tuple[str | None, str | None, int], DataLoader[uuid.UUID, CatalogEntityType | None]
        ] = {}

    def load(
        self,
        id: str,
        *,
        locale: str | None = None,
        currency: str | None = None,
        quantity: int = 1,
    ) -> Awaitable[CatalogEntityType | None]:
        key = (locale, currency, quantity)
        if key not in self._by_arguments:
            self._by_arguments[key] = DataLoader(partial(self._batch, key))
        return self._by_arguments[key].load(uuid.UUID(str(id)))

    async def _batch(
        self, key: tuple[str | None, str | None, int], ids: list[uuid.UUID]
    ) -> list[CatalogEntityType | None]:
        async with self.context.read() as session:
            rows = await session.scalars(select(CatalogEntity).where(CatalogEntity.id.in_(ids)))
            built = await build_entities(self.context, session, list(rows), _everything(*key))
        by_id = {uuid.UUID(entity.id): entity for entity in built}
        return [by_id.get(id) for id in ids]


def entity_loaders(context: Context) -> EntityLoaders:
    """The request's loaders (one set per request, kept on its context)."""
    loaders = context.loaders.get("catalog_entity")
    if loaders is None:
        loaders = context.loaders["catalog_entity"] = EntityLoaders(context)
    return loaders
