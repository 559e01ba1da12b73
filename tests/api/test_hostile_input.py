"""Hostile input (issue 10, DESIGN §9): every user mistake is a 4xx in its face's dialect, with
a stable code, and writes nothing.

`CASES` is the table; the security page summarises it. Each case names the face it is sent to:

- `graphql`: POST /graphql, accepting `application/graphql-response+json` (GraphQL over HTTP:
  400 for a request that never runs, such as variables that do not coerce; 200 with the
  error in `errors` for a field that fails while running);
- `engine`: the engine dialect, /api/... (`{"error": {code}}`, VALIDATION_FAILED is 422);
- `gateway`: the gateway dialect, /api/v1/... (VALIDATION_ERROR is 400);
- `webhook`: the payment provider's POST /api/payments/webhook (engine envelope; a bad
  signature is 400 INVALID_SIGNATURE), signed with the test secret unless the case is about
  the signature.

A case exists on every face that has a route taking that input: the gateway takes no free
JSON (metadata) and no cursors, REST takes no cursors at all. Each test counts the rows of
every table before and after: a refused request writes nothing.
"""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

import httpx
import orjson
import pytest
from sqlalchemy import func, select
from starlette.applications import Starlette

from app.db import Database
from app.main import create_app
from app.models import Base
from app.models.catalog import CatalogEntity
from app.services.payments import sign
from tests.api.test_payments_webhook import placed_order
from tests.conftest import client_for, settings_for
from tests.support.factories import make_api_key
from tests.support.users import COOKIE, make_user, session_token

SECRET = "whsec_hostile"
Face = Literal["graphql", "engine", "gateway", "webhook"]
FACE_PATHS: dict[Face, str] = {
    "graphql": "/graphql",
    "engine": "/api/",
    "gateway": "/api/v1/",
    "webhook": "/api/payments/webhook",
}


@dataclass(frozen=True)
class World:
    """What exists before each case: an active product with a price and stock, a paid
    order of it awaiting confirmation, and a signed-in customer (for /me)."""

    entity_id: str
    order_id: str
    order_total: int
    customer_token: str = ""


@dataclass(frozen=True)
class Sent:
    method: str
    path: str
    content: bytes | None = None
    headers: dict[str, str] = field(default_factory=dict)
    # Who sends it: the admin key (most cases), the world's customer's session cookie (the
    # customer's own API), or no one (a guest).
    caller: Literal["admin", "customer", "guest"] = "admin"


@dataclass(frozen=True)
class Case:
    id: str
    face: Face
    input: str  # what is sent, in words (for the security page)
    status: int
    code: str
    send: Callable[[World], Sent]


# --- how each face is addressed --------------------------------------------------------------


def encode(body: Any) -> bytes:
    # The standard library's encoder: orjson refuses to nest deeper than 254 levels.
    return json.dumps(body).encode()


GRAPHQL_HEADERS = {
    "accept": "application/graphql-response+json",
    "content-type": "application/json",
}
JSON_HEADERS = {"content-type": "application/json"}


def graphql(query: str, variables: dict[str, Any] | None = None) -> Callable[[World], Sent]:
    """A GraphQL request; `{entity}` and `{order}` in the query name the world's rows."""

    def send(world: World) -> Sent:
        body = {"query": query.replace("{entity}", world.entity_id), "variables": variables}
        return Sent("POST", "/graphql", encode(body), GRAPHQL_HEADERS)

    return send


def graphql_raw(content: bytes) -> Callable[[World], Sent]:
    return lambda world: Sent("POST", "/graphql", content, GRAPHQL_HEADERS)


def rest(method: str, path: str, body: Any = None) -> Callable[[World], Sent]:
    def send(world: World) -> Sent:
        target = path.replace("{entity}", world.entity_id).replace("{order}", world.order_id)
        content = None if body is None else encode(body)
        return Sent(method, target, content, JSON_HEADERS if content else {})

    return send


def as_customer(send: Callable[[World], Sent]) -> Callable[[World], Sent]:
    """The same request, sent by the world's signed-in customer (cookie, own Origin)."""
    return lambda world: replace(send(world), caller="customer")


def as_guest(send: Callable[[World], Sent], **headers: str) -> Callable[[World], Sent]:
    """The same request with `headers`, sent with no credential."""

    def guest(world: World) -> Sent:
        sent = send(world)
        return replace(sent, caller="guest", headers={**sent.headers, **headers})

    return guest


def rest_raw(path: str, content: bytes) -> Callable[[World], Sent]:
    return lambda world: Sent("POST", path, content, JSON_HEADERS)


HOOK = "/api/payments/webhook"


def webhook(event: Callable[[World], Any]) -> Callable[[World], Sent]:
    """A signed provider event, built from the world (to name its order)."""

    def send(world: World) -> Sent:
        body = encode(event(world))
        return Sent("POST", HOOK, body, {**JSON_HEADERS, "stripe-signature": sign(SECRET, body)})

    return send


def webhook_signed_as(signature: str) -> Callable[[World], Sent]:
    body = b'{"id": "evt_1", "type": "payment_intent.succeeded", "data": {"object": {}}}'
    return lambda world: Sent("POST", HOOK, body, {**JSON_HEADERS, "stripe-signature": signature})


def succeeded(world: World, *, event_id: str = "evt_1", **intent: Any) -> dict[str, Any]:
    """A `payment_intent.succeeded` event for the world's order; `intent` overrides fields."""
    obj = {"id": "pi_1", "amount": world.order_total, "currency": "usd",
           "metadata": {"orderId": world.order_id}, **intent}  # fmt: skip
    return {"id": event_id, "type": "payment_intent.succeeded", "data": {"object": obj}}


MARKET = "/api/marketplace"
VENDORS = f"{MARKET}/vendors"
REGISTER_VENDOR = "mutation($i: RegisterVendorInput!) { registerVendor(input: $i) { id } }"
SET_SUB_ORDER = "mutation($i: SetSubOrderStatusInput!) { setSubOrderStatus(input: $i) { id } }"
RULES = f"{MARKET}/commission-rules"
RULE = {"name": "R", "kind": "percentage", "scope": "global", "rateBps": 100}
UNKNOWN_ID = "00000000-0000-4000-8000-000000000000"
ADJUST = "mutation($i: AdjustVendorBalanceInput!) { adjustVendorBalance(input: $i) { id } }"
REFUND = "mutation($i: RefundSubOrderInput!) { refundSubOrder(input: $i) { id } }"
DISPUTES = f"{MARKET}/disputes"
RESOLVE = "mutation($i: ResolveDisputeInput!) { resolveDispute(input: $i) { id } }"
RETURN_LINE = {"lineId": UNKNOWN_ID, "quantity": 1}
BOUNDARY = "hostile-boundary"


def multipart_body(*parts: tuple[str, str | None, bytes, str | None]) -> bytes:
    """A multipart/form-data body of (name, filename, bytes, content type) parts."""
    out = b""
    for name, filename, data, content_type in parts:
        disposition = f'form-data; name="{name}"' + (
            f'; filename="{filename}"' if filename is not None else ""
        )
        out += f"--{BOUNDARY}\r\nContent-Disposition: {disposition}\r\n".encode()
        if content_type:
            out += f"Content-Type: {content_type}\r\n".encode()
        out += b"\r\n" + data + b"\r\n"
    return out + f"--{BOUNDARY}--\r\n".encode()


MULTIPART = {"content-type": f"multipart/form-data; boundary={BOUNDARY}"}


def upload(*parts: tuple[str, str | None, bytes, str | None]) -> Callable[[World], Sent]:
    return lambda world: Sent("POST", "/api/media/upload", multipart_body(*parts), MULTIPART)


def graphql_upload(data: bytes, **headers: str) -> Callable[[World], Sent]:
    operations = encode({
        "query": "mutation($i: UploadMediaInput!) { uploadMedia(input: $i) { id } }",
        "variables": {"i": {"file": None}},
    })  # fmt: skip
    body = multipart_body(
        ("operations", None, operations, None),
        ("map", None, b'{"0": ["variables.i.file"]}', None),
        ("0", "x.png", data, "image/png"),
    )
    return lambda world: Sent(
        "POST", "/graphql", body, {**MULTIPART, "accept": "application/json", **headers}
    )


SVG_SCRIPT = b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'
HTML_AS_PNG = b"<!doctype html><script>alert(1)</script>"
PNG_HEAD = b"\x89PNG\r\n\x1a\n" + b"\0" * 64


# --- hostile values --------------------------------------------------------------------------


def nested(levels: int) -> dict[str, Any]:
    """`{"a": {"a": ... {}}}`, `levels` objects deep."""
    value: dict[str, Any] = {}
    for _ in range(levels - 1):
        value = {"a": value}
    return value


def nested_literal(levels: int) -> str:
    """The same as a GraphQL object literal."""
    return "{a: " * (levels - 1) + "{}" + "}" * (levels - 1)


def create_entity_with(metadata_literal: str) -> str:
    return (
        'mutation { createCatalogEntity(input: {type: PRODUCT, slug: "hostile", '
        f"metadata: {metadata_literal}}}) {{ id }} }}"
    )


DEEP_ARRAY = b"[" * 10_000 + b"]" * 10_000
DEEP_BODY = b'{"query": "{ ping }", "type": "product", "name": "x", "variables": {"x": %s}}' % (
    DEEP_ARRAY
)
INVALID_UTF8 = b'{"query": "{ ping }", "type": "product", "slug": "caf\xe9", "name": "caf\xe9"}'
# `\ud800` as JSON escapes it: an unpaired surrogate, which no UTF-8 text (and no response) holds.
LONE_SURROGATE = b'{"type": "product", "slug": "lone", "name": "x", "metadata": {"n": "\\ud800"}}'
LONE_SURROGATE_GRAPHQL = (
    b'{"query": "mutation($m: JSON) { createCatalogEntity(input: {type: PRODUCT, '
    b'slug: \\"lone\\", metadata: $m}) { id } }", "variables": {"m": {"n": "\\ud800"}}}'
)


def cursor(values: list[Any]) -> str:
    """A cursor as the lists encode theirs, holding `values`."""
    return base64.urlsafe_b64encode(orjson.dumps(values)).decode().rstrip("=")


LIMIT = "query($l: Int) { apiKeys(limit: $l) { totalCount } }"
CREATE_ENTITY = (
    'mutation($m: JSON) { createCatalogEntity(input: {type: PRODUCT, slug: "hostile", '
    "metadata: $m}) { id } }"
)
CREATE_CUSTOMER = (
    'mutation($m: JSON) { createCustomer(input: {email: "h@example.com", metadata: $m}) { id } }'
)
UPDATE_ENTITY = (
    'mutation($m: JSON) { updateCatalogEntity(input: {id: "{entity}", metadata: $m}) { id } }'
)

CREATE_ROLE = "mutation($input: CreateRoleInput!) { createRole(input: $input) { id } }"
CREATE_STAFF = "mutation($input: CreateStaffUserInput!) { createStaffUser(input: $input) { id } }"
USERS_WHERE = "query($f: UserFilter) { users(filter: $f) { totalCount } }"
LOGS_WHERE = "query($f: LogFilter) { accessLogs(filter: $f) { totalCount } }"
CREATE_HOOK = "mutation($i: CreateWebhookEndpointInput!) { createWebhookEndpoint(input: $i) {id} }"
NOTIFY = "/api/v1/notifications/send"
SEND_NOTIFICATION = (
    "mutation($i: SendNotificationInput!) { sendNotification(input: $i) { id status } }"
)


def api_keys_after(after: str) -> str:
    return '{ apiKeys(first: 5, after: "' + after + '") { totalCount } }'


def entities_after(after: str) -> str:
    return '{ catalogEntities(first: 5, after: "' + after + '") { totalCount } }'


ADD_ADDRESS = """mutation($i: AddMyAddressInput!) { addMyAddress(input: $i) { id } }"""
MY_ADDRESS = {"line1": "1 Main St", "city": "Springfield", "country": "US"}


def create_oauth_client(
    *, redirect_uris: list[str] | None = None, scopes: list[str] | None = None
) -> str:
    """A createOAuthClient document (authorization code) with these URIs or scopes."""
    uris = json.dumps(redirect_uris or ["https://app.example/cb"])
    listed = json.dumps(scopes or ["customer"])
    return (
        'mutation { createOAuthClient(input: {name: "Hostile", grantTypes: [AUTHORIZATION_CODE], '
        f"scopes: {listed}, redirectUris: {uris}}}) {{ id }} }}"
    )


ZERO_UUID_TEXT = "00000000-0000-0000-0000-000000000000"
GW = "VALIDATION_ERROR"
ANALYTICS = "/api/analytics/query"
ANALYTICS_QUERY = "query($q: AnalyticsQueryInput!) { analytics(query: $q) { rows } }"
ORDER_COUNT = {"measures": ["orders.count"]}
VF = "VALIDATION_FAILED"
ZERO_UUID = {"u": "00000000-0000-0000-0000-000000000000"}
NOTE = {"userId": ZERO_UUID_TEXT, "type": "email", "subject": "Hello", "message": "A note."}

CASES: list[Case] = [
    # Variables and parameters that do not coerce (a GraphQL request error: 400).
    Case("limit-not-integer", "graphql", '$limit = "abc"', 400, VF,
         graphql(LIMIT, {"l": "abc"})),
    Case("limit-not-integer", "engine", "GET /api/audit?limit=abc", 422, VF,
         rest("GET", "/api/audit?limit=abc")),
    Case("limit-not-integer", "gateway", "GET /api/v1/api-keys?limit=abc", 400, GW,
         rest("GET", "/api/v1/api-keys?limit=abc")),
    Case("limit-over-int32", "graphql", "$limit = 2147483648", 400, VF,
         graphql(LIMIT, {"l": 2147483648})),
    Case("limit-over-int32", "engine", "GET /api/audit?limit=2147483648", 422, VF,
         rest("GET", "/api/audit?limit=2147483648")),
    Case("limit-over-int32", "gateway", "GET /api/v1/api-keys?limit=2147483648", 400, GW,
         rest("GET", "/api/v1/api-keys?limit=2147483648")),
    Case("limit-fraction", "graphql", "$limit = 1.5", 400, VF, graphql(LIMIT, {"l": 1.5})),
    Case("limit-fraction", "engine", "GET /api/audit?limit=1.5", 422, VF,
         rest("GET", "/api/audit?limit=1.5")),
    Case("limit-fraction", "gateway", "GET /api/v1/api-keys?limit=1.5", 400, GW,
         rest("GET", "/api/v1/api-keys?limit=1.5")),
    Case("required-missing", "graphql", "query($id: ID!) without $id", 400, VF,
         graphql("query($id: ID!) { apiKey(id: $id) { id } }", {})),
    Case("required-missing", "engine", "POST /api/carts {} (no currency)", 422, VF,
         rest("POST", "/api/carts", {})),
    Case("required-missing", "gateway", "POST /api/v1/api-keys {} (no name)", 400, GW,
         rest("POST", "/api/v1/api-keys", {})),
    Case("datetime-not-iso", "graphql", '$from = "yesterday" (DateTime)', 400, VF,
         graphql("query($f: DateTime) { auditEntries(filter: {from: $f}) { totalCount } }",
                 {"f": "yesterday"})),
    Case("datetime-literal-not-iso", "graphql", 'auditEntries(filter: {from: "yesterday"})',
         400, VF, graphql('{ auditEntries(filter: {from: "yesterday"}) { totalCount } }')),
    Case("datetime-not-iso", "engine", "GET /api/audit?from=yesterday", 422, VF,
         rest("GET", "/api/audit?from=yesterday")),
    # Bodies that cannot be read.
    Case("body-nested-10k", "graphql", "a JSON body nested 10,000 arrays deep", 400, VF,
         graphql_raw(DEEP_BODY)),
    Case("body-nested-10k", "engine", "a JSON body nested 10,000 arrays deep", 422, VF,
         rest_raw("/api/catalog/entities", DEEP_BODY)),
    Case("body-nested-10k", "gateway", "a JSON body nested 10,000 arrays deep", 400, GW,
         rest_raw("/api/v1/products", DEEP_BODY)),
    Case("body-invalid-utf8", "graphql", "a body with byte 0xE9 (Latin-1, not UTF-8)", 400, VF,
         graphql_raw(INVALID_UTF8)),
    Case("body-invalid-utf8", "engine", "a body with byte 0xE9 (Latin-1, not UTF-8)", 422, VF,
         rest_raw("/api/catalog/entities", INVALID_UTF8)),
    Case("body-invalid-utf8", "gateway", "a body with byte 0xE9 (Latin-1, not UTF-8)", 400, GW,
         rest_raw("/api/v1/products", INVALID_UTF8)),
    Case("lone-surrogate", "graphql", 'metadata {"n": "\\ud800"} (an unpaired surrogate)',
         400, VF, graphql_raw(LONE_SURROGATE_GRAPHQL)),
    Case("lone-surrogate", "engine", 'metadata {"n": "\\ud800"} (an unpaired surrogate)',
         422, VF, rest_raw("/api/catalog/entities", LONE_SURROGATE)),
    Case("lone-surrogate", "gateway", 'a product body with "\\ud800" (an unpaired surrogate)',
         400, GW, rest_raw("/api/v1/products", LONE_SURROGATE)),
    # Free JSON (metadata): at most 32 levels, representable as JSON (the gateway takes none).
    Case("metadata-nested-300", "graphql", "createCatalogEntity: $metadata 300 objects deep",
         400, VF, graphql(CREATE_ENTITY, {"m": nested(300)})),
    Case("metadata-nested-300", "graphql", "createCustomer: $metadata 300 objects deep",
         400, VF, graphql(CREATE_CUSTOMER, {"m": nested(300)})),
    Case("metadata-nested-300", "graphql", "updateCatalogEntity: $metadata 300 objects deep",
         400, VF, graphql(UPDATE_ENTITY, {"m": nested(300)})),
    Case("metadata-nested-300", "engine", "POST /api/catalog/entities, metadata 300 deep",
         422, VF, rest("POST", "/api/catalog/entities",
                       {"type": "product", "slug": "hostile", "metadata": nested(300)})),
    Case("metadata-nested-300", "engine", "PATCH /api/catalog/entities/{id}, metadata 300 deep",
         422, VF, rest("PATCH", "/api/catalog/entities/{entity}", {"metadata": nested(300)})),
    Case("metadata-nested-300", "engine", "POST .../variants, metadata 300 deep", 422, VF,
         rest("POST", "/api/catalog/entities/{entity}/variants",
              {"sku": "HOSTILE-1", "metadata": nested(300)})),
    Case("metadata-nested-33", "graphql", "createCatalogEntity: a metadata literal 33 deep",
         400, VF, graphql(create_entity_with(nested_literal(33)))),
    Case("metadata-int-over-64-bits", "graphql", "metadata literal {n: 10^23}", 400, VF,
         graphql(create_entity_with("{n: 100000000000000000000000}"))),
    # PostgreSQL's jsonb would give 1e20 back as an integer beyond 64 bits (found by the fuzzer).
    Case("metadata-float-1e20", "graphql", "createCatalogEntity: $metadata {n: 1e20}", 400, VF,
         graphql(CREATE_ENTITY, {"m": {"n": 1e20}})),
    Case("metadata-float-1e20", "engine", "POST /api/catalog/entities, metadata {n: 1e20}",
         422, VF, rest("POST", "/api/catalog/entities",
                       {"type": "product", "slug": "hostile", "metadata": {"n": 1e20}})),
    # Cursors this server never issued (GraphQL only: REST pages by number).
    Case("cursor-not-base64", "graphql", 'apiKeys(after: "garbage!!")', 200, VF,
         graphql(api_keys_after("garbage!!"))),
    Case("cursor-wrong-width", "graphql", "catalogEntities(after: a cursor of 1 value)", 200,
         VF, graphql(entities_after(cursor(["x"])))),
    Case("cursor-uuid-not-text", "graphql", 'apiKeys(after: cursor [{"u": 5}])', 200, VF,
         graphql(api_keys_after(cursor([{"u": 5}])))),
    Case("cursor-text-for-uuid", "graphql", 'apiKeys(after: cursor ["abc"])', 200, VF,
         graphql(api_keys_after(cursor(["abc"])))),
    Case("cursor-list-for-uuid", "graphql", "apiKeys(after: cursor [[1]])", 200, VF,
         graphql(api_keys_after(cursor([[1]])))),
    Case("cursor-bool-for-uuid", "graphql", "apiKeys(after: cursor [true])", 200, VF,
         graphql(api_keys_after(cursor([True])))),
    Case("cursor-date-for-uuid", "graphql", 'apiKeys(after: cursor [{"d": "2026-01-01"}])',
         200, VF, graphql(api_keys_after(cursor([{"d": "2026-01-01T00:00:00Z"}])))),
    Case("cursor-nul-in-text", "graphql", 'catalogEntities(after: cursor ["a\\u0000", uuid])',
         200, VF, graphql(entities_after(cursor(["a\x00", ZERO_UUID])))),
    Case("cursor-number-for-text", "graphql", "catalogEntities(after: cursor [5, uuid])", 200,
         VF, graphql(entities_after(cursor([5, ZERO_UUID])))),
    # The payment provider's webhook: signatures, then the event's shape.
    Case("signature-t-400-digits", "webhook", "Stripe-Signature: t=<400 digits>,v1=...", 400,
         "INVALID_SIGNATURE", webhook_signed_as("t=" + "9" * 400 + ",v1=" + "0" * 64)),
    Case("signature-t-signed", "webhook", "Stripe-Signature: t=-1700000000,v1=...", 400,
         "INVALID_SIGNATURE", webhook_signed_as("t=-1700000000,v1=" + "0" * 64)),
    Case("event-object-list", "webhook", "signed event, data.object = []", 422, VF,
         webhook(lambda w: {"id": "evt_1", "type": "payment_intent.succeeded",
                            "data": {"object": []}})),
    Case("event-object-list-other-type", "webhook", "signed charge.refunded, data.object = [1]",
         422, VF, webhook(lambda w: {"id": "evt_1", "type": "charge.refunded",
                                     "data": {"object": [1]}})),
    Case("event-metadata-list", "webhook", "signed event, object.metadata = [orderId]", 422, VF,
         webhook(lambda w: succeeded(w, metadata=[w.order_id]))),
    Case("event-id-nul", "webhook", 'signed event, id "evt_\\u0000"', 422, VF,
         webhook(lambda w: succeeded(w, event_id="evt_\x00"))),
    Case("event-id-201-chars", "webhook", "signed event, id of 201 characters", 422, VF,
         webhook(lambda w: succeeded(w, event_id="e" * 201))),
    Case("event-type-101-chars", "webhook", "signed event, type of 101 characters", 422, VF,
         webhook(lambda w: {"id": "evt_1", "type": "t" * 101, "data": {"object": {}}})),
    Case("event-type-not-text", "webhook", 'signed event, type {"a": 1}', 422, VF,
         webhook(lambda w: {"id": "evt_1", "type": {"a": 1}, "data": {"object": {}}})),
    Case("intent-id-nul", "webhook", 'signed event, object.id "pi_\\u0000"', 422, VF,
         webhook(lambda w: succeeded(w, id="pi_\x00"))),
    Case("event-not-object", "webhook", "signed body [1, 2]", 422, VF,
         webhook(lambda w: [1, 2])),
    # OAuth clients: redirect URIs users are sent to, scopes that become permissions.
    Case("redirect-uri-javascript", "graphql",
         'createOAuthClient(redirectUris: ["javascript:..."])', 200, VF,
         graphql(create_oauth_client(redirect_uris=["javascript:alert(1)"]))),
    Case("redirect-uri-fragment", "graphql", 'createOAuthClient(redirectUris: ["https://a/#x"])',
         200, VF, graphql(create_oauth_client(redirect_uris=["https://a.example/#x"]))),
    Case("redirect-uri-2001-chars", "graphql", "createOAuthClient: a redirect URI of 2,001 chars",
         200, VF, graphql(create_oauth_client(
             redirect_uris=["https://a.example/" + "x" * 1983]))),
    Case("scope-not-permission", "graphql", 'createOAuthClient(scopes: ["<script>"])', 200, VF,
         graphql(create_oauth_client(scopes=["<script>"]))),
    # Currencies ISO 4217 does not list.
    Case("currency-not-iso", "graphql", 'createCart(currency: "ZZZ")', 200, VF,
         graphql('mutation { createCart(input: {currency: "ZZZ"}) { id } }')),
    Case("currency-not-iso", "graphql", 'resolvePrice(currency: "ZZZ")', 200, VF,
         graphql('{ resolvePrice(entityId: "{entity}", currency: "ZZZ") { amount { amount } } }')),
    Case("currency-not-iso", "engine", 'POST /api/carts {"currency": "ZZZ"}', 422, VF,
         rest("POST", "/api/carts", {"currency": "ZZZ"})),
    Case("currency-not-iso", "engine", 'POST /api/pricing/prices {"currency": "ZZZ"}', 422, VF,
         rest("POST", "/api/pricing/prices",
              {"entityId": "{entity}", "currency": "ZZZ", "amount": 100})),
    Case("currency-not-iso", "gateway", 'POST /api/v1/products {"price": 1, "currency": "ZZZ"}',
         400, GW, rest("POST", "/api/v1/products",
                       {"name": "Hostile", "sku": "HOSTILE-1", "price": 1, "currency": "ZZZ"})),
    Case("currency-not-iso", "gateway", "GET /api/v1/products?currency=ZZZ", 400, GW,
         rest("GET", "/api/v1/products?currency=ZZZ")),
    Case("currency-not-iso", "gateway", 'POST /api/v1/payments {"currency": "ZZZ"}', 400, GW,
         rest("POST", "/api/v1/payments", {"orderId": "{order}", "amount": 10,
                                           "currency": "ZZZ", "paymentMethodId": "pm_card_visa"})),
    # Users and roles (staff): role names, permissions, filters no user could match.
    Case("role-name-nul", "graphql", 'createRole(name: "ops\\u0000")', 200, VF,
         graphql(CREATE_ROLE, {"input": {"name": "ops\x00", "permissions": []}})),
    Case("role-name-not-a-name", "graphql", 'createRole(name: "Ops Team!")', 200, VF,
         graphql(CREATE_ROLE, {"input": {"name": "Ops Team!", "permissions": []}})),
    Case("role-name-newline", "graphql", 'createRole(name: "ops\\nadmin")', 200, VF,
         graphql(CREATE_ROLE, {"input": {"name": "ops\nadmin", "permissions": []}})),
    Case("permission-not-resource-action", "graphql", 'createRole(permissions: ["catalog"])',
         200, VF, graphql(CREATE_ROLE, {"input": {"name": "ops", "permissions": ["catalog"]}})),
    Case("permissions-over-100", "graphql", "createRole: 101 permissions", 400, VF,
         graphql(CREATE_ROLE, {"input": {"name": "ops",
                                         "permissions": [f"r{i}:read" for i in range(101)]}})),
    Case("role-unknown", "graphql", 'createStaffUser(roles: ["root\\u0000"])', 200, VF,
         graphql(CREATE_STAFF, {"input": {"email": "s@example.com", "name": "S",
                                          "roles": ["root\x00"]}})),
    Case("email-not-address", "graphql", 'createStaffUser(email: "not-an-address")', 200, VF,
         graphql(CREATE_STAFF, {"input": {"email": "not-an-address", "name": "S",
                                          "roles": []}})),
    Case("filter-role-nul", "graphql", 'users(filter: {role: "admin\\u0000"})', 200, VF,
         graphql(USERS_WHERE, {"f": {"role": "admin\x00"}})),
    Case("filter-email-nul", "graphql", 'users(filter: {email: "a\\u0000@example.com"})', 200,
         VF, graphql(USERS_WHERE, {"f": {"email": "a\x00@example.com"}})),
    Case("status-not-enum", "graphql", 'users(filter: {status: $s}), $s = "gone"', 400, VF,
         graphql(USERS_WHERE, {"f": {"status": "gone"}})),
    Case("status-not-enum", "gateway", "GET /api/v1/users?status=gone", 400, GW,
         rest("GET", "/api/v1/users?status=gone")),
    Case("limit-not-integer", "gateway", "GET /api/v1/users?per_page=abc", 400, GW,
         rest("GET", "/api/v1/users?per_page=abc")),
    Case("cursor-not-base64", "graphql", 'users(after: "garbage!!")', 200, VF,
         graphql('{ users(first: 5, after: "garbage!!") { totalCount } }')),
    Case("cursor-number-for-text", "graphql", "roles(after: cursor [5])", 200, VF,
         graphql('{ roles(first: 5, after: "' + cursor([5]) + '") { totalCount } }')),
    # Sign-in (/api/auth): a password is checked for length before anything is hashed.
    Case("password-100kb", "engine", "POST /api/auth/sign-up/email, a 100 KB password", 422, VF,
         rest("POST", "/api/auth/sign-up/email",
              {"email": "h@example.com", "password": "p" * 100_000, "name": "H"})),
    Case("password-100kb", "engine", "POST /api/auth/sign-in/email, a 100 KB password", 422, VF,
         rest("POST", "/api/auth/sign-in/email",
              {"email": "h@example.com", "password": "p" * 100_000})),
    Case("password-100kb", "engine", "POST /api/auth/reset-password, a 100 KB newPassword",
         422, VF, rest("POST", "/api/auth/reset-password",
                       {"token": "t", "newPassword": "p" * 100_000})),
    Case("password-100kb", "graphql", "signUp(input: {password: <100 KB>})", 200, VF,
         graphql("mutation($i: SignUpInput!) { signUp(input: $i) { user { id } } }",
                 {"i": {"email": "h@example.com", "password": "p" * 100_000, "name": "H"}})),
    Case("email-10kb", "engine", "POST /api/auth/sign-up/email, a 10 KB email", 422, VF,
         rest("POST", "/api/auth/sign-up/email",
              {"email": "e" * 10_000 + "@example.com", "password": "p" * 12, "name": "H"})),
    Case("reset-redirect-foreign", "engine",
         'POST /api/auth/request-password-reset {"redirectTo": "https://evil.example/"}', 422,
         VF, rest("POST", "/api/auth/request-password-reset",
                  {"email": "h@example.com", "redirectTo": "https://evil.example/"})),
    Case("token-nul", "engine", "GET /api/auth/verify-email?token=a%00b", 422, VF,
         rest("GET", "/api/auth/verify-email?token=a%00b")),
    Case("token-10kb", "engine", "POST /api/auth/reset-password, a 10 KB token", 422, VF,
         rest("POST", "/api/auth/reset-password",
              {"token": "t" * 10_000, "newPassword": "p" * 12})),
    Case("body-not-object", "engine", "POST /api/auth/sign-in/email [1, 2]", 422, VF,
         rest("POST", "/api/auth/sign-in/email", [1, 2])),
    # The customer's own API (/me): addresses, profile, orders.
    Case("country-not-iso-3166", "engine", 'POST /api/me/addresses {"country": "ZZ"}', 422,
         VF, as_customer(rest("POST", "/api/me/addresses", {**MY_ADDRESS, "country": "ZZ"}))),
    Case("country-not-iso-3166", "graphql", 'addMyAddress(country: "USA")', 200, VF,
         as_customer(graphql(ADD_ADDRESS, {"i": {**MY_ADDRESS, "country": "USA"}}))),
    Case("address-nul", "engine", 'POST /api/me/addresses {"line1": "a\\u0000b"}', 422, VF,
         as_customer(rest("POST", "/api/me/addresses", {**MY_ADDRESS, "line1": "a\x00b"}))),
    Case("address-too-long", "engine", "POST /api/me/addresses, postalCode of 10,000 chars",
         422, VF, as_customer(rest("POST", "/api/me/addresses",
                                   {**MY_ADDRESS, "postalCode": "9" * 10_000}))),
    Case("address-blank", "graphql", 'addMyAddress(line1: "   ")', 200, VF,
         as_customer(graphql(ADD_ADDRESS, {"i": {**MY_ADDRESS, "line1": "   "}}))),
    Case("phone-not-a-number", "engine", 'PATCH /api/me/profile {"phone": "call me"}', 422, VF,
         as_customer(rest("PATCH", "/api/me/profile", {"phone": "call me"}))),
    Case("status-unknown", "engine", "GET /api/me/orders?status=lost", 422, VF,
         as_customer(rest("GET", "/api/me/orders?status=lost"))),
    Case("order-id-garbage", "engine", "POST /api/me/orders/<script>/reorder", 404,
         "NOT_FOUND", as_customer(rest("POST", "/api/me/orders/%3Cscript%3E/reorder"))),
    # A guest order's access token: anything but its own is an unknown order.
    Case("order-token-10k", "engine", "GET /api/orders/{id}, X-Order-Token of 10,000 chars",
         404, "NOT_FOUND", as_guest(rest("GET", "/api/orders/{order}"),
                                    **{"x-order-token": "ot_" + "A" * 10_000})),
    Case("order-token-empty", "engine", "GET /api/orders/{id}, X-Order-Token empty", 404,
         "NOT_FOUND", as_guest(rest("GET", "/api/orders/{order}"), **{"x-order-token": ""})),
    # Access logs: dates that are not dates, a window that ends before it starts.
    Case("date-not-iso", "gateway", "GET /api/v1/logs?startDate=yesterday", 400, GW,
         rest("GET", "/api/v1/logs?startDate=yesterday")),
    Case("date-without-zone", "graphql", 'accessLogs(filter: {startDate: "2026-01-01T00:00"})',
         400, VF, graphql(LOGS_WHERE, {"f": {"startDate": "2026-01-01T00:00:00"}})),
    Case("dates-reversed", "gateway", "GET /api/v1/logs, startDate after endDate", 400, GW,
         rest("GET", "/api/v1/logs?startDate=2026-02-01T00:00:00Z&endDate=2026-01-01T00:00:00Z")),
    Case("dates-reversed", "graphql", "accessLogs(filter: startDate after endDate)", 200, VF,
         graphql(LOGS_WHERE, {"f": {"startDate": "2026-02-01T00:00:00Z",
                                    "endDate": "2026-01-01T00:00:00Z"}})),
    Case("level-not-enum", "gateway", "GET /api/v1/logs?level=fatal", 400, GW,
         rest("GET", "/api/v1/logs?level=fatal")),
    Case("level-not-enum", "graphql", 'accessLogs(filter: {level: $l}), $l = "FATAL"', 400, VF,
         graphql(LOGS_WHERE, {"f": {"level": "FATAL"}})),
    # Jobs: a run of too many or of a number that is not one; a retry of no job.
    Case("limit-zero", "engine", "GET /api/jobs/run?limit=0", 422, "VALIDATION_FAILED",
         rest("GET", "/api/jobs/run?limit=0")),
    Case("limit-not-number", "engine", "GET /api/jobs/run?limit=ten", 422,
         "VALIDATION_FAILED", rest("GET", "/api/jobs/run?limit=ten")),
    Case("limit-huge", "graphql", "runJobs(limit: 100000)", 200, VF,
         graphql("mutation { runJobs(limit: 100000) { processed } }", {})),
    Case("id-garbage", "engine", "POST /api/admin/jobs/<script>/retry", 404, "NOT_FOUND",
         rest("POST", "/api/admin/jobs/%3Cscript%3E/retry")),
    Case("status-not-enum", "graphql", 'jobs(filter: {status: $s}), $s = "LOST"', 400, VF,
         graphql("query($s: JobStatus) { jobs(filter: {status: $s}) { totalCount } }",
                 {"s": "LOST"})),
    # Webhooks: targets on private addresses (SSRF), events no one sends, URLs that are not.
    Case("webhook-target-metadata", "engine", "POST /api/webhooks, url http://169.254.169.254/",
         422, VF, rest("POST", "/api/webhooks", {"url": "http://169.254.169.254/latest",
                                                 "events": ["*"]})),
    Case("webhook-target-loopback-v6", "gateway", "POST /api/v1/webhooks, url http://[::1]/",
         400, GW, rest("POST", "/api/v1/webhooks", {"url": "http://[::1]/", "events": ["*"]})),
    Case("webhook-target-mapped", "graphql", "createWebhookEndpoint(url: http://[::ffff:10.0.0.1]/)",
         200, VF, graphql(CREATE_HOOK, {"i": {"url": "http://[::ffff:10.0.0.1]/",
                                              "events": ["*"]}})),
    Case("webhook-url-not-http", "engine", "POST /api/webhooks, url file:///etc/passwd", 422, VF,
         rest("POST", "/api/webhooks", {"url": "file:///etc/passwd", "events": ["*"]})),
    Case("webhook-url-credentials", "gateway", "POST /api/v1/webhooks, url with user:pass@", 400,
         GW, rest("POST", "/api/v1/webhooks", {"url": "https://u:p@1.1.1.1/", "events": ["*"]})),
    Case("webhook-url-10k", "engine", "POST /api/webhooks, url of 10,000 chars", 422, VF,
         rest("POST", "/api/webhooks", {"url": "https://1.1.1.1/" + "a" * 10_000,
                                        "events": ["*"]})),
    Case("webhook-event-unknown", "gateway", "POST /api/v1/webhooks, events [orders.shipped]", 400,
         GW, rest("POST", "/api/v1/webhooks", {"url": "https://1.1.1.1/",
                                               "events": ["orders.shipped"]})),
    Case("webhook-events-not-list", "engine", 'POST /api/webhooks, events 7', 422, VF,
         rest("POST", "/api/webhooks", {"url": "https://1.1.1.1/", "events": 7})),
    Case("webhook-id-garbage", "gateway", "DELETE /api/v1/webhooks/<script>", 404, "NOT_FOUND",
         rest("DELETE", "/api/v1/webhooks/%3Cscript%3E")),
    # Notifications: text the mail server or PostgreSQL would choke on, header injection,
    # closed sets, ids that name no one. Checked before the user is looked up.
    Case("nul-in-text", "gateway", "POST /api/v1/notifications/send, message with NUL", 400,
         GW, rest("POST", NOTIFY, {**NOTE, "message": "a\x00b"})),
    Case("header-injection", "gateway", "POST /api/v1/notifications/send, subject with CRLF",
         400, GW, rest("POST", NOTIFY, {**NOTE, "subject": "Hi\r\nBcc: all@example.com"})),
    Case("message-too-long", "gateway", "POST /api/v1/notifications/send, 100,000-char message",
         400, GW, rest("POST", NOTIFY, {**NOTE, "message": "x" * 100_000})),
    Case("type-not-enum", "gateway", 'POST /api/v1/notifications/send {"type": "fax"}', 400,
         GW, rest("POST", NOTIFY, {**NOTE, "type": "fax"})),
    Case("user-id-garbage", "gateway", 'POST /api/v1/notifications/send {"userId": "<script>"}',
         404, "NOT_FOUND", rest("POST", NOTIFY, {**NOTE, "userId": "<script>"})),
    Case("header-injection", "graphql", "sendNotification(subject with CRLF)", 200, VF,
         graphql(SEND_NOTIFICATION, {"i": {**NOTE, "type": "EMAIL", "subject": "a\nb"}})),
    Case("user-unknown", "graphql", "sendNotification(userId of no one)", 200, "NOT_FOUND",
         graphql(SEND_NOTIFICATION, {"i": {**NOTE, "type": "EMAIL"}})),
    # Analytics: members, words and values the semantic layer does not list; never SQL.
    Case("member-not-listed", "engine", 'POST /api/analytics/query, measures ["orders.id"]', 422,
         VF, rest("POST", ANALYTICS, {"measures": ["orders.id"]})),
    Case("member-sql", "engine", 'POST /api/analytics/query, measures ["orders.count) --"]',
         422, VF, rest("POST", ANALYTICS, {"measures": ["orders.count) FROM users --"]})),
    Case("granularity-not-listed", "engine", 'POST /api/analytics/query, granularity "hour"',
         422, VF, rest("POST", ANALYTICS, {**ORDER_COUNT, "timeDimensions": [
             {"dimension": "orders.createdAt", "granularity": "hour"}]})),
    Case("operator-not-listed", "engine", 'POST /api/analytics/query, operator "raw"', 422, VF,
         rest("POST", ANALYTICS, {**ORDER_COUNT, "filters": [
             {"member": "orders.status", "operator": "raw", "values": ["1=1"]}]})),
    Case("value-not-uuid", "engine", 'POST /api/analytics/query, orderLines.entity = "<script>"',
         422, VF, rest("POST", ANALYTICS, {"measures": ["orderLines.count"], "filters": [
             {"member": "orderLines.entity", "operator": "equals", "values": ["<script>"]}]})),
    Case("date-range-not-dates", "engine", 'POST /api/analytics/query, dateRange ["a", "b"]',
         422, VF, rest("POST", ANALYTICS, {**ORDER_COUNT, "timeDimensions": [
             {"dimension": "orders.createdAt", "dateRange": ["a", "b"]}]})),
    Case("limit-over-rows", "engine", "POST /api/analytics/query, limit 100000", 422, VF,
         rest("POST", ANALYTICS, {**ORDER_COUNT, "limit": 100_000})),
    Case("measures-10k", "engine", "POST /api/analytics/query, 10,000 measures", 422, VF,
         rest("POST", ANALYTICS, {"measures": ["orders.count"] * 10_000})),
    Case("member-not-listed", "graphql", 'analytics(query: {measures: ["orders.id"]})', 200, VF,
         graphql(ANALYTICS_QUERY, {"q": {"measures": ["orders.id"]}})),
    Case("order-not-object", "graphql", "analytics(query: {order: [1]})", 200, VF,
         graphql(ANALYTICS_QUERY, {"q": {**ORDER_COUNT, "order": [1]}})),
    Case("value-not-text", "graphql", 'analytics filter values [{"a": 1}]', 200, VF,
         graphql(ANALYTICS_QUERY, {"q": {**ORDER_COUNT, "filters": [
             {"member": "orders.status", "operator": "equals", "values": [{"a": 1}]}]}})),
    # Search: the query text is only ever words (FTS5 and tsquery syntax, SQL and NUL are
    # answered 200 in tests/api/test_search.py); what is refused is refused before any SQL.
    Case("search-q-10k", "engine", "GET /api/search?q=<10,000 chars>", 422, VF,
         rest("GET", "/api/search?q=" + "x" * 10_000)),
    Case("search-q-10k", "graphql", "search(q: <10,000 chars>)", 200, VF,
         graphql("query($q: String) { search(q: $q) { totalCount } }", {"q": "x" * 10_000})),
    Case("search-facet-unknown", "engine", "GET /api/search?facets=price", 422, VF,
         rest("GET", "/api/search?facets=price")),
    Case("search-status-unknown", "engine", "GET /api/search?status=deleted", 422, VF,
         rest("GET", "/api/search?status=deleted")),
    Case("suggest-prefix-10k", "engine", "GET /api/search/suggest?prefix=<10,000 chars>", 422,
         VF, rest("GET", "/api/search/suggest?prefix=" + "x" * 10_000)),
    Case("suggest-limit-zero", "engine", "GET /api/search/suggest?prefix=a&limit=0", 422, VF,
         rest("GET", "/api/search/suggest?prefix=a&limit=0")),
    # The marketplace: profiles are checked field by field, statuses are closed sets, and an id
    # that is not a UUID names nothing.
    Case("vendor-name-10k", "engine", "POST /api/marketplace/vendors, name of 10,000 chars", 422,
         VF, rest("POST", VENDORS, {"name": "x" * 10_000, "email": "v@example.com"})),
    Case("vendor-website-script", "engine", 'POST /api/marketplace/vendors, website '
         '"javascript:alert(1)"', 422, VF,
         rest("POST", VENDORS, {"name": "V", "email": "v@example.com",
                                "website": "javascript:alert(1)"})),
    Case("vendor-address-unknown", "engine", "POST /api/marketplace/vendors, address with "
         "unknown fields", 422, VF,
         rest("POST", VENDORS, {"name": "V", "email": "v@example.com",
                                "address": {"line1": "1 St", "evil": "x"}})),
    Case("vendor-email-invalid", "graphql", 'registerVendor(email: "<script>")', 200, VF,
         graphql(REGISTER_VENDOR, {"i": {"name": "V", "email": "<script>"}})),
    Case("vendor-status-unknown", "engine", "GET /api/marketplace/vendors?status=deleted", 422,
         VF, rest("GET", f"{VENDORS}?status=deleted")),
    Case("vendor-id-not-uuid", "engine", "POST /api/marketplace/vendors/<script>/approve", 404,
         "NOT_FOUND", rest("POST", f"{VENDORS}/%3Cscript%3E/approve", {})),
    Case("sub-order-status-unknown", "engine", "PATCH /api/marketplace/sub-orders/:id/status, "
         'status "lost"', 422, VF, rest("PATCH", f"{MARKET}/sub-orders/{{order}}/status",
                                         {"status": "lost"})),
    Case("sub-order-reason-10k", "graphql", "setSubOrderStatus(reason of 10,000 chars)", 200, VF,
         graphql(SET_SUB_ORDER, {"i": {"id": "00000000-0000-4000-8000-000000000000",
                                       "status": "CANCELLED", "reason": "x" * 10_000}})),
    # The marketplace's money: rules are checked whole, amounts are whole minor units (or the
    # gateway's exact decimals), reasons are bounded, and a payout id that is no UUID is none.
    Case("commission-rule-rate-over-100", "engine", "POST /api/marketplace/commission-rules, "
         "rateBps 10001", 422, VF, rest("POST", RULES, {**RULE, "rateBps": 10_001})),
    Case("commission-rule-name-10k", "engine", "POST /api/marketplace/commission-rules, name "
         "of 10,000 chars", 422, VF, rest("POST", RULES, {**RULE, "name": "x" * 10_000})),
    Case("commission-rule-scope-unknown", "engine", 'POST /api/marketplace/commission-rules, '
         'scope "galaxy"', 422, VF, rest("POST", RULES, {**RULE, "scope": "galaxy"})),
    Case("commission-rule-window-backwards", "engine", "POST /api/marketplace/commission-rules,"
         " validUntil before validFrom", 422, VF,
         rest("POST", RULES, {**RULE, "validFrom": "2026-02-01T00:00:00Z",
                              "validUntil": "2026-01-01T00:00:00Z"})),
    Case("payout-status-unknown", "engine", "GET /api/marketplace/payouts?status=lost", 422, VF,
         rest("GET", f"{MARKET}/payouts?status=lost")),
    Case("payout-id-not-uuid", "engine", "POST /api/marketplace/payouts/<script>/retry", 404,
         "NOT_FOUND", rest("POST", f"{MARKET}/payouts/%3Cscript%3E/retry")),
    Case("payout-amount-finer-than-cents", "gateway", "POST /api/v1/commissions, amount "
         "1.001 USD", 400, GW, rest("POST", "/api/v1/commissions",
                                   {"vendorId": UNKNOWN_ID, "currency": "USD", "amount": 1.001})),
    Case("commission-status-unknown", "gateway", "GET /api/v1/commissions?status=gone", 400, GW,
         rest("GET", "/api/v1/commissions?status=gone")),
    Case("adjustment-reason-10k", "graphql", "adjustVendorBalance(reason of 10,000 chars)", 200,
         VF, graphql(ADJUST, {"i": {"vendorId": UNKNOWN_ID, "amount": 1, "currency": "USD",
                                    "reason": "x" * 10_000}})),
    Case("refund-amount-negative", "graphql", "refundSubOrder(amount: -100)", 200, VF,
         graphql(REFUND, {"i": {"id": UNKNOWN_ID, "amount": -100, "reason": "r"}})),
    # Aftercare: messages, reasons and titles are bounded, reasons, statuses and outcomes are
    # closed sets, ratings run 1 to 5, a return names at most 100 lines; all checked before
    # anything is looked up.
    Case("dispute-message-10k", "engine", "POST /api/marketplace/disputes, message of 10,000 "
         "chars", 422, VF, as_customer(rest("POST", DISPUTES, {
             "subOrderId": UNKNOWN_ID, "reason": "damaged", "message": "x" * 10_000}))),
    Case("dispute-reason-unknown", "engine", 'POST /api/marketplace/disputes, reason '
         '"<script>"', 422, VF, as_customer(rest("POST", DISPUTES, {
             "subOrderId": UNKNOWN_ID, "reason": "<script>", "message": "m"}))),
    Case("dispute-status-unknown", "engine", "GET /api/marketplace/disputes?status=lost", 422,
         VF, rest("GET", f"{DISPUTES}?status=lost")),
    Case("dispute-refund-negative", "graphql", "resolveDispute(REFUND_PARTIAL, amount: -100)",
         200, VF, graphql(RESOLVE, {"i": {"id": UNKNOWN_ID, "outcome": "REFUND_PARTIAL",
                                          "amount": -100, "note": "n"}})),
    Case("dispute-id-not-uuid", "engine", "POST /api/marketplace/disputes/<script>/resolve", 404,
         "NOT_FOUND", rest("POST", f"{DISPUTES}/%3Cscript%3E/resolve",
                           {"outcome": "no_refund", "note": "n"})),
    Case("return-101-lines", "engine", "POST /api/marketplace/returns, 101 lines", 422, VF,
         as_customer(rest("POST", f"{MARKET}/returns", {
             "subOrderId": UNKNOWN_ID, "lines": [RETURN_LINE] * 101, "reason": "r"}))),
    Case("return-reason-10k", "engine", "POST /api/marketplace/returns, reason of 10,000 chars",
         422, VF, as_customer(rest("POST", f"{MARKET}/returns", {
             "subOrderId": UNKNOWN_ID, "lines": [RETURN_LINE], "reason": "x" * 10_000}))),
    Case("return-id-not-uuid", "engine", "POST /api/marketplace/returns/<script>/receive", 404,
         "NOT_FOUND", rest("POST", f"{MARKET}/returns/%3Cscript%3E/receive")),
    Case("review-rating-9", "engine", "POST /api/marketplace/vendors/:id/reviews, rating 9", 422,
         VF, as_customer(rest("POST", f"{VENDORS}/{UNKNOWN_ID}/reviews",
                              {"subOrderId": UNKNOWN_ID, "rating": 9}))),
    Case("review-title-10k", "engine", "POST /api/marketplace/vendors/:id/reviews, title of "
         "10,000 chars", 422, VF, as_customer(rest("POST", f"{VENDORS}/{UNKNOWN_ID}/reviews", {
             "subOrderId": UNKNOWN_ID, "rating": 5, "title": "x" * 10_000}))),
    Case("reviews-rating-filter-0", "engine", "GET /api/marketplace/vendors/:id/reviews?rating=0",
         422, VF, rest("GET", f"{VENDORS}/{UNKNOWN_ID}/reviews?rating=0")),
    # Vendor documents: the kind and status are closed sets, a reason is bounded; all checked
    # before the vendor is looked up. The file goes through media's checks (see media's cases).
    Case("vendor-document-kind-unknown", "engine", 'POST /api/marketplace/vendors/:id/'
         'documents, kind "<script>"', 422, VF, lambda world: Sent(
             "POST", f"{VENDORS}/{UNKNOWN_ID}/documents", multipart_body(
                 ("kind", None, b"<script>", None), ("file", "a.pdf", b"%PDF-1.4", None)),
             MULTIPART)),
    Case("vendor-documents-status-unknown", "engine", "GET /api/marketplace/vendors/:id/"
         "documents?status=lost", 422, VF, rest("GET", f"{VENDORS}/{UNKNOWN_ID}/documents"
                                                "?status=lost")),
    Case("vendor-document-reason-10k", "engine", "POST /api/marketplace/vendors/:id/documents/"
         ":docId/reject, reason of 10,000 chars", 422, VF,
         rest("POST", f"{VENDORS}/{UNKNOWN_ID}/documents/{UNKNOWN_ID}/reject",
              {"reason": "x" * 10_000})),
    Case("vendor-document-id-not-uuid", "engine", "POST /api/marketplace/vendors/:id/documents/"
         "<script>/approve", 404, "NOT_FOUND",
         rest("POST", f"{VENDORS}/{UNKNOWN_ID}/documents/%3Cscript%3E/approve")),
    # Media: the type is the bytes' (never the name's or the declared one), SVG is refused,
    # a form is one file; links are ours or nothing.
    Case("svg-with-script", "engine", "POST /api/media/upload, an SVG with a <script>", 422, VF,
         upload(("file", "logo.svg", SVG_SCRIPT, "image/svg+xml"))),
    Case("html-named-png", "engine", "POST /api/media/upload, HTML named x.png (image/png)",
         422, VF, upload(("file", "x.png", HTML_AS_PNG, "image/png"))),
    Case("upload-two-files", "engine", "POST /api/media/upload, two file parts", 422, VF,
         upload(("file", "a.png", PNG_HEAD, "image/png"), ("other", "b.png", PNG_HEAD, None))),
    Case("upload-file-as-text", "engine", 'POST /api/media/upload, file = "text" (no file)',
         422, VF, upload(("file", None, b"text", None))),
    Case("upload-json", "engine", 'POST /api/media/upload {"file": "x"} as JSON', 422, VF,
         rest("POST", "/api/media/upload", {"file": "x"})),
    Case("upload-multipart-truncated", "engine", "POST /api/media/upload, no closing boundary",
         422, VF, lambda world: Sent("POST", "/api/media/upload",
                                     b"--hostile-boundary\r\nContent-Disposition: form",
                                     MULTIPART)),
    Case("media-id-garbage", "engine", "GET /api/media/<script>", 404, "NOT_FOUND",
         rest("GET", "/api/media/%3Cscript%3E")),
    Case("signed-not-boolean", "engine", "GET /api/media/{id}?signed=maybe", 422, VF,
         rest("GET", "/api/media/{entity}?signed=maybe")),
    Case("media-file-traversal", "engine", "GET /api/media/files/..%2F..%2Fetc%2Fpasswd", 404,
         "NOT_FOUND", rest("GET", "/api/media/files/..%2F..%2Fetc%2Fpasswd")),
    Case("media-link-forged", "engine", "GET /api/media/files/<key>?expires=...&signature=00",
         403, "FORBIDDEN", rest("GET", "/api/media/files/" + ZERO_UUID_TEXT
                                + "/original.png?expires=99999999999&signature=00")),
    Case("attach-role-unknown", "engine", 'POST /api/media/attach {"role": "poster"}', 422, VF,
         rest("POST", "/api/media/attach", {"entityId": "{entity}", "mediaAssetId": ZERO_UUID_TEXT,
                                             "role": "poster"})),
    Case("upload-string-file", "graphql", 'uploadMedia(input: {file: "x"}) (no multipart)', 200,
         VF, graphql("mutation($i: UploadMediaInput!) { uploadMedia(input: $i) { id } }",
                     {"i": {"file": "x"}})),
    Case("upload-without-preflight", "graphql", "multipart uploadMedia, no preflight header",
         403, "FORBIDDEN", graphql_upload(PNG_HEAD)),
    Case("svg-with-script", "graphql", "multipart uploadMedia, an SVG with a <script>", 200, VF,
         graphql_upload(SVG_SCRIPT, **{"apollo-require-preflight": "1"})),
]  # fmt: skip


@pytest.fixture(scope="module")
def hostile_app(shared_database: Database) -> Starlette:
    return create_app(
        settings_for(shared_database.url, payment_webhook_secret=SECRET), database=shared_database
    )


@pytest.fixture
async def admin_of(hostile_app: Starlette, database: Database) -> AsyncIterator[httpx.AsyncClient]:
    _, plaintext = await make_api_key(database, name="hostile admin")
    async with client_for(hostile_app, headers={"x-api-key": plaintext}) as http:
        yield http


async def build_world(database: Database) -> World:
    order = await placed_order(database)
    async with database.read_session() as session:
        entity_id = await session.scalar(select(CatalogEntity.id))
    shopper = await make_user(database, email="shopper@example.com")
    return World(
        entity_id=str(entity_id),
        order_id=str(order.id),
        order_total=order.total,
        customer_token=await session_token(database, shopper),
    )


async def row_counts(database: Database) -> dict[str, int]:
    """Rows in every table, in one statement."""
    tables = Base.metadata.sorted_tables
    statement = select(
        *(select(func.count()).select_from(t).scalar_subquery().label(t.name) for t in tables)
    )
    async with database.read_session() as session:
        row = (await session.execute(statement)).one()
    return dict(row._mapping)


def error_code(face: Face, body: Any) -> str:
    """The code as each face's envelope carries it."""
    if face == "graphql":
        return body["errors"][0]["extensions"]["code"]
    if face == "gateway":
        assert body["success"] is False
    return body["error"]["code"]


def case_id(case: Case) -> str:
    return f"{case.id}-{case.face}-{CASES.index(case)}"


def test_every_case_is_sent_where_its_face_says() -> None:
    for case in CASES:
        path = case.send(World(entity_id="e", order_id="o", order_total=1)).path
        if case.face == "engine":
            assert path.startswith("/api/") and not path.startswith("/api/v1/"), case
        else:
            assert path.startswith(FACE_PATHS[case.face]), case


@pytest.mark.parametrize("case", CASES, ids=case_id)
async def test_hostile_input_is_refused_in_its_dialect_and_writes_nothing(
    case: Case, admin_of: httpx.AsyncClient, database: Database, hostile_app: Starlette
) -> None:
    world = await build_world(database)
    sent = case.send(world)
    before = await row_counts(database)
    if sent.caller == "admin":
        response = await admin_of.request(
            sent.method, sent.path, content=sent.content, headers=sent.headers
        )
    else:
        caller = (
            {"cookie": f"{COOKIE}={world.customer_token}", "origin": "http://testserver"}
            if sent.caller == "customer"
            else {}
        )
        async with client_for(hostile_app, headers=caller) as http:
            response = await http.request(
                sent.method, sent.path, content=sent.content, headers=sent.headers
            )
    assert (response.status_code, error_code(case.face, response.json())) == (
        case.status,
        case.code,
    ), response.text[:500]
    assert await row_counts(database) == before


async def test_metadata_32_levels_deep_is_accepted(
    admin_of: httpx.AsyncClient, database: Database
) -> None:
    """The other side of the metadata-nested cases: the limit is 32 levels, not less."""
    response = await admin_of.post(
        "/graphql",
        content=encode({"query": CREATE_ENTITY, "variables": {"m": nested(32)}}),
        headers=GRAPHQL_HEADERS,
    )
    assert response.status_code == 200 and "errors" not in response.json(), response.text
    created = await admin_of.get("/api/catalog/entities/hostile")
    assert created.json()["data"]["metadata"] == nested(32)


# --- the security page lists the table ----------------------------------------------------

SECURITY_PAGE = Path(__file__).parents[2] / "docs" / "security.md"
BEGIN, END = "<!-- hostile-input cases: begin -->", "<!-- hostile-input cases: end -->"


def cases_table() -> str:
    """`CASES` as the security page shows them: one row a case."""
    rows = ["| case | face | input | answer |", "|---|---|---|---|"]
    for case in CASES:
        shown = case.input.replace("|", "\\|")
        rows.append(f"| {case.id} | {case.face} | `{shown}` | {case.status} {case.code} |")
    return "\n".join(rows)


def test_the_security_page_lists_exactly_these_cases() -> None:
    page = SECURITY_PAGE.read_text()
    listed = page.split(BEGIN, 1)[1].split(END, 1)[0].strip()
    assert listed == cases_table(), (
        f"docs/security.md is out of date; put this between its markers:\n{cases_table()}"
    )
