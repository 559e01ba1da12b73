"""Money: an integer of minor units and an ISO 4217 code."""

from __future__ import annotations

import strawberry

# Currencies whose minor unit is not a hundredth.
MINOR_DIGITS = {"JPY": 0, "KRW": 0, "VND": 0, "CLP": 0, "ISK": 0, "BHD": 3, "KWD": 3, "JOD": 3}


def minor_digits(currency: str) -> int:
    return MINOR_DIGITS.get(currency, 2)


def to_decimal(amount: int, currency: str) -> float:
    """Minor units as the gateway dialect sends them: 4999 USD -> 49.99."""
    return amount / 10 ** minor_digits(currency)


@strawberry.type
class Money:
    amount: int = strawberry.field(description="In minor units (cents).")
    currency: str

    @strawberry.field
    def formatted(self) -> str:
        digits = minor_digits(self.currency)
        return f"{self.amount / 10**digits:,.{digits}f} {self.currency}"
