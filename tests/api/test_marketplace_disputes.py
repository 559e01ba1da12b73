"""Marketplace disputes (issue 14, part 5) through the engine dialect and GraphQL: the machine
open -> responded -> escalated -> resolved (and open -> escalated, open or responded ->
resolved; illegal moves 409), outcomes refunding through the vendor's ledger and the order's
payment, one unresolved dispute per sub-order, scoped lists, and isolation between customers
and vendors (404), vendors from resolving (403), anonymous 401."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from starlette.applications import Starlette

from app.db import Database
from app.models.aftercare import Dispute
from app.models.audit import Event
from app.models.orders import Payment
from tests.api.test_marketplace_vendors import error, gql
from tests.support.aftercare import Shopper, delivered_sub_order, make_shopper
from tests.support.ledger import balance, entries, entry_sum, make_rule
from tests.support.marketplace import MARKET, MadeVendor, make_vendor, vendor_product
from tests.support.users import cookie_client

DISPUTES = f"{MARKET}/disputes"
OPEN = {"reason": "damaged", "message": "The saw arrived bent."}


async def world(
    client: httpx.AsyncClient, database: Database, status: str = "delivered"
) -> tuple[MadeVendor, Shopper, str]:
    """Ada bought 2 saws (1500 each) of acme, with a 10 % commission."""
    await make_rule(database, kind="percentage", scope="global", rate_bps=1000)
    vendor = await make_vendor(database, "acme")
    shopper = await make_shopper(database, "ada")
    saw = await vendor_product(database, "acme-saw", vendor, 1500)
    sub_order = await delivered_sub_order(
        client, database, shopper, vendor, (saw, 2), status=status
    )
    return vendor, shopper, sub_order


async def open_dispute(app: Starlette, shopper: Shopper, sub_order: str) -> httpx.Response:
    async with cookie_client(app, shopper.token) as http:
        return await http.post(DISPUTES, json={"subOrderId": sub_order, **OPEN})


async def opened(app: Starlette, shopper: Shopper, sub_order: str) -> str:
    response = await open_dispute(app, shopper, sub_order)
    assert response.status_code == 201, response.text
    return str(response.json()["data"]["id"])


async def dispute_row(database: Database, id: str) -> Dispute:
    async with database.read_session() as session:
        row = await session.get(Dispute, uuid.UUID(id))
    assert row is not None
    return row


async def refunds(database: Database) -> list[tuple[int, str]]:
    async with database.read_session() as session:
        rows = await session.execute(
            select(Payment.amount, Payment.status).where(Payment.kind == "refund")
        )
        return [(amount, status) for amount, status in rows.all()]


async def dispute_events(database: Database) -> list[str]:
    async with database.read_session() as session:
        rows = await session.scalars(
            select(Event.type).where(Event.type.like("disputes.%")).order_by(Event.id)
        )
        return list(rows)


async def test_a_dispute_is_opened_answered_escalated_and_resolved_with_a_partial_refund(
    app: Starlette, client: httpx.AsyncClient, admin: httpx.AsyncClient, database: Database
) -> None:
    vendor, shopper, sub_order = await world(client, database)
    earned = await balance(database, vendor.id)
    created = await open_dispute(app, shopper, sub_order)
    assert created.status_code == 201, created.text
    data = created.json()["data"]
    assert (data["status"], data["reason"], data["vendorId"], data["subOrderId"]) == (
        "open", "damaged", vendor.id, sub_order,
    )  # fmt: skip
    id = data["id"]
    async with cookie_client(app, vendor.token) as http:
        answered = await http.post(
            f"{DISPUTES}/{id}/respond", json={"message": "Send a photo, please."}
        )
        assert answered.status_code == 200, answered.text
        assert (answered.json()["data"]["status"], answered.json()["data"]["response"]) == (
            "responded",
            "Send a photo, please.",
        )
    async with cookie_client(app, shopper.token) as http:
        escalated = await http.post(f"{DISPUTES}/{id}/escalate", json={"message": "No answer."})
        assert escalated.json()["data"]["status"] == "escalated"
        assert escalated.json()["data"]["escalatedBy"] == "customer"
    resolved = await admin.post(
        f"{DISPUTES}/{id}/resolve",
        json={"outcome": "refund_partial", "amount": 1000, "note": "Half a saw."},
    )
    assert resolved.status_code == 200, resolved.text
    data = resolved.json()["data"]
    assert (data["status"], data["outcome"], data["refundAmount"]) == (
        "resolved", "refund_partial", 1000,
    )  # fmt: skip
    assert (await entries(database, vendor.id))[-2:] == [
        ("refund_debit", -1000), ("commission_debit", 100),
    ]  # fmt: skip
    assert await balance(database, vendor.id) == earned - 900
    assert await entry_sum(database, vendor.id) == await balance(database, vendor.id)
    assert await refunds(database) == [(-1000, "refunded")]
    assert await dispute_events(database) == ["disputes.create"] + ["disputes.statusChange"] * 3


async def test_a_full_refund_gives_back_what_is_left_on_the_sub_order(
    app: Starlette, client: httpx.AsyncClient, admin: httpx.AsyncClient, database: Database
) -> None:
    vendor, shopper, sub_order = await world(client, database)
    id = await opened(app, shopper, sub_order)
    resolved = await admin.post(
        f"{DISPUTES}/{id}/resolve", json={"outcome": "refund_full", "note": "Broken."}
    )
    assert resolved.status_code == 200, resolved.text
    assert resolved.json()["data"]["refundAmount"] == 3000
    assert await balance(database, vendor.id) == 0  # the sale, its commission, all given back
    assert await refunds(database) == [(-3000, "refunded")]
    # Resolved: a new dispute may be opened, but nothing is left to refund.
    again = await opened(app, shopper, sub_order)
    nothing = await admin.post(
        f"{DISPUTES}/{again}/resolve", json={"outcome": "refund_full", "note": "Again?"}
    )
    error(nothing, 409, "CONFLICT")
    assert (await dispute_row(database, again)).status == "open"


async def test_no_refund_leaves_the_money_where_it_is(
    app: Starlette, client: httpx.AsyncClient, admin: httpx.AsyncClient, database: Database
) -> None:
    vendor, shopper, sub_order = await world(client, database)
    earned = await balance(database, vendor.id)
    id = await opened(app, shopper, sub_order)
    resolved = await admin.post(
        f"{DISPUTES}/{id}/resolve", json={"outcome": "no_refund", "note": "As described."}
    )
    assert resolved.json()["data"]["status"] == "resolved"
    assert resolved.json()["data"]["refundAmount"] is None
    assert await balance(database, vendor.id) == earned
    assert await refunds(database) == []


@pytest.mark.parametrize(
    ("moves", "action", "expected"),
    [
        ([], "respond", "responded"),
        ([], "escalate", "escalated"),
        ([], "resolve", "resolved"),
        (["respond"], "escalate", "escalated"),
        (["respond"], "resolve", "resolved"),
        (["escalate"], "resolve", "resolved"),
        (["respond"], "respond", None),
        (["escalate"], "respond", None),
        (["escalate"], "escalate", None),
        (["resolve"], "respond", None),
        (["resolve"], "escalate", None),
        (["resolve"], "resolve", None),
    ],
)
async def test_the_dispute_machine(
    app: Starlette,
    client: httpx.AsyncClient,
    admin: httpx.AsyncClient,
    database: Database,
    moves: list[str],
    action: str,
    expected: str | None,
) -> None:
    vendor, shopper, sub_order = await world(client, database)
    id = await opened(app, shopper, sub_order)
    async with cookie_client(app, vendor.token) as seller:

        async def do(step: str) -> httpx.Response:
            if step == "respond":
                return await seller.post(f"{DISPUTES}/{id}/respond", json={"message": "m"})
            if step == "escalate":
                return await seller.post(f"{DISPUTES}/{id}/escalate")
            return await admin.post(
                f"{DISPUTES}/{id}/resolve", json={"outcome": "no_refund", "note": "n"}
            )

        for step in moves:
            assert (await do(step)).status_code == 200
        before = (await dispute_row(database, id)).status
        response = await do(action)
    if expected is None:
        assert "allowed" in error(response, 409, "CONFLICT")["message"]
        assert (await dispute_row(database, id)).status == before
    else:
        assert response.status_code == 200, response.text
        assert response.json()["data"]["status"] == expected


async def test_one_unresolved_dispute_per_delivered_sub_order(
    app: Starlette, client: httpx.AsyncClient, database: Database
) -> None:
    _, shopper, sub_order = await world(client, database)
    await opened(app, shopper, sub_order)
    error(await open_dispute(app, shopper, sub_order), 409, "CONFLICT")
    _, other_shopper, shipped = await world_shipped(client, database)
    error(await open_dispute(app, other_shopper, shipped), 409, "CONFLICT")


async def world_shipped(
    client: httpx.AsyncClient, database: Database
) -> tuple[MadeVendor, Shopper, str]:
    vendor = await make_vendor(database, "bolt")
    shopper = await make_shopper(database, "bob")
    nut = await vendor_product(database, "bolt-nut", vendor, 100)
    made = await delivered_sub_order(client, database, shopper, vendor, (nut, 1), status="shipped")
    return vendor, shopper, made


async def test_bad_dispute_input_is_refused_naming_the_field(
    app: Starlette, client: httpx.AsyncClient, admin: httpx.AsyncClient, database: Database
) -> None:
    _, shopper, sub_order = await world(client, database)
    async with cookie_client(app, shopper.token) as http:
        bad = await http.post(DISPUTES, json={"subOrderId": sub_order, "reason": "meh"})
        assert bad.status_code == 422
        empty = await http.post(
            DISPUTES, json={"subOrderId": sub_order, "reason": "other", "message": " "}
        )
        assert "message" in str(error(empty, 422, "VALIDATION_FAILED"))
    id = await opened(app, shopper, sub_order)
    cases: list[dict[str, Any]] = [
        {"outcome": "refund_partial", "note": "n"},
        {"outcome": "no_refund", "amount": 5, "note": "n"},
        {"outcome": "refund_partial", "amount": 0, "note": "n"},
    ]
    for case in cases:
        body = error(
            await admin.post(f"{DISPUTES}/{id}/resolve", json=case), 422, "VALIDATION_FAILED"
        )
        assert "amount" in str(body)
    beyond = await admin.post(
        f"{DISPUTES}/{id}/resolve",
        json={"outcome": "refund_partial", "amount": 3001, "note": "n"},
    )
    error(beyond, 409, "CONFLICT")
    assert (await dispute_row(database, id)).status == "open"
    assert await refunds(database) == []


async def test_disputes_are_isolated_between_customers_and_vendors(
    app: Starlette, client: httpx.AsyncClient, admin: httpx.AsyncClient, database: Database
) -> None:
    vendor, shopper, sub_order = await world(client, database)
    eve = await make_shopper(database, "eve")
    bolt = await make_vendor(database, "bolt")
    error(await open_dispute(app, eve, sub_order), 404, "NOT_FOUND")
    error(await client.post(DISPUTES, json={"subOrderId": sub_order, **OPEN}), 401, "UNAUTHORIZED")
    id = await opened(app, shopper, sub_order)
    async with cookie_client(app, bolt.token) as http:
        error(await http.post(f"{DISPUTES}/{id}/respond", json={"message": "m"}), 404, "NOT_FOUND")
        error(await http.post(f"{DISPUTES}/{id}/escalate"), 404, "NOT_FOUND")
        refused = await http.post(
            f"{DISPUTES}/{id}/resolve", json={"outcome": "no_refund", "note": "n"}
        )
        error(refused, 403, "FORBIDDEN")
        assert (await http.get(DISPUTES)).json()["data"] == []
    async with cookie_client(app, eve.token) as http:
        error(await http.post(f"{DISPUTES}/{id}/escalate"), 404, "NOT_FOUND")
        assert (await http.get(DISPUTES)).json()["data"] == []
    async with cookie_client(app, shopper.token) as http:
        # The customer escalates; the vendor answers.
        error(await http.post(f"{DISPUTES}/{id}/respond", json={"message": "m"}), 403, "FORBIDDEN")
        assert [d["id"] for d in (await http.get(DISPUTES)).json()["data"]] == [id]
    async with cookie_client(app, vendor.token) as http:
        assert [d["id"] for d in (await http.get(DISPUTES)).json()["data"]] == [id]
    # The marketplace resolves; it does not escalate to itself.
    error(await admin.post(f"{DISPUTES}/{id}/escalate"), 403, "FORBIDDEN")
    error(await client.get(DISPUTES), 401, "UNAUTHORIZED")
    assert (await dispute_row(database, id)).status == "open"


async def test_the_admin_lists_every_dispute_filtered_by_status_and_vendor(
    app: Starlette, client: httpx.AsyncClient, admin: httpx.AsyncClient, database: Database
) -> None:
    vendor, shopper, sub_order = await world(client, database)
    id = await opened(app, shopper, sub_order)
    listed = await admin.get(DISPUTES)
    assert listed.json()["meta"]["pagination"]["total"] == 1
    assert [d["id"] for d in (await admin.get(f"{DISPUTES}?status=open")).json()["data"]] == [id]
    assert (await admin.get(f"{DISPUTES}?status=resolved")).json()["data"] == []
    assert len((await admin.get(f"{DISPUTES}?vendorId={vendor.id}")).json()["data"]) == 1
    assert (await admin.get(f"{DISPUTES}?vendorId={uuid.uuid4()}")).json()["data"] == []
    error(await admin.get(f"{DISPUTES}?status=lost"), 422, "VALIDATION_FAILED")


async def test_disputes_through_graphql(
    app: Starlette, client: httpx.AsyncClient, admin: httpx.AsyncClient, database: Database
) -> None:
    vendor, shopper, sub_order = await world(client, database)
    async with cookie_client(app, shopper.token) as http:
        made = await gql(
            http,
            """mutation($input: OpenDisputeInput!) { openDispute(input: $input) {
              id status reason } }""",
            {"input": {"subOrderId": sub_order, "reason": "NOT_RECEIVED", "message": "Where?"}},
        )
    dispute = made["data"]["openDispute"]
    assert (dispute["status"], dispute["reason"]) == ("OPEN", "NOT_RECEIVED")
    async with cookie_client(app, vendor.token) as http:
        escalated = await gql(
            http,
            """mutation($input: EscalateDisputeInput!) { escalateDispute(input: $input) {
              status escalatedBy } }""",
            {"input": {"id": dispute["id"]}},
        )
        assert escalated["data"]["escalateDispute"] == {
            "status": "ESCALATED", "escalatedBy": "VENDOR",
        }  # fmt: skip
    resolved = await gql(
        admin,
        """mutation($input: ResolveDisputeInput!) { resolveDispute(input: $input) {
          status outcome refundAmount { amount currency } } }""",
        {"input": {"id": dispute["id"], "outcome": "REFUND_PARTIAL", "amount": 500, "note": "n"}},
    )
    assert resolved["data"]["resolveDispute"] == {
        "status": "RESOLVED", "outcome": "REFUND_PARTIAL",
        "refundAmount": {"amount": 500, "currency": "USD"},
    }  # fmt: skip
    one = await gql(admin, "query($id: ID!) { dispute(id: $id) { status } }", {"id": dispute["id"]})
    assert one["data"]["dispute"] == {"status": "RESOLVED"}
