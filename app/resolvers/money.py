"""Money in GraphQL: an integer of minor units and an ISO 4217 code (helpers in app.money)."""

from __future__ import annotations

import strawberry

from app.money import format_money


@strawberry.type(
    description="An amount of money: integer minor units and an ISO 4217 currency code."
)
class Money:
    amount: int = strawberry.field(description="In minor units (cents).")
    currency: str = strawberry.field(description="The ISO 4217 currency code, e.g. EUR.")

    @strawberry.field(
        description="The amount written for people, with its currency, e.g. 12.50 EUR."
    )
    def formatted(self) -> str:
        return format_money(self.amount, self.currency)
