"""One entry point from a presented credential to its actor, whatever kind it is.

The kind is told by the credential's prefix (`ck_` an API key, `cs_` a session token, `cat_`
an OAuth access token); each kind's `authenticate` refuses a malformed credential of its own
without a database lookup.
A new kind registers its prefix in `AUTHENTICATORS`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from app.auth.actor import Actor
from app.db import Database
from app.services import apikeys, oauth, sessions

Authenticate = Callable[[Database, str], Awaitable[Actor | None]]

AUTHENTICATORS: dict[str, Authenticate] = {
    apikeys.KEY_PREFIX: apikeys.authenticate,
    sessions.SESSION_PREFIX: sessions.authenticate,
    oauth.ACCESS_PREFIX: oauth.authenticate,
}


async def authenticate(database: Database, credential: str) -> Actor | None:
    """The actor behind `credential`, or None when it is refused."""
    for prefix, check in AUTHENTICATORS.items():
        if credential.startswith(prefix):
            return await check(database, credential)
    return None
