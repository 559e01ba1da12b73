"""Money in GraphQL: an integer of minor units and an ISO 4217 code (helpers in app.money)."""

from __future__ import annotations

import strawberry

from app.money import format_money


@strawberry.type
class Money:
    amount: int = strawberry.field(description="In minor units (cents).")
    currency: str

    @strawberry.field
    def formatted(self) -> str:
        return format_money(self.amount, self.currency)
