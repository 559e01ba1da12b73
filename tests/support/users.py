"""Users for tests: a customer or staff member made through the models, signed in by starting
a session directly (the sign-in routes have tests of their own)."""

from __future__ import annotations

from datetime import timedelta

import httpx
from starlette.applications import Starlette

from app.auth.passwords import hash_password
from app.db import Database
from app.models.customers import Customer
from app.models.users import User
from app.services.roles import grant_roles
from app.services.sessions import start_session

COOKIE = "cartograph_session"


async def make_user(
    database: Database,
    *,
    email: str = "ada@example.com",
    name: str = "Ada Lovelace",
    roles: tuple[str, ...] = ("customer",),
    customer: bool = True,
    password: str | None = None,
    status: str = "active",
) -> User:
    """A user (with a customer record of the same address unless `customer=False`)."""
    async with database.unit_of_work() as uow:
        record = None
        if customer:
            first, _, last = name.partition(" ")
            record = Customer(email=email, first_name=first, last_name=last or None, meta={})
            uow.session.add(record)
            await uow.session.flush()
        user = User(
            email=email,
            name=name,
            username=email.split("@")[0],
            password_hash=await hash_password(password) if password else None,
            status=status,
            customer_id=record.id if record else None,
        )
        uow.session.add(user)
        await uow.session.flush()
        await grant_roles(uow.session, user.id, list(roles))
        await uow.commit()
    return user


async def session_token(
    database: Database,
    user: User,
    *,
    lifetime: timedelta = timedelta(days=30),
    idle_timeout: timedelta = timedelta(hours=72),
) -> str:
    """A live session's token for `user`, as the cookie would carry it."""
    async with database.unit_of_work() as uow:
        _, token = await start_session(uow, user, lifetime=lifetime, idle_timeout=idle_timeout)
        await uow.commit()
    return token


def cookie_client(
    app: Starlette, token: str, *, headers: dict[str, str] | None = None
) -> httpx.AsyncClient:
    """A client that sends `token` as the session cookie (and the server's own Origin, so
    that its writes pass the CSRF check), plus any `headers`."""
    sent = {"origin": "http://testserver", "cookie": f"{COOKIE}={token}", **(headers or {})}
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://testserver", headers=sent
    )
