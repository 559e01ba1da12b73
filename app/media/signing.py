"""Signed links: an HMAC-SHA256 over (key, expiry) with the server's secret key."""

from __future__ import annotations

import hashlib
import hmac
import time


class LinkRefused(Exception):
    """A signed link that is expired or does not match its signature."""


class Signer:
    def __init__(self, secret: str) -> None:
        self._secret = secret.encode()

    def signature(self, key: str, expires: int) -> str:
        message = f"{key}\n{expires}".encode()
        return hmac.new(self._secret, message, hashlib.sha256).hexdigest()

    def sign(self, key: str, seconds: int, *, now: float | None = None) -> tuple[int, str]:
        """The expiry (unix seconds) and signature of a link to `key` valid `seconds`."""
        expires = int((time.time() if now is None else now) + seconds)
        return expires, self.signature(key, expires)

    def verify(self, key: str, expires: str | None, signature: str | None) -> None:
        """Raise LinkRefused unless the link is signed by us and not yet expired."""
        if not expires or not signature or not expires.isdigit() or len(expires) > 12:
            raise LinkRefused("The link is not signed.")
        # Compared before the expiry, so a forged expiry is called what it is.
        if not hmac.compare_digest(self.signature(key, int(expires)), signature):
            raise LinkRefused("The link's signature is invalid.")
        if int(expires) < time.time():
            raise LinkRefused("The link has expired.")
