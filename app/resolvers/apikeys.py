"""GraphQL for API keys: list, create (plaintext shown once), revoke."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import strawberry
from strawberry import Info

from app.auth.permissions import PERMISSION_PATTERN
from app.models.apikeys import ApiKey
from app.resolvers.arguments import (
    AfterArg,
    FirstArg,
    LimitArg,
    OffsetArg,
    PageArg,
    page_request,
    uuid_or_not_found,
)
from app.resolvers.enums import ApiKeyStatus
from app.resolvers.pagination import Connection, to_connection
from app.resolvers.permissions import requires
from app.resolvers.rows import from_row
from app.services import apikeys as service

MANAGE = "apiKeys:manage"


@strawberry.type(
    description="An API key: a credential for a program, with the permissions it grants.",
    name="ApiKey",
)
class ApiKeyType:
    id: strawberry.ID = strawberry.field(description="The API key's id.")
    name: str = strawberry.field(description="The name its creator gave the key.")
    prefix: str = strawberry.field(description="The key's first characters, to recognise it.")
    permissions: list[str] = strawberry.field(
        description="The resource:action permissions the key grants (wildcards allowed)."
    )
    status: ApiKeyStatus = strawberry.field(description="Whether the key is accepted.")
    created_at: datetime = strawberry.field(description="When the key was created.")
    last_used_at: datetime | None = strawberry.field(
        description="When the key last authenticated a request; null if never."
    )
    expires_at: datetime | None = strawberry.field(
        description="When the key stops working; null if it never expires."
    )
    revoked_at: datetime | None = strawberry.field(
        description="When the key was revoked; null if it is not."
    )
    key: str | None = strawberry.field(
        default=None,
        description="The plaintext key: only in the createApiKey response, never again.",
    )

    @classmethod
    def from_row(cls, row: ApiKey, *, key: str | None = None) -> ApiKeyType:
        return from_row(cls, row, key=key)


@strawberry.input(description="A new API key: its name, permissions and optional expiry.")
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


@strawberry.input(description="The API key to revoke.")
class RevokeApiKeyInput:
    id: strawberry.ID = strawberry.field(description="The id of the API key to revoke.")


@strawberry.type
class ApiKeyQueries:
    @strawberry.field(
        description="API keys, one page at a time. Needs apiKeys:manage.",
        permission_classes=[requires(MANAGE)],
    )
    async def api_keys(
        self,
        info: Info,
        status: Annotated[
            ApiKeyStatus | None,
            strawberry.argument(description="Only keys in this status. Default: all."),
        ] = None,
        page: PageArg = None,
        limit: LimitArg = None,
        offset: OffsetArg = None,
        first: FirstArg = None,
        after: AfterArg = None,
    ) -> Connection[ApiKeyType]:
        request = page_request(page=page, limit=limit, offset=offset, first=first, after=after)
        async with info.context.read() as session:
            result = await service.list_api_keys(session, page=request, status=status)
        return to_connection(result, ApiKeyType.from_row)

    @strawberry.field(
        description="An API key by its id (never its plaintext). Needs apiKeys:manage.",
        permission_classes=[requires(MANAGE)],
    )
    async def api_key(
        self,
        info: Info,
        id: Annotated[strawberry.ID, strawberry.argument(description="The API key's id.")],
    ) -> ApiKeyType:
        async with info.context.read() as session:
            row = await service.get_api_key(session, uuid_or_not_found(id, "API key"))
        return ApiKeyType.from_row(row)


@strawberry.type
class ApiKeyMutations:
    @strawberry.mutation(
        description=(
            "Create an API key; the response's `key` is the plaintext, shown "
            "this once only. Needs apiKeys:manage."
        ),
        permission_classes=[requires(MANAGE)],
    )
    async def create_api_key(
        self,
        info: Info,
        input: Annotated[
            CreateApiKeyInput,
            strawberry.argument(description="The key's name, permissions and expiry."),
        ],
    ) -> ApiKeyType:
        async with info.context.command() as uow:
            row, plaintext = await service.create_api_key(
                uow,
                info.context.actor,
                name=input.name,
                permissions=input.permissions,
                expires_at=input.expires_at,
            )
        return ApiKeyType.from_row(row, key=plaintext)

    @strawberry.mutation(
        description=(
            "Revoke an API key: it stops working at once, and sockets it opened are closed. "
            "Needs apiKeys:manage and every permission the key grants (as for minting)."
        ),
        permission_classes=[requires(MANAGE)],
    )
    async def revoke_api_key(
        self,
        info: Info,
        input: Annotated[RevokeApiKeyInput, strawberry.argument(description="The key to revoke.")],
    ) -> ApiKeyType:
        async with info.context.command() as uow:
            row = await service.revoke_api_key(
                uow, info.context.actor, id=uuid_or_not_found(input.id, "API key")
            )
        return ApiKeyType.from_row(row)
