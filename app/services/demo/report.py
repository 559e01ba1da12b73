"""What one `seed --demo` run did: counts per kind of row, created and found already there."""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields


@dataclass(slots=True)
class SeedReport:
    """What one run created, and what it found already there (and so left alone)."""

    entities_created: int = 0
    entities_skipped: int = 0
    attributes_created: int = 0
    variants_created: int = 0
    categories_created: int = 0
    categories_skipped: int = 0
    brands_created: int = 0
    brands_skipped: int = 0
    warehouses_created: int = 0
    prices_created: int = 0
    levels_created: int = 0
    customer_groups_created: int = 0
    customers_created: int = 0
    memberships_created: int = 0
    # Demo customers' users (role customer, no password).
    users_created: int = 0
    # Saved addresses (`/me/addresses`): each demo customer's, as default shipping and billing.
    addresses_created: int = 0
    promotions_created: int = 0
    orders_created: int = 0
    # Orders that existed and were moved on towards their status (an interrupted run's).
    orders_advanced: int = 0
    orders_skipped: int = 0
    # Orders the shop could not place (a store changed by hand: a product gone, no stock).
    orders_failed: int = 0

    @property
    def created(self) -> int:
        return sum(
            getattr(self, f.name)
            for f in fields(self)
            if f.name.endswith("_created") or f.name == "orders_advanced"
        )

    def as_json(self) -> dict[str, int]:
        """camelCase counts, as the audit entry records them."""
        return {_camel(name): value for name, value in asdict(self).items()}


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)
