"""Money helpers: every currency's exponent from ISO 4217 (the iso4217 package), exact
conversions both ways, the gateway's wire round trip (Decimal out as a JSON number, JSON
number back in) and the checks on currency codes."""

from __future__ import annotations

from decimal import Decimal

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.config import Settings
from app.errors import ValidationFailed
from app.money import (
    CURRENCIES,
    currency_problem,
    format_money,
    minor_digits,
    to_decimal,
    to_minor,
)
from app.resolvers.money import Money
from app.responses import dumps
from app.rest.gateway.orders import payment_body

currencies = st.sampled_from(sorted(CURRENCIES))
# Far beyond any real amount, still well inside what to_minor takes.
amounts = st.integers(min_value=-(10**30), max_value=10**30)
# What a JSON number read as a double carries exactly: 15 significant digits.
wire_amounts = st.integers(min_value=-(10**15) + 1, max_value=10**15 - 1)


@pytest.mark.parametrize(
    ("currency", "digits"),
    [("USD", 2), ("EUR", 2), ("JPY", 0), ("KRW", 0), ("ISK", 0), ("BHD", 3), ("KWD", 3),
     ("JOD", 3), ("CLF", 4), ("UYW", 4), ("IQD", 3), ("HUF", 2), ("IDR", 2)],
)  # fmt: skip
def test_the_exponent_is_iso_4217s(currency: str, digits: int) -> None:
    assert minor_digits(currency) == digits


def test_every_active_currency_is_known_and_their_exponents_are_sane() -> None:
    assert len(CURRENCIES) > 150
    assert {"USD", "EUR", "JPY", "GBP", "CHF", "CNY", "INR", "BRL", "XAF", "XOF"} <= CURRENCIES
    assert {minor_digits(c) for c in CURRENCIES} <= {0, 2, 3, 4}


@pytest.mark.parametrize(
    ("amount", "currency", "text"),
    [(4999, "USD", "49.99"), (4990, "USD", "49.90"), (5, "USD", "0.05"), (0, "USD", "0.00"),
     (-5, "USD", "-0.05"), (500, "JPY", "500"), (1234, "BHD", "1.234"), (12345, "CLF", "1.2345"),
     (2**31 - 1, "USD", "21474836.47")],
)  # fmt: skip
def test_to_decimal_is_exact_with_the_currencys_places(
    amount: int, currency: str, text: str
) -> None:
    value = to_decimal(amount, currency)
    assert isinstance(value, Decimal) and str(value) == text


@given(amounts, currencies)
def test_minor_to_decimal_to_minor_round_trips_exactly(amount: int, currency: str) -> None:
    value = to_decimal(amount, currency)
    assert value.as_tuple().exponent == -minor_digits(currency)
    assert to_minor(value, currency) == amount


@given(amounts, currencies, st.integers(min_value=1, max_value=9))
def test_a_digit_beyond_the_minor_unit_is_refused_never_rounded(
    amount: int, currency: str, extra: int
) -> None:
    finer = Decimal(
        f"{amount * 10 + (extra if amount >= 0 else -extra)}E-{minor_digits(currency) + 1}"
    )
    with pytest.raises(ValueError, match=r"decimal place|whole number"):
        to_minor(finer, currency)


@given(wire_amounts, currencies)
def test_the_gateway_wire_round_trips_exactly(amount: int, currency: str) -> None:
    """Out through the response encoder, back in as orjson reads a request body, through
    payment_body: the same minor units."""
    wire = dumps({"amount": to_decimal(amount, currency), "currency": currency})
    assert payment_body(orjson.loads(wire))["amount"] == amount


@pytest.mark.parametrize(
    ("value", "currency", "minor"),
    [("49.99", "USD", 4999), ("49.990", "USD", 4999), ("49", "USD", 4900), ("500", "JPY", 500),
     ("1E+3", "JPY", 1000), ("1.234", "BHD", 1234), ("-0.05", "USD", -5)],
)  # fmt: skip
def test_to_minor_takes_any_exact_spelling(value: str, currency: str, minor: int) -> None:
    assert to_minor(Decimal(value), currency) == minor


@pytest.mark.parametrize(
    ("value", "currency", "message"),
    [("49.999", "USD", "At most 2 decimal places: the minor unit of USD is 0.01."),
     ("1.5", "JPY", "A whole number: JPY has no minor unit."),
     ("1.2345", "BHD", "At most 3 decimal places: the minor unit of BHD is 0.001."),
     ("NaN", "USD", "Must be a finite number."), ("Infinity", "USD", "Must be a finite number."),
     ("1E+999999999", "USD", "Too large.")],
)  # fmt: skip
def test_to_minor_refuses_what_is_not_exact_minor_units(
    value: str, currency: str, message: str
) -> None:
    with pytest.raises(ValueError) as refused:
        to_minor(Decimal(value), currency)
    assert str(refused.value) == message


def test_decimals_are_encoded_as_the_exact_json_numbers() -> None:
    body = {"a": Decimal("49.99"), "b": Decimal("500"), "c": [Decimal("1.234")]}
    assert dumps(body) == b'{"a":49.99,"b":500,"c":[1.234]}'
    with pytest.raises(TypeError):
        dumps(Decimal("NaN"))


@pytest.mark.parametrize(
    ("amount", "currency", "text"),
    [(123456, "USD", "1,234.56 USD"), (2500, "USD", "25.00 USD"), (123456, "JPY", "123,456 JPY"),
     (1234, "BHD", "1.234 BHD"), (-5, "EUR", "-0.05 EUR"),
     (2**31 - 1, "KWD", "2,147,483.647 KWD")],
)  # fmt: skip
def test_formatted_is_exact_in_the_currencys_places(amount: int, currency: str, text: str) -> None:
    assert format_money(amount, currency) == text
    assert Money(amount=amount, currency=currency).formatted() == text


@pytest.mark.parametrize("code", ["USD", "JPY", "BHD", "CLF", "XAF"])
def test_known_codes_pass(code: str) -> None:
    assert currency_problem(code) is None


@pytest.mark.parametrize(
    ("code", "message"),
    [("usd", "three upper-case letters"), ("US", "three upper-case letters"),
     ("EURO", "three upper-case letters"), ("ÄÖÜ", "three upper-case letters"),
     ("XYZ", "XYZ is not a known currency"), ("ABC", "ABC is not a known currency"),
     ("XAU", "XAU is not a known currency"), ("DEM", "DEM is not a known currency")],
)  # fmt: skip
def test_codes_without_an_iso_minor_unit_are_refused(code: str, message: str) -> None:
    problem = currency_problem(code)
    assert problem is not None and message in problem


def test_payment_body_refuses_an_unknown_currency_naming_it() -> None:
    with pytest.raises(ValidationFailed) as refused:
        payment_body({"amount": 10, "currency": "XYZ"})
    assert set(refused.value.details or {}) == {"currency"}


@pytest.mark.parametrize(
    "body", [{"amount": "49.99", "currency": "USD"}, {"amount": True, "currency": "USD"},
             {"amount": 49.99}, {"currency": "USD"}],
)  # fmt: skip
def test_payment_body_leaves_the_wrong_types_to_the_inputs_checks(body: dict[str, object]) -> None:
    assert payment_body(body) == body


def test_the_default_currency_setting_must_be_known() -> None:
    assert Settings(default_currency="JPY").default_currency == "JPY"
    with pytest.raises(ValueError, match="XYZ is not a known currency"):
        Settings(default_currency="XYZ")
