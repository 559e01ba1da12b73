"""The gateway dialect's users route (seed 002, `GET /api/v1/users`)."""

from app.rest.dialects import GATEWAY
from app.rest.table import Param, RestRoute

FIELDS = "id username email status createdAt"

ROUTES = [
    RestRoute(
        "GET",
        "/api/v1/users",
        f"""query Users($status: UserStatus, $page: Int, $limit: Int, $offset: Int) {{
          users(filter: {{status: $status}}, page: $page, limit: $limit, offset: $offset) {{
            items {{ {FIELDS} }} totalCount pageInfo {{ page limit }}
          }}
        }}""",
        "users",
        GATEWAY,
        summary="List users",
        tag="users",
        paginated=True,
        query=(Param("status", description="active or inactive"),),
        permission="users:read",
        description="Customers and staff, oldest first, as `{id, username, email, status, "
        "createdAt}`.",
    ),
]
