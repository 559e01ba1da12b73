"""The session cookie as the server sets and clears it.

HttpOnly (no script reads it), SameSite=Lax (no cross-site sub-request or form POST carries
it; the CSRF Origin check covers the rest), Path=/, Max-Age up to the session's absolute
expiry, and Secure unless `CARTOGRAPH_SESSION_COOKIE_SECURE` is `false`, or it is `auto` (the
default) and the request is plain http to a local development host.
"""

from __future__ import annotations

import math
from datetime import datetime
from typing import Any, Literal

from starlette.requests import HTTPConnection
from starlette.responses import Response

from app.models.base import utcnow

LOCAL_HOSTS = frozenset({"localhost", "127.0.0.1", "testserver", "[::1]"})
SecureSetting = Literal["auto", "true", "false"]


def is_secure(setting: SecureSetting, connection: HTTPConnection | None) -> bool:
    if setting != "auto":
        return setting == "true"
    if connection is None:
        return True
    local = connection.url.scheme in ("http", "ws") and connection.url.hostname in {
        h.strip("[]") for h in LOCAL_HOSTS
    }
    return not local


def set_session_cookie(
    response: Any,
    connection: HTTPConnection | None,
    *,
    name: str,
    token: str,
    expires_at: datetime,
    secure: SecureSetting,
) -> None:
    """Set the cookie on a Starlette response (a GraphQL or REST sub-response); a response
    that cannot carry one (a websocket's) is left alone."""
    if not isinstance(response, Response):
        return
    response.set_cookie(
        name,
        token,
        max_age=max(0, math.floor((expires_at - utcnow()).total_seconds())),
        path="/",
        secure=is_secure(secure, connection),
        httponly=True,
        samesite="lax",
    )


def clear_session_cookie(
    response: Any, connection: HTTPConnection | None, *, name: str, secure: SecureSetting
) -> None:
    if not isinstance(response, Response):
        return
    response.delete_cookie(
        name, path="/", secure=is_secure(secure, connection), httponly=True, samesite="lax"
    )
