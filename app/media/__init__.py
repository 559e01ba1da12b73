"""Media's pluggable parts: what a file is (`sniff`), where its bytes live (`storage`), signed
links (`signing`), and the job that measures images and makes their thumbnails (`variants`).
`MediaSetup` bundles them for a process, built once from the settings."""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from app.config import Settings
from app.media.signing import Signer
from app.media.storage import LocalStorage, S3Storage, Storage


@dataclass(frozen=True, slots=True)
class MediaSetup:
    storage: Storage
    max_bytes: int
    kinds: frozenset[str]
    signed_seconds: int
    thumbnail_widths: tuple[int, ...]

    @classmethod
    def from_settings(cls, settings: Settings) -> MediaSetup:
        return cls(
            storage=storage_for(settings),
            max_bytes=settings.media_max_bytes,
            kinds=settings.media_kinds,
            signed_seconds=settings.media_signed_url_seconds,
            thumbnail_widths=settings.thumbnail_widths,
        )


# One random key per process when CARTOGRAPH_SECRET_KEY is unset: links it signs die with it.
_PROCESS_KEY = secrets.token_urlsafe(32)


def storage_for(settings: Settings) -> Storage:
    if settings.media_backend == "s3":
        return S3Storage(
            bucket=settings.s3_bucket,
            endpoint_url=settings.s3_endpoint_url,
            region=settings.s3_region,
            access_key_id=settings.s3_access_key_id,
            secret_access_key=settings.s3_secret_access_key,
            public_url=settings.media_public_url,
        )
    base = (settings.media_public_url or settings.public_url).rstrip("/")
    return LocalStorage(
        settings.media_dir,
        public_base=f"{base}/api/media/files",
        signer=Signer(settings.secret_key or _PROCESS_KEY),
    )


_SETUPS: dict[Settings, MediaSetup] = {}


def media_for(settings: Settings) -> MediaSetup:
    """The process's setup for these settings (made once: the S3 client is reused)."""
    setup = _SETUPS.get(settings)
    if setup is None:
        setup = _SETUPS[settings] = MediaSetup.from_settings(settings)
    return setup
