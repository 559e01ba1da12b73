"""The gateway dialect's webhook routes (seed 000, `/api/v1/webhooks`, `webhooks:manage`)."""

from app.rest.dialects import GATEWAY
from app.rest.engine.webhooks import webhook_routes

ROUTES = webhook_routes("/api/v1/webhooks", GATEWAY)
