"""The bench suite's data set (`bench/dataset.py`) is data the API reads as its own: a small
build, read back through GraphQL and REST, keeps the app's invariants (prices and stock that
sell, orders whose totals add up, search documents, fresh order numbers for a checkout).
PostgreSQL only, as the bench is (its SQL is PostgreSQL's)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy import text

from app.db import Database
from bench import dataset

PRODUCTS = 30
ORDERS = 40
PRODUCT = """
query P($slug: String!) { catalogEntity(idOrSlug: $slug) {
  status variants { id entityId sku price { amount currency } available } } }"""
ORDERS_QUERY = """
{ orders(first: 100) { totalCount items { number status paymentStatus total { amount }
  lines { quantity unitPrice { amount } total { amount } }
  payments { amount { amount } status } } } }"""


async def graphql(client: httpx.AsyncClient, query: str, **variables: Any) -> Any:
    response = await client.post("/graphql", json={"query": query, "variables": variables})
    body = response.json()
    assert response.status_code == 200 and "errors" not in body, response.text
    return body["data"]


async def test_the_bench_data_set_reads_and_sells_as_the_apps_own(
    database: Database, admin: httpx.AsyncClient, client: httpx.AsyncClient
) -> None:
    if database.is_sqlite:
        pytest.skip("the bench's data set is built with PostgreSQL's SQL")
    built = await dataset.build(database, products=PRODUCTS, orders=ORDERS)
    assert (built.entities, built.orders) == (PRODUCTS, ORDERS)
    # Built already: a second call reuses it.
    assert (await dataset.build(database, products=PRODUCTS, orders=ORDERS)).seconds == 0

    product = (await graphql(client, PRODUCT, slug="bench-000001"))["catalogEntity"]
    assert product["status"] == "ACTIVE"
    assert [v["sku"][-2:] for v in product["variants"]] == ["-L", "-M", "-S"]
    async with database.read_session() as session:
        stock = dict(
            (
                await session.execute(
                    text(
                        "SELECT l.sku, sum(l.quantity) FROM inventory_levels AS l "
                        "WHERE l.sku LIKE 'BENCH-000001-%' GROUP BY l.sku"
                    )
                )
            ).all()
        )
        unbalanced = await session.scalar(
            text(
                "SELECT count(*) FROM inventory_levels AS l WHERE l.quantity <> "
                "(SELECT sum(m.delta) FROM inventory_movements AS m WHERE m.level_id = l.id)"
            )
        )
        warehouses = await session.scalar(
            text("SELECT count(DISTINCT warehouse_id) FROM inventory_levels")
        )
    assert unbalanced == 0 and warehouses == 3
    for variant in product["variants"]:
        assert variant["price"]["currency"] == "USD" and variant["price"]["amount"] > 0
        assert variant["available"] == stock[variant["sku"]]

    orders = (await graphql(admin, ORDERS_QUERY))["orders"]
    assert orders["totalCount"] == ORDERS
    numbers = [order["number"] for order in orders["items"]]
    assert numbers == sorted(numbers, reverse=True)  # newest first: ids follow time
    for order in orders["items"]:
        lines = order["lines"]
        assert order["status"] == "CONFIRMED" and order["paymentStatus"] == "PAID"
        assert order["total"]["amount"] == sum(line["total"]["amount"] for line in lines)
        for line in lines:
            assert line["total"]["amount"] == line["unitPrice"]["amount"] * line["quantity"]
        assert order["payments"] == [{"amount": order["total"], "status": "SUCCEEDED"}]

    title = await graphql(client, '{ search(q: "bench-000002") { totalCount items { slug } } }')
    assert title["search"]["items"][0]["slug"] == "bench-000002"

    variant = product["variants"][0]
    cart = (await client.post("/api/carts", json={"currency": "USD"})).json()["data"]["id"]
    item = {"entityId": variant["entityId"], "variantId": variant["id"], "quantity": 1}
    assert (await client.post(f"/api/carts/{cart}/items", json=item)).status_code == 201
    paid = await client.post(
        "/api/checkout", json={"cartId": cart, "paymentMethodId": "pm_card_visa"}
    )
    assert paid.status_code == 201, paid.text
    assert paid.json()["data"]["number"] not in numbers
