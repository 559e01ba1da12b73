"""GraphQL for catalog search: `search` (ranked, filtered, faceted) and `suggest`.

Public: anonymous callers find active entities only (as the catalog lists them). The result
is a page of ranked hits by `page`/`limit`; a rank has no keyset, so there is no cursor.
"""

from __future__ import annotations

from typing import Annotated, cast

import strawberry
from strawberry import Info

from app.pagination import PageRequest
from app.resolvers.arguments import LimitArg, PageArg
from app.resolvers.enums import Described, EntityStatus, EntityType, graphql_enum
from app.resolvers.pagination import PageInfo
from app.search.backend import FACETS, MAX_RESULTS, SearchResult
from app.services import search as service


@graphql_enum(matches=FACETS)
class SearchFacetField(Described):
    """A field search results can be counted by."""

    TYPE = "type", "The entity type."
    CATEGORY = "category", "The categories the entity is in (by slug)."
    BRAND = "brand", "The entity's brands (by slug)."
    STATUS = "status", "The entity's status."


@strawberry.type(name="SearchHit", description="A catalog entity that matched, with its rank.")
class SearchHitType:
    id: strawberry.ID = strawberry.field(description="The entity's id.")
    type: EntityType = strawberry.field(description="The entity's type.")
    status: EntityStatus = strawberry.field(description="The entity's status.")
    slug: str = strawberry.field(description="The entity's slug.")
    title: str = strawberry.field(description="Its English title (else another locale's).")
    score: float = strawberry.field(
        description="Relevance, higher first; comparable within one answer only."
    )


@strawberry.type(description="How many results have one value of a facet field.")
class SearchFacetValue:
    value: str = strawberry.field(
        description="The value: a type or status word, a category or brand slug."
    )
    label: str = strawberry.field(description="Its name to show (a category's or brand's).")
    count: int = strawberry.field(description="How many results, over every page, have it.")


@strawberry.type(description="The counts of one facet field over the whole result.")
class SearchFacet:
    field: SearchFacetField = strawberry.field(description="The field counted.")
    values: list[SearchFacetValue] = strawberry.field(description="Its values, most first.")


@strawberry.type(description="A page of search hits, best first, with facet counts.")
class SearchResults:
    items: list[SearchHitType] = strawberry.field(description="The page's hits, best first.")
    total_count: int = strawberry.field(
        description=f"How many entities matched, counted up to {MAX_RESULTS:,}: when more "
        f"match, this is {MAX_RESULTS:,} (and `totalCountExact` false), pages end there and "
        f"the facets count those first {MAX_RESULTS:,}."
    )
    total_count_exact: bool = strawberry.field(
        description="False when more entities matched than `totalCount` says (it is then "
        f"the cap, {MAX_RESULTS:,})."
    )
    page_info: PageInfo = strawberry.field(description="Where the page stands.")
    facets: list[SearchFacet] = strawberry.field(
        description="The requested facets, counted over every match (not only this page; "
        "over the first ones when `totalCountExact` is false)."
    )

    @classmethod
    def of(cls, result: SearchResult) -> SearchResults:
        request = result.page
        pages = (result.total + request.limit - 1) // request.limit
        has_next = request.offset + len(result.hits) < result.total
        return cls(
            # The hits and facet values are the sources as they are (app.resolvers.rows).
            items=cast(list[SearchHitType], result.hits),
            total_count=result.total,
            total_count_exact=result.total_exact,
            page_info=PageInfo(
                has_next_page=has_next,
                has_previous_page=request.offset > 0,
                start_cursor=None,
                end_cursor=None,
                page=request.page,
                limit=request.limit,
                total_pages=pages,
            ),
            facets=[
                SearchFacet(
                    field=SearchFacetField.of(name),
                    values=cast(list[SearchFacetValue], values),
                )
                for name, values in result.facets.items()
            ],
        )


@strawberry.type(description="An entity whose title completes a prefix.")
class SearchSuggestion:
    id: strawberry.ID = strawberry.field(description="The entity's id.")
    type: EntityType = strawberry.field(description="The entity's type.")
    slug: str = strawberry.field(description="The entity's slug.")
    title: str = strawberry.field(description="The title that completes the prefix.")


@strawberry.type
class SearchQueries:
    @strawberry.field(
        description="Full-text search over titles, descriptions, SKUs, brand and category "
        "names, best match first; a misspelt word still finds (PostgreSQL: trigram "
        "similarity of titles; SQLite: the word's first three letters). Anonymous callers "
        "find active entities only."
    )
    async def search(
        self,
        info: Info,
        q: Annotated[
            str | None,
            strawberry.argument(
                description='The query: words (all must match), "quoted phrases", -excluded, '
                "or. Empty: every entity the filters let through."
            ),
        ] = None,
        type: Annotated[
            EntityType | None, strawberry.argument(description="Only entities of this type.")
        ] = None,
        category: Annotated[
            str | None,
            strawberry.argument(description="Only entities in this category (id or slug)."),
        ] = None,
        brand: Annotated[
            str | None, strawberry.argument(description="Only entities of this brand (id or slug).")
        ] = None,
        status: Annotated[
            EntityStatus | None,
            strawberry.argument(
                description="Only entities with this status (other than ACTIVE needs "
                "catalog:read). Default: every status the caller may see."
            ),
        ] = None,
        facets: Annotated[
            list[SearchFacetField] | None,
            strawberry.argument(description="The fields to count results by. Default: none."),
        ] = None,
        page: PageArg = None,
        limit: LimitArg = None,
    ) -> SearchResults:
        request = PageRequest.build(page=page, limit=limit)
        context = info.context
        async with context.read_may_lag(info) as session:
            result = await service.search(
                session,
                context.actor,
                q=q,
                type=type,
                category=category,
                brand=brand,
                status=status,
                facets=[str(name) for name in facets or []],
                page=request,
            )
        return SearchResults.of(result)

    @strawberry.field(
        description="Entities whose title completes `prefix` (titles starting with it first), "
        "for autocomplete. Anonymous callers find active entities only."
    )
    async def suggest(
        self,
        info: Info,
        prefix: Annotated[str, strawberry.argument(description="What the user typed so far.")],
        type: Annotated[
            EntityType | None, strawberry.argument(description="Only entities of this type.")
        ] = None,
        limit: Annotated[
            int | None,
            strawberry.argument(
                description=f"How many suggestions, at most {service.SUGGEST_MAX}. "
                f"Default: {service.SUGGEST_DEFAULT}."
            ),
        ] = None,
    ) -> list[SearchSuggestion]:
        context = info.context
        async with context.read_may_lag(info) as session:
            hits = await service.suggest(
                session, context.actor, prefix=prefix, type=type, limit=limit
            )
        return cast(list[SearchSuggestion], hits)  # the hits as they are
