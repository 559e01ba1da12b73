"""OAuth scopes against permissions: what a client may be given (`covers`) and what a user's
token may do (`intersect`: both the user's roles and the token's scopes must grant it)."""

from __future__ import annotations

import pytest

from app.auth.permissions import grants
from app.services.oauth import covers, intersect, redirect_uri_problem

PERMISSIONS = ["audit:read", "catalog:create", "catalog:read", "orders:read", "orders:update"]


@pytest.mark.parametrize(
    ("allowed", "requested", "expected"),
    [
        (["audit:read"], ["audit:read"], True),
        (["audit:*"], ["audit:read"], True),
        (["*:read"], ["audit:read", "orders:read"], True),
        (["audit:read"], ["audit:*"], False),
        (["audit:read"], ["orders:read"], False),
        (["audit:read"], ["customer"], False),
        (["customer", "audit:read"], ["customer"], True),
        (["*:*"], ["customer"], False),
        (["*:*"], ["not-a-scope"], False),
    ],
)
def test_covers(allowed: list[str], requested: list[str], expected: bool) -> None:
    assert covers(allowed, requested) is expected


@pytest.mark.parametrize(
    ("held", "scopes"),
    [
        (["*:*"], ["audit:read"]),
        (["audit:read"], ["*:*"]),
        (["catalog:*"], ["*:read"]),
        (["catalog:create", "orders:*"], ["catalog:*", "orders:read"]),
        (["audit:read"], ["orders:read"]),
        ([], ["*:*"]),
    ],
)
def test_intersect_grants_exactly_what_both_grant(held: list[str], scopes: list[str]) -> None:
    result = intersect(held, scopes)
    for permission in PERMISSIONS:
        both = grants(frozenset(held), permission) and grants(frozenset(scopes), permission)
        assert grants(result, permission) is both, permission


@pytest.mark.parametrize(
    ("uri", "ok"),
    [
        ("https://app.example.com/cb", True),
        ("http://127.0.0.1:8765/cb", True),
        ("http://localhost/cb", True),
        ("http://app.example.com/cb", False),
        ("https://app.example.com/cb#frag", False),
        ("javascript:alert(1)", False),
        ("/relative", False),
    ],
)
def test_redirect_uris(uri: str, ok: bool) -> None:
    assert (redirect_uri_problem(uri) is None) is ok
