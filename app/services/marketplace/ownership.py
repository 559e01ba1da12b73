"""Catalog entities a vendor owns (`catalog_entities.vendor_id`; null is the house's own).

A vendor's signed-in user holds no catalog permission: its reach comes from its vendor link.
It may create entities (always its own vendor's), and change, move along the status machine
and delete its own vendor's, only while the vendor is active (FORBIDDEN otherwise); another
vendor's entity, or the house's, is NOT_FOUND to it. It also sees its own vendor's entities
in every status where the public sees active ones only. Staff holding the catalog permission
work on every entity and may name the owning vendor (`vendorId`), which must exist.
"""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.actor import Actor
from app.errors import Forbidden, NotFound
from app.models.catalog import CatalogEntity
from app.services.marketplace.vendors import require_selling, require_vendor_exists


def vendor_scoped(actor: Actor, permission: str) -> bool:
    """Whether `actor` acts as a vendor's user (without `permission`, which covers all)."""
    return actor.vendor_id is not None and not actor.can(permission)


async def owner_for_create(
    session: AsyncSession, actor: Actor, vendor_id: str | None, permission: str
) -> uuid.UUID | None:
    """The vendor a new entity belongs to: a vendor's user's own (its vendor active); for
    staff the `vendorId` given (which must exist), or the house (None)."""
    if vendor_scoped(actor, permission):
        own = await require_selling(session, actor)
        if vendor_id is not None and vendor_id != str(own):
            raise Forbidden("A vendor's user creates its own vendor's entities only.")
        return own
    if vendor_id is None:
        return None
    return await require_vendor_exists(session, vendor_id, "vendorId")


async def check_owned(
    session: AsyncSession, actor: Actor, entity: CatalogEntity, permission: str
) -> None:
    """For a write: a vendor's user reaches its own vendor's entities only (NOT_FOUND for
    others), and only while the vendor is active (FORBIDDEN)."""
    if not vendor_scoped(actor, permission):
        return
    if not actor.is_vendor(entity.vendor_id):
        raise NotFound("Entity not found.")
    await require_selling(session, actor)
