"""UUIDv7 ids sort in the order they were made."""

from __future__ import annotations

from app.ids import parse_uuid, uuid7


def test_uuid7_is_version_7_and_strictly_increasing() -> None:
    ids = [uuid7() for _ in range(10_000)]
    assert all(i.version == 7 and i.variant == "specified in RFC 4122" for i in ids)
    assert ids == sorted(ids) and len(set(ids)) == len(ids)
    assert [i.hex for i in ids] == sorted(i.hex for i in ids)  # SQLite stores the hex text


def test_parse_uuid() -> None:
    value = uuid7()
    assert parse_uuid(str(value)) == value
    assert parse_uuid("nope") is None
