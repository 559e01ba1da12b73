"""Small text rules the services share: trimmed, bounded input text, and LIKE patterns."""

from __future__ import annotations

from app.errors import ValidationFailed


def trimmed(
    value: str | None, field: str, limit: int, *, required: bool = False, missing: str = "Required."
) -> str | None:
    """`value` without surrounding blanks, None when that leaves nothing; VALIDATION_FAILED on
    `field` when it is required and missing (`missing` says so) or longer than `limit`."""
    value = (value or "").strip() or None
    if value is None and required:
        raise ValidationFailed.field(field, missing)
    if value is not None and len(value) > limit:
        raise ValidationFailed.field(field, f"At most {limit} characters.")
    return value


def like_escaped(value: str) -> str:
    """`value` with LIKE's wildcards and escape character escaped (for `ESCAPE '\\'`)."""
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
