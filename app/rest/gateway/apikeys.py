"""The gateway dialect's API-key routes (seed 000, `/api/v1/api-keys`)."""

from app.rest.dialects import GATEWAY
from app.rest.table import Param, RestRoute

FIELDS = "id name prefix permissions status createdAt lastUsedAt expiresAt revokedAt"

ROUTES = [
    RestRoute(
        "GET",
        "/api/v1/api-keys",
        f"""query ApiKeys($status: ApiKeyStatus, $page: Int, $limit: Int, $offset: Int) {{
          apiKeys(status: $status, page: $page, limit: $limit, offset: $offset) {{
            items {{ {FIELDS} }} totalCount pageInfo {{ page limit }}
          }}
        }}""",
        "apiKeys",
        GATEWAY,
        summary="List API keys",
        tag="api-keys",
        paginated=True,
        query=(Param("status", description="active or revoked"),),
        permission="apiKeys:manage",
    ),
    RestRoute(
        "POST",
        "/api/v1/api-keys",
        f"""mutation CreateApiKey($input: CreateApiKeyInput!) {{
          createApiKey(input: $input) {{ {FIELDS} key }}
        }}""",
        "createApiKey",
        GATEWAY,
        summary="Create an API key (the plaintext `key` is shown once)",
        tag="api-keys",
        body="input",
        status=201,
        permission="apiKeys:manage",
    ),
    RestRoute(
        "DELETE",
        "/api/v1/api-keys/{id}",
        f"""mutation RevokeApiKey($id: ID!) {{
          revokeApiKey(input: {{id: $id}}) {{ {FIELDS} }}
        }}""",
        "revokeApiKey",
        GATEWAY,
        summary="Revoke an API key",
        tag="api-keys",
        path_params=(Param("id"),),
        permission="apiKeys:manage",
        description="As for minting, the caller must hold every permission the key grants "
        "(else 403); the key stops working at once and its open websockets are closed (4403).",
        extra_responses={409: "Already revoked"},
    ),
]
