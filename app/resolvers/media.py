"""GraphQL for media: assets (`media:read` for all, anyone for public ones), uploads through
the GraphQL multipart request spec (`media:create`), deleting (`media:delete`), attaching to
and detaching from catalog entities (`media:update`)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

import strawberry
from strawberry import Info
from strawberry.file_uploads import Upload

from app.errors import NotFound, ValidationFailed
from app.models.media import MediaAsset, MediaAttachment
from app.resolvers.arguments import (
    AfterArg,
    FirstArg,
    LimitArg,
    OffsetArg,
    PageArg,
    page_request,
    uuid_or_not_found,
)
from app.resolvers.enums import MediaKind, MediaProcessing, MediaRole
from app.resolvers.pagination import Connection, to_connection
from app.resolvers.permissions import requires
from app.services import media as service

CREATE, READ, UPDATE, DELETE = "media:create", "media:read", "media:update", "media:delete"
SignedArg = Annotated[
    bool,
    strawberry.argument(
        description="true: a signed link that works for CARTOGRAPH_MEDIA_SIGNED_URL_SECONDS "
        "and is refused once changed or expired; false (default): the public URL."
    ),
]


def _url(info: Info, key: str, signed: bool) -> str:
    setup = info.context.media_setup()
    if signed:
        return str(setup.storage.signed_url(key, setup.signed_seconds))
    return str(setup.storage.public_url(key))


@strawberry.type(name="MediaVariant", description="A thumbnail of an image, made by a job.")
class MediaVariantType:
    width: int = strawberry.field(description="Its width in pixels.")
    height: int = strawberry.field(description="Its height in pixels.")
    content_type: str = strawberry.field(description="Its MIME type (image/webp).")
    byte_size: int = strawberry.field(description="Its size in bytes.")
    key: strawberry.Private[str]

    @strawberry.field(description="Where to fetch it.")
    def url(self, info: Info, signed: SignedArg = False) -> str:
        return _url(info, self.key, signed)


@strawberry.type(name="MediaAsset", description="An uploaded file: an image, a PDF, an archive.")
class MediaAssetType:
    id: strawberry.ID = strawberry.field(description="The asset's id.")
    filename: str = strawberry.field(description="The uploaded file's name, made safe.")
    kind: MediaKind = strawberry.field(description="What the file is, detected from its bytes.")
    content_type: str = strawberry.field(
        description="Its MIME type, from the detected kind (never the one the client declared)."
    )
    byte_size: int = strawberry.field(description="Its size in bytes.")
    sha256: str = strawberry.field(description="The SHA-256 of its bytes, in hex.")
    alt: str | None = strawberry.field(description="Alternative text for an image.")
    width: int | None = strawberry.field(
        description="An image's width in pixels; null until the variants job ran."
    )
    height: int | None = strawberry.field(
        description="An image's height in pixels; null until the variants job ran."
    )
    processing: MediaProcessing = strawberry.field(
        description="Whether its dimensions and thumbnails are made yet."
    )
    variants: list[MediaVariantType] = strawberry.field(description="Its thumbnails, by width.")
    created_at: datetime = strawberry.field(description="When it was uploaded.")
    updated_at: datetime = strawberry.field(description="When it last changed.")
    storage_key: strawberry.Private[str]

    @strawberry.field(
        description="Where to fetch the file: its public URL (served to anyone for an asset "
        "on an active entity in a public role), or a signed, expiring link."
    )
    def url(self, info: Info, signed: SignedArg = False) -> str:
        return _url(info, self.storage_key, signed)

    @classmethod
    def from_row(cls, row: MediaAsset) -> MediaAssetType:
        return cls(
            id=strawberry.ID(str(row.id)),
            filename=row.filename,
            kind=MediaKind.of(row.kind),
            content_type=row.content_type,
            byte_size=row.byte_size,
            sha256=row.sha256,
            alt=row.alt,
            width=row.width,
            height=row.height,
            processing=MediaProcessing.of(row.processing),
            variants=[
                MediaVariantType(
                    width=v["width"],
                    height=v["height"],
                    content_type=v["contentType"],
                    byte_size=v["byteSize"],
                    key=v["key"],
                )
                for v in row.variants or []
            ],
            created_at=row.created_at,
            updated_at=row.updated_at,
            storage_key=row.storage_key,
        )


@strawberry.type(
    name="MediaAttachment", description="A media asset attached to a catalog entity in a role."
)
class MediaAttachmentType:
    entity_id: strawberry.ID = strawberry.field(description="The catalog entity.")
    media_asset_id: strawberry.ID = strawberry.field(description="The asset's id.")
    role: MediaRole = strawberry.field(description="What the asset is for on the entity.")
    position: int = strawberry.field(description="Its place among the entity's assets in the role.")
    media_asset: MediaAssetType = strawberry.field(description="The asset.")

    @classmethod
    def of(cls, attachment: MediaAttachment | service.Attached, asset: MediaAsset) -> Any:
        return cls(
            entity_id=strawberry.ID(str(attachment.entity_id)),
            media_asset_id=strawberry.ID(str(asset.id)),
            role=MediaRole.of(attachment.role),
            position=attachment.position,
            media_asset=MediaAssetType.from_row(asset),
        )


@strawberry.input(description="A media asset to attach to a catalog entity.")
class AttachMediaInput:
    entity_id: strawberry.ID = strawberry.field(description="The catalog entity's id.")
    media_asset_id: strawberry.ID = strawberry.field(description="The asset's id.")
    role: MediaRole = strawberry.field(description="What the asset is for on the entity.")
    position: int | None = strawberry.field(
        default=None,
        description="Its place among the entity's assets in the role. Default: last.",
        metadata={"jsonschema": {"minimum": 0}},
    )


@strawberry.input(description="A media asset to detach from a catalog entity.")
class DetachMediaInput:
    entity_id: strawberry.ID = strawberry.field(description="The catalog entity's id.")
    media_asset_id: strawberry.ID = strawberry.field(description="The asset's id.")
    role: MediaRole | None = strawberry.field(
        default=None, description="Only from this role. Default: from every role."
    )


@strawberry.input(description="A media asset, by id.")
class MediaAssetIdInput:
    id: strawberry.ID = strawberry.field(description="The asset's id.")


@strawberry.input(description="A file to upload (GraphQL multipart request).")
class UploadMediaInput:
    file: Upload = strawberry.field(
        description="The file (multipart). Its type is detected from its bytes."
    )
    alt: str | None = strawberry.field(
        default=None,
        description="Alternative text for an image, at most 500 characters.",
        metadata={"jsonschema": {"maxLength": 500}},
    )


@strawberry.type
class MediaQueries:
    @strawberry.field(
        description="Media assets, newest first. Needs media:read.",
        permission_classes=[requires(READ)],
    )
    async def media_assets(
        self,
        info: Info,
        kind: Annotated[
            MediaKind | None, strawberry.argument(description="Only assets of this kind.")
        ] = None,
        entity_id: Annotated[
            strawberry.ID | None,
            strawberry.argument(description="Only assets attached to this catalog entity."),
        ] = None,
        role: Annotated[
            MediaRole | None,
            strawberry.argument(description="Only assets attached in this role."),
        ] = None,
        page: PageArg = None,
        limit: LimitArg = None,
        offset: OffsetArg = None,
        first: FirstArg = None,
        after: AfterArg = None,
    ) -> Connection[MediaAssetType]:
        request = page_request(page=page, limit=limit, offset=offset, first=first, after=after)
        entity = None if entity_id is None else uuid_or_not_found(entity_id, "Catalog entity")
        async with info.context.read() as session:
            result = await service.list_media_assets(
                session, page=request, kind=kind, entity_id=entity, role=role
            )
        return to_connection(result, MediaAssetType.from_row)

    @strawberry.field(
        description="A media asset: any with media:read; without it, only one attached to an "
        "active entity in a public role (thumbnail, gallery, document)."
    )
    async def media_asset(
        self,
        info: Info,
        id: Annotated[strawberry.ID, strawberry.argument(description="The asset's id.")],
    ) -> MediaAssetType:
        async with info.context.read() as session:
            row = await service.get_media_asset(
                session, info.context.actor, uuid_or_not_found(id, "Media asset")
            )
        return MediaAssetType.from_row(row)


@strawberry.type
class MediaMutations:
    @strawberry.mutation(
        description="Upload a file (GraphQL multipart request spec; send an "
        "`Apollo-Require-Preflight` header). Its type comes from its bytes; images get "
        "dimensions and thumbnails from a job. Needs media:create.",
        permission_classes=[requires(CREATE)],
    )
    async def upload_media(
        self,
        info: Info,
        input: Annotated[UploadMediaInput, strawberry.argument(description="The file, alt text.")],
    ) -> MediaAssetType:
        upload = input.file
        file = getattr(upload, "file", None)
        if file is None:
            raise ValidationFailed.field("file", "Send the file as a multipart upload.")
        row = await service.upload_media(
            info.context.database,
            info.context.actor,
            info.context.media_setup(),
            file=file,
            filename=getattr(upload, "filename", None),
            alt=input.alt,
            request_id=info.context.request_id,
        )
        return MediaAssetType.from_row(row)

    @strawberry.mutation(
        description="Delete a media asset, its attachments and its stored files (answered as "
        "it was). Needs media:delete.",
        permission_classes=[requires(DELETE)],
    )
    async def delete_media(
        self,
        info: Info,
        input: Annotated[MediaAssetIdInput, strawberry.argument(description="The asset.")],
    ) -> MediaAssetType:
        row = await service.delete_media(
            info.context.database,
            info.context.actor,
            info.context.media_setup(),
            id=uuid_or_not_found(input.id, "Media asset"),
            request_id=info.context.request_id,
        )
        return MediaAssetType.from_row(row)

    @strawberry.mutation(
        description="Attach a media asset to a catalog entity in a role. Needs media:update.",
        permission_classes=[requires(UPDATE)],
    )
    async def attach_media(
        self,
        info: Info,
        input: Annotated[AttachMediaInput, strawberry.argument(description="What, where, how.")],
    ) -> MediaAttachmentType:
        async with info.context.command() as uow:
            attachment = await service.attach_media(
                uow,
                info.context.actor,
                entity_id=uuid_or_not_found(input.entity_id, "Catalog entity"),
                media_asset_id=uuid_or_not_found(input.media_asset_id, "Media asset"),
                role=input.role,
                position=input.position,
            )
            asset = await uow.session.get(MediaAsset, attachment.media_asset_id)
            assert asset is not None
        result: MediaAttachmentType = MediaAttachmentType.of(attachment, asset)
        return result

    @strawberry.mutation(
        description="Detach a media asset from a catalog entity (from one role, or all); the "
        "asset stays. Answers the asset. Needs media:update.",
        permission_classes=[requires(UPDATE)],
    )
    async def detach_media(
        self,
        info: Info,
        input: Annotated[DetachMediaInput, strawberry.argument(description="What, from where.")],
    ) -> MediaAssetType:
        media_asset_id = uuid_or_not_found(input.media_asset_id, "Media asset")
        async with info.context.command() as uow:
            await service.detach_media(
                uow,
                info.context.actor,
                entity_id=uuid_or_not_found(input.entity_id, "Catalog entity"),
                media_asset_id=media_asset_id,
                role=input.role,
            )
            asset = await uow.session.get(MediaAsset, media_asset_id)
            if asset is None:
                raise NotFound("Media asset not found.")
        return MediaAssetType.from_row(asset)
