"""The engine dialect's search routes (seed 003, `/api/search`): public, like the catalog."""

from __future__ import annotations

from typing import Any

from app.rest.dialects import ENGINE
from app.rest.jsonschema import all_required
from app.rest.jsonschema import string as _string
from app.rest.table import Param, RestRoute
from app.search.backend import MAX_RESULTS

SEARCH = """
query Search($q: String, $type: EntityType, $category: String, $brand: String,
             $status: EntityStatus, $facets: [SearchFacetField!], $page: Int, $limit: Int) {
  search(q: $q, type: $type, category: $category, brand: $brand, status: $status,
         facets: $facets, page: $page, limit: $limit) {
    items { id type status slug title score }
    totalCount
    totalCountExact
    pageInfo { page limit totalPages }
    facets { field values { value label count } }
  }
}
"""

SUGGEST = """
query Suggest($prefix: String!, $type: EntityType, $limit: Int) {
  suggest(prefix: $prefix, type: $type, limit: $limit) { id type slug title }
}
"""

HIT_SCHEMA = all_required(
    {
        "title": "SearchHit",
        "type": "object",
        "properties": {
            "id": _string(),
            "type": _string(),
            "status": _string(),
            "slug": _string(),
            "title": _string(),
            "score": {"type": "number"},
        },
    }
)


def _hits(data: dict[str, Any]) -> Any:
    return data["items"]


def _meta(data: dict[str, Any]) -> dict[str, Any]:
    """As documented: meta with total, page, limit and the requested facets' counts
    (`{"brand": [{"value", "label", "count"}]}`), plus totalPages and totalExact (false
    when more matched than `total`, the cap, says)."""
    info = data["pageInfo"]
    return {
        "total": data["totalCount"],
        "totalExact": data["totalCountExact"],
        "page": info["page"],
        "limit": info["limit"],
        "totalPages": info["totalPages"],
        "facets": {facet["field"]: facet["values"] for facet in data["facets"]},
    }


ROUTES = [
    RestRoute(
        "GET",
        "/api/search",
        SEARCH,
        "search",
        ENGINE,
        summary="Full-text search across catalog entities",
        tag="search",
        query=(
            Param("q", description="Search query"),
            Param("type", description="Filter by entity type"),
            Param("category", description="Filter by category (id or slug)"),
            Param("brand", description="Filter by brand (id or slug)"),
            Param("status", description="Filter by status (other than active needs catalog:read)"),
            Param("page", type="integer", description="Page number (default 1)", minimum=1),
            Param(
                "limit",
                type="integer",
                description="Results per page (default 20, max 100)",
                minimum=1,
            ),
            Param(
                "facets",
                type="csv",
                description="Comma-separated facet fields to return: type, category, brand, status",
            ),
        ),
        shape=_hits,
        shaped_schema={"type": "array", "items": HIT_SCHEMA},
        meta=_meta,
        description="Hits best first (title and SKU matches above brand and category, above "
        "description); a misspelt word still finds. `meta` holds total, page, limit, "
        "totalPages and `facets`: per requested field, its values with their counts over the "
        f"whole result, not the page. Results are counted up to {MAX_RESULTS:,}: when more "
        f"match, `total` is {MAX_RESULTS:,} with `totalExact` false, pages end there and the "
        "facets count those first ones. Anonymous callers find active entities only.",
    ),
    RestRoute(
        "GET",
        "/api/search/suggest",
        SUGGEST,
        "suggest",
        ENGINE,
        summary="Autocomplete prefix suggestions",
        tag="search",
        query=(
            Param("prefix", required=True, description="Prefix to match"),
            Param("type", description="Filter by entity type"),
            Param("limit", type="integer", description="Max suggestions (default 10, max 50)"),
        ),
        shaped_schema={
            "type": "array",
            "items": all_required(
                {
                    "title": "SearchSuggestion",
                    "type": "object",
                    "properties": {
                        "id": _string(),
                        "type": _string(),
                        "slug": _string(),
                        "title": _string(),
                    },
                }
            ),
        },
        description="Entities whose title completes the prefix, titles starting with it "
        "first. Anonymous callers find active entities only.",
    ),
]
