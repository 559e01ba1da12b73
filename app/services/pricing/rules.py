"""Pricing validation rules shared by its services."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from app.ids import parse_uuid
from app.money import currency_problem
from app.services.catalog.rules import Problems

# The largest amount a 32-bit integer column (and GraphQL's Int) holds.
MAX_AMOUNT = 2**31 - 1
# Sentinel for "not given" in updates, where None means "clear".
UNSET: Any = object()


def check_currency(problems: Problems, value: str | None, field: str = "currency") -> None:
    """A currency ISO 4217 lists with a minor unit, so its exponent is known."""
    if value is not None and (problem := currency_problem(value)) is not None:
        problems.add(field, problem)


def check_amount(problems: Problems, value: int, field: str = "amount") -> None:
    if not 0 <= value <= MAX_AMOUNT:
        problems.add(field, "Minor units (cents): a whole number, 0 or more.")


def check_min_quantity(problems: Problems, value: int | None, field: str = "minQuantity") -> None:
    if value is not None and value < 1:
        problems.add(field, "At least 1.")


def check_window(
    problems: Problems, valid_from: datetime | None, valid_until: datetime | None
) -> None:
    if valid_from is not None and valid_until is not None and valid_until <= valid_from:
        problems.add("validUntil", "Must be after validFrom.")


def check_uuid(problems: Problems, value: str | None, field: str) -> uuid.UUID | None:
    """A filter's id; one that is not a UUID is a VALIDATION_FAILED naming the field."""
    if value is None:
        return None
    parsed = parse_uuid(value)
    if parsed is None:
        problems.add(field, "Must be an id (UUID).")
    return parsed
