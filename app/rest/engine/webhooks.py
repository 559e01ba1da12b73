"""The engine dialect's webhook routes (seed 003, `/api/webhooks`, `webhooks:manage`)."""

from app.rest.dialects import ENGINE
from app.rest.table import Param, RestRoute

FIELDS = "id url description events status disabledReason failingSince createdAt updatedAt"
EVENTS = (
    "Events are delivered as signed POSTs (Standard Webhooks: `webhook-id`, `webhook-timestamp`, "
    "`webhook-signature`) with the body `{id, type, timestamp, data}`."
)

ROUTES = [
    RestRoute(
        "POST",
        "/api/webhooks",
        f"""mutation CreateWebhookEndpoint($input: CreateWebhookEndpointInput!) {{
          createWebhookEndpoint(input: $input) {{ {FIELDS} secret }}
        }}""",
        "createWebhookEndpoint",
        ENGINE,
        summary="Register a webhook endpoint (its `secret` is shown once)",
        tag="webhooks",
        body="input",
        status=201,
        permission="webhooks:manage",
        description=f"The URL must resolve to public addresses only. {EVENTS}",
    ),
    RestRoute(
        "GET",
        "/api/webhooks",
        f"""query WebhookEndpoints($status: WebhookEndpointStatus, $page: Int, $limit: Int) {{
          webhookEndpoints(status: $status, page: $page, limit: $limit) {{
            items {{ {FIELDS} }} totalCount pageInfo {{ page limit }}
          }}
        }}""",
        "webhookEndpoints",
        ENGINE,
        summary="List registered webhook endpoints (newest first)",
        tag="webhooks",
        paginated=True,
        query=(Param("status", description="active or disabled"),),
        permission="webhooks:manage",
    ),
    RestRoute(
        "DELETE",
        "/api/webhooks/{id}",
        f"""mutation DeleteWebhookEndpoint($id: ID!) {{
          deleteWebhookEndpoint(input: {{id: $id}}) {{ {FIELDS} }}
        }}""",
        "deleteWebhookEndpoint",
        ENGINE,
        summary="Delete a webhook endpoint and its delivery log (answered as it was)",
        tag="webhooks",
        path_params=(Param("id", description="The endpoint's id"),),
        permission="webhooks:manage",
    ),
]
