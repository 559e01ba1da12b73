"""Catalog validation rules shared by its services."""

from __future__ import annotations

import re
import unicodedata
from typing import Any

import orjson

from app.errors import ValidationFailed
from app.json_values import json_problem

SLUG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
LOCALE = re.compile(r"^[a-z]{2,3}(?:-[A-Za-z0-9]{2,8})*$")
SKU = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._\-/]{0,99}$")
MAX_METADATA_BYTES = 16_384


class Problems:
    """Collects field problems so one answer names every bad field."""

    def __init__(self) -> None:
        self.details: dict[str, str] = {}

    def add(self, field: str, message: str) -> None:
        self.details.setdefault(field, message)

    def raise_if_any(self) -> None:
        if self.details:
            message = "; ".join(f"{k}: {v}" for k, v in self.details.items())
            raise ValidationFailed(message, details=self.details)


def check_slug(problems: Problems, value: str, field: str = "slug") -> None:
    if len(value) > 200 or not SLUG.match(value):
        problems.add(field, "Lower-case letters, digits and single hyphens, at most 200.")


def check_text(problems: Problems, value: str | None, field: str, *, limit: int) -> None:
    if value is not None and len(value) > limit:
        problems.add(field, f"At most {limit} characters.")


def check_name(problems: Problems, value: str, field: str = "name", *, limit: int = 200) -> str:
    value = value.strip()
    if not 1 <= len(value) <= limit:
        problems.add(field, f"Must be 1 to {limit} characters.")
    return value


def check_metadata(problems: Problems, value: object, field: str = "metadata") -> dict[str, Any]:
    """`value` (any JSON a client sent) as the JSON object it must be; otherwise the problem
    is added and an empty object stands in until `raise_if_any`."""
    if not isinstance(value, dict):
        problems.add(field, "Must be a JSON object.")
        return {}
    if (problem := json_problem(value)) is not None:
        problems.add(field, problem)
    elif len(orjson.dumps(value)) > MAX_METADATA_BYTES:
        problems.add(field, f"At most {MAX_METADATA_BYTES} bytes of JSON.")
    return value


ADDRESS_FIELDS = ("line1", "line2", "city", "state", "postalCode", "country")


def check_address(
    problems: Problems, address: object, field: str = "address"
) -> dict[str, Any] | None:
    """A postal address: an object of the known fields, each a short string (None stays
    None). Anything else adds the problem, and None stands in until `raise_if_any`."""
    if address is None:
        return None
    if not isinstance(address, dict):
        problems.add(field, "Must be an object.")
        return None
    unknown = [k for k in address if k not in ADDRESS_FIELDS]
    if unknown:
        problems.add(
            field, f"Unknown fields {', '.join(unknown)}; use {', '.join(ADDRESS_FIELDS)}."
        )
    elif any(not isinstance(v, str) or len(v) > 200 for v in address.values()):
        problems.add(field, "Each field is a string of at most 200 characters.")
    return address


def check_locale(locale: str) -> None:
    if len(locale) > 16 or not LOCALE.match(locale):
        raise ValidationFailed.field("locale", "A language tag such as en or de-CH.")


def slugify(text: str) -> str:
    """`Blue Widget (XL)` -> `blue-widget-xl`."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")[:180].strip("-") or "item"
