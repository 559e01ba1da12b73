"""The gateway's decimal money on the way in (DESIGN §10): a JSON number of major units
(49.99) becomes the integer of minor units (4999) the inputs take, exactly, or a
VALIDATION_FAILED naming the field. Never rounded, never through float arithmetic."""

from __future__ import annotations

from decimal import Decimal
from typing import TypeGuard

from app.errors import ValidationFailed
from app.money import to_minor


def is_number(value: object) -> TypeGuard[int | float]:
    return isinstance(value, int | float) and not isinstance(value, bool)


def minor_units(field: str, value: int | float, currency: str) -> int:
    """`value` of `currency` in minor units; finer than the currency's minor unit (49.999
    USD, 1.5 JPY) is refused with the field named. orjson reads a JSON number as a float,
    whose shortest repr is the number the client wrote (for up to 15 significant digits), so
    the Decimal is taken from that."""
    try:
        return to_minor(Decimal(repr(value)), currency)
    except ValueError as error:
        raise ValidationFailed.field(field, str(error)) from None
