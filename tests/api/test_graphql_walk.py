"""Every relation is resolvable from every path: for each root query field, a query selecting
every field of its type, and of the types below it (each type once per path, fields that
need arguments left out), answers without an error on a small, complete store.

A root field added to the schema without a call below fails this test until it is added."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest
from graphql import (
    GraphQLField,
    GraphQLInterfaceType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLUnionType,
    Undefined,
)
from sqlalchemy import select, update
from starlette.applications import Starlette

from app.auth.actor import SYSTEM
from app.config import Settings
from app.db import Database
from app.jobs import enqueue, run_pending
from app.models.marketplace import SubOrder
from app.models.orders import Order, OrderLine
from app.resolvers.schema import schema_for
from app.services import fulfillments
from app.services.addresses import NewAddress, add_address
from app.services.inventory.levels import set_level
from app.services.marketplace import disputes, returns, reviews
from app.services.marketplace.payouts import schedule_payout
from app.services.marketplace.sub_orders import move_sub_order
from app.services.orders import change_status
from app.services.sessions import user_actor
from tests.api.test_checkout import add, cart_with, post_checkout, warehouse
from tests.support.catalog import make_brand, make_category, make_entity
from tests.support.factories import customer
from tests.support.ledger import make_rule
from tests.support.marketplace import make_vendor, vendor_product
from tests.support.media import png, uploaded
from tests.support.pricing import make_group, make_modifier, make_price, variants_of
from tests.support.promotions import make_promotion
from tests.support.users import COOKIE, cookie_client, make_user, session_token
from tests.support.webhooks import make_delivery, make_endpoint, make_event

MAX_DEPTH = 6

# How each root field is called; {names} are filled from the store the test builds.
CALLS: dict[str, str] = {
    "ping": "ping",
    "serverTime": "serverTime",
    "version": "version",
    "apiKeys": "apiKeys",
    "oauthClients": "oauthClients",
    "apiKey": 'apiKey(id: "{api_key}")',
    "auditEntries": "auditEntries(limit: 5)",
    "catalogAttributes": 'catalogAttributes(entityIdOrSlug: "walk-tee", locale: "en")',
    "catalogEntity": 'catalogEntity(idOrSlug: "walk-tee")',
    "catalogEntities": "catalogEntities",
    "category": 'category(idOrSlug: "walk-shirts")',
    "categories": "categories",
    "categoryTree": "categoryTree",
    "brand": 'brand(idOrSlug: "walk-acme")',
    "brands": "brands",
    "warehouses": "warehouses",
    "inventoryLevels": "inventoryLevels",
    "inventoryItem": 'inventoryItem(sku: "{sku}")',
    "inventoryCheck": 'inventoryCheck(entityIds: ["{entity}"])',
    "inventoryMovements": 'inventoryMovements(sku: "{sku}")',
    "prices": "prices",
    "priceModifiers": "priceModifiers",
    "customerGroups": "customerGroups",
    "customerGroupMembers": 'customerGroupMembers(customerGroupId: "{group}")',
    "resolvePrice": 'resolvePrice(entityId: "{entity}", currency: "USD", quantity: 1)',
    "customer": 'customer(id: "{customer}")',
    "customers": "customers",
    "cart": 'cart(id: "{cart}")',
    "promotions": "promotions(activeOnly: false)",
    "promotion": 'promotion(idOrCode: "WALK10")',
    "order": 'order(idOrNumber: "{order}")',
    "fulfillments": 'fulfillments(orderId: "{order}")',
    "orders": "orders",
    "users": "users",
    "user": 'user(id: "{user}")',
    "roles": "roles",
    "accessLogs": "accessLogs",
    "analyticsMeta": "analyticsMeta",
    "analytics": 'analytics(query: {{measures: ["orders.revenue"], '
    'dimensions: ["orders.status"]}})',
    "jobs": "jobs",
    "job": 'job(id: "{job}")',
    "webhookEndpoints": "webhookEndpoints",
    "webhookEndpoint": 'webhookEndpoint(id: "{webhook}")',
    "mediaAssets": "mediaAssets",
    "mediaAsset": 'mediaAsset(id: "{media}")',
    "notifications": "notifications",
    "search": 'search(q: "walk", facets: [TYPE, CATEGORY, BRAND, STATUS])',
    "suggest": 'suggest(prefix: "walk")',
    # The customer's own records: asked with the session of the store's order's customer.
    "me": "me",
    "session": "session",
    # The marketplace; `my...` are asked by the store's vendor's own session.
    "vendors": "vendors",
    "vendor": 'vendor(id: "{vendor}")',
    "myVendor": "myVendor",
    "subOrders": "subOrders",
    "subOrder": 'subOrder(id: "{sub_order}")',
    "mySubOrders": "mySubOrders",
    "commissionRules": "commissionRules",
    "commissions": "commissions",
    "vendorBalance": 'vendorBalance(vendorId: "{vendor}")',
    "vendorBalanceEntries": 'vendorBalanceEntries(vendorId: "{vendor}")',
    "myBalance": "myBalance",
    "myBalanceEntries": "myBalanceEntries",
    "payouts": "payouts",
    "payout": 'payout(id: "{payout}")',
    "myPayouts": "myPayouts",
    "vendorReviews": 'vendorReviews(vendorId: "{vendor}")',
    "myReviews": "myReviews",
    "disputes": "disputes",
    "dispute": 'dispute(id: "{dispute}")',
    "returns": "returns",
    "return": 'return(id: "{return}")',
    "vendorPerformance": 'vendorPerformance(vendorId: "{vendor}")',
    "vendorDocuments": 'vendorDocuments(vendorId: "{vendor}")',
}
VENDOR_ROOTS = (
    "myVendor", "mySubOrders", "myBalance", "myBalanceEntries", "myPayouts", "myReviews",
)  # fmt: skip


def _unwrap(kind: Any) -> Any:
    while isinstance(kind, GraphQLNonNull | GraphQLList):
        kind = kind.of_type
    return kind


def _callable_without_arguments(field: GraphQLField) -> bool:
    return all(
        # graphql-core marks "no default" as Undefined, not None.
        not isinstance(arg.type, GraphQLNonNull) or arg.default_value is not Undefined
        for arg in field.args.values()
    )


# A connection's items can be reached three ways; each is walked alone, so that a relation
# planned for one way only shows up as an error on another.
WAYS = {"items": ("nodes", "edges"), "nodes": ("items", "edges"), "edges": ("items", "nodes")}


def selection(kind: Any, seen: tuple[str, ...] = (), way: str = "items") -> str:
    """Every field of `kind` (and below), each object type once per path; on connections,
    only the `way` to their items."""
    kind = _unwrap(kind)
    if isinstance(kind, GraphQLUnionType | GraphQLInterfaceType):
        return "{ __typename }"
    if not isinstance(kind, GraphQLObjectType):
        return ""
    parts = []
    for name, field in kind.fields.items():
        if not _callable_without_arguments(field):
            continue
        if kind.name.endswith("Connection") and name in WAYS[way]:
            continue
        below = _unwrap(field.type)
        if isinstance(below, GraphQLObjectType):
            if below.name in seen or len(seen) >= MAX_DEPTH:
                continue
            parts.append(f"{name} {selection(below, (*seen, kind.name), way)}")
        else:
            parts.append(name)
    return "{ " + " ".join(parts or ["__typename"]) + " }"


SCHEMA = schema_for(Settings())._schema


def test_every_root_field_has_a_call() -> None:
    assert set(SCHEMA.query_type.fields) == set(CALLS)  # type: ignore[union-attr]


async def store(client: httpx.AsyncClient, admin: httpx.AsyncClient, database: Database) -> dict:
    """A product with variants, texts, category, brand, prices (list, group, modifier) and
    stock; a customer in a group; a promotion; a cart; and a fulfilled, part-refunded order."""
    category = await make_category(database, slug="walk-shirts")
    brand = await make_brand(database, slug="walk-acme")
    tee = await make_entity(
        database, slug="walk-tee", sizes=("S", "M"), category=category, brand=brand
    )
    group = await make_group(database, name="Walkers")
    buyer = await customer(database, groups=[group])
    await make_price(database, tee, amount=2000)
    await make_price(database, tee, amount=1500, group=group)
    await make_modifier(database, kind="percentage", value=5, entity=tee)
    await make_promotion(database, code="WALK10")
    where = await warehouse(database)
    variants = await variants_of(database, tee)
    async with database.unit_of_work() as uow:
        for sku in variants:
            await set_level(uow, SYSTEM, sku=sku, quantity=10, warehouse_id=str(where.id))
        await uow.commit()
    sku = sorted(variants)[0]
    cart = await cart_with(client, (tee, 1), variantId=str(variants[sku].id))
    placed = await cart_with(client, (tee, 2), variantId=str(variants[sku].id))
    seller = await make_vendor(database, "walk-vendor")
    await add(client, placed, await vendor_product(database, "walk-saw", seller))
    order = (await post_checkout(client, placed)).json()["data"]
    for status in ("confirmed", "processing"):
        await change_status(database, SYSTEM, id=order["id"], status=status)
    async with database.unit_of_work() as uow:
        await fulfillments.create_fulfillment(
            uow, SYSTEM, order_id=order["id"], lines=[(order["lines"][0]["id"], 1)],
            carrier="UPS", tracking_number="1Z",
        )  # fmt: skip
        await uow.commit()
    await admin.post(f"/api/orders/{order['id']}/refunds", json={"amount": 100})
    keys = (await admin.get("/api/v1/api-keys")).json()["data"]
    walker = await make_user(database, email="walker@example.com", roles=("customer", "admin"))
    staff = await make_user(database, email="staff.walker@example.com", customer=False)
    async with database.unit_of_work() as uow:
        job = enqueue(uow.session, "walk.nothing", {"n": 1})
        await uow.commit()
    hook = await make_endpoint(database)
    await make_delivery(database, hook, await make_event(database))
    async with database.read_session() as session:
        sub_order = await session.scalar(select(SubOrder.id).where(SubOrder.vendor_id.is_not(None)))
    # The vendor's part delivered under a commission rule, and its balance paid out.
    await make_rule(database, kind="percentage", scope="global", rate_bps=1000)
    for step in ("confirmed", "shipped", "delivered"):
        async with database.unit_of_work() as uow:
            await move_sub_order(uow, SYSTEM, id=str(sub_order), status=step,
                                 tracking_number="1Z", carrier="UPS")  # fmt: skip
            await uow.commit()
    payout = await schedule_payout(database, SYSTEM, vendor_id=seller.id, currency="USD")
    aftercare = await aftercare_records(database, order["id"], str(sub_order), seller.id)
    picture = await uploaded(admin, png(300, 200))
    for role in ("gallery", "download"):
        attached = await admin.post(
            "/api/media/attach",
            json={"entityId": str(tee.id), "mediaAssetId": picture["id"], "role": role},
        )
        assert attached.status_code == 201, attached.text
    await run_pending(database, admin_settings(admin), queue="media")
    return {
        "vendor": seller.id, "vendor_session": seller.token, "sub_order": str(sub_order),
        "payout": str(payout.id), **aftercare,
        "media": picture["id"],
        "job": str(job.id),
        "user": str(walker.id),
        "session": await session_token(database, staff),
        "api_key": keys[0]["id"], "sku": sku, "entity": str(tee.id), "group": str(group.id),
        "customer": str(buyer.id), "cart": cart, "order": order["id"], "webhook": str(hook.id),
    }  # fmt: skip


async def aftercare_records(
    database: Database, order_id: str, sub_order_id: str, vendor_id: str
) -> dict[str, str]:
    """A review, a dispute and a return of the delivered vendor sub-order, by its buyer."""
    buyer = await make_user(database, email="aftercare.walker@example.com")
    async with database.unit_of_work() as uow:
        await uow.session.execute(
            update(Order)
            .where(Order.id == uuid.UUID(order_id))
            .values(customer_id=str(buyer.customer_id))
        )
        await uow.commit()
    async with database.read_session() as session:
        actor = await user_actor(session, buyer)
        line = await session.scalar(
            select(OrderLine.id).where(OrderLine.sub_order_id == uuid.UUID(sub_order_id))
        )
    async with database.unit_of_work() as uow:
        await reviews.create_review(
            uow, actor, vendor_id=vendor_id, sub_order_id=sub_order_id, rating=4, title="t",
            body="b",
        )  # fmt: skip
        dispute = await disputes.open_dispute(
            uow, actor, sub_order_id=sub_order_id, reason="damaged", message="m"
        )
        made = await returns.create_return(
            uow, actor, sub_order_id=sub_order_id, lines=[(str(line), 1)], reason="r"
        )
        await uow.commit()
    return {"dispute": str(dispute.id), "return": str(made.id)}


def admin_settings(admin: httpx.AsyncClient) -> Settings:
    transport = admin._transport
    assert isinstance(transport, httpx.ASGITransport)
    settings: Settings = transport.app.state.settings  # type: ignore[attr-defined]
    return settings


async def shopper(app: Starlette, database: Database, order_id: str) -> httpx.AsyncClient:
    """A signed-in customer who owns the store's order and has an address."""
    user = await make_user(database, email="shopper@example.com")
    async with database.unit_of_work() as uow:
        await uow.session.execute(
            update(Order)
            .where(Order.id == uuid.UUID(order_id))
            .values(customer_id=str(user.customer_id))
        )
        assert user.customer_id is not None
        await add_address(
            uow, SYSTEM, user.customer_id, NewAddress(line1="1 Walk St", city="Bonn", country="DE")
        )
        await uow.commit()
    return cookie_client(app, await session_token(database, user))


@pytest.mark.parametrize("root", sorted(CALLS))
async def test_every_field_below_a_root_field_resolves(
    app: Starlette,
    client: httpx.AsyncClient,
    admin: httpx.AsyncClient,
    database: Database,
    root: str,
) -> None:
    ids = await store(client, admin, database)
    field = SCHEMA.query_type.fields[root]  # type: ignore[union-attr]
    http = await shopper(app, database, ids["order"]) if root == "me" else admin
    if root in VENDOR_ROOTS:
        http = cookie_client(app, ids["vendor_session"])
    for way in WAYS:
        below = selection(field.type, ("Query",), way)
        query = "{ " + CALLS[root].format(**ids) + " " + below + " }"
        # The key is who asks; the cookie is the session `session` shows (`me` is asked by
        # the shopper's own session).
        cookie = {"cookie": f"{COOKIE}={ids['session']}", "origin": "http://testserver"}
        response = await http.post(
            "/graphql", json={"query": query}, headers=cookie if http is admin else None
        )
        body = response.json()
        assert "errors" not in body, (way, query, body.get("errors"))
        assert body["data"][root] is not None
