"""Rate-limit test helpers: each storage the limiter runs on, and clients at fresh addresses.

On Redis the windows outlive the app (and the test run), so each client comes from an address
of its own; an empty window is then one nobody has counted against yet.
"""

from __future__ import annotations

import os
import secrets
from typing import Any

import httpx
from starlette.applications import Starlette

TEST_REDIS_URL = os.environ.get("TEST_REDIS_URL")
STORAGES = ["memory", *(["redis"] if TEST_REDIS_URL else [])]


def redis_url_for(storage: str) -> str | None:
    return TEST_REDIS_URL if storage == "redis" else None


def unique_address() -> str:
    return "10." + ".".join(str(secrets.randbelow(256)) for _ in range(3))


def client_at(app: Starlette, address: str | None = None, **kwargs: Any) -> httpx.AsyncClient:
    """A client whose requests come from `address` (a fresh one by default)."""
    transport = httpx.ASGITransport(app=app, client=(address or unique_address(), 1))
    return httpx.AsyncClient(transport=transport, base_url="http://testserver", **kwargs)
