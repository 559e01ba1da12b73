"""Media assets: uploading, reading, deleting, and attaching them to catalog entities.

Storage is never called inside a transaction (DESIGN §10). An upload writes the file first,
then commits its row; should the commit fail, the file is deleted again. A delete removes the
row and its attachments in one transaction, then the stored files (original and thumbnails)
after the commit; a file whose removal fails then is left behind, logged (an orphan with no
row, never a row without its file).

Who may read an asset: anyone holding `media:read`; anyone at all when the asset is attached
to an active entity in a public role (thumbnail, gallery, document). A `download` file is
never public: a buyer reaches it through a signed link from `/me` downloads.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import IO

from sqlalchemy import ColumnElement, exists, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.actor import Actor
from app.db import Database, UnitOfWork
from app.errors import Conflict, NotFound, PayloadTooLarge, ValidationFailed
from app.ids import uuid7
from app.jobs import enqueue
from app.media import MediaSetup
from app.media.sniff import HEAD_BYTES, Refused, detect
from app.models.catalog import CatalogEntity
from app.models.media import ALT_LENGTH, FILENAME_LENGTH, MEDIA_ROLES, MediaAsset, MediaAttachment
from app.pagination import Page, PageRequest, SortKey, paginate
from app.services.audit import record_change

log = logging.getLogger("app.media")

READ = "media:read"
ENTITY = "media_asset"
VARIANTS_JOB = "media.variants"
PUBLIC_ROLES = tuple(r for r in MEDIA_ROLES if r != "download")
ASSET_ORDER = (SortKey(MediaAsset.id, descending=True),)
CHUNK = 1024 * 1024
# What a stored filename keeps: printable, no path, no quotes or control characters.
_UNSAFE = re.compile(r"[^\w.\- ()+,]+")


@dataclass(frozen=True, slots=True)
class Received:
    """An upload read through once: what it is, how big, its digest."""

    kind: str
    content_type: str
    extension: str
    byte_size: int
    sha256: str
    filename: str


def clean_filename(name: str | None, extension: str) -> str:
    base = (name or "").replace("\\", "/").rsplit("/", 1)[-1]
    base = _UNSAFE.sub("_", base).strip(" .")[: FILENAME_LENGTH - 10]
    return base or f"upload.{extension}"


def _alt(alt: str | None) -> str | None:
    if alt is not None and len(alt) > ALT_LENGTH:
        raise ValidationFailed.field("alt", f"At most {ALT_LENGTH} characters.")
    return alt.strip() or None if alt is not None else None


def receive(file: IO[bytes], filename: str | None, setup: MediaSetup) -> Received:
    """Read an upload once (blocking: call it in a thread): size within the limit, type from
    its first bytes (its name and declared type do not count), SHA-256. Leaves `file` at 0."""
    file.seek(0)
    head = file.read(HEAD_BYTES)
    if not head:
        raise ValidationFailed.field("file", "The file is empty.")
    try:
        kind = detect(head, setup.kinds)
    except Refused as refused:
        raise ValidationFailed.field("file", str(refused)) from None
    digest = hashlib.sha256(head)
    size = len(head)
    while chunk := file.read(CHUNK):
        size += len(chunk)
        if size > setup.max_bytes:
            raise PayloadTooLarge(f"The file exceeds {setup.max_bytes} bytes.")
        digest.update(chunk)
    if size > setup.max_bytes:
        raise PayloadTooLarge(f"The file exceeds {setup.max_bytes} bytes.")
    file.seek(0)
    return Received(
        kind=kind.name,
        content_type=kind.content_type,
        extension=kind.extension,
        byte_size=size,
        sha256=digest.hexdigest(),
        filename=clean_filename(filename, kind.extension),
    )


async def upload_media(
    database: Database,
    actor: Actor,
    setup: MediaSetup,
    *,
    file: IO[bytes],
    filename: str | None,
    alt: str | None = None,
    request_id: str | None = None,
) -> MediaAsset:
    """Store an uploaded file and record it (`media.create`); its dimensions and thumbnails
    come later, from the `media.variants` job queued with the row."""
    alt = _alt(alt)
    received = await asyncio.to_thread(receive, file, filename, setup)
    id = uuid7()
    key = f"{id}/original.{received.extension}"
    await setup.storage.put(key, file, received.content_type)
    try:
        async with database.unit_of_work(request_id=request_id) as uow:
            asset = MediaAsset(
                id=id,
                storage_key=key,
                filename=received.filename,
                kind=received.kind,
                content_type=received.content_type,
                byte_size=received.byte_size,
                sha256=received.sha256,
                alt=alt,
                variants=[],
                processing="pending",
                created_by=actor.id,
            )
            uow.session.add(asset)
            await uow.session.flush()
            enqueue(uow.session, VARIANTS_JOB, {"mediaAssetId": str(id)}, queue="media")
            record_change(
                uow, actor, event="media.create", entity_type=ENTITY, entity_id=str(id),
                after=asset.snapshot(),
            )  # fmt: skip
            await uow.commit()
    except BaseException:
        await remove_files(setup, [key])
        raise
    return asset


async def remove_files(setup: MediaSetup, keys: Sequence[str]) -> None:
    """Delete stored files, after the transaction; a failure is logged, never raised."""
    for key in keys:
        try:
            await setup.storage.delete(key)
        except Exception:
            log.exception("could not delete stored media file %s (left as an orphan)", key)


async def delete_media(
    database: Database,
    actor: Actor,
    setup: MediaSetup,
    *,
    id: uuid.UUID,
    request_id: str | None = None,
) -> MediaAsset:
    """Remove an asset and its attachments (`media.delete`), then its stored files."""
    async with database.unit_of_work(request_id=request_id) as uow:
        asset = await uow.session.get(MediaAsset, id, with_for_update=True)
        if asset is None:
            raise NotFound("Media asset not found.")
        before = asset.snapshot()
        keys = asset.stored_keys()
        await uow.session.delete(asset)
        await uow.session.flush()
        record_change(
            uow, actor, event="media.delete", entity_type=ENTITY, entity_id=str(id),
            before=before,
        )  # fmt: skip
        await uow.commit()
    await remove_files(setup, keys)
    return asset


async def _entity(session: AsyncSession, entity_id: uuid.UUID) -> CatalogEntity:
    entity = await session.get(CatalogEntity, entity_id)
    if entity is None:
        raise NotFound("Catalog entity not found.")
    return entity


def _role(role: str) -> str:
    if role not in MEDIA_ROLES:
        raise ValidationFailed.field("role", f"One of {', '.join(MEDIA_ROLES)}.")
    return role


async def attach_media(
    uow: UnitOfWork,
    actor: Actor,
    *,
    entity_id: uuid.UUID,
    media_asset_id: uuid.UUID,
    role: str,
    position: int | None = None,
) -> MediaAttachment:
    """Attach an asset to an entity in a role (`media.attach`), last in that role unless a
    position is given. The same asset in the same role twice is a CONFLICT."""
    _role(role)
    if position is not None and position < 0:
        raise ValidationFailed.field("position", "Must be 0 or more.")
    await _entity(uow.session, entity_id)
    if await uow.session.get(MediaAsset, media_asset_id) is None:
        raise NotFound("Media asset not found.")
    taken = await uow.session.scalar(
        select(MediaAttachment.id).where(
            MediaAttachment.entity_id == entity_id,
            MediaAttachment.media_asset_id == media_asset_id,
            MediaAttachment.role == role,
        )
    )
    if taken is not None:
        raise Conflict(f"The asset is already attached to this entity as {role}.")
    if position is None:
        last = await uow.session.scalar(
            select(func.max(MediaAttachment.position)).where(
                MediaAttachment.entity_id == entity_id, MediaAttachment.role == role
            )
        )
        position = 0 if last is None else last + 1
    attachment = MediaAttachment(
        entity_id=entity_id, media_asset_id=media_asset_id, role=role, position=position
    )
    uow.session.add(attachment)
    await uow.session.flush()
    record_change(
        uow, actor, event="media.attach", entity_type=ENTITY, entity_id=str(media_asset_id),
        after=attachment.snapshot(),
    )  # fmt: skip
    return attachment


async def detach_media(
    uow: UnitOfWork,
    actor: Actor,
    *,
    entity_id: uuid.UUID,
    media_asset_id: uuid.UUID,
    role: str | None = None,
) -> list[MediaAttachment]:
    """Detach an asset from an entity (`media.detach`): from `role`, or from every role. The
    asset itself stays; NOT_FOUND when it was not attached so."""
    statement = select(MediaAttachment).where(
        MediaAttachment.entity_id == entity_id, MediaAttachment.media_asset_id == media_asset_id
    )
    if role is not None:
        statement = statement.where(MediaAttachment.role == _role(role))
    found = list(await uow.session.scalars(statement.with_for_update()))
    if not found:
        raise NotFound("The asset is not attached to this entity so.")
    for attachment in found:
        before = attachment.snapshot()
        await uow.session.delete(attachment)
        record_change(
            uow, actor, event="media.detach", entity_type=ENTITY,
            entity_id=str(media_asset_id), before=before,
        )  # fmt: skip
    await uow.session.flush()
    return found


def public_condition() -> ColumnElement[bool]:
    """SQL: the asset (MediaAsset) is attached to an active entity in a public role."""
    return exists(
        select(MediaAttachment.id)
        .join(CatalogEntity, CatalogEntity.id == MediaAttachment.entity_id)
        .where(
            MediaAttachment.media_asset_id == MediaAsset.id,
            MediaAttachment.role.in_(PUBLIC_ROLES),
            CatalogEntity.status == "active",
        )
    )


async def get_media_asset(session: AsyncSession, actor: Actor, id: uuid.UUID) -> MediaAsset:
    """An asset the actor may read (else NOT_FOUND: a private asset's existence is not told)."""
    statement = select(MediaAsset).where(MediaAsset.id == id)
    if not actor.can(READ):
        statement = statement.where(public_condition())
    asset = await session.scalar(statement)
    if asset is None:
        raise NotFound("Media asset not found.")
    return asset


async def list_media_assets(
    session: AsyncSession,
    *,
    page: PageRequest,
    kind: str | None = None,
    entity_id: uuid.UUID | None = None,
    role: str | None = None,
) -> Page[MediaAsset]:
    """Newest first; narrowed to a kind, or to what is attached to an entity (in a role)."""
    statement = select(MediaAsset)
    if kind is not None:
        statement = statement.where(MediaAsset.kind == kind)
    if entity_id is not None or role is not None:
        attached = select(MediaAttachment.id).where(MediaAttachment.media_asset_id == MediaAsset.id)
        if entity_id is not None:
            attached = attached.where(MediaAttachment.entity_id == entity_id)
        if role is not None:
            attached = attached.where(MediaAttachment.role == role)
        statement = statement.where(attached.exists())
    return await paginate(session, statement, keys=ASSET_ORDER, request=page)


@dataclass(frozen=True, slots=True)
class Attached:
    """An asset as attached to one entity."""

    entity_id: uuid.UUID
    role: str
    position: int
    asset: MediaAsset


async def attached_to(
    session: AsyncSession,
    entity_ids: Sequence[uuid.UUID],
    *,
    roles: Sequence[str] | None = None,
    public_only: bool = False,
) -> dict[uuid.UUID, list[Attached]]:
    """Each entity's attached assets (one statement), by role then position."""
    statement = (
        select(MediaAttachment, MediaAsset)
        .join(MediaAsset, MediaAsset.id == MediaAttachment.media_asset_id)
        .where(MediaAttachment.entity_id.in_(entity_ids))
        .order_by(MediaAttachment.role, MediaAttachment.position, MediaAttachment.id)
    )
    if roles is not None:
        statement = statement.where(MediaAttachment.role.in_(roles))
    if public_only:
        statement = statement.where(MediaAttachment.role.in_(PUBLIC_ROLES))
    found: dict[uuid.UUID, list[Attached]] = {id: [] for id in entity_ids}
    for attachment, asset in await session.execute(statement):
        found[attachment.entity_id].append(
            Attached(attachment.entity_id, attachment.role, attachment.position, asset)
        )
    return found
