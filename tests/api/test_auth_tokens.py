"""Password reset and e-mail verification: mailed (logged) by the notification job after
commit, single-use, expiring, and the rule that links a new user to an existing customer record
only once verified."""

from __future__ import annotations

import asyncio
import logging
import re
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select, update
from starlette.applications import Starlette

from app.auth.actor import SYSTEM
from app.db import Database
from app.errors import ValidationFailed
from app.models.base import utcnow
from app.models.customers import Customer
from app.models.users import OneTimeToken, User, UserSession
from app.services import auth as auth_service
from app.services.customers import create_customer
from tests.api.test_auth import PASSWORD, browser, cookie_of, get_session, sign_in, sign_up
from tests.support.notifications import send_notifications
from tests.support.users import make_user, session_token

NEW_PASSWORD = "a brand new passphrase"


async def mailed(caplog: pytest.LogCaptureFixture, app: Starlette) -> list[dict[str, str]]:
    """The messages the development notifier logged, once the app's notification jobs ran:
    to, subject, link, token."""
    await send_notifications(app)
    found = []
    for record in caplog.records:
        if record.name != "app.notifications":
            continue
        text = record.getMessage()
        match = re.search(r"notification to (\S+): (.*)\n.*\nlink: (\S+)\ntoken: (\S+)", text)
        assert match, text
        to, subject, link, token = match.groups()
        found.append({"to": to, "subject": subject, "link": link, "token": token})
    return found


@pytest.fixture
def mail(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    caplog.set_level(logging.INFO, logger="app.notifications")
    return caplog


async def request_reset(http: httpx.AsyncClient, email: str, **more: Any) -> httpx.Response:
    return await http.post("/api/auth/request-password-reset", json={"email": email, **more})


async def reset(
    http: httpx.AsyncClient, token: str, password: str = NEW_PASSWORD
) -> httpx.Response:
    return await http.post(
        "/api/auth/reset-password", json={"token": token, "newPassword": password}
    )


# ---- password reset ---------------------------------------------------------------------------


async def test_password_reset_mails_a_link_and_the_token_sets_a_new_password(
    app: Starlette, database: Database, mail: pytest.LogCaptureFixture
) -> None:
    user = await make_user(database, password=PASSWORD)
    other_session = await session_token(database, user)
    async with browser(app) as http:
        asked = await request_reset(http, "ADA@example.com")
        assert asked.status_code == 200 and asked.json() == {"status": True}
        [message] = await mailed(mail, app)
        assert message["to"] == "ada@example.com"
        assert message["link"] == f"http://127.0.0.1:8000/reset-password?token={message['token']}"
        done = await reset(http, message["token"])
        assert done.status_code == 200, done.text
        assert done.json() == {"status": True}
        assert (await sign_in(http)).status_code == 401
        assert (await sign_in(http, password=NEW_PASSWORD)).status_code == 200
    # A reset ends every session the user had.
    assert (await get_session(app, other_session)).json() is None
    async with database.read_session() as session:
        stored = await session.scalar(select(OneTimeToken.token_hash))
    assert stored is not None and message["token"] not in stored


async def test_an_unknown_address_gets_the_same_answer_and_no_mail(
    app: Starlette, database: Database, mail: pytest.LogCaptureFixture
) -> None:
    await make_user(database, password=PASSWORD)
    async with browser(app) as http:
        known = await request_reset(http, "ada@example.com")
        unknown = await request_reset(http, "nobody@example.com")
    assert (known.status_code, known.json()) == (unknown.status_code, unknown.json())
    assert [m["to"] for m in (await mailed(mail, app))] == ["ada@example.com"]


async def test_a_reset_token_works_once(
    app: Starlette, database: Database, mail: pytest.LogCaptureFixture
) -> None:
    await make_user(database, password=PASSWORD)
    async with browser(app) as http:
        await request_reset(http, "ada@example.com")
        [message] = await mailed(mail, app)
        assert (await reset(http, message["token"])).status_code == 200
        again = await reset(http, message["token"], "yet another passphrase")
    assert again.status_code == 422
    assert again.json()["error"]["code"] == "VALIDATION_FAILED"
    assert "token" in again.json()["error"]["details"]
    async with browser(app) as http:
        assert (await sign_in(http, password=NEW_PASSWORD)).status_code == 200


async def test_an_expired_reset_token_is_refused(
    app: Starlette, database: Database, mail: pytest.LogCaptureFixture
) -> None:
    await make_user(database, password=PASSWORD)
    async with browser(app) as http:
        await request_reset(http, "ada@example.com")
        [message] = await mailed(mail, app)
        async with database.unit_of_work() as uow:
            await uow.session.execute(update(OneTimeToken).values(expires_at=utcnow()))
            await uow.commit()
        response = await reset(http, message["token"])
        assert response.status_code == 422
        assert (await sign_in(http)).status_code == 200  # the old password still works


async def test_a_reset_token_expires_after_the_setting(
    make_app: Any, database: Database, mail: pytest.LogCaptureFixture
) -> None:
    app = make_app(password_reset_minutes=5)
    await make_user(database, password=PASSWORD)
    async with browser(app) as http:
        await request_reset(http, "ada@example.com")
    await send_notifications(app)
    async with database.read_session() as session:
        row = await session.scalar(select(OneTimeToken))
    assert row is not None
    assert 299 <= (row.expires_at - row.created_at).total_seconds() <= 301


async def test_a_verification_token_does_not_reset_a_password(
    app: Starlette, mail: pytest.LogCaptureFixture
) -> None:
    async with browser(app) as http:
        await sign_up(http)
        [verification] = await mailed(mail, app)
        response = await reset(http, verification["token"])
    assert response.status_code == 422


async def test_a_bad_new_password_is_refused_and_the_token_kept(
    app: Starlette, database: Database, mail: pytest.LogCaptureFixture
) -> None:
    await make_user(database, password=PASSWORD)
    async with browser(app) as http:
        await request_reset(http, "ada@example.com")
        [message] = await mailed(mail, app)
        short = await reset(http, message["token"], "short")
        assert short.status_code == 422
        assert "newPassword" in short.json()["error"]["details"]
        assert (await reset(http, message["token"])).status_code == 200


@pytest.mark.parametrize(
    ("redirect_to", "link"),
    [
        ("/account/reset", "http://127.0.0.1:8000/account/reset?token="),
        ("https://shop.example.com/reset", "https://shop.example.com/reset?token="),
        ("http://127.0.0.1:8000/r?x=1", "http://127.0.0.1:8000/r?x=1&token="),
    ],
)
async def test_redirect_to_leads_the_link_to_an_allowed_page(
    make_app: Any,
    database: Database,
    mail: pytest.LogCaptureFixture,
    redirect_to: str,
    link: str,
) -> None:
    app = make_app(allowed_origins="https://shop.example.com")
    await make_user(database, password=PASSWORD)
    async with browser(app) as http:
        response = await request_reset(http, "ada@example.com", redirectTo=redirect_to)
    assert response.status_code == 200
    [message] = await mailed(mail, app)
    assert message["link"] == link + message["token"]


@pytest.mark.parametrize("redirect_to", ["https://evil.example/steal", "//evil.example/x", "x:y"])
async def test_redirect_to_a_foreign_origin_is_refused_for_anyone(
    app: Starlette, database: Database, mail: pytest.LogCaptureFixture, redirect_to: str
) -> None:
    """A link to a stranger's page would hand them the token."""
    await make_user(database, password=PASSWORD)
    async with browser(app) as http:
        known = await request_reset(http, "ada@example.com", redirectTo=redirect_to)
        unknown = await request_reset(http, "nobody@example.com", redirectTo=redirect_to)
    assert known.status_code == unknown.status_code == 422
    assert known.json() == unknown.json()
    assert (await mailed(mail, app)) == []


# ---- e-mail verification and the customer link ------------------------------------------------


async def verify(app: Starlette, token: str) -> httpx.Response:
    async with browser(app) as http:
        return await http.get("/api/auth/verify-email", params={"token": token})


async def test_sign_up_mails_a_verification_link_that_verifies_once(
    app: Starlette, database: Database, mail: pytest.LogCaptureFixture
) -> None:
    async with browser(app) as http:
        token = cookie_of(await sign_up(http))
    [message] = await mailed(mail, app)
    assert message["subject"] == "Verify your e-mail address"
    assert message["link"] == (
        f"http://127.0.0.1:8000/api/auth/verify-email?token={message['token']}"
    )
    response = await verify(app, message["token"])
    assert response.status_code == 200, response.text
    assert response.json() == {"status": True}
    assert (await get_session(app, token)).json()["user"]["emailVerified"] is True
    again = await verify(app, message["token"])
    assert again.status_code == 422
    assert again.json()["error"]["code"] == "VALIDATION_FAILED"


async def test_verify_email_needs_its_token(app: Starlette) -> None:
    async with browser(app) as http:
        missing = await http.get("/api/auth/verify-email")
        unknown = await http.get("/api/auth/verify-email", params={"token": "nope"})
    assert missing.status_code == 422 and "token" in missing.json()["error"]["details"]
    assert unknown.status_code == 422 and "token" in unknown.json()["error"]["details"]


async def test_an_expired_verification_token_is_refused(
    app: Starlette, database: Database, mail: pytest.LogCaptureFixture
) -> None:
    async with browser(app) as http:
        await sign_up(http)
    [message] = await mailed(mail, app)
    async with database.unit_of_work() as uow:
        await uow.session.execute(update(OneTimeToken).values(expires_at=utcnow()))
        await uow.commit()
    assert (await verify(app, message["token"])).status_code == 422
    async with database.read_session() as session:
        assert await session.scalar(select(User.email_verified)) is False


async def test_send_verification_email_mails_a_fresh_link_alike_for_anyone(
    app: Starlette, mail: pytest.LogCaptureFixture
) -> None:
    async with browser(app) as http:
        await sign_up(http)
        known = await http.post(
            "/api/auth/send-verification-email", json={"email": "ada@example.com"}
        )
        unknown = await http.post(
            "/api/auth/send-verification-email", json={"email": "nobody@example.com"}
        )
    assert known.status_code == unknown.status_code == 200
    assert known.json() == unknown.json() == {"status": True}
    first, second = await mailed(mail, app)
    assert first["token"] != second["token"]
    assert (await verify(app, second["token"])).status_code == 200


async def test_signing_up_with_an_existing_customers_address_links_only_once_verified(
    app: Starlette, database: Database, mail: pytest.LogCaptureFixture
) -> None:
    """Nobody takes over a guest's or staff-made customer record (its orders) by signing up
    with its address: the link waits for the address to be proven."""
    async with database.unit_of_work() as uow:
        existing = await create_customer(uow, SYSTEM, email="ada@example.com")
        await uow.commit()
    async with browser(app) as http:
        response = await sign_up(http)
    assert response.status_code == 200, response.text
    async with database.read_session() as session:
        user = await session.scalar(select(User))
        customers = (await session.scalars(select(Customer))).all()
    assert user is not None and user.customer_id is None
    assert [c.id for c in customers] == [existing.id]  # no second record either

    [message] = await mailed(mail, app)
    assert (await verify(app, message["token"])).status_code == 200
    async with database.read_session() as session:
        user = await session.scalar(select(User))
    assert user is not None and user.customer_id == existing.id and user.email_verified


async def test_an_unlinked_session_owns_no_customer_records(
    app: Starlette, database: Database
) -> None:
    async with database.unit_of_work() as uow:
        await create_customer(uow, SYSTEM, email="ada@example.com")
        await uow.commit()
    async with browser(app) as http:
        token = cookie_of(await sign_up(http))
    async with browser(app, cookie=f"cartograph_session={token}") as http:
        cart = await http.post(
            "/graphql",
            json={"query": 'mutation { createCart(input: {currency: "USD"}) { customerId } }'},
        )
    assert cart.json()["data"]["createCart"]["customerId"] is None


async def test_graphql_reset_and_verification(
    app: Starlette, database: Database, mail: pytest.LogCaptureFixture
) -> None:
    async def run(http: httpx.AsyncClient, query: str) -> dict[str, Any]:
        response = await http.post("/graphql", json={"query": query})
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    async with browser(app) as http:
        await sign_up(http)
        [verification] = await mailed(mail, app)
        verified = await run(
            http,
            f'mutation {{ verifyEmail(input: {{token: "{verification["token"]}"}}) {{ status }} }}',
        )
        assert verified["data"]["verifyEmail"] == {"status": True}
        resent = await run(
            http, 'mutation { sendVerificationEmail(input: {email: "ada@example.com"}) { status } }'
        )
        assert resent["data"]["sendVerificationEmail"] == {"status": True}
        assert len(await mailed(mail, app)) == 1  # verified already: nothing more to send
        asked = await run(
            http, 'mutation { requestPasswordReset(input: {email: "ada@example.com"}) { status } }'
        )
        assert asked["data"]["requestPasswordReset"] == {"status": True}
        reset_token = (await mailed(mail, app))[1]["token"]
        done = await run(
            http,
            f'mutation {{ resetPassword(input: {{token: "{reset_token}", '
            f'newPassword: "{NEW_PASSWORD}"}}) {{ status }} }}',
        )
        assert done["data"]["resetPassword"] == {"status": True}
        reused = await run(
            http,
            f'mutation {{ resetPassword(input: {{token: "{reset_token}", '
            f'newPassword: "{NEW_PASSWORD}"}}) {{ status }} }}',
        )
        assert reused["errors"][0]["extensions"]["code"] == "VALIDATION_FAILED"
    async with database.read_session() as session:
        sessions = (await session.scalars(select(UserSession))).all()
    assert sessions and all(s.revoked_at is not None for s in sessions)


async def test_a_token_spent_in_one_transaction_is_refused_to_a_concurrent_one(
    database: Database,
) -> None:
    """Single use under concurrency: the token is spent by one conditional update, so a second
    transaction using it while the first is still open waits for it, then finds it spent
    (a read-then-write would let both through)."""
    user = await make_user(database, password=PASSWORD)
    async with database.unit_of_work() as uow:
        token = await auth_service._issue_token(
            uow, user, purpose=auth_service.PASSWORD_RESET, lifetime=timedelta(hours=1)
        )
        await uow.commit()

    async def second() -> None:
        async with database.unit_of_work() as uow:
            await auth_service._use_token(uow, token, purpose=auth_service.PASSWORD_RESET)
            await uow.commit()

    async with database.unit_of_work() as first:
        await auth_service._use_token(first, token, purpose=auth_service.PASSWORD_RESET)
        racer = asyncio.create_task(second())
        await asyncio.sleep(0.3)
        await first.commit()
    with pytest.raises(ValidationFailed):
        await racer
