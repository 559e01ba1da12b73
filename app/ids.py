"""Identifiers: UUIDv7, so that ids sort by creation time and keyset pages can use them."""

from __future__ import annotations

import os
import threading
import time
import uuid

_MASK_62 = (1 << 62) - 1
_lock = threading.Lock()
_last = 0


def uuid7() -> uuid.UUID:
    """A RFC 9562 version 7 UUID, monotonic within this process.

    48 bits of Unix milliseconds, then 12 bits of sub-millisecond time (RFC 9562 §6.2,
    method 3), then 62 random bits. Two ids made in the same instant still sort in the order
    they were made, so "newest first" by id is exact for one process.
    """
    global _last
    millis, nanos = divmod(time.time_ns(), 1_000_000)
    fraction = nanos * 4096 // 1_000_000
    rand = int.from_bytes(os.urandom(8), "big") & _MASK_62
    value = millis << 80 | 0x7 << 76 | fraction << 64 | 0b10 << 62 | rand
    with _lock:
        if value <= _last:
            value = _last + 1
        _last = value
    return uuid.UUID(int=value)


def parse_uuid(value: str) -> uuid.UUID | None:
    """The UUID written in `value`, or None when it is not one."""
    try:
        return uuid.UUID(value)
    except (ValueError, AttributeError, TypeError):
        return None
