"""Sessions: what a signed-in browser presents (the session cookie), and the actor behind it.

A session token is `cs_` and 32 random bytes; only its SHA-256 digest is stored, as with API
keys. A session ends at its absolute expiry, after its idle timeout without a request, or when
revoked (sign-out, password reset). Signing in always starts a new session with a new token
(and ends the one the browser presented), so a token planted before sign-in is worthless.

A signed-in user's permissions are the union of their roles'; a customer's reach over their
own records comes from `Actor.customer_id`, checked by the services that own those records.
"""

from __future__ import annotations

import hmac
import re
import secrets
import uuid
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.actor import Actor
from app.db import Database, UnitOfWork
from app.models.base import utcnow
from app.models.users import Role, User, UserSession, user_roles
from app.services.apikeys import hash_key

SESSION_PREFIX = "cs_"
SESSION_SHAPE = re.compile(re.escape(SESSION_PREFIX) + r"[A-Za-z0-9_-]{43}")
# As with API keys: writing last_seen_at on every request would make every read a write.
LAST_SEEN_RESOLUTION = timedelta(minutes=1)


def generate_token() -> str:
    return SESSION_PREFIX + secrets.token_urlsafe(32)


async def start_session(
    uow: UnitOfWork,
    user: User,
    *,
    lifetime: timedelta,
    idle_timeout: timedelta,
    ip_address: str | None = None,
    user_agent: str | None = None,
) -> tuple[UserSession, str]:
    """A new session for `user`, with its token (shown once, set as the cookie)."""
    token = generate_token()
    now = utcnow()
    row = UserSession(
        user_id=user.id,
        token_hash=hash_key(token),
        created_at=now,
        last_seen_at=now,
        expires_at=now + lifetime,
        idle_timeout_seconds=int(idle_timeout.total_seconds()),
        ip_address=(ip_address or None) and ip_address[:64],
        user_agent=(user_agent or None) and user_agent[:500],
    )
    uow.session.add(row)
    await uow.session.flush()
    return row, token


async def find_session(session: AsyncSession, token: str) -> UserSession | None:
    """The live session behind `token`, or None (unknown, revoked, expired or idle)."""
    if SESSION_SHAPE.fullmatch(token) is None:
        return None
    digest = hash_key(token)
    row = await session.scalar(select(UserSession).where(UserSession.token_hash == digest))
    if row is None or not hmac.compare_digest(row.token_hash, digest):
        return None
    now = utcnow()
    idle_until = row.last_seen_at + timedelta(seconds=row.idle_timeout_seconds)
    if row.revoked_at is not None or row.expires_at <= now or idle_until <= now:
        return None
    return row


async def active_user(session: AsyncSession, user_id: uuid.UUID | None) -> User | None:
    """The user, when there is one and it is active."""
    user = await session.get(User, user_id) if user_id is not None else None
    return user if user is not None and user.status == "active" else None


async def live_session(session: AsyncSession, token: str) -> tuple[User, UserSession] | None:
    """The live session behind `token` and its user, or None (no such session, or its user
    is no longer active)."""
    row = await find_session(session, token)
    user = await active_user(session, row.user_id) if row is not None else None
    return (user, row) if user is not None and row is not None else None


async def end_session(uow: UnitOfWork, token: str) -> UserSession | None:
    """Revoke the session behind `token` (sign-out); None when there was none."""
    row = await find_session(uow.session, token)
    if row is not None:
        row.revoked_at = utcnow()
        await uow.session.flush()
    return row


async def end_sessions_of(
    uow: UnitOfWork, user_id: uuid.UUID, *, but: uuid.UUID | None = None
) -> int:
    """Revoke every live session of a user (a password reset), except `but`."""
    statement = (
        update(UserSession)
        .where(UserSession.user_id == user_id, UserSession.revoked_at.is_(None))
        .values(revoked_at=utcnow())
    )
    if but is not None:
        statement = statement.where(UserSession.id != but)
    result = await uow.session.execute(statement)
    return int(getattr(result, "rowcount", 0) or 0)


async def user_actor(
    session: AsyncSession, user: User, *, expires_at: datetime | None = None
) -> Actor:
    """The actor of a signed-in user: their roles' permissions, their customer record."""
    rows = (
        await session.execute(
            select(Role.name, Role.permissions)
            .join(user_roles, user_roles.c.role_id == Role.id)
            .where(user_roles.c.user_id == user.id)
        )
    ).all()
    return Actor(
        kind="user",
        id=str(user.id),
        name=user.name,
        permissions=frozenset(p for _, permissions in rows for p in permissions),
        roles=frozenset(name for name, _ in rows),
        customer_id=str(user.customer_id) if user.customer_id else None,
        vendor_id=str(user.vendor_id) if user.vendor_id else None,
        expires_at=expires_at,
    )


async def authenticate(database: Database, token: str) -> Actor | None:
    """The actor behind a session token, or None when it is not a live session of an active
    user. A token of the wrong shape costs no database work."""
    if SESSION_SHAPE.fullmatch(token) is None:
        return None
    async with database.read_session() as session:
        found = await live_session(session, token)
        if found is None:
            return None
        user, row = found
        actor = await user_actor(session, user, expires_at=row.expires_at)
    now = utcnow()
    if now - row.last_seen_at >= LAST_SEEN_RESOLUTION:
        async with database.unit_of_work() as uow:
            await uow.session.execute(
                update(UserSession).where(UserSession.id == row.id).values(last_seen_at=now)
            )
            await uow.commit()
    return actor
