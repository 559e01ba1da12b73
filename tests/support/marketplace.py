"""Marketplace things for tests: vendors (in any status) with a signed-in user each, vendor
products, and orders split across vendors, made through the services as staff would."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import httpx
from sqlalchemy import update

from app.auth.actor import SYSTEM
from app.db import Database
from app.models.catalog import CatalogEntity
from app.services.marketplace import vendors as vendor_service
from tests.api.test_checkout import cart_with, post_checkout, product
from tests.support.users import make_user, session_token

MARKET = "/api/marketplace"


@dataclass(frozen=True)
class MadeVendor:
    id: str
    slug: str
    user_id: str
    token: str  # the vendor user's session token

    @property
    def cookie(self) -> dict[str, str]:
        """Headers of the vendor user's browser (its session, the server's own Origin)."""
        return {"cookie": f"cartograph_session={self.token}", "origin": "http://testserver"}


MOVES = {"active": ["approve"], "rejected": ["reject"], "suspended": ["approve", "suspend"]}


async def make_vendor(
    database: Database, slug: str = "acme", *, status: str = "active", customer: bool = False
) -> MadeVendor:
    """A vendor registered by its own (new) user, then moved to `status` by an admin."""
    user = await make_user(
        database, email=f"{slug}@vendors.example", roles=(), customer=customer, name=slug
    )
    actor = await _user_actor(database, user.id)
    async with database.unit_of_work() as uow:
        vendor = await vendor_service.register_vendor(
            uow,
            actor,
            profile=vendor_service.VendorProfile(
                name=slug.title(), slug=slug, email=f"sales@{slug}.example"
            ),
        )
        for action in MOVES.get(status, []):
            await vendor_service.change_vendor_status(
                uow, SYSTEM, id=str(vendor.id), action=action, reason="because"
            )
        await uow.commit()
    token = await session_token(database, user)
    return MadeVendor(id=str(vendor.id), slug=slug, user_id=str(user.id), token=token)


async def _user_actor(database: Database, user_id: uuid.UUID) -> Any:
    from app.models.users import User
    from app.services.sessions import user_actor

    async with database.read_session() as session:
        user = await session.get(User, user_id)
        assert user is not None
        return await user_actor(session, user)


async def vendor_product(
    database: Database, slug: str, vendor: MadeVendor | None, amount: int = 1000, stock: int = 10
) -> CatalogEntity:
    """An active product of `vendor` (None: the house's), priced in USD, stocked in MAIN."""
    made = await product(database, slug, amount, stock=stock)
    if vendor is not None:
        async with database.unit_of_work() as uow:
            await uow.session.execute(
                update(CatalogEntity)
                .where(CatalogEntity.id == made.id)
                .values(vendor_id=uuid.UUID(vendor.id))
            )
            await uow.commit()
    return made


async def split_order(
    client: httpx.AsyncClient, *lines: tuple[CatalogEntity, int], payment: str = "pm_card_visa"
) -> dict[str, Any]:
    """A paid order (engine shape) of `lines` bought by an anonymous shopper."""
    cart = await cart_with(client, *lines)
    response = await post_checkout(client, cart, payment)
    assert response.status_code == 201, response.text
    return response.json()["data"]
