"""Media through the engine dialect (seed 003, `/api/media`) and GraphQL: upload (type from the
bytes, size limit), the 302 to the file, signed links (followed to the bytes; expired and
tampered ones refused), attach and detach, delete (the stored files go too), the variants job,
and who may read what."""

from __future__ import annotations

import io
import time
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import orjson
import pytest
from PIL import Image
from sqlalchemy import func, select
from starlette.applications import Starlette

from app.db import Database
from app.jobs import run_pending
from app.media import media_for
from app.media.storage import LocalStorage
from app.models.audit import AuditEntry, Event
from app.models.jobs import Job
from app.models.media import MediaAsset, MediaAttachment
from tests.conftest import client_for, client_with
from tests.support.catalog import make_entity
from tests.support.factories import make_api_key
from tests.support.media import PDF, SVG, ZIP, asset_row, jpeg, png, upload, uploaded

MEDIA = "/api/media"


def storage(app: Starlette) -> LocalStorage:
    found = media_for(app.state.settings).storage
    assert isinstance(found, LocalStorage)
    return found


def files_under(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file())


def stored_path(app: Starlette, key: str) -> Path:
    return storage(app).path(key)


async def count(database: Database, model: type) -> int:
    async with database.read_session() as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


async def attach(
    http: httpx.AsyncClient, entity: str, asset: str, role: str = "gallery"
) -> httpx.Response:
    return await http.post(
        f"{MEDIA}/attach", json={"entityId": entity, "mediaAssetId": asset, "role": role}
    )


async def graphql(http: httpx.AsyncClient, query: str, **variables: Any) -> dict[str, Any]:
    response = await http.post("/graphql", json={"query": query, "variables": variables})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


# ---- upload -----------------------------------------------------------------------------------


async def test_upload_stores_the_file_and_answers_201(
    app: Starlette, admin: httpx.AsyncClient, database: Database
) -> None:
    data = png()
    response = await upload(admin, data, alt="A red square")
    assert response.status_code == 201, response.text
    body = response.json()["data"]
    assert body["kind"] == "png" and body["contentType"] == "image/png"
    assert body["byteSize"] == len(data) and body["alt"] == "A red square"
    assert body["filename"] == "picture.png"
    assert body["width"] is None and body["processing"] == "pending" and body["variants"] == []
    row = await asset_row(database, body["id"])
    assert row is not None
    assert stored_path(app, row.storage_key).read_bytes() == data
    async with database.read_session() as session:
        events = (await session.scalars(select(Event.type).where(Event.type.like("media.%")))).all()
        audit = (
            await session.scalars(select(AuditEntry.event).where(AuditEntry.event.like("media.%")))
        ).all()
        jobs = (await session.scalars(select(Job.kind))).all()
    assert events == ["media.create"] and audit == ["media.create"]
    assert jobs == ["media.variants"]


async def test_the_type_comes_from_the_bytes_not_the_name_or_declared_type(
    admin: httpx.AsyncClient,
) -> None:
    body = await uploaded(admin, PDF, filename="photo.png", content_type="image/png")
    assert body["kind"] == "pdf" and body["contentType"] == "application/pdf"


async def test_a_spoofed_type_that_is_not_allowed_is_refused_and_nothing_is_stored(
    make_app: Any, database: Database, admin_key: str
) -> None:
    app = make_app(media_allowed="png,jpeg")
    before = files_under(storage(app).root)
    async with client_for(app, headers={"x-api-key": admin_key}) as http:
        response = await upload(http, PDF, filename="photo.png", content_type="image/png")
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "VALIDATION_FAILED" and "pdf" in error["details"]["file"]
    assert await count(database, MediaAsset) == 0
    assert files_under(storage(app).root) == before


@pytest.mark.parametrize(
    ("data", "name", "says"),
    [
        (SVG, "logo.svg", "SVG"),
        (b"just some text, not an image", "notes.png", "not of an allowed type"),
        (ZIP, "archive.zip", "zip, which is not accepted"),
        (b"", "empty.png", "empty"),
    ],
)
async def test_refused_types_are_422_naming_the_file(
    admin: httpx.AsyncClient, database: Database, data: bytes, name: str, says: str
) -> None:
    response = await upload(admin, data, filename=name)
    assert response.status_code == 422, response.text
    assert says in response.json()["error"]["details"]["file"]
    assert await count(database, MediaAsset) == 0


async def test_archives_are_accepted_when_the_setting_allows_them(
    make_app: Any, admin_key: str
) -> None:
    async with client_for(
        make_app(media_allowed="png,zip"), headers={"x-api-key": admin_key}
    ) as http:
        body = await uploaded(http, ZIP, filename="bundle.zip", content_type="application/zip")
    assert body["kind"] == "zip"


async def test_an_upload_over_the_media_limit_is_413_and_stores_nothing(
    make_app: Any, database: Database, admin_key: str
) -> None:
    app = make_app(media_max_bytes=2000)
    async with client_for(app, headers={"x-api-key": admin_key}) as http:
        big = png(400, 400, "white") + b"\0" * 3000
        response = await upload(http, big)
        # Far past the limit and its multipart allowance: the middleware stops reading.
        huge = await upload(http, png() + b"\0" * (200 * 1024))
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "PAYLOAD_TOO_LARGE"
    assert huge.status_code == 413
    assert await count(database, MediaAsset) == 0


async def test_uploads_may_exceed_the_general_body_limit_up_to_the_media_limit(
    make_app: Any, admin_key: str
) -> None:
    app = make_app(max_body_bytes=10_000, media_max_bytes=100_000)
    async with client_for(app, headers={"x-api-key": admin_key}) as http:
        body = await uploaded(http, png() + b"\0" * 50_000)
        other = await http.post("/api/webhooks", content=b"{" + b" " * 20_000 + b"}")
    assert body["byteSize"] > 50_000
    assert other.status_code == 413


async def test_upload_without_a_file_or_as_json_is_422(admin: httpx.AsyncClient) -> None:
    missing = await admin.post(f"{MEDIA}/upload", files={"alt": (None, "text")})
    as_json = await admin.post(f"{MEDIA}/upload", json={"file": "x"})
    text_file = await admin.post(f"{MEDIA}/upload", data={"file": "not a file"})
    assert missing.status_code == 422 and "file" in missing.json()["error"]["details"]
    assert as_json.status_code == 422
    assert text_file.status_code == 422


async def test_upload_needs_media_create(app: Starlette, database: Database) -> None:
    async with client_for(app) as anonymous:
        assert (await upload(anonymous, png())).status_code == 401
    async for http in client_with(app, database, "media:read"):
        assert (await upload(http, png())).status_code == 403
    assert await count(database, MediaAsset) == 0


# ---- the redirect, signed links ---------------------------------------------------------------


async def test_get_redirects_to_the_public_url_which_serves_public_assets(
    app: Starlette, admin: httpx.AsyncClient, database: Database
) -> None:
    data = png()
    asset = await uploaded(admin, data)
    entity = await make_entity(database, slug="shirt")
    async with client_for(app) as anonymous:
        # Not attached to anything yet: private.
        assert (await anonymous.get(f"{MEDIA}/{asset['id']}")).status_code == 404
        assert (await attach(admin, str(entity.id), asset["id"])).status_code == 201
        response = await anonymous.get(f"{MEDIA}/{asset['id']}")
        assert response.status_code == 302
        location = response.headers["location"]
        assert location == asset["url"] and "signature" not in location
        followed = await anonymous.get(location)
    assert followed.status_code == 200
    assert followed.content == data
    assert followed.headers["content-type"] == "image/png"
    assert followed.headers["x-content-type-options"] == "nosniff"


async def test_assets_of_inactive_entities_and_download_files_are_not_public(
    app: Starlette, admin: httpx.AsyncClient, database: Database
) -> None:
    draft = await make_entity(database, slug="draft", status="draft")
    ebook = await make_entity(database, slug="ebook", type="digitalDownload")
    on_draft = await uploaded(admin, png())
    paid_file = await uploaded(admin, PDF, filename="book.pdf")
    assert (await attach(admin, str(draft.id), on_draft["id"])).status_code == 201
    assert (await attach(admin, str(ebook.id), paid_file["id"], "download")).status_code == 201
    async with client_for(app) as anonymous:
        for asset in (on_draft, paid_file):
            assert (await anonymous.get(f"{MEDIA}/{asset['id']}")).status_code == 404
            assert (await anonymous.get(asset["url"])).status_code == 404
    # With media:read, any asset is redirected to.
    assert (await admin.get(f"{MEDIA}/{paid_file['id']}")).status_code == 302


async def test_a_signed_url_is_followed_to_the_bytes(
    app: Starlette, admin: httpx.AsyncClient, database: Database
) -> None:
    data = PDF
    asset = await uploaded(admin, data, filename="manual.pdf")
    response = await admin.get(f"{MEDIA}/{asset['id']}", params={"signed": "true"})
    assert response.status_code == 302
    location = response.headers["location"]
    query = parse_qs(urlsplit(location).query)
    assert set(query) == {"expires", "signature"}
    assert int(query["expires"][0]) > time.time() + 3000
    async with client_for(app) as anonymous:  # the link is the credential
        followed = await anonymous.get(location)
    assert followed.status_code == 200 and followed.content == data
    assert followed.headers["content-type"] == "application/pdf"


def _with(location: str, **changes: str) -> str:
    parts = urlsplit(location)
    query = {k: v[0] for k, v in parse_qs(parts.query).items()} | changes
    return parts._replace(query=urlencode(query)).geturl()


async def test_tampered_and_expired_signed_urls_are_refused(
    app: Starlette, admin: httpx.AsyncClient, database: Database
) -> None:
    asset = await uploaded(admin, PDF, filename="manual.pdf")
    other = await uploaded(admin, png())
    location = (await admin.get(f"{MEDIA}/{asset['id']}?signed=true")).headers["location"]
    signature = parse_qs(urlsplit(location).query)["signature"][0]
    row = await asset_row(database, asset["id"])
    other_row = await asset_row(database, other["id"])
    assert row is not None and other_row is not None
    expires, expired_signature = storage(app).signer.sign(
        row.storage_key, 60, now=time.time() - 120
    )
    tampered = {
        "signature": _with(
            location, signature=("0" if signature[0] != "0" else "1") + signature[1:]
        ),
        "expiry": _with(location, expires=str(int(time.time()) + 10**6)),
        "key": location.replace(row.storage_key, other_row.storage_key),
        "unsigned-expiry": _with(location, expires="soon"),
    }
    async with client_for(app) as anonymous:
        for name, url in tampered.items():
            response = await anonymous.get(url)
            assert response.status_code == 403, name
            assert response.json()["error"]["code"] == "FORBIDDEN", name
        expired = await anonymous.get(
            _with(location, expires=str(expires), signature=expired_signature)
        )
    assert expired.status_code == 403
    assert "expired" in expired.json()["error"]["message"]


async def test_get_of_an_unknown_asset_is_404(admin: httpx.AsyncClient) -> None:
    assert (await admin.get(f"{MEDIA}/{uuid.uuid4()}")).status_code == 404
    assert (await admin.get(f"{MEDIA}/not-a-uuid")).status_code == 404
    assert (await admin.get(f"{MEDIA}/files/../../etc/passwd")).status_code == 404
    assert (await admin.get(f"{MEDIA}/{uuid.uuid4()}?signed=maybe")).status_code == 422


# ---- attach, detach, delete -------------------------------------------------------------------


async def test_attach_and_detach(admin: httpx.AsyncClient, database: Database) -> None:
    entity = await make_entity(database, slug="shirt")
    first = await uploaded(admin, png())
    second = await uploaded(admin, jpeg())
    response = await attach(admin, str(entity.id), first["id"])
    assert response.status_code == 201
    body = response.json()["data"]
    assert body["role"] == "gallery" and body["position"] == 0
    assert body["mediaAsset"]["id"] == first["id"]
    second_body = (await attach(admin, str(entity.id), second["id"])).json()["data"]
    assert second_body["position"] == 1
    again = await attach(admin, str(entity.id), first["id"])
    assert again.status_code == 409
    assert (await attach(admin, str(entity.id), first["id"], "thumbnail")).status_code == 201
    bad_role = await attach(admin, str(entity.id), first["id"], "poster")
    assert bad_role.status_code == 422 and "role" in bad_role.json()["error"]["details"]
    assert (await attach(admin, str(uuid.uuid4()), first["id"])).status_code == 404

    detached = await admin.post(
        f"{MEDIA}/detach",
        json={"entityId": str(entity.id), "mediaAssetId": first["id"], "role": "gallery"},
    )
    assert detached.status_code == 200 and detached.json()["data"]["id"] == first["id"]
    graph = await graphql(
        admin,
        """mutation($input: DetachMediaInput!) { detachMedia(input: $input) { id } }""",
        input={"entityId": str(entity.id), "mediaAssetId": first["id"]},
    )
    assert graph["data"]["detachMedia"]["id"] == first["id"]
    async with database.read_session() as session:
        left = (await session.scalars(select(MediaAttachment.media_asset_id))).all()
        events = (await session.scalars(select(Event.type).order_by(Event.id))).all()
    assert [str(x) for x in left] == [second["id"]]
    assert await asset_row(database, first["id"]) is not None  # the asset stays
    assert events.count("media.attach") == 3 and events.count("media.detach") == 2
    not_attached = await admin.post(
        f"{MEDIA}/detach", json={"entityId": str(entity.id), "mediaAssetId": first["id"]}
    )
    assert not_attached.status_code == 404


async def test_attach_and_detach_need_media_update(app: Starlette, database: Database) -> None:
    entity = await make_entity(database, slug="shirt")
    async for admin in client_with(app, database, "*:*"):
        asset = await uploaded(admin, png())
    async for http in client_with(app, database, "media:create", "media:read", "catalog:update"):
        assert (await attach(http, str(entity.id), asset["id"])).status_code == 403
    assert await count(database, MediaAttachment) == 0


async def test_delete_removes_the_row_the_attachments_and_the_stored_files(
    app: Starlette, admin: httpx.AsyncClient, database: Database
) -> None:
    entity = await make_entity(database, slug="shirt")
    asset = await uploaded(admin, png(1000, 500))
    await attach(admin, str(entity.id), asset["id"])
    assert await run_pending(database, app.state.settings, queue="media") == 1
    row = await asset_row(database, asset["id"])
    assert row is not None and len(row.variants) == 2
    paths = [stored_path(app, key) for key in row.stored_keys()]
    assert all(path.is_file() for path in paths)

    response = await admin.delete(f"{MEDIA}/{asset['id']}")
    assert response.status_code == 200
    assert response.json()["data"]["id"] == asset["id"]
    assert await asset_row(database, asset["id"]) is None
    assert await count(database, MediaAttachment) == 0
    assert not any(path.exists() for path in paths)
    assert not paths[0].parent.exists()
    assert (await admin.delete(f"{MEDIA}/{asset['id']}")).status_code == 404
    async with database.read_session() as session:
        audit = (await session.scalars(select(AuditEntry.event).order_by(AuditEntry.id))).all()
    assert audit[-1] == "media.delete"


# ---- the variants job -------------------------------------------------------------------------


async def test_the_job_records_dimensions_and_writes_thumbnails(
    app: Starlette, admin: httpx.AsyncClient, database: Database
) -> None:
    asset = await uploaded(admin, png(1000, 500))
    pdf = await uploaded(admin, PDF, filename="a.pdf")
    assert await run_pending(database, app.state.settings, queue="media") == 2
    row = await asset_row(database, asset["id"])
    assert row is not None
    assert (row.width, row.height, row.processing) == (1000, 500, "ready")
    assert [(v["width"], v["height"]) for v in row.variants] == [(200, 100), (800, 400)]
    for variant in row.variants:
        image = Image.open(io.BytesIO(stored_path(app, variant["key"]).read_bytes()))
        assert image.format == "WEBP"
        assert image.size == (variant["width"], variant["height"])
    pdf_row = await asset_row(database, pdf["id"])
    assert pdf_row is not None and pdf_row.processing == "ready" and pdf_row.width is None
    graph = await graphql(
        admin,
        "query($id: ID!) { mediaAsset(id: $id) { width height variants { width url } } }",
        id=asset["id"],
    )
    variants = graph["data"]["mediaAsset"]["variants"]
    assert [v["width"] for v in variants] == [200, 800]
    fetched = await admin.get(variants[0]["url"])  # private (unattached): not public
    assert fetched.status_code == 404


async def test_a_small_image_gets_no_enlarged_thumbnails(
    app: Starlette, admin: httpx.AsyncClient, database: Database
) -> None:
    asset = await uploaded(admin, png(300, 300))
    await run_pending(database, app.state.settings, queue="media")
    row = await asset_row(database, asset["id"])
    assert row is not None and [v["width"] for v in row.variants] == [200]


async def test_a_file_that_looks_like_an_image_but_does_not_decode_fails_processing(
    app: Starlette, admin: httpx.AsyncClient, database: Database
) -> None:
    broken = png()[:60]  # the PNG signature and a truncated header
    asset = await uploaded(admin, broken)
    await run_pending(database, app.state.settings, queue="media")
    row = await asset_row(database, asset["id"])
    assert row is not None and row.processing == "failed" and row.variants == []


# ---- GraphQL uploads --------------------------------------------------------------------------

UPLOAD = """mutation($input: UploadMediaInput!) {
  uploadMedia(input: $input) { id kind byteSize alt }
}"""


def multipart(data: bytes, alt: str = "alt") -> dict[str, Any]:
    operations = {"query": UPLOAD, "variables": {"input": {"file": None, "alt": alt}}}
    return {
        "data": {
            "operations": orjson.dumps(operations).decode(),
            "map": orjson.dumps({"0": ["variables.input.file"]}).decode(),
        },
        "files": {"0": ("x.png", data, "image/png")},
    }


async def test_graphql_multipart_upload_with_the_preflight_header(
    admin: httpx.AsyncClient, database: Database
) -> None:
    data = jpeg()
    response = await admin.post(
        "/graphql", headers={"apollo-require-preflight": "true"}, **multipart(data)
    )
    assert response.status_code == 200, response.text
    body = response.json()["data"]["uploadMedia"]
    assert body["kind"] == "JPEG" and body["byteSize"] == len(data) and body["alt"] == "alt"
    assert await count(database, MediaAsset) == 1


async def test_graphql_multipart_without_a_preflight_header_is_refused(
    admin: httpx.AsyncClient, database: Database
) -> None:
    response = await admin.post("/graphql", **multipart(png()))
    assert response.status_code == 403
    assert await count(database, MediaAsset) == 0


async def test_a_cross_site_cookie_multipart_upload_is_refused(
    app: Starlette, database: Database
) -> None:
    from tests.support.users import COOKIE, make_user, session_token

    user = await make_user(database, email="staff@example.com", roles=("admin",))
    token = await session_token(database, user)
    headers = {"cookie": f"{COOKIE}={token}", "apollo-require-preflight": "true"}
    async with client_for(app, headers={**headers, "origin": "https://evil.example"}) as http:
        refused = await http.post("/graphql", **multipart(png()))
    async with client_for(app, headers={**headers, "origin": "http://testserver"}) as http:
        allowed = await http.post("/graphql", **multipart(png()))
    assert refused.status_code == 403
    assert allowed.status_code == 200 and "errors" not in allowed.json(), allowed.text
    assert await count(database, MediaAsset) == 1


async def test_a_string_in_place_of_the_file_is_a_validation_error(
    admin: httpx.AsyncClient,
) -> None:
    body = await graphql(admin, UPLOAD, input={"file": "not a file"})
    assert body["errors"][0]["extensions"]["code"] == "VALIDATION_FAILED"


# ---- reading: lists, entity media, include=media ----------------------------------------------


async def test_media_assets_lists_and_filters(admin: httpx.AsyncClient, database: Database) -> None:
    entity = await make_entity(database, slug="shirt")
    picture = await uploaded(admin, png())
    manual = await uploaded(admin, PDF, filename="m.pdf")
    await attach(admin, str(entity.id), manual["id"], "document")
    query = """query($kind: MediaKind, $entityId: ID, $role: MediaRole) {
      mediaAssets(kind: $kind, entityId: $entityId, role: $role) { totalCount items { id } }
    }"""
    everything = await graphql(admin, query)
    pdfs = await graphql(admin, query, kind="PDF")
    on_entity = await graphql(admin, query, entityId=str(entity.id), role="DOCUMENT")
    assert [i["id"] for i in everything["data"]["mediaAssets"]["items"]] == [
        manual["id"], picture["id"],
    ]  # fmt: skip
    assert [i["id"] for i in pdfs["data"]["mediaAssets"]["items"]] == [manual["id"]]
    assert [i["id"] for i in on_entity["data"]["mediaAssets"]["items"]] == [manual["id"]]


# The page of entities, its total, and every entity's media with their assets (one join).
EXPECTED_STATEMENTS = 3
ENTITY_MEDIA = """{ catalogEntities { items { slug
  media { role position mediaAsset { id url kind } }
  thumbnails: media(role: THUMBNAIL) { mediaAsset { id } }
} } }"""


async def test_entity_media_costs_the_same_statements_for_one_entity_and_for_three(
    app: Starlette, admin: httpx.AsyncClient, database: Database
) -> None:
    from tests.support.queries import count_queries

    async def measure() -> int:
        with count_queries(database) as queries:
            body = await graphql(admin, ENTITY_MEDIA)
        assert "errors" not in body, body
        return queries.count

    async def entity_with_media(slug: str) -> None:
        entity = await make_entity(database, slug=slug)
        for role in ("thumbnail", "gallery"):
            asset = await uploaded(admin, png())
            await attach(admin, str(entity.id), asset["id"], role)

    await entity_with_media("a")
    one = await measure()
    await entity_with_media("b")
    await entity_with_media("c")
    three = await measure()
    assert one == three, (one, three)
    assert three == EXPECTED_STATEMENTS
    body = await graphql(admin, ENTITY_MEDIA)
    items = body["data"]["catalogEntities"]["items"]
    assert all(len(item["media"]) == 2 and len(item["thumbnails"]) == 1 for item in items)


async def test_anonymous_entity_media_leaves_out_download_files(
    app: Starlette, admin: httpx.AsyncClient, database: Database
) -> None:
    entity = await make_entity(database, slug="ebook", type="digitalDownload")
    cover = await uploaded(admin, png())
    book = await uploaded(admin, PDF, filename="book.pdf")
    await attach(admin, str(entity.id), cover["id"], "thumbnail")
    await attach(admin, str(entity.id), book["id"], "download")
    async with client_for(app) as anonymous:
        body = await graphql(anonymous, "{ catalogEntities { items { media { role } } } }")
        rest = await anonymous.get(f"/api/catalog/entities/{entity.id}?include=media")
    assert body["data"]["catalogEntities"]["items"][0]["media"] == [{"role": "THUMBNAIL"}]
    assert rest.status_code == 200
    assert [m["role"] for m in rest.json()["data"]["media"]] == ["thumbnail"]
    staff = await admin.get(f"/api/catalog/entities/{entity.id}?include=media")
    assert sorted(m["role"] for m in staff.json()["data"]["media"]) == ["download", "thumbnail"]


async def test_engine_catalog_include_media(admin: httpx.AsyncClient, database: Database) -> None:
    entity = await make_entity(database, slug="shirt")
    asset = await uploaded(admin, png())
    await attach(admin, str(entity.id), asset["id"])
    listed = await admin.get("/api/catalog/entities", params={"include": "media"})
    plain = await admin.get("/api/catalog/entities")
    assert listed.status_code == 200
    media = listed.json()["data"][0]["media"]
    assert media[0]["role"] == "gallery" and media[0]["mediaAsset"]["id"] == asset["id"]
    assert media[0]["mediaAsset"]["url"].endswith(".png")
    assert "media" not in plain.json()["data"][0]


# ---- a commit that fails leaves no file -------------------------------------------------------


async def test_an_upload_whose_commit_fails_leaves_no_stored_file(
    database: Database, database_url: str
) -> None:
    """SQLite's write lock held elsewhere: the row cannot be written (503), and the file,
    stored before the transaction, is deleted again."""
    from tests.api.test_database_faults import app_on, require_sqlite, write_locked

    require_sqlite(database)
    _, key = await make_api_key(database, name="faults")
    async with (
        app_on(database_url, busy_timeout_ms=100) as app,
        client_for(app, headers={"x-api-key": key}) as http,
    ):
        assert (await http.get("/api/audit")).is_success  # the key's first use, unlocked
        root = storage(app).root
        before = files_under(root) if root.exists() else []
        with write_locked(database):
            response = await upload(http, png())
        after = files_under(root) if root.exists() else []
    assert response.status_code == 503
    assert after == before
    assert await count(database, MediaAsset) == 0


async def test_a_decompression_bomb_is_refused_by_the_job_without_decoding_it(
    app: Starlette, admin: httpx.AsyncClient, database: Database
) -> None:
    out = io.BytesIO()
    Image.new("1", (10_000, 10_000)).save(out, "PNG")  # 100 megapixels in a few KB
    bomb = out.getvalue()
    assert len(bomb) < 100_000
    asset = await uploaded(admin, bomb)
    await run_pending(database, app.state.settings, queue="media")
    row = await asset_row(database, asset["id"])
    assert row is not None
    assert (row.processing, row.width, row.variants) == ("failed", None, [])
