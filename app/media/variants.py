"""The `media.variants` job: measure an uploaded image and make its thumbnails.

Runs with no transaction open (DESIGN §10): it reads the row, fetches the original from
storage, decodes and resizes it in a worker thread, writes each thumbnail to storage, then
records the dimensions and thumbnails in a short unit of work. Should the asset have been
deleted meanwhile, the thumbnails just written are deleted again.

Decompression bombs: an image declaring more than `MAX_PIXELS` is refused from its header,
before any pixel is decoded (the upload request itself never decodes an image).
"""

from __future__ import annotations

import asyncio
import io
import logging
import uuid
import warnings
from dataclasses import dataclass
from typing import Any

from PIL import Image, ImageOps, UnidentifiedImageError

from app.jobs import GiveUp, JobContext, handler
from app.media import media_for
from app.media.sniff import KINDS
from app.models.media import MediaAsset

log = logging.getLogger("app.media")

JOB = "media.variants"
# 40 megapixels (e.g. 8000 x 5000): more is refused as a possible decompression bomb.
MAX_PIXELS = 40_000_000
THUMBNAIL_FORMAT = ("WEBP", "image/webp", "webp")


class NotAnImage(Exception):
    pass


@dataclass(frozen=True, slots=True)
class Made:
    width: int
    height: int
    thumbnails: list[tuple[int, int, bytes]]


def make_variants(data: bytes, widths: tuple[int, ...]) -> Made:
    """The image's size and a thumbnail per width narrower than it (never enlarged)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
            width, height = image.size
            if width * height > MAX_PIXELS:
                raise NotAnImage(f"{width}x{height} pixels is more than {MAX_PIXELS}.")
            image.load()
    except (UnidentifiedImageError, Image.DecompressionBombError, OSError, ValueError) as error:
        raise NotAnImage(str(error)) from error
    except Image.DecompressionBombWarning as error:
        raise NotAnImage(str(error)) from error
    upright: Image.Image = ImageOps.exif_transpose(image)
    width, height = upright.size
    thumbnails = []
    for target in widths:
        if target >= width:
            continue
        copy = upright.copy()
        copy.thumbnail((target, max(1, round(height * target / width))))
        if copy.mode not in ("RGB", "RGBA"):
            copy = copy.convert("RGBA" if "transparency" in copy.info else "RGB")
        out = io.BytesIO()
        copy.save(out, THUMBNAIL_FORMAT[0], quality=82)
        thumbnails.append((copy.width, copy.height, out.getvalue()))
    return Made(width, height, thumbnails)


@handler(JOB)
async def make_thumbnails(context: JobContext, payload: dict[str, Any]) -> None:
    setup = media_for(context.settings)
    id = uuid.UUID(payload["mediaAssetId"])
    async with context.database.read_session() as session:
        asset = await session.get(MediaAsset, id)
    if asset is None:
        raise GiveUp("The media asset is gone.")
    if not KINDS[asset.kind].image:
        await _record(context, id, processing="ready")
        return
    data = await setup.storage.get(asset.storage_key)
    try:
        made = await asyncio.to_thread(make_variants, data, setup.thumbnail_widths)
    except NotAnImage as error:
        log.warning("media asset %s did not decode as an image: %s", id, error)
        await _record(context, id, processing="failed")
        return
    variants: list[dict[str, Any]] = []
    for width, height, thumbnail in made.thumbnails:
        key = f"{id}/w{width}.{THUMBNAIL_FORMAT[2]}"
        await setup.storage.put(key, io.BytesIO(thumbnail), THUMBNAIL_FORMAT[1])
        variants.append(
            {
                "key": key,
                "width": width,
                "height": height,
                "contentType": THUMBNAIL_FORMAT[1],
                "byteSize": len(thumbnail),
            }
        )
    recorded = await _record(
        context, id, processing="ready", width=made.width, height=made.height, variants=variants
    )
    if not recorded:
        for variant in variants:
            await setup.storage.delete(variant["key"])
        raise GiveUp("The media asset was deleted while its thumbnails were made.")


async def _record(context: JobContext, id: uuid.UUID, **values: Any) -> bool:
    """Write what the job found on the asset; False when the asset is gone."""
    async with context.database.unit_of_work() as uow:
        asset = await uow.session.get(MediaAsset, id, with_for_update=True)
        if asset is None:
            return False
        for name, value in values.items():
            setattr(asset, name, value)
        await uow.commit()
    return True
