"""Who may call what: every route and every GraphQL root field, tried as four callers (issue 10,
part 7).

The callers: anonymous; a narrow key holding exactly what the row needs (for a public row, an
unrelated permission); a wrong-scope key holding every other permission the table knows but
not what the row needs; and an admin (`*:*`). A row that needs permissions expects 401, 403,
then its success status twice; a public row expects its success status from all four; a row
may override an answer (an order is 404 to whoever may not see it).

The table is checked against the app itself: every route of the app's route table (REST rows
of both dialects, the platform routes, static files, the websocket) and every field of the
schema's Query, Mutation and Subscription types must have a row, and every row must name
something that exists. A new route or root field without a row fails here: add its row to its
domain's section below (customers, vendors and the rest as they arrive).

A customer-session row (`session_row`, the customer's own API, /api/me and GraphQL `me`) needs
no permission but a signed-in customer: all four key callers get 401 (an API key is no one's
session, `*:*` included), and two more callers are tried: the world's customer (its session
cookie) gets the row's success status, a signed-in staff user without a customer record 403.

A marketplace row (`market_row`, `vendor_self_row`) is tried as three more callers: a key
holding exactly `marketplace:admin`, and the signed-in users (session cookies) of two active
vendors, A and B. The row's records are vendor A's: B must find them 404 (never 403, which
would tell they exist), and both vendors get 403 from the admin's routes. The vendor's own API
(`/vendor/me`, `myVendor`, `mySubOrders`) answers the vendors' sessions only: every key is 403
(a key is no one's vendor), anonymous 401.

A call that went through is prepared afresh for the next caller (a fresh entity to publish,
a fresh order to refund), so the answers do not depend on each other; a refused one (401, 403)
must have changed nothing (no event recorded). One app per backend, in-process (httpx's ASGI
transport); only the websocket row opens a real socket. About 30 s on SQLite.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

import httpx
import orjson
import pytest
from graphql import GraphQLSchema, get_named_type, is_composite_type
from sqlalchemy import func, select, update
from starlette.applications import Starlette
from starlette.routing import Mount, Route, WebSocketRoute

from app import payouts
from app.auth.actor import ANONYMOUS, SYSTEM, Actor
from app.db import Database
from app.models.audit import Event
from app.models.jobs import Job
from app.models.marketplace import SubOrder
from app.models.orders import Order, OrderLine
from app.models.users import User
from app.resolvers.context import Context
from app.services import auth as auth_service
from app.services.addresses import NewAddress, add_address
from app.services.apikeys import authenticate
from app.services.customers import create_customer
from app.services.inventory import reservations
from app.services.marketplace import disputes as dispute_service
from app.services.marketplace import returns as return_service
from app.services.marketplace import reviews as review_service
from app.services.marketplace.commissions import RuleInput, create_rule
from app.services.marketplace.ledger import adjust_balance
from app.services.marketplace.payouts import schedule_payout
from app.services.marketplace.sub_orders import move_sub_order
from app.services.sessions import user_actor
from app.services.users import create_role
from tests.api.test_checkout import product
from tests.api.test_subscriptions import graphql_ws, receive, send, websocket_url
from tests.conftest import client_for
from tests.support.catalog import make_brand, make_category, make_entity
from tests.support.factories import make_api_key
from tests.support.marketplace import MadeVendor, make_vendor, vendor_product
from tests.support.media import png
from tests.support.oauth import make_client
from tests.support.pricing import make_group, make_modifier, make_price
from tests.support.promotions import make_promotion
from tests.support.server import serving
from tests.support.users import COOKIE, make_user, session_token
from tests.support.webhooks import make_endpoint, make_event

CALLERS = ("anonymous", "narrow", "wrong", "admin")
# The extra callers of a customer-session row: cookies, not keys.
SESSION_CALLERS = ("customer", "staff")
# The extra callers of a marketplace row: a key holding exactly marketplace:admin, and the
# signed-in users of two active vendors (the row's resources are vendor A's).
MARKET = "marketplace:admin"
VENDOR_CALLERS = ("vendor_a", "vendor_b")
MARKET_CALLERS = ("market_admin", *VENDOR_CALLERS)
UNRELATED = "nothing:read"  # what the narrow key holds for a public row
CODE_STATUS = {
    "UNAUTHORIZED": 401,
    "FORBIDDEN": 403,
    "NOT_FOUND": 404,
    "CONFLICT": 409,
    "VALIDATION_FAILED": 422,
    "RATE_LIMITED": 429,
}


# GraphQL takes closed sets as enum names (`CONFIRMED`), REST as the documented words.

# ---- what a row sends ------------------------------------------------------------------------


@dataclass(frozen=True)
class Rest:
    method: str
    path: str
    json: Any = None
    params: dict[str, str] | None = None
    headers: dict[str, str] | None = None
    # A multipart body: {name: (filename, bytes, content type)}.
    files: dict[str, tuple[str, bytes, str]] | None = None
    # The text fields of a multipart body.
    data: dict[str, str] | None = None


@dataclass(frozen=True)
class Graph:
    """A call of one root field; the document is written from the schema (`__typename` is
    selected under a composite result)."""

    args: dict[str, Any] = field(default_factory=dict)
    headers: dict[str, str] | None = None
    # A file sent as `input.file` by the GraphQL multipart request spec.
    upload: bytes | None = None


@dataclass(frozen=True)
class Socket:
    """A websocket to /graphql that runs `{ ping }` after `connection_ack`."""


Call = Rest | Graph | Socket


class World:
    """Fresh things to act on, made as staff would (services, or the API with an admin key)."""

    def __init__(self, database: Database, admin: httpx.AsyncClient) -> None:
        self.database = database
        self.admin = admin
        self.counter = itertools.count()
        self.sessions: dict[str, str] = {}
        self.customer_id: str | None = None
        self.vendors: dict[str, MadeVendor] = {}

    async def session(self, who: str) -> str:
        """The session token of the world's customer (`customer`) or of a staff user without
        a customer record (`staff`), made on first use."""
        if who not in self.sessions:
            user = await make_user(
                self.database,
                email=f"{who}@example.com",
                roles=("customer",) if who == "customer" else ("admin",),
                customer=who == "customer",
            )
            if who == "customer":
                self.customer_id = str(user.customer_id)
            self.sessions[who] = await session_token(self.database, user)
        return self.sessions[who]

    async def my_order(self) -> dict[str, Any]:
        """A paid order of the world's customer (engine shape)."""
        await self.session("customer")
        order = await self.order()
        async with self.database.unit_of_work() as uow:
            await uow.session.execute(
                update(Order)
                .where(Order.number == order["number"])
                .values(customer_id=self.customer_id)
            )
            await uow.commit()
        return order

    async def my_address(self) -> str:
        await self.session("customer")
        assert self.customer_id is not None
        async with self.database.unit_of_work() as uow:
            made = await add_address(
                uow, SYSTEM, uuid.UUID(self.customer_id),
                NewAddress(line1="1 Main St", city="Springfield", country="US"),
            )  # fmt: skip
            await uow.commit()
        return str(made.id)

    async def vendor(self, who: str = "vendor_a") -> MadeVendor:
        """The active vendor of `vendor_a` or `vendor_b` (its user signed in), made on first
        use."""
        if who not in self.vendors:
            self.vendors[who] = await make_vendor(self.database, who.replace("_", "-"))
        return self.vendors[who]

    async def vendor_in(self, status: str) -> str:
        """A fresh vendor (of no user) in `status`."""
        made = await make_vendor(self.database, self.unique("seller"), status=status)
        return made.id

    async def sub_order(self, status: str = "pending") -> str:
        """A fresh sub-order of vendor A (its order: one line of a new product of A's, paid),
        moved by the admin to `status`."""
        vendor = await self.vendor("vendor_a")
        made = await vendor_product(self.database, self.unique("a-goods"), vendor)
        cart = await self.data("POST", "/api/carts", {"currency": "USD"}, "id")
        await self.data(
            "POST", f"/api/carts/{cart}/items", {"entityId": str(made.id), "quantity": 1}
        )
        order = await self.data(
            "POST", "/api/checkout", {"cartId": cart, "paymentMethodId": "pm_card_visa"}
        )
        [sub_order] = await self.data("GET", f"/api/marketplace/sub-orders?orderId={order['id']}")
        path = ["confirmed", "shipped", "delivered"]
        for step in path[: path.index(status) + 1] if status in path else []:
            async with self.database.unit_of_work() as uow:
                await move_sub_order(
                    uow, SYSTEM, id=sub_order["id"], status=step, tracking_number="T",
                    carrier="C",
                )  # fmt: skip
                await uow.commit()
        return str(sub_order["id"])

    async def funded_vendor_a(self, amount: int = 1000) -> str:
        """Vendor A, with `amount` (USD) more in its balance (an adjustment)."""
        vendor = await self.vendor("vendor_a")
        async with self.database.unit_of_work() as uow:
            await adjust_balance(uow, SYSTEM, vendor_id=vendor.id, amount=amount,
                                 currency="USD", reason="matrix")  # fmt: skip
            await uow.commit()
        return vendor.id

    async def failed_payout(self) -> str:
        """A fresh payout of vendor A that the payout provider refused (its debit reversed)."""
        vendor_id = await self.funded_vendor_a()
        provider = payouts.provider()
        assert isinstance(provider, payouts.TestPayoutProvider)
        provider.failing.add(vendor_id)
        try:
            made = await schedule_payout(self.database, SYSTEM, vendor_id=vendor_id,
                                         currency="USD", amount=1000)  # fmt: skip
        finally:
            provider.failing.discard(vendor_id)
        assert made.status == "failed"
        return str(made.id)

    async def commission_rule(self) -> str:
        async with self.database.unit_of_work() as uow:
            rule = await create_rule(uow, SYSTEM, input=RuleInput(
                name="matrix", kind="percentage", scope="global", rate_bps=100))  # fmt: skip
            await uow.commit()
        return str(rule.id)

    async def my_sub_order(self) -> str:
        """A fresh delivered sub-order of vendor A, of an order of the world's customer."""
        await self.session("customer")
        made = await self.sub_order("delivered")
        async with self.database.unit_of_work() as uow:
            row = await uow.session.get(SubOrder, uuid.UUID(made))
            assert row is not None
            await uow.session.execute(
                update(Order).where(Order.id == row.order_id).values(customer_id=self.customer_id)
            )
            await uow.commit()
        return made

    async def customer_actor(self) -> Actor:
        async with self.database.read_session() as session:
            user = await session.scalar(select(User).where(User.email == "customer@example.com"))
            assert user is not None
            return await user_actor(session, user)

    async def dispute(self, status: str = "open") -> str:
        """A fresh dispute of the world's customer on vendor A's sub-order, in `status`."""
        sub_order = await self.my_sub_order()
        customer = await self.customer_actor()
        async with self.database.unit_of_work() as uow:
            row = await dispute_service.open_dispute(
                uow, customer, sub_order_id=sub_order, reason="damaged", message="m"
            )
            if status == "escalated":
                await dispute_service.escalate_dispute(uow, customer, id=str(row.id))
            await uow.commit()
        return str(row.id)

    async def return_(self, status: str = "requested") -> str:
        """A fresh return (one unit) of the world's customer on vendor A's sub-order."""
        sub_order = await self.my_sub_order()
        customer = await self.customer_actor()
        async with self.database.unit_of_work() as uow:
            [line] = await uow.session.scalars(
                select(OrderLine.id).where(OrderLine.sub_order_id == uuid.UUID(sub_order))
            )
            row = await return_service.create_return(
                uow, customer, sub_order_id=sub_order, lines=[(str(line), 1)], reason="r"
            )
            if status == "shipped_back":
                await return_service.ship_back(
                    uow, customer, id=str(row.id), tracking_number="T", carrier="C"
                )
            await uow.commit()
        return str(row.id)

    async def review(self) -> tuple[str, str]:
        """A fresh review by the world's customer of vendor A: the vendor's id and its id."""
        sub_order = await self.my_sub_order()
        vendor = await self.vendor("vendor_a")
        async with self.database.unit_of_work() as uow:
            row = await review_service.create_review(
                uow, await self.customer_actor(), vendor_id=vendor.id, sub_order_id=sub_order,
                rating=5, title=None, body=None,
            )  # fmt: skip
            await uow.commit()
        return vendor.id, str(row.id)

    def unique(self, prefix: str) -> str:
        return f"{prefix}-{next(self.counter)}"

    async def entity(self, *, status: str = "active", sizes: tuple[str, ...] = ()) -> str:
        made = await make_entity(
            self.database, slug=self.unique("thing"), status=status, sizes=sizes
        )
        return str(made.id)

    async def product(self) -> tuple[str, str]:
        """An active product, priced and stocked in MAIN: its id and its SKU (the slug)."""
        slug = self.unique("goods")
        return str((await product(self.database, slug)).id), slug

    async def warehouse(self) -> str:
        return await self.data(
            "POST", "/api/inventory/warehouses", {"code": self.unique("W"), "name": "W"}, "id"
        )

    async def category(self) -> str:
        return str((await make_category(self.database, slug=self.unique("cat"))).id)

    async def brand(self) -> str:
        return str((await make_brand(self.database, slug=self.unique("brand"))).id)

    async def option_type(self, entity: str) -> str:
        return await self.data(
            "POST",
            f"/api/catalog/entities/{entity}/options",
            {"name": "Size", "values": ["S"]},
            "id",
        )

    async def cart(self) -> tuple[str, str]:
        """An anonymous cart with one line: the cart's id and the line's."""
        entity, _ = await self.product()
        cart = await self.data("POST", "/api/carts", {"currency": "USD"}, "id")
        items = await self.data(
            "POST", f"/api/carts/{cart}/items", {"entityId": entity, "quantity": 1}, "items"
        )
        return cart, items[0]["id"]

    async def order(self) -> dict[str, Any]:
        """A paid order of one line (engine shape: id, number, lines, total)."""
        cart, _ = await self.cart()
        return await self.data(
            "POST", "/api/checkout", {"cartId": cart, "paymentMethodId": "pm_card_visa"}
        )

    async def unpaid_order(self) -> dict[str, Any]:
        entity, _ = await self.product()
        query = """mutation P($input: PlaceOrderInput!) { placeOrder(input: $input) {
          id total { amount currency } } }"""
        response = await self.admin.post(
            "/graphql",
            json={
                "query": query,
                "variables": {"input": {"items": [{"entityId": entity, "quantity": 1}]}},
            },
        )
        return response.json()["data"]["placeOrder"]

    async def promotion(self) -> str:
        return str((await make_promotion(self.database, code=self.unique("CODE").upper())).id)

    async def price(self) -> str:
        entity = await make_entity(self.database, slug=self.unique("priced"))
        return str((await make_price(self.database, entity, amount=500)).id)

    async def modifier(self) -> str:
        return str((await make_modifier(self.database, kind="percentage", value=10)).id)

    async def customer(self) -> str:
        async with self.database.unit_of_work() as uow:
            made = await create_customer(uow, SYSTEM, email=f"{self.unique('c')}@example.com")
            await uow.commit()
        return str(made.id)

    async def group(self, *members: str) -> str:
        return str((await make_group(self.database, name=self.unique("group"), members=members)).id)

    async def api_key(self, *permissions: str) -> str:
        key, _ = await make_api_key(self.database, name=self.unique("key"), permissions=permissions)
        return str(key.id)

    async def user(self) -> str:
        """A signed-up customer's user (role customer)."""
        made = await make_user(self.database, email=f"{self.unique('u')}@example.com")
        return str(made.id)

    async def failed_job(self) -> str:
        """A job out of attempts (of a kind nothing handles, so running it changes nothing)."""
        async with self.database.unit_of_work() as uow:
            job = Job(queue="matrix", kind="matrix.nothing", payload={}, status="failed")
            uow.session.add(job)
            await uow.commit()
        return str(job.id)

    async def role(self) -> str:
        """A staff role granting nothing (any users:manage caller may change it)."""
        async with self.database.unit_of_work() as uow:
            made = await create_role(
                uow, SYSTEM, name=self.unique("role"), description=None, permissions=[]
            )
            await uow.commit()
        return str(made.id)

    async def reservation(self) -> str:
        entity, _ = await self.product()
        async with self.database.unit_of_work() as uow:
            [held] = await reservations.reserve(
                uow,
                SYSTEM,
                entity_id=entity,
                variant_id=None,
                quantity=1,
                reference_id=None,
                ttl=timedelta(minutes=5),
            )
            await uow.commit()
        return str(held.id)

    async def webhook_endpoint(self) -> str:
        return str((await make_endpoint(self.database)).id)

    async def vendor_document(self) -> tuple[str, str]:
        """A fresh pending document of vendor A: the vendor's id and its id."""
        vendor = (await self.vendor("vendor_a")).id
        response = await self.admin.post(
            f"/api/marketplace/vendors/{vendor}/documents",
            files={"file": ("p.png", png(), "image/png")},
            data={"kind": "identity"},
        )
        assert response.status_code == 201, response.text
        return vendor, str(response.json()["data"]["id"])

    async def media_asset(self) -> str:
        """An uploaded picture, attached to nothing (private)."""
        response = await self.admin.post(
            "/api/media/upload", files={"file": ("p.png", png(), "image/png")}
        )
        assert response.status_code == 201, response.text
        return str(response.json()["data"]["id"])

    async def public_media(self) -> dict[str, str]:
        """A picture in the gallery of an active entity: its id, and its file's path."""
        asset, entity = await self.media_asset(), await self.entity()
        attached = await self.data(
            "POST",
            "/api/media/attach",
            {"entityId": entity, "mediaAssetId": asset, "role": "gallery"},
        )
        return {"id": asset, "entity": entity, "path": urlsplit(attached["mediaAsset"]["url"]).path}

    async def data(self, method: str, path: str, body: Any = None, key: str | None = None) -> Any:
        response = await self.admin.request(method, path, json=body)
        assert response.status_code < 300, response.text
        data = response.json()["data"]
        return data[key] if key else data


Prepare = Callable[[World], Awaitable[Call]]


@dataclass(frozen=True)
class Row:
    needs: tuple[str, ...]
    prepare: Prepare
    ok: int = 200
    expect: dict[str, int] = field(default_factory=dict)
    # Needs a signed-in customer's session, not a permission (see the module's docstring).
    session: bool = False
    # A marketplace row: also tried as the marketplace admin and vendors A and B.
    market: bool = False

    # An aftercare row: also tried as the marketplace's callers and the session callers (the
    # world's customer, whose sub-order it is, and a staff user with no customer record).
    aftercare: bool = False

    @property
    def callers(self) -> tuple[str, ...]:
        if self.aftercare:
            return CALLERS + MARKET_CALLERS + SESSION_CALLERS
        if self.market:
            return CALLERS + MARKET_CALLERS
        return CALLERS + SESSION_CALLERS if self.session else CALLERS

    def expected(self, caller: str) -> int:
        if caller in self.expect:
            return self.expect[caller]
        if self.session:
            return {"customer": self.ok, "staff": 403}.get(caller, 401)
        if not self.needs:
            return self.ok
        return {"anonymous": 401, "wrong": 403}.get(caller, self.ok)


def const(call: Call) -> Prepare:
    async def prepare(world: World) -> Call:
        return call

    return prepare


def rest(method: str, path: str, **kwargs: Any) -> Prepare:
    return const(Rest(method, path, **kwargs))


def graph(**args: Any) -> Prepare:
    return const(Graph(args))


def row(needs: str | tuple[str, ...] | None, prepare: Prepare, ok: int = 200, **expect: int) -> Row:
    if needs is None:
        needs = ()
    elif isinstance(needs, str):
        needs = (needs,)
    return Row(needs, prepare, ok, expect)


def session_row(prepare: Prepare, ok: int = 200) -> Row:
    """A row of the customer's own API: a signed-in customer's session, no permission."""
    return Row((), prepare, ok, {}, session=True)


def made(build: Callable[[World], Awaitable[Call]]) -> Prepare:
    return build


def market_row(
    prepare: Prepare, *, vendor_a: int, vendor_b: int, ok: int = 200, **expect: int
) -> Row:
    """A marketplace row needing marketplace:admin (or, where vendor A's answer says so,
    vendor A's own user): the narrow key is the marketplace admin; the vendors' answers are
    given (403 for an admin route, 404 for B on A's record)."""
    answers = {"market_admin": ok, "vendor_a": vendor_a, "vendor_b": vendor_b, **expect}
    return Row((MARKET,), prepare, ok, answers, market=True)


def vendor_self_row(prepare: Prepare, ok: int = 200) -> Row:
    """A row of the vendor's own API (/vendor/me): a vendor's signed-in user, no permission;
    every key is 403 (a key is no one's vendor), anonymous 401."""
    refused = {caller: 403 for caller in ("narrow", "wrong", "admin", "market_admin")}
    refused["anonymous"] = 401
    return Row((), prepare, ok, {**refused, "vendor_a": ok, "vendor_b": ok}, market=True)


def aftercare_row(prepare: Prepare, needs: tuple[str, ...], answers: str, ok: int = 200) -> Row:
    """A row tried as every caller: `answers` gives, in order, the statuses of anonymous,
    narrow, wrong, admin, market_admin, vendor_a, vendor_b, customer and staff (`ok` for the
    row's success status)."""
    callers = CALLERS + MARKET_CALLERS + SESSION_CALLERS
    statuses = [ok if word == "ok" else int(word) for word in answers.split()]
    assert len(statuses) == len(callers)
    return Row(needs, prepare, ok, dict(zip(callers, statuses, strict=True)), aftercare=True)


UNKNOWN = "5b0c6f0e-0000-4000-8000-000000000000"

# ---- the platform ---------------------------------------------------------------------------

PLATFORM = {
    "GET /api/health": row(None, rest("GET", "/api/health")),
    "GET /api/doc": row(None, rest("GET", "/api/doc")),
    "GET /api/reference": row(None, rest("GET", "/api/reference")),
    "GET /static/{path}": row(None, rest("GET", "/static/swagger/swagger-ui.css")),
    # Signed by the payment provider, not by a key: without the secret set it is refused alike.
    "POST /api/payments/webhook": row(None, rest("POST", "/api/payments/webhook", json={}), ok=400),
    "GET /graphql": row(None, rest("GET", "/graphql", headers={"accept": "text/html"})),
    "POST /graphql": row(None, rest("POST", "/graphql", json={"query": "{ ping }"})),
    "WS /graphql": row(None, const(Socket())),
    "Query.ping": row(None, graph()),
    "Query.serverTime": row(None, graph()),
    "Query.version": row(None, graph()),
}


# ---- API keys and audit ---------------------------------------------------------------------


async def _revoke_rest(w: World) -> Call:
    return Rest("DELETE", f"/api/v1/api-keys/{await w.api_key('apiKeys:manage')}")


async def _revoke_graph(w: World) -> Call:
    return Graph({"input": {"id": await w.api_key("apiKeys:manage")}})


async def _api_key(w: World) -> Call:
    return Graph({"id": await w.api_key("apiKeys:manage")})


NEW_KEY = {"name": "made", "permissions": ["apiKeys:manage"]}
KEYS = {
    "GET /api/v1/api-keys": row("apiKeys:manage", rest("GET", "/api/v1/api-keys")),
    "POST /api/v1/api-keys": row(
        "apiKeys:manage", rest("POST", "/api/v1/api-keys", json=NEW_KEY), 201
    ),
    "DELETE /api/v1/api-keys/{id}": row("apiKeys:manage", _revoke_rest),
    "Query.apiKeys": row("apiKeys:manage", graph()),
    "Query.apiKey": row("apiKeys:manage", _api_key),
    "Mutation.createApiKey": row("apiKeys:manage", graph(input=NEW_KEY)),
    "Mutation.revokeApiKey": row("apiKeys:manage", _revoke_graph),
    "GET /api/audit": row("audit:read", rest("GET", "/api/audit")),
    "GET /api/audit/{entityType}/{entityId}": row(
        "audit:read", rest("GET", f"/api/audit/api_key/{UNKNOWN}")
    ),
    "Query.auditEntries": row("audit:read", graph()),
}

# ---- the catalog ----------------------------------------------------------------------------


def on_entity(
    call: Callable[[str], Call], *, status: str = "active", sizes: tuple[str, ...] = ()
) -> Prepare:
    async def prepare(w: World) -> Call:
        return call(await w.entity(status=status, sizes=sizes))

    return prepare


def on_entity_and(other: str, call: Callable[[str, str], Call]) -> Prepare:
    async def prepare(w: World) -> Call:
        entity = await w.entity()
        return call(entity, await getattr(w, other)())

    return prepare


def on(thing: str, call: Callable[[str], Call]) -> Prepare:
    async def prepare(w: World) -> Call:
        return call(await getattr(w, thing)())

    return prepare


async def _option_value_rest(w: World) -> Call:
    option = await w.option_type(await w.entity())
    return Rest("POST", f"/api/catalog/options/{option}/values", json={"value": "M"})


async def _option_value_graph(w: World) -> Call:
    option = await w.option_type(await w.entity())
    return Graph({"input": {"optionTypeId": option, "value": "M"}})


def _linked(kind: str, call: Callable[[str, str], Call]) -> Prepare:
    """An entity already in a category (or brand), for the removals."""

    async def prepare(w: World) -> Call:
        entity = await w.entity()
        target = await getattr(w, kind)()
        plural = "categories" if kind == "category" else "brands"
        await w.data("POST", f"/api/catalog/entities/{entity}/{plural}/{target}")
        return call(entity, target)

    return prepare


def _entity_input(**more: Any) -> Callable[[str], Call]:
    return lambda id: Graph({"input": {"id": id, **more}})


def _slug() -> dict[str, Any]:
    return {"type": "product", "slug": f"new-{next(SLUGS)}"}


SLUGS = itertools.count()
CAT = "/api/catalog"
CATALOG = {
    "GET /api/catalog/entities": row(
        None, rest("GET", f"{CAT}/entities", params={"include": "inventory,variants,pricing"})
    ),
    "GET /api/catalog/entities/{idOrSlug}": row(
        None, on_entity(lambda id: Rest("GET", f"{CAT}/entities/{id}"))
    ),
    "POST /api/catalog/entities": row(
        "catalog:create", made(lambda w: _async(Rest("POST", f"{CAT}/entities", json=_slug()))), 201
    ),
    "PATCH /api/catalog/entities/{id}": row(
        "catalog:update",
        on_entity(lambda id: Rest("PATCH", f"{CAT}/entities/{id}", json={"metadata": {"a": 1}})),
    ),
    "DELETE /api/catalog/entities/{id}": row(
        "catalog:delete", on_entity(lambda id: Rest("DELETE", f"{CAT}/entities/{id}"))
    ),
    "POST /api/catalog/entities/{id}/publish": row(
        "catalog:update",
        on_entity(lambda id: Rest("POST", f"{CAT}/entities/{id}/publish"), status="draft"),
    ),
    "POST /api/catalog/entities/{id}/archive": row(
        "catalog:update", on_entity(lambda id: Rest("POST", f"{CAT}/entities/{id}/archive"))
    ),
    "POST /api/catalog/entities/{id}/discontinue": row(
        "catalog:update", on_entity(lambda id: Rest("POST", f"{CAT}/entities/{id}/discontinue"))
    ),
    "PUT /api/catalog/entities/{id}/attributes/{locale}": row(
        "catalog:update",
        on_entity(
            lambda id: Rest("PUT", f"{CAT}/entities/{id}/attributes/de", json={"title": "Ding"})
        ),
    ),
    "GET /api/catalog/entities/{id}/attributes/{locale}": row(
        None, on_entity(lambda id: Rest("GET", f"{CAT}/entities/{id}/attributes/en"))
    ),
    "GET /api/catalog/categories": row(None, rest("GET", f"{CAT}/categories")),
    "POST /api/catalog/categories": row(
        "catalog:create",
        made(
            lambda w: _async(
                Rest("POST", f"{CAT}/categories", json={"name": "C", "slug": w.unique("c")})
            )
        ),
        201,
    ),
    "PATCH /api/catalog/categories/{categoryId}": row(
        "catalog:update",
        on("category", lambda id: Rest("PATCH", f"{CAT}/categories/{id}", json={"name": "D"})),
    ),
    "DELETE /api/catalog/categories/{categoryId}": row(
        "catalog:delete", on("category", lambda id: Rest("DELETE", f"{CAT}/categories/{id}"))
    ),
    "GET /api/catalog/brands": row(None, rest("GET", f"{CAT}/brands")),
    "POST /api/catalog/brands": row(
        "catalog:create",
        made(
            lambda w: _async(
                Rest("POST", f"{CAT}/brands", json={"name": "B", "slug": w.unique("b")})
            )
        ),
        201,
    ),
    "PATCH /api/catalog/brands/{brandId}": row(
        "catalog:update",
        on("brand", lambda id: Rest("PATCH", f"{CAT}/brands/{id}", json={"name": "D"})),
    ),
    "DELETE /api/catalog/brands/{brandId}": row(
        "catalog:delete", on("brand", lambda id: Rest("DELETE", f"{CAT}/brands/{id}"))
    ),
    "POST /api/catalog/entities/{id}/categories/{categoryId}": row(
        "catalog:update",
        on_entity_and("category", lambda e, c: Rest("POST", f"{CAT}/entities/{e}/categories/{c}")),
    ),
    "DELETE /api/catalog/entities/{id}/categories/{categoryId}": row(
        "catalog:update",
        _linked("category", lambda e, c: Rest("DELETE", f"{CAT}/entities/{e}/categories/{c}")),
    ),
    "POST /api/catalog/entities/{id}/brands/{brandId}": row(
        "catalog:update",
        on_entity_and("brand", lambda e, b: Rest("POST", f"{CAT}/entities/{e}/brands/{b}")),
    ),
    "DELETE /api/catalog/entities/{id}/brands/{brandId}": row(
        "catalog:update",
        _linked("brand", lambda e, b: Rest("DELETE", f"{CAT}/entities/{e}/brands/{b}")),
    ),
    "POST /api/catalog/entities/{id}/options": row(
        "catalog:update",
        on_entity(
            lambda id: Rest(
                "POST", f"{CAT}/entities/{id}/options", json={"name": "Size", "values": ["S"]}
            )
        ),
        201,
    ),
    "POST /api/catalog/options/{optionTypeId}/values": row(
        "catalog:update", _option_value_rest, 201
    ),
    "POST /api/catalog/entities/{id}/variants": row(
        "catalog:update",
        on_entity(
            lambda id: Rest("POST", f"{CAT}/entities/{id}/variants", json={"sku": f"{id}-X"})
        ),
        201,
    ),
    "POST /api/catalog/entities/{id}/variants/generate": row(
        "catalog:update",
        on_entity(lambda id: Rest("POST", f"{CAT}/entities/{id}/variants/generate"), sizes=("S",)),
    ),
    "GET /api/v1/products": row(None, rest("GET", "/api/v1/products")),
    "POST /api/v1/products": row(
        "catalog:create", rest("POST", "/api/v1/products", json={"name": "Widget"}), 201
    ),
    "GET /api/v1/products/{id}": row(
        None, on_entity(lambda id: Rest("GET", f"/api/v1/products/{id}"))
    ),
    "PUT /api/v1/products/{id}": row(
        "catalog:update",
        on_entity(lambda id: Rest("PUT", f"/api/v1/products/{id}", json={"name": "Renamed"})),
    ),
    "Query.catalogAttributes": row(
        None, on_entity(lambda id: Graph({"entityIdOrSlug": id, "locale": "en"}))
    ),
    "Query.catalogEntity": row(None, on_entity(lambda id: Graph({"idOrSlug": id}))),
    "Query.catalogEntities": row(None, graph()),
    "Query.category": row(None, on("category", lambda id: Graph({"idOrSlug": id}))),
    "Query.categories": row(None, graph()),
    "Query.categoryTree": row(None, graph()),
    "Query.brand": row(None, on("brand", lambda id: Graph({"idOrSlug": id}))),
    "Query.brands": row(None, graph()),
    "Mutation.createCatalogEntity": row(
        "catalog:create", made(lambda w: _async(Graph({"input": {**_slug(), "type": "PRODUCT"}})))
    ),
    "Mutation.updateCatalogEntity": row(
        "catalog:update", on_entity(_entity_input(metadata={"a": 1}))
    ),
    "Mutation.publishCatalogEntity": row(
        "catalog:update", on_entity(_entity_input(), status="draft")
    ),
    "Mutation.archiveCatalogEntity": row("catalog:update", on_entity(_entity_input())),
    "Mutation.discontinueCatalogEntity": row("catalog:update", on_entity(_entity_input())),
    "Mutation.deleteCatalogEntity": row("catalog:delete", on_entity(_entity_input())),
    "Mutation.setCatalogAttributes": row(
        "catalog:update",
        on_entity(lambda id: Graph({"input": {"entityId": id, "locale": "de", "title": "Ding"}})),
    ),
    "Mutation.createCategory": row(
        "catalog:create",
        made(lambda w: _async(Graph({"input": {"name": "C", "slug": w.unique("c")}}))),
    ),
    "Mutation.updateCategory": row("catalog:update", on("category", _entity_input(name="D"))),
    "Mutation.deleteCategory": row("catalog:delete", on("category", _entity_input())),
    "Mutation.createBrand": row(
        "catalog:create",
        made(lambda w: _async(Graph({"input": {"name": "B", "slug": w.unique("b")}}))),
    ),
    "Mutation.updateBrand": row("catalog:update", on("brand", _entity_input(name="D"))),
    "Mutation.deleteBrand": row("catalog:delete", on("brand", _entity_input())),
    "Mutation.addEntityToCategory": row(
        "catalog:update",
        on_entity_and("category", lambda e, c: Graph({"input": {"entityId": e, "categoryId": c}})),
    ),
    "Mutation.removeEntityFromCategory": row(
        "catalog:update",
        _linked("category", lambda e, c: Graph({"input": {"entityId": e, "categoryId": c}})),
    ),
    "Mutation.addEntityToBrand": row(
        "catalog:update",
        on_entity_and("brand", lambda e, b: Graph({"input": {"entityId": e, "brandId": b}})),
    ),
    "Mutation.removeEntityFromBrand": row(
        "catalog:update",
        _linked("brand", lambda e, b: Graph({"input": {"entityId": e, "brandId": b}})),
    ),
    "Mutation.createOptionType": row(
        "catalog:update",
        on_entity(lambda id: Graph({"input": {"entityId": id, "name": "Size", "values": ["S"]}})),
    ),
    "Mutation.createOptionValue": row("catalog:update", _option_value_graph),
    "Mutation.createVariant": row(
        "catalog:update", on_entity(lambda id: Graph({"input": {"entityId": id, "sku": f"{id}-X"}}))
    ),
    "Mutation.generateVariants": row(
        "catalog:update", on_entity(lambda id: Graph({"input": {"entityId": id}}), sizes=("S",))
    ),
    "Mutation.createProduct": row("catalog:create", graph(input={"name": "Widget"})),
    "Mutation.updateProduct": row("catalog:update", on_entity(_entity_input(name="Renamed"))),
}


async def _async(call: Call) -> Call:
    return call


# ---- inventory ------------------------------------------------------------------------------

INV = "/api/inventory"


async def _adjust(w: World) -> dict[str, Any]:
    entity, _ = await w.product()
    warehouse = await w.data("GET", f"{INV}/warehouses")
    return {"entityId": entity, "warehouseId": warehouse[0]["id"], "type": "restock", "quantity": 1}


def on_sku(call: Callable[[str], Call]) -> Prepare:
    async def prepare(w: World) -> Call:
        _, sku = await w.product()
        return call(sku)

    return prepare


def on_product(call: Callable[[str], Call]) -> Prepare:
    async def prepare(w: World) -> Call:
        entity, _ = await w.product()
        return call(entity)

    return prepare


async def _adjust_rest(w: World) -> Call:
    return Rest("POST", f"{INV}/adjust", json=await _adjust(w))


async def _adjust_graph(w: World) -> Call:
    return Graph({"input": {**await _adjust(w), "type": "RESTOCK"}})


async def _release_rest(w: World) -> Call:
    return Rest("POST", f"{INV}/release", json={"reservationId": await w.reservation()})


async def _release_graph(w: World) -> Call:
    return Graph({"input": {"reservationId": await w.reservation()}})


def _reserve(entity: str) -> dict[str, Any]:
    return {"entityId": entity, "quantity": 1}


def _warehouse_code(w: World) -> dict[str, str]:
    return {"code": w.unique("W"), "name": "W"}


INVENTORY = {
    "GET /api/inventory/check": row(
        None, on_product(lambda id: Rest("GET", f"{INV}/check", params={"entityIds": id}))
    ),
    "POST /api/inventory/adjust": row("inventory:update", _adjust_rest),
    "POST /api/inventory/reserve": row(
        "inventory:update",
        on_product(lambda id: Rest("POST", f"{INV}/reserve", json=_reserve(id))),
        201,
    ),
    "POST /api/inventory/release": row("inventory:update", _release_rest),
    "POST /api/inventory/warehouses": row(
        "inventory:create",
        made(lambda w: _async(Rest("POST", f"{INV}/warehouses", json=_warehouse_code(w)))),
        201,
    ),
    "GET /api/inventory/warehouses": row("inventory:read", rest("GET", f"{INV}/warehouses")),
    "PATCH /api/inventory/warehouses/{id}": row(
        "inventory:update",
        on("warehouse", lambda id: Rest("PATCH", f"{INV}/warehouses/{id}", json={"name": "X"})),
    ),
    "POST /api/inventory/warehouses/{id}/deactivate": row(
        "inventory:update",
        on("warehouse", lambda id: Rest("POST", f"{INV}/warehouses/{id}/deactivate")),
    ),
    "GET /api/v1/inventory/low-stock": row(
        "inventory:read", rest("GET", "/api/v1/inventory/low-stock")
    ),
    "GET /api/v1/inventory": row("inventory:read", rest("GET", "/api/v1/inventory")),
    "GET /api/v1/inventory/{sku}": row(
        "inventory:read", on_sku(lambda sku: Rest("GET", f"/api/v1/inventory/{sku}"))
    ),
    "PUT /api/v1/inventory/{sku}": row(
        "inventory:update",
        on_sku(lambda sku: Rest("PUT", f"/api/v1/inventory/{sku}", json={"quantity": 5})),
    ),
    "PUT /api/v1/inventory": row(
        "inventory:update",
        on_sku(lambda sku: Rest("PUT", "/api/v1/inventory", json={"sku": sku, "adjustment": 1})),
    ),
    "POST /api/v1/inventory/adjust": row(
        "inventory:update",
        on_sku(
            lambda sku: Rest("POST", "/api/v1/inventory/adjust", json={"sku": sku, "adjustment": 1})
        ),
    ),
    "POST /api/v1/inventory/bulk": row(
        "inventory:update",
        on_sku(
            lambda sku: Rest(
                "POST", "/api/v1/inventory/bulk", json={"updates": [{"sku": sku, "quantity": 3}]}
            )
        ),
    ),
    "Query.warehouses": row("inventory:read", graph()),
    "Query.inventoryLevels": row("inventory:read", graph()),
    "Query.inventoryItem": row("inventory:read", on_sku(lambda sku: Graph({"sku": sku}))),
    "Query.inventoryCheck": row(None, on_product(lambda id: Graph({"entityIds": [id]}))),
    "Query.inventoryMovements": row("inventory:read", on_sku(lambda sku: Graph({"sku": sku}))),
    "Mutation.createWarehouse": row(
        "inventory:create", made(lambda w: _async(Graph({"input": _warehouse_code(w)})))
    ),
    "Mutation.updateWarehouse": row("inventory:update", on("warehouse", _entity_input(name="X"))),
    "Mutation.deactivateWarehouse": row("inventory:update", on("warehouse", _entity_input())),
    "Mutation.adjustInventory": row("inventory:update", _adjust_graph),
    "Mutation.adjustInventoryBySku": row(
        "inventory:update", on_sku(lambda sku: Graph({"input": {"sku": sku, "adjustment": 1}}))
    ),
    "Mutation.setInventoryLevel": row(
        "inventory:update", on_sku(lambda sku: Graph({"input": {"sku": sku, "quantity": 5}}))
    ),
    "Mutation.bulkSetInventory": row(
        "inventory:update",
        on_sku(lambda sku: Graph({"input": {"updates": [{"sku": sku, "quantity": 3}]}})),
    ),
    "Mutation.reserveInventory": row(
        "inventory:update", on_product(lambda id: Graph({"input": _reserve(id)}))
    ),
    "Mutation.releaseInventory": row("inventory:update", _release_graph),
}

# ---- pricing and customers ------------------------------------------------------------------


async def _membership(w: World) -> Call:
    return Graph({"input": {"customerGroupId": await w.group(), "customerId": await w.customer()}})


async def _member_out(w: World) -> Call:
    customer = await w.customer()
    return Graph({"input": {"customerGroupId": await w.group(customer), "customerId": customer}})


async def _resolve_price(w: World) -> Call:
    entity, _ = await w.product()
    return Graph({"entityId": entity, "currency": "USD", "quantity": 1})


PRICE_BODY = {"currency": "USD", "amount": 999}
MODIFIER = {"name": "Sale", "kind": "percentage", "value": 10}
PRICING = {
    "POST /api/pricing/prices": row(
        "pricing:create",
        on_entity(
            lambda id: Rest("POST", "/api/pricing/prices", json={"entityId": id, **PRICE_BODY})
        ),
        201,
    ),
    "GET /api/pricing/prices": row("pricing:update", rest("GET", "/api/pricing/prices")),
    "POST /api/pricing/modifiers": row(
        "pricing:create", rest("POST", "/api/pricing/modifiers", json=MODIFIER), 201
    ),
    "Query.prices": row("pricing:update", graph()),
    "Query.priceModifiers": row("pricing:update", graph()),
    "Query.customerGroups": row("pricing:update", graph()),
    "Query.customerGroupMembers": row(
        "pricing:update", on("group", lambda id: Graph({"customerGroupId": id}))
    ),
    "Query.resolvePrice": row(None, _resolve_price),
    "Mutation.createPrice": row(
        "pricing:create", on_entity(lambda id: Graph({"input": {"entityId": id, **PRICE_BODY}}))
    ),
    "Mutation.updatePrice": row("pricing:update", on("price", _entity_input(amount=777))),
    "Mutation.createPriceModifier": row(
        "pricing:create", graph(input={**MODIFIER, "kind": "PERCENTAGE"})
    ),
    "Mutation.updatePriceModifier": row("pricing:update", on("modifier", _entity_input(value=20))),
    "Mutation.createCustomerGroup": row(
        "pricing:create", made(lambda w: _async(Graph({"input": {"name": w.unique("g")}})))
    ),
    "Mutation.addCustomerToGroup": row("pricing:update", _membership),
    "Mutation.removeCustomerFromGroup": row("pricing:update", _member_out),
    "Query.customer": row("customers:read", on("customer", lambda id: Graph({"id": id}))),
    "Query.customers": row("customers:read", graph()),
    "Mutation.createCustomer": row(
        "customers:create",
        made(lambda w: _async(Graph({"input": {"email": f"{w.unique('n')}@example.com"}}))),
    ),
    "Mutation.updateCustomer": row(
        "customers:update", on("customer", _entity_input(firstName="Ada"))
    ),
}

# ---- carts, promotions, checkout ------------------------------------------------------------


def on_cart(call: Callable[[str, str], Call]) -> Prepare:
    async def prepare(w: World) -> Call:
        cart, item = await w.cart()
        return call(cart, item)

    return prepare


async def _add_item_rest(w: World) -> Call:
    cart, _ = await w.cart()
    entity, _ = await w.product()
    return Rest("POST", f"/api/carts/{cart}/items", json={"entityId": entity, "quantity": 1})


async def _add_item_graph(w: World) -> Call:
    cart, _ = await w.cart()
    entity, _ = await w.product()
    return Graph({"input": {"cartId": cart, "entityId": entity, "quantity": 1}})


async def _checkout_rest(w: World) -> Call:
    cart, _ = await w.cart()
    return Rest("POST", "/api/checkout", json={"cartId": cart, "paymentMethodId": "pm_card_visa"})


async def _checkout_graph(w: World) -> Call:
    cart, _ = await w.cart()
    return Graph({"input": {"cartId": cart, "paymentMethodId": "pm_card_visa"}})


async def _validate(w: World) -> dict[str, Any]:
    await w.promotion()
    entity, _ = await w.product()
    return {"code": "NOPE", "currency": "USD", "lineItems": [{"entityId": entity, "quantity": 1}]}


async def _validate_rest(w: World) -> Call:
    return Rest("POST", "/api/promotions/validate", json=await _validate(w))


async def _validate_graph(w: World) -> Call:
    return Graph({"input": await _validate(w)})


PROMOTION = {"name": "Ten", "type": "percentage_off_order", "value": 10}


def _new_code(w: World) -> dict[str, Any]:
    return {"code": w.unique("NEW").upper(), **PROMOTION}


SHOPPING = {
    "POST /api/carts": row(None, rest("POST", "/api/carts", json={"currency": "USD"}), 201),
    "GET /api/carts/{id}": row(None, on_cart(lambda c, _: Rest("GET", f"/api/carts/{c}"))),
    "POST /api/carts/{id}/items": row(None, _add_item_rest, 201),
    "PATCH /api/carts/{id}/items/{itemId}": row(
        None, on_cart(lambda c, i: Rest("PATCH", f"/api/carts/{c}/items/{i}", json={"quantity": 2}))
    ),
    "DELETE /api/carts/{id}/items/{itemId}": row(
        None, on_cart(lambda c, i: Rest("DELETE", f"/api/carts/{c}/items/{i}"))
    ),
    "Query.cart": row(None, on_cart(lambda c, _: Graph({"id": c}))),
    "Mutation.createCart": row(None, graph(input={"currency": "USD"})),
    "Mutation.addCartItem": row(None, _add_item_graph),
    "Mutation.updateCartItem": row(
        None, on_cart(lambda c, i: Graph({"input": {"cartId": c, "itemId": i, "quantity": 2}}))
    ),
    "Mutation.removeCartItem": row(
        None, on_cart(lambda c, i: Graph({"input": {"cartId": c, "itemId": i}}))
    ),
    "POST /api/promotions": row(
        "promotions:create",
        made(lambda w: _async(Rest("POST", "/api/promotions", json=_new_code(w)))),
        201,
    ),
    "GET /api/promotions": row(None, rest("GET", "/api/promotions")),
    "POST /api/promotions/validate": row(None, _validate_rest),
    "POST /api/promotions/{id}/deactivate": row(
        "promotions:update",
        on("promotion", lambda id: Rest("POST", f"/api/promotions/{id}/deactivate")),
    ),
    "PATCH /api/promotions/{id}": row(
        "promotions:update",
        on(
            "promotion", lambda id: Rest("PATCH", f"/api/promotions/{id}", json={"name": "Renamed"})
        ),
    ),
    "Query.promotions": row(None, graph()),
    "Query.promotion": row(
        "promotions:update", on("promotion", lambda id: Graph({"idOrCode": id}))
    ),
    "Mutation.createPromotion": row(
        "promotions:create",
        made(lambda w: _async(Graph({"input": {**_new_code(w), "type": "PERCENTAGE_OFF_ORDER"}}))),
    ),
    "Mutation.updatePromotion": row(
        "promotions:update", on("promotion", _entity_input(name="Renamed"))
    ),
    "Mutation.deactivatePromotion": row("promotions:update", on("promotion", _entity_input())),
    "Mutation.validatePromotion": row(None, _validate_graph),
    "POST /api/checkout": row(None, _checkout_rest, 201),
    "Mutation.checkout": row(None, _checkout_graph),
}

# ---- orders ---------------------------------------------------------------------------------

# An order is hidden from whoever may not read it (404: its existence is not told).
HIDDEN = {"anonymous": 404, "wrong": 404}


def on_order(call: Callable[[dict[str, Any]], Call]) -> Prepare:
    async def prepare(w: World) -> Call:
        return call(await w.order())

    return prepare


def _fulfil(order: dict[str, Any]) -> list[dict[str, Any]]:
    return [{"lineId": line["id"], "quantity": 1} for line in order["lines"]]


def on_shippable_order(call: Callable[[dict[str, Any]], Call]) -> Prepare:
    """A paid order moved on to processing, which may be shipped."""

    async def prepare(w: World) -> Call:
        order = await w.order()
        for status in ("confirmed", "processing"):
            await w.data("PATCH", f"/api/orders/{order['id']}/status", {"status": status})
        return call(order)

    return prepare


async def _place_rest(w: World) -> Call:
    entity, _ = await w.product()
    return Rest("POST", "/api/v1/orders", json={"items": [{"productId": entity, "quantity": 1}]})


async def _place_graph(w: World) -> Call:
    entity, _ = await w.product()
    return Graph({"input": {"items": [{"entityId": entity, "quantity": 1}]}})


async def _pay(w: World) -> dict[str, Any]:
    order = await w.unpaid_order()
    total = order["total"]
    return {
        "orderId": order["id"],
        "paymentMethodId": "pm_card_visa",
        "amount": total["amount"],
        "currency": total["currency"],
    }


async def _pay_rest(w: World) -> Call:
    body = await _pay(w)
    return Rest("POST", "/api/v1/payments", json={**body, "amount": body["amount"] / 100})


async def _pay_graph(w: World) -> Call:
    return Graph({"input": await _pay(w)})


CONFIRM = {"status": "confirmed"}
ORDERS = {
    "GET /api/orders": row("orders:read", rest("GET", "/api/orders")),
    "GET /api/orders/{idOrNumber}": row(
        "orders:read", on_order(lambda o: Rest("GET", f"/api/orders/{o['number']}")), **HIDDEN
    ),
    "PATCH /api/orders/{id}/status": row(
        "orders:update",
        on_order(lambda o: Rest("PATCH", f"/api/orders/{o['id']}/status", json=CONFIRM)),
    ),
    "POST /api/orders/{id}/refunds": row(
        "orders:update",
        on_order(lambda o: Rest("POST", f"/api/orders/{o['id']}/refunds", json={"amount": 1})),
        201,
    ),
    "GET /api/orders/{id}/fulfillments": row(
        "orders:read",
        on_order(lambda o: Rest("GET", f"/api/orders/{o['id']}/fulfillments")),
        **HIDDEN,
    ),
    "POST /api/orders/{id}/fulfillments": row(
        "orders:update",
        on_shippable_order(
            lambda o: Rest(
                "POST", f"/api/orders/{o['id']}/fulfillments", json={"lines": _fulfil(o)}
            )
        ),
        201,
    ),
    "GET /api/v1/orders": row("orders:read", rest("GET", "/api/v1/orders")),
    "POST /api/v1/orders": row("orders:create", _place_rest, 201),
    "GET /api/v1/orders/{id}": row(
        "orders:read", on_order(lambda o: Rest("GET", f"/api/v1/orders/{o['id']}")), **HIDDEN
    ),
    "PUT /api/v1/orders/{id}": row(
        "orders:update", on_order(lambda o: Rest("PUT", f"/api/v1/orders/{o['id']}", json=CONFIRM))
    ),
    "POST /api/v1/payments": row("orders:create", _pay_rest),
    "POST /api/v1/orders/{id}/refunds": row(
        "orders:update",
        on_order(
            lambda o: Rest(
                "POST",
                f"/api/v1/orders/{o['id']}/refunds",
                json={"amount": 0.01, "currency": "USD"},
            )
        ),
        201,
    ),
    "Query.order": row("orders:read", on_order(lambda o: Graph({"idOrNumber": o["id"]})), **HIDDEN),
    "Query.fulfillments": row(
        "orders:read", on_order(lambda o: Graph({"orderId": o["id"]})), **HIDDEN
    ),
    "Query.orders": row("orders:read", graph()),
    "Mutation.placeOrder": row("orders:create", _place_graph),
    "Mutation.payOrder": row("orders:create", _pay_graph),
    "Mutation.createFulfillment": row(
        "orders:update",
        on_shippable_order(lambda o: Graph({"input": {"orderId": o["id"], "lines": _fulfil(o)}})),
    ),
    "Mutation.changeOrderStatus": row(
        "orders:update",
        on_order(lambda o: Graph({"input": {"id": o["id"], "status": "CONFIRMED"}})),
    ),
    "Mutation.refundOrder": row(
        "orders:update", on_order(lambda o: Graph({"input": {"orderId": o["id"], "amount": 1}}))
    ),
}

# ---- users and roles (staff) ----------------------------------------------------------------


def _new_staff(w: World) -> Graph:
    return Graph({"input": {"email": f"{w.unique('staff')}@example.com", "name": "S", "roles": []}})


USERS = {
    "GET /api/v1/users": row("users:read", rest("GET", "/api/v1/users")),
    "Query.users": row("users:read", graph()),
    "Query.user": row("users:read", on("user", lambda id: Graph({"id": id}))),
    "Query.roles": row("users:read", graph()),
    "Mutation.createRole": row(
        "users:manage",
        made(lambda w: _async(Graph({"input": {"name": w.unique("role"), "permissions": []}}))),
    ),
    "Mutation.updateRole": row("users:manage", on("role", _entity_input(description="Changed"))),
    "Mutation.deleteRole": row("users:manage", on("role", _entity_input())),
    "Mutation.createStaffUser": row("users:manage", made(lambda w: _async(_new_staff(w)))),
    "Mutation.setUserRoles": row("users:manage", on("user", _entity_input(roles=["customer"]))),
    "Mutation.setUserStatus": row("users:manage", on("user", _entity_input(status="INACTIVE"))),
}

# ---- search ----------------------------------------------------------------------------------

SEARCH = {
    "GET /api/search": row(
        None, rest("GET", "/api/search", params={"q": "walk", "facets": "type"})
    ),
    "GET /api/search/suggest": row(
        None, rest("GET", "/api/search/suggest", params={"prefix": "w"})
    ),
    "Query.search": row(None, graph(q="walk")),
    "Query.suggest": row(None, graph(prefix="w")),
}

# ---- access logs -----------------------------------------------------------------------------

LOGS = {
    "GET /api/v1/logs": row("logs:read", rest("GET", "/api/v1/logs")),
    "Query.accessLogs": row("logs:read", graph()),
}

# ---- analytics -------------------------------------------------------------------------------

ANALYTICS_QUERY = {"measures": ["orders.count"], "dimensions": ["orders.status"]}
ANALYTICS = {
    "GET /api/analytics/meta": row("analytics:read", rest("GET", "/api/analytics/meta")),
    "POST /api/analytics/query": row(
        "analytics:read", rest("POST", "/api/analytics/query", json=ANALYTICS_QUERY)
    ),
    "Query.analyticsMeta": row("analytics:read", graph()),
    "Query.analytics": row("analytics:read", graph(query=ANALYTICS_QUERY)),
}

# ---- background jobs -------------------------------------------------------------------------

JOBS = {
    "GET /api/jobs/run": row("*:*", rest("GET", "/api/jobs/run", params={"queue": "matrix"})),
    "GET /api/admin/jobs/failed": row("jobs:admin", rest("GET", "/api/admin/jobs/failed")),
    "POST /api/admin/jobs/{id}/retry": row(
        "jobs:admin", on("failed_job", lambda id: Rest("POST", f"/api/admin/jobs/{id}/retry"))
    ),
    "Query.jobs": row("jobs:admin", graph()),
    "Query.job": row("jobs:admin", on("failed_job", lambda id: Graph({"id": id}))),
    "Mutation.retryJob": row("jobs:admin", on("failed_job", _entity_input())),
    "Mutation.runJobs": row("*:*", graph(queue="matrix")),
}

# ---- webhooks --------------------------------------------------------------------------------


async def _redeliver(w: World) -> Call:
    endpoint = await w.webhook_endpoint()
    event = await make_event(w.database)
    return Graph({"input": {"endpointId": endpoint, "eventId": str(event.id)}})


def _delete_endpoint(base: str) -> Prepare:
    return on("webhook_endpoint", lambda id: Rest("DELETE", f"{base}/{id}"))


NEW_HOOK = {"url": "https://1.1.1.1/hooks", "events": ["orders.create"]}
HOOKS = "webhooks:manage"
WEBHOOKS = {
    "POST /api/webhooks": row(HOOKS, rest("POST", "/api/webhooks", json=NEW_HOOK), 201),
    "GET /api/webhooks": row(HOOKS, rest("GET", "/api/webhooks")),
    "DELETE /api/webhooks/{id}": row(HOOKS, _delete_endpoint("/api/webhooks")),
    "POST /api/v1/webhooks": row(HOOKS, rest("POST", "/api/v1/webhooks", json=NEW_HOOK), 201),
    "GET /api/v1/webhooks": row(HOOKS, rest("GET", "/api/v1/webhooks")),
    "DELETE /api/v1/webhooks/{id}": row(HOOKS, _delete_endpoint("/api/v1/webhooks")),
    "Query.webhookEndpoints": row(HOOKS, graph()),
    "Query.webhookEndpoint": row(HOOKS, on("webhook_endpoint", lambda id: Graph({"id": id}))),
    "Mutation.createWebhookEndpoint": row(HOOKS, graph(input=NEW_HOOK)),
    "Mutation.updateWebhookEndpoint": row(
        HOOKS, on("webhook_endpoint", _entity_input(description="Changed"))
    ),
    "Mutation.deleteWebhookEndpoint": row(HOOKS, on("webhook_endpoint", _entity_input())),
    "Mutation.rotateWebhookSecret": row(HOOKS, on("webhook_endpoint", _entity_input())),
    "Mutation.redeliverWebhook": row(HOOKS, _redeliver),
}

# ---- media -----------------------------------------------------------------------------------


async def _attach(w: World) -> Call:
    asset, entity = await w.media_asset(), await w.entity()
    return Rest(
        "POST",
        "/api/media/attach",
        json={"entityId": entity, "mediaAssetId": asset, "role": "thumbnail"},
    )


async def _attach_graph(w: World) -> Call:
    asset, entity = await w.media_asset(), await w.entity()
    return Graph({"input": {"entityId": entity, "mediaAssetId": asset, "role": "THUMBNAIL"}})


async def _detach(w: World) -> Call:
    made = await w.public_media()
    return Rest(
        "POST", "/api/media/detach", json={"entityId": made["entity"], "mediaAssetId": made["id"]}
    )


async def _detach_graph(w: World) -> Call:
    made = await w.public_media()
    return Graph({"input": {"entityId": made["entity"], "mediaAssetId": made["id"]}})


def _public_media(call: Callable[[dict[str, str]], Call]) -> Prepare:
    async def prepare(w: World) -> Call:
        return call(await w.public_media())

    return prepare


UPLOAD_FILE = {"file": ("p.png", png(), "image/png")}
# Reading a public asset (attached to an active entity) is anyone's; the rest needs media:*.
MEDIA = {
    "POST /api/media/upload": row(
        "media:create", rest("POST", "/api/media/upload", files=UPLOAD_FILE), 201
    ),
    "GET /api/media/{id}": row(
        None, _public_media(lambda m: Rest("GET", f"/api/media/{m['id']}")), 302
    ),
    "GET /api/media/files/{key:path}": row(None, _public_media(lambda m: Rest("GET", m["path"]))),
    "DELETE /api/media/{id}": row(
        "media:delete", on("media_asset", lambda id: Rest("DELETE", f"/api/media/{id}"))
    ),
    "POST /api/media/attach": row("media:update", _attach, 201),
    "POST /api/media/detach": row("media:update", _detach),
    "Query.mediaAssets": row("media:read", graph()),
    "Query.mediaAsset": row(None, _public_media(lambda m: Graph({"id": m["id"]}))),
    "Mutation.uploadMedia": row(
        "media:create", const(Graph({"input": {"file": None}}, upload=png()))
    ),
    "Mutation.deleteMedia": row(
        "media:delete", on("media_asset", lambda id: Graph({"input": {"id": id}}))
    ),
    "Mutation.attachMedia": row("media:update", _attach_graph),
    "Mutation.detachMedia": row("media:update", _detach_graph),
}

# ---- notifications ---------------------------------------------------------------------------


def _notify(user: str) -> dict[str, Any]:
    return {"userId": user, "type": "email", "subject": "Hello", "message": "A note."}


NOTIFICATIONS = {
    "POST /api/v1/notifications/send": row(
        "notifications:send",
        on("user", lambda u: Rest("POST", "/api/v1/notifications/send", json=_notify(u))),
        ok=202,
    ),
    "Mutation.sendNotification": row(
        "notifications:send",
        on("user", lambda u: Graph({"input": {**_notify(u), "type": "EMAIL"}})),
    ),
    "Query.notifications": row("notifications:read", graph()),
}

# ---- sign-in (/api/auth): public, whoever asks; a key does not sign anyone in or out --------


async def _password_user(w: World) -> str:
    email = f"{w.unique('member')}@example.com"
    await make_user(w.database, email=email, password=AUTH_PASSWORD, customer=False)
    return email


async def _auth_token(w: World, purpose: str) -> str:
    """A live one-time token (as the mail would carry it) for a new user."""
    email = await _password_user(w)
    async with w.database.unit_of_work() as uow:
        user = await uow.session.scalar(select(User).where(User.email == email))
        assert user is not None
        token = await auth_service._issue_token(
            uow,
            user,
            purpose=auth_service.PASSWORD_RESET
            if purpose == "reset"
            else auth_service.EMAIL_VERIFICATION,
            lifetime=timedelta(hours=1),
        )
        await uow.commit()
    return token


async def _with_session(w: World) -> dict[str, str]:
    user = await make_user(w.database, email=f"{w.unique('s')}@example.com")
    token = await session_token(w.database, user)
    # The server's own Origin: a GraphQL POST riding the cookie is checked like any write.
    return {"cookie": f"{COOKIE}={token}", "origin": "http://testserver"}


AUTH_PASSWORD = "matrix passphrase"


def _sign_up_body(w: World) -> dict[str, str]:
    return {"email": f"{w.unique('new')}@example.com", "password": AUTH_PASSWORD, "name": "N"}


async def _sign_in_body(w: World) -> dict[str, str]:
    return {"email": await _password_user(w), "password": AUTH_PASSWORD}


async def _reset_body(w: World) -> dict[str, str]:
    return {"token": await _auth_token(w, "reset"), "newPassword": "another passphrase"}


A = "/api/auth"
AUTH = {
    "POST /api/auth/sign-up/email": row(
        None, made(lambda w: _async(Rest("POST", f"{A}/sign-up/email", json=_sign_up_body(w))))
    ),
    "POST /api/auth/sign-in/email": row(
        None, lambda w: _rest_with(w, "sign-in/email", _sign_in_body)
    ),
    "GET /api/auth/get-session": row(None, lambda w: _get_session(w)),
    "POST /api/auth/sign-out": row(None, rest("POST", f"{A}/sign-out")),
    "POST /api/auth/request-password-reset": row(
        None, rest("POST", f"{A}/request-password-reset", json={"email": "who@example.com"})
    ),
    "POST /api/auth/reset-password": row(
        None, lambda w: _rest_with(w, "reset-password", _reset_body)
    ),
    "POST /api/auth/send-verification-email": row(
        None, rest("POST", f"{A}/send-verification-email", json={"email": "who@example.com"})
    ),
    "GET /api/auth/verify-email": row(None, lambda w: _verify_rest(w)),
    "Query.session": row(None, lambda w: _session_graph(w)),
    "Mutation.signUp": row(None, made(lambda w: _async(Graph({"input": _sign_up_body(w)})))),
    "Mutation.signIn": row(None, lambda w: _graph_with(w, _sign_in_body)),
    "Mutation.signOut": row(None, graph()),
    "Mutation.requestPasswordReset": row(None, graph(input={"email": "who@example.com"})),
    "Mutation.resetPassword": row(None, lambda w: _graph_with(w, _reset_body)),
    "Mutation.sendVerificationEmail": row(None, graph(input={"email": "who@example.com"})),
    "Mutation.verifyEmail": row(None, lambda w: _verify_graph(w)),
}


async def _rest_with(w: World, path: str, body: Callable[[World], Awaitable[Any]]) -> Call:
    return Rest("POST", f"{A}/{path}", json=await body(w))


async def _graph_with(w: World, body: Callable[[World], Awaitable[Any]]) -> Call:
    return Graph({"input": await body(w)})


async def _get_session(w: World) -> Call:
    return Rest("GET", f"{A}/get-session", headers=await _with_session(w))


async def _session_graph(w: World) -> Call:
    return Graph(headers=await _with_session(w))


async def _verify_rest(w: World) -> Call:
    return Rest("GET", f"{A}/verify-email", params={"token": await _auth_token(w, "verify")})


async def _verify_graph(w: World) -> Call:
    return Graph({"input": {"token": await _auth_token(w, "verify")}})


# ---- the customer's own API (/api/me, GraphQL me) ----------------------------------------------


def on_my_order(call: Callable[[dict[str, Any]], Call]) -> Prepare:
    async def prepare(w: World) -> Call:
        return call(await w.my_order())

    return prepare


def on_my_address(call: Callable[[str], Call]) -> Prepare:
    async def prepare(w: World) -> Call:
        return call(await w.my_address())

    return prepare


NEW_ADDRESS = {"line1": "2 Elm St", "city": "Berlin", "country": "DE"}
MY = "/api/me"
ME = {
    "GET /api/me/profile": session_row(rest("GET", f"{MY}/profile")),
    "PATCH /api/me/profile": session_row(rest("PATCH", f"{MY}/profile", json={"firstName": "Ada"})),
    "GET /api/me/addresses": session_row(rest("GET", f"{MY}/addresses")),
    "POST /api/me/addresses": session_row(rest("POST", f"{MY}/addresses", json=NEW_ADDRESS), 201),
    "DELETE /api/me/addresses/{id}": session_row(
        on_my_address(lambda id: Rest("DELETE", f"{MY}/addresses/{id}"))
    ),
    "GET /api/me/orders": session_row(rest("GET", f"{MY}/orders")),
    "GET /api/me/orders/{idOrNumber}": session_row(
        on_my_order(lambda o: Rest("GET", f"{MY}/orders/{o['number']}"))
    ),
    "GET /api/me/orders/{idOrNumber}/tracking": session_row(
        on_my_order(lambda o: Rest("GET", f"{MY}/orders/{o['number']}/tracking"))
    ),
    "GET /api/me/orders/{orderId}/downloads": session_row(
        on_my_order(lambda o: Rest("GET", f"{MY}/orders/{o['id']}/downloads"))
    ),
    "POST /api/me/orders/{orderId}/reorder": session_row(
        on_my_order(lambda o: Rest("POST", f"{MY}/orders/{o['id']}/reorder")), 201
    ),
    "Query.me": session_row(graph()),
    "Mutation.updateMyProfile": session_row(graph(input={"phone": "+1 555 0100"})),
    "Mutation.addMyAddress": session_row(graph(input=NEW_ADDRESS)),
    "Mutation.deleteMyAddress": session_row(on_my_address(lambda id: Graph({"input": {"id": id}}))),
    "Mutation.reorder": session_row(on_my_order(lambda o: Graph({"input": {"orderId": o["id"]}}))),
}

# ---- OAuth 2.0 -------------------------------------------------------------------------------


async def _revoke_oauth_client(w: World) -> Call:
    made, _ = await make_client(w.database, name=w.unique("client"))
    return Graph({"input": {"id": str(made.id)}})


NEW_OAUTH_CLIENT = {
    "name": "made",
    "grantTypes": ["CLIENT_CREDENTIALS"],
    "scopes": ["oauthClients:manage"],
}
# The protocol endpoints authenticate the client themselves (a key means nothing to them):
# without client credentials the token, revocation and introspection endpoints answer with
# OAuth errors, and only a browser's session cookie may consent.
OAUTH = {
    "GET /.well-known/oauth-authorization-server": row(
        None, rest("GET", "/.well-known/oauth-authorization-server")
    ),
    "GET /api/oauth/authorize": row(None, rest("GET", "/api/oauth/authorize"), ok=400),
    "POST /api/oauth/authorize": row(None, rest("POST", "/api/oauth/authorize"), ok=401),
    "POST /api/oauth/token": row(None, rest("POST", "/api/oauth/token"), ok=400),
    "POST /api/oauth/revoke": row(None, rest("POST", "/api/oauth/revoke"), ok=401),
    "POST /api/oauth/introspect": row(None, rest("POST", "/api/oauth/introspect"), ok=401),
    "Query.oauthClients": row("oauthClients:manage", graph()),
    "Mutation.createOAuthClient": row("oauthClients:manage", graph(input=NEW_OAUTH_CLIENT)),
    "Mutation.revokeOAuthClient": row("oauthClients:manage", made(_revoke_oauth_client)),
}


# Each domain's rows; a new domain adds its own dict here.
async def _entity_of_product(w: World) -> Call:
    entity, _ = await w.product()
    return Graph({"entityId": entity})


# Subscribing is what is checked; events are then left out silently (test_live_events.py).
EVENTS = {
    "Subscription.events": row(None, graph(), anonymous=401),
    "Subscription.orderStatusChanged": row(
        "orders:read", on_order(lambda o: Graph({"orderId": o["id"]})), **HIDDEN
    ),
    "Subscription.cartUpdated": row(None, on_cart(lambda c, _: Graph({"cartId": c}))),
    "Subscription.inventoryLevelChanged": row("inventory:read", made(_entity_of_product)),
}


# ---- the marketplace (/api/marketplace): vendors A and B, the marketplace admin ---------------

MP = "/api/marketplace"
SHIP = {"trackingNumber": "1Z", "carrier": "UPS"}


def on_vendor_a(call: Callable[[str], Call]) -> Prepare:
    async def prepare(w: World) -> Call:
        return call((await w.vendor("vendor_a")).id)

    return prepare


def on_vendor_in(status: str, call: Callable[[str], Call]) -> Prepare:
    async def prepare(w: World) -> Call:
        return call(await w.vendor_in(status))

    return prepare


def on_sub_order(status: str, call: Callable[[str], Call]) -> Prepare:
    async def prepare(w: World) -> Call:
        return call(await w.sub_order(status))

    return prepare


def _new_vendor(w: World) -> dict[str, str]:
    name = w.unique("shop")
    return {"name": name, "slug": name, "email": f"{name}@example.com"}


ADMIN_ONLY = {"vendor_a": 403, "vendor_b": 403}
A_ONLY = {"vendor_a": 200, "vendor_b": 404}


def on_document(call: Callable[[str, str], Call]) -> Prepare:
    async def prepare(w: World) -> Call:
        return call(*(await w.vendor_document()))

    return prepare


DOC_FILE = {"file": ("p.png", png(), "image/png")}
# A vendor's user belongs to a vendor already: registering another is a conflict.
HAS_ONE = {"vendor_a": 409, "vendor_b": 409}
MARKETPLACE = {
    "GET /api/marketplace/vendors": market_row(rest("GET", f"{MP}/vendors"), **ADMIN_ONLY),
    "POST /api/marketplace/vendors": market_row(
        made(lambda w: _async(Rest("POST", f"{MP}/vendors", json=_new_vendor(w)))),
        ok=201,
        **HAS_ONE,
    ),
    "GET /api/marketplace/vendors/{id}": market_row(
        on_vendor_a(lambda id: Rest("GET", f"{MP}/vendors/{id}")), **A_ONLY
    ),
    "PATCH /api/marketplace/vendors/{id}": market_row(
        on_vendor_a(lambda id: Rest("PATCH", f"{MP}/vendors/{id}", json={"phone": "1"})),
        **A_ONLY,
    ),
    "POST /api/marketplace/vendors/{id}/approve": market_row(
        on_vendor_in("pending", lambda id: Rest("POST", f"{MP}/vendors/{id}/approve")),
        **ADMIN_ONLY,
    ),
    "POST /api/marketplace/vendors/{id}/reject": market_row(
        on_vendor_in(
            "pending", lambda id: Rest("POST", f"{MP}/vendors/{id}/reject", json={"reason": "r"})
        ),
        **ADMIN_ONLY,
    ),
    "POST /api/marketplace/vendors/{id}/suspend": market_row(
        on_vendor_in(
            "active", lambda id: Rest("POST", f"{MP}/vendors/{id}/suspend", json={"reason": "r"})
        ),
        **ADMIN_ONLY,
    ),
    "POST /api/marketplace/vendors/{id}/reinstate": market_row(
        on_vendor_in("suspended", lambda id: Rest("POST", f"{MP}/vendors/{id}/reinstate")),
        **ADMIN_ONLY,
    ),
    "GET /api/marketplace/vendor/me": vendor_self_row(rest("GET", f"{MP}/vendor/me")),
    "PATCH /api/marketplace/vendor/me": vendor_self_row(
        rest("PATCH", f"{MP}/vendor/me", json={"description": "d"})
    ),
    "GET /api/marketplace/vendor/me/orders": vendor_self_row(rest("GET", f"{MP}/vendor/me/orders")),
    "POST /api/marketplace/vendor/me/orders/{id}/confirm": market_row(
        on_sub_order("pending", lambda id: Rest("POST", f"{MP}/vendor/me/orders/{id}/confirm")),
        **A_ONLY,
    ),
    "POST /api/marketplace/vendor/me/orders/{id}/ship": market_row(
        on_sub_order(
            "confirmed", lambda id: Rest("POST", f"{MP}/vendor/me/orders/{id}/ship", json=SHIP)
        ),
        **A_ONLY,
    ),
    "POST /api/marketplace/vendor/me/orders/{id}/deliver": market_row(
        on_sub_order("shipped", lambda id: Rest("POST", f"{MP}/vendor/me/orders/{id}/deliver")),
        **A_ONLY,
    ),
    "POST /api/marketplace/vendor/me/orders/{id}/cancel": market_row(
        on_sub_order(
            "pending",
            lambda id: Rest("POST", f"{MP}/vendor/me/orders/{id}/cancel", json={"reason": "r"}),
        ),
        **A_ONLY,
    ),
    "GET /api/marketplace/sub-orders": market_row(rest("GET", f"{MP}/sub-orders"), **ADMIN_ONLY),
    "GET /api/marketplace/sub-orders/{id}": market_row(
        on_sub_order("pending", lambda id: Rest("GET", f"{MP}/sub-orders/{id}")), **A_ONLY
    ),
    "PATCH /api/marketplace/sub-orders/{id}/status": market_row(
        on_sub_order(
            "pending",
            lambda id: Rest("PATCH", f"{MP}/sub-orders/{id}/status", json={"status": "confirmed"}),
        ),
        **ADMIN_ONLY,
    ),
    "Query.vendors": market_row(graph(), **ADMIN_ONLY),
    "Query.vendor": market_row(on_vendor_a(lambda id: Graph({"id": id})), **A_ONLY),
    "Query.myVendor": vendor_self_row(graph()),
    "Query.subOrders": market_row(graph(), **ADMIN_ONLY),
    "Query.subOrder": market_row(on_sub_order("pending", lambda id: Graph({"id": id})), **A_ONLY),
    "Query.mySubOrders": vendor_self_row(graph()),
    # Vendor documents: vendor A's own user and marketplace:admin; B finds A's 404.
    "GET /api/marketplace/vendors/{id}/documents": market_row(
        on_vendor_a(lambda id: Rest("GET", f"{MP}/vendors/{id}/documents")), **A_ONLY
    ),
    "POST /api/marketplace/vendors/{id}/documents": market_row(
        on_vendor_a(
            lambda id: Rest(
                "POST", f"{MP}/vendors/{id}/documents", files=DOC_FILE, data={"kind": "identity"}
            )
        ),
        ok=201,
        vendor_a=201,
        vendor_b=404,
    ),
    "POST /api/marketplace/vendors/{id}/documents/{docId}/approve": market_row(
        on_document(lambda v, d: Rest("POST", f"{MP}/vendors/{v}/documents/{d}/approve")),
        **ADMIN_ONLY,
    ),
    "POST /api/marketplace/vendors/{id}/documents/{docId}/reject": market_row(
        on_document(
            lambda v, d: Rest(
                "POST", f"{MP}/vendors/{v}/documents/{d}/reject", json={"reason": "r"}
            )
        ),
        **ADMIN_ONLY,
    ),
    "Query.vendorDocuments": market_row(on_vendor_a(lambda id: Graph({"vendorId": id})), **A_ONLY),
    "Mutation.uploadVendorDocument": market_row(
        on_vendor_a(
            lambda id: Graph(
                {"input": {"vendorId": id, "kind": "IDENTITY", "file": None}}, upload=png()
            )
        ),
        **A_ONLY,
    ),
    "Mutation.approveVendorDocument": market_row(
        on_document(lambda v, d: Graph({"input": {"vendorId": v, "id": d}})), **ADMIN_ONLY
    ),
    "Mutation.rejectVendorDocument": market_row(
        on_document(lambda v, d: Graph({"input": {"vendorId": v, "id": d, "reason": "r"}})),
        **ADMIN_ONLY,
    ),
    "Mutation.registerVendor": market_row(
        made(lambda w: _async(Graph({"input": _new_vendor(w)}))), **HAS_ONE
    ),
    "Mutation.updateVendor": market_row(
        on_vendor_a(lambda id: Graph({"input": {"id": id, "phone": "1"}})), **A_ONLY
    ),
    "Mutation.approveVendor": market_row(
        on_vendor_in("pending", lambda id: Graph({"input": {"id": id}})), **ADMIN_ONLY
    ),
    "Mutation.rejectVendor": market_row(
        on_vendor_in("pending", lambda id: Graph({"input": {"id": id, "reason": "r"}})),
        **ADMIN_ONLY,
    ),
    "Mutation.suspendVendor": market_row(
        on_vendor_in("active", lambda id: Graph({"input": {"id": id, "reason": "r"}})),
        **ADMIN_ONLY,
    ),
    "Mutation.reinstateVendor": market_row(
        on_vendor_in("suspended", lambda id: Graph({"input": {"id": id}})), **ADMIN_ONLY
    ),
    "Mutation.confirmSubOrder": market_row(
        on_sub_order("pending", lambda id: Graph({"input": {"id": id}})), **A_ONLY
    ),
    "Mutation.shipSubOrder": market_row(
        on_sub_order("confirmed", lambda id: Graph({"input": {"id": id, **SHIP}})), **A_ONLY
    ),
    "Mutation.deliverSubOrder": market_row(
        on_sub_order("shipped", lambda id: Graph({"input": {"id": id}})), **A_ONLY
    ),
    "Mutation.cancelSubOrder": market_row(
        on_sub_order("pending", lambda id: Graph({"input": {"id": id, "reason": "r"}})),
        **A_ONLY,
    ),
    "Mutation.setSubOrderStatus": market_row(
        on_sub_order("pending", lambda id: Graph({"input": {"id": id, "status": "CONFIRMED"}})),
        **ADMIN_ONLY,
    ),
}


# ---- the marketplace's money: commission rules, balances, payouts, gateway commissions -------

NEW_RULE = {"name": "r", "kind": "percentage", "scope": "global", "rateBps": 100}
NEW_RULE_GRAPH = {"name": "r", "kind": "PERCENTAGE", "scope": "GLOBAL", "rateBps": 100}
# Both vendors read their own commissions (B's list is empty): no one's is refused.
OWN_LIST = {"vendor_a": 200, "vendor_b": 200}


def on_rule(call: Callable[[str], Call]) -> Prepare:
    async def prepare(w: World) -> Call:
        return call(await w.commission_rule())

    return prepare


def on_failed_payout(call: Callable[[str], Call]) -> Prepare:
    async def prepare(w: World) -> Call:
        return call(await w.failed_payout())

    return prepare


def funded_a(call: Callable[[str], Call]) -> Prepare:
    async def prepare(w: World) -> Call:
        return call(await w.funded_vendor_a())

    return prepare


LEDGER = {
    "GET /api/marketplace/commission-rules": market_row(
        rest("GET", f"{MP}/commission-rules"), **ADMIN_ONLY
    ),
    "POST /api/marketplace/commission-rules": market_row(
        rest("POST", f"{MP}/commission-rules", json=NEW_RULE), ok=201, **ADMIN_ONLY
    ),
    "PATCH /api/marketplace/commission-rules/{id}": market_row(
        on_rule(lambda id: Rest("PATCH", f"{MP}/commission-rules/{id}", json={"priority": 2})),
        **ADMIN_ONLY,
    ),
    "DELETE /api/marketplace/commission-rules/{id}": market_row(
        on_rule(lambda id: Rest("DELETE", f"{MP}/commission-rules/{id}")), **ADMIN_ONLY
    ),
    "GET /api/marketplace/payouts": market_row(rest("GET", f"{MP}/payouts"), **ADMIN_ONLY),
    "POST /api/marketplace/payouts/run": market_row(
        funded_a(lambda _: Rest("POST", f"{MP}/payouts/run")), **ADMIN_ONLY
    ),
    "POST /api/marketplace/payouts/{id}/retry": market_row(
        on_failed_payout(lambda id: Rest("POST", f"{MP}/payouts/{id}/retry")), **ADMIN_ONLY
    ),
    "GET /api/marketplace/vendor/me/payouts": vendor_self_row(
        rest("GET", f"{MP}/vendor/me/payouts")
    ),
    "GET /api/marketplace/vendors/{id}/balance": market_row(
        on_vendor_a(lambda id: Rest("GET", f"{MP}/vendors/{id}/balance")), **A_ONLY
    ),
    "GET /api/marketplace/vendor/me/balance": vendor_self_row(
        rest("GET", f"{MP}/vendor/me/balance")
    ),
    "GET /api/v1/commissions": market_row(rest("GET", "/api/v1/commissions"), **OWN_LIST),
    "POST /api/v1/commissions": market_row(
        funded_a(
            lambda id: Rest(
                "POST",
                "/api/v1/commissions",
                json={"vendorId": id, "currency": "USD", "amount": 10},
            )
        ),
        ok=201,
        **ADMIN_ONLY,
    ),
    "Query.commissionRules": market_row(graph(), **ADMIN_ONLY),
    "Query.commissions": market_row(graph(), **OWN_LIST),
    "Query.vendorBalance": market_row(on_vendor_a(lambda id: Graph({"vendorId": id})), **A_ONLY),
    "Query.myBalance": vendor_self_row(graph()),
    "Query.vendorBalanceEntries": market_row(
        on_vendor_a(lambda id: Graph({"vendorId": id})), **A_ONLY
    ),
    "Query.myBalanceEntries": vendor_self_row(graph()),
    "Query.payouts": market_row(graph(), **ADMIN_ONLY),
    "Query.payout": market_row(on_failed_payout(lambda id: Graph({"id": id})), **A_ONLY),
    "Query.myPayouts": vendor_self_row(graph()),
    "Mutation.createCommissionRule": market_row(graph(input=NEW_RULE_GRAPH), **ADMIN_ONLY),
    "Mutation.updateCommissionRule": market_row(
        on_rule(lambda id: Graph({"input": {"id": id, "priority": 2}})), **ADMIN_ONLY
    ),
    "Mutation.deleteCommissionRule": market_row(
        on_rule(lambda id: Graph({"input": {"id": id}})), **ADMIN_ONLY
    ),
    "Mutation.adjustVendorBalance": market_row(
        on_vendor_a(
            lambda id: Graph(
                {"input": {"vendorId": id, "amount": 5, "currency": "USD", "reason": "r"}}
            )
        ),
        **ADMIN_ONLY,
    ),
    "Mutation.refundSubOrder": market_row(
        on_sub_order(
            "delivered", lambda id: Graph({"input": {"id": id, "amount": 1, "reason": "r"}})
        ),
        **ADMIN_ONLY,
    ),
    "Mutation.runPayouts": market_row(funded_a(lambda _: Graph()), **ADMIN_ONLY),
    "Mutation.schedulePayout": market_row(
        funded_a(lambda id: Graph({"input": {"vendorId": id, "currency": "USD", "amount": 1000}})),
        **ADMIN_ONLY,
    ),
    "Mutation.retryPayout": market_row(
        on_failed_payout(lambda id: Graph({"input": {"id": id}})), **ADMIN_ONLY
    ),
}

# ---- marketplace aftercare: disputes, returns, reviews, performance --------------------------
# Callers in order: anonymous narrow wrong admin market_admin vendor_a vendor_b customer staff.
# The records are the world customer's, on vendor A's sub-orders. Keys are no one's customer
# or vendor: a customer's action refuses them (403), as it refuses the vendors and staff.
CUSTOMER_ONLY = "401 403 403 403 403 403 403 ok 403"
# Anyone reading a scoped list: marketplace:admin all, a vendor its own, a customer theirs.
SCOPED_LIST = "401 ok 403 ok ok ok ok ok ok"
SCOPED_ONE = "401 ok 403 ok ok ok 404 ok ok"
VENDOR_ANSWERS = "401 403 403 403 403 ok 404 403 403"
EITHER_SIDE = "401 403 403 403 403 ok 404 ok 403"
ADMIN_DECIDES = "401 ok 403 ok ok 403 403 403 ok"
RECEIVER = "401 ok 403 ok ok ok 404 403 ok"
AUTHOR_ONLY = "401 404 404 404 404 404 404 ok 404"
PUBLIC = "ok ok ok ok ok ok ok ok ok"


def on_dispute(status: str, call: Callable[[str], Call]) -> Prepare:
    async def prepare(w: World) -> Call:
        return call(await w.dispute(status))

    return prepare


def on_return(status: str, call: Callable[[str], Call]) -> Prepare:
    async def prepare(w: World) -> Call:
        return call(await w.return_(status))

    return prepare


def on_my_sub_order(call: Callable[[str, str], Call]) -> Prepare:
    async def prepare(w: World) -> Call:
        sub_order = await w.my_sub_order()
        return call((await w.vendor("vendor_a")).id, sub_order)

    return prepare


def on_review(call: Callable[[str, str], Call]) -> Prepare:
    async def prepare(w: World) -> Call:
        return call(*await w.review())

    return prepare


def _open(sub_order: str) -> dict[str, str]:
    return {"subOrderId": sub_order, "reason": "damaged", "message": "m"}


async def _return_body(w: World) -> dict[str, Any]:
    sub_order = await w.my_sub_order()
    async with w.database.read_session() as session:
        [line] = await session.scalars(
            select(OrderLine.id).where(OrderLine.sub_order_id == uuid.UUID(sub_order))
        )
    lines = [{"lineId": str(line), "quantity": 1}]
    return {"subOrderId": sub_order, "lines": lines, "reason": "r"}


async def _return_rest(w: World) -> Call:
    return Rest("POST", f"{MP}/returns", json=await _return_body(w))


async def _return_graph(w: World) -> Call:
    return Graph({"input": await _return_body(w)})


RESOLVE = {"outcome": "no_refund", "note": "n"}
RESOLVE_GRAPH = {"outcome": "NO_REFUND", "note": "n"}
NO = ()
AFTERCARE = {
    "POST /api/marketplace/disputes": aftercare_row(
        on_my_sub_order(lambda _, s: Rest("POST", f"{MP}/disputes", json=_open(s))),
        NO, CUSTOMER_ONLY, ok=201,
    ),
    "GET /api/marketplace/disputes": aftercare_row(
        rest("GET", f"{MP}/disputes"), (MARKET,), SCOPED_LIST
    ),
    "POST /api/marketplace/disputes/{id}/respond": aftercare_row(
        on_dispute("open", lambda id: Rest("POST", f"{MP}/disputes/{id}/respond",
                                           json={"message": "m"})),
        NO, VENDOR_ANSWERS,
    ),
    "POST /api/marketplace/disputes/{id}/escalate": aftercare_row(
        on_dispute("open", lambda id: Rest("POST", f"{MP}/disputes/{id}/escalate")),
        NO, EITHER_SIDE,
    ),
    "POST /api/marketplace/disputes/{id}/resolve": aftercare_row(
        on_dispute("escalated", lambda id: Rest("POST", f"{MP}/disputes/{id}/resolve",
                                                json=RESOLVE)),
        (MARKET,), ADMIN_DECIDES,
    ),
    "POST /api/marketplace/returns": aftercare_row(
        made(_return_rest), NO, CUSTOMER_ONLY, ok=201
    ),
    "POST /api/marketplace/returns/{id}/ship-back": aftercare_row(
        on_return("requested", lambda id: Rest("POST", f"{MP}/returns/{id}/ship-back",
                                               json={"trackingNumber": "T", "carrier": "C"})),
        NO, CUSTOMER_ONLY,
    ),
    "POST /api/marketplace/returns/{id}/receive": aftercare_row(
        on_return("shipped_back", lambda id: Rest("POST", f"{MP}/returns/{id}/receive")),
        (MARKET,), RECEIVER,
    ),
    "POST /api/marketplace/vendors/{id}/reviews": aftercare_row(
        on_my_sub_order(lambda v, s: Rest("POST", f"{MP}/vendors/{v}/reviews",
                                          json={"subOrderId": s, "rating": 4})),
        NO, CUSTOMER_ONLY, ok=201,
    ),
    "GET /api/marketplace/vendors/{id}/reviews": aftercare_row(
        on_vendor_a(lambda id: Rest("GET", f"{MP}/vendors/{id}/reviews")), NO, PUBLIC
    ),
    "PATCH /api/marketplace/vendors/{id}/reviews/{reviewId}": aftercare_row(
        on_review(lambda v, r: Rest("PATCH", f"{MP}/vendors/{v}/reviews/{r}",
                                    json={"rating": 3})),
        NO, AUTHOR_ONLY,
    ),
    "GET /api/marketplace/vendor/me/reviews": vendor_self_row(
        rest("GET", f"{MP}/vendor/me/reviews")
    ),
    "GET /api/marketplace/vendors/{id}/performance": market_row(
        on_vendor_a(lambda id: Rest("GET", f"{MP}/vendors/{id}/performance")), **A_ONLY
    ),
    "Query.vendorReviews": aftercare_row(
        on_vendor_a(lambda id: Graph({"vendorId": id})), NO, PUBLIC
    ),
    "Query.myReviews": vendor_self_row(graph()),
    "Query.disputes": aftercare_row(graph(), (MARKET,), SCOPED_LIST),
    "Query.dispute": aftercare_row(
        on_dispute("open", lambda id: Graph({"id": id})), (MARKET,), SCOPED_ONE
    ),
    "Query.returns": aftercare_row(graph(), (MARKET,), SCOPED_LIST),
    "Query.return": aftercare_row(
        on_return("requested", lambda id: Graph({"id": id})), (MARKET,), SCOPED_ONE
    ),
    "Query.vendorPerformance": market_row(
        on_vendor_a(lambda id: Graph({"vendorId": id})), **A_ONLY
    ),
    "Mutation.createReview": aftercare_row(
        on_my_sub_order(lambda v, s: Graph({"input": {"vendorId": v, "subOrderId": s,
                                                      "rating": 4}})),
        NO, CUSTOMER_ONLY,
    ),
    "Mutation.updateReview": aftercare_row(
        on_review(lambda v, r: Graph({"input": {"vendorId": v, "id": r, "rating": 3}})),
        NO, AUTHOR_ONLY,
    ),
    "Mutation.openDispute": aftercare_row(
        on_my_sub_order(lambda _, s: Graph({"input": {**_open(s), "reason": "DAMAGED"}})),
        NO, CUSTOMER_ONLY,
    ),
    "Mutation.respondToDispute": aftercare_row(
        on_dispute("open", lambda id: Graph({"input": {"id": id, "message": "m"}})),
        NO, VENDOR_ANSWERS,
    ),
    "Mutation.escalateDispute": aftercare_row(
        on_dispute("open", lambda id: Graph({"input": {"id": id}})), NO, EITHER_SIDE
    ),
    "Mutation.resolveDispute": aftercare_row(
        on_dispute("escalated", lambda id: Graph({"input": {"id": id, **RESOLVE_GRAPH}})),
        (MARKET,), ADMIN_DECIDES,
    ),
    "Mutation.createReturn": aftercare_row(made(_return_graph), NO, CUSTOMER_ONLY),
    "Mutation.shipBackReturn": aftercare_row(
        on_return("requested", lambda id: Graph({"input": {"id": id, "trackingNumber": "T",
                                                           "carrier": "C"}})),
        NO, CUSTOMER_ONLY,
    ),
    "Mutation.receiveReturn": aftercare_row(
        on_return("shipped_back", lambda id: Graph({"input": {"id": id}})), (MARKET,), RECEIVER
    ),
}  # fmt: skip


MATRIX: dict[str, Row] = {
    **PLATFORM,
    **EVENTS,
    **KEYS,
    **CATALOG,
    **INVENTORY,
    **PRICING,
    **SHOPPING,
    **ORDERS,
    **USERS,
    **LOGS,
    **ANALYTICS,
    **SEARCH,
    **JOBS,
    **WEBHOOKS,
    **MEDIA,
    **NOTIFICATIONS,
    **AUTH,
    **ME,
    **OAUTH,
    **MARKETPLACE,
    **LEDGER,
    **AFTERCARE,
}
# Every permission the rows name but `*:*`, which covers all of them: the wrong-scope key
# holds these (the cron runner's row needs `*:*` itself, and every narrower grant is wrong).
KNOWN_PERMISSIONS = sorted({p for r in MATRIX.values() for p in r.needs} - {"*:*"})


# ---- the table covers the app, and only the app ---------------------------------------------


def app_entries(app: Starlette) -> set[str]:
    """Every route of the app's route table, as `METHOD /path` (`WS /path` for a websocket,
    `GET /prefix/{path}` for a mount), and every root field of its schema, as `Type.field`."""
    entries: set[str] = set()
    for route in app.routes:
        if isinstance(route, WebSocketRoute):
            entries.add(f"WS {route.path}")
        elif isinstance(route, Mount):
            entries.add(f"GET {route.path}/{{path}}")
        elif isinstance(route, Route):
            entries |= {f"{m} {route.path}" for m in route.methods or () if m != "HEAD"}
    schema: GraphQLSchema = app.state.schema._schema
    for root in (schema.query_type, schema.mutation_type, schema.subscription_type):
        if root is not None:
            entries |= {f"{root.name}.{name}" for name in root.fields}
    return entries


def test_every_route_and_root_field_has_a_row(module_app: Starlette) -> None:
    entries = app_entries(module_app)
    assert sorted(entries - MATRIX.keys()) == [], "routes or root fields without a row"
    assert sorted(MATRIX.keys() - entries) == [], "rows naming nothing the app serves"


# ---- each row as each caller ----------------------------------------------------------------


def keys_for(row: Row) -> dict[str, tuple[str, ...] | None]:
    narrow = row.needs or (UNRELATED,)
    if row.session:  # every permission there is, yet no session
        wrong: tuple[str, ...] = tuple(KNOWN_PERMISSIONS)
    else:
        wrong = (
            tuple(p for p in KNOWN_PERMISSIONS if p not in row.needs) if row.needs else (UNRELATED,)
        )
    return {
        "anonymous": None,
        "narrow": narrow,
        "wrong": wrong,
        "admin": ("*:*",),
        "market_admin": (MARKET,),
    }


def document(schema: GraphQLSchema, entry: str, args: dict[str, Any]) -> str:
    root_name, name = entry.split(".")
    root = schema.get_type(root_name)
    definition = root.fields[name]  # type: ignore[union-attr]
    declared = ", ".join(f"${a}: {definition.args[a].type}" for a in args)
    call = f"{name}({', '.join(f'{a}: ${a}' for a in args)})" if args else name
    selection = " { __typename }" if is_composite_type(get_named_type(definition.type)) else ""
    variables = f"({declared})" if declared else ""
    return f"{root_name.lower()} Op{variables} {{ {call}{selection} }}"


async def subscription_status(
    app: Starlette,
    world: World,
    key: str | None,
    query: str,
    args: dict[str, Any],
    field_name: str,
) -> int:
    """A refusal's status when the subscription's first result is an error; 200 once it
    listens for events (its checks passed: it joined the process's live subscribers)."""
    actor = await authenticate(world.database, key) if key else ANONYMOUS
    live = app.state.live
    context = Context(database=world.database, actor=actor or ANONYMOUS, live=live)
    listening = set(live.subscribers)
    stream = await app.state.schema.subscribe(query, variable_values=args, context_value=context)
    first = asyncio.ensure_future(anext(stream))
    try:
        async with asyncio.timeout(5):
            while not first.done() and not live.subscribers - listening:  # noqa: ASYNC110
                await asyncio.sleep(0.005)
        if not first.done():
            return 200
        result = first.result()
        body = {"data": result.data, "errors": [e.formatted for e in result.errors or []]}
        return graph_status(body, field_name)
    finally:
        first.cancel()
        with contextlib.suppress(asyncio.CancelledError, StopAsyncIteration):
            await first
        await stream.aclose()


def graph_status(body: dict[str, Any], field_name: str) -> int:
    errors = body.get("errors") or []
    if errors:
        return CODE_STATUS.get(errors[0].get("extensions", {}).get("code"), 500)
    return 200 if (body.get("data") or {}).get(field_name) is not None else 500


async def answer(
    app: Starlette, world: World, entry: str, call: Call, key: str | None, cookie: str | None = None
) -> int:
    """The status a caller with `key` (or the session `cookie`, sent from the server's own
    origin) gets for `call` (a GraphQL answer's first error code as its REST status; 200 when
    it has data and no error)."""
    headers = {"x-api-key": key} if key else {}
    if cookie is not None:
        headers = {"cookie": f"{COOKIE}={cookie}", "origin": "http://testserver"}
    if isinstance(call, Rest):
        async with client_for(app, headers=headers) as http:
            response = await http.request(
                call.method,
                call.path,
                json=call.json,
                params=call.params,
                headers=call.headers,
                files=call.files,
                data=call.data,
            )
        return response.status_code
    if isinstance(call, Socket):
        async with serving(app) as base_url, graphql_ws(websocket_url(base_url), headers) as ws:
            await send(ws, {"id": "1", "type": "subscribe", "payload": {"query": "{ ping }"}})
            result = await receive(ws)
        payload = result.get("payload") or {}
        return 200 if payload.get("data") == {"ping": "pong"} and "errors" not in payload else 500
    schema: GraphQLSchema = app.state.schema._schema
    query = document(schema, entry, call.args)
    field_name = entry.split(".")[1]
    if entry.startswith("Subscription."):
        return await subscription_status(app, world, key, query, call.args, field_name)
    async with client_for(app, headers={**headers, **(call.headers or {})}) as http:
        if call.upload is not None:
            operations = {"query": query, "variables": call.args}
            response = await http.post(
                "/graphql",
                headers={"apollo-require-preflight": "true"},
                data={
                    "operations": orjson.dumps(operations).decode(),
                    "map": orjson.dumps({"0": ["variables.input.file"]}).decode(),
                },
                files={"0": ("p.png", call.upload, "image/png")},
            )
        else:
            response = await http.post("/graphql", json={"query": query, "variables": call.args})
    assert response.status_code == 200, response.text
    return graph_status(response.json(), field_name)


async def events(database: Database) -> int:
    """Every change records an event (in its transaction): their count tells whether a call
    changed anything."""
    async with database.read_session() as session:
        return await session.scalar(select(func.count()).select_from(Event)) or 0


@pytest.fixture
async def world(app: Starlette, database: Database, admin_key: str) -> AsyncIterator[World]:
    async with client_for(app, headers={"x-api-key": admin_key}) as admin:
        yield World(database, admin)


@pytest.mark.parametrize("entry", sorted(MATRIX))
async def test_each_caller_gets_the_rows_answer(
    app: Starlette, database: Database, world: World, entry: str
) -> None:
    row = MATRIX[entry]
    got: dict[str, int] = {}
    call: Call | None = None
    keys: dict[str, tuple[str, ...] | None] = keys_for(row)
    for caller in row.callers:
        key = cookie = None
        if caller in SESSION_CALLERS:
            cookie = await world.session(caller)
        elif caller in VENDOR_CALLERS:
            cookie = (await world.vendor(caller)).token
        elif (permissions := keys[caller]) is not None:
            _, key = await make_api_key(database, name=caller, permissions=permissions)
        # A refused call changed nothing: the next caller may make it again. One that went
        # through (a published entity, a paid order) is made afresh.
        if call is None or got[list(got)[-1]] < 400:
            call = await row.prepare(world)
        before = await events(database)
        got[caller] = await answer(app, world, entry, call, key, cookie)
        if got[caller] in (401, 403):
            refused_but_recorded = await events(database) - before
            assert refused_but_recorded == 0, f"{entry} as {caller}: refused, yet it changed"

    expected = {caller: row.expected(caller) for caller in row.callers}
    assert got == expected, f"{entry}: got {got}, expected {expected}"
