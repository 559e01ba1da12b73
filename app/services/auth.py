"""Sign-up, sign-in, sign-out, password reset and e-mail verification (Better Auth's flows).

Rules that are not obvious:

- E-mail addresses are trimmed and lower-cased (`customers.check_email`); passwords are checked
  (`passwords.password_problem`) before anything is hashed, so a 100 KB password costs nothing.
- An unknown address and a wrong password give the same UNAUTHORIZED and take as long (the
  unknown one is checked against a dummy hash). Only after a correct password is an inactive
  account told apart (FORBIDDEN): that tells nothing to whoever does not hold the password.
- Sign-in always starts a new session (new token) and ends the one the browser presented,
  whoever's it was: a token planted before sign-in is worthless afterwards. A hash made under
  older argon2 parameters is replaced at sign-in.
- Sign-up makes the user (role `customer`), signs them in, and mails a verification link. It
  makes a customer record of the address when none exists; when one does (made by staff or a
  guest checkout), the user is linked to it only once the address is verified, so that nobody
  takes over someone else's order history by signing up with their address.
- One-time tokens (password reset, verification) are random, stored as SHA-256 digests, expire
  (settings) and work once. A password reset ends every session of the user and every other
  reset token.
- Mail is never sent here: a flow queues its notification in its own transaction
  (`app.services.notifications`), and the `notification.send` job sends it after the commit
  (DESIGN §10). The one-time token of a link is minted by that job when it sends
  (`reset_mail`, `verification_mail`), so its plaintext is never stored anywhere.
"""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import urlencode, urlsplit

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.actor import Actor
from app.auth.passwords import (
    MAX_LENGTH,
    hash_password,
    needs_rehash,
    password_problem,
    verify_password,
)
from app.db import UnitOfWork
from app.errors import Forbidden, Unauthorized, ValidationFailed
from app.models.base import utcnow
from app.models.customers import Customer
from app.models.notifications import Notification
from app.models.users import OneTimeToken, User, UserSession
from app.notifications import Message
from app.services import sessions
from app.services.apikeys import hash_key
from app.services.audit import record_change
from app.services.catalog.rules import Problems
from app.services.customers import check_email, create_customer
from app.services.notifications import queue_notification
from app.services.roles import CUSTOMER, grant_roles
from app.services.users import add_user, email_in_use

PASSWORD_RESET, EMAIL_VERIFICATION = "password_reset", "email_verification"
NAME_LENGTH = 100
WRONG_CREDENTIALS = "Invalid email or password."
BAD_TOKEN = "Invalid or expired token."


@dataclass(frozen=True, slots=True)
class AuthPolicy:
    """What the settings decide: session lifetimes, token lifetimes, where links point."""

    session_lifetime: timedelta = timedelta(days=30)
    idle_timeout: timedelta = timedelta(hours=72)
    reset_lifetime: timedelta = timedelta(hours=1)
    verification_lifetime: timedelta = timedelta(hours=48)
    public_url: str = "http://127.0.0.1:8000"
    # Origins a reset link may lead to (`redirectTo`), besides `public_url`'s own.
    allowed_origins: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class Client:
    """Who is signing in, as the request tells: its address and user agent, and the session
    token its cookie presented (ended by a new sign-in)."""

    ip_address: str | None = None
    user_agent: str | None = None
    presented_token: str | None = None


@dataclass(slots=True)
class SignedIn:
    user: User
    session: UserSession
    token: str


def _actor_of(user: User) -> Actor:
    """The audit's actor for a user's own sign-up, sign-in and token use."""
    return Actor(kind="user", id=str(user.id), name=user.name)


def _check_password(problems: Problems, password: str, field_name: str = "password") -> None:
    if (problem := password_problem(password)) is not None:
        problems.add(field_name, problem)


def _check_name(problems: Problems, name: str) -> str:
    name = name.strip()
    if not name:
        problems.add("name", "Required.")
    elif len(name) > NAME_LENGTH:
        problems.add("name", f"At most {NAME_LENGTH} characters.")
    return name


def _origin(url: str) -> str | None:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return None
    return f"{parts.scheme}://{parts.netloc}"


def _link(base: str, **query: str) -> str:
    return f"{base}{'&' if '?' in base else '?'}{urlencode(query)}"


async def _issue_token(uow: UnitOfWork, user: User, *, purpose: str, lifetime: timedelta) -> str:
    token = secrets.token_urlsafe(32)
    now = utcnow()
    uow.session.add(
        OneTimeToken(
            user_id=user.id,
            purpose=purpose,
            token_hash=hash_key(token),
            created_at=now,
            expires_at=now + lifetime,
        )
    )
    await uow.session.flush()
    return token


async def _use_token(uow: UnitOfWork, token: str, *, purpose: str) -> User:
    """The user a live token of `purpose` was issued to; the token is spent. A token that is
    unknown, spent, expired or of another purpose is VALIDATION_FAILED on `token`, all alike."""
    now = utcnow()
    # Spent in one conditional statement, so two requests racing with one token cannot both
    # win: only the one whose update matched a row goes on.
    result = await uow.session.execute(
        update(OneTimeToken)
        .where(
            OneTimeToken.token_hash == hash_key(token),
            OneTimeToken.purpose == purpose,
            OneTimeToken.used_at.is_(None),
            OneTimeToken.expires_at > now,
        )
        .values(used_at=now)
        .returning(OneTimeToken.user_id)
    )
    user_id = result.scalar_one_or_none()
    user = await uow.session.get(User, user_id) if user_id is not None else None
    if user is None:
        raise ValidationFailed.field("token", BAD_TOKEN)
    return user


def _queue_verification(
    uow: UnitOfWork, user: User, policy: AuthPolicy, callback_url: str | None = None
) -> None:
    hours = int(policy.verification_lifetime.total_seconds() // 3600)
    queue_notification(
        uow.session,
        kind=EMAIL_VERIFICATION,
        channel="email",
        recipient=user.email,
        subject="Verify your e-mail address",
        body=f"Open the link to verify {user.email}. It works once, for {hours} hours.",
        user_id=user.id,
        data={"callbackURL": callback_url} if callback_url else {},
    )


async def _addressee(uow: UnitOfWork, notification: Notification) -> User | str:
    """The active user a link mail is for, or why it is no longer to be sent."""
    user = (
        await uow.session.get(User, notification.user_id)
        if notification.user_id is not None
        else None
    )
    if user is None or user.status != "active" or user.email != notification.recipient:
        return "The account is gone, inactive, or has another address now."
    return user


async def verification_mail(
    uow: UnitOfWork, notification: Notification, policy: AuthPolicy
) -> Message | str:
    """The verification mail with a fresh token (stored hashed in `uow`), or why it is no
    longer to be sent."""
    user = await _addressee(uow, notification)
    if isinstance(user, str):
        return user
    if user.email_verified:
        return "The address was verified meanwhile."
    token = await _issue_token(
        uow, user, purpose=EMAIL_VERIFICATION, lifetime=policy.verification_lifetime
    )
    callback_url = notification.data.get("callbackURL")
    query = {"token": token, **({"callbackURL": callback_url} if callback_url else {})}
    link = _link(f"{policy.public_url.rstrip('/')}/api/auth/verify-email", **query)
    return Message(
        to=user.email, subject=notification.subject or "", body=notification.body,
        link=link, token=token,
    )  # fmt: skip


async def _start(
    uow: UnitOfWork, user: User, policy: AuthPolicy, client: Client
) -> tuple[UserSession, str]:
    ended = (
        await sessions.end_session(uow, client.presented_token) if client.presented_token else None
    )
    if ended is not None:  # rotation: the browser's old session ends with the new one's start
        record_change(
            uow, Actor(kind="user", id=str(ended.user_id)), event="sessions.revoke",
            entity_type="session", entity_id=str(ended.id), after=ended.snapshot(),
        )  # fmt: skip
    row, token = await sessions.start_session(
        uow,
        user,
        lifetime=policy.session_lifetime,
        idle_timeout=policy.idle_timeout,
        ip_address=client.ip_address,
        user_agent=client.user_agent,
    )
    record_change(
        uow,
        _actor_of(user),
        event="sessions.create",
        entity_type="session",
        entity_id=str(row.id),
        after=row.snapshot(),
    )
    return row, token


async def sign_up(
    uow: UnitOfWork,
    actor: Actor,
    *,
    email: str,
    password: str,
    name: str,
    policy: AuthPolicy,
    client: Client,
) -> SignedIn:
    """A new user (role customer), signed in, with a verification mail to send. An address
    with a user already is a CONFLICT."""
    problems = Problems()
    email = check_email(problems, email)
    _check_password(problems, password)
    name = _check_name(problems, name)
    problems.raise_if_any()
    if await uow.session.scalar(select(User.id).where(User.email == email)) is not None:
        raise email_in_use(email)  # before the hash: a taken address costs no argon2 work
    password_hash = await hash_password(password)
    existing = await uow.session.scalar(select(Customer.id).where(Customer.email == email))
    user = await add_user(uow.session, email=email, name=name, password_hash=password_hash)
    await grant_roles(uow.session, user.id, [CUSTOMER])
    own = _actor_of(user)
    if existing is None:
        first, _, last = name.partition(" ")
        customer = await create_customer(
            uow, own, email=email, first_name=first[:NAME_LENGTH], last_name=last or None
        )
        user.customer_id = customer.id
        await uow.session.flush()
    record_change(
        uow, own, event="users.create", entity_type="user", entity_id=str(user.id),
        after=user.snapshot(),
    )  # fmt: skip
    row, token = await _start(uow, user, policy, client)
    _queue_verification(uow, user, policy)
    return SignedIn(user, row, token)


async def sign_in(
    uow: UnitOfWork, *, email: str, password: str, policy: AuthPolicy, client: Client
) -> SignedIn:
    """A new session for the user with this address and password. Unknown address and wrong
    password: the same UNAUTHORIZED, in the same time. Inactive: FORBIDDEN (after the
    password). The caller throttles."""
    problems = Problems()
    # A password no one can have (over the length limit) is refused before any hashing.
    if len(password) > MAX_LENGTH:
        problems.add("password", "Too long.")
    problems.raise_if_any()
    email = email.strip().lower()
    user = await uow.session.scalar(select(User).where(User.email == email))
    if not await verify_password(user.password_hash if user else None, password) or user is None:
        raise Unauthorized(WRONG_CREDENTIALS)
    if user.status != "active":
        raise Forbidden("This account is inactive.")
    if user.password_hash and needs_rehash(user.password_hash):
        user.password_hash = await hash_password(password)
    row, token = await _start(uow, user, policy, client)
    return SignedIn(user, row, token)


async def current(session: AsyncSession, token: str | None) -> tuple[User, UserSession] | None:
    """The live session behind a cookie's token and its (active) user, or None."""
    return await sessions.live_session(session, token) if token else None


async def sign_out(uow: UnitOfWork, actor: Actor, *, token: str | None) -> bool:
    """End the session behind `token`; False when there was none (sign-out is idempotent)."""
    row = await sessions.end_session(uow, token) if token else None
    if row is None:
        return False
    record_change(
        uow,
        Actor(kind="user", id=str(row.user_id)),
        event="sessions.revoke",
        entity_type="session",
        entity_id=str(row.id),
        after=row.snapshot(),
    )
    return True


def _reset_link(policy: AuthPolicy, redirect_to: str | None, token: str) -> str:
    """Where a reset link leads: `redirectTo` when it is this server's or an allowed origin's
    page (a link elsewhere would hand the token to a stranger), else `/reset-password` here."""
    public = policy.public_url.rstrip("/")
    if redirect_to is None:
        return _link(f"{public}/reset-password", token=token)
    if redirect_to.startswith("/") and not redirect_to.startswith("//"):
        return _link(f"{public}{redirect_to}", token=token)
    origin = _origin(redirect_to)
    if origin is None or origin not in {_origin(public), *policy.allowed_origins}:
        raise ValidationFailed.field(
            "redirectTo", "A path here, or a URL of an allowed origin (CARTOGRAPH_ALLOWED_ORIGINS)."
        )
    return _link(redirect_to, token=token)


async def request_password_reset(
    uow: UnitOfWork, *, email: str, redirect_to: str | None, policy: AuthPolicy
) -> None:
    """Queue a reset mail for the active user with this address; nothing for anyone else
    (the answer is the same either way: no account enumeration)."""
    problems = Problems()
    email = check_email(problems, email)
    problems.raise_if_any()
    # Checked whoever the address is, so a bad redirectTo is refused alike for all.
    _reset_link(policy, redirect_to, "check")
    user = await uow.session.scalar(select(User).where(User.email == email))
    if user is None or user.status != "active":
        return
    minutes = int(policy.reset_lifetime.total_seconds() // 60)
    queue_notification(
        uow.session,
        kind=PASSWORD_RESET,
        channel="email",
        recipient=user.email,
        subject="Reset your password",
        body=f"Open the link to choose a new password. It works once, for {minutes} "
        "minutes. If you did not ask for this, ignore this message.",
        user_id=user.id,
        data={"redirectTo": redirect_to} if redirect_to else {},
    )


async def reset_mail(
    uow: UnitOfWork, notification: Notification, policy: AuthPolicy
) -> Message | str:
    """The reset mail with a fresh token (stored hashed in `uow`), or why it is no longer to
    be sent."""
    user = await _addressee(uow, notification)
    if isinstance(user, str):
        return user
    redirect_to = notification.data.get("redirectTo")
    try:
        _reset_link(policy, redirect_to, "check")
    except ValidationFailed:
        return "Its redirectTo is no longer an allowed origin."
    token = await _issue_token(uow, user, purpose=PASSWORD_RESET, lifetime=policy.reset_lifetime)
    return Message(
        to=user.email, subject=notification.subject or "", body=notification.body,
        link=_reset_link(policy, redirect_to, token), token=token,
    )  # fmt: skip


async def reset_password(uow: UnitOfWork, *, token: str, new_password: str) -> User:
    """Set a new password with a reset token; every session of the user ends, and every
    other reset token of theirs is spent."""
    problems = Problems()
    _check_password(problems, new_password, "newPassword")
    problems.raise_if_any()
    password_hash = await hash_password(new_password)
    user = await _use_token(uow, token, purpose=PASSWORD_RESET)
    user.password_hash = password_hash
    user.updated_at = utcnow()
    await uow.session.execute(
        update(OneTimeToken)
        .where(
            OneTimeToken.user_id == user.id,
            OneTimeToken.purpose == PASSWORD_RESET,
            OneTimeToken.used_at.is_(None),
        )
        .values(used_at=utcnow())
    )
    await sessions.end_sessions_of(uow, user.id)
    record_change(
        uow, _actor_of(user), event="users.passwordReset", entity_type="user",
        entity_id=str(user.id), after=user.snapshot(),
    )  # fmt: skip
    return user


async def send_verification_email(
    uow: UnitOfWork, *, email: str, callback_url: str | None, policy: AuthPolicy
) -> None:
    """Queue a new verification mail for an unverified user with this address; nothing
    otherwise (the same answer either way)."""
    problems = Problems()
    email = check_email(problems, email)
    problems.raise_if_any()
    user = await uow.session.scalar(select(User).where(User.email == email))
    if user is None or user.email_verified or user.status != "active":
        return
    _queue_verification(uow, user, policy, callback_url)


async def verify_email(uow: UnitOfWork, *, token: str) -> User:
    """Mark the address verified; a user without a customer record gets the one of their
    address now (made when there is none)."""
    user = await _use_token(uow, token, purpose=EMAIL_VERIFICATION)
    before = user.snapshot()
    user.email_verified = True
    user.updated_at = utcnow()
    own = _actor_of(user)
    if user.customer_id is None:
        user.customer_id = await _customer_to_link(uow, own, user)
    await uow.session.flush()
    record_change(
        uow, own, event="users.verifyEmail", entity_type="user", entity_id=str(user.id),
        before=before, after=user.snapshot(),
    )  # fmt: skip
    return user


async def _customer_to_link(uow: UnitOfWork, actor: Actor, user: User) -> uuid.UUID | None:
    """The customer record of the user's (now verified) address, unless another user holds
    it; made when there is none."""
    customer = await uow.session.scalar(select(Customer).where(Customer.email == user.email))
    if customer is None:
        first, _, last = user.name.partition(" ")
        customer = await create_customer(
            uow, actor, email=user.email, first_name=first, last_name=last or None
        )
        return customer.id
    holder = await uow.session.scalar(select(User.id).where(User.customer_id == customer.id))
    return customer.id if holder is None else None
