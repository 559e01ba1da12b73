"""Money: an integer of minor units and an ISO 4217 code, everywhere inside.

The currencies and their minor-unit exponents come from the `iso4217` package (ISO 4217's
own list, kept current by its maintainers), for every currency that has a minor unit: USD 2,
JPY 0, BHD 3, IQD 3, CLF 4. (Babel's CLDR data was the first choice, but its "digits" are
what locales display, not ISO's exponents: it has IQD 0 and HUF 0 where ISO has 3 and 2, and
a payment provider counts minor units by ISO.) Codes without a minor unit (XAU, XTS, ...)
name no money and are refused. Conversions to and from decimal major
units (the gateway dialect's `49.99`) use `Decimal` and integer arithmetic only, never floats,
and refuse an amount finer than the currency's minor unit instead of rounding it.
"""

from __future__ import annotations

import re
from decimal import Decimal

from iso4217 import Currency

EXPONENTS: dict[str, int] = {c.code: c.exponent for c in Currency if c.exponent is not None}
CURRENCIES: frozenset[str] = frozenset(EXPONENTS)
# The shape of a code (OpenAPI's pattern); being in CURRENCIES is the real check.
CURRENCY = re.compile(r"^[A-Z]{3}$")
# A decimal beyond this many integer digits is no amount of money (and 10**huge would hang).
MAX_INTEGER_DIGITS = 40


def currency_problem(code: str) -> str | None:
    """What is wrong with `code` as a currency, in words for a VALIDATION_FAILED detail."""
    if not CURRENCY.match(code):
        return "An ISO 4217 code: three upper-case letters, e.g. USD."
    if code not in CURRENCIES:
        return f"An ISO 4217 code, e.g. USD: {code} is not a known currency."
    return None


def minor_digits(currency: str) -> int:
    """The currency's minor-unit exponent: 2 for USD (cents), 0 for JPY, 3 for BHD."""
    # A code ISO does not list (only a row stored before codes were checked can hold one)
    # renders with two places, the common case.
    return EXPONENTS.get(currency, 2)


def to_decimal(amount: int, currency: str) -> Decimal:
    """Minor units as decimal major units, exactly: 4999 USD -> 49.99, 500 JPY -> 500,
    1234 BHD -> 1.234 (the exponent kept, so 4990 USD is 49.90)."""
    return Decimal(f"{amount}E-{minor_digits(currency)}")


def to_minor(value: Decimal, currency: str) -> int:
    """Decimal major units as minor units, exactly: 49.99 USD -> 4999.

    Raises ValueError, its message fit for the client, for a value that is not finite, is
    finer than the currency's minor unit (49.999 USD, 1.5 JPY: never rounded), or is absurdly
    large."""
    if not value.is_finite():
        raise ValueError("Must be a finite number.")
    if value.adjusted() >= MAX_INTEGER_DIGITS:
        raise ValueError("Too large.")
    sign, digits, exponent = value.as_tuple()
    assert isinstance(exponent, int)  # finite
    coefficient = int("".join(map(str, digits)) or "0")
    shift = exponent + minor_digits(currency)
    if shift >= 0:
        minor: int = coefficient * 10**shift
    else:
        minor, rest = divmod(coefficient, 10**-shift)
        if rest:
            raise ValueError(precision_hint(currency))
    return -minor if sign else minor


def precision_hint(currency: str) -> str:
    """What a decimal amount of `currency` may look like, for a VALIDATION_FAILED detail."""
    digits = minor_digits(currency)
    if digits == 0:
        return f"A whole number: {currency} has no minor unit."
    unit = format(Decimal(f"1E-{digits}"), "f")
    plural = "s" if digits > 1 else ""
    return f"At most {digits} decimal place{plural}: the minor unit of {currency} is {unit}."


def format_money(amount: int, currency: str) -> str:
    """`1,234.56 USD`, `1,234 JPY`, `1.234 BHD`: exact, with the currency's own places."""
    return f"{to_decimal(amount, currency):,.{minor_digits(currency)}f} {currency}"
