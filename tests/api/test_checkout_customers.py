"""Customers on the checkout: whose order it is, and the groups that price it, come from the
cart's customer (or a `customerId` that exists, named by a caller allowed to), so group
prices and group promotions apply at checkout exactly as the cart and `validate` said."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from starlette.applications import Starlette

from app.db import Database
from app.models.catalog import CatalogEntity
from app.models.customers import Customer
from app.models.orders import Order
from app.models.pricing import CustomerGroup
from tests.api.test_checkout import CHECKOUT, product
from tests.conftest import client_with
from tests.support.factories import customer
from tests.support.pricing import make_group, make_price
from tests.support.promotions import make_promotion

UNKNOWN = "5b0c6f0e-0000-4000-8000-000000000000"


async def vip_setup(database: Database) -> tuple[CatalogEntity, CustomerGroup, Customer]:
    """A mug at 20.00 (16.00 for VIP), a VIP-only code VIP10 (10% off), and a VIP customer."""
    mug = await product(database, "mug", 2000, stock=10)
    vip = await make_group(database, name="VIP")
    await make_price(database, mug, amount=1600, group=vip)
    await make_promotion(database, code="VIP10", value=10, customer_group_ids=[str(vip.id)])
    return mug, vip, await customer(database, groups=[vip])


async def cart_for(
    admin: httpx.AsyncClient, mug: CatalogEntity, customer_id: str | None = None
) -> dict[str, Any]:
    body = {"currency": "USD"} | ({"customerId": customer_id} if customer_id else {})
    cart = (await admin.post("/api/carts", json=body)).json()["data"]
    added = await admin.post(
        f"/api/carts/{cart['id']}/items", json={"entityId": str(mug.id), "quantity": 2}
    )
    assert added.status_code == 201, added.text
    return added.json()["data"]


async def orders(database: Database) -> int:
    async with database.read_session() as session:
        return await session.scalar(select(func.count()).select_from(Order)) or 0


async def test_a_group_customers_cart_gets_the_group_price_and_code_at_checkout(
    admin: httpx.AsyncClient, database: Database
) -> None:
    mug, _, vip_customer = await vip_setup(database)
    cart = await cart_for(admin, mug, str(vip_customer.id))
    assert cart["total"] == 3200  # the cart shows the VIP price

    validated = await admin.post(
        "/api/promotions/validate",
        json={"code": "VIP10", "currency": "USD", "customerId": str(vip_customer.id),
              "lineItems": [{"entityId": str(mug.id), "quantity": 2}]},
    )  # fmt: skip
    check = validated.json()["data"]
    assert (check["valid"], check["discount"], check["total"]) == (True, 320, 2880)

    response = await admin.post(
        CHECKOUT,
        json={"cartId": cart["id"], "paymentMethodId": "pm_card_visa",
              "promotionCodes": ["VIP10"]},
    )  # fmt: skip
    assert response.status_code == 201, response.text
    order = response.json()["data"]
    assert order["customerId"] == str(vip_customer.id)
    # A group price is the customer's list price (modifiers would come off it).
    assert (order["subtotal"], order["modifierDiscountTotal"]) == (3200, 0)
    assert (order["promotionDiscountTotal"], order["total"]) == (320, check["total"])


async def test_a_key_placing_orders_may_name_an_existing_customer_for_an_anonymous_cart(
    admin: httpx.AsyncClient, database: Database
) -> None:
    mug, _, vip_customer = await vip_setup(database)
    cart = await cart_for(admin, mug)
    assert cart["total"] == 4000  # nobody's cart: list price
    response = await admin.post(
        CHECKOUT,
        json={"cartId": cart["id"], "paymentMethodId": "pm_card_visa",
              "customerId": str(vip_customer.id), "promotionCodes": ["VIP10"]},
    )  # fmt: skip
    assert response.status_code == 201, response.text
    order = response.json()["data"]
    assert (order["customerId"], order["total"]) == (str(vip_customer.id), 2880)


async def test_an_unknown_customer_is_404_and_changes_nothing(
    admin: httpx.AsyncClient, database: Database
) -> None:
    mug, _, _ = await vip_setup(database)
    cart = await cart_for(admin, mug)
    response = await admin.post(
        CHECKOUT,
        json={"cartId": cart["id"], "paymentMethodId": "pm_card_visa", "customerId": UNKNOWN},
    )
    assert response.status_code == 404, response.text
    assert response.json()["error"]["code"] == "NOT_FOUND"
    assert await orders(database) == 0
    again = (await admin.get(f"/api/carts/{cart['id']}")).json()["data"]
    assert (again["status"], again["customerId"]) == ("active", None)


@pytest.mark.parametrize(("permissions", "status"), [((), 401), (("carts:manage",), 403)])
async def test_naming_a_customer_needs_orders_create(
    app: Starlette,
    admin: httpx.AsyncClient,
    database: Database,
    permissions: tuple[str, ...],
    status: int,
) -> None:
    mug, _, vip_customer = await vip_setup(database)
    cart = await cart_for(admin, mug)
    body = {"cartId": cart["id"], "paymentMethodId": "pm_card_visa",
            "customerId": str(vip_customer.id)}  # fmt: skip
    if permissions:
        async for caller in client_with(app, database, *permissions):
            response = await caller.post(CHECKOUT, json=body)
    else:
        response = await httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://testserver"
        ).post(CHECKOUT, json=body)
    assert response.status_code == status, response.text
    assert await orders(database) == 0


async def test_another_customers_cart_cannot_be_checked_out_for_someone_else(
    admin: httpx.AsyncClient, database: Database
) -> None:
    mug, _, vip_customer = await vip_setup(database)
    someone = await customer(database)
    cart = await cart_for(admin, mug, str(someone.id))
    response = await admin.post(
        CHECKOUT,
        json={"cartId": cart["id"], "paymentMethodId": "pm_card_visa",
              "customerId": str(vip_customer.id)},
    )  # fmt: skip
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "CHECKOUT_FAILED"
    assert await orders(database) == 0


async def test_customer_group_ids_are_believed_from_staff_only(
    app: Starlette, admin: httpx.AsyncClient, database: Database
) -> None:
    mug, vip, _ = await vip_setup(database)
    body = {"paymentMethodId": "pm_card_visa", "customerGroupIds": [str(vip.id)],
            "promotionCodes": ["VIP10"]}  # fmt: skip
    async for shopper in client_with(app, database, "orders:read"):
        cart = await cart_for(admin, mug)
        refused = await shopper.post(CHECKOUT, json={"cartId": cart["id"], **body})
        assert refused.status_code == 422
        assert "customerGroupIds" in refused.json()["error"]["details"]
    assert await orders(database) == 0

    unknown = await admin.post(
        CHECKOUT, json={"cartId": cart["id"], **body, "customerGroupIds": [UNKNOWN]}
    )
    assert unknown.status_code == 422
    assert unknown.json()["error"]["details"] == {"customerGroupIds.0": "Unknown group."}

    staff = await admin.post(CHECKOUT, json={"cartId": cart["id"], **body})
    assert staff.status_code == 201, staff.text
    assert staff.json()["data"]["total"] == 2880  # the VIP price and the VIP code


async def test_graphql_checkout_names_the_customer(
    admin: httpx.AsyncClient, database: Database
) -> None:
    mug, _, vip_customer = await vip_setup(database)
    cart = await cart_for(admin, mug)
    response = await admin.post(
        "/graphql",
        json={"query": "mutation C($input: CheckoutInput!) { checkout(input: $input) "
              "{ order { customerId total { amount } } } }",
              "variables": {"input": {"cartId": cart["id"], "paymentMethodId": "pm_card_visa",
                                      "customerId": str(vip_customer.id)}}},
    )  # fmt: skip
    order = response.json()["data"]["checkout"]["order"]
    assert order == {"customerId": str(vip_customer.id), "total": {"amount": 3200}}
