"""The engine dialect's analytics routes (seed 003, `/api/analytics`)."""

from typing import Any

from app.rest.dialects import ENGINE
from app.rest.table import RestRoute

MEMBER = "name title type"
META = f"""
query AnalyticsMeta {{
  analyticsMeta {{
    models {{ name title measures {{ {MEMBER} }} dimensions {{ {MEMBER} }} }}
    granularities operators defaultLimit maxLimit
  }}
}}
"""
QUERY = """
query Analytics($query: AnalyticsQueryInput!) {
  analytics(query: $query) { rows limit truncated }
}
"""


def _rows(result: dict[str, Any]) -> Any:
    return result["rows"]


def _meta(result: dict[str, Any]) -> dict[str, Any]:
    return {"limit": result["limit"], "truncated": result["truncated"]}


ROUTES = [
    RestRoute(
        "GET",
        "/api/analytics/meta",
        META,
        "analyticsMeta",
        ENGINE,
        summary="The analytics models, their measures and dimensions",
        tag="analytics",
        permission="analytics:read",
    ),
    RestRoute(
        "POST",
        "/api/analytics/query",
        QUERY,
        "analytics",
        ENGINE,
        summary="Answer an analytics query",
        tag="analytics",
        body="query",
        permission="analytics:read",
        shape=_rows,
        meta=_meta,
        description='`{"measures": ["orders.count", "orders.revenue"], "dimensions": '
        '["orders.status"], "timeDimensions": [{"dimension": "orders.createdAt", "granularity": '
        '"day", "dateRange": ["2026-01-01", "2026-12-31"]}], "filters": [{"member": '
        '"orders.currency", "operator": "equals", "values": ["USD"]}], "order": '
        '{"orders.revenue": "desc"}, "limit": 100}` answers `{"data": [rows], "meta": {"limit", '
        '"truncated"}}`, each row keyed by member (a time bucket as `orders.createdAt.day`). '
        "Only members listed by `GET /api/analytics/meta` are accepted, from one model per "
        "query; money is in minor units beside its currency. Read from one snapshot, under a "
        "statement timeout; at most 1000 rows.",
    ),
]
