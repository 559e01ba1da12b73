"""Redis for the tests that share state between two apps through it (`TEST_REDIS_URL`, db 15).

Without it such a test is skipped with the reason, except under `CI=true`, where it is an
error: CI must run them.
"""

from __future__ import annotations

import os

import pytest

from tests.support.rate_limit import TEST_REDIS_URL


def require_redis() -> str:
    """`TEST_REDIS_URL`; else skip (or fail under CI)."""
    if TEST_REDIS_URL:
        return TEST_REDIS_URL
    reason = "TEST_REDIS_URL is not set (e.g. redis://127.0.0.1:6379/15)"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"CI must run the tests that share state through Redis: {reason}")
    pytest.skip(reason)
