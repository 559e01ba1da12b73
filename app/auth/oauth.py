"""The OAuth 2.0 authorization server: authlib's server core on our async database.

authlib's `AuthorizationServer`, its grants (authorization code with the RFC 7636 PKCE
extension, client credentials, refresh token) and its RFC 7009 / RFC 7662 endpoints implement
the protocol: parameter checks, client authentication, error bodies and status codes. We
supply the storage hooks (`query_client`, `save_token`, `query_authorization_code`, ...).

How it meets the event loop: authlib is synchronous, calling those hooks as plain functions,
while our database is async. Each OAuth request therefore runs authlib in a worker thread
(`asyncio.to_thread`), and every hook hands its database work back to the event loop with
`asyncio.run_coroutine_threadsafe(coro, loop).result()`, blocking only the worker thread
while the loop stays free to serve everything else. The coroutines all use one unit of work
opened for the request before the thread starts (so a token request is one transaction; the
consent page and introspection, which only read, use a read session instead), and
only the loop's thread ever touches that session: the worker waits for each statement in turn,
so the session is never used by two threads or two statements at once. After authlib answers,
the loop commits, error answers included: a failed exchange still spends the code it tried
(one attempt per code), and a replayed code or refresh token revokes what it issued. Only an
unexpected exception rolls back. Hooks return plain snapshots (`ClientView`, `CodeView`,
`TokenView`, `UserView`), never ORM objects, so nothing can lazy-load from the worker thread.

The alternatives were worse: authlib called on the loop could not wait for the database at
all (a synchronous hook cannot await, and blocking on the loop's own future deadlocks); a
second, synchronous engine would double the pools and could not share
the request's transaction; reading everything authlib might ask for up front would duplicate
authlib's own decisions about what to look up.

Transport security is the deployment's (a TLS-terminating proxy, as for the session cookie's
`Secure` flag): authlib's own https check would refuse every request behind such a proxy.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import uuid
from collections.abc import Coroutine, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, TypeVar

from authlib.oauth2.rfc6749 import (  # type: ignore[import-untyped]
    AuthorizationServer,
    ClientMixin,
    InvalidGrantError,
    InvalidRequestError,
    InvalidScopeError,
    OAuth2Error,
    OAuth2Payload,
    OAuth2Request,
    UnauthorizedClientError,
    grants,
)
from authlib.oauth2.rfc7009 import RevocationEndpoint  # type: ignore[import-untyped]
from authlib.oauth2.rfc7636 import CodeChallenge  # type: ignore[import-untyped]
from authlib.oauth2.rfc7662 import IntrospectionEndpoint  # type: ignore[import-untyped]
from sqlalchemy.ext.asyncio import AsyncSession

from app.db import Database
from app.models.base import utcnow
from app.models.oauth import CUSTOMER_SCOPE, OAuthClient, OAuthToken
from app.services import oauth as store
from app.services.apikeys import hash_key
from app.services.sessions import active_user

T = TypeVar("T")
# authlib logs issued tokens (`Issue token {...} to ...`) at DEBUG: never, whatever the level.
logging.getLogger("authlib").setLevel(logging.INFO)
CONFIDENTIAL_METHODS = ("client_secret_basic", "client_secret_post")
ALL_METHODS = [*CONFIDENTIAL_METHODS, "none"]
READ_ONLY = frozenset({"consent", "introspection"})
# A hook waits this long for its statement; a stuck database fails the request, not the thread.
HOOK_TIMEOUT = 30.0


# ---- what the hooks hand authlib -------------------------------------------------------------


@dataclass(frozen=True)
class ClientView(ClientMixin):  # type: ignore[misc]
    id: uuid.UUID
    client_id: str
    secret_hash: str | None
    name: str
    redirect_uris: tuple[str, ...]
    grant_types: tuple[str, ...]
    scopes: tuple[str, ...]
    confidential: bool

    @classmethod
    def of(cls, row: OAuthClient) -> ClientView:
        return cls(
            id=row.id,
            client_id=row.client_id,
            secret_hash=row.secret_hash,
            name=row.name,
            redirect_uris=tuple(row.redirect_uris),
            grant_types=tuple(row.grant_types),
            scopes=tuple(row.scopes),
            confidential=row.confidential,
        )

    def get_client_id(self) -> str:
        return self.client_id

    def get_default_redirect_uri(self) -> str | None:
        # Only a client with a single redirect URI may leave it out of the request.
        return self.redirect_uris[0] if len(self.redirect_uris) == 1 else None

    def get_allowed_scope(self, scope: str | None) -> str | None:
        """The scope a user may grant: what was asked (all the client's scopes when nothing
        was); None (invalid_scope) when anything asked lies outside them."""
        asked = store.scope_list(scope)
        if not asked:
            return " ".join(self.scopes)
        return " ".join(asked) if store.covers(self.scopes, asked) else None

    def client_scope(self, scope: str | None) -> str | None:
        """The scope of a client-credentials token: as `get_allowed_scope`, less `customer`
        (there is no user to act for), which is invalid when asked for."""
        asked = store.scope_list(scope)
        if CUSTOMER_SCOPE in asked:
            return None
        if not asked:
            return " ".join(s for s in self.scopes if s != CUSTOMER_SCOPE) or None
        return " ".join(asked) if store.covers(self.scopes, asked) else None

    def check_redirect_uri(self, redirect_uri: str) -> bool:
        return redirect_uri in self.redirect_uris

    def check_client_secret(self, client_secret: str) -> bool:
        return self.secret_hash is not None and hmac.compare_digest(
            self.secret_hash, hash_key(client_secret)
        )

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        if self.confidential:
            return method in CONFIDENTIAL_METHODS
        return method == "none"

    def check_response_type(self, response_type: str) -> bool:
        return response_type == "code" and "authorization_code" in self.grant_types

    def check_grant_type(self, grant_type: str) -> bool:
        return grant_type in self.grant_types


@dataclass(frozen=True)
class UserView:
    id: uuid.UUID
    name: str


@dataclass(frozen=True)
class CodeView:
    id: uuid.UUID
    user_id: uuid.UUID
    redirect_uri: str | None
    scope: str
    code_challenge: str
    code_challenge_method: str

    def get_redirect_uri(self) -> str | None:
        return self.redirect_uri

    def get_scope(self) -> str:
        return self.scope


@dataclass(frozen=True)
class TokenView:
    id: uuid.UUID
    kind: str  # access_token or refresh_token
    client: uuid.UUID
    client_id: str
    user_id: uuid.UUID | None
    scope: str
    family_id: uuid.UUID
    code_id: uuid.UUID | None
    created_at: datetime
    expires_at: datetime
    revoked: bool

    @classmethod
    def of(cls, row: OAuthToken, kind: str, client_id: str) -> TokenView:
        refresh = kind == "refresh_token"
        return cls(
            id=row.id,
            kind=kind,
            client=row.client_id,
            client_id=client_id,
            user_id=row.user_id,
            scope=row.scope,
            family_id=row.family_id,
            code_id=row.code_id,
            created_at=row.created_at,
            expires_at=(row.refresh_expires_at or row.created_at)
            if refresh
            else row.access_expires_at,
            revoked=row.revoked_at is not None or (refresh and row.rotated_at is not None),
        )

    def check_client(self, client: ClientView) -> bool:
        return self.client == client.id

    def get_scope(self) -> str:
        return self.scope

    def is_expired(self) -> bool:
        return self.expires_at <= utcnow()

    def is_revoked(self) -> bool:
        return self.revoked


# ---- requests --------------------------------------------------------------------------------


class FormPayload(OAuth2Payload):  # type: ignore[misc]
    """The request's parameters: query and form together (the consent form posts them back),
    each name keeping every value so that authlib can refuse a repeated one."""

    def __init__(self, values: list[tuple[str, str]]) -> None:
        self._datalist: dict[str, list[str]] = {}
        for key, value in values:
            self._datalist.setdefault(key, []).append(value)
        self._data = {key: items[0] for key, items in self._datalist.items()}

    @property
    def data(self) -> dict[str, str]:
        return self._data

    @property
    def datalist(self) -> dict[str, list[str]]:
        return self._datalist


class Request(OAuth2Request):  # type: ignore[misc]
    """An HTTP request as authlib reads it, built from what the loop already read."""

    def __init__(
        self,
        method: str,
        uri: str,
        headers: Mapping[str, str],
        query: list[tuple[str, str]],
        form: list[tuple[str, str]],
    ) -> None:
        # authlib refuses plain http here; TLS is the proxy's (see the module docstring).
        super().__init__(method, "https://oauth.invalid/", headers=headers)
        self.uri = uri
        self._query = dict(query)
        self._form = dict(form)
        self.payload = FormPayload([*query, *form])

    @property
    def args(self) -> dict[str, str]:
        return self._query

    @property
    def form(self) -> dict[str, str]:
        return self._form


@dataclass(frozen=True)
class Consent:
    """A valid authorization request, for the consent page."""

    client_name: str
    scopes: list[str]
    redirect_uri: str


@dataclass
class Answer:
    status: int
    body: Any
    headers: list[tuple[str, str]] = field(default_factory=list)


# ---- the server ------------------------------------------------------------------------------


class Bridge:
    """Runs a hook's coroutine on the event loop, on the request's session, from the worker
    thread authlib runs in."""

    def __init__(self, loop: asyncio.AbstractEventLoop, session: AsyncSession) -> None:
        self.loop = loop
        self.session = session

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(HOOK_TIMEOUT)


class PkceS256(CodeChallenge):  # type: ignore[misc]
    """PKCE is required of every authorization request, and only with S256."""

    DEFAULT_CODE_CHALLENGE_METHOD = "S256"
    SUPPORTED_CODE_CHALLENGE_METHOD = ["S256"]

    def validate_code_challenge(self, grant: Any, redirect_uri: str) -> None:
        data = grant.request.payload.data
        if not data.get("code_challenge"):
            raise InvalidRequestError("Missing 'code_challenge' (PKCE with S256 is required).")
        if data.get("code_challenge_method") != "S256":
            raise InvalidRequestError("'code_challenge_method' must be S256.")
        super().validate_code_challenge(grant, redirect_uri)


class AuthorizationCodeGrant(grants.AuthorizationCodeGrant):  # type: ignore[misc]
    TOKEN_ENDPOINT_AUTH_METHODS = ALL_METHODS
    server: Server

    def generate_authorization_code(self) -> str:
        return store.new_code()

    def save_authorization_code(self, code: str, request: Request) -> None:
        data = request.payload.data
        self.server.bridge.run(
            store.save_code(
                self.server.bridge.session,
                code=code,
                client=request.client.id,
                user=request.user.id,
                redirect_uri=data.get("redirect_uri"),
                scope=request.scope or "",
                code_challenge=data["code_challenge"],
                code_challenge_method=data["code_challenge_method"],
            )
        )

    def query_authorization_code(self, code: str, client: ClientView) -> CodeView | None:
        row = self.server.bridge.run(store.claim_code(self.server.bridge.session, code, client.id))
        if row is None:
            return None
        return CodeView(
            id=row.id,
            user_id=row.user_id,
            redirect_uri=row.redirect_uri,
            scope=row.scope,
            code_challenge=row.code_challenge,
            code_challenge_method=row.code_challenge_method,
        )

    def delete_authorization_code(self, authorization_code: CodeView) -> None:
        """Nothing to do: `query_authorization_code` spent the code when it claimed it."""

    def authenticate_user(self, authorization_code: CodeView) -> UserView | None:
        return self.server.user(authorization_code.user_id)


class ClientCredentialsGrant(grants.ClientCredentialsGrant):  # type: ignore[misc]
    TOKEN_ENDPOINT_AUTH_METHODS = list(CONFIDENTIAL_METHODS)

    def validate_token_request(self) -> None:
        client = self.authenticate_token_endpoint_client()
        if not client.check_grant_type(self.GRANT_TYPE):
            raise UnauthorizedClientError(
                f"The client is not authorized to use 'grant_type={self.GRANT_TYPE}'"
            )
        scope = client.client_scope(self.request.payload.scope)
        if scope is None:
            raise InvalidScopeError()
        self.request.client = client
        self.request.scope = scope

    def create_token_response(self) -> tuple[int, dict[str, Any], list[tuple[str, str]]]:
        token = self.generate_token(scope=self.request.scope, include_refresh_token=False)
        self.save_token(token)
        return 200, token, self.TOKEN_RESPONSE_HEADER


class RefreshTokenGrant(grants.RefreshTokenGrant):  # type: ignore[misc]
    TOKEN_ENDPOINT_AUTH_METHODS = ALL_METHODS
    INCLUDE_NEW_REFRESH_TOKEN = True
    server: Server

    def authenticate_refresh_token(self, refresh_token: str) -> TokenView | None:
        client: ClientView = self.request.client
        bridge = self.server.bridge
        row = bridge.run(store.find_refresh(bridge.session, refresh_token, client.id))
        return TokenView.of(row, "refresh_token", client.client_id) if row else None

    def validate_token_request(self) -> None:
        super().validate_token_request()
        # Rotation: the presented refresh token is spent now, whatever follows.
        token: TokenView = self.request.refresh_token
        bridge = self.server.bridge
        row = bridge.run(bridge.session.get(OAuthToken, token.id))
        if row is None or not bridge.run(store.rotate(bridge.session, row)):
            raise InvalidGrantError()

    def authenticate_user(self, refresh_token: TokenView) -> UserView | None:
        return self.server.user(refresh_token.user_id)

    def revoke_old_credential(self, refresh_token: TokenView) -> None:
        """Nothing to do: `validate_token_request` spent it (its access token lives out its
        short life, as the client may still be using it)."""


class Revocation(RevocationEndpoint):  # type: ignore[misc]
    CLIENT_AUTH_METHODS = ALL_METHODS
    server: Server

    def query_token(self, token_string: str, token_type_hint: str | None) -> TokenView | None:
        return self.server.token(token_string)

    def revoke_token(self, token: TokenView, request: Request) -> None:
        bridge = self.server.bridge

        async def revoke() -> None:
            row = await bridge.session.get(OAuthToken, token.id)
            if row is not None:
                await store.revoke_token(bridge.session, row, token.kind)

        bridge.run(revoke())


class Introspection(IntrospectionEndpoint):  # type: ignore[misc]
    # Only confidential clients introspect, and only their own tokens: a token of another
    # client is `active: false`, so introspection cannot be used to probe tokens.
    CLIENT_AUTH_METHODS = list(CONFIDENTIAL_METHODS)
    server: Server

    def query_token(self, token_string: str, token_type_hint: str | None) -> TokenView | None:
        return self.server.token(token_string)

    def check_permission(self, token: TokenView, client: ClientView, request: Request) -> bool:
        return token.check_client(client)

    def introspect_token(self, token: TokenView) -> dict[str, Any]:
        body: dict[str, Any] = {
            "active": True,
            "scope": token.scope,
            "client_id": token.client_id,
            "token_type": "Bearer" if token.kind == "access_token" else "refresh_token",
            "exp": int(token.expires_at.timestamp()),
            "iat": int(token.created_at.timestamp()),
        }
        if token.user_id is not None:
            body["sub"] = str(token.user_id)
        return body


class Server(AuthorizationServer):  # type: ignore[misc]
    """One per request: it carries the request's bridge (loop and session)."""

    def __init__(self, bridge: Bridge, *, access: timedelta, refresh: timedelta) -> None:
        super().__init__()
        self.bridge = bridge
        self.access = access
        self.refresh = refresh
        self.register_grant(AuthorizationCodeGrant, [PkceS256(required=True)])
        self.register_grant(ClientCredentialsGrant)
        self.register_grant(RefreshTokenGrant)
        self.register_endpoint(Revocation)
        self.register_endpoint(Introspection)
        self.register_token_generator("default", self._generate)

    def _generate(
        self,
        grant_type: str,
        client: ClientView,
        user: UserView | None = None,
        scope: str | None = None,
        expires_in: int | None = None,
        include_refresh_token: bool = True,
    ) -> dict[str, Any]:
        token: dict[str, Any] = {
            "token_type": "Bearer",
            "access_token": store.new_access_token(),
            "expires_in": int(self.access.total_seconds()),
            "scope": scope or "",
        }
        if include_refresh_token and user is not None:
            token["refresh_token"] = store.new_refresh_token()
        return token

    def query_client(self, client_id: str) -> ClientView | None:
        row = self.bridge.run(store.find_client(self.bridge.session, client_id))
        return ClientView.of(row) if row is not None else None

    def save_token(self, token: dict[str, Any], request: Request) -> None:
        previous: TokenView | None = request.refresh_token
        code: CodeView | None = request.authorization_code
        self.bridge.run(
            store.save_token(
                self.bridge.session,
                access_token=token["access_token"],
                refresh_token=token.get("refresh_token"),
                access_lifetime=self.access,
                refresh_lifetime=self.refresh,
                client=request.client.id,
                user=request.user.id if request.user is not None else None,
                scope=token.get("scope", ""),
                family_id=previous.family_id if previous else None,
                code_id=code.id if code else previous.code_id if previous else None,
            )
        )

    def user(self, user_id: uuid.UUID | None) -> UserView | None:
        user = self.bridge.run(active_user(self.bridge.session, user_id))
        return UserView(id=user.id, name=user.name) if user is not None else None

    def token(self, token_string: str) -> TokenView | None:
        async def find() -> TokenView | None:
            found = await store.find_token(self.bridge.session, token_string)
            if found is None:
                return None
            row, kind = found
            client = await self.bridge.session.get(OAuthClient, row.client_id)
            return TokenView.of(row, kind, client.client_id if client else "")

        return self.bridge.run(find())

    def create_oauth2_request(self, request: Any) -> Request:
        assert isinstance(request, Request)
        return request

    def handle_response(self, status: int, body: Any, headers: Any) -> Answer:
        return Answer(status, body, list(headers or []))

    def send_signal(self, name: str, *args: Any, **kwargs: Any) -> None:
        """No signals: nothing listens."""


# ---- entry points, called on the loop ---------------------------------------------------------


@dataclass(frozen=True)
class Lifetimes:
    access: timedelta
    refresh: timedelta


async def run(
    database: Database, lifetimes: Lifetimes, request: Request, action: str, **kwargs: Any
) -> Answer | Consent:
    """Run one OAuth request through authlib in a worker thread (see the module docstring):
    `action` is `token`, `revocation`, `introspection`, `consent` (validate an authorization
    request; the grant or an error Answer) or `authorize` (issue the code, or refuse).
    The two that only read run on a read session (no write lock taken on SQLite)."""
    loop = asyncio.get_running_loop()
    if action in READ_ONLY:
        async with database.read_session() as session:
            server = Server(
                Bridge(loop, session), access=lifetimes.access, refresh=lifetimes.refresh
            )
            return await asyncio.to_thread(_call, server, request, action, kwargs)
    async with database.unit_of_work() as uow:
        server = Server(
            Bridge(loop, uow.session), access=lifetimes.access, refresh=lifetimes.refresh
        )
        answer = await asyncio.to_thread(_call, server, request, action, kwargs)
        await uow.commit()
    return answer


def _call(
    server: Server, request: Request, action: str, kwargs: dict[str, Any]
) -> Answer | Consent:
    answer: Answer
    if action == "token":
        answer = server.create_token_response(request)
        return answer
    if action in ("revocation", "introspection"):
        answer = server.create_endpoint_response(action, request)
        return answer
    try:
        grant = server.get_consent_grant(request, end_user=kwargs.get("user"))
    except OAuth2Error as error:
        answer = server.handle_error_response(request, error)
        return answer
    if action == "consent":
        return Consent(
            client_name=grant.request.client.name,
            scopes=store.scope_list(grant.request.scope),
            redirect_uri=grant.redirect_uri,
        )
    answer = server.create_authorization_response(
        request, grant_user=kwargs.get("user"), grant=grant
    )
    return answer
