"""GraphQL for API keys: list, create (plaintext shown once), revoke."""

from __future__ import annotations

from datetime import datetime

import strawberry
from strawberry import Info

from app.auth.permissions import PERMISSION_PATTERN
from app.models.apikeys import ApiKey
from app.resolvers.arguments import page_request, uuid_or_not_found
from app.resolvers.pagination import Connection, to_connection
from app.resolvers.permissions import requires
from app.resolvers.rows import from_row
from app.services import apikeys as service

MANAGE = "apiKeys:manage"


@strawberry.type(name="ApiKey")
class ApiKeyType:
    id: strawberry.ID
    name: str
    prefix: str = strawberry.field(description="The key's first characters, to recognise it.")
    permissions: list[str]
    status: str = strawberry.field(description="active, revoked or expired.")
    created_at: datetime
    last_used_at: datetime | None
    expires_at: datetime | None
    revoked_at: datetime | None
    key: str | None = strawberry.field(
        default=None,
        description="The plaintext key: only in the createApiKey response, never again.",
    )

    @classmethod
    def from_row(cls, row: ApiKey, *, key: str | None = None) -> ApiKeyType:
        return from_row(cls, row, key=key)


@strawberry.input
class CreateApiKeyInput:
    name: str = strawberry.field(
        description="1 to 100 characters.",
        metadata={"jsonschema": {"minLength": 1, "maxLength": 100, "pattern": r"\S"}},
    )
    permissions: list[str] = strawberry.field(
        description="resource:action strings, wildcards allowed; at most the creator's own.",
        metadata={
            "jsonschema": {
                "minItems": 1,
                "maxItems": service.MAX_PERMISSIONS,
                "items": {"pattern": PERMISSION_PATTERN.pattern},
            }
        },
    )
    expires_at: datetime | None = strawberry.field(
        default=None, description="When the key stops working; in the future."
    )


@strawberry.input
class RevokeApiKeyInput:
    id: strawberry.ID


@strawberry.type
class ApiKeyQueries:
    @strawberry.field(permission_classes=[requires(MANAGE)])
    async def api_keys(
        self,
        info: Info,
        status: str | None = None,
        page: int | None = None,
        limit: int | None = None,
        offset: int | None = None,
        first: int | None = None,
        after: str | None = None,
    ) -> Connection[ApiKeyType]:
        request = page_request(page=page, limit=limit, offset=offset, first=first, after=after)
        async with info.context.read() as session:
            result = await service.list_api_keys(session, page=request, status=status)
        return to_connection(result, ApiKeyType.from_row)

    @strawberry.field(permission_classes=[requires(MANAGE)])
    async def api_key(self, info: Info, id: strawberry.ID) -> ApiKeyType:
        async with info.context.read() as session:
            row = await service.get_api_key(session, uuid_or_not_found(id, "API key"))
        return ApiKeyType.from_row(row)


@strawberry.type
class ApiKeyMutations:
    @strawberry.mutation(permission_classes=[requires(MANAGE)])
    async def create_api_key(self, info: Info, input: CreateApiKeyInput) -> ApiKeyType:
        async with info.context.command() as uow:
            row, plaintext = await service.create_api_key(
                uow,
                info.context.actor,
                name=input.name,
                permissions=input.permissions,
                expires_at=input.expires_at,
            )
        return ApiKeyType.from_row(row, key=plaintext)

    @strawberry.mutation(permission_classes=[requires(MANAGE)])
    async def revoke_api_key(self, info: Info, input: RevokeApiKeyInput) -> ApiKeyType:
        async with info.context.command() as uow:
            row = await service.revoke_api_key(
                uow, info.context.actor, id=uuid_or_not_found(input.id, "API key")
            )
        return ApiKeyType.from_row(row)
