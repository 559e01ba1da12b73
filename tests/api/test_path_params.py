"""A path parameter is the only source of the body field it fills in.

`POST /api/carts/{id}/items` documents a body without `cartId`: the path gives it. A body
that repeats such a field anyway is refused, equal to the path's value or not, with the
dialect's validation error naming the field, and changes nothing: neither the path nor the
body silently wins.
"""

from __future__ import annotations

import uuid

import httpx
import pytest
from sqlalchemy import func, select

from app.db import Database
from app.models.carts import CartItem
from app.rest.routes import ROUTES
from app.rest.table import RestRoute
from tests.api.test_carts import new_cart, priced

FILLED_FROM_PATH = [(route, field) for route in ROUTES for field in route.body_fields_from_path()]


@pytest.mark.parametrize(
    ("route", "field"),
    FILLED_FROM_PATH,
    ids=[f"{r.method} {r.path} {field}" for r, field in FILLED_FROM_PATH],
)
async def test_every_route_refuses_a_body_that_repeats_what_its_path_gives(
    admin: httpx.AsyncClient, route: RestRoute, field: str
) -> None:
    values = {param.name: str(uuid.uuid4()) for param in route.path_params}
    param = route.body_fields_from_path()[field]
    url = route.path.format(**values)
    if route.form:  # a multipart body (an upload): the field repeated as a form field
        response = await admin.request(
            route.method,
            url,
            data={field: values[param.name]},
            files={"file": ("x.pdf", b"%PDF-1.4\n", "application/pdf")},
        )
    else:
        response = await admin.request(route.method, url, json={field: values[param.name]})
    status, word = route.dialect.statuses["VALIDATION_FAILED"]
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert error["code"] == word
    assert error["details"] == {
        field: f"Given by the path ({{{param.name}}}); leave it out of the body."
    }


async def test_adding_an_item_with_the_carts_id_in_the_body_is_refused_and_adds_nothing(
    client: httpx.AsyncClient, database: Database
) -> None:
    mug = await priced(database, "mug", 1250)
    cart = await new_cart(client)
    for repeated in (cart, str(uuid.uuid4())):
        response = await client.post(
            f"/api/carts/{cart}/items",
            json={"cartId": repeated, "entityId": str(mug.id), "quantity": 1},
        )
        assert response.status_code == 422
        assert response.json() == {
            "error": {
                "code": "VALIDATION_FAILED",
                "message": "cartId: Given by the path ({id}); leave it out of the body.",
                "details": {"cartId": "Given by the path ({id}); leave it out of the body."},
            }
        }
    async with database.read_session() as session:
        assert await session.scalar(select(func.count()).select_from(CartItem)) == 0
    added = await client.post(
        f"/api/carts/{cart}/items", json={"entityId": str(mug.id), "quantity": 1}
    )
    assert added.status_code == 201
    assert added.json()["data"]["id"] == cart


async def test_a_gateway_update_with_the_products_id_in_the_body_is_refused_and_changes_nothing(
    admin: httpx.AsyncClient,
) -> None:
    created = await admin.post("/api/v1/products", json={"name": "Widget", "sku": "W-1"})
    product = created.json()["data"]["id"]
    response = await admin.put(
        f"/api/v1/products/{product}", json={"id": product, "name": "Renamed"}
    )
    assert response.status_code == 400
    body = response.json()
    assert (body["success"], body["error"]["code"]) == (False, "VALIDATION_ERROR")
    assert body["error"]["details"] == {"id": "Given by the path ({id}); leave it out of the body."}
    fetched = await admin.get(f"/api/v1/products/{product}")
    assert fetched.json()["data"]["name"] == "Widget"
