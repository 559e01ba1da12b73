"""The gateway dialect's access-log route (seed 002, `GET /api/v1/logs`)."""

from app.rest.dialects import GATEWAY
from app.rest.table import Param, RestRoute

FIELDS = "timestamp level message userId ipAddress method path status durationMs requestId"

ROUTES = [
    RestRoute(
        "GET",
        "/api/v1/logs",
        f"""query AccessLogs($startDate: DateTime, $endDate: DateTime, $level: LogLevel,
                 $page: Int, $limit: Int, $offset: Int) {{
          accessLogs(filter: {{startDate: $startDate, endDate: $endDate, level: $level}},
                     page: $page, limit: $limit, offset: $offset) {{
            items {{ {FIELDS} }} totalCount pageInfo {{ page limit }}
          }}
        }}""",
        "accessLogs",
        GATEWAY,
        summary="List access-log entries",
        tag="logs",
        paginated=True,
        query=(
            Param("startDate", description="Only requests at or after this time (ISO 8601)"),
            Param("endDate", description="Only requests at or before this time (ISO 8601)"),
            Param("level", description="info, warn or error"),
        ),
        permission="logs:read",
        description="Every HTTP request the server answered, newest first, as `{timestamp, "
        "level, message, userId, ipAddress, method, path, status, durationMs, requestId}`. "
        "The path never holds the query string. startDate after endDate is a 400.",
    ),
]
