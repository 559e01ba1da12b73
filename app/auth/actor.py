"""The actor: who is making the request, and what they may do."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

from app.auth.permissions import grants
from app.errors import Forbidden, Unauthorized

# `user`: a signed-in person (session cookie, or an OAuth token acting for them);
# `oauth_client`: an integrator's OAuth client acting for itself (client credentials).
ActorKind = Literal["anonymous", "api_key", "user", "oauth_client", "system"]


@dataclass(frozen=True, slots=True)
class Actor:
    kind: ActorKind
    id: str | None = None
    name: str | None = None
    permissions: frozenset[str] = field(default_factory=frozenset)
    # When the credential stops working (a key's expiry); None when it does not.
    expires_at: datetime | None = None
    # A signed-in user's roles, and the customer record they own (None for staff).
    roles: frozenset[str] = field(default_factory=frozenset)
    customer_id: str | None = None
    # A vendor's signed-in user: the vendor whose records are theirs (None for everyone else).
    vendor_id: str | None = None

    @property
    def is_anonymous(self) -> bool:
        return self.kind == "anonymous"

    def is_customer(self, customer_id: str | None) -> bool:
        """Whether this is that customer, signed in (their own records are theirs)."""
        return self.customer_id is not None and self.customer_id == customer_id

    def is_vendor(self, vendor_id: object) -> bool:
        """Whether this is a user of that vendor (its records are theirs)."""
        return (
            self.vendor_id is not None
            and vendor_id is not None
            and self.vendor_id == str(vendor_id)
        )

    def can(self, permission: str) -> bool:
        return grants(self.permissions, permission)

    def require(self, permission: str) -> None:
        """Raise UNAUTHORIZED for an anonymous actor, FORBIDDEN for one without the grant."""
        if self.can(permission):
            return
        if self.is_anonymous:
            raise Unauthorized("Authentication required.")
        raise Forbidden(f"Missing permission {permission}.")


ANONYMOUS = Actor(kind="anonymous")
# The operator at the command line (`cartograph apikey create`): trusted with everything.
SYSTEM = Actor(kind="system", id="system", name="cli", permissions=frozenset({"*:*"}))
