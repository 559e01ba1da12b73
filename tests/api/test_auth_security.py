"""What guards sign-in: throttling without lock-out, answers that tell nothing, passwords
never stored or logged in plain, and the CSRF Origin check on cookie-riding writes."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select, text
from starlette.applications import Starlette

from app.auth import passwords
from app.auth.throttle import backoff_seconds
from app.db import Database
from app.models import Base
from app.models.carts import Cart
from tests.api.test_auth import PASSWORD, browser, cookie_of, get_session, sign_in, sign_up
from tests.support.factories import make_api_key
from tests.support.notifications import send_notifications
from tests.support.users import COOKIE, make_user, session_token


def from_address(app: Starlette, address: str, **headers: str) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app, client=(address, 40000))
    return httpx.AsyncClient(
        transport=transport,
        base_url="http://testserver",
        headers={"origin": "http://testserver", **headers},
    )


async def attempts(app: Starlette, address: str, n: int, **kwargs: Any) -> list[int]:
    async with from_address(app, address) as http:
        return [(await sign_in(http, **kwargs)).status_code for _ in range(n)]


# ---- throttling -------------------------------------------------------------------------------


def test_back_off_doubles_from_the_free_failures_and_is_bounded() -> None:
    waits = [backoff_seconds(n, free=5, cap=60) for n in range(1, 14)]
    assert waits == [0, 0, 0, 0, 1, 2, 4, 8, 16, 32, 60, 60, 60]
    assert backoff_seconds(10**9, free=5, cap=60) == 60


async def test_failures_of_a_pair_make_its_next_attempt_wait(
    make_app: Any, database: Database
) -> None:
    app = make_app(sign_in_free_failures=3)
    await make_user(database, password=PASSWORD)
    assert await attempts(app, "10.0.0.1", 3, password="wrong password") == [401, 401, 401]
    async with from_address(app, "10.0.0.1") as http:
        refused = await sign_in(http)  # even the right password waits now
    assert refused.status_code == 429
    assert refused.json()["error"]["code"] == "TOO_MANY_REQUESTS"
    assert refused.headers["retry-after"] == "1"
    assert cookie_of(refused) is None


async def test_the_owner_from_another_address_is_not_locked_out(
    make_app: Any, database: Database
) -> None:
    app = make_app(sign_in_free_failures=3)
    await make_user(database, password=PASSWORD)
    attacker = await attempts(app, "10.6.6.6", 8, password="guess guess")
    assert attacker[:3] == [401, 401, 401] and set(attacker[3:]) == {429}
    async with from_address(app, "192.0.2.7") as http:
        owner = await sign_in(http)
    assert owner.status_code == 200 and cookie_of(owner)


async def test_the_wait_grows_and_a_success_clears_it(make_app: Any, database: Database) -> None:
    app = make_app(sign_in_free_failures=1)
    await make_user(database, password=PASSWORD)
    async with from_address(app, "10.0.0.2") as http:
        assert (await sign_in(http, password="wrong one!")).status_code == 401
        assert (await sign_in(http)).headers["retry-after"] == "1"
        await asyncio.sleep(1.05)
        assert (await sign_in(http, password="wrong two!")).status_code == 401
        assert (await sign_in(http)).headers["retry-after"] == "2"
        await asyncio.sleep(2.05)
        assert (await sign_in(http)).status_code == 200
        # The pair starts afresh: one failure waits 1 s again, not 4.
        assert (await sign_in(http, password="wrong three")).status_code == 401
        assert (await sign_in(http)).headers["retry-after"] == "1"


async def test_an_unknown_address_is_throttled_exactly_like_a_real_one(
    make_app: Any, database: Database
) -> None:
    app = make_app(sign_in_free_failures=2)
    await make_user(database, password=PASSWORD)
    known = await attempts(app, "10.0.0.3", 4, password="wrong password")
    unknown = await attempts(app, "10.0.0.4", 4, email="nobody@example.com")
    assert known == unknown == [401, 401, 429, 429]


async def test_failures_from_many_addresses_back_the_account_off_boundedly(
    make_app: Any, database: Database
) -> None:
    app = make_app(sign_in_free_failures=100, sign_in_account_failures=4)
    await make_user(database, password=PASSWORD)
    for n in range(4):
        assert await attempts(app, f"10.1.0.{n}", 1, password="spread guess") == [401]
    async with from_address(app, "10.1.0.99") as http:
        waiting = await sign_in(http)
    assert waiting.status_code == 429
    assert 1 <= int(waiting.headers["retry-after"]) <= 60  # a delay, never a lock-out


async def test_failures_per_address_across_accounts_are_limited(
    make_app: Any, database: Database
) -> None:
    app = make_app(sign_in_address_limit="3/minute")
    await make_user(database, password=PASSWORD)
    for n in range(3):
        assert await attempts(app, "10.2.0.1", 1, email=f"u{n}@example.com") == [401]
    assert await attempts(app, "10.2.0.1", 1) == [429]
    assert await attempts(app, "10.2.0.2", 1) == [200]


async def test_graphql_sign_in_is_throttled_with_retry_after(
    make_app: Any, database: Database
) -> None:
    app = make_app(sign_in_free_failures=1)
    await make_user(database, password=PASSWORD)
    query = (
        'mutation { signIn(input: {email: "ada@example.com", password: "%s"}) { session { id } } }'
    )
    async with from_address(app, "10.0.0.5") as http:
        first = await http.post("/graphql", json={"query": query % "wrong password"})
        second = await http.post("/graphql", json={"query": query % PASSWORD})
    assert first.json()["errors"][0]["extensions"]["code"] == "UNAUTHORIZED"
    assert second.json()["errors"][0]["extensions"]["code"] == "RATE_LIMITED"
    assert second.headers["retry-after"] == "1"


async def test_an_unknown_email_costs_a_hash_check_as_a_wrong_password_does(
    app: Starlette, database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    await make_user(database, password=PASSWORD)
    checked: list[str | None] = []
    real = passwords._verify

    def counting(password_hash: str | None, password: str) -> bool:
        checked.append(password_hash)
        return real(password_hash, password)

    monkeypatch.setattr(passwords, "_verify", counting)
    async with browser(app) as http:
        await sign_in(http, email="nobody@example.com")
        await sign_in(http, password="wrong password")
    assert len(checked) == 2
    assert checked[0] is None and checked[1] is not None  # the dummy hash, then the real one


# ---- passwords never in plain -----------------------------------------------------------------

DISTINCTIVE = "Zebra-Quokka-7731-plaintext"
RESET_TO = "Narwhal-Okapi-9924-plaintext"


async def every_row_as_text(database: Database) -> str:
    parts = []
    async with database.read_session() as session:
        for table in Base.metadata.sorted_tables:
            rows = (await session.execute(text(f'SELECT * FROM "{table.name}"'))).all()
            parts += [repr(tuple(row)) for row in rows]
    return "\n".join(parts)


async def test_passwords_are_never_stored_or_logged_in_plain(
    app: Starlette, database: Database, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    # SQLAlchemy keeps its own loggers at WARNING unless told: its statements and their
    # parameters are what a careless change would leak a password into.
    caplog.set_level(logging.DEBUG, logger="sqlalchemy")
    async with browser(app) as http:
        assert (await sign_up(http, password=DISTINCTIVE)).status_code == 200
        assert (await sign_in(http, password=DISTINCTIVE)).status_code == 200
        assert (await sign_in(http, password=DISTINCTIVE + "x")).status_code == 401
        await http.post("/api/auth/request-password-reset", json={"email": "ada@example.com"})
        await send_notifications(app)
        token = next(
            r.getMessage().rsplit("token: ", 1)[1]
            for r in caplog.records
            if r.name == "app.notifications" and "Reset" in r.getMessage()
        )
        reset = await http.post(
            "/api/auth/reset-password", json={"token": token, "newPassword": RESET_TO}
        )
        assert reset.status_code == 200
        graphql = await http.post(
            "/graphql",
            json={
                "query": "mutation($i: SignInInput!) { signIn(input: $i) { session { id } } }",
                "variables": {"i": {"email": "ada@example.com", "password": RESET_TO}},
            },
        )
        assert "errors" not in graphql.json()
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "INSERT INTO users" in logged and "$argon2id$" in logged  # SQL and its parameters
    stored = await every_row_as_text(database)
    assert "$argon2id$" in stored
    for secret in (DISTINCTIVE, RESET_TO):
        assert secret not in logged
        assert secret not in stored


# ---- CSRF: cookie-riding writes need an allowed Origin ----------------------------------------

CREATE_CART = {"query": 'mutation { createCart(input: {currency: "USD"}) { customerId } }'}


async def carts(database: Database) -> int:
    async with database.read_session() as session:
        return await session.scalar(select(func.count()).select_from(Cart)) or 0


def riding(app: Starlette, token: str, origin: str | None, **headers: str) -> httpx.AsyncClient:
    sent = {"cookie": f"{COOKIE}={token}", **headers}
    if origin is not None:
        sent["origin"] = origin
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://testserver", headers=sent
    )


@pytest.mark.parametrize("origin", ["https://evil.example", None, "null"])
async def test_a_cookie_riding_write_from_a_foreign_origin_is_refused(
    make_app: Any, database: Database, origin: str | None
) -> None:
    app = make_app(allowed_origins="https://shop.example.com")
    user = await make_user(database)
    token = await session_token(database, user)
    async with riding(app, token, origin) as http:
        cart = await http.post("/graphql", json=CREATE_CART)
        out = await http.post("/api/auth/sign-out")
    assert cart.status_code == 403
    assert cart.json()["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert out.status_code == 403 and out.json()["error"]["code"] == "FORBIDDEN"
    assert await carts(database) == 0
    assert (await get_session(app, token)).json() is not None  # not signed out


async def test_a_cookie_riding_write_from_an_allowed_origin_is_accepted(
    make_app: Any, database: Database
) -> None:
    app = make_app(allowed_origins="https://shop.example.com")
    user = await make_user(database)
    token = await session_token(database, user)
    async with riding(app, token, "https://shop.example.com") as http:
        cart = await http.post("/graphql", json=CREATE_CART)
        out = await http.post("/api/auth/sign-out")
    assert cart.status_code == 200
    assert cart.json()["data"]["createCart"]["customerId"] == str(user.customer_id)
    assert out.status_code == 200 and out.json() == {"success": True}
    assert (await get_session(app, token)).json() is None


async def test_an_api_key_request_is_exempt_from_the_origin_check(
    make_app: Any, database: Database
) -> None:
    app = make_app()
    user = await make_user(database)
    token = await session_token(database, user)
    _, key = await make_api_key(database, name="integrator", permissions=["carts:create"])
    async with riding(app, token, "https://evil.example", **{"x-api-key": key}) as http:
        cart = await http.post("/graphql", json=CREATE_CART)
    assert cart.status_code == 200, cart.text
    assert cart.json()["data"]["createCart"]["customerId"] is None  # the key's cart, not hers
    assert await carts(database) == 1


async def test_reads_ride_the_cookie_from_anywhere(make_app: Any, database: Database) -> None:
    app = make_app()
    user = await make_user(database)
    token = await session_token(database, user)
    async with riding(app, token, "https://evil.example") as http:
        response = await http.get("/api/auth/get-session")
    assert response.status_code == 200 and response.json()["user"]["id"] == str(user.id)


@pytest.mark.parametrize(
    ("path", "body"),
    [
        (
            "/api/auth/sign-up/email",
            {"email": "h@example.com", "password": "p" * 100_000, "name": "H"},
        ),
        ("/api/auth/sign-in/email", {"email": "ada@example.com", "password": "p" * 100_000}),
        ("/api/auth/reset-password", {"token": "t", "newPassword": "p" * 100_000}),
    ],
)
async def test_a_huge_password_is_refused_before_any_hashing(
    app: Starlette, database: Database, monkeypatch: pytest.MonkeyPatch, path: str,
    body: dict[str, Any],
) -> None:  # fmt: skip
    await make_user(database, password=PASSWORD)

    class NoHashing:
        def __getattr__(self, name: str) -> Any:
            raise AssertionError(f"argon2 {name} called")

    monkeypatch.setattr(passwords, "HASHER", NoHashing())
    async with browser(app) as http:
        response = await http.post(path, json=body)
    assert response.status_code == 422, response.text
    assert response.json()["error"]["code"] == "VALIDATION_FAILED"


@pytest.mark.parametrize("path", ["/api/auth/sign-in/email", "/api/auth/sign-up/email"])
async def test_a_page_elsewhere_cannot_sign_a_browser_in(
    make_app: Any, database: Database, path: str
) -> None:
    """Login CSRF: a form on another site posting the attacker's credentials would leave the
    victim's browser signed in as the attacker. No cookie rides on it, so the Origin check of
    cookie-riding writes does not see it; sign-in and sign-up check the Origin themselves."""
    app = make_app(allowed_origins="https://shop.example.com")
    await make_user(database, email="mallory@example.com", password=PASSWORD)
    answers = {}
    for n, origin in enumerate(("https://evil.example", "https://shop.example.com", None)):
        body = {"email": "mallory@example.com", "password": PASSWORD}
        if path.endswith("sign-up/email"):
            body = {"email": f"new{n}@example.com", "password": PASSWORD, "name": "N"}
        async with client_for_app(app, {"origin": origin} if origin else {}) as http:
            response = await http.post(path, json=body)
        answers[origin] = response.status_code
    assert answers == {"https://evil.example": 403, "https://shop.example.com": 200, None: 200}


def client_for_app(app: Starlette, headers: dict[str, str]) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://testserver", headers=headers
    )
