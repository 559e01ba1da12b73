"""OAuth 2.0: registered clients, authorization codes and the tokens issued to clients.

A client is what an integrator or an app registers (by an admin): a public `client_id`, a
secret for a confidential client (stored only as a SHA-256 digest, as API keys are), the
redirect URIs it may send a user back to, the grant types it may use and the scopes it may be
given. Codes and tokens are random and stored only as digests. A token row holds an access
token and (for grants acting for a user) a refresh token; rotating a refresh token writes a
new row of the same `family_id` and marks the old one `rotated_at`, so that presenting a
rotated refresh token again (a replay) revokes the whole family.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, IdMixin, utcnow

GRANT_TYPES = ("authorization_code", "client_credentials", "refresh_token")
# Not a permission: acting as the signed-in user's customer (their carts, orders, /me).
CUSTOMER_SCOPE = "customer"


class OAuthClient(IdMixin, Base):
    __tablename__ = "oauth_clients"
    __audit_exclude__ = frozenset({"secret_hash"})

    client_id: Mapped[str] = mapped_column(String(64), unique=True)
    # None for a public client (a browser or native app that cannot keep a secret).
    secret_hash: Mapped[str | None] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(100))
    redirect_uris: Mapped[list[str]]
    grant_types: Mapped[list[str]]
    scopes: Mapped[list[str]]
    confidential: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by: Mapped[str | None] = mapped_column(String(64))
    revoked_at: Mapped[datetime | None] = mapped_column(index=True)


class OAuthAuthorizationCode(IdMixin, Base):
    """A code handed to the client's redirect URI after the user's consent: short-lived,
    bound to its client, redirect URI and PKCE challenge, and good for one exchange."""

    __tablename__ = "oauth_authorization_codes"
    __audit_exclude__ = frozenset({"code_hash"})

    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    client_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("oauth_clients.id", ondelete="CASCADE"), index=True
    )
    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    redirect_uri: Mapped[str | None] = mapped_column(String(2000))
    scope: Mapped[str] = mapped_column(Text, default="")
    code_challenge: Mapped[str] = mapped_column(String(128))
    code_challenge_method: Mapped[str] = mapped_column(String(10))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]


class OAuthToken(IdMixin, Base):
    __tablename__ = "oauth_tokens"
    __audit_exclude__ = frozenset({"access_token_hash", "refresh_token_hash"})

    access_token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    refresh_token_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    client_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("oauth_clients.id", ondelete="CASCADE"), index=True
    )
    # None for a client acting for itself (client credentials).
    user_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    scope: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    access_expires_at: Mapped[datetime]
    refresh_expires_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]
    # When its refresh token was exchanged for the next one (it is then spent).
    rotated_at: Mapped[datetime | None]
    # Every token descending from one authorization (by refresh) shares the family.
    family_id: Mapped[uuid.UUID] = mapped_column(index=True)
    # The authorization code that issued the family's first token (revoked if it is replayed).
    code_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("oauth_authorization_codes.id", ondelete="SET NULL"), index=True
    )
