"""Vendor documents: files a vendor hands in for review (a business licence, a tax
certificate ...), uploaded through media and approved or rejected by marketplace:admin.

Who reaches them: the vendor's own users and marketplace:admin (another vendor's are
NOT_FOUND, as the vendor itself is; see `vendors.get_vendor`). The files are never public: a
document is answered with a signed, expiring link to its file.

The machine: pending -> approved, pending -> rejected (with a reason); any other move is a
CONFLICT naming the current status. The upload stores the file and its media row first (the
media service, DESIGN §10), then the document in a transaction of its own; should that fail,
the asset is deleted again.
"""

from __future__ import annotations

import uuid
from typing import IO

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.actor import Actor
from app.db import Database, UnitOfWork
from app.errors import Conflict, NotFound, ValidationFailed
from app.ids import parse_uuid
from app.media import MediaSetup
from app.models.base import utcnow
from app.models.marketplace import (
    DOCUMENT_KINDS,
    DOCUMENT_STATUSES,
    REASON_LENGTH,
    VendorDocument,
)
from app.models.media import MediaAsset
from app.pagination import Page, PageRequest, SortKey, paginate
from app.services import media as media_service
from app.services.audit import record_change
from app.services.marketplace import ADMIN
from app.services.marketplace.vendors import get_vendor
from app.text import trimmed

ENTITY = "vendor_document"
DOCUMENT_ORDER = (SortKey(VendorDocument.id, descending=True),)
# action -> (to status, whether a reason is required); every move starts from pending.
ACTIONS: dict[str, tuple[str, bool]] = {
    "approve": ("approved", False),
    "reject": ("rejected", True),
}


def _kind(kind: str) -> str:
    if kind not in DOCUMENT_KINDS:
        raise ValidationFailed.field("kind", f"One of {', '.join(DOCUMENT_KINDS)}.")
    return kind


async def reach_vendor(session: AsyncSession, actor: Actor, vendor_id: str) -> uuid.UUID:
    """The vendor's id when the actor reaches it (its own users, marketplace:admin); NOT_FOUND
    for another vendor's, UNAUTHORIZED / FORBIDDEN for anyone else."""
    vendor = await get_vendor(session, actor, vendor_id)
    return vendor.id


async def upload_vendor_document(
    database: Database,
    actor: Actor,
    setup: MediaSetup,
    *,
    vendor_id: str,
    kind: str,
    file: IO[bytes],
    filename: str | None,
    request_id: str | None = None,
) -> tuple[VendorDocument, MediaAsset]:
    """Store the file as a media asset (type sniffing, size limit, SVG refused), then record
    the pending document (`vendorDocuments.create`)."""
    _kind(kind)
    async with database.read_session() as session:
        vendor = await reach_vendor(session, actor, vendor_id)
    asset = await media_service.upload_media(
        database, actor, setup, file=file, filename=filename, request_id=request_id
    )
    try:
        async with database.unit_of_work(request_id=request_id) as uow:
            # Checked again under the transaction: the vendor may have gone meanwhile.
            await reach_vendor(uow.session, actor, str(vendor))
            document = VendorDocument(
                vendor_id=vendor, media_asset_id=asset.id, kind=kind, status="pending",
                created_by=actor.id,
            )  # fmt: skip
            uow.session.add(document)
            await uow.session.flush()
            record_change(
                uow, actor, event="vendorDocuments.create", entity_type=ENTITY,
                entity_id=str(document.id), after=document.snapshot(),
            )  # fmt: skip
            await uow.commit()
    except BaseException:
        await media_service.delete_media(database, actor, setup, id=asset.id, request_id=request_id)
        raise
    return document, asset


async def list_vendor_documents(
    session: AsyncSession,
    actor: Actor,
    *,
    vendor_id: str,
    page: PageRequest,
    status: str | None = None,
) -> tuple[Page[VendorDocument], dict[uuid.UUID, MediaAsset]]:
    """A vendor's documents, newest first, and their assets (one more statement)."""
    if status is not None and status not in DOCUMENT_STATUSES:
        raise ValidationFailed.field("status", f"One of {', '.join(DOCUMENT_STATUSES)}.")
    vendor = await reach_vendor(session, actor, vendor_id)
    statement = select(VendorDocument).where(VendorDocument.vendor_id == vendor)
    if status is not None:
        statement = statement.where(VendorDocument.status == status)
    found = await paginate(session, statement, keys=DOCUMENT_ORDER, request=page)
    return found, await assets_by_id(session, [row.media_asset_id for row in found.items])


async def documents_by_vendor(
    session: AsyncSession, ids: list[uuid.UUID], status: str | None = None
) -> dict[uuid.UUID, list[tuple[VendorDocument, MediaAsset]]]:
    """Each vendor's documents (newest first) with their assets, in one statement; the
    caller has reached the vendors (`Vendor.documents` of a vendor the actor may see)."""
    statement = (
        select(VendorDocument, MediaAsset)
        .join(MediaAsset, MediaAsset.id == VendorDocument.media_asset_id)
        .where(VendorDocument.vendor_id.in_(set(ids)))
        .order_by(VendorDocument.id.desc())
    )
    if status is not None:
        statement = statement.where(VendorDocument.status == status)
    found: dict[uuid.UUID, list[tuple[VendorDocument, MediaAsset]]] = {id: [] for id in ids}
    if ids:
        for document, asset in await session.execute(statement):
            found[document.vendor_id].append((document, asset))
    return found


async def assets_by_id(session: AsyncSession, ids: list[uuid.UUID]) -> dict[uuid.UUID, MediaAsset]:
    if not ids:
        return {}
    rows = await session.scalars(select(MediaAsset).where(MediaAsset.id.in_(set(ids))))
    return {row.id: row for row in rows}


async def review_vendor_document(
    uow: UnitOfWork,
    actor: Actor,
    *,
    vendor_id: str,
    document_id: str,
    action: str,
    reason: str | None = None,
) -> tuple[VendorDocument, MediaAsset]:
    """approve or reject a pending document (`vendorDocuments.statusChange`); needs
    marketplace:admin."""
    actor.require(ADMIN)
    target, needs_reason = ACTIONS[action]
    reason = trimmed(reason, "reason", REASON_LENGTH)
    vendor = await reach_vendor(uow.session, actor, vendor_id)
    parsed = parse_uuid(document_id)
    document = None
    if parsed is not None:
        document = await uow.session.scalar(
            select(VendorDocument)
            .where(VendorDocument.id == parsed, VendorDocument.vendor_id == vendor)
            .with_for_update()
        )
    if document is None:
        raise NotFound("Vendor document not found.")
    if document.status != "pending":
        raise Conflict(
            f"Cannot {action} a document that is {document.status}; allowed actions: none.",
            details={"status": document.status, "allowed": ""},
        )
    if needs_reason and reason is None:
        raise ValidationFailed.field("reason", "Say why the document is rejected.")
    before = document.snapshot()
    now = utcnow()
    document.status = target
    document.reason = reason if target == "rejected" else None
    document.reviewed_by = actor.id
    document.reviewed_at = now
    document.updated_at = now
    await uow.session.flush()
    record_change(
        uow, actor, event="vendorDocuments.statusChange", entity_type=ENTITY,
        entity_id=str(document.id), before=before, after=document.snapshot(),
        reason=reason or action,
    )  # fmt: skip
    asset = await uow.session.get(MediaAsset, document.media_asset_id)
    assert asset is not None
    return document, asset
