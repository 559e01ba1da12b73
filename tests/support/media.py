"""Files to upload (made here, never downloaded) and small helpers for the media tests."""

from __future__ import annotations

import io
import uuid
from typing import Any

import httpx
from PIL import Image

from app.db import Database
from app.models.media import MediaAsset


def png(width: int = 40, height: int = 20, color: str = "red") -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), color).save(out, "PNG")
    return out.getvalue()


def jpeg(width: int = 40, height: int = 20) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), "blue").save(out, "JPEG")
    return out.getvalue()


PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
ZIP = (
    b"PK\x03\x04\x14\x00\x00\x00\x00\x00\x00\x00!\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00"
    b"\x00\x00\x01\x00\x00\x00a"
    b"PK\x05\x06\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00"
)
SVG = (
    b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'
)


async def upload(
    http: httpx.AsyncClient,
    data: bytes,
    *,
    filename: str = "picture.png",
    content_type: str = "image/png",
    alt: str | None = None,
) -> httpx.Response:
    form: dict[str, Any] = {"alt": alt} if alt is not None else {}
    return await http.post(
        "/api/media/upload", files={"file": (filename, data, content_type)}, data=form
    )


async def uploaded(http: httpx.AsyncClient, data: bytes, **kwargs: Any) -> dict[str, Any]:
    response = await upload(http, data, **kwargs)
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()["data"]
    return body


async def asset_row(database: Database, id: str) -> MediaAsset | None:
    async with database.read_session() as session:
        return await session.get(MediaAsset, uuid.UUID(id))
