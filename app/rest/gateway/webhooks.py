"""The gateway dialect's webhook routes (seed 000, `/api/v1/webhooks`, `webhooks:manage`)."""

from app.rest.dialects import GATEWAY
from app.rest.engine.webhooks import EVENTS, FIELDS
from app.rest.table import Param, RestRoute

ROUTES = [
    RestRoute(
        "POST",
        "/api/v1/webhooks",
        f"""mutation CreateWebhookEndpoint($input: CreateWebhookEndpointInput!) {{
          createWebhookEndpoint(input: $input) {{ {FIELDS} secret }}
        }}""",
        "createWebhookEndpoint",
        GATEWAY,
        summary="Register a webhook endpoint (its `secret` is shown once)",
        tag="webhooks",
        body="input",
        status=201,
        permission="webhooks:manage",
        description=f"The URL must resolve to public addresses only. {EVENTS}",
    ),
    RestRoute(
        "GET",
        "/api/v1/webhooks",
        f"""query WebhookEndpoints(
          $status: WebhookEndpointStatus, $page: Int, $limit: Int, $offset: Int
        ) {{
          webhookEndpoints(status: $status, page: $page, limit: $limit, offset: $offset) {{
            items {{ {FIELDS} }} totalCount pageInfo {{ page limit }}
          }}
        }}""",
        "webhookEndpoints",
        GATEWAY,
        summary="List registered webhook endpoints (newest first)",
        tag="webhooks",
        paginated=True,
        query=(Param("status", description="active or disabled"),),
        permission="webhooks:manage",
    ),
    RestRoute(
        "DELETE",
        "/api/v1/webhooks/{id}",
        f"""mutation DeleteWebhookEndpoint($id: ID!) {{
          deleteWebhookEndpoint(input: {{id: $id}}) {{ {FIELDS} }}
        }}""",
        "deleteWebhookEndpoint",
        GATEWAY,
        summary="Delete a webhook endpoint and its delivery log (answered as it was)",
        tag="webhooks",
        path_params=(Param("id", description="The endpoint's id"),),
        permission="webhooks:manage",
    ),
]
