"""Marketplace money (issue 14, part 3): commission rules (CRUD, checks, resolution), the
commission taken per line at delivery with the sale credited in the same transaction, refunds
and adjustments, balances that are always the sum of their entries, the gateway's commissions
list, and isolation between vendors (404) and from the admin routes (403)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from starlette.applications import Starlette

from app.auth.actor import SYSTEM
from app.db import Database
from app.errors import Forbidden
from app.models.audit import Event
from app.models.ledger import BalanceEntry, Commission, CommissionRule
from app.services.marketplace import commissions as rule_service
from tests.api.test_marketplace_sub_orders import mine, sub_orders_of
from tests.api.test_marketplace_vendors import error, gql
from tests.support.catalog import make_category
from tests.support.ledger import (
    balance,
    deliver,
    entries,
    entry_sum,
    in_category,
    make_rule,
    sale,
    shipped_sub_order,
)
from tests.support.marketplace import MARKET, make_vendor, split_order, vendor_product
from tests.support.queries import count_queries
from tests.support.users import cookie_client, make_user, session_token

RULES = f"{MARKET}/commission-rules"
GLOBAL_10 = {"name": "Standard", "kind": "percentage", "scope": "global", "rateBps": 1000}


async def event_count(database: Database, type: str) -> int:
    async with database.read_session() as session:
        found = await session.scalar(
            select(func.count()).select_from(Event).where(Event.type == type)
        )
    return int(found or 0)


async def commissions_of(database: Database, sub_order_id: str) -> list[Commission]:
    async with database.read_session() as session:
        rows = await session.scalars(
            select(Commission)
            .where(Commission.sub_order_id == uuid.UUID(sub_order_id))
            .order_by(Commission.basis)
        )
        return list(rows)


# --- commission rules --------------------------------------------------------------------------


async def test_commission_rules_are_created_listed_changed_and_deleted(
    admin: httpx.AsyncClient, database: Database
) -> None:
    created = await admin.post(RULES, json={**GLOBAL_10, "priority": 3})
    assert created.status_code == 201, created.text
    rule = created.json()["data"]
    assert {k: rule[k] for k in ("name", "kind", "scope", "rateBps", "amount", "priority")} == {
        "name": "Standard",
        "kind": "percentage",
        "scope": "global",
        "rateBps": 1000,
        "amount": None,
        "priority": 3,
    }
    vendor = await make_vendor(database, "acme")
    flat = await admin.post(
        RULES,
        json={
            "name": "Acme",
            "kind": "flat",
            "scope": "vendor",
            "amount": 50,
            "currency": "USD",
            "vendorId": vendor.id,
        },
    )
    assert flat.status_code == 201, flat.text
    assert (flat.json()["data"]["amount"], flat.json()["data"]["currency"]) == (50, "USD")

    listed = await admin.get(RULES, params={"scope": "vendor"})
    assert listed.status_code == 200
    assert [r["name"] for r in listed.json()["data"]] == ["Acme"]
    assert listed.json()["meta"]["pagination"]["total"] == 1
    assert len((await admin.get(RULES)).json()["data"]) == 2

    changed = await admin.patch(f"{RULES}/{rule['id']}", json={"rateBps": 1500, "priority": 0})
    assert changed.status_code == 200, changed.text
    assert (changed.json()["data"]["rateBps"], changed.json()["data"]["priority"]) == (1500, 0)
    assert changed.json()["data"]["name"] == "Standard"  # left as it was

    deleted = await admin.delete(f"{RULES}/{rule['id']}")
    assert deleted.status_code == 200
    assert deleted.json()["data"]["id"] == rule["id"]
    error(await admin.delete(f"{RULES}/{rule['id']}"), 404, "NOT_FOUND")
    error(await admin.patch(f"{RULES}/nope", json={"priority": 1}), 404, "NOT_FOUND")
    assert [
        await event_count(database, f"commissionRules.{e}") for e in ("create", "update", "delete")
    ] == [2, 1, 1]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({**GLOBAL_10, "rateBps": None}, "rateBps"),
        ({**GLOBAL_10, "rateBps": 10001}, "rateBps"),
        ({**GLOBAL_10, "name": " "}, "name"),
        ({"name": "f", "kind": "flat", "scope": "global", "amount": 5}, "currency"),
        (
            {"name": "f", "kind": "flat", "scope": "global", "amount": 5, "currency": "usd"},
            "currency",
        ),
        ({"name": "f", "kind": "flat", "scope": "global", "currency": "USD"}, "amount"),
        ({**GLOBAL_10, "scope": "category"}, "categoryId"),
        ({**GLOBAL_10, "scope": "category", "categoryId": str(uuid.uuid4())}, "categoryId"),
        ({**GLOBAL_10, "scope": "vendor"}, "vendorId"),
        ({**GLOBAL_10, "scope": "vendor", "vendorId": str(uuid.uuid4())}, "vendorId"),
        (
            {
                **GLOBAL_10,
                "validFrom": "2026-02-01T00:00:00Z",
                "validUntil": "2026-01-01T00:00:00Z",
            },
            "validUntil",
        ),
    ],
)
async def test_a_bad_rule_is_refused_naming_the_field(
    admin: httpx.AsyncClient, database: Database, body: dict[str, Any], field: str
) -> None:
    response = await admin.post(RULES, json=body)
    assert response.status_code == 422, response.text
    assert field in str(response.json()["error"]), response.text
    async with database.read_session() as session:
        assert await session.scalar(select(func.count()).select_from(CommissionRule)) == 0


async def test_commission_rules_through_graphql(
    admin: httpx.AsyncClient, database: Database
) -> None:
    category = await make_category(database, slug="tools")
    made = await gql(
        admin,
        """mutation C($input: CreateCommissionRuleInput!) { createCommissionRule(input: $input) {
          id kind scope categoryId rateBps amount { amount currency formatted } } }""",
        {
            "input": {
                "name": "Tools",
                "kind": "FLAT",
                "scope": "CATEGORY",
                "amount": 125,
                "currency": "EUR",
                "categoryId": str(category.id),
            }
        },
    )
    rule = made["data"]["createCommissionRule"]
    assert rule["kind"] == "FLAT" and rule["categoryId"] == str(category.id)
    assert rule["amount"] == {"amount": 125, "currency": "EUR", "formatted": "1.25 EUR"}
    listed = await gql(admin, "{ commissionRules(scope: CATEGORY) { totalCount nodes { id } } }")
    assert listed["data"]["commissionRules"] == {"totalCount": 1, "nodes": [{"id": rule["id"]}]}
    # Turned into a percentage rule: the flat fields are cleared.
    changed = await gql(
        admin,
        """mutation U($input: UpdateCommissionRuleInput!) { updateCommissionRule(input: $input) {
          kind rateBps amount { amount } } }""",
        {"input": {"id": rule["id"], "kind": "PERCENTAGE", "rateBps": 250}},
    )
    assert changed["data"]["updateCommissionRule"] == {
        "kind": "PERCENTAGE",
        "rateBps": 250,
        "amount": None,
    }


async def test_a_vendor_user_cannot_touch_commission_rules(
    app: Starlette, database: Database
) -> None:
    vendor = await make_vendor(database, "acme")
    async with cookie_client(app, vendor.token) as http:
        error(await http.get(RULES), 403, "FORBIDDEN")
        error(await http.post(RULES, json=GLOBAL_10), 403, "FORBIDDEN")
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://testserver"
    ) as anonymous:
        error(await anonymous.get(RULES), 401, "UNAUTHORIZED")
    with pytest.raises(Forbidden):
        async with database.unit_of_work() as uow:
            from tests.support.marketplace import _user_actor

            actor = await _user_actor(database, uuid.UUID(vendor.user_id))
            await rule_service.create_rule(
                uow,
                actor,
                input=rule_service.RuleInput(
                    **{"name": "x", "kind": "percentage", "scope": "global", "rate_bps": 1}
                ),
            )


# --- resolution --------------------------------------------------------------------------------


def _rule(**given: Any) -> CommissionRule:
    values: dict[str, Any] = {
        "id": uuid.uuid4(),
        "name": "r",
        "kind": "percentage",
        "rate_bps": 100,
        "scope": "global",
        "priority": 0,
        "valid_from": None,
        "valid_until": None,
        "amount": None,
        "currency": None,
        "vendor_id": None,
        "category_id": None,
        "created_at": datetime(2026, 1, 1, tzinfo=UTC),
    }
    values.update(given)
    return CommissionRule(**values)


def test_resolution_takes_priority_then_the_most_specific_scope_then_the_newest() -> None:
    vendor, other, category = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    now = datetime(2026, 6, 1, tzinfo=UTC)
    everyone = _rule(rate_bps=1000)
    tools = _rule(scope="category", category_id=category, rate_bps=500)
    acme = _rule(scope="vendor", vendor_id=vendor, rate_bps=200)

    def pick(*rules: CommissionRule, cats: set[uuid.UUID] = {category}, cur: str = "USD") -> Any:  # noqa: B006
        return rule_service.resolve(rules, vendor_id=vendor, categories=cats, currency=cur, at=now)

    assert pick(everyone, tools, acme) is acme  # same priority: vendor > category > global
    assert pick(everyone, tools) is tools
    assert pick(everyone, tools, cats=set()) is everyone  # the line is not in the category
    assert pick(everyone, _rule(scope="vendor", vendor_id=other)) is everyone
    urgent = _rule(rate_bps=3000, priority=5)
    assert pick(everyone, tools, acme, urgent) is urgent  # priority first
    newer = _rule(rate_bps=700, created_at=datetime(2026, 2, 1, tzinfo=UTC))
    assert pick(everyone, newer) is newer  # same priority and scope: the newest
    # Validity: from inclusive, until exclusive.
    assert pick(everyone, _rule(scope="vendor", vendor_id=vendor, valid_until=now)) is everyone
    assert pick(_rule(scope="vendor", vendor_id=vendor, valid_from=now), everyone).vendor_id
    assert pick(everyone, _rule(priority=9, valid_from=now + timedelta(seconds=1))) is everyone
    # A flat rule covers sales in its currency only.
    euro = _rule(kind="flat", amount=10, currency="EUR", priority=9)
    assert pick(everyone, euro) is everyone
    assert pick(everyone, euro, cur="EUR") is euro
    assert pick(cats=set()) is None


def test_a_commission_is_rounded_half_up_per_line_or_flat_per_unit_never_above_the_line() -> None:
    percent = _rule(rate_bps=1250)
    assert rule_service.commission_of(percent, basis=1000, quantity=1) == 125
    assert rule_service.commission_of(percent, basis=1004, quantity=1) == 126  # 125.5 -> 126
    assert rule_service.commission_of(percent, basis=1003, quantity=1) == 125  # 125.375
    flat = _rule(kind="flat", amount=30, currency="USD")
    assert rule_service.commission_of(flat, basis=1000, quantity=3) == 90
    assert rule_service.commission_of(flat, basis=50, quantity=3) == 50
    assert rule_service.commission_of(None, basis=1000, quantity=3) == 0


# --- delivery ----------------------------------------------------------------------------------


async def test_delivering_a_sub_order_credits_the_sale_and_takes_the_commission(
    client: httpx.AsyncClient, app: Starlette, admin: httpx.AsyncClient, database: Database
) -> None:
    """Through checkout and the vendor's own deliver route: per line, a commission row, the
    sale credited and the commission debited, in the delivery's transaction; the other
    vendor's and the house's parts have no ledger."""
    await make_rule(database, kind="percentage", scope="global", rate_bps=1000)
    a = await make_vendor(database, "acme")
    b = await make_vendor(database, "bolt")
    await make_rule(
        database,
        kind="flat",
        scope="vendor",
        vendor_id=a.id,
        amount=25,
        currency="USD",
        name="acme",
    )
    saw = await vendor_product(database, "acme-saw", a, 1500)
    drill = await vendor_product(database, "acme-drill", a, 4000)
    hammer = await vendor_product(database, "bolt-hammer", b, 900)
    mug = await vendor_product(database, "house-mug", None, 500)
    order = await split_order(client, (saw, 2), (drill, 1), (hammer, 1), (mug, 1))
    subs = await sub_orders_of(database, order["id"])
    ours = mine(subs, a)
    async with cookie_client(app, a.token) as http:
        for action, body in (
            ("confirm", None),
            ("ship", {"trackingNumber": "1Z", "carrier": "UPS"}),
        ):
            response = await http.post(f"{MARKET}/vendor/me/orders/{ours}/{action}", json=body)
            assert response.status_code == 200, response.text
        assert await balance(database, a.id) == 0  # nothing is earned before delivery
        delivered = await http.post(f"{MARKET}/vendor/me/orders/{ours}/deliver")
        assert delivered.status_code == 200, delivered.text

    commissions = await commissions_of(database, ours)
    # The vendor's flat rule (25 per unit) is more specific than the global 10 %.
    assert [(c.basis, c.amount, c.status) for c in commissions] == [
        (3000, 50, "accrued"),
        (4000, 25, "accrued"),
    ]
    assert sorted(await entries(database, a.id)) == sorted(
        [
            ("sale_credit", 3000),
            ("commission_debit", -50),
            ("sale_credit", 4000),
            ("commission_debit", -25),
        ]
    )
    assert await balance(database, a.id) == 7000 - 75 == await entry_sum(database, a.id)
    assert await entries(database, b.id) == []
    assert await event_count(database, "commissions.create") == 2

    got = await admin.get(f"{MARKET}/vendors/{a.id}/balance")
    assert got.status_code == 200, got.text
    body = got.json()["data"]
    assert body["balances"] == [{"amount": 6925, "currency": "USD"}]
    assert body["entriesTotal"] == 4
    assert {(e["kind"], e["amount"], e["currency"]) for e in body["entries"]} == {
        ("sale_credit", 3000, "USD"),
        ("commission_debit", -50, "USD"),
        ("sale_credit", 4000, "USD"),
        ("commission_debit", -25, "USD"),
    }
    sales = await admin.get(
        f"{MARKET}/vendors/{a.id}/balance", params={"kind": "sale_credit", "limit": 1}
    )
    assert sales.json()["data"]["entriesTotal"] == 2 and len(sales.json()["data"]["entries"]) == 1


async def test_a_sub_order_earns_once_however_often_delivery_is_asked(
    admin: httpx.AsyncClient, database: Database
) -> None:
    await make_rule(database, kind="percentage", scope="global", rate_bps=1000)
    vendor = await make_vendor(database, "acme")
    made = await shipped_sub_order(database, vendor.id, (2000, 1))
    await deliver(database, made)
    again = await admin.patch(f"{MARKET}/sub-orders/{made}/status", json={"status": "delivered"})
    error(again, 409, "CONFLICT")
    assert await entries(database, vendor.id) == [("sale_credit", 2000), ("commission_debit", -200)]


async def test_a_category_rule_applies_to_products_in_that_category(
    database: Database,
) -> None:
    vendor = await make_vendor(database, "acme")
    tools = await make_category(database, slug="tools")
    saw = await vendor_product(database, "acme-saw", vendor)
    mug = await vendor_product(database, "acme-mug", vendor)
    await in_category(database, saw.id, tools.id)
    await make_rule(database, kind="percentage", scope="global", rate_bps=1000)
    await make_rule(
        database, kind="percentage", scope="category", category_id=str(tools.id), rate_bps=300
    )
    made = await sale(database, vendor.id, (1000, 1), (1000, 1), entity_ids=[saw.id, mug.id])
    by_entity = {c.basis: c.amount for c in await commissions_of(database, made)}
    assert sorted(c.amount for c in await commissions_of(database, made)) == [30, 100]
    assert by_entity  # both lines have a commission row


async def test_no_rule_means_no_commission_but_the_sale_is_credited(database: Database) -> None:
    vendor = await make_vendor(database, "acme")
    made = await sale(database, vendor.id, (1234, 2))
    [commission] = await commissions_of(database, made)
    assert (commission.rule_id, commission.amount) == (None, 0)
    assert await entries(database, vendor.id) == [("sale_credit", 1234)]


# --- refunds and adjustments -------------------------------------------------------------------

REFUND = """mutation R($input: RefundSubOrderInput!) { refundSubOrder(input: $input) {
  kind amount { amount } } }"""


async def test_a_refund_debits_the_vendor_and_gives_the_commission_back(
    admin: httpx.AsyncClient, database: Database
) -> None:
    await make_rule(database, kind="percentage", scope="global", rate_bps=1000)
    vendor = await make_vendor(database, "acme")
    made = await sale(database, vendor.id, (2000, 1), (1000, 1))  # commission 200 + 100
    assert await balance(database, vendor.id) == 2700

    first = await gql(admin, REFUND, {"input": {"id": made, "amount": 1000, "reason": "broken"}})
    assert first["data"]["refundSubOrder"] == [
        {"kind": "REFUND_DEBIT", "amount": {"amount": -1000}},
        {"kind": "COMMISSION_DEBIT", "amount": {"amount": 100}},
    ]
    assert await balance(database, vendor.id) == 1800
    too_much = await gql(admin, REFUND, {"input": {"id": made, "amount": 2001, "reason": "x"}})
    assert too_much["errors"][0]["extensions"]["code"] == "CONFLICT"
    assert too_much["errors"][0]["extensions"]["details"] == {"refundable": "2000"}
    rest = await gql(
        admin, REFUND, {"input": {"id": made, "amount": 2000, "reason": "all", "key": "return-1"}}
    )
    assert [e["amount"]["amount"] for e in rest["data"]["refundSubOrder"]] == [-2000, 200]
    # Refunded in full: every cent of commission is back, and the commissions are reversed.
    assert await balance(database, vendor.id) == 0 == await entry_sum(database, vendor.id)
    assert {c.status for c in await commissions_of(database, made)} == {"reversed"}
    # The same key again records nothing more.
    again = await gql(
        admin, REFUND, {"input": {"id": made, "amount": 2000, "reason": "all", "key": "return-1"}}
    )
    assert again["data"]["refundSubOrder"] == rest["data"]["refundSubOrder"]
    assert await balance(database, vendor.id) == 0


async def test_only_a_delivered_vendor_sub_order_is_refunded(
    admin: httpx.AsyncClient, database: Database
) -> None:
    vendor = await make_vendor(database, "acme")
    shipped = await shipped_sub_order(database, vendor.id, (1000, 1))
    refused = await gql(admin, REFUND, {"input": {"id": shipped, "amount": 10, "reason": "x"}})
    assert refused["errors"][0]["extensions"]["code"] == "CONFLICT"
    missing = await gql(admin, REFUND, {"input": {"id": "nope", "amount": 10, "reason": "x"}})
    assert missing["errors"][0]["extensions"]["code"] == "NOT_FOUND"
    zero = await gql(admin, REFUND, {"input": {"id": shipped, "amount": 0, "reason": "x"}})
    assert zero["errors"][0]["extensions"]["code"] == "VALIDATION_FAILED"
    assert await entries(database, vendor.id) == []


ADJUST = """mutation A($input: AdjustVendorBalanceInput!) { adjustVendorBalance(input: $input) {
  kind reason amount { amount currency } } }"""


async def test_an_adjustment_moves_the_balance_with_a_reason(
    admin: httpx.AsyncClient, database: Database
) -> None:
    vendor = await make_vendor(database, "acme")
    made = await gql(
        admin,
        ADJUST,
        {"input": {"vendorId": vendor.id, "amount": -500, "currency": "EUR", "reason": "fee"}},
    )
    assert made["data"]["adjustVendorBalance"] == {
        "kind": "ADJUSTMENT",
        "reason": "fee",
        "amount": {"amount": -500, "currency": "EUR"},
    }
    assert await balance(database, vendor.id, "EUR") == -500
    for bad in ({"amount": 0}, {"reason": " "}, {"currency": "eur"}):
        refused = await gql(
            admin,
            ADJUST,
            {
                "input": {
                    "vendorId": vendor.id,
                    "amount": 5,
                    "currency": "EUR",
                    "reason": "x",
                    **bad,
                }
            },
        )
        assert refused["errors"][0]["extensions"]["code"] == "VALIDATION_FAILED", bad
    unknown = await gql(
        admin,
        ADJUST,
        {"input": {"vendorId": str(uuid.uuid4()), "amount": 5, "currency": "EUR", "reason": "x"}},
    )
    assert unknown["errors"][0]["extensions"]["code"] == "NOT_FOUND"
    assert await event_count(database, "balanceEntries.create") == 1


# --- reading, and who may ----------------------------------------------------------------------


async def test_a_vendor_reads_its_own_balance_and_no_one_elses(
    app: Starlette, admin: httpx.AsyncClient, database: Database
) -> None:
    a = await make_vendor(database, "acme")
    b = await make_vendor(database, "bolt")
    await sale(database, a.id, (1000, 1))
    await sale(database, b.id, (3000, 1))
    async with cookie_client(app, a.token) as http:
        own = await http.get(f"{MARKET}/vendor/me/balance")
        assert own.status_code == 200, own.text
        assert own.json()["data"]["vendorId"] == a.id
        assert own.json()["data"]["balances"] == [{"amount": 1000, "currency": "USD"}]
        assert (await http.get(f"{MARKET}/vendors/{a.id}/balance")).status_code == 200
        error(await http.get(f"{MARKET}/vendors/{b.id}/balance"), 404, "NOT_FOUND")
        graph = await gql(
            http,
            "query Q($id: ID!) { vendorBalanceEntries(vendorId: $id) { totalCount } }",
            {"id": b.id},
        )
        assert graph["errors"][0]["extensions"]["code"] == "NOT_FOUND"
        mine_ = await gql(http, "{ myBalance { balances { amount } entries { totalCount } } }")
        assert mine_["data"]["myBalance"] == {
            "balances": [{"amount": 1000}],
            "entries": {"totalCount": 1},
        }
        assert (await gql(http, "{ myVendor { balance { amount } } }"))["data"] == {
            "myVendor": {"balance": [{"amount": 1000}]}
        }
    customer = await make_user(database, email="shopper@example.com")
    async with cookie_client(app, await session_token(database, customer)) as http:
        error(await http.get(f"{MARKET}/vendor/me/balance"), 403, "FORBIDDEN")
        error(await http.get(f"{MARKET}/vendors/{a.id}/balance"), 403, "FORBIDDEN")
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://testserver"
    ) as anonymous:
        error(await anonymous.get(f"{MARKET}/vendor/me/balance"), 401, "UNAUTHORIZED")
    error(await admin.get(f"{MARKET}/vendors/{uuid.uuid4()}/balance"), 404, "NOT_FOUND")
    error(await admin.get(f"{MARKET}/vendors/nope/balance"), 404, "NOT_FOUND")


async def test_vendor_balance_is_hidden_from_everyone_but_the_admin_and_the_vendor(
    client: httpx.AsyncClient, database: Database
) -> None:
    """A product's vendor is public; its balance is not."""
    vendor = await make_vendor(database, "acme")
    saw = await vendor_product(database, "acme-saw", vendor)
    await sale(database, vendor.id, (1000, 1))
    got = await gql(
        client,
        """query Q($id: String!) {
          catalogEntity(idOrSlug: $id) { vendor { name balance { amount } } } }""",
        {"id": str(saw.id)},
    )
    assert got.get("errors") is None, got
    assert got["data"]["catalogEntity"]["vendor"] == {"name": "Acme", "balance": None}


async def test_a_vendor_list_with_balances_costs_the_same_statements_for_one_or_many(
    admin: httpx.AsyncClient, database: Database
) -> None:
    query = "{ vendors(limit: 50) { items { id balance { amount currency } } } }"

    async def statements() -> int:
        with count_queries(database) as counted:
            body = await gql(admin, query)
        assert body.get("errors") is None, body
        return len(counted.statements)

    first = await make_vendor(database, "v0")
    await sale(database, first.id, (100, 1))
    await statements()  # the key's first use is recorded once
    one = await statements()
    for i in range(1, 4):
        made = await make_vendor(database, f"v{i}")
        await sale(database, made.id, (100 * i, 1))
    assert await statements() == one


# --- the gateway's commissions -----------------------------------------------------------------


async def test_gateway_lists_commissions_in_its_envelope_with_decimals(
    app: Starlette, admin: httpx.AsyncClient, database: Database
) -> None:
    await make_rule(database, kind="percentage", scope="global", rate_bps=1000)
    a = await make_vendor(database, "acme")
    b = await make_vendor(database, "bolt")
    first = await sale(database, a.id, (1999, 1))
    await sale(database, b.id, (500, 1))
    response = await admin.get("/api/v1/commissions", params={"vendor_id": a.id})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["success"] is True and body["pagination"]["total"] == 1
    assert response.headers["X-Total-Count"] == "1"
    [item] = body["data"]
    assert {
        k: item[k] for k in ("vendorId", "subOrderId", "basis", "amount", "currency", "status")
    } == {
        "vendorId": a.id,
        "subOrderId": first,
        "basis": 19.99,
        "amount": 2.0,
        "currency": "USD",
        "status": "accrued",
    }
    everyone = await admin.get("/api/v1/commissions", params={"limit": 1, "page": 2})
    assert everyone.json()["pagination"] == {"page": 2, "limit": 1, "total": 2, "pages": 2}
    reversed_ = await admin.get("/api/v1/commissions", params={"status": "reversed"})
    assert reversed_.json()["data"] == []
    bad = await admin.get("/api/v1/commissions", params={"status": "bogus"})
    assert bad.status_code == 400 and bad.json()["success"] is False
    async with cookie_client(app, b.token) as http:
        own = await http.get("/api/v1/commissions")
        assert [c["vendorId"] for c in own.json()["data"]] == [b.id]
        other = await http.get("/api/v1/commissions", params={"vendor_id": a.id})
        assert other.json()["data"] == []
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://testserver"
    ) as anonymous:
        assert (await anonymous.get("/api/v1/commissions")).status_code == 401


async def test_entries_are_never_recorded_twice_for_one_fact(database: Database) -> None:
    vendor = await make_vendor(database, "acme")
    made = await sale(database, vendor.id, (1000, 1))
    async with database.read_session() as session:
        keys = list(await session.scalars(select(BalanceEntry.key)))
    assert len(keys) == len(set(keys)) == 1
    from app.services.marketplace import ledger

    with pytest.raises(Exception, match=r"(?i)unique|duplicate"):
        async with database.unit_of_work() as uow:
            ledger.add_entry(
                uow,
                SYSTEM,
                vendor_id=uuid.UUID(vendor.id),
                kind="sale_credit",
                amount=1,
                currency="USD",
                key=keys[0],
            )
            await uow.commit()
    assert await entry_sum(database, vendor.id) == 1000
    assert made


async def test_a_refund_key_names_a_refund_of_one_sub_order(
    admin: httpx.AsyncClient, database: Database
) -> None:
    """A return's id used as the key on two sub-orders makes two refunds, each once."""
    vendor = await make_vendor(database, "acme")
    first = await sale(database, vendor.id, (1000, 1))
    second = await sale(database, vendor.id, (1000, 1))
    for made in (first, second, first, second):
        body = await gql(
            admin, REFUND, {"input": {"id": made, "amount": 300, "reason": "r", "key": "ret-7"}}
        )
        assert body.get("errors") is None, body
    assert await balance(database, vendor.id) == 1400
