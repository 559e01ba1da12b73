"""The demo customers' users: one each, role customer, e-mail verified, linked to the customer
record, with no password (the tour sets one with `cartograph user set-password`); the demo
orders of customers belong to those customers."""

from __future__ import annotations

from sqlalchemy import select

from app.db import Database
from app.models.customers import Customer
from app.models.orders import Order
from app.models.users import Role, User, user_roles
from app.services.demo import seed_demo
from app.services.demo.shop import CUSTOMERS
from tests.support.users import make_user


async def test_every_demo_customer_gets_a_verified_customer_user_without_a_password(
    database: Database,
) -> None:
    report = await seed_demo(database, products=1, orders=False)

    async with database.read_session() as session:
        rows = (
            await session.execute(
                select(User, Customer, Role.name)
                .join(Customer, Customer.id == User.customer_id)
                .join(user_roles, user_roles.c.user_id == User.id)
                .join(Role, Role.id == user_roles.c.role_id)
            )
        ).all()
    assert report.users_created == len(CUSTOMERS) == len(rows)
    assert sorted(user.email for user, _, _ in rows) == sorted(c.email for c in CUSTOMERS)
    for user, customer, role in rows:
        assert user.email == customer.email and role == "customer"
        assert user.email_verified and user.status == "active"
        assert user.password_hash is None
        assert user.name == f"{customer.first_name} {customer.last_name}"
    assert "ada.lovelace" in {user.username for user, _, _ in rows}

    again = await seed_demo(database, products=1, orders=False)
    assert again.users_created == 0


async def test_an_address_a_user_has_already_is_left_alone(database: Database) -> None:
    staff = await make_user(
        database, email="ada.lovelace@example.com", customer=False, roles=("admin",)
    )

    report = await seed_demo(database, products=1, orders=False)

    assert report.users_created == len(CUSTOMERS) - 1
    async with database.read_session() as session:
        kept = await session.get(User, staff.id)
    assert kept is not None and kept.customer_id is None


async def test_the_demo_orders_of_customers_are_theirs(database: Database) -> None:
    await seed_demo(database, products=12)

    async with database.read_session() as session:
        orders = list(await session.scalars(select(Order).where(Order.customer_id.is_not(None))))
        users = {str(u.customer_id): u for u in await session.scalars(select(User))}
    assert orders
    assert all(order.customer_id in users for order in orders)
    assert {users[o.customer_id].email for o in orders} <= {c.email for c in CUSTOMERS}  # type: ignore[index]
