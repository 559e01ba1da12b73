"""GraphQL for OAuth 2.0 clients: register (the secret shown once), list, revoke."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import strawberry
from strawberry import Info

from app.models.oauth import OAuthClient
from app.resolvers.arguments import (
    AfterArg,
    FirstArg,
    LimitArg,
    OffsetArg,
    PageArg,
    page_request,
    uuid_or_not_found,
)
from app.resolvers.enums import OAuthClientStatus, OAuthGrantType
from app.resolvers.pagination import Connection, to_connection
from app.resolvers.permissions import requires
from app.services import oauth as service

MANAGE = "oauthClients:manage"


@strawberry.type(
    description=(
        "An OAuth 2.0 client: an integrator (client credentials) or an app acting for "
        "signed-in users (authorization code with PKCE)."
    ),
    name="OAuthClient",
)
class OAuthClientType:
    id: strawberry.ID = strawberry.field(description="The client's record id.")
    client_id: str = strawberry.field(
        description="The public client identifier it presents as `client_id`."
    )
    name: str = strawberry.field(description="The name shown to users on the consent page.")
    redirect_uris: list[str] = strawberry.field(
        description="Where users may be sent back with a code (exact match)."
    )
    grant_types: list[OAuthGrantType] = strawberry.field(
        description="The grant types it may use at the token endpoint."
    )
    scopes: list[str] = strawberry.field(
        description=(
            "The scopes it may be given: resource:action permissions (wildcards allowed) "
            "and `customer` (acting as the signed-in user's own customer record)."
        )
    )
    confidential: bool = strawberry.field(
        description="Whether it has a secret (a server); false for a browser or native app."
    )
    status: OAuthClientStatus = strawberry.field(description="Whether it is accepted.")
    created_at: datetime = strawberry.field(description="When it was registered.")
    created_by: str | None = strawberry.field(description="The id of the actor that registered it.")
    revoked_at: datetime | None = strawberry.field(
        description="When it was revoked; null if it is not."
    )
    client_secret: str | None = strawberry.field(
        default=None,
        description=(
            "The client secret: only in the createOAuthClient response of a confidential "
            "client, never again."
        ),
    )

    @classmethod
    def from_row(cls, row: OAuthClient, *, secret: str | None = None) -> OAuthClientType:
        return cls(
            id=strawberry.ID(str(row.id)),
            client_id=row.client_id,
            name=row.name,
            redirect_uris=list(row.redirect_uris),
            grant_types=[OAuthGrantType.of(g) for g in row.grant_types],
            scopes=list(row.scopes),
            confidential=row.confidential,
            status=OAuthClientStatus.REVOKED if row.revoked_at else OAuthClientStatus.ACTIVE,
            created_at=row.created_at,
            created_by=row.created_by,
            revoked_at=row.revoked_at,
            client_secret=secret,
        )


@strawberry.input(description="A new OAuth client.")
class CreateOAuthClientInput:
    name: str = strawberry.field(
        description="1 to 100 characters, shown to users on the consent page.",
        metadata={"jsonschema": {"minLength": 1, "maxLength": 100, "pattern": r"\S"}},
    )
    grant_types: list[OAuthGrantType] = strawberry.field(
        description="The grant types it may use; client credentials need a confidential client.",
        metadata={"jsonschema": {"minItems": 1, "maxItems": 3}},
    )
    scopes: list[str] = strawberry.field(
        description=(
            "resource:action permissions (wildcards allowed, at most the creator's own) "
            "and/or `customer`."
        ),
        metadata={"jsonschema": {"minItems": 1, "maxItems": service.MAX_SCOPES}},
    )
    redirect_uris: list[str] = strawberry.field(
        default_factory=list,
        description=(
            "Absolute https URIs (http only on loopback) users are sent back to; needed for "
            "the authorization code grant."
        ),
        metadata={"jsonschema": {"maxItems": service.MAX_REDIRECT_URIS}},
    )
    confidential: bool = strawberry.field(
        default=True,
        description="Whether it gets a secret (default); false for a browser or native app.",
    )


@strawberry.input(description="The OAuth client to revoke.")
class RevokeOAuthClientInput:
    id: strawberry.ID = strawberry.field(description="The client's record id.")


@strawberry.type
class OAuthClientQueries:
    @strawberry.field(
        name="oauthClients",
        description="OAuth clients, newest first, one page at a time. Needs oauthClients:manage.",
        permission_classes=[requires(MANAGE)],
    )
    async def oauth_clients(
        self,
        info: Info,
        status: Annotated[
            OAuthClientStatus | None,
            strawberry.argument(description="Only clients in this status. Default: all."),
        ] = None,
        page: PageArg = None,
        limit: LimitArg = None,
        offset: OffsetArg = None,
        first: FirstArg = None,
        after: AfterArg = None,
    ) -> Connection[OAuthClientType]:
        request = page_request(page=page, limit=limit, offset=offset, first=first, after=after)
        async with info.context.read() as session:
            result = await service.list_oauth_clients(session, page=request, status=status)
        return to_connection(result, OAuthClientType.from_row)


@strawberry.type
class OAuthClientMutations:
    @strawberry.mutation(
        name="createOAuthClient",
        description=(
            "Register an OAuth client; the response's `clientSecret` is shown this once only. "
            "Needs oauthClients:manage and every permission among its scopes."
        ),
        permission_classes=[requires(MANAGE)],
    )
    async def create_oauth_client(
        self,
        info: Info,
        input: Annotated[
            CreateOAuthClientInput,
            strawberry.argument(description="The client's name, grants, scopes and URIs."),
        ],
    ) -> OAuthClientType:
        async with info.context.command() as uow:
            row, secret = await service.create_oauth_client(
                uow,
                info.context.actor,
                name=input.name,
                redirect_uris=input.redirect_uris,
                grant_types=[str(g) for g in input.grant_types],
                scopes=input.scopes,
                confidential=input.confidential,
            )
        return OAuthClientType.from_row(row, secret=secret)

    @strawberry.mutation(
        name="revokeOAuthClient",
        description=(
            "Revoke an OAuth client: it gets no more tokens and every token it holds stops "
            "working at once. Needs oauthClients:manage."
        ),
        permission_classes=[requires(MANAGE)],
    )
    async def revoke_oauth_client(
        self,
        info: Info,
        input: Annotated[
            RevokeOAuthClientInput, strawberry.argument(description="The client to revoke.")
        ],
    ) -> OAuthClientType:
        async with info.context.command() as uow:
            row = await service.revoke_oauth_client(
                uow, info.context.actor, id=uuid_or_not_found(input.id, "OAuth client")
            )
        return OAuthClientType.from_row(row)
