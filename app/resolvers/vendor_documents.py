"""GraphQL for vendor documents: files a vendor hands in for review, uploaded through media
(GraphQL multipart request), approved or rejected by marketplace:admin. The vendor's own users
and marketplace:admin reach a vendor's documents (another vendor's are NOT_FOUND); each is
answered with a signed, expiring link to its file, never a public one."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable
from datetime import datetime
from typing import Annotated

import strawberry
from strawberry import Info
from strawberry.dataloader import DataLoader
from strawberry.file_uploads import Upload

from app.errors import ValidationFailed
from app.models.marketplace import VendorDocument
from app.models.media import MediaAsset
from app.resolvers.arguments import AfterArg, FirstArg, LimitArg, OffsetArg, PageArg, page_request
from app.resolvers.enums import VendorDocumentKind, VendorDocumentStatus
from app.resolvers.media import MediaAssetType
from app.resolvers.pagination import Connection
from app.resolvers.permissions import requires
from app.services.marketplace import ADMIN
from app.services.marketplace import documents as service


@strawberry.type(
    name="VendorDocument",
    description="A file a vendor handed in for review (a licence, a certificate ...).",
)
class VendorDocumentType:
    id: strawberry.ID = strawberry.field(description="The document's id.")
    vendor_id: strawberry.ID = strawberry.field(description="The vendor's id.")
    media_asset_id: strawberry.ID = strawberry.field(description="Its file's media asset id.")
    kind: VendorDocumentKind = strawberry.field(description="What it proves.")
    status: VendorDocumentStatus = strawberry.field(description="Where its review stands.")
    reason: str | None = strawberry.field(description="Why it was rejected (null otherwise).")
    reviewed_by: str | None = strawberry.field(description="Who approved or rejected it.")
    reviewed_at: datetime | None = strawberry.field(description="When it was reviewed.")
    created_at: datetime = strawberry.field(description="When it was handed in.")
    updated_at: datetime = strawberry.field(description="When it last changed.")
    media_asset: MediaAssetType = strawberry.field(description="Its file's media asset.")
    storage_key: strawberry.Private[str]

    @strawberry.field(
        description="A signed link to its file that works for "
        "CARTOGRAPH_MEDIA_SIGNED_URL_SECONDS (documents are never public)."
    )
    def url(self, info: Info) -> str:
        setup = info.context.media_setup()
        return str(setup.storage.signed_url(self.storage_key, setup.signed_seconds))

    @classmethod
    def from_row(cls, row: VendorDocument, asset: MediaAsset) -> VendorDocumentType:
        return cls(
            id=strawberry.ID(str(row.id)), vendor_id=strawberry.ID(str(row.vendor_id)),
            media_asset_id=strawberry.ID(str(row.media_asset_id)),
            kind=VendorDocumentKind.of(row.kind), status=VendorDocumentStatus.of(row.status),
            reason=row.reason, reviewed_by=row.reviewed_by, reviewed_at=row.reviewed_at,
            created_at=row.created_at, updated_at=row.updated_at,
            media_asset=MediaAssetType.from_row(asset), storage_key=asset.storage_key,
        )  # fmt: skip


DocumentStatusArg = Annotated[
    VendorDocumentStatus | None,
    strawberry.argument(description="Only documents in this status. Default: all."),
]


async def vendor_documents(
    info: Info,
    vendor_id: str,
    status: str | None,
    page: int | None = None,
    limit: int | None = None,
    offset: int | None = None,
    first: int | None = None,
    after: str | None = None,
) -> Connection[VendorDocumentType]:
    """A vendor's documents, newest first: three statements (reach, page and count, assets)."""
    request = page_request(page=page, limit=limit, offset=offset, first=first, after=after)
    async with info.context.read() as session:
        found, assets = await service.list_vendor_documents(
            session, info.context.actor, vendor_id=vendor_id, page=request, status=status
        )
    items = [VendorDocumentType.from_row(row, assets[row.media_asset_id]) for row in found.items]
    return Connection.of(found, items)


def documents_of_vendor(
    info: Info, vendor_id: str, status: str | None
) -> Awaitable[list[VendorDocumentType]]:
    """`Vendor.documents`: batched per request (DESIGN §8's DataLoader), one statement for
    every vendor of the response asking with the same status."""
    context = info.context
    name = f"vendor_documents:{status}"
    loader = context.loaders.get(name)
    if loader is None:

        async def batch(keys: list[uuid.UUID]) -> list[list[VendorDocumentType]]:
            async with context.read() as session:
                found = await service.documents_by_vendor(session, keys, status)
            return [[VendorDocumentType.from_row(d, a) for d, a in found[k]] for k in keys]

        loader = context.loaders[name] = DataLoader(batch)
    result: Awaitable[list[VendorDocumentType]] = loader.load(uuid.UUID(vendor_id))
    return result


@strawberry.input(description="A document to hand in (GraphQL multipart request).")
class UploadVendorDocumentInput:
    vendor_id: strawberry.ID = strawberry.field(description="The vendor's id.")
    kind: VendorDocumentKind = strawberry.field(description="What it proves.")
    file: Upload = strawberry.field(
        description="The file (multipart): a PDF or an image; its type is detected from its bytes."
    )


@strawberry.input(description="A vendor's document to review, and why.")
class ReviewVendorDocumentInput:
    vendor_id: strawberry.ID = strawberry.field(description="The vendor's id.")
    id: strawberry.ID = strawberry.field(description="The document's id.")
    reason: str | None = strawberry.field(
        default=None,
        description="Why: required to reject (at most 500 characters), kept in the audit trail.",
        metadata={"jsonschema": {"maxLength": 500}},
    )


@strawberry.type
class VendorDocumentQueries:
    @strawberry.field(
        description="A vendor's documents, newest first: its own users and marketplace:admin "
        "(another vendor's are NOT_FOUND)."
    )
    async def vendor_documents(
        self,
        info: Info,
        vendor_id: Annotated[strawberry.ID, strawberry.argument(description="The vendor's id.")],
        status: DocumentStatusArg = None,
        page: PageArg = None,
        limit: LimitArg = None,
        offset: OffsetArg = None,
        first: FirstArg = None,
        after: AfterArg = None,
    ) -> Connection[VendorDocumentType]:
        return await vendor_documents(info, vendor_id, status, page, limit, offset, first, after)


async def _review(info: Info, input: ReviewVendorDocumentInput, action: str) -> VendorDocumentType:
    async with info.context.command() as uow:
        row, asset = await service.review_vendor_document(
            uow, info.context.actor, vendor_id=input.vendor_id, document_id=input.id,
            action=action, reason=input.reason,
        )  # fmt: skip
    return VendorDocumentType.from_row(row, asset)


@strawberry.type
class VendorDocumentMutations:
    @strawberry.mutation(
        description="Hand in a document for review (GraphQL multipart request spec; send an "
        "`Apollo-Require-Preflight` header): stored as a media asset (type from its bytes, "
        "CARTOGRAPH_MEDIA_MAX_BYTES, SVG refused), pending. The vendor's own users (in any "
        "status) or marketplace:admin."
    )
    async def upload_vendor_document(
        self,
        info: Info,
        input: Annotated[
            UploadVendorDocumentInput, strawberry.argument(description="The vendor, kind, file.")
        ],
    ) -> VendorDocumentType:
        upload = input.file
        file = getattr(upload, "file", None)
        if file is None:
            raise ValidationFailed.field("file", "Send the file as a multipart upload.")
        row, asset = await service.upload_vendor_document(
            info.context.database,
            info.context.actor,
            info.context.media_setup(),
            vendor_id=input.vendor_id,
            kind=input.kind,
            file=file,
            filename=getattr(upload, "filename", None),
            request_id=info.context.request_id,
        )
        return VendorDocumentType.from_row(row, asset)

    @strawberry.mutation(
        description="Approve a pending vendor document. Needs marketplace:admin.",
        permission_classes=[requires(ADMIN)],
    )
    async def approve_vendor_document(
        self,
        info: Info,
        input: Annotated[ReviewVendorDocumentInput, strawberry.argument(description="Which.")],
    ) -> VendorDocumentType:
        return await _review(info, input, "approve")

    @strawberry.mutation(
        description="Reject a pending vendor document, saying why. Needs marketplace:admin.",
        permission_classes=[requires(ADMIN)],
    )
    async def reject_vendor_document(
        self,
        info: Info,
        input: Annotated[
            ReviewVendorDocumentInput, strawberry.argument(description="Which, and why.")
        ],
    ) -> VendorDocumentType:
        return await _review(info, input, "reject")
