"""The engine dialect's media routes (seed 003, `/api/media`), and the route that serves the
local storage backend's files (`/api/media/files/{key}`: public assets, or any with a valid
signed link).

`POST /api/media/detach` is ours: the seed documents attaching only.
"""

from __future__ import annotations

import uuid

from sqlalchemy import select
from starlette.requests import Request
from starlette.responses import FileResponse, Response
from starlette.routing import BaseRoute, Route

from app.config import Settings
from app.db import Database
from app.errors import AppError, Forbidden, NotFound
from app.media import media_for
from app.media.signing import LinkRefused
from app.media.sniff import KINDS
from app.media.storage import LocalStorage, valid_key
from app.models.media import MediaAsset
from app.rest.dialects import ENGINE
from app.rest.table import Param, RestRoute, mutation
from app.services.media import public_condition

BASE = "/api/media"
ASSET = (
    "id filename kind contentType byteSize sha256 alt width height processing createdAt "
    "updatedAt variants { width height contentType byteSize }"
)
WITH_URL = ASSET.replace("processing", "processing url").replace("byteSize }", "byteSize url }")
ATTACHMENT = f"entityId mediaAssetId role position mediaAsset {{ {WITH_URL} }}"
CONTENT_TYPES = {kind.extension: kind.content_type for kind in KINDS.values()}
ID = Param("id", description="The media asset's id")
TYPES = (
    "The type is detected from the file's bytes (its name and declared Content-Type do not "
    "count): jpeg, png, gif, webp and pdf by default, zip when allowed "
    "(CARTOGRAPH_MEDIA_ALLOWED); SVG is refused. Images get their dimensions and thumbnails "
    "from a background job."
)

ROUTES = [
    RestRoute(
        "POST",
        f"{BASE}/upload",
        f"mutation U($input: UploadMediaInput!) {{ uploadMedia(input: $input) {{ {WITH_URL} }} }}",
        "uploadMedia",
        ENGINE,
        summary="Upload a file (multipart/form-data: file, alt)",
        tag="media",
        body="input",
        form=True,
        status=201,
        permission="media:create",
        description=f"{TYPES} At most CARTOGRAPH_MEDIA_MAX_BYTES (10 MiB by default).",
        extra_responses={413: "The file exceeds CARTOGRAPH_MEDIA_MAX_BYTES"},
    ),
    RestRoute(
        "GET",
        f"{BASE}/{{id}}",
        """query M($id: ID!, $signed: Boolean = false) {
          mediaAsset(id: $id) { id url(signed: $signed) }
        }""",
        "mediaAsset",
        ENGINE,
        summary="Get a media asset's file (302 to its URL)",
        tag="media",
        path_params=(ID,),
        query=(
            Param(
                "signed",
                type="boolean",
                description="true: redirect to a signed link that expires "
                "(CARTOGRAPH_MEDIA_SIGNED_URL_SECONDS) instead of the public URL",
            ),
        ),
        status=302,
        redirect="url",
        description="Public for an asset attached to an active entity in a public role "
        "(thumbnail, gallery, document); any asset with media:read; otherwise 404.",
    ),
    RestRoute(
        "DELETE",
        f"{BASE}/{{id}}",
        f"mutation D($id: ID!) {{ deleteMedia(input: {{id: $id}}) {{ {ASSET} }} }}",
        "deleteMedia",
        ENGINE,
        summary="Delete a media asset, its attachments and its stored files",
        tag="media",
        path_params=(ID,),
        permission="media:delete",
        description="Answered as it was. The stored files (original and thumbnails) are "
        "removed after the row.",
    ),
    RestRoute(
        "POST",
        f"{BASE}/attach",
        mutation("attachMedia", "AttachMediaInput", ATTACHMENT),
        "attachMedia",
        ENGINE,
        summary="Attach a media asset to a catalog entity in a role",
        tag="media",
        body="input",
        status=201,
        permission="media:update",
        description="Roles: thumbnail, gallery, download (a buyer's file, never public), "
        "document. Attached again in the same role: 409.",
        extra_responses={409: "Already attached to the entity in that role"},
    ),
    RestRoute(
        "POST",
        f"{BASE}/detach",
        mutation("detachMedia", "DetachMediaInput", WITH_URL),
        "detachMedia",
        ENGINE,
        summary="Detach a media asset from a catalog entity (Cartograph's; not in the seed)",
        tag="media",
        body="input",
        permission="media:update",
        description="From `role`, or from every role when it is left out. The asset stays; "
        "it is answered.",
    ),
]


def media_file_routes(settings: Settings, database: Database) -> list[BaseRoute]:
    """`GET /api/media/files/{key}`: the local backend's files. With `expires` and
    `signature` the link must be ours and unexpired (403 otherwise); without, the asset must
    be public (404 otherwise, as for a key that names nothing)."""
    storage = media_for(settings).storage

    async def serve(request: Request) -> Response:
        request_id = request.scope.get("state", {}).get("request_id")
        try:
            return await _serve(request)
        except AppError as error:
            return ENGINE.error_response(error, request_id)

    async def _serve(request: Request) -> Response:
        key = request.path_params["key"]
        if not isinstance(storage, LocalStorage) or not valid_key(key):
            raise NotFound("No such file.")
        params = request.query_params
        if "signature" in params or "expires" in params:
            try:
                storage.signer.verify(key, params.get("expires"), params.get("signature"))
            except LinkRefused as refused:
                raise Forbidden(str(refused)) from None
        else:
            async with database.read_session() as session:
                public = await session.scalar(
                    select(MediaAsset.id).where(
                        MediaAsset.id == uuid.UUID(key.split("/", 1)[0]),
                        public_condition(),
                    )
                )
            if public is None:
                raise NotFound("No such file.")
        path = storage.path(key)
        if not path.is_file():
            raise NotFound("No such file.")
        content_type = CONTENT_TYPES.get(path.suffix.lstrip("."), "application/octet-stream")
        return FileResponse(
            path,
            media_type=content_type,
            headers={
                "X-Content-Type-Options": "nosniff",
                "Content-Security-Policy": "default-src 'none'; sandbox",
                "Cache-Control": "private, no-store"
                if "signature" in params
                else "public, max-age=300",
            },
        )

    return [Route(f"{BASE}/files/{{key:path}}", serve, methods=["GET"])]
