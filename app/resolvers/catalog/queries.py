"""Catalog queries: entities (public, active only for anonymous), categories, brands."""

from __future__ import annotations

from typing import Annotated

import strawberry
from strawberry import Info

from app.models.catalog import Category
from app.resolvers.arguments import AfterArg, FirstArg, LimitArg, OffsetArg, PageArg, page_request
from app.resolvers.catalog.types import (
    BrandType,
    CatalogEntityType,
    CategoryTreeNode,
    CategoryType,
    LocalizedAttributesType,
    build_entities,
)
from app.resolvers.enums import EntityStatus, EntityType
from app.resolvers.pagination import Connection, to_connection
from app.resolvers.selection import Selected
from app.services.catalog import attributes as attribute_service
from app.services.catalog import entities as entity_service
from app.services.catalog import taxonomy


@strawberry.input(description="Which catalog entities to list; every given criterion must hold.")
class CatalogEntityFilter:
    type: EntityType | None = strawberry.field(
        default=None, description="Only entities of this type."
    )
    status: EntityStatus | None = strawberry.field(
        default=None,
        description="Only entities with this status (other than ACTIVE needs catalog:read).",
    )
    category: strawberry.ID | None = strawberry.field(default=None, description="A category id.")
    brand: strawberry.ID | None = strawberry.field(default=None, description="A brand id.")
    vendor: strawberry.ID | None = strawberry.field(
        default=None, description="A marketplace vendor's id: only the entities it sells."
    )


def tree(rows: list[Category]) -> list[CategoryTreeNode]:
    nodes = {
        row.id: CategoryTreeNode(
            id=strawberry.ID(str(row.id)),
            name=row.name,
            slug=row.slug,
            position=row.position,
            children=[],
        )
        for row in rows
    }
    roots: list[CategoryTreeNode] = []
    for row in rows:  # already ordered by position
        parent = nodes.get(row.parent_id) if row.parent_id else None
        (parent.children if parent else roots).append(nodes[row.id])
    return roots


@strawberry.type
class CatalogQueries:
    @strawberry.field(description="An entity's texts in `locale`, missing ones from en.")
    async def catalog_attributes(
        self,
        info: Info,
        entity_id_or_slug: Annotated[
            str, strawberry.argument(description="The entity's id (a UUID) or slug.")
        ],
        locale: Annotated[str, strawberry.argument(description="The locale to read, e.g. de.")],
    ) -> LocalizedAttributesType:
        async with info.context.read_may_lag(info) as session:
            found = await attribute_service.get_attributes(
                session, info.context.actor, entity_id=entity_id_or_slug, locale=locale
            )
        return LocalizedAttributesType.from_localized(found)

    @strawberry.field(description="An entity by UUID or slug.")
    async def catalog_entity(
        self,
        info: Info,
        id_or_slug: Annotated[
            str, strawberry.argument(description="The entity's id (a UUID) or slug.")
        ],
    ) -> CatalogEntityType:
        context = info.context
        async with context.read_may_lag(info) as session:
            row = await entity_service.get_entity(session, context.actor, id_or_slug)
            [entity] = await build_entities(info.context, session, [row], Selected.of(info))
        return entity

    @strawberry.field(
        description="`sort` is field:direction over createdAt, updatedAt, slug, "
        "type, status (default createdAt:desc)."
    )
    async def catalog_entities(
        self,
        info: Info,
        filter: Annotated[
            CatalogEntityFilter | None,
            strawberry.argument(
                description="Which entities to list. Default: all the caller may see."
            ),
        ] = None,
        sort: Annotated[
            str | None,
            strawberry.argument(
                description="The order, field:direction, e.g. slug:asc. Default: createdAt:desc."
            ),
        ] = None,
        page: PageArg = None,
        limit: LimitArg = None,
        offset: OffsetArg = None,
        first: FirstArg = None,
        after: AfterArg = None,
    ) -> Connection[CatalogEntityType]:
        request = page_request(page=page, limit=limit, offset=offset, first=first, after=after)
        given = filter or CatalogEntityFilter()
        criteria = entity_service.EntityFilter(
            type=given.type,
            status=given.status,
            category=given.category,
            brand=given.brand,
            vendor=given.vendor,
        )
        context = info.context
        selected = Selected.of(info)
        # Count only when the answer shows it (the count rides on the page's statement).
        counted = "totalCount" in selected or "totalPages" in selected.child("pageInfo")
        async with context.read_may_lag(info) as session:
            result = await entity_service.list_entities(
                session,
                context.actor,
                filter=criteria,
                sort=sort,
                page=request,
                with_total=counted,
            )
            items = await build_entities(context, session, result.items, selected.items())
        return Connection.of(result, items)

    @strawberry.field(description="A category by id or slug.")
    async def category(
        self,
        info: Info,
        id_or_slug: Annotated[
            str, strawberry.argument(description="The category's id (a UUID) or slug.")
        ],
    ) -> CategoryType:
        async with info.context.read_may_lag(info) as session:
            return CategoryType.from_row(await taxonomy.get_category(session, id_or_slug))

    @strawberry.field(description="One level of the tree: `parentId` a category id or root.")
    async def categories(
        self,
        info: Info,
        parent_id: Annotated[
            str | None,
            strawberry.argument(
                description=(
                    "The id of the parent category, or root for the top level. Default: every "
                    "category."
                )
            ),
        ] = None,
        page: PageArg = None,
        limit: LimitArg = None,
        offset: OffsetArg = None,
        first: FirstArg = None,
        after: AfterArg = None,
    ) -> Connection[CategoryType]:
        request = page_request(page=page, limit=limit, offset=offset, first=first, after=after)
        async with info.context.read_may_lag(info) as session:
            result = await taxonomy.list_categories(session, parent_id=parent_id, page=request)
        return to_connection(result, CategoryType.from_row)

    @strawberry.field(description="The whole category tree, in one statement.")
    async def category_tree(self, info: Info) -> list[CategoryTreeNode]:
        async with info.context.read_may_lag(info) as session:
            return tree(await taxonomy.all_categories(session))

    @strawberry.field(description="A brand by id or slug.")
    async def brand(
        self,
        info: Info,
        id_or_slug: Annotated[
            str, strawberry.argument(description="The brand's id (a UUID) or slug.")
        ],
    ) -> BrandType:
        async with info.context.read_may_lag(info) as session:
            return BrandType.from_row(await taxonomy.get_brand(session, id_or_slug))

    @strawberry.field(description="Brands, one page at a time.")
    async def brands(
        self,
        info: Info,
        page: PageArg = None,
        limit: LimitArg = None,
        offset: OffsetArg = None,
        first: FirstArg = None,
        after: AfterArg = None,
    ) -> Connection[BrandType]:
        request = page_request(page=page, limit=limit, offset=offset, first=first, after=after)
        async with info.context.read_may_lag(info) as session:
            result = await taxonomy.list_brands(session, page=request)
        return to_connection(result, BrandType.from_row)
