"""Live events: the pub/sub backends (in-process, PostgreSQL LISTEN/NOTIFY, Redis) and the
GraphQL subscriptions over them, against uvicorn with the `gql` client and raw sockets.

A subscription hears an event only if its actor could read the entity; typed subscriptions
check their entity at subscribe time and answer its current state after each event.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from gql import Client, GraphQLRequest
from gql.client import AsyncClientSession
from gql.transport.exceptions import TransportQueryError
from gql.transport.websockets import WebsocketsTransport
from sqlalchemy import select
from starlette.applications import Starlette

from app.auth.actor import SYSTEM
from app.db import Database
from app.events.pubsub import (
    NOTIFY_LIMIT,
    LiveEvents,
    MemoryBackend,
    PostgresBackend,
    RedisBackend,
)
from app.models.audit import Event
from app.resolvers.context import Context
from app.services import live as live_rules
from tests.api.test_checkout import product
from tests.api.test_orders import move, order_of
from tests.api.test_subscriptions import graphql_ws, receive, subscribe
from tests.conftest import client_for
from tests.support.factories import make_api_key
from tests.support.live import dispatch, made_up, until_subscribed
from tests.support.server import running_server, serving
from tests.support.users import cookie_client, make_user, session_token

TIMEOUT = 5
TEST_REDIS_URL = os.environ.get("TEST_REDIS_URL")
STATUS_EVENTS = 'subscription { events(types: ["orders.statusChange"]) { type entityId data } }'


@pytest.fixture
async def base_url(app: Starlette) -> AsyncIterator[str]:
    async with serving(app) as url:
        yield url


def ws_url(base_url: str) -> str:
    return base_url.replace("http://", "ws://", 1) + "/graphql"


@contextlib.asynccontextmanager
async def gql_session(
    base_url: str, init_payload: dict[str, Any] | None = None, headers: dict[str, str] | None = None
) -> AsyncIterator[AsyncClientSession]:
    transport = WebsocketsTransport(
        url=ws_url(base_url),
        init_payload=init_payload or {},
        headers=headers,
        connect_timeout=TIMEOUT,
        close_timeout=TIMEOUT,
        ack_timeout=TIMEOUT,
    )
    client = Client(transport=transport, fetch_schema_from_transport=False, execute_timeout=TIMEOUT)
    async with client as session:
        yield session


async def first_results(
    session: AsyncClientSession, document: str, count: int, **variables: Any
) -> asyncio.Task[list[dict[str, Any]]]:
    """Start collecting the first `count` results of a subscription (a task to await)."""

    async def collect() -> list[dict[str, Any]]:
        results = []
        request = GraphQLRequest(document, variable_values=variables or None)
        async with asyncio.timeout(TIMEOUT):
            async for result in session.subscribe(request):
                results.append(result)
                if len(results) == count:
                    break
        return results

    return asyncio.create_task(collect())


# ---- the backends ------------------------------------------------------------------------


async def deliveries(publisher: LiveEvents, receivers: list[LiveEvents]) -> list[list[Any]]:
    """Publish two messages on `publisher`; what each receiver's subscriber got."""
    messages = [made_up(n=1), made_up(n=2)]
    async with contextlib.AsyncExitStack() as stack:
        streams = [await stack.enter_async_context(r.subscribe()) for r in receivers]
        await publisher.publish(messages)
        got = []
        for stream in streams:
            async with asyncio.timeout(TIMEOUT):
                got.append([await anext(stream), await anext(stream)])
    assert all(received == messages for received in got), got
    return got


async def test_the_in_process_backend_reaches_every_subscriber_of_the_process(
    database: Database,
) -> None:
    live = LiveEvents(MemoryBackend(), database=database)
    try:
        await deliveries(live, [live, live])
    finally:
        await live.stop()


@pytest.mark.skipif(not TEST_REDIS_URL, reason="TEST_REDIS_URL is not set")
async def test_the_redis_backend_reaches_another_process(database: Database) -> None:
    assert TEST_REDIS_URL
    one, other = (LiveEvents(RedisBackend(TEST_REDIS_URL), database=database) for _ in range(2))
    try:
        await deliveries(one, [other, one])
    finally:
        await one.stop()
        await other.stop()


async def test_postgres_notify_reaches_another_process_and_big_events_come_from_the_row(
    database: Database,
) -> None:
    if database.is_sqlite:
        pytest.skip("LISTEN/NOTIFY is PostgreSQL's")
    one, other = (
        LiveEvents(PostgresBackend(database.url), database=database, max_message_bytes=NOTIFY_LIMIT)
        for _ in range(2)
    )
    big = made_up(text="x" * 3 * NOTIFY_LIMIT)
    async with database.unit_of_work() as uow:
        uow.session.add(
            Event(
                id=big["id"],
                type=big["type"],
                entity_type=big["entityType"],
                entity_id=big["entityId"],
                data=big["data"],
            )
        )
        await uow.commit()
    try:
        await deliveries(one, [other])
        async with other.subscribe() as stream:
            await one.publish([big])
            async with asyncio.timeout(TIMEOUT):
                restored = await anext(stream)
    finally:
        await one.stop()
        await other.stop()

    assert len(one.encode(big)) < NOTIFY_LIMIT  # it travelled as a reference
    assert restored["id"] == big["id"] and restored["data"] == big["data"]


# ---- events(types:) ----------------------------------------------------------------------


async def test_a_gql_subscriber_hears_a_rest_status_change(
    app: Starlette, base_url: str, database: Database, admin: httpx.AsyncClient
) -> None:
    order = await order_of(admin, database)
    await dispatch(app)  # the checkout's own events go before the subscription starts
    _, key = await make_api_key(database, name="listener", permissions=["orders:read"])

    async with gql_session(base_url, {"x-api-key": key}) as session:
        heard = await first_results(session, STATUS_EVENTS, 1)
        await until_subscribed(app.state.live)
        moved = await move(admin, order["id"], "confirmed")
        assert moved.status_code == 200, moved.text
        await dispatch(app)
        [result] = await heard

    event = result["events"]
    assert (event["type"], event["entityId"]) == ("orders.statusChange", order["id"])
    assert event["data"]["after"]["status"] == "confirmed"


async def test_a_customer_hears_only_their_own_orders_and_a_key_without_orders_read_nothing(
    app: Starlette, base_url: str, database: Database, admin: httpx.AsyncClient
) -> None:
    user = await make_user(database)
    token = await session_token(database, user)
    async with cookie_client(app, token) as shopper:
        own = await order_of(shopper, database, slug="own")
    other = await order_of(admin, database, slug="other")
    await dispatch(app)
    _, catalog_key = await make_api_key(database, name="catalog", permissions=["catalog:read"])
    cookie = {"cookie": f"cartograph_session={token}", "origin": base_url}

    async with (
        gql_session(base_url, headers=cookie) as customer,
        gql_session(base_url, {"x-api-key": catalog_key}) as narrow,
    ):
        customer_heard = await first_results(customer, STATUS_EVENTS, 1)
        narrow_heard = await first_results(narrow, STATUS_EVENTS, 1)
        await until_subscribed(app.state.live, 2)
        for order in (other, own):
            assert (await move(admin, order["id"], "confirmed")).status_code == 200
        await dispatch(app)
        [result] = await customer_heard
        # The narrow key heard nothing: after the customer's event, its stream is still empty.
        assert not narrow_heard.done()
        narrow_heard.cancel()

    assert result["events"]["entityId"] == own["id"]


async def test_events_needs_a_credential(base_url: str) -> None:
    async with gql_session(base_url) as anonymous:
        with pytest.raises(TransportQueryError) as refused:
            await (await first_results(anonymous, STATUS_EVENTS, 1))

    assert refused.value.errors is not None
    assert refused.value.errors[0]["extensions"]["code"] == "UNAUTHORIZED"


# ---- the typed subscriptions -------------------------------------------------------------

ORDER_CHANGED = "subscription O($id: ID!) { orderStatusChanged(orderId: $id) { id status } }"


async def test_order_status_changed_answers_the_order_as_it_is_now(
    app: Starlette, base_url: str, database: Database, admin: httpx.AsyncClient, admin_key: str
) -> None:
    order = await order_of(admin, database)
    await dispatch(app)

    async with gql_session(base_url, {"x-api-key": admin_key}) as session:
        heard = await first_results(session, ORDER_CHANGED, 2, id=order["id"])
        await until_subscribed(app.state.live)
        for status in ("confirmed", "processing"):
            assert (await move(admin, order["id"], status)).status_code == 200
        await dispatch(app)
        results = await heard

    # Both events were dispatched after both changes: each answer is the order as it is now.
    assert results == [{"orderStatusChanged": {"id": order["id"], "status": "PROCESSING"}}] * 2


async def test_order_status_changed_is_not_found_for_a_key_without_orders_read(
    app: Starlette, base_url: str, database: Database, admin: httpx.AsyncClient
) -> None:
    order = await order_of(admin, database)
    _, key = await make_api_key(database, name="narrow", permissions=["catalog:read"])

    async with gql_session(base_url, {"x-api-key": key}) as session:
        with pytest.raises(TransportQueryError) as refused:
            await (await first_results(session, ORDER_CHANGED, 1, id=order["id"]))

    assert refused.value.errors is not None
    assert refused.value.errors[0]["extensions"]["code"] == "NOT_FOUND"


async def test_cart_updated_follows_the_cart_its_id_opens(
    app: Starlette, base_url: str, database: Database, client: httpx.AsyncClient
) -> None:
    mug = await product(database, "mug", 1250)
    cart = (await client.post("/api/carts", json={"currency": "USD"})).json()["data"]
    document = (
        "subscription C($id: ID!) { cartUpdated(cartId: $id) { id items { quantity } total "
        "{ amount } } }"
    )

    async with gql_session(base_url) as anonymous:
        heard = await first_results(anonymous, document, 1, id=cart["id"])
        await until_subscribed(app.state.live)
        added = await client.post(
            f"/api/carts/{cart['id']}/items", json={"entityId": str(mug.id), "quantity": 3}
        )
        assert added.status_code == 201, added.text
        await dispatch(app)
        [result] = await heard

    assert result["cartUpdated"] == {
        "id": cart["id"],
        "items": [{"quantity": 3}],
        "total": {"amount": 3750},
    }


async def test_inventory_level_changed_answers_the_adjusted_level_of_the_entity(
    app: Starlette, base_url: str, database: Database, admin: httpx.AsyncClient, admin_key: str
) -> None:
    mug = await product(database, "mug", stock=10)
    await product(database, "cup", stock=10)
    await dispatch(app)
    document = (
        "subscription I($id: ID!) { inventoryLevelChanged(entityId: $id) "
        "{ entityId sku quantity } }"
    )
    async with gql_session(base_url, {"x-api-key": admin_key}) as session:
        heard = await first_results(session, document, 1, id=str(mug.id))
        await until_subscribed(app.state.live)
        for sku in ("cup", "mug"):
            adjusted = await admin.post(
                "/graphql",
                json={
                    "query": "mutation A($sku: String!) { adjustInventoryBySku(input: "
                    "{sku: $sku, adjustment: 5}) { sku } }",
                    "variables": {"sku": sku},
                },
            )
            assert "errors" not in adjusted.json(), adjusted.json()
        await dispatch(app)
        [result] = await heard

    assert result["inventoryLevelChanged"] == {
        "entityId": str(mug.id),
        "sku": "mug",
        "quantity": 15,
    }


# ---- connection limits and keep-alive ----------------------------------------------------


async def test_operations_past_the_per_socket_limit_are_refused_and_the_socket_stays_open(
    make_app: Any, database: Database, admin_key: str
) -> None:
    app = make_app(ws_max_operations=2, ws_keep_alive_seconds=0.05)
    async with (
        serving(app) as base,
        graphql_ws(ws_url(base), payload={"x-api-key": admin_key}) as ws,
    ):
        for id in ("1", "2", "3"):
            await subscribe(ws, id, "subscription { events { id } }")
        # The server's keep-alive pings come every 50 ms, before or after the refusal.
        messages: list[dict[str, Any]] = []
        while {m["type"] == "ping" for m in messages} != {True, False}:
            messages.append(await receive(ws))

    [refused] = [m for m in messages if m["type"] != "ping"]
    assert refused["id"] == "3" and refused["type"] == "error"
    assert refused["payload"][0]["extensions"] == {"code": "RATE_LIMITED"}


async def test_a_typed_subscription_to_an_unknown_entity_is_not_found(
    base_url: str, admin_key: str
) -> None:
    async with gql_session(base_url, {"x-api-key": admin_key}) as session:
        with pytest.raises(TransportQueryError) as refused:
            await (
                await first_results(
                    session,
                    'subscription { inventoryLevelChanged(entityId: "nope") { sku } }',
                    1,
                )
            )

    assert refused.value.errors is not None
    assert refused.value.errors[0]["extensions"]["code"] == "NOT_FOUND"


async def test_the_app_picks_the_backend_of_its_database(
    app: Starlette, database: Database
) -> None:
    expected = MemoryBackend if database.is_sqlite else PostgresBackend
    assert isinstance(app.state.live.backend, expected)
    async with client_for(app) as http:  # the app serves with it
        assert (await http.get("/api/health")).status_code == 200


# ---- two server processes ----------------------------------------------------------------

ADJUSTED = 'subscription { events(types: ["inventory.afterAdjust"]) { type data } }'
RESTOCK = 'mutation { adjustInventoryBySku(input: {sku: "mug", adjustment: 1}) { sku } }'


@pytest.mark.one_backend
async def test_a_change_through_another_server_process_reaches_a_subscriber_here(
    app: Starlette, base_url: str, database: Database
) -> None:
    # Two processes: `cartograph serve` in a subprocess, whose dispatcher publishes what
    # commits there, and this test's own uvicorn (which runs no dispatcher), whose subscriber
    # hears it through LISTEN/NOTIFY.
    if database.is_sqlite:
        pytest.skip("processes share live events through PostgreSQL (or Redis), not SQLite")
    await product(database, "mug", stock=10)
    _, admin = await make_api_key(database, name="admin")
    _, listener = await make_api_key(database, name="listener", permissions=["inventory:read"])
    live = app.state.live

    with running_server(database.url, CARTOGRAPH_RATE_LIMIT="1000/minute") as other:
        async with (
            gql_session(base_url, {"x-api-key": listener}) as session,
            httpx.AsyncClient(base_url=other.base_url, headers={"x-api-key": admin}) as http,
        ):
            listening = set(live.subscribers)
            heard = await first_results(session, ADJUSTED, 1)
            await until_subscribed(live, besides=listening)
            restocked = await http.post("/graphql", json={"query": RESTOCK})
            assert "errors" not in restocked.json(), restocked.json()
            [result] = await heard

    assert result["events"]["type"] == "inventory.afterAdjust"
    assert result["events"]["data"]["after"]["sku"] == "mug"


@pytest.mark.parametrize(
    "field", ["orderStatusChanged(orderId", "cartUpdated(cartId", "inventoryLevelChanged(entityId"]
)
@pytest.mark.parametrize(
    "given", ["nope", "\u0000", "x" * 5000, "5b0c6f0e-0000-4000-8000-000000000000", "ORD-1"]
)
async def test_a_typed_subscription_to_a_hostile_id_is_refused_as_a_query_would(
    app: Starlette, database: Database, field: str, given: str
) -> None:
    query = f"subscription S($id: ID!) {{ {field}: $id) {{ __typename }} }}"
    context = Context(database=database, actor=SYSTEM, live=app.state.live)

    stream = await app.state.schema.subscribe(
        query, variable_values={"id": given}, context_value=context
    )
    async with asyncio.timeout(TIMEOUT):
        result = await anext(stream)
    await stream.aclose()

    assert result.errors is not None
    codes = [e.extensions["code"] for e in result.errors]
    # An order number is looked up as given, and PostgreSQL stores no NUL: VALIDATION_FAILED
    # there, as the `order` query answers it. (The other ids must be UUIDs: NOT_FOUND.)
    nul_number = given == "\u0000" and field.startswith("order") and not database.is_sqlite
    expected = "VALIDATION_FAILED" if nul_number else "NOT_FOUND"
    assert codes == [expected]


VENDOR_EVENTS = 'subscription { events(types: ["vendors.statusChange"]) { type entityId data } }'


async def test_a_vendor_approval_is_heard_by_the_marketplace_admin_and_the_vendor_alone(
    app: Starlette, base_url: str, database: Database, admin: httpx.AsyncClient
) -> None:
    from tests.support.marketplace import MARKET, make_vendor

    mine = await make_vendor(database, "acme", status="pending")
    other = await make_vendor(database, "bolt", status="pending")
    await dispatch(app)
    _, market_key = await make_api_key(database, name="m", permissions=["marketplace:admin"])
    cookie = {"cookie": f"cartograph_session={other.token}", "origin": base_url}
    async with (
        gql_session(base_url, {"x-api-key": market_key}) as market,
        gql_session(base_url, headers=cookie) as bolt,
    ):
        market_heard = await first_results(market, VENDOR_EVENTS, 2)
        bolt_heard = await first_results(bolt, VENDOR_EVENTS, 1)
        await until_subscribed(app.state.live, 2)
        for vendor in (mine, other):
            approved = await admin.post(f"{MARKET}/vendors/{vendor.id}/approve")
            assert approved.status_code == 200
        await dispatch(app)
        heard = await market_heard
        [own] = await bolt_heard

    assert [r["events"]["entityId"] for r in heard] == [mine.id, other.id]
    assert heard[0]["events"]["data"]["after"]["status"] == "active"
    # Vendor B hears its own approval only (A's came first and was left out).
    assert own["events"]["entityId"] == other.id


async def test_a_vendor_user_owns_the_live_events_of_its_own_money_records_alone(
    database: Database,
) -> None:
    # Who hears a payout, commission or balance entry event without marketplace:admin: the
    # users of the vendor it names, and no other vendor's.
    from app.models.ledger import BalanceEntry, Commission
    from app.services.marketplace.payouts import schedule_payout
    from tests.support.ledger import fresh_payout_provider, make_rule, sale
    from tests.support.marketplace import _user_actor, make_vendor

    acme = await make_vendor(database, "acme")
    bolt = await make_vendor(database, "bolt")
    await make_rule(database, kind="percentage", scope="global", rate_bps=1000)
    records: dict[str, dict[str, str]] = {}
    with fresh_payout_provider():
        for vendor in (acme, bolt):
            await sale(database, vendor.id, (5000, 1))
            payout = await schedule_payout(database, SYSTEM, vendor_id=vendor.id, currency="USD")
            async with database.read_session() as session:
                commission = await session.scalar(
                    select(Commission.id).where(Commission.vendor_id == uuid.UUID(vendor.id))
                )
                entry = await session.scalar(
                    select(BalanceEntry.id).where(BalanceEntry.vendor_id == uuid.UUID(vendor.id))
                )
            records[vendor.id] = {
                "payout": str(payout.id),
                "commission": str(commission),
                "balance_entry": str(entry),
            }
    acme_user = await _user_actor(database, uuid.UUID(acme.user_id))

    async with database.read_session() as session:
        for entity_type in ("payout", "commission", "balance_entry"):
            assert live_rules.may_own(acme_user, entity_type)
            assert await live_rules.owns(
                session, acme_user, entity_type, records[acme.id][entity_type]
            )
            assert not await live_rules.owns(
                session, acme_user, entity_type, records[bolt.id][entity_type]
            )
            assert not live_rules.hears_by_permission(acme_user, entity_type)


async def test_a_dispute_is_owned_by_its_customer_and_its_vendor_alone(database: Database) -> None:
    # A dispute's events: heard by the shopper who opened it and the vendor it is against,
    # not by another shopper or another vendor (without marketplace:admin).
    from app.models.marketplace import SubOrder
    from app.models.orders import Order
    from app.services.marketplace import disputes
    from app.services.sessions import user_actor
    from tests.support.ledger import sale
    from tests.support.marketplace import _user_actor, make_vendor

    acme = await make_vendor(database, "acme")
    bolt = await make_vendor(database, "bolt")
    buyer = await make_user(database, email="buyer@example.com")
    stranger = await make_user(database, email="stranger@example.com")
    sub_order = await sale(database, acme.id, (5000, 1))
    async with database.unit_of_work() as uow:
        order_id = await uow.session.scalar(
            select(SubOrder.order_id).where(SubOrder.id == uuid.UUID(sub_order))
        )
        order = await uow.session.get(Order, order_id)
        assert order is not None
        order.customer_id = str(buyer.customer_id)
        await uow.commit()
    async with database.read_session() as session:
        shopper = await user_actor(session, buyer)
        other_shopper = await user_actor(session, stranger)
    async with database.unit_of_work() as uow:
        dispute = await disputes.open_dispute(
            uow, shopper, sub_order_id=sub_order, reason="damaged", message="broken"
        )
        await uow.commit()
    acme_user = await _user_actor(database, uuid.UUID(acme.user_id))
    bolt_user = await _user_actor(database, uuid.UUID(bolt.user_id))

    async with database.read_session() as session:
        heard = {
            name: await live_rules.owns(session, actor, "dispute", str(dispute.id))
            for name, actor in (
                ("shopper", shopper),
                ("other shopper", other_shopper),
                ("acme", acme_user),
                ("bolt", bolt_user),
            )
        }
    assert heard == {"shopper": True, "other shopper": False, "acme": True, "bolt": False}
