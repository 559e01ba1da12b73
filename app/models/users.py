"""Users: who signs in (customers, staff, vendors), their roles, sessions and one-time tokens.

A user signs in with an e-mail address and a password (stored only as an argon2id hash).
A customer's user links to the customer record (`customer_id`), a vendor's user to its
vendor (`vendor_id`); staff have neither. What a
signed-in user may do comes from their roles, each a bundle of `resource:action`
permissions; ownership of a customer's own records comes from the link, not from a role.

Session tokens and one-time tokens (password reset, e-mail verification) are random and
stored only as SHA-256 digests, as API keys are.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import Column, ForeignKey, Index, String, Table, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, IdMixin, utcnow

USER_STATUSES = ("active", "inactive")
TOKEN_PURPOSES = ("password_reset", "email_verification")
ROLE_NAME_LENGTH = 64


class User(IdMixin, Base):
    __tablename__ = "users"
    __audit_exclude__ = frozenset({"password_hash"})
    __table_args__ = (Index("ix_users_status_id", "status", "id"),)

    # Stored trimmed and lower-case, so uniqueness ignores case.
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    # The gateway's `username` (seed 002): unique, derived from the e-mail address at sign-up.
    username: Mapped[str] = mapped_column(String(64), unique=True)
    password_hash: Mapped[str | None] = mapped_column(Text)
    email_verified: Mapped[bool] = mapped_column(default=False)
    status: Mapped[str] = mapped_column(String(20), default="active")
    customer_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("customers.id"), unique=True)
    # A vendor's user: every request of theirs is scoped to this vendor (its own records).
    vendor_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("vendors.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class Role(IdMixin, Base):
    """A named bundle of permissions. `customer` and `admin` are built in (migration 0010)."""

    __tablename__ = "roles"

    name: Mapped[str] = mapped_column(String(ROLE_NAME_LENGTH), unique=True)
    description: Mapped[str | None] = mapped_column(String(500))
    permissions: Mapped[list[str]]
    built_in: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


user_roles = Table(
    "user_roles",
    Base.metadata,
    Column("user_id", ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    Column("role_id", ForeignKey("roles.id", ondelete="CASCADE"), primary_key=True, index=True),
)


class UserSession(IdMixin, Base):
    """A signed-in browser: the cookie holds the token, the table its digest. It ends at
    `expires_at` (absolute), after the idle timeout since `last_seen_at`, or when revoked."""

    __tablename__ = "user_sessions"
    __audit_exclude__ = frozenset({"token_hash"})

    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    # The idle timeout the session was started under (the setting may change later).
    idle_timeout_seconds: Mapped[int]
    revoked_at: Mapped[datetime | None]
    ip_address: Mapped[str | None] = mapped_column(String(64))
    user_agent: Mapped[str | None] = mapped_column(String(500))


class OneTimeToken(IdMixin, Base):
    """A single-use, expiring token mailed to a user (password reset, e-mail verification)."""

    __tablename__ = "one_time_tokens"
    __audit_exclude__ = frozenset({"token_hash"})

    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    purpose: Mapped[str] = mapped_column(String(32))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]
