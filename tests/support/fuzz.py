"""Fuzzing a live server with schemathesis on data that exists.

A fuzzer that invents ids only ever meets the 404 of a route that names a resource. So the
fuzz tests seed the demo shop, read its ids back through the API (`known_ids`), and hand
them to schemathesis as dictionaries in the `schemathesis.toml` they write (`config`):

- REST: every path parameter draws from the ids of the resource its path segment names
  (`PATH_KINDS`; a new route whose segment is not there fails the test until it is added),
  most of the time; body fields and query parameters that name a resource (`entityId`,
  `sku`, `currency`) draw from theirs some of the time;
- GraphQL: every argument or input field that names a resource, by its name or, for `id`,
  by the type the root field answers (`graphql_parameters`).

Everything else is generated. The hooks (`fuzz_hooks.py`) record the answers for the tests
to assert on, and keep the fuzzer from revoking its own key.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import graphql
import httpx

from app.db import Database
from app.models.jobs import Job

SCHEMATHESIS = Path(sys.executable).parent / "schemathesis"
HOOKS = Path(__file__).with_name("fuzz_hooks.py")
SEED = 20261122
# How many demo products to seed: enough ids to go round, few enough to seed in seconds.
PRODUCTS = 12

# The resource a path parameter names, by the segment before it and its own name.
PATH_KINDS: dict[tuple[str, str], str] = {
    ("audit", "entityType"): "audited_types",
    ("{entityType}", "entityId"): "audited_ids",
    ("carts", "id"): "carts",
    ("items", "itemId"): "cart_items",
    ("entities", "id"): "entities",
    ("entities", "idOrSlug"): "entity_refs",
    ("attributes", "locale"): "locales",
    ("categories", "categoryId"): "categories",
    ("brands", "brandId"): "brands",
    ("options", "optionTypeId"): "option_types",
    ("warehouses", "id"): "spare_warehouses",
    ("orders", "id"): "orders",
    ("orders", "idOrNumber"): "order_refs",
    ("orders", "orderId"): "order_refs",
    ("addresses", "id"): "my_addresses",
    ("promotions", "id"): "promotions",
    ("api-keys", "id"): "spare_api_keys",
    ("webhooks", "id"): "webhooks",
    ("inventory", "sku"): "skus",
    ("products", "id"): "entities",
    ("jobs", "id"): "jobs",
    ("vendors", "id"): "vendors",
    ("sub-orders", "id"): "sub_orders",
    ("commission-rules", "id"): "commission_rules",
    ("payouts", "id"): "payouts",
    ("disputes", "id"): "disputes",
    ("returns", "id"): "returns",
    ("reviews", "reviewId"): "reviews",
    ("media", "id"): "media",
    ("documents", "docId"): "vendor_documents",
}
# A DELETE of the resource itself draws from ids kept for it, so that the rest of the run
# still finds the others.
DOOMED = {
    "entities": "doomed_entities",
    "categories": "doomed_categories",
    "brands": "doomed_brands",
    "roles": "doomed_roles",
    "webhooks": "doomed_webhooks",
    "commission_rules": "doomed_commission_rules",
    "media": "doomed_media",
}

# Body fields (REST) that name a resource, and how often they draw from its ids.
BODY_KINDS: dict[str, str] = {
    "entityId": "entities",
    "entityIds[*]": "entities",
    "variantId": "variants",
    "warehouseId": "warehouses",
    "cartId": "carts",
    "orderId": "orders",
    "customerId": "customers",
    "userId": "customers",
    "customerGroupId": "groups",
    "customerGroupIds[*]": "groups",
    "categoryIds[*]": "categories",
    "parentId": "categories",
    "items[*].productId": "entities",
    "items[*].variantId": "variants",
    "items[*].sku": "skus",
    "lineItems[*].entityId": "entities",
    "lineItems[*].variantId": "variants",
    "lines[*].lineId": "order_lines",
    "optionValueIds[*]": "option_values",
    "reservationId": "reservations",
    "mediaAssetId": "media",
    "sku": "skus",
    "updates[*].sku": "skus",
    "paymentMethodId": "payment_methods",
    "promotionCodes[*]": "promotion_codes",
    "currency": "currencies",
    "vendorId": "vendors",
    "subOrderId": "sub_orders",
}
# Bindings for one operation only, where the general ones are too loose: adding to a cart
# takes a product for sale and one of its own variants (a product no other route touches),
# and a variant made of a SKU alone needs a product without option types.
OPERATION_KINDS: dict[tuple[str, str], dict[str, str]] = {
    ("post", "/api/carts/{id}/items"): {
        "body.entityId": "cart_entities",
        "body.variantId": "cart_variants",
    },
    ("post", "/api/catalog/entities/{id}/variants"): {"path.id": "plain_entities"},
    ("post", "/api/catalog/entities/{id}/variants/generate"): {"path.id": "optioned_entities"},
    # The vendor's moves name sub-orders under `.../orders/{id}`, not orders.
    **{
        ("post", f"/api/marketplace/vendor/me/orders/{{id}}/{action}"): {"path.id": "sub_orders"}
        for action in ("confirm", "ship", "deliver", "cancel")
    },
    # A review names the vendor of the customer's reviewed sub-orders (see `aftercare`).
    ("post", "/api/marketplace/vendors/{id}/reviews"): {
        "path.id": "review_vendors",
        "body.subOrderId": "reviewed_sub_orders",
        "body.rating": "ratings",
    },
    ("post", "/api/marketplace/disputes/{id}/respond"): {"path.id": "disputes"},
    # Most generated refunds ask for more than is left: more cases, so that one fits.
    ("post", "/api/orders/{id}/refunds"): {
        "path.id": "orders",
        "body.currency": "order_currencies",
        "body.amount": "refund_amounts",
    },
    ("patch", "/api/marketplace/vendors/{id}/reviews/{reviewId}"): {"path.id": "review_vendors"},
}
# Aftercare operations that only the fuzz customer (also vendor A's user: see `aftercare`)
# may carry out: they send its session, as the customer's own API does.
SESSION_OPERATIONS = {
    ("post", "/api/marketplace/disputes/{id}/respond"),
    ("post", "/api/marketplace/disputes/{id}/escalate"),
    ("post", "/api/marketplace/returns/{id}/ship-back"),
    ("post", "/api/marketplace/vendors/{id}/reviews"),
    ("patch", "/api/marketplace/vendors/{id}/reviews/{reviewId}"),
}
SESSION_FIELDS = (
    "Mutation.respondToDispute",
    "Mutation.escalateDispute",
    "Mutation.shipBackReturn",
    "Mutation.updateReview",
)
# Root fields with few arguments whose checked text (a required reason) most generated
# inputs fail: more cases, so that one names a real record with a text that passes.
MORE_EXAMPLES = ("Mutation.cancelSubOrder",)
# Query parameters that name a resource.
QUERY_KINDS: dict[str, str] = {
    "currency": "currencies",
    "warehouse_id": "warehouses",
    "warehouseId": "warehouses",
    "entityId": "entities",
    "variantId": "variants",
    "customerGroupId": "groups",
    "parentId": "categories",
    "vendorId": "vendors",
    "vendor": "vendors",
    "orderId": "orders",
}
# A 1x1 PNG for the fuzzer's uploads.
FUZZ_PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c489"
    "0000000d49444154789c6360f8cfc0f01f0005000201a3b3c2f70000000049454e44ae426082"
)
PATH_PROBABILITY = 0.8
SPECIAL_EXAMPLES = 15
BODY_PROBABILITY = 0.5


def rest_parameters() -> dict[str, dict[str, Any]]:
    """Global bindings of the body fields that name a resource (and of `?currency=`)."""
    bindings = {
        f"body.{field}": {"dictionary": kind, "probability": BODY_PROBABILITY}
        for field, kind in BODY_KINDS.items()
    }
    for name, kind in QUERY_KINDS.items():
        bindings[f"query.{name}"] = {"dictionary": kind, "probability": BODY_PROBABILITY}
    return bindings


def rest_operations(
    document: dict[str, Any], session_headers: dict[str, str] | None = None
) -> list[dict[str, Any]]:
    """A config section per operation with path parameters: each parameter draws from its
    kind's ids (a DELETE of the resource itself from the doomed ones). Revoking API keys stays
    out of the stateful phase, whose links lead from the key listing to the fuzzer's own."""
    sections = []
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            params = [p["name"] for p in operation.get("parameters", []) if p["in"] == "path"]
            # The customer's own API answers a customer's session only (an API key is 401):
            # its operations send `session_headers` (the cookie, an empty key) instead.
            mine = (
                path.startswith("/api/me/") or (method, path) in SESSION_OPERATIONS
            ) and session_headers is not None
            if not params and not mine:
                continue
            bindings = {}
            for param in params:
                kind = path_kind(path, param)
                if method == "delete" and path.endswith(f"{{{param}}}"):
                    kind = DOOMED.get(kind, kind)
                bindings[f"path.{param}"] = {"dictionary": kind, "probability": PATH_PROBABILITY}
            special = OPERATION_KINDS.get((method, path), {})
            for name, kind in special.items():
                bindings[name] = {"dictionary": kind, "probability": 0.9}
            section: dict[str, Any] = {
                "include-operation-id": operation["operationId"],
                "parameters": bindings,
            }
            if special:
                # Their few ids are easily missed in a handful of cases: whether one is hit
                # then hangs on the run's random sequence, which any new route shifts.
                section["generation"] = {"max-examples": SPECIAL_EXAMPLES}
            if path.startswith("/api/v1/api-keys/") and method == "delete":
                section["phases"] = {"stateful": {"enabled": False}}
            if mine:
                section["headers"] = session_headers
            sections.append(section)
    return sections


async def customer_session(
    database: Any, base_url: str, order_ids: list[str]
) -> tuple[dict[str, str], list[str]]:
    """A signed-in customer for the /api/me operations: the headers that send their session
    (cookie, the server's own Origin, and an empty `x-api-key` over the fuzzer's key, which
    would win), and their saved addresses' ids. Every other seeded order becomes theirs."""
    import uuid

    from sqlalchemy import update

    from app.auth.actor import SYSTEM
    from app.models.orders import Order
    from app.services.addresses import NewAddress, add_address
    from tests.support.users import COOKIE, make_user, session_token

    user = await make_user(database, email="fuzz.customer@example.com")
    assert user.customer_id is not None
    async with database.unit_of_work() as uow:
        await uow.session.execute(
            update(Order)
            .where(Order.id.in_([uuid.UUID(id) for id in order_ids[::2]]))
            .values(customer_id=str(user.customer_id))
        )
        addresses = [
            await add_address(
                uow, SYSTEM, user.customer_id,
                NewAddress(line1=f"{n} Fuzz St", city="Berlin", country="DE"),
            )
            for n in range(4)
        ]  # fmt: skip
        await uow.commit()
    headers = {
        "x-api-key": "",
        "cookie": f"{COOKIE}={await session_token(database, user)}",
        "origin": base_url,
    }
    return headers, [str(a.id) for a in addresses]


async def aftercare(database: Any, ids: dict[str, list[str]]) -> dict[str, list[str]]:
    """Disputes, returns and reviews to fuzz: the fuzz customer (`customer_session`'s) is made
    vendor A's user too; vendor A's sub-orders are delivered and made the customer's; each
    gets a review, an open dispute and a return (the first two shipped back)."""
    import uuid

    from sqlalchemy import select, update

    from app.auth.actor import SYSTEM
    from app.models.marketplace import SubOrder
    from app.models.orders import Order, OrderLine
    from app.models.users import User
    from app.services.marketplace import disputes, returns, reviews
    from app.services.marketplace.sub_orders import move_sub_order
    from app.services.sessions import user_actor

    vendor_id = uuid.UUID(ids["vendors"][0])
    async with database.unit_of_work() as uow:
        user = await uow.session.scalar(
            select(User).where(User.email == "fuzz.customer@example.com")
        )
        assert user is not None
        user.vendor_id = vendor_id
        subs = list(
            await uow.session.scalars(
                select(SubOrder).where(SubOrder.vendor_id == vendor_id).order_by(SubOrder.id)
            )
        )
        await uow.session.execute(
            update(Order)
            .where(Order.id.in_([s.order_id for s in subs]))
            .values(customer_id=str(user.customer_id))
        )
        for sub_order in subs:
            for step in ("confirmed", "shipped", "delivered"):
                await move_sub_order(
                    uow, SYSTEM, id=str(sub_order.id), status=step, tracking_number="1Z",
                    carrier="UPS",
                )  # fmt: skip
        await uow.commit()
    made: dict[str, list[str]] = {"disputes": [], "returns": [], "reviews": []}
    async with database.read_session() as session:
        actor = await user_actor(session, user)
    for n, sub_order in enumerate(subs):
        async with database.unit_of_work() as uow:
            line = await uow.session.scalar(
                select(OrderLine.id).where(OrderLine.sub_order_id == sub_order.id)
            )
            review = await reviews.create_review(
                uow, actor, vendor_id=str(vendor_id), sub_order_id=str(sub_order.id), rating=4,
                title="Fuzz", body=None,
            )  # fmt: skip
            dispute = await disputes.open_dispute(
                uow, actor, sub_order_id=str(sub_order.id), reason="damaged", message="fuzz"
            )
            back = await returns.create_return(
                uow, actor, sub_order_id=str(sub_order.id), lines=[(str(line), 1)], reason="fuzz"
            )
            if n < 2:
                await returns.ship_back(
                    uow, actor, id=str(back.id), tracking_number="RT", carrier="DHL"
                )
            await uow.commit()
        made["reviews"].append(str(review.id))
        made["disputes"].append(str(dispute.id))
        made["returns"].append(str(back.id))
    return {
        **made,
        "review_vendors": [str(vendor_id)],
        "reviewed_sub_orders": [str(s.id) for s in subs],
        "ratings": [1, 3, 5],  # type: ignore[list-item]
    }


def path_kind(path: str, param: str) -> str:
    """The dictionary a path parameter draws from; an unknown one fails the test, so that a
    new route gets its ids (and is fuzzed beyond its 404)."""
    segments = path.strip("/").split("/")
    before = segments[segments.index(f"{{{param}}}") - 1]
    kind = PATH_KINDS.get((before, param))
    assert kind is not None, (
        f"{path}: no ids for {{{param}}} after {before!r}: add it to tests/support/fuzz.py"
    )
    return kind


async def known_ids(base_url: str, key: str) -> dict[str, list[str]]:
    """The ids of the seeded shop, read through the API, plus a few resources made for the
    fuzzer to break: carts with items, warehouses, API keys, a price modifier and a
    reservation."""
    async with httpx.AsyncClient(base_url=base_url, headers={"x-api-key": key}, timeout=30) as http:

        async def get(path: str, **params: Any) -> Any:
            response = await http.get(path, params=params)
            assert response.status_code == 200, (path, response.text)
            return response.json()["data"]

        async def post(path: str, body: dict[str, Any]) -> Any:
            response = await http.post(path, json=body)
            assert response.status_code in (200, 201), (path, response.text)
            return response.json()["data"]

        entities = await get("/api/catalog/entities", limit=100, include="variants")
        products = [e for e in entities if e["variants"] and e["status"] == "active"]
        variants = [v for e in products for v in e["variants"]]
        categories = await get("/api/catalog/categories", limit=100)
        brands = await get("/api/catalog/brands", limit=100)
        warehouses = await get("/api/inventory/warehouses", limit=100)
        orders = await get("/api/orders", limit=100)
        promotions = await get("/api/promotions", limit=100)
        audit = await get("/api/audit", limit=50)
        rest_less = await http.post(
            "/graphql",
            json={
                "query": "{ customers(limit: 20) { items { id } } "
                "customerGroups(limit: 20) { items { id } } "
                "prices(limit: 20) { items { id } } priceModifiers(limit: 20) { items { id } } "
                "users(limit: 20) { items { id } } jobs(limit: 20) { items { id } } }"
            },
        )
        people = rest_less.json()["data"]

        carts, cart_items = [], []
        for product in products[:2]:
            cart = await post("/api/carts", {"currency": "USD"})
            for variant in product["variants"][:2]:
                cart = await post(
                    f"/api/carts/{cart['id']}/items",
                    {"entityId": product["id"], "variantId": variant["id"], "quantity": 1},
                )
            carts.append(cart["id"])
            cart_items += [item["id"] for item in cart["items"]]
        spare_warehouses = [
            (await post("/api/inventory/warehouses", {"code": f"FUZZ-{n}", "name": f"Fuzz {n}"}))[
                "id"
            ]
            for n in range(2)
        ]
        spare_keys = [
            (await post("/api/v1/api-keys", {"name": f"spare {n}", "permissions": ["audit:read"]}))[
                "id"
            ]
            for n in range(3)
        ]
        # Endpoints at a closed local port (the server allows private targets for the run),
        # subscribed to a rare event: a delivery job per fuzzed change would crowd SQLite's
        # one writer.
        hook = {"url": "http://127.0.0.1:9/fuzz", "events": ["inventory.low_stock"]}
        webhooks = [(await post("/api/webhooks", hook))["id"] for _ in range(6)]
        plain = [
            (await post("/api/catalog/entities", {"type": "product", "slug": f"fuzz-plain-{n}"}))[
                "id"
            ]
            for n in range(2)
        ]
        # Staff roles (the built-in ones cannot be changed); the last few for deleteRole only.
        roles = []
        for n in range(6):
            made = await http.post(
                "/graphql",
                json={
                    "query": "mutation($n: String!) { createRole(input: "
                    "{name: $n, permissions: []}) { id } }",
                    "variables": {"n": f"fuzz-{n}"},
                },
            )
            roles.append(made.json()["data"]["createRole"]["id"])
        # What carts take: one product, one variant, stock for every quantity.
        cart_product = await post(
            "/api/v1/products",
            {
                "name": "Fuzz cart product",
                "sku": "FUZZ-CART",
                "price": 9.99,
                "currency": "USD",
                "stock": 1_000_000,
                "status": "active",
            },
        )
        modifier = await post(
            "/api/pricing/modifiers", {"name": "Fuzz", "kind": "percentage", "value": 5}
        )
        vendors, sub_orders = await _marketplace(http, post, cart_product)
        rules, payouts = await _ledger(http, post, vendors[0])
        # Pictures: the first three in an active entity's gallery (public), the rest for
        # DELETE only.
        media = []
        for n in range(6):
            response = await http.post(
                "/api/media/upload", files={"file": (f"fuzz-{n}.png", FUZZ_PNG, "image/png")}
            )
            assert response.status_code == 201, response.text
            media.append(response.json()["data"])
        # Vendor documents (pending, of the first vendor): the review routes' `docId`.
        vendor_documents = []
        for n in range(3):
            response = await http.post(
                f"/api/marketplace/vendors/{vendors[0]}/documents",
                files={"file": (f"doc-{n}.png", FUZZ_PNG, "image/png")},
                data={"kind": "other"},
            )
            assert response.status_code == 201, response.text
            vendor_documents.append(response.json()["data"]["id"])
        for made in media[:3]:
            await post(
                "/api/media/attach",
                {"entityId": products[0]["id"], "mediaAssetId": made["id"], "role": "gallery"},
            )
        held = products[-1]
        reservations = await post(
            "/api/inventory/reserve",
            {"entityId": held["id"], "variantId": held["variants"][0]["id"], "quantity": 1},
        )

    # The product carts take is left alone by every other route (it is not among `entities`);
    # the last few of each kind are for DELETE only.
    entity_ids = [e["id"] for e in entities]
    ids: dict[str, list[str]] = {
        "entities": entity_ids[:-3],
        "doomed_entities": entity_ids[-3:],
        "entity_refs": [*entity_ids[:-3], *(e["slug"] for e in entities[:-3])],
        "plain_entities": plain,
        "optioned_entities": [
            e["id"] for e in products if e["optionTypes"] and e["id"] in entity_ids[:-3]
        ],
        "variants": [v["id"] for v in variants],
        "skus": [v["sku"] for v in variants],
        "option_types": [o["id"] for e in products for o in e["optionTypes"]],
        "option_values": [v["id"] for e in products for o in e["optionTypes"] for v in o["values"]],
        "categories": [c["id"] for c in categories[:-3]],
        "category_refs": [*(c["id"] for c in categories[:-3]), *(c["slug"] for c in categories)],
        "doomed_categories": [c["id"] for c in categories[-3:]],
        "brands": [b["id"] for b in brands[:-3]],
        "brand_refs": [*(b["id"] for b in brands[:-3]), *(b["slug"] for b in brands)],
        "doomed_brands": [b["id"] for b in brands[-3:]],
        "warehouses": [w["id"] for w in warehouses] + spare_warehouses,
        "spare_warehouses": spare_warehouses,
        "orders": [o["id"] for o in orders],
        "order_refs": [*(o["id"] for o in orders), *(o["number"] for o in orders)],
        "order_lines": [line["id"] for o in orders for line in o["lines"]],
        "promotions": [p["id"] for p in promotions],
        "promotion_codes": [p["code"] for p in promotions],
        "promotion_refs": [*(p["id"] for p in promotions), *(p["code"] for p in promotions)],
        "prices": [p["id"] for p in people["prices"]["items"]],
        "price_modifiers": [modifier["id"], *(m["id"] for m in people["priceModifiers"]["items"])],
        "audited_types": sorted({a["entityType"] for a in audit}),
        "audited_ids": sorted({a["entityId"] for a in audit}),
        "carts": carts,
        "cart_entities": [cart_product["id"]],
        "cart_variants": [v["id"] for v in cart_product["variants"]],
        "cart_items": cart_items,
        "spare_api_keys": spare_keys,
        "webhooks": webhooks[:3],
        "doomed_webhooks": webhooks[3:],
        "customers": [c["id"] for c in people["customers"]["items"]],
        "groups": [g["id"] for g in people["customerGroups"]["items"]],
        "users": [u["id"] for u in people["users"]["items"]],
        "roles": roles[:3],
        # Jobs are made by the server, not through the API: when none is there yet, an id
        # that names no job (each route is still fuzzed past its path).
        "jobs": [j["id"] for j in people["jobs"]["items"]]
        or ["01a22d40-0000-7000-8000-000000000000"],
        "doomed_roles": roles[3:],
        "reservations": [r["id"] for r in reservations],
        "vendors": vendors,
        "sub_orders": sub_orders,
        "commission_rules": rules[:2],
        "doomed_commission_rules": rules[2:],
        "payouts": payouts,
        # Disputes, returns and reviews are a signed-in customer's: `aftercare` makes them
        # once the customer is there (these name none until then).
        "disputes": ["01a22d40-0000-7000-8000-000000000001"],
        "returns": ["01a22d40-0000-7000-8000-000000000002"],
        "reviews": ["01a22d40-0000-7000-8000-000000000003"],
        "review_vendors": vendors[:1],
        "reviewed_sub_orders": sub_orders[:1],
        "ratings": [5],  # type: ignore[list-item]
        "order_currencies": sorted({o["currency"] for o in orders if o.get("currency")}) or ["USD"],
        "refund_amounts": [1, 50],  # type: ignore[list-item]
        "media": [m["id"] for m in media[:3]],
        "doomed_media": [m["id"] for m in media[3:]],
        "vendor_documents": vendor_documents,
        "locales": ["en", "de", "fr"],
        "currencies": ["USD", "EUR", "JPY"],
        "emails": ["fuzz.one@example.com", "fuzz.two@example.com"],
        "phones": ["+1 555 0100", "(030) 1234-5678"],
        "payment_methods": ["pm_card_visa", "pm_card_declined"],
    }
    empty = [kind for kind, values in ids.items() if not values]
    assert not empty, f"the seeded shop has no ids for {empty}"
    return ids


async def _marketplace(
    http: httpx.AsyncClient, post: Any, cart_product: dict[str, Any]
) -> tuple[list[str], list[str]]:
    """Vendors in each status (registered for no one, then moved), and sub-orders of orders
    split between two of them and the house."""
    vendors = []
    for n, action in enumerate(("approve", "approve", "approve", None, "reject", "suspend")):
        made = await post("/api/marketplace/vendors", {"name": f"Fuzz {n}", "email": f"v{n}@x.io"})
        if action == "suspend":
            await post(f"/api/marketplace/vendors/{made['id']}/approve", {})
        if action is not None:
            await post(f"/api/marketplace/vendors/{made['id']}/{action}", {"reason": "fuzz"})
        vendors.append(made["id"])
    sold = []
    for n, vendor in enumerate(vendors[:2]):
        product = await post(
            "/api/v1/products",
            {"name": f"Fuzz vendor product {n}", "sku": f"FUZZ-V{n}", "price": 5,
             "currency": "USD", "stock": 1_000, "status": "active"},
        )  # fmt: skip
        patched = await http.patch(
            f"/api/catalog/entities/{product['id']}", json={"vendorId": vendor}
        )
        assert patched.status_code == 200, patched.text
        sold.append(product["id"])
    orders = []
    for _ in range(3):
        cart = await post("/api/carts", {"currency": "USD"})
        for entity in (*sold, cart_product["id"]):
            await post(f"/api/carts/{cart['id']}/items", {"entityId": entity, "quantity": 1})
        orders.append(
            await post("/api/checkout", {"cartId": cart["id"], "paymentMethodId": "pm_card_visa"})
        )
    listed = await http.get("/api/marketplace/sub-orders", params={"limit": 100})
    assert listed.status_code == 200, listed.text
    return vendors, [s["id"] for s in listed.json()["data"]]


async def _ledger(http: httpx.AsyncClient, post: Any, vendor: str) -> tuple[list[str], list[str]]:
    """Commission rules (the last two for DELETE), and a paid payout of an active vendor
    (credited by an adjustment, paid through the gateway's POST /commissions)."""
    rules = [
        (await post("/api/marketplace/commission-rules",
                    {"name": f"Fuzz {n}", "kind": "percentage", "scope": "global",
                     "rateBps": 100 * n}))["id"]
        for n in range(4)
    ]  # fmt: skip
    adjusted = await http.post(
        "/graphql",
        json={
            "query": "mutation($i: AdjustVendorBalanceInput!) { adjustVendorBalance(input: $i)"
            " { id } }",
            "variables": {"i": {"vendorId": vendor, "amount": 5000, "currency": "USD",
                                "reason": "fuzz"}},
        },
    )  # fmt: skip
    assert "errors" not in adjusted.json(), adjusted.text
    paid = await post("/api/v1/commissions", {"vendorId": vendor, "currency": "USD", "amount": 10})
    return rules, [paid["id"]]


def _toml(value: Any) -> str:
    """A TOML value: JSON's strings, numbers and arrays are TOML's too."""
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{json.dumps(k)} = {_toml(v)}" for k, v in value.items()) + " }"
    return json.dumps(value)


def config(
    dictionaries: dict[str, list[str]],
    parameters: dict[str, dict[str, Any]],
    operations: Iterable[dict[str, Any]] = (),
    *,
    examples: int,
    scenarios: int,
) -> str:
    """A schemathesis.toml: the hooks, the dictionaries, global parameter bindings and
    per-operation sections; `examples` cases per operation in the fuzzing phase, `scenarios`
    in the stateful phase. The stateful phase sends valid data only: its point is to chain
    calls through what they create, which invalid data never does (the other phases send
    invalid data)."""
    lines = [f"hooks = {_toml(str(HOOKS))}", ""]
    # No example database: hypothesis wrote each case to .hypothesis/ and replayed them in
    # later runs (a growing cost on a developer's machine), and a run replaying another
    # run's cases is no longer the one its seed names.
    lines += ["[generation]", f"max-examples = {examples}", 'database = "none"', ""]
    # An unserved method is one router's 405 for every path (tests/api/test_platform.py):
    # probing it on each of them costs a tenth of the coverage phase and finds nothing new.
    lines += ["[phases.coverage]", "unexpected-methods = []", ""]
    lines += ["[phases.stateful.generation]", 'mode = "positive"', f"max-examples = {scenarios}"]
    lines.append("")
    for name, values in dictionaries.items():
        lines += [f"[dictionaries.{name}]", f"values = {_toml(values)}", ""]
    lines += ["[parameters]", *(f"{_toml(k)} = {_toml(v)}" for k, v in parameters.items()), ""]
    for operation in operations:
        lines.append("[[operations]]")
        lines += [f"{_toml(k)} = {_toml(v)}" for k, v in operation.items()]
        lines.append("")
    return "\n".join(lines)


def run(
    config_path: Path,
    location: str,
    key: str,
    *,
    key_id: str,
    answers: Path,
    args: Sequence[str],
    timeout: float = 300,
) -> subprocess.CompletedProcess[str]:
    """`schemathesis run` with the admin key (`key_id` is its id, which the hooks keep the
    fuzzer from revoking), the fixed seed, and the recorder writing to `answers`."""
    return subprocess.run(
        [
            str(SCHEMATHESIS),
            "--config-file",
            str(config_path),
            "run",
            location,
            "-H",
            f"x-api-key: {key}",
            "--seed",
            str(SEED),
            "--no-color",
            *args,
        ],
        capture_output=True,
        text=True,
        timeout=timeout,
        env={
            **os.environ,
            "CARTOGRAPH_FUZZ_ANSWERS": str(answers),
            "CARTOGRAPH_FUZZ_OWN_KEY_ID": key_id,
        },
    )


async def failed_jobs(database: Database, count: int = 3) -> None:
    """Jobs are made by the server, never through the API: a few that failed, for the retry
    route (of a kind nothing handles, so that when retried they run and fail again)."""
    async with database.unit_of_work() as uow:
        for n in range(count):
            uow.session.add(
                Job(queue="fuzz", kind="fuzz.nothing", payload={"n": n}, status="failed")
            )
        await uow.commit()


def answers(path: Path) -> list[dict[str, Any]]:
    """What the recorder hook wrote: one row per (phase, operation, status) seen."""
    assert path.exists(), "schemathesis ended before its recorder wrote the answers"
    return json.loads(path.read_text())


# GraphQL: the resource a root field's `id` (or `idOrSlug`...) names, by the type it answers.
GRAPHQL_RESOURCES: dict[str, str] = {
    "CatalogEntity": "entities",
    "Category": "categories",
    "Brand": "brands",
    "Warehouse": "spare_warehouses",
    "ApiKey": "spare_api_keys",
    "WebhookEndpoint": "webhooks",
    "Promotion": "promotions",
    "Order": "orders",
    "Cart": "carts",
    "Customer": "customers",
    "CustomerGroup": "groups",
    "Price": "prices",
    "PriceModifier": "price_modifiers",
    "User": "users",
    "Role": "roles",
    "Job": "jobs",
    "Vendor": "vendors",
    "SubOrder": "sub_orders",
    "CommissionRule": "commission_rules",
    "Payout": "payouts",
    "Dispute": "disputes",
    "Return": "returns",
    "Review": "reviews",
    "MediaAsset": "media",
    "VendorDocument": "vendor_documents",
}
# ...and the other arguments and input fields that name one, wherever they are.
GRAPHQL_FIELDS: dict[str, str] = {
    **{field.split("[")[0].split(".")[-1]: kind for field, kind in BODY_KINDS.items()},
    "entityIdOrSlug": "entity_refs",
    "locale": "locales",
    "categoryId": "categories",
    "brandId": "brands",
    "optionTypeId": "option_types",
    "itemId": "cart_items",
    "lineId": "order_lines",
    "email": "emails",
    "phone": "phones",
}
# `idOrSlug`, `idOrCode`, `idOrNumber` draw from ids and the other names alike.
REFS = {
    "entities": "entity_refs",
    "categories": "category_refs",
    "brands": "brand_refs",
    "promotions": "promotion_refs",
    "orders": "order_refs",
}


def graphql_parameters(schema: graphql.GraphQLSchema) -> dict[str, dict[str, Any]]:
    """Dictionary bindings for every argument of a root field, and every field of an input
    argument (and of its lists of inputs), that names a resource."""
    bindings: dict[str, dict[str, Any]] = {}
    for root in (schema.query_type, schema.mutation_type):
        assert root is not None
        for name, field in root.fields.items():
            answers = graphql.get_named_type(field.type).name
            for path, leaf in _argument_leaves(field.args):
                kind = GRAPHQL_FIELDS.get(leaf)
                if leaf == "id" or leaf.startswith("idOr"):
                    kind = GRAPHQL_RESOURCES.get(answers)
                    if kind is not None and leaf.startswith("idOr"):
                        kind = REFS.get(kind, kind)
                    elif kind is not None and name.startswith("delete"):
                        kind = DOOMED.get(kind, kind)
                elif leaf == "sku" and name.startswith("create"):
                    kind = None  # a new SKU: an existing one is only ever a conflict
                if kind is not None:
                    probability = PATH_PROBABILITY if path.count(".") <= 1 else BODY_PROBABILITY
                    bindings[f"{root.name}.{name}.{path}"] = {
                        "dictionary": kind,
                        "probability": probability,
                    }
    return bindings


def graphql_operations(
    schema: graphql.GraphQLSchema, examples: int, session_headers: dict[str, str] | None = None
) -> list[dict[str, Any]]:
    """More cases for the root fields that name a resource by its id among other checked
    input fields (`updateCustomer`): most generated inputs fail a check, and one must pass.
    The fields of `SESSION_FIELDS` are sent with the fuzz customer's session."""
    sections = []
    for name in sorted(graphql_fields_naming_one(schema)):
        type_name, field_name = name.split(".")
        root = schema.get_type(type_name)
        assert isinstance(root, graphql.GraphQLObjectType)
        leaves = list(_argument_leaves(root.fields[field_name].args))
        section: dict[str, Any] = {"include-name": name}
        if len(leaves) > 2 or name in MORE_EXAMPLES:
            section["generation"] = {"max-examples": examples}
        if name in SESSION_FIELDS and session_headers is not None:
            section["headers"] = session_headers
        if len(section) > 1:
            sections.append(section)
    return sections


def graphql_fields_naming_one(schema: graphql.GraphQLSchema) -> set[str]:
    """The root fields (`Query.order`) that take the id of the resource they answer, as an
    argument (`idOrNumber`) or as their input's `id`."""
    fields = set()
    for key in graphql_parameters(schema):
        type_name, field, path = key.split(".", 2)
        if path in ("id", "input.id") or path.startswith("idOr"):
            fields.add(f"{type_name}.{field}")
    return fields


def _argument_leaves(
    args: dict[str, graphql.GraphQLArgument],
) -> Iterable[tuple[str, str]]:
    """(binding path, leaf name) of each scalar argument and scalar input field, two input
    levels deep (`input.lines[*].lineId`)."""
    for name, arg in args.items():
        yield from _leaves(name, name, arg.type, depth=0)


def _leaves(
    path: str, leaf: str, type_: graphql.GraphQLInputType, depth: int
) -> Iterable[tuple[str, str]]:
    named = graphql.get_nullable_type(type_)
    is_list = isinstance(named, graphql.GraphQLList)
    if is_list:
        named = graphql.get_nullable_type(named.of_type)
    if isinstance(named, graphql.GraphQLInputObjectType):
        if depth < 2:
            prefix = f"{path}[*]" if is_list else path
            for name, field in named.fields.items():
                yield from _leaves(f"{prefix}.{name}", name, field.type, depth + 1)
        return
    yield (f"{path}[*]" if is_list else path), leaf
