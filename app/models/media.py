"""Media: uploaded files (their bytes live in storage, `app.media.storage`) and where they are
attached to catalog entities."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, IdMixin, JSONType, utcnow

# What an attachment is for: the list picture, the gallery, the file a buyer downloads (never
# public), a document (a manual, a data sheet).
MEDIA_ROLES = ("thumbnail", "gallery", "download", "document")
# The variants job: `pending` until it ran, `ready` (images measured and thumbnails made, or
# nothing to do for a PDF), `failed` (the bytes would not decode as the image they looked like).
PROCESSING_STATES = ("pending", "ready", "failed")
FILENAME_LENGTH = 255
ALT_LENGTH = 500


class MediaAsset(IdMixin, Base):
    __tablename__ = "media_assets"
    __table_args__ = (
        Index("ix_media_assets_kind_id", "kind", "id"),
        Index("ix_media_assets_sha256", "sha256"),
    )

    storage_key: Mapped[str] = mapped_column(String(200), unique=True)
    filename: Mapped[str] = mapped_column(String(FILENAME_LENGTH))
    # Detected from the bytes (`jpeg`, `pdf` ...), and the content type that follows from it.
    kind: Mapped[str] = mapped_column(String(16))
    content_type: Mapped[str] = mapped_column(String(100))
    byte_size: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64))
    alt: Mapped[str | None] = mapped_column(String(ALT_LENGTH))
    width: Mapped[int | None] = mapped_column(Integer)
    height: Mapped[int | None] = mapped_column(Integer)
    # Thumbnails: [{"key", "width", "height", "contentType", "byteSize"}], by width.
    variants: Mapped[list[dict[str, Any]]] = mapped_column(JSONType, default=list)
    processing: Mapped[str] = mapped_column(String(16), default="pending")
    created_by: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    def stored_keys(self) -> list[str]:
        """Every stored file of the asset: the original and its variants."""
        return [self.storage_key, *(v["key"] for v in self.variants or [])]


class MediaAttachment(IdMixin, Base):
    """An asset in a role on a catalog entity, at a position among that role's assets."""

    __tablename__ = "media_attachments"
    __table_args__ = (
        UniqueConstraint("entity_id", "media_asset_id", "role"),
        Index("ix_media_attachments_entity_id_role_position", "entity_id", "role", "position"),
        Index("ix_media_attachments_media_asset_id", "media_asset_id"),
    )

    entity_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("catalog_entities.id", ondelete="CASCADE")
    )
    media_asset_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("media_assets.id", ondelete="CASCADE")
    )
    role: Mapped[str] = mapped_column(String(16))
    position: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
