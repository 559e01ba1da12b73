"""Marketplace vendors (issue 14, part 1) through the engine dialect (`/api/marketplace`) and
GraphQL: registering, the profile, the approval machine (every legal move, illegal ones are
409 naming the allowed actions), a vendor user's scope (its own vendor; another vendor's is
404), catalog entities owned by vendors, and the vendor events reaching a webhook endpoint."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy import select
from standardwebhooks.webhooks import Webhook
from starlette.applications import Starlette

from app.db import Database
from app.events.dispatcher import dispatch_pending
from app.jobs import run_pending
from app.models.audit import AuditEntry, Event
from app.models.catalog import CatalogEntity
from app.models.marketplace import Vendor
from app.models.users import User
from app.services.sessions import user_actor
from tests.api.test_checkout import count
from tests.conftest import client_for, settings_for
from tests.support.marketplace import MARKET, MadeVendor, make_vendor, vendor_product
from tests.support.receiver import receiving
from tests.support.users import cookie_client, make_user, session_token
from tests.support.webhooks import make_endpoint

NEW = {"name": "Acme Tools", "email": "Sales@Acme.example", "website": "https://acme.example"}


async def vendor_row(database: Database, id: str) -> Vendor:
    async with database.read_session() as session:
        row = await session.get(Vendor, __import__("uuid").UUID(id))
    assert row is not None
    return row


async def events_of(database: Database, type: str) -> list[Event]:
    async with database.read_session() as session:
        query = select(Event).where(Event.type == type).order_by(Event.id)
        return list(await session.scalars(query))


def error(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body = response.json()["error"]
    assert body["code"] == code, body
    return body


async def as_vendor(app: Starlette, vendor: MadeVendor) -> httpx.AsyncClient:
    return cookie_client(app, vendor.token)


async def gql(
    http: httpx.AsyncClient, query: str, variables: dict[str, Any] | None = None
) -> dict[str, Any]:
    response = await http.post("/graphql", json={"query": query, "variables": variables or {}})
    assert response.status_code == 200, response.text
    return response.json()


# --- registering ---------------------------------------------------------------------------


async def test_a_signed_in_user_registers_their_own_vendor_pending(
    app: Starlette, database: Database
) -> None:
    user = await make_user(database, email="owner@example.com")
    async with cookie_client(app, await session_token(database, user)) as http:
        response = await http.post(f"{MARKET}/vendors", json=NEW)
        assert response.status_code == 201, response.text
        data = response.json()["data"]
        assert (data["status"], data["slug"], data["email"]) == (
            "pending", "acme-tools", "sales@acme.example",
        )  # fmt: skip
        # The user is now its vendor's user (the vendor role, the link), on their next request.
        me = await http.get(f"{MARKET}/vendor/me")
        assert me.status_code == 200 and me.json()["data"]["id"] == data["id"]
        again = await http.post(f"{MARKET}/vendors", json={**NEW, "slug": "second"})
        error(again, 409, "CONFLICT")
    async with database.read_session() as session:
        row = await session.get(User, user.id)
        assert row is not None and str(row.vendor_id) == data["id"]
        actor = await user_actor(session, row)
    assert "vendor" in actor.roles and actor.vendor_id == data["id"]
    [created] = await events_of(database, "vendors.create")
    assert created.entity_id == data["id"]


async def test_registering_needs_a_signed_in_user_or_marketplace_admin(
    client: httpx.AsyncClient, app: Starlette, database: Database, admin: httpx.AsyncClient
) -> None:
    error(await client.post(f"{MARKET}/vendors", json=NEW), 401, "UNAUTHORIZED")
    from tests.support.factories import make_api_key

    _, key = await make_api_key(database, name="k", permissions=("catalog:read",))
    async with client_for(app, headers={"x-api-key": key}) as keyed:
        error(await keyed.post(f"{MARKET}/vendors", json=NEW), 403, "FORBIDDEN")
    user = await make_user(database, email="seller@example.com", customer=False, roles=())
    made = await admin.post(f"{MARKET}/vendors", json={**NEW, "userId": str(user.id)})
    assert made.status_code == 201, made.text
    async with database.read_session() as session:
        row = await session.get(User, user.id)
        assert row is not None and str(row.vendor_id) == made.json()["data"]["id"]
    # An admin may register one for no one; a slug in use is a 409, bad input a 422.
    alone = await admin.post(f"{MARKET}/vendors", json={**NEW, "slug": "alone"})
    assert alone.status_code == 201
    error(await admin.post(f"{MARKET}/vendors", json={**NEW, "slug": "alone"}), 409, "CONFLICT")
    bad = error(
        await admin.post(
            f"{MARKET}/vendors", json={"name": " ", "email": "nope", "website": "ftp://x"}
        ),
        422,
        "VALIDATION_FAILED",
    )
    assert {"name", "email", "website"} <= set(bad["details"])
    assert await count(database, Vendor) == 2


async def test_a_customer_user_cannot_register_for_someone_else(
    app: Starlette, database: Database
) -> None:
    other = await make_user(database, email="other@example.com")
    user = await make_user(database, email="me@example.com")
    async with cookie_client(app, await session_token(database, user)) as http:
        refused = await http.post(f"{MARKET}/vendors", json={**NEW, "userId": str(other.id)})
    error(refused, 403, "FORBIDDEN")
    assert await count(database, Vendor) == 0


# --- the approval machine ------------------------------------------------------------------


async def test_every_legal_vendor_move(admin: httpx.AsyncClient, database: Database) -> None:
    vendor = await make_vendor(database, "acme", status="pending")
    path = f"{MARKET}/vendors/{vendor.id}"
    approved = await admin.post(f"{path}/approve")
    assert approved.status_code == 200 and approved.json()["data"]["status"] == "active"
    assert approved.json()["data"]["approvedAt"] is not None
    suspended = await admin.post(f"{path}/suspend", json={"reason": "late shipments"})
    assert suspended.json()["data"]["status"] == "suspended"
    assert suspended.json()["data"]["statusReason"] == "late shipments"
    reinstated = await admin.post(f"{path}/reinstate")
    assert reinstated.json()["data"] | {"statusReason": None} == reinstated.json()["data"]
    assert reinstated.json()["data"]["status"] == "active"
    other = await make_vendor(database, "other", status="pending")
    rejected = await admin.post(f"{MARKET}/vendors/{other.id}/reject", json={"reason": "no papers"})
    assert (rejected.json()["data"]["status"], rejected.json()["data"]["statusReason"]) == (
        "rejected", "no papers",
    )  # fmt: skip
    changes = await events_of(database, "vendors.statusChange")
    assert [e.data["after"]["status"] for e in changes] == [
        "active",
        "suspended",
        "active",
        "rejected",
    ]


@pytest.mark.parametrize(
    ("status", "action", "allowed"),
    [
        ("pending", "suspend", "approve, reject"),
        ("pending", "reinstate", "approve, reject"),
        ("active", "approve", "suspend"),
        ("active", "reject", "suspend"),
        ("active", "reinstate", "suspend"),
        ("suspended", "approve", "reinstate"),
        ("suspended", "suspend", "reinstate"),
        ("rejected", "approve", ""),
        ("rejected", "reinstate", ""),
    ],
)
async def test_an_illegal_vendor_move_is_a_conflict_naming_the_allowed_actions(
    admin: httpx.AsyncClient, database: Database, status: str, action: str, allowed: str
) -> None:
    vendor = await make_vendor(database, "acme", status=status)
    before = await vendor_row(database, vendor.id)
    body = error(
        await admin.post(f"{MARKET}/vendors/{vendor.id}/{action}", json={"reason": "why"}),
        409,
        "CONFLICT",
    )
    assert status in body["message"]
    after = await vendor_row(database, vendor.id)
    assert (after.status, after.updated_at) == (before.status, before.updated_at)


async def test_reject_and_suspend_need_a_reason(
    admin: httpx.AsyncClient, database: Database
) -> None:
    pending = await make_vendor(database, "acme", status="pending")
    body = error(
        await admin.post(f"{MARKET}/vendors/{pending.id}/reject"), 422, "VALIDATION_FAILED"
    )
    assert "reason" in body["message"]
    active = await make_vendor(database, "bolt")
    error(
        await admin.post(f"{MARKET}/vendors/{active.id}/suspend", json={"reason": "  "}),
        422,
        "VALIDATION_FAILED",
    )
    assert (await vendor_row(database, pending.id)).status == "pending"
    assert (await vendor_row(database, active.id)).status == "active"


async def test_a_graphql_conflict_names_status_and_allowed_actions(
    admin: httpx.AsyncClient, database: Database
) -> None:
    vendor = await make_vendor(database, "acme", status="active")
    body = await gql(
        admin,
        "mutation($id: ID!) { approveVendor(input: {id: $id}) { status } }",
        {"id": vendor.id},
    )
    [problem] = body["errors"]
    assert problem["extensions"]["code"] == "CONFLICT"
    assert problem["extensions"]["details"] == {"status": "active", "allowed": "suspend"}


async def test_a_vendor_user_cannot_approve_itself(app: Starlette, database: Database) -> None:
    vendor = await make_vendor(database, "acme", status="pending")
    async with await as_vendor(app, vendor) as http:
        error(await http.post(f"{MARKET}/vendors/{vendor.id}/approve"), 403, "FORBIDDEN")
    assert (await vendor_row(database, vendor.id)).status == "pending"


# --- reading and the profile ---------------------------------------------------------------


async def test_vendors_list_filters_by_status_and_name(
    admin: httpx.AsyncClient, app: Starlette, database: Database
) -> None:
    acme = await make_vendor(database, "acme", status="pending")
    await make_vendor(database, "bolt")
    await make_vendor(database, "crate", status="suspended")
    pending = await admin.get(f"{MARKET}/vendors", params={"status": "pending"})
    assert [v["id"] for v in pending.json()["data"]] == [acme.id]
    named = await admin.get(f"{MARKET}/vendors", params={"search": "OL"})
    assert [v["slug"] for v in named.json()["data"]] == ["bolt"]
    paged = await admin.get(f"{MARKET}/vendors", params={"limit": 2})
    assert [v["slug"] for v in paged.json()["data"]] == ["crate", "bolt"]
    assert paged.json()["meta"]["pagination"] == {
        "page": 1, "limit": 2, "total": 3, "totalPages": 2,
    }  # fmt: skip
    error(await admin.get(f"{MARKET}/vendors", params={"status": "gone"}), 422, "VALIDATION_FAILED")
    async with await as_vendor(app, acme) as http:
        error(await http.get(f"{MARKET}/vendors"), 403, "FORBIDDEN")


async def test_a_vendor_user_reads_and_edits_only_its_own_vendor(
    app: Starlette, database: Database, client: httpx.AsyncClient
) -> None:
    a = await make_vendor(database, "acme")
    b = await make_vendor(database, "bolt")
    async with await as_vendor(app, a) as http:
        own = await http.get(f"{MARKET}/vendors/{a.id}")
        assert own.status_code == 200 and own.json()["data"]["slug"] == "acme"
        error(await http.get(f"{MARKET}/vendors/{b.id}"), 404, "NOT_FOUND")
        error(
            await http.patch(f"{MARKET}/vendors/{b.id}", json={"name": "Mine now"}),
            404,
            "NOT_FOUND",
        )
        changed = await http.patch(
            f"{MARKET}/vendor/me",
            json={"description": "Hand tools", "address": {"city": "Leeds", "country": "GB"}},
        )
        assert changed.status_code == 200, changed.text
        assert changed.json()["data"]["address"] == {"city": "Leeds", "country": "GB"}
        taken = await http.patch(f"{MARKET}/vendor/me", json={"slug": "bolt"})
        error(taken, 409, "CONFLICT")
    assert (await vendor_row(database, b.id)).name == "Bolt"
    assert (await vendor_row(database, a.id)).description == "Hand tools"
    error(await client.get(f"{MARKET}/vendor/me"), 401, "UNAUTHORIZED")
    error(await client.get(f"{MARKET}/vendors/{a.id}"), 401, "UNAUTHORIZED")
    customer = await make_user(database, email="shopper@example.com")
    async with cookie_client(app, await session_token(database, customer)) as http:
        error(await http.get(f"{MARKET}/vendor/me"), 403, "FORBIDDEN")
        error(await http.get(f"{MARKET}/vendors/{a.id}"), 403, "FORBIDDEN")
    updates = await events_of(database, "vendors.update")
    assert [e.entity_id for e in updates] == [a.id]


async def test_a_suspended_vendor_still_reads_and_edits_its_profile(
    app: Starlette, database: Database
) -> None:
    vendor = await make_vendor(database, "acme", status="suspended")
    async with await as_vendor(app, vendor) as http:
        me = await http.get(f"{MARKET}/vendor/me")
        assert me.json()["data"]["status"] == "suspended"
        assert me.json()["data"]["statusReason"] == "because"
        edited = await http.patch(f"{MARKET}/vendor/me", json={"phone": "+44 1 2345"})
        assert edited.status_code == 200


async def test_admin_updates_any_vendor_and_bad_ids_are_404(
    admin: httpx.AsyncClient, database: Database
) -> None:
    vendor = await make_vendor(database, "acme")
    changed = await admin.patch(f"{MARKET}/vendors/{vendor.id}", json={"name": "ACME Ltd"})
    assert changed.json()["data"]["name"] == "ACME Ltd"
    error(await admin.get(f"{MARKET}/vendors/not-a-uuid"), 404, "NOT_FOUND")
    error(await admin.post(f"{MARKET}/vendors/not-a-uuid/approve"), 404, "NOT_FOUND")
    # An admin without a vendor of its own has no /vendor/me.
    error(await admin.get(f"{MARKET}/vendor/me"), 403, "FORBIDDEN")


# --- catalog entities owned by vendors -----------------------------------------------------

ENTITIES = "/api/catalog/entities"


async def test_a_vendor_creates_its_own_entities_and_changes_only_those(
    app: Starlette, database: Database
) -> None:
    a = await make_vendor(database, "acme")
    b = await make_vendor(database, "bolt")
    theirs = await vendor_product(database, "bolt-hammer", b)
    house = await vendor_product(database, "house-mug", None)
    async with await as_vendor(app, a) as http:
        made = await http.post(ENTITIES, json={"type": "product", "slug": "acme-saw"})
        assert made.status_code == 201, made.text
        saw = made.json()["data"]["id"]
        # Its own draft is visible to it, not to the public.
        assert (await http.get(f"{ENTITIES}/{saw}")).status_code == 200
        patched = await http.patch(f"{ENTITIES}/{saw}", json={"metadata": {"teeth": 24}})
        assert patched.status_code == 200, patched.text
        for other in (theirs.id, house.id):
            error(
                await http.patch(f"{ENTITIES}/{other}", json={"metadata": {"x": 1}}),
                404,
                "NOT_FOUND",
            )
            error(await http.delete(f"{ENTITIES}/{other}"), 404, "NOT_FOUND")
        elsewhere = await http.post(
            ENTITIES, json={"type": "product", "slug": "sneaky", "vendorId": b.id}
        )
        error(elsewhere, 403, "FORBIDDEN")
        deleted = await http.delete(f"{ENTITIES}/{saw}")
        assert deleted.status_code == 200
    async with database.read_session() as session:
        owners = dict(
            (await session.execute(select(CatalogEntity.slug, CatalogEntity.vendor_id))).all()
        )
    assert {slug: str(v) if v else None for slug, v in owners.items()} == {
        "bolt-hammer": b.id, "house-mug": None,
    }  # fmt: skip
    async with client_for(app) as anonymous:
        error(await anonymous.post(ENTITIES, json={"type": "product", "slug": "x"}), 401,
              "UNAUTHORIZED")  # fmt: skip


async def test_a_vendor_that_is_not_active_cannot_sell(app: Starlette, database: Database) -> None:
    for status in ("pending", "suspended", "rejected"):
        vendor = await make_vendor(database, f"v-{status}", status=status)
        async with await as_vendor(app, vendor) as http:
            refused = await http.post(ENTITIES, json={"type": "product", "slug": f"s-{status}"})
            error(refused, 403, "FORBIDDEN")
    suspended = await make_vendor(database, "later")
    mine = await vendor_product(database, "later-thing", suspended)
    async with database.unit_of_work() as uow:
        from app.auth.actor import SYSTEM
        from app.services.marketplace.vendors import change_vendor_status

        await change_vendor_status(uow, SYSTEM, id=suspended.id, action="suspend", reason="x")
        await uow.commit()
    async with await as_vendor(app, suspended) as http:
        error(await http.patch(f"{ENTITIES}/{mine.id}", json={"metadata": {"a": 1}}), 403,
              "FORBIDDEN")  # fmt: skip
    assert await count(database, CatalogEntity) == 1


async def test_staff_name_the_vendor_and_lists_filter_by_it(
    admin: httpx.AsyncClient, database: Database, client: httpx.AsyncClient
) -> None:
    vendor = await make_vendor(database, "acme", status="suspended")
    made = await admin.post(
        ENTITIES, json={"type": "product", "slug": "acme-saw", "status": "active",
                        "vendorId": vendor.id},
    )  # fmt: skip
    assert made.status_code == 201, made.text
    await vendor_product(database, "house-mug", None)
    unknown = await admin.post(
        ENTITIES, json={"type": "product", "slug": "x", "vendorId": str(__import__("uuid").uuid4())}
    )
    assert error(unknown, 422, "VALIDATION_FAILED")["details"] == {"vendorId": "No such vendor."}
    listed = await client.get(ENTITIES, params={"vendor": vendor.id})
    assert [e["slug"] for e in listed.json()["data"]] == ["acme-saw"]
    # The public sees the vendor's profile, but not why it was suspended.
    body = await gql(
        client,
        """{ catalogEntities { items { slug vendorId vendor { slug status statusReason } } } }""",
    )
    items = {e["slug"]: e for e in body["data"]["catalogEntities"]["items"]}
    assert items["acme-saw"]["vendor"] == {
        "slug": "acme", "status": "SUSPENDED", "statusReason": None,
    }  # fmt: skip
    assert items["house-mug"]["vendor"] is None and items["house-mug"]["vendorId"] is None
    moved = await admin.patch(f"{ENTITIES}/{made.json()['data']['id']}", json={"vendorId": None})
    assert moved.status_code == 200


async def test_catalog_vendor_is_one_statement_per_page(
    client: httpx.AsyncClient, database: Database
) -> None:
    from tests.support.queries import count_queries

    query = "{ catalogEntities { items { slug vendor { name } } } }"
    counts = []
    for n in (1, 4):
        vendor = await make_vendor(database, f"v{n}")
        for i in range(n):
            await vendor_product(database, f"p{n}-{i}", vendor)
        with count_queries(database) as queries:
            body = await gql(client, query)
        assert "errors" not in body, body
        counts.append(queries.count)
    assert counts[0] == counts[1], counts


# --- events ----------------------------------------------------------------------------------


async def test_a_vendor_approval_reaches_a_subscribed_webhook_endpoint(
    admin: httpx.AsyncClient, database: Database
) -> None:
    vendor = await make_vendor(database, "acme", status="pending")
    with receiving() as receiver:
        endpoint = await make_endpoint(database, url=receiver.url, events=["vendors.statusChange"])
        approved = await admin.post(f"{MARKET}/vendors/{vendor.id}/approve")
        assert approved.status_code == 200
        await dispatch_pending(database)
        ready = settings_for(database.url, webhook_allow_private=True)
        assert await run_pending(database, ready, queue="webhooks") == 1
    [got] = receiver.received
    payload = Webhook(endpoint.secret).verify(got.body, got.headers)
    assert payload["type"] == "vendors.statusChange"
    assert payload["data"]["entityId"] == vendor.id
    assert payload["data"]["after"]["status"] == "active"


async def test_webhook_endpoints_accept_the_marketplace_events(
    admin: httpx.AsyncClient,
) -> None:
    events = ["vendors.create", "vendors.update", "vendors.statusChange", "subOrders.create",
              "subOrders.statusChange"]  # fmt: skip
    made = await admin.post(
        "/api/webhooks", json={"url": "https://1.1.1.1/hooks", "events": events}
    )
    assert made.status_code == 201, made.text
    assert sorted(made.json()["data"]["events"]) == sorted(events)


async def test_every_vendor_change_is_audited(admin: httpx.AsyncClient, database: Database) -> None:
    vendor = await make_vendor(database, "acme", status="pending")
    await admin.post(f"{MARKET}/vendors/{vendor.id}/reject", json={"reason": "incomplete"})
    async with database.read_session() as session:
        entries = list(
            await session.scalars(
                select(AuditEntry).where(AuditEntry.entity_id == vendor.id).order_by(AuditEntry.id)
            )
        )
    assert [(e.event, e.reason) for e in entries] == [
        ("vendors.create", None), ("vendors.statusChange", "incomplete"),
    ]  # fmt: skip


def test_marketplace_events_are_heard_with_marketplace_admin_only() -> None:
    from app.auth.actor import Actor
    from app.services.live import hears_by_permission

    market = Actor(kind="api_key", id="k", permissions=frozenset({"marketplace:admin"}))
    catalog = Actor(kind="api_key", id="c", permissions=frozenset({"catalog:read"}))
    vendor = Actor(kind="user", id="u", vendor_id="v")
    for entity_type in ("vendor", "sub_order"):
        assert hears_by_permission(market, entity_type)
        assert not hears_by_permission(catalog, entity_type)
        assert not hears_by_permission(vendor, entity_type)
