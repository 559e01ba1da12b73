"""Pricing: price records, customer groups, modifiers, and price resolution.

Every price a face shows or a cart charges comes from `resolve_prices` (or `resolve_price`
for one), re-exported here so callers need not know the package's layout.
"""

from app.services.pricing.resolution import (
    AppliedModifier,
    PriceQuery,
    ResolvedPrice,
    resolve_price,
    resolve_prices,
)

__all__ = ["AppliedModifier", "PriceQuery", "ResolvedPrice", "resolve_price", "resolve_prices"]
