"""Permission strings and their wildcards."""

from __future__ import annotations

import pytest

from app.auth.actor import ANONYMOUS, Actor
from app.auth.permissions import grants, is_valid_permission
from app.errors import Forbidden, Unauthorized


@pytest.mark.parametrize(
    ("granted", "required", "expected"),
    [
        ({"catalog:create"}, "catalog:create", True),
        ({"catalog:create"}, "catalog:update", False),
        ({"catalog:*"}, "catalog:delete", True),
        ({"*:read"}, "audit:read", True),
        ({"*:read"}, "audit:write", False),
        ({"*:*"}, "anything:goes", True),
        ({"catalog:create"}, "catalog:*", False),
        ({"catalog:*"}, "catalog:*", True),
        ({"*:*"}, "*:*", True),
        ({"audit:read"}, "*:*", False),
        (set(), "audit:read", False),
    ],
)
def test_grants(granted: set[str], required: str, expected: bool) -> None:
    assert grants(frozenset(granted), required) is expected


@pytest.mark.parametrize(
    ("value", "valid"),
    [
        ("catalog:create", True),
        ("*:*", True),
        ("apiKeys:manage", True),
        ("catalog", False),
        ("catalog:", False),
        (":x", False),
        ("a b:c", False),
        ("a:b:c", False),
        ("1a:b", False),
    ],
)
def test_permission_syntax(value: str, valid: bool) -> None:
    assert is_valid_permission(value) is valid


def test_anonymous_is_unauthorized_and_a_known_actor_forbidden() -> None:
    with pytest.raises(Unauthorized):
        ANONYMOUS.require("audit:read")
    with pytest.raises(Forbidden):
        Actor(kind="api_key", id="k", permissions=frozenset({"catalog:*"})).require("audit:read")
    Actor(kind="api_key", id="k", permissions=frozenset({"audit:*"})).require("audit:read")
