"""Who hears a live event: whoever could read its entity (the rules of the reads).

`audit:read` reads every change in the audit trail, so it hears every event. Otherwise the
entity's read permission decides (`orders:read` for an order, `inventory:read` for a stock
level, ...); a signed-in customer also hears the events of their own orders and carts, a
vendor's user those of its vendor and its vendor's sub-orders. An
entity type with no rule here is heard with `audit:read` alone, so a new domain's events stay
private until it states its rule. A cart's id is the credential of a customerless cart
(DESIGN §4): its events are never broadcast to anyone without `carts:manage`, or an anonymous
shopper could learn other shoppers' cart ids from the stream.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.actor import Actor
from app.ids import parse_uuid
from app.models.carts import Cart
from app.models.marketplace import SubOrder
from app.models.orders import Order

HEARS_EVERYTHING = "audit:read"

READ_PERMISSIONS: dict[str, str] = {
    "order": "orders:read",
    "fulfillment": "orders:read",
    "cart": "carts:manage",
    "inventory": "inventory:read",
    "warehouse": "inventory:read",
    "catalog": "catalog:read",
    "catalog_entity": "catalog:read",
    "category": "catalog:read",
    "brand": "catalog:read",
    "customer": "customers:read",
    "address": "customers:read",
    "price": "pricing:update",
    "price_modifier": "pricing:update",
    "customer_group": "pricing:update",
    "promotion": "promotions:update",
    "user": "users:read",
    "role": "users:read",
    "session": "users:read",
    "api_key": "apiKeys:manage",
    "oauth_client": "oauthClients:manage",
    "vendor": "marketplace:admin",
    "sub_order": "marketplace:admin",
    "commission_rule": "marketplace:admin",
    "commission": "marketplace:admin",
    "balance_entry": "marketplace:admin",
    "payout": "marketplace:admin",
    "dispute": "marketplace:admin",
    "return": "marketplace:admin",
    "review": "marketplace:admin",
    "media_asset": "media:read",
}

# The entities a customer owns (their `customer_id`).
OWNED_BY_CUSTOMER: dict[str, type[Order] | type[Cart]] = {"order": Order, "cart": Cart}
# The entities a vendor's user owns: its vendor, and its vendor's sub-orders.
OWNED_BY_VENDOR = ("vendor", "sub_order")


def hears_by_permission(actor: Actor, entity_type: str) -> bool:
    """Whether `actor`'s grants alone let it hear every event of `entity_type`."""
    if actor.can(HEARS_EVERYTHING):
        return True
    permission = READ_PERMISSIONS.get(entity_type)
    return permission is not None and actor.can(permission)


def may_own(actor: Actor, entity_type: str) -> bool:
    """Whether an event of `entity_type` may be `actor`'s own (a look-up tells)."""
    if actor.vendor_id is not None and entity_type in OWNED_BY_VENDOR:
        return True
    return actor.customer_id is not None and entity_type in OWNED_BY_CUSTOMER


async def owns(session: AsyncSession, actor: Actor, entity_type: str, entity_id: str) -> bool:
    """Whether the entity is the signed-in customer's (or vendor user's) own (one indexed
    look-up)."""
    parsed = parse_uuid(entity_id)
    if actor.vendor_id is not None and entity_type in OWNED_BY_VENDOR and parsed is not None:
        if entity_type == "vendor":
            return actor.is_vendor(parsed)
        vendor = await session.scalar(select(SubOrder.vendor_id).where(SubOrder.id == parsed))
        return actor.is_vendor(vendor)
    model = OWNED_BY_CUSTOMER.get(entity_type)
    if model is None or parsed is None or actor.customer_id is None:
        return False
    owner = await session.scalar(select(model.customer_id).where(model.id == parsed))
    return owner is not None and actor.is_customer(owner)
