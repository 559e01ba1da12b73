"""Vendor documents (issue 14, part 1) through the engine dialect (`/api/marketplace/vendors/
{id}/documents`) and GraphQL: uploading through media (type sniffing, SVG refused, the size
limit), listing with a signed link followed to the bytes, the review machine (pending ->
approved | rejected with a reason, anything else 409), scope (vendor B -> 404 on A's, a
customer 403, anonymous 401), the events, and the statements `Vendor.documents` costs."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import orjson
from sqlalchemy import func, select
from starlette.applications import Starlette

from app.db import Database
from app.models.audit import Event
from app.models.marketplace import VendorDocument
from app.models.media import MediaAsset
from tests.conftest import client_for
from tests.support.marketplace import MARKET, MadeVendor, make_vendor
from tests.support.media import PDF, SVG, png
from tests.support.queries import count_queries
from tests.support.users import cookie_client, make_user, session_token


def docs_path(vendor: MadeVendor | str) -> str:
    id = vendor if isinstance(vendor, str) else vendor.id
    return f"{MARKET}/vendors/{id}/documents"


async def upload_doc(
    http: httpx.AsyncClient,
    vendor: MadeVendor | str,
    data: bytes = PDF,
    *,
    kind: str = "business_license",
    filename: str = "licence.pdf",
) -> httpx.Response:
    return await http.post(
        docs_path(vendor),
        files={"file": (filename, data, "application/pdf")},
        data={"kind": kind},
    )


async def uploaded_doc(http: httpx.AsyncClient, vendor: MadeVendor, **kwargs: Any) -> dict:
    response = await upload_doc(http, vendor, **kwargs)
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()["data"]
    return body


async def rows(database: Database, model: type) -> int:
    async with database.read_session() as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


async def doc_row(database: Database, id: str) -> VendorDocument:
    async with database.read_session() as session:
        row = await session.get(VendorDocument, uuid.UUID(id))
    assert row is not None
    return row


async def events_of(database: Database, type: str) -> list[Event]:
    async with database.read_session() as session:
        return list(await session.scalars(select(Event).where(Event.type == type)))


def error(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()["error"]
    assert body["code"] == code, body
    return body


# --- upload ----------------------------------------------------------------------------------


async def test_a_vendor_user_uploads_a_document_pending(app: Starlette, database: Database) -> None:
    vendor = await make_vendor(database, "acme", status="pending")  # pending vendors hand in
    async with cookie_client(app, vendor.token) as http:
        body = await uploaded_doc(http, vendor)
    assert (body["kind"], body["status"], body["vendorId"]) == (
        "business_license", "pending", vendor.id,
    )  # fmt: skip
    assert body["mediaAsset"]["kind"] == "pdf"
    assert body["mediaAsset"]["contentType"] == "application/pdf"
    assert "signature=" in body["url"] and "expires=" in body["url"]
    row = await doc_row(database, body["id"])
    assert (row.status, str(row.vendor_id), str(row.media_asset_id)) == (
        "pending", vendor.id, body["mediaAssetId"],
    )  # fmt: skip
    [created] = await events_of(database, "vendorDocuments.create")
    assert created.entity_id == body["id"]


async def test_the_signed_link_is_followed_to_the_bytes_and_the_file_is_never_public(
    app: Starlette, database: Database, admin: httpx.AsyncClient
) -> None:
    vendor = await make_vendor(database, "acme")
    body = await uploaded_doc(admin, vendor)
    async with client_for(app) as anonymous:
        followed = await anonymous.get(body["url"])
        assert followed.status_code == 200 and followed.content == PDF
        assert followed.headers["content-type"] == "application/pdf"
        unsigned = body["url"].split("?", 1)[0]
        assert (await anonymous.get(unsigned)).status_code == 404
        tampered = body["url"].replace("signature=", "signature=0")
        assert (await anonymous.get(tampered)).status_code == 403


async def test_upload_goes_through_media_checks(
    app: Starlette, make_app: Any, database: Database
) -> None:
    vendor = await make_vendor(database, "acme")
    async with cookie_client(app, vendor.token) as http:
        svg = error(await upload_doc(http, vendor, SVG, filename="x.svg"), 422, "VALIDATION_FAILED")
        assert "file" in svg["details"]
        bad_kind = error(await upload_doc(http, vendor, kind="selfie"), 422, "VALIDATION_FAILED")
        assert "kind" in bad_kind["details"]
        as_json = await http.post(docs_path(vendor), json={"kind": "other"})
        error(as_json, 422, "VALIDATION_FAILED")
        repeated = await http.post(
            docs_path(vendor),
            files={"file": ("a.pdf", PDF, "application/pdf")},
            data={"kind": "other", "vendorId": vendor.id},
        )
        error(repeated, 422, "VALIDATION_FAILED")
    async with cookie_client(make_app(media_max_bytes=2000), vendor.token) as small:
        error(await upload_doc(small, vendor, png() + b"\0" * 4096), 413, "PAYLOAD_TOO_LARGE")
    assert await rows(database, VendorDocument) == 0
    assert await rows(database, MediaAsset) == 0


async def test_scope_other_vendor_404_customer_403_anonymous_401(
    app: Starlette, database: Database, admin: httpx.AsyncClient
) -> None:
    a = await make_vendor(database, "alpha")
    b = await make_vendor(database, "beta")
    doc = await uploaded_doc(admin, a)
    customer = await make_user(database, email="shopper@example.com")
    async with cookie_client(app, b.token) as other:
        error(await other.get(docs_path(a)), 404, "NOT_FOUND")
        error(await upload_doc(other, a), 404, "NOT_FOUND")
        error(await other.post(f"{docs_path(a)}/{doc['id']}/approve"), 403, "FORBIDDEN")
        query = "query($id: ID!) { vendorDocuments(vendorId: $id) { totalCount } }"
        answer = await other.post("/graphql", json={"query": query, "variables": {"id": a.id}})
        assert answer.json()["errors"][0]["extensions"]["code"] == "NOT_FOUND"
    async with cookie_client(app, await session_token(database, customer)) as shopper:
        error(await shopper.get(docs_path(a)), 403, "FORBIDDEN")
        error(await upload_doc(shopper, a), 403, "FORBIDDEN")
    async with client_for(app) as anonymous:
        error(await anonymous.get(docs_path(a)), 401, "UNAUTHORIZED")
        error(await upload_doc(anonymous, a), 401, "UNAUTHORIZED")
        error(await anonymous.post(f"{docs_path(a)}/{doc['id']}/reject"), 401, "UNAUTHORIZED")
    # Nothing was stored by the refused uploads; A's own user sees its document.
    assert await rows(database, VendorDocument) == 1
    async with cookie_client(app, a.token) as own:
        listed = await own.get(docs_path(a))
    assert [d["id"] for d in listed.json()["data"]] == [doc["id"]]
    # A document is reached through its own vendor only.
    error(await admin.post(f"{docs_path(b)}/{doc['id']}/approve"), 404, "NOT_FOUND")


# --- list ------------------------------------------------------------------------------------


async def test_list_is_paged_newest_first_and_filters_status(
    admin: httpx.AsyncClient, database: Database
) -> None:
    vendor = await make_vendor(database, "acme")
    made = [await uploaded_doc(admin, vendor, kind=k) for k in ("identity", "other", "identity")]
    await admin.post(f"{docs_path(vendor)}/{made[0]['id']}/approve")
    response = await admin.get(docs_path(vendor), params={"limit": 2})
    assert response.status_code == 200, response.text
    body = response.json()
    assert [d["id"] for d in body["data"]] == [made[2]["id"], made[1]["id"]]
    assert body["meta"]["pagination"]["total"] == 3
    approved = await admin.get(docs_path(vendor), params={"status": "approved"})
    assert [d["id"] for d in approved.json()["data"]] == [made[0]["id"]]
    bad = await admin.get(docs_path(vendor), params={"status": "lost"})
    error(bad, 422, "VALIDATION_FAILED")
    error(await admin.get(docs_path(str(uuid.uuid4()))), 404, "NOT_FOUND")
    error(await admin.get(docs_path("not-a-uuid")), 404, "NOT_FOUND")


# --- the machine -----------------------------------------------------------------------------


async def test_approve_and_reject_machine(admin: httpx.AsyncClient, database: Database) -> None:
    vendor = await make_vendor(database, "acme")
    first = await uploaded_doc(admin, vendor)
    second = await uploaded_doc(admin, vendor, kind="tax_certificate")
    path = docs_path(vendor)
    approved = await admin.post(f"{path}/{first['id']}/approve")
    assert approved.status_code == 200, approved.text
    assert approved.json()["data"]["status"] == "approved"
    row = await doc_row(database, first["id"])
    assert row.status == "approved" and row.reviewed_at is not None and row.reviewed_by
    conflict = error(await admin.post(f"{path}/{first['id']}/reject", json={"reason": "x"}), 409,
                     "CONFLICT")  # fmt: skip
    assert conflict["details"]["status"] == "approved"
    error(await admin.post(f"{path}/{first['id']}/approve"), 409, "CONFLICT")
    # Rejecting needs a reason (nothing changes without one).
    no_reason = error(await admin.post(f"{path}/{second['id']}/reject"), 422, "VALIDATION_FAILED")
    assert "reason" in no_reason["details"]
    assert (await doc_row(database, second["id"])).status == "pending"
    rejected = await admin.post(f"{path}/{second['id']}/reject", json={"reason": " Blurry "})
    assert rejected.status_code == 200, rejected.text
    assert (rejected.json()["data"]["status"], rejected.json()["data"]["reason"]) == (
        "rejected", "Blurry",
    )  # fmt: skip
    error(await admin.post(f"{path}/{second['id']}/approve"), 409, "CONFLICT")
    error(await admin.post(f"{path}/{uuid.uuid4()}/approve"), 404, "NOT_FOUND")
    changes = await events_of(database, "vendorDocuments.statusChange")
    assert sorted(e.entity_id for e in changes) == sorted([first["id"], second["id"]])


async def test_the_vendor_user_cannot_review_its_own_documents(
    app: Starlette, database: Database
) -> None:
    vendor = await make_vendor(database, "acme")
    async with cookie_client(app, vendor.token) as http:
        doc = await uploaded_doc(http, vendor)
        error(await http.post(f"{docs_path(vendor)}/{doc['id']}/approve"), 403, "FORBIDDEN")
    assert (await doc_row(database, doc["id"])).status == "pending"


# --- GraphQL ---------------------------------------------------------------------------------

UPLOAD = """mutation($input: UploadVendorDocumentInput!) {
  uploadVendorDocument(input: $input) { id kind status url }
}"""


async def test_graphql_upload_review_and_vendor_documents(
    app: Starlette, database: Database, admin: httpx.AsyncClient
) -> None:
    vendor = await make_vendor(database, "acme")
    operations = {
        "query": UPLOAD,
        "variables": {"input": {"vendorId": vendor.id, "kind": "IDENTITY", "file": None}},
    }
    async with cookie_client(app, vendor.token, headers={"apollo-require-preflight": "1"}) as http:
        response = await http.post(
            "/graphql",
            data={
                "operations": orjson.dumps(operations).decode(),
                "map": orjson.dumps({"0": ["variables.input.file"]}).decode(),
            },
            files={"0": ("id.png", png(), "image/png")},
        )
    assert response.status_code == 200, response.text
    made = response.json()["data"]["uploadVendorDocument"]
    assert (made["kind"], made["status"]) == ("IDENTITY", "PENDING")
    reject = """mutation($input: ReviewVendorDocumentInput!) {
      rejectVendorDocument(input: $input) { status reason reviewedAt }
    }"""
    answer = await admin.post(
        "/graphql",
        json={"query": reject, "variables": {
            "input": {"vendorId": vendor.id, "id": made["id"], "reason": "Expired"}}},
    )  # fmt: skip
    assert answer.json()["data"]["rejectVendorDocument"]["status"] == "REJECTED", answer.text
    query = """query($id: ID!) { vendor(id: $id) {
      documents(status: REJECTED) { id reason url mediaAsset { kind } }
    } }"""
    listed = await admin.post("/graphql", json={"query": query, "variables": {"id": vendor.id}})
    documents = listed.json()["data"]["vendor"]["documents"]
    [item] = documents
    assert (item["id"], item["reason"], item["mediaAsset"]["kind"]) == (
        made["id"],
        "Expired",
        "PNG",
    )


async def test_vendor_documents_is_one_statement_for_any_number_of_vendors(
    admin: httpx.AsyncClient, database: Database
) -> None:
    query = "{ vendors { items { name documents { id kind url mediaAsset { filename } } } } }"
    counts = []
    for n in (1, 4):
        for i in range(n):
            vendor = await make_vendor(database, f"v{n}-{i}")
            for _ in range(2):
                await uploaded_doc(admin, vendor)
        with count_queries(database) as queries:
            response = await admin.post("/graphql", json={"query": query})
        body = response.json()
        assert "errors" not in body, body
        items = body["data"]["vendors"]["items"]
        assert len(items) == (5 if n == 4 else 1) and all(len(v["documents"]) == 2 for v in items)
        counts.append(queries.count)
        # The documents and their assets of every listed vendor: one statement.
        assert len(queries.matching("FROM vendor_documents")) == 1, queries.statements
    assert counts[0] == counts[1], counts
