"""A resolver states its permission in one line: `permission_classes=[requires("audit:read")]`."""

from __future__ import annotations

from functools import cache
from typing import Any

from strawberry import Info
from strawberry.permission import BasePermission


@cache
def requires(permission: str) -> type[BasePermission]:
    class Requires(BasePermission):
        message = f"Missing permission {permission}."

        def has_permission(self, source: Any, info: Info, **kwargs: Any) -> bool:
            # Raises UNAUTHORIZED or FORBIDDEN with the domain's own error code.
            info.context.actor.require(permission)
            return True

    Requires.__name__ = f"Requires[{permission}]"
    return Requires


@cache
def requires_or_vendor(permission: str) -> type[BasePermission]:
    """`permission`, or being a vendor's signed-in user: the service then scopes the call to
    the user's own vendor (`app.services.marketplace.ownership`)."""

    class RequiresOrVendor(BasePermission):
        message = f"Missing permission {permission}."

        def has_permission(self, source: Any, info: Info, **kwargs: Any) -> bool:
            actor = info.context.actor
            if actor.vendor_id is None:
                actor.require(permission)
            return True

    RequiresOrVendor.__name__ = f"RequiresOrVendor[{permission}]"
    return RequiresOrVendor
