"""The engine dialect's audit routes (seed 003, `/api/audit`)."""

from app.rest.dialects import ENGINE
from app.rest.table import Param, RestRoute

AUDIT_FIELDS = """
  items { id occurredAt actorType actorId event entityType entityId before after reason requestId }
  totalCount
  pageInfo { page limit hasNextPage endCursor }
"""

LIST = f"""
query AuditEntries($filter: AuditEntryFilter, $page: Int, $limit: Int) {{
  auditEntries(filter: $filter, page: $page, limit: $limit) {{ {AUDIT_FIELDS} }}
}}
"""

FILTERS = (
    Param("entityType", "filter.entityType", description="e.g. order, catalog_entity, api_key"),
    Param("entityId", "filter.entityId", description="The entity's id"),
    Param("event", "filter.event", description="Event name, e.g. orders.statusChange"),
    Param("actorId", "filter.actorId", description="The acting key or user"),
    Param("from", "filter.from", type="date-time", description="ISO 8601 start"),
    Param("to", "filter.to", type="date-time", description="ISO 8601 end"),
)

ROUTES = [
    RestRoute(
        "GET",
        "/api/audit",
        LIST,
        "auditEntries",
        ENGINE,
        summary="List audit entries (newest first; limit default 50, max 100)",
        tag="audit",
        query=FILTERS,
        paginated=True,
        permission="audit:read",
    ),
    RestRoute(
        "GET",
        "/api/audit/{entityType}/{entityId}",
        LIST,
        "auditEntries",
        ENGINE,
        summary="Audit history of one entity",
        tag="audit",
        paginated=True,
        permission="audit:read",
        path_params=(
            Param("entityType", "filter.entityType"),
            Param("entityId", "filter.entityId"),
        ),
        query=FILTERS[2:],
    ),
]
