"""Passwords: argon2id at OWASP's recommended parameters (19 MiB, 2 passes, 1 lane).

Hashing costs tens of milliseconds of CPU on purpose, so it runs in a worker thread and
never blocks the event loop. An unknown e-mail address is checked against a dummy hash, so
that it takes as long as a wrong password. A hash made under older parameters is reported
by `needs_rehash` and replaced at the next successful sign-in.
"""

from __future__ import annotations

import asyncio
from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

# OWASP Password Storage Cheat Sheet: argon2id, m=19456 KiB, t=2, p=1.
HASHER = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)
MIN_LENGTH = 8
MAX_LENGTH = 128


@cache
def _dummy_hash() -> str:
    return HASHER.hash("an unknown account's password is checked against this")


async def hash_password(password: str) -> str:
    return await asyncio.to_thread(HASHER.hash, password)


def _verify(password_hash: str | None, password: str) -> bool:
    try:
        HASHER.verify(password_hash or _dummy_hash(), password)
    except (VerificationError, InvalidHashError):
        return False
    return password_hash is not None


async def verify_password(password_hash: str | None, password: str) -> bool:
    """Whether `password` matches; None (no such user, or no password) takes as long and
    answers False."""
    return await asyncio.to_thread(_verify, password_hash, password)


def needs_rehash(password_hash: str) -> bool:
    return HASHER.check_needs_rehash(password_hash)


def password_problem(password: str) -> str | None:
    """What is wrong with a new password, or None (length only, per NIST SP 800-63B)."""
    if len(password) < MIN_LENGTH:
        return f"At least {MIN_LENGTH} characters."
    if len(password) > MAX_LENGTH:
        return f"At most {MAX_LENGTH} characters."
    return None
