"""API keys: minting, listing, revoking, and turning a presented key into an actor."""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import uuid
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.actor import Actor
from app.auth.permissions import grants_all, is_valid_permission
from app.db import Database, UnitOfWork
from app.errors import Conflict, Forbidden, NotFound, ValidationFailed
from app.models.apikeys import ApiKey
from app.models.base import utcnow
from app.pagination import Page, PageRequest, SortKey, paginate
from app.services.audit import record_change

KEY_PREFIX = "ck_"
# What generate_key makes: the prefix and 32 random bytes in unpadded URL-safe base64, 43
# characters whose last carries the final 4 bits and two zero bits (so only 16 letters fit).
# A credential of any other shape is refused without asking the database.
KEY_SHAPE = re.compile(re.escape(KEY_PREFIX) + r"[A-Za-z0-9_-]{42}[AEIMQUYcgkosw048]")
DISPLAY_PREFIX_LENGTH = 12
MAX_PERMISSIONS = 100
# Writing lastUsedAt on every request would turn every read into a write; a minute is enough.
LAST_USED_RESOLUTION = timedelta(minutes=1)
API_KEY_ORDER = (SortKey(ApiKey.id, descending=True),)


def generate_key() -> str:
    return KEY_PREFIX + secrets.token_urlsafe(32)


def is_well_formed(plaintext: str) -> bool:
    """Whether `plaintext` could be a key generate_key made (a cheap check, no lookup)."""
    return KEY_SHAPE.fullmatch(plaintext) is not None


def hash_key(plaintext: str) -> str:
    return hashlib.sha256(plaintext.encode()).hexdigest()


def _validate(name: str, permissions: list[str], expires_at: datetime | None) -> str:
    errors: dict[str, str] = {}
    name = name.strip()
    if not 1 <= len(name) <= 100:
        errors["name"] = "Must be 1 to 100 characters."
    if not permissions:
        errors["permissions"] = "Give at least one permission."
    elif len(permissions) > MAX_PERMISSIONS:
        errors["permissions"] = f"At most {MAX_PERMISSIONS} permissions."
    else:
        bad = [p for p in permissions if not is_valid_permission(p)]
        if bad:
            errors["permissions"] = f"Not resource:action permissions: {', '.join(bad)}."
    if expires_at is not None and expires_at <= utcnow():
        errors["expiresAt"] = "Must be in the future."
    if errors:
        raise ValidationFailed("; ".join(f"{k}: {v}" for k, v in errors.items()), details=errors)
    return name


async def create_api_key(
    uow: UnitOfWork,
    actor: Actor,
    *,
    name: str,
    permissions: list[str],
    expires_at: datetime | None = None,
) -> tuple[ApiKey, str]:
    """Mint a key and return it with its plaintext, which is never stored or shown again.

    An actor can only hand out permissions it holds itself, so a key cannot mint a wider one.
    """
    name = _validate(name, permissions, expires_at)
    if not grants_all(actor.permissions, permissions):
        raise Forbidden("A key cannot be given permissions its creator does not hold.")
    plaintext = generate_key()
    key = ApiKey(
        name=name,
        key_hash=hash_key(plaintext),
        prefix=plaintext[:DISPLAY_PREFIX_LENGTH],
        permissions=sorted(set(permissions)),
        created_by=actor.id,
        expires_at=expires_at,
    )
    uow.session.add(key)
    await uow.session.flush()
    record_change(
        uow,
        actor,
        event="apiKeys.create",
        entity_type="api_key",
        entity_id=str(key.id),
        after=key.snapshot(),
    )
    return key, plaintext


async def revoke_api_key(uow: UnitOfWork, actor: Actor, *, id: uuid.UUID) -> ApiKey:
    """Revoke a key; it is refused from the next request on, and sockets it opened are closed
    at their next operation or delivery. Revoking twice is a CONFLICT.

    Revoking follows the minting rule: an actor may revoke only keys whose permissions it holds
    itself, so a key with `apiKeys:manage` alone cannot lock out a `*:*` key (FORBIDDEN, before
    the key's state is told).
    """
    key = await uow.session.get(ApiKey, id, with_for_update=True)
    if key is None:
        raise NotFound("API key not found.")
    if not grants_all(actor.permissions, key.permissions):
        raise Forbidden("A key cannot revoke a key with permissions it does not hold itself.")
    if key.revoked_at is not None:
        raise Conflict("API key is already revoked.")
    before = key.snapshot()
    key.revoked_at = utcnow()
    await uow.session.flush()
    record_change(
        uow,
        actor,
        event="apiKeys.revoke",
        entity_type="api_key",
        entity_id=str(key.id),
        before=before,
        after=key.snapshot(),
    )
    return key


async def get_api_key(session: AsyncSession, id: uuid.UUID) -> ApiKey:
    key = await session.get(ApiKey, id)
    if key is None:
        raise NotFound("API key not found.")
    return key


async def list_api_keys(
    session: AsyncSession, *, page: PageRequest, status: str | None = None
) -> Page[ApiKey]:
    """Newest first; `status` narrows to `active` or `revoked` keys."""
    statement = select(ApiKey)
    if status == "active":
        statement = statement.where(ApiKey.revoked_at.is_(None))
    elif status == "revoked":
        statement = statement.where(ApiKey.revoked_at.is_not(None))
    elif status is not None:
        raise ValidationFailed.field("status", "Must be active or revoked.")
    return await paginate(session, statement, keys=API_KEY_ORDER, request=page)


async def authenticate(database: Database, plaintext: str) -> Actor | None:
    """The actor behind a presented key, or None when it is unknown, revoked or expired.

    A key of the wrong shape is refused before the lookup: failures cost no database work.
    """
    if not is_well_formed(plaintext):
        return None
    digest = hash_key(plaintext)
    now = utcnow()
    async with database.read_session() as session:
        key = await session.scalar(select(ApiKey).where(ApiKey.key_hash == digest))
    if key is None or not hmac.compare_digest(key.key_hash, digest) or not key.is_active(now):
        return None
    if key.last_used_at is None or now - key.last_used_at >= LAST_USED_RESOLUTION:
        async with database.unit_of_work() as uow:
            await uow.session.execute(
                update(ApiKey).where(ApiKey.id == key.id).values(last_used_at=now)
            )
            await uow.commit()
    return Actor(
        kind="api_key",
        id=str(key.id),
        name=key.name,
        permissions=frozenset(key.permissions),
        expires_at=key.expires_at,
    )
