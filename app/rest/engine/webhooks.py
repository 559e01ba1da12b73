"""The engine dialect's webhook routes (seed 003, `/api/webhooks`, `webhooks:manage`)."""

from app.rest.dialects import ENGINE, Dialect
from app.rest.table import Param, RestRoute

FIELDS = "id url description events status disabledReason failingSince createdAt updatedAt"
EVENTS = (
    "Events are delivered as signed POSTs (Standard Webhooks: `webhook-id`, `webhook-timestamp`, "
    "`webhook-signature`) with the body `{id, type, timestamp, data}`."
)


def webhook_routes(base: str, dialect: Dialect) -> list[RestRoute]:
    """The three routes, the same in both dialects but for the path and the envelope (seed 003's
    `/api/webhooks`, seed 000's `/api/v1/webhooks`)."""
    return [
        RestRoute(
            "POST",
            base,
            f"""mutation CreateWebhookEndpoint($input: CreateWebhookEndpointInput!) {{
              createWebhookEndpoint(input: $input) {{ {FIELDS} secret }}
            }}""",
            "createWebhookEndpoint",
            dialect,
            summary="Register a webhook endpoint (its `secret` is shown once)",
            tag="webhooks",
            body="input",
            status=201,
            permission="webhooks:manage",
            description=f"The URL must resolve to public addresses only. {EVENTS}",
        ),
        RestRoute(
            "GET",
            base,
            f"""query WebhookEndpoints(
              $status: WebhookEndpointStatus, $page: Int, $limit: Int, $offset: Int
            ) {{
              webhookEndpoints(status: $status, page: $page, limit: $limit, offset: $offset) {{
                items {{ {FIELDS} }} totalCount pageInfo {{ page limit }}
              }}
            }}""",
            "webhookEndpoints",
            dialect,
            summary="List registered webhook endpoints (newest first)",
            tag="webhooks",
            paginated=True,
            query=(Param("status", description="active or disabled"),),
            permission="webhooks:manage",
        ),
        RestRoute(
            "DELETE",
            f"{base}/{{id}}",
            f"""mutation DeleteWebhookEndpoint($id: ID!) {{
              deleteWebhookEndpoint(input: {{id: $id}}) {{ {FIELDS} }}
            }}""",
            "deleteWebhookEndpoint",
            dialect,
            summary="Delete a webhook endpoint and its delivery log (answered as it was)",
            tag="webhooks",
            path_params=(Param("id", description="The endpoint's id"),),
            permission="webhooks:manage",
        ),
    ]


ROUTES = webhook_routes("/api/webhooks", ENGINE)
