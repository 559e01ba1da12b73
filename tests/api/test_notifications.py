"""Notifications (seed 002): `POST /api/v1/notifications/send` and GraphQL `sendNotification`
queue a message with its `notification.send` job; the job sends it outside any transaction,
here through a real SMTP server (aiosmtpd on 127.0.0.1), and records status and attempts.
Password resets and order confirmations go the same way."""

from __future__ import annotations

import logging
import socket
from collections.abc import Iterator
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

import httpx
import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import select, update
from starlette.applications import Starlette

from app.db import Database
from app.events.dispatcher import dispatch_pending
from app.main import create_app
from app.models.base import utcnow
from app.models.customers import Customer
from app.models.jobs import Job
from app.models.notifications import Notification
from app.services import notifications as service
from tests.api.test_auth import PASSWORD, browser
from tests.api.test_checkout import cart_with, post_checkout, product
from tests.conftest import client_for, client_with, settings_for
from tests.support.notifications import send_notifications
from tests.support.users import make_user

SEND = "/api/v1/notifications/send"
LIST = """query N($filter: NotificationFilter) {
  notifications(filter: $filter) {
    totalCount items { id userId kind channel recipient subject body status attempts lastError
                       createdAt sentAt } } }"""


class Inbox:
    """An aiosmtpd handler that keeps what it is sent."""

    def __init__(self) -> None:
        self.received: list[tuple[list[str], EmailMessage]] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        mail = message_from_bytes(envelope.content, policy=policy.default)
        assert isinstance(mail, EmailMessage)
        self.received.append((list(envelope.rcpt_tos), mail))
        return "250 OK"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="module")
def smtp_server() -> Iterator[tuple[int, Inbox]]:
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    yield controller.port, inbox
    controller.stop()


@pytest.fixture
def inbox(smtp_server: tuple[int, Inbox]) -> Inbox:
    smtp_server[1].received.clear()
    return smtp_server[1]


@pytest.fixture(scope="module")
def smtp_module_app(shared_database: Database, smtp_server: tuple[int, Inbox]) -> Starlette:
    settings = settings_for(
        shared_database.url, notifier="smtp", smtp_host="127.0.0.1", smtp_port=smtp_server[0],
        smtp_tls="none", smtp_sender="Shop <shop@example.com>",
    )  # fmt: skip
    return create_app(settings, database=shared_database)


@pytest.fixture
def smtp_app(smtp_module_app: Starlette, database: Database) -> Starlette:
    return smtp_module_app


async def rows(database: Database) -> list[Notification]:
    async with database.read_session() as session:
        return list(await session.scalars(select(Notification).order_by(Notification.id)))


async def send(http: httpx.AsyncClient, **body: Any) -> httpx.Response:
    return await http.post(SEND, json=body)


async def gql(http: httpx.AsyncClient, query: str, **variables: Any) -> dict[str, Any]:
    response = await http.post("/graphql", json={"query": query, "variables": variables})
    assert response.status_code in (200, 400), response.text
    body: dict[str, Any] = response.json()
    return body


async def test_send_answers_202_and_the_mail_arrives_over_smtp(
    smtp_app: Starlette, database: Database, inbox: Inbox
) -> None:
    user = await make_user(database)
    async for http in client_with(smtp_app, database, "notifications:send"):
        response = await send(
            http, userId=str(user.id), type="email", subject="Your order has shipped!",
            message="Order #ORD-5678 arrives in 3-5 business days.",
        )  # fmt: skip
    assert response.status_code == 202, response.text
    body = response.json()
    assert body["success"] is True and body["meta"]["requestId"]
    data = body["data"]
    assert data["status"] == "queued" and data["attempts"] == 0 and data["sentAt"] is None
    assert (data["userId"], data["channel"], data["kind"]) == (str(user.id), "email", "custom")
    [row] = await rows(database)
    assert (row.status, row.recipient, str(row.id)) == ("queued", "ada@example.com", data["id"])
    assert inbox.received == []  # nothing is sent inside the request

    assert await send_notifications(smtp_app) == 1
    [(to, mail)] = inbox.received
    assert to == ["ada@example.com"] and mail["To"] == "ada@example.com"
    assert mail["From"] == "Shop <shop@example.com>"
    assert mail["Subject"] == "Your order has shipped!"
    content = mail.get_body(("plain",))
    assert content is not None
    assert "Order #ORD-5678 arrives in 3-5 business days." in content.get_content()
    [row] = await rows(database)
    assert (row.status, row.attempts, row.last_error) == ("sent", 1, None)
    assert row.sent_at is not None

    # The job runs again (a worker died after sending, before its job was marked done, and
    # the lease passed): the notification is sent already, so nothing more goes out.
    async with database.unit_of_work() as uow:
        await uow.session.execute(
            update(Job).where(Job.kind == "notification.send").values(status="pending")
        )
        await uow.commit()
    assert await send_notifications(smtp_app) == 1
    assert len(inbox.received) == 1
    [row] = await rows(database)
    assert (row.status, row.attempts) == ("sent", 1)


async def test_a_password_reset_mail_arrives_through_smtp_with_a_working_link(
    smtp_app: Starlette, database: Database, inbox: Inbox
) -> None:
    await make_user(database, password=PASSWORD)
    async with browser(smtp_app) as http:
        asked = await http.post(
            "/api/auth/request-password-reset", json={"email": "ada@example.com"}
        )
        assert asked.status_code == 200
        await send_notifications(smtp_app)
        [(to, mail)] = inbox.received
        assert to == ["ada@example.com"] and mail["Subject"] == "Reset your password"
        content = mail.get_body(("plain",))
        assert content is not None
        link = content.get_content().split("http://127.0.0.1:8000/reset-password?token=")[1]
        token = link.split()[0]
        done = await http.post(
            "/api/auth/reset-password", json={"token": token, "newPassword": "a fresh passphrase"}
        )
        assert done.status_code == 200, done.text
    [row] = await rows(database)
    assert (row.kind, row.status) == ("password_reset", "sent")
    assert token not in row.body  # the token is minted at sending and never stored


async def test_a_failing_mail_server_is_retried_and_recorded_until_it_fails(
    make_app: Any, database: Database
) -> None:
    app = make_app(notifier="smtp", smtp_host="127.0.0.1", smtp_port=free_port(), smtp_tls="none")
    user = await make_user(database)
    async for http in client_with(app, database, "notifications:send"):
        response = await send(http, userId=str(user.id), type="email", subject="Hi", message="x")
    assert response.status_code == 202
    # Each try runs as the job; each failure is counted on the row, and the job is put off
    # (brought forward here, so as not to wait for the back-off); the last fails both.
    for attempt in range(1, service.MAX_ATTEMPTS + 1):
        assert await send_notifications(app) == 1
        [row] = await rows(database)
        [job] = await jobs(database)
        assert (row.attempts, job.attempts) == (attempt, attempt)
        assert row.last_error and "connect" in row.last_error.lower()
        if attempt < service.MAX_ATTEMPTS:
            assert (row.status, job.status) == ("queued", "pending")
            assert job.run_at > utcnow()
            await bring_forward(database, job)
    assert (row.status, job.status) == ("failed", "failed")
    assert row.sent_at is None


async def jobs(database: Database) -> list[Job]:
    async with database.read_session() as session:
        return list(await session.scalars(select(Job)))


async def bring_forward(database: Database, job: Job) -> None:
    async with database.unit_of_work() as uow:
        await uow.session.execute(update(Job).where(Job.id == job.id).values(run_at=utcnow()))
        await uow.commit()


async def test_an_sms_goes_to_the_phone_of_the_users_customer_record(
    app: Starlette, database: Database, caplog: pytest.LogCaptureFixture
) -> None:
    user = await make_user(database)
    async with database.unit_of_work() as uow:
        record = await uow.session.get(Customer, user.customer_id)
        assert record is not None
        record.phone = "+15550100"
        await uow.commit()
    caplog.set_level(logging.INFO, logger="app.notifications")
    async for http in client_with(app, database, "notifications:send"):
        response = await send(http, userId=str(user.id), type="sms", message="Your code: 1234")
    assert response.status_code == 202, response.text
    assert response.json()["data"]["recipient"] == "+15550100"
    await send_notifications(app)
    assert "text message to +15550100:\nYour code: 1234" in caplog.messages
    [row] = await rows(database)
    assert (row.channel, row.status, row.attempts) == ("sms", "sent", 1)


@pytest.mark.parametrize(
    ("body", "status", "code", "field"),
    [
        ({"type": "sms", "message": "hi"}, 400, "VALIDATION_ERROR", "type"),  # no phone
        ({"type": "email", "message": "hi"}, 400, "VALIDATION_ERROR", "subject"),
        ({"type": "email", "subject": "a\r\nBcc: x@evil.example", "message": "hi"}, 400,
         "VALIDATION_ERROR", "subject"),
        ({"type": "email", "subject": "s", "message": "nul\x00"}, 400, "VALIDATION_ERROR",
         "message"),
        ({"type": "email", "subject": "s", "message": "x" * 10_001}, 400, "VALIDATION_ERROR",
         "message"),
        ({"type": "fax", "subject": "s", "message": "hi"}, 400, "VALIDATION_ERROR", "type"),
    ],
)  # fmt: skip
async def test_bad_requests_are_refused_and_queue_nothing(
    app: Starlette,
    database: Database,
    body: dict[str, Any],
    status: int,
    code: str,
    field: str,
) -> None:
    user = await make_user(database, customer=False)
    async for http in client_with(app, database, "notifications:send"):
        response = await send(http, userId=str(user.id), **body)
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert error["code"] == code
    assert any(field in key for key in error["details"]), error
    assert await rows(database) == []


@pytest.mark.parametrize("user_id", ["5b0c6f0e-0000-4000-8000-000000000000", "usr_123abc"])
async def test_an_unknown_user_is_404(app: Starlette, database: Database, user_id: str) -> None:
    async for http in client_with(app, database, "notifications:send"):
        response = await send(http, userId=user_id, type="email", subject="s", message="m")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "NOT_FOUND"


async def test_sending_needs_notifications_send(app: Starlette, database: Database) -> None:
    user = await make_user(database)
    async with client_for(app) as anonymous:
        refused = await send(anonymous, userId=str(user.id), type="email", subject="s", message="m")
    async for http in client_with(app, database, "notifications:read"):
        forbidden = await send(http, userId=str(user.id), type="email", subject="s", message="m")
    assert (refused.status_code, forbidden.status_code) == (401, 403)
    assert await rows(database) == []


async def test_graphql_sends_and_lists_notifications_by_filter(
    app: Starlette, database: Database
) -> None:
    ada = await make_user(database)
    bob = await make_user(database, email="bob@example.com", name="Bob Byte")
    mutation = """mutation S($input: SendNotificationInput!) {
      sendNotification(input: $input) { id status channel kind recipient subject body } }"""
    async for http in client_with(app, database, "notifications:send", "notifications:read"):
        sent = await gql(
            http, mutation,
            input={"userId": str(ada.id), "type": "EMAIL", "subject": "Hello", "message": "Hi"},
        )  # fmt: skip
        assert sent["data"]["sendNotification"]["status"] == "QUEUED", sent
        assert sent["data"]["sendNotification"]["kind"] == "CUSTOM"
        await gql(
            http, mutation,
            input={"userId": str(bob.id), "type": "EMAIL", "subject": "Yo", "message": "Hey"},
        )  # fmt: skip
        await send_notifications(app)
        everything = await gql(http, LIST)
        for_ada = await gql(http, LIST, filter={"userId": str(ada.id), "status": "SENT"})
        none_queued = await gql(http, LIST, filter={"status": "QUEUED", "channel": "EMAIL"})
    listing = everything["data"]["notifications"]
    assert listing["totalCount"] == 2
    assert [n["recipient"] for n in listing["items"]] == ["bob@example.com", "ada@example.com"]
    [only] = for_ada["data"]["notifications"]["items"]
    assert (only["subject"], only["body"], only["attempts"]) == ("Hello", "Hi", 1)
    assert none_queued["data"]["notifications"]["totalCount"] == 0


async def test_listing_needs_notifications_read(app: Starlette, database: Database) -> None:
    async for http in client_with(app, database, "notifications:send"):
        refused = await gql(http, LIST)
    assert refused["errors"][0]["extensions"]["code"] == "FORBIDDEN"


async def test_an_order_placed_queues_one_confirmation_to_its_customer(
    app: Starlette, database: Database, caplog: pytest.LogCaptureFixture
) -> None:
    user = await make_user(database, email="jane@example.com", name="Jane Doe")
    mug = await product(database, "mug")
    async for http in client_with(app, database, "*:*"):
        cart = await cart_with(http, (mug, 2))
        placed = await post_checkout(http, cart, customerId=str(user.customer_id))
    assert placed.status_code == 201, placed.text
    order = placed.json()["data"]
    await dispatch_pending(database)
    await dispatch_pending(database)  # an event is fanned out once
    [row] = await rows(database)
    assert (row.kind, row.recipient, row.user_id) == ("order_confirmation", "jane@example.com",
                                                      user.id)  # fmt: skip
    assert row.subject == f"Your order {order['number']}"
    assert "Total: 25.00 USD" in row.body
    caplog.set_level(logging.INFO, logger="app.notifications")
    await send_notifications(app)
    assert any("notification to jane@example.com: Your order" in m for m in caplog.messages)
