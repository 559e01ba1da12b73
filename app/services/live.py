"""Who hears a live event: whoever could read its entity (the rules of the reads).

`audit:read` reads every change in the audit trail, so it hears every event. Otherwise the
entity's read permission decides (`orders:read` for an order, `inventory:read` for a stock
level, ...); a signed-in customer also hears the events of their own orders, carts,
disputes, returns and reviews, a vendor's user those of its vendor and of its vendor's
sub-orders, commissions, balance entries, payouts, disputes, returns, reviews and documents
(the records each may read). An
entity type with no rule here is heard with `audit:read` alone, so a new domain's events stay
private until it states its rule. A cart's id is the credential of a customerless cart
(DESIGN §4): its events are never broadcast to anyone without `carts:manage`, or an anonymous
shopper could learn other shoppers' cart ids from the stream.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.actor import Actor
from app.ids import parse_uuid
from app.models.aftercare import Dispute, Return, Review
from app.models.carts import Cart
from app.models.ledger import BalanceEntry, Commission, Payout
from app.models.marketplace import SubOrder, VendorDocument
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
OWNED_BY_CUSTOMER: dict[str, Any] = {
    "order": Order,
    "cart": Cart,
    "dispute": Dispute,
    "return": Return,
    "review": Review,
}
# The entities a vendor's user owns: its vendor, and the records carrying its `vendor_id`.
OWNED_BY_VENDOR: dict[str, Any] = {
    "vendor": None,
    "sub_order": SubOrder,
    "commission": Commission,
    "balance_entry": BalanceEntry,
    "payout": Payout,
    "dispute": Dispute,
    "return": Return,
    "review": Review,
    "vendor_document": VendorDocument,
}


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
    if parsed is None:
        return False
    if actor.vendor_id is not None and entity_type in OWNED_BY_VENDOR:
        if entity_type == "vendor":
            return actor.is_vendor(parsed)
        vendor_model = OWNED_BY_VENDOR[entity_type]
        vendor = await session.scalar(
            select(vendor_model.vendor_id).where(vendor_model.id == parsed)
        )
        if actor.is_vendor(vendor):
            return True
    model = OWNED_BY_CUSTOMER.get(entity_type)
    if model is None or actor.customer_id is None:
        return False
    owner = await session.scalar(select(model.customer_id).where(model.id == parsed))
    return owner is not None and actor.is_customer(owner)
