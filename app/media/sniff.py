"""What an uploaded file is, decided by its bytes (its name and declared type do not count)."""

from __future__ import annotations

from dataclasses import dataclass

import filetype

# The first bytes the detector reads (filetype looks at no more than this).
HEAD_BYTES = 8192


@dataclass(frozen=True, slots=True)
class Kind:
    name: str
    content_type: str
    extension: str
    image: bool = False


KINDS = {
    k.name: k
    for k in (
        Kind("jpeg", "image/jpeg", "jpg", image=True),
        Kind("png", "image/png", "png", image=True),
        Kind("gif", "image/gif", "gif", image=True),
        Kind("webp", "image/webp", "webp", image=True),
        Kind("pdf", "application/pdf", "pdf"),
        Kind("zip", "application/zip", "zip"),
    )
}
KNOWN_KINDS = tuple(KINDS)
# filetype's names for what we call the same.
_ALIASES = {"jpg": "jpeg"}


class Refused(Exception):
    """Not a file we accept; the message says what it is and what is."""


def looks_like_svg(head: bytes) -> bool:
    text = head[:1024].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    return text.startswith((b"<?xml", b"<svg", b"<!doctype svg")) or b"<svg" in text


def detect(head: bytes, allowed: frozenset[str]) -> Kind:
    """The kind of file `head` (its first bytes) starts, if it is one of `allowed`."""
    choices = ", ".join(k for k in KNOWN_KINDS if k in allowed)
    if looks_like_svg(head):
        # SVG can carry script; we neither sanitise nor serve it.
        raise Refused(f"SVG files are not accepted. Allowed types: {choices}.")
    guessed = filetype.guess(head)
    name = _ALIASES.get(guessed.extension, guessed.extension) if guessed else None
    if name is None or name not in KINDS:
        raise Refused(f"The file's content is not of an allowed type ({choices}).")
    if name not in allowed:
        raise Refused(f"The file's content is {name}, which is not accepted ({choices}).")
    return KINDS[name]
