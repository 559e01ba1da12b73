"""OAuth 2.0 clients and tokens: registration by an admin, storage of codes and tokens, and
turning a presented access token into an actor.

The protocol itself (what a token request must hold, PKCE, the error answers) is authlib's,
driven by `app/auth/oauth.py`; this module is the storage it reaches and the rules that are
ours:

- Scopes are `resource:action` permissions (wildcards allowed) plus `customer`: acting as the
  signed-in user's own customer record (their carts, orders, /me). A client is registered with
  the scopes it may ever be given; an admin can only register scopes it holds itself.
- A client-credentials token acts as the client: `Actor(kind="oauth_client")` with the granted
  scopes as its permissions. An authorization-code token acts for its user: `kind="user"`, the
  user's role permissions intersected with the scopes (read afresh on every request, so a role
  taken away is gone at once), and the customer record only with the `customer` scope.
- Codes, secrets and tokens are random and stored as SHA-256 digests. A code is spent by the
  conditional update that claims it; replaying it revokes every token it issued (RFC 6749
  §4.1.2). A refresh token is spent by rotation; replaying a spent one revokes its family.
"""

from __future__ import annotations

import hmac
import ipaddress
import re
import secrets
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.actor import Actor
from app.auth.permissions import grants, grants_all, is_valid_permission
from app.db import Database, UnitOfWork
from app.errors import Conflict, Forbidden, NotFound, ValidationFailed
from app.models.base import utcnow
from app.models.oauth import (
    CUSTOMER_SCOPE,
    GRANT_TYPES,
    OAuthAuthorizationCode,
    OAuthClient,
    OAuthToken,
)
from app.pagination import Page, PageRequest, SortKey, paginate
from app.services.apikeys import hash_key
from app.services.audit import record_change
from app.services.sessions import active_user, user_actor

ACCESS_PREFIX = "cat_"
REFRESH_PREFIX = "crt_"
CODE_PREFIX = "cac_"
CLIENT_ID_PREFIX = "oc_"
SECRET_PREFIX = "ocs_"
# What `_random` makes: the prefix and 32 random bytes in unpadded URL-safe base64 (see
# apikeys.KEY_SHAPE). An access token of any other shape is refused without a lookup.
_TAIL = r"[A-Za-z0-9_-]{42}[AEIMQUYcgkosw048]"
ACCESS_SHAPE = re.compile(re.escape(ACCESS_PREFIX) + _TAIL)
REFRESH_SHAPE = re.compile(re.escape(REFRESH_PREFIX) + _TAIL)
CODE_SHAPE = re.compile(re.escape(CODE_PREFIX) + _TAIL)
CLIENT_ID_SHAPE = re.compile(re.escape(CLIENT_ID_PREFIX) + r"[A-Za-z0-9_-]{22}")
CODE_LIFETIME = timedelta(seconds=60)
MAX_SCOPES = 100
MAX_REDIRECT_URIS = 10
MAX_URI_LENGTH = 2000
CLIENT_ORDER = (SortKey(OAuthClient.id, descending=True),)


def _random(prefix: str) -> str:
    return prefix + secrets.token_urlsafe(32)


def new_access_token() -> str:
    return _random(ACCESS_PREFIX)


def new_refresh_token() -> str:
    return _random(REFRESH_PREFIX)


def new_code() -> str:
    return _random(CODE_PREFIX)


# ---- scopes ----------------------------------------------------------------------------------


def scope_list(scope: str | None) -> list[str]:
    """A space-delimited scope (RFC 6749 §3.3) as its distinct items, in order."""
    return list(dict.fromkeys((scope or "").split()))


def is_valid_scope(item: str) -> bool:
    return item == CUSTOMER_SCOPE or is_valid_permission(item)


def covers(allowed: Iterable[str], requested: Iterable[str]) -> bool:
    """Whether a client registered with `allowed` may be given every scope of `requested`."""
    allowed = frozenset(allowed)
    permissions = frozenset(a for a in allowed if a != CUSTOMER_SCOPE)
    for item in requested:
        if item == CUSTOMER_SCOPE:
            if CUSTOMER_SCOPE not in allowed:
                return False
        elif not is_valid_permission(item) or not grants(permissions, item):
            return False
    return True


def _meet_half(a: str, b: str) -> str | None:
    if a == "*":
        return b
    if b == "*" or a == b:
        return a
    return None


def intersect(held: Iterable[str], scopes: Iterable[str]) -> frozenset[str]:
    """The permissions granted both by `held` and by `scopes` (wildcards meet: `catalog:*`
    and `*:read` give `catalog:read`), so `grants(result, p)` is exactly both granting p."""
    result: set[str] = set()
    for h in held:
        h_resource, _, h_action = h.partition(":")
        for s in scopes:
            s_resource, _, s_action = s.partition(":")
            resource, action = _meet_half(h_resource, s_resource), _meet_half(h_action, s_action)
            if resource is not None and action is not None:
                result.add(f"{resource}:{action}")
    return frozenset(result)


# ---- clients ---------------------------------------------------------------------------------


def redirect_uri_problem(uri: str) -> str | None:
    """Why `uri` cannot be registered: it must be absolute https (or http on a loopback
    address, RFC 8252 §7.3), without a fragment."""
    if len(uri) > MAX_URI_LENGTH:
        return f"At most {MAX_URI_LENGTH} characters."
    try:
        parts = urlsplit(uri)
    except ValueError:
        return "Not a URI."
    if not parts.hostname or parts.fragment or "#" in uri:
        return "Must be an absolute URI without a fragment."
    if parts.scheme == "https":
        return None
    if parts.scheme == "http":
        if parts.hostname == "localhost":
            return None
        try:
            if ipaddress.ip_address(parts.hostname).is_loopback:
                return None
        except ValueError:
            pass
        return "Plain http is allowed only for loopback addresses."
    return "Must be https."


def _validate_client(
    name: str,
    redirect_uris: list[str],
    grant_types: list[str],
    scopes: list[str],
    confidential: bool,
) -> str:
    errors: dict[str, str] = {}
    name = name.strip()
    if not 1 <= len(name) <= 100:
        errors["name"] = "Must be 1 to 100 characters."
    unknown = [g for g in grant_types if g not in GRANT_TYPES]
    if not grant_types or unknown:
        errors["grantTypes"] = f"Give one or more of {', '.join(GRANT_TYPES)}."
    elif "client_credentials" in grant_types and not confidential:
        errors["grantTypes"] = "A public client cannot use client_credentials (it has no secret)."
    elif grant_types == ["refresh_token"]:
        errors["grantTypes"] = "refresh_token needs authorization_code."
    if not scopes:
        errors["scopes"] = "Give at least one scope."
    elif len(scopes) > MAX_SCOPES:
        errors["scopes"] = f"At most {MAX_SCOPES} scopes."
    elif bad := [s for s in scopes if not is_valid_scope(s)]:
        errors["scopes"] = f"Neither resource:action permissions nor customer: {', '.join(bad)}."
    if len(redirect_uris) > MAX_REDIRECT_URIS:
        errors["redirectUris"] = f"At most {MAX_REDIRECT_URIS} redirect URIs."
    elif "authorization_code" in grant_types and not redirect_uris:
        errors["redirectUris"] = "authorization_code needs at least one redirect URI."
    else:
        for uri in redirect_uris:
            if (problem := redirect_uri_problem(uri)) is not None:
                errors["redirectUris"] = f"{uri[:100]}: {problem}"
                break
    if errors:
        raise ValidationFailed("; ".join(f"{k}: {v}" for k, v in errors.items()), details=errors)
    return name


async def create_oauth_client(
    uow: UnitOfWork,
    actor: Actor,
    *,
    name: str,
    redirect_uris: list[str],
    grant_types: list[str],
    scopes: list[str],
    confidential: bool = True,
) -> tuple[OAuthClient, str | None]:
    """Register a client; return it with its secret (None for a public client), which is
    never stored or shown again.

    As with API keys, an actor can only register permission scopes it holds itself.
    """
    name = _validate_client(name, redirect_uris, grant_types, scopes, confidential)
    permissions = [s for s in scopes if s != CUSTOMER_SCOPE]
    if not grants_all(actor.permissions, permissions):
        raise Forbidden("A client cannot be given scopes its creator does not hold.")
    secret = _random(SECRET_PREFIX) if confidential else None
    client = OAuthClient(
        client_id=CLIENT_ID_PREFIX + secrets.token_urlsafe(16),
        secret_hash=hash_key(secret) if secret else None,
        name=name,
        redirect_uris=list(dict.fromkeys(redirect_uris)),
        grant_types=sorted(set(grant_types)),
        scopes=sorted(set(scopes)),
        confidential=confidential,
        created_by=actor.id,
    )
    uow.session.add(client)
    await uow.session.flush()
    record_change(
        uow,
        actor,
        event="oauthClients.create",
        entity_type="oauth_client",
        entity_id=str(client.id),
        after=client.snapshot(),
    )
    return client, secret


async def revoke_oauth_client(uow: UnitOfWork, actor: Actor, *, id: uuid.UUID) -> OAuthClient:
    """Revoke a client: it can no longer get tokens, and every token it holds stops working.
    Revoking twice is a CONFLICT."""
    client = await uow.session.get(OAuthClient, id, with_for_update=True)
    if client is None:
        raise NotFound("OAuth client not found.")
    if client.revoked_at is not None:
        raise Conflict("OAuth client is already revoked.")
    before = client.snapshot()
    now = utcnow()
    client.revoked_at = now
    await uow.session.execute(
        update(OAuthToken)
        .where(OAuthToken.client_id == client.id, OAuthToken.revoked_at.is_(None))
        .values(revoked_at=now)
    )
    await uow.session.flush()
    record_change(
        uow,
        actor,
        event="oauthClients.revoke",
        entity_type="oauth_client",
        entity_id=str(client.id),
        before=before,
        after=client.snapshot(),
    )
    return client


async def list_oauth_clients(
    session: AsyncSession, *, page: PageRequest, status: str | None = None
) -> Page[OAuthClient]:
    """Newest first; `status` narrows to `active` or `revoked` clients."""
    statement = select(OAuthClient)
    if status == "active":
        statement = statement.where(OAuthClient.revoked_at.is_(None))
    elif status == "revoked":
        statement = statement.where(OAuthClient.revoked_at.is_not(None))
    elif status is not None:
        raise ValidationFailed.field("status", "Must be active or revoked.")
    return await paginate(session, statement, keys=CLIENT_ORDER, request=page)


async def find_client(session: AsyncSession, client_id: str) -> OAuthClient | None:
    """The live (unrevoked) client of that public id (one of another shape is not looked up)."""
    if CLIENT_ID_SHAPE.fullmatch(client_id) is None:
        return None
    client = await session.scalar(select(OAuthClient).where(OAuthClient.client_id == client_id))
    return client if client is not None and client.revoked_at is None else None


def secret_matches(client: OAuthClient | None, secret: str) -> bool:
    if client is None or client.secret_hash is None:
        return False
    return hmac.compare_digest(client.secret_hash, hash_key(secret))


# ---- codes -----------------------------------------------------------------------------------


async def save_code(
    session: AsyncSession,
    *,
    code: str,
    client: uuid.UUID,
    user: uuid.UUID,
    redirect_uri: str | None,
    scope: str,
    code_challenge: str,
    code_challenge_method: str,
) -> OAuthAuthorizationCode:
    now = utcnow()
    row = OAuthAuthorizationCode(
        code_hash=hash_key(code),
        client_id=client,
        user_id=user,
        redirect_uri=redirect_uri,
        scope=scope,
        code_challenge=code_challenge,
        code_challenge_method=code_challenge_method,
        created_at=now,
        expires_at=now + CODE_LIFETIME,
    )
    session.add(row)
    await session.flush()
    return row


async def claim_code(
    session: AsyncSession, code: str, client: uuid.UUID
) -> OAuthAuthorizationCode | None:
    """Spend a code of `client`: the code, or None when it is unknown, another client's,
    expired or spent. Any attempt spends it (a wrong verifier too); a replayed code revokes
    every token it issued."""
    if CODE_SHAPE.fullmatch(code) is None:
        return None
    row = await session.scalar(
        select(OAuthAuthorizationCode).where(OAuthAuthorizationCode.code_hash == hash_key(code))
    )
    if row is None or row.client_id != client:
        return None
    now = utcnow()
    claimed = await session.execute(
        update(OAuthAuthorizationCode)
        .where(OAuthAuthorizationCode.id == row.id, OAuthAuthorizationCode.used_at.is_(None))
        .values(used_at=now)
        .execution_options(synchronize_session=False)
    )
    if int(getattr(claimed, "rowcount", 0) or 0) != 1:
        families = select(OAuthToken.family_id).where(OAuthToken.code_id == row.id)
        await session.execute(
            update(OAuthToken)
            .where(OAuthToken.family_id.in_(families), OAuthToken.revoked_at.is_(None))
            .values(revoked_at=now)
            .execution_options(synchronize_session=False)
        )
        return None
    return row if row.expires_at > now else None


# ---- tokens ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Issued:
    access_token: str
    refresh_token: str | None
    access_expires_at: datetime
    refresh_expires_at: datetime | None


async def save_token(
    session: AsyncSession,
    *,
    access_token: str,
    refresh_token: str | None,
    access_lifetime: timedelta,
    refresh_lifetime: timedelta,
    client: uuid.UUID,
    user: uuid.UUID | None,
    scope: str,
    family_id: uuid.UUID | None,
    code_id: uuid.UUID | None,
) -> OAuthToken:
    now = utcnow()
    row = OAuthToken(
        access_token_hash=hash_key(access_token),
        refresh_token_hash=hash_key(refresh_token) if refresh_token else None,
        client_id=client,
        user_id=user,
        scope=scope,
        created_at=now,
        access_expires_at=now + access_lifetime,
        refresh_expires_at=now + refresh_lifetime if refresh_token else None,
        family_id=family_id or uuid.uuid4(),
        code_id=code_id,
    )
    session.add(row)
    await session.flush()
    return row


async def revoke_family(session: AsyncSession, family_id: uuid.UUID) -> None:
    await session.execute(
        update(OAuthToken)
        .where(OAuthToken.family_id == family_id, OAuthToken.revoked_at.is_(None))
        .values(revoked_at=utcnow())
        .execution_options(synchronize_session=False)
    )


async def find_refresh(
    session: AsyncSession, refresh_token: str, client: uuid.UUID
) -> OAuthToken | None:
    """The live token row of a refresh token of `client`, or None. A spent (rotated) refresh
    token presented again is a replay: its whole family is revoked."""
    if REFRESH_SHAPE.fullmatch(refresh_token) is None:
        return None
    row = await session.scalar(
        select(OAuthToken).where(OAuthToken.refresh_token_hash == hash_key(refresh_token))
    )
    if row is None or row.client_id != client:
        return None
    if row.rotated_at is not None:
        await revoke_family(session, row.family_id)
        return None
    if row.revoked_at is not None or (row.refresh_expires_at or utcnow()) <= utcnow():
        return None
    return row


async def rotate(session: AsyncSession, row: OAuthToken) -> bool:
    """Spend `row`'s refresh token; False when a concurrent request spent it first (then the
    family is revoked, as for any replay)."""
    result = await session.execute(
        update(OAuthToken)
        .where(OAuthToken.id == row.id, OAuthToken.rotated_at.is_(None))
        .values(rotated_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    if int(getattr(result, "rowcount", 0) or 0) == 1:
        return True
    await revoke_family(session, row.family_id)
    return False


async def find_token(session: AsyncSession, token: str) -> tuple[OAuthToken, str] | None:
    """The row of an access or refresh token, with which it is (`access_token` or
    `refresh_token`); None for an unknown one."""
    for shape, column, kind in (
        (ACCESS_SHAPE, OAuthToken.access_token_hash, "access_token"),
        (REFRESH_SHAPE, OAuthToken.refresh_token_hash, "refresh_token"),
    ):
        if shape.fullmatch(token) is not None:
            row = await session.scalar(select(OAuthToken).where(column == hash_key(token)))
            return (row, kind) if row is not None else None
    return None


async def revoke_token(session: AsyncSession, row: OAuthToken, kind: str) -> None:
    """RFC 7009: revoking a refresh token ends the whole grant (its family); revoking an
    access token ends that token (and the refresh token issued with it)."""
    if kind == "refresh_token":
        await revoke_family(session, row.family_id)
        return
    await session.execute(
        update(OAuthToken)
        .where(OAuthToken.id == row.id, OAuthToken.revoked_at.is_(None))
        .values(revoked_at=utcnow())
        .execution_options(synchronize_session=False)
    )


async def authenticate(database: Database, token: str) -> Actor | None:
    """The actor behind a presented access token, or None when it is unknown, expired or
    revoked, its client revoked, or its user no longer active. A token of the wrong shape
    costs no database work."""
    if ACCESS_SHAPE.fullmatch(token) is None:
        return None
    digest = hash_key(token)
    now = utcnow()
    async with database.read_session() as session:
        found = (
            await session.execute(
                select(OAuthToken, OAuthClient)
                .join(OAuthClient, OAuthClient.id == OAuthToken.client_id)
                .where(OAuthToken.access_token_hash == digest)
            )
        ).first()
        if found is None:
            return None
        row, client = found
        if (
            not hmac.compare_digest(row.access_token_hash, digest)
            or row.revoked_at is not None
            or row.access_expires_at <= now
            or client.revoked_at is not None
        ):
            return None
        scopes = scope_list(row.scope)
        permissions = [s for s in scopes if s != CUSTOMER_SCOPE]
        if row.user_id is None:
            return Actor(
                kind="oauth_client",
                id=str(client.id),
                name=client.name,
                permissions=frozenset(permissions),
                expires_at=row.access_expires_at,
            )
        user = await active_user(session, row.user_id)
        if user is None:
            return None
        actor = await user_actor(session, user, expires_at=row.access_expires_at)
    return Actor(
        kind="user",
        id=actor.id,
        name=actor.name,
        permissions=intersect(actor.permissions, permissions),
        expires_at=row.access_expires_at,
        roles=actor.roles,
        customer_id=actor.customer_id if CUSTOMER_SCOPE in scopes else None,
    )
