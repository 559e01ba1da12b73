"""Sign-up, sign-in, get-session and sign-out (`/api/auth`, Better Auth's shapes) and their
GraphQL mutations: answers, the session cookie, rotation and expiry."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select, update
from starlette.applications import Starlette

from app.auth.passwords import HASHER
from app.db import Database
from app.models.audit import AuditEntry
from app.models.base import utcnow
from app.models.customers import Customer
from app.models.users import Role, User, UserSession, user_roles
from tests.conftest import client_for
from tests.support.users import COOKIE, cookie_client, make_user

PASSWORD = "correct horse battery staple"
ORIGIN = {"origin": "http://testserver"}
ISO = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$")


def browser(app: Starlette, **headers: str) -> httpx.AsyncClient:
    """A client with no cookie jar of its own (each test says what cookie it sends)."""
    return client_for(app, headers={**ORIGIN, **headers}, cookies=None)


def cookie_of(response: httpx.Response) -> str | None:
    """The session cookie's value as Set-Cookie sets it ("" when it is cleared)."""
    for value in response.headers.get_list("set-cookie"):
        name, _, rest = value.partition("=")
        if name == COOKIE:
            return rest.split(";")[0].strip('"')
    return None


def cookie_flags(response: httpx.Response) -> set[str]:
    [value] = [v for v in response.headers.get_list("set-cookie") if v.startswith(COOKIE + "=")]
    return {part.strip().lower() for part in value.split(";")[1:]}


async def sign_up(
    http: httpx.AsyncClient, *, email: str = "ada@example.com", password: str = PASSWORD,
    name: str = "Ada Lovelace",
) -> httpx.Response:  # fmt: skip
    return await http.post(
        "/api/auth/sign-up/email", json={"email": email, "password": password, "name": name}
    )


async def sign_in(
    http: httpx.AsyncClient, *, email: str = "ada@example.com", password: str = PASSWORD,
    headers: dict[str, str] | None = None,
) -> httpx.Response:  # fmt: skip
    return await http.post(
        "/api/auth/sign-in/email", json={"email": email, "password": password}, headers=headers
    )


async def get_session(app: Starlette, token: str | None) -> httpx.Response:
    headers = {"cookie": f"{COOKIE}={token}"} if token else {}
    async with browser(app, **headers) as http:
        return await http.get("/api/auth/get-session")


@pytest.fixture
async def http(app: Starlette) -> AsyncIterator[httpx.AsyncClient]:
    async with browser(app) as client:
        yield client


def assert_signed_in_shape(body: dict[str, Any], *, email: str) -> None:
    user, session = body["user"], body["session"]
    assert set(body) == {"user", "session"}
    assert set(user) == {"id", "email", "name", "emailVerified", "image", "createdAt", "updatedAt"}
    assert set(session) == {
        "id", "userId", "expiresAt", "createdAt", "updatedAt", "ipAddress", "userAgent",
    }  # fmt: skip
    assert user["email"] == email and user["image"] is None
    assert session["userId"] == user["id"]
    for stamp in (user["createdAt"], user["updatedAt"], session["expiresAt"]):
        assert ISO.match(stamp), stamp


# ---- sign-up ----------------------------------------------------------------------------------


async def test_sign_up_answers_user_and_session_and_sets_the_cookie(
    http: httpx.AsyncClient, database: Database
) -> None:
    response = await sign_up(http, email="  Ada@Example.COM ")
    assert response.status_code == 200, response.text
    body = response.json()
    assert_signed_in_shape(body, email="ada@example.com")
    assert body["user"]["name"] == "Ada Lovelace"
    assert body["user"]["emailVerified"] is False
    token = cookie_of(response)
    assert token and token.startswith("cs_")
    assert token not in response.text  # the token is the cookie's only
    async with database.read_session() as session:
        user = await session.scalar(select(User))
        customer = await session.scalar(select(Customer))
        roles = (
            await session.scalars(
                select(Role.name).join(user_roles).where(user_roles.c.user_id == user.id)
            )
        ).all()
        events = (await session.scalars(select(AuditEntry.event))).all()
    assert user is not None and customer is not None
    assert user.customer_id == customer.id and customer.email == "ada@example.com"
    assert (customer.first_name, customer.last_name) == ("Ada", "Lovelace")
    assert roles == ["customer"]
    assert user.password_hash and user.password_hash.startswith("$argon2id$")
    assert {"users.create", "customers.create", "sessions.create"} <= set(events)


async def test_the_cookie_is_httponly_lax_path_root_with_max_age(http: httpx.AsyncClient) -> None:
    response = await sign_up(http)
    flags = cookie_flags(response)
    assert {"httponly", "samesite=lax", "path=/"} <= flags
    assert "secure" not in flags  # plain http to testserver: local development
    [max_age] = [f for f in flags if f.startswith("max-age=")]
    assert 30 * 86400 - 60 <= int(max_age.split("=")[1]) <= 30 * 86400


@pytest.mark.parametrize(
    ("setting", "base_url", "secure"),
    [
        ("auto", "https://shop.example.com", True),
        ("auto", "http://shop.example.com", True),
        ("auto", "http://localhost", False),
        ("true", "http://testserver", True),
        ("false", "https://shop.example.com", False),
    ],
)
async def test_the_cookie_is_secure_outside_local_development(
    make_app: Any, setting: str, base_url: str, secure: bool
) -> None:
    app = make_app(session_cookie_secure=setting)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url=base_url) as http:
        response = await sign_up(http)
    assert response.status_code == 200, response.text
    assert ("secure" in cookie_flags(response)) is secure


async def test_sign_up_with_an_address_in_use_is_a_conflict(http: httpx.AsyncClient) -> None:
    await sign_up(http)
    response = await sign_up(http, email="ADA@example.com")
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "CONFLICT"
    assert cookie_of(response) is None


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"email": "not-an-address", "password": PASSWORD, "name": "A"}, "email"),
        ({"email": "a@example.com", "password": "short", "name": "A"}, "password"),
        ({"email": "a@example.com", "password": "x" * 129, "name": "A"}, "password"),
        ({"email": "a@example.com", "password": PASSWORD, "name": "  "}, "name"),
        ({"email": "a@example.com", "password": PASSWORD}, "name"),
    ],
)
async def test_sign_up_refuses_bad_input_and_writes_nothing(
    http: httpx.AsyncClient, database: Database, body: dict[str, Any], field: str
) -> None:
    response = await http.post("/api/auth/sign-up/email", json=body)
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["code"] == "VALIDATION_FAILED" and field in error["details"]
    async with database.read_session() as session:
        assert await session.scalar(select(func.count()).select_from(User)) == 0


# ---- sign-in ----------------------------------------------------------------------------------


async def test_sign_in_answers_user_and_session_and_sets_a_new_cookie(
    app: Starlette, database: Database
) -> None:
    await make_user(database, password=PASSWORD)
    async with browser(app, **{"user-agent": "pytest-browser"}) as http:
        response = await sign_in(http, email="ADA@example.com ")
    assert response.status_code == 200, response.text
    body = response.json()
    assert_signed_in_shape(body, email="ada@example.com")
    assert body["session"]["userAgent"] == "pytest-browser"
    assert body["session"]["ipAddress"] == "127.0.0.1"
    token = cookie_of(response)
    assert token and {"httponly", "samesite=lax", "path=/"} <= cookie_flags(response)
    again = await get_session(app, token)
    assert again.status_code == 200
    assert again.json()["session"]["id"] == body["session"]["id"]
    assert again.json()["user"] == body["user"]


async def test_an_unknown_email_and_a_wrong_password_are_answered_alike(
    app: Starlette, database: Database
) -> None:
    await make_user(database, password=PASSWORD)
    async with browser(app) as http:
        unknown = await sign_in(http, email="nobody@example.com")
        wrong = await sign_in(http, password="wrong password!")
    assert unknown.status_code == wrong.status_code == 401
    assert (
        unknown.json()
        == wrong.json()
        == {"error": {"code": "UNAUTHORIZED", "message": "Invalid email or password."}}
    )
    assert cookie_of(unknown) is cookie_of(wrong) is None


async def test_an_inactive_user_cannot_sign_in(app: Starlette, database: Database) -> None:
    await make_user(database, password=PASSWORD, status="inactive")
    async with browser(app) as http:
        response = await sign_in(http)
    assert response.status_code == 403
    assert cookie_of(response) is None


async def test_sign_in_rotates_the_session_the_browser_held(
    app: Starlette, database: Database
) -> None:
    await make_user(database, password=PASSWORD)
    async with browser(app) as http:
        first = cookie_of(await sign_in(http))
    async with browser(app, cookie=f"{COOKIE}={first}") as http:
        second = cookie_of(await sign_in(http))
    assert first and second and first != second
    assert (await get_session(app, first)).json() is None
    assert (await get_session(app, second)).json() is not None
    async with database.read_session() as session:
        events = (await session.scalars(select(AuditEntry.event))).all()
    assert sorted(events) == ["sessions.create", "sessions.create", "sessions.revoke"]


async def test_a_planted_token_is_worthless_after_sign_in(
    app: Starlette, database: Database
) -> None:
    """Session fixation: a cookie set before sign-in never becomes the signed-in session."""
    await make_user(database, password=PASSWORD)
    planted = "cs_" + "A" * 43
    async with browser(app, cookie=f"{COOKIE}={planted}") as http:
        response = await sign_in(http)
    assert cookie_of(response) not in (None, planted)
    assert (await get_session(app, planted)).json() is None


async def test_sign_in_rehashes_a_password_hashed_under_old_parameters(
    app: Starlette, database: Database
) -> None:
    from argon2 import PasswordHasher

    user = await make_user(database)
    old = PasswordHasher(time_cost=1, memory_cost=8 * 1024, parallelism=1).hash(PASSWORD)
    async with database.unit_of_work() as uow:
        await uow.session.execute(update(User).values(password_hash=old))
        await uow.commit()
    async with browser(app) as http:
        assert (await sign_in(http)).status_code == 200
    async with database.read_session() as session:
        stored = await session.scalar(select(User.password_hash).where(User.id == user.id))
    assert stored != old and stored is not None and not HASHER.check_needs_rehash(stored)
    assert HASHER.verify(stored, PASSWORD)


# ---- get-session and sign-out -----------------------------------------------------------------


async def test_get_session_without_a_cookie_is_null(app: Starlette) -> None:
    response = await get_session(app, None)
    assert response.status_code == 200
    assert response.json() is None
    assert cookie_of(response) is None


@pytest.mark.parametrize("ended", ["idle", "expired", "revoked"])
async def test_a_dead_session_is_null_and_its_cookie_cleared(
    app: Starlette, database: Database, ended: str
) -> None:
    await make_user(database, password=PASSWORD)
    async with browser(app) as http:
        token = cookie_of(await sign_in(http))
    async with database.unit_of_work() as uow:
        now = utcnow()
        values = {
            "idle": {"last_seen_at": now - timedelta(hours=72, seconds=1)},
            "expired": {"expires_at": now - timedelta(seconds=1)},
            "revoked": {"revoked_at": now},
        }[ended]
        await uow.session.execute(update(UserSession).values(**values))
        await uow.commit()
    response = await get_session(app, token)
    assert response.status_code == 200 and response.json() is None
    assert cookie_of(response) == ""
    assert "max-age=0" in cookie_flags(response)


async def test_sessions_follow_the_idle_and_absolute_settings(
    make_app: Any, database: Database
) -> None:
    app = make_app(session_idle_hours=1, session_max_days=2)
    await make_user(database, password=PASSWORD)
    async with browser(app) as http:
        response = await sign_in(http)
    async with database.read_session() as session:
        row = await session.scalar(select(UserSession))
    assert row is not None and row.idle_timeout_seconds == 3600
    assert abs((row.expires_at - row.created_at) - timedelta(days=2)) < timedelta(seconds=1)
    [max_age] = [f for f in cookie_flags(response) if f.startswith("max-age=")]
    assert 2 * 86400 - 60 <= int(max_age.split("=")[1]) <= 2 * 86400


async def test_sign_out_ends_the_session_and_clears_the_cookie(
    app: Starlette, database: Database
) -> None:
    await make_user(database, password=PASSWORD)
    async with browser(app) as http:
        token = cookie_of(await sign_in(http))
    assert token
    async with cookie_client(app, token) as http:
        response = await http.post("/api/auth/sign-out")
    assert response.status_code == 200
    assert response.json() == {"success": True}
    assert cookie_of(response) == ""
    assert (await get_session(app, token)).json() is None
    async with database.read_session() as session:
        row = await session.scalar(select(UserSession))
    assert row is not None and row.revoked_at is not None


async def test_sign_out_without_a_session_still_succeeds(app: Starlette) -> None:
    async with browser(app) as http:
        response = await http.post("/api/auth/sign-out")
    assert response.status_code == 200
    assert response.json() == {"success": True}


# ---- GraphQL ----------------------------------------------------------------------------------

SIGNED_IN = "user { id email name emailVerified image } session { id userId expiresAt }"


async def test_graphql_sign_up_sign_in_session_and_sign_out(app: Starlette) -> None:
    async with browser(app) as http:
        up = await http.post(
            "/graphql",
            json={
                "query": f"mutation($i: SignUpInput!) {{ signUp(input: $i) {{ {SIGNED_IN} }} }}",
                "variables": {"i": {"email": "g@example.com", "password": PASSWORD, "name": "G"}},
            },
        )
        assert up.status_code == 200, up.text
        assert up.json()["data"]["signUp"]["user"]["email"] == "g@example.com"
        assert cookie_of(up)
        signed = await http.post(
            "/graphql",
            json={
                "query": "mutation($i: SignInInput!) { signIn(input: $i) { session { id } } }",
                "variables": {"i": {"email": "g@example.com", "password": PASSWORD}},
            },
        )
    token = cookie_of(signed)
    assert token and {"httponly", "samesite=lax"} <= cookie_flags(signed)
    async with cookie_client(app, token) as http:
        current = await http.post("/graphql", json={"query": f"{{ session {{ {SIGNED_IN} }} }}"})
        assert (
            current.json()["data"]["session"]["session"]["id"]
            == (signed.json()["data"]["signIn"]["session"]["id"])
        )
        out = await http.post("/graphql", json={"query": "mutation { signOut { success } }"})
    assert out.json()["data"]["signOut"] == {"success": True}
    assert cookie_of(out) == ""
    async with cookie_client(app, token) as http:
        after = await http.post("/graphql", json={"query": "{ session { session { id } } }"})
    assert after.json()["data"]["session"] is None


async def test_graphql_wrong_password_is_unauthorized(app: Starlette, database: Database) -> None:
    await make_user(database, password=PASSWORD)
    async with browser(app) as http:
        response = await http.post(
            "/graphql",
            json={
                "query": 'mutation { signIn(input: {email: "ada@example.com", '
                'password: "nope nope nope"}) { session { id } } }'
            },
        )
    assert response.json()["errors"][0]["extensions"]["code"] == "UNAUTHORIZED"
    assert cookie_of(response) is None
