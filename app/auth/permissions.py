"""Permissions are `resource:action` strings; a grant may use `*` for either half."""

from __future__ import annotations

import re
from collections.abc import Iterable

PERMISSION_PATTERN = re.compile(r"^(\*|[A-Za-z][A-Za-z0-9_-]*):(\*|[A-Za-z][A-Za-z0-9_-]*)$")


def is_valid_permission(value: str) -> bool:
    return bool(PERMISSION_PATTERN.match(value))


def grants(granted: frozenset[str], required: str) -> bool:
    """Whether the granted set covers `required` (itself a permission, possibly a wildcard).

    `catalog:*` covers `catalog:create`; `*:read` covers `audit:read`; `*:*` covers all.
    A wildcard requirement (`catalog:*`) is covered only by a grant at least as wide.
    """
    resource, _, action = required.partition(":")
    return bool(granted & {required, f"{resource}:*", f"*:{action}", "*:*"})


def grants_all(granted: frozenset[str], required: Iterable[str]) -> bool:
    return all(grants(granted, permission) for permission in required)
