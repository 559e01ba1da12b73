"""GraphQL for signing up, in and out (Better Auth's flows, `app.services.auth`).

The session token never appears in an answer: sign-up and sign-in set it as the HttpOnly
session cookie on the response (`info.context.response`: the GraphQL HTTP response, or the
REST route's, whose executor carries its headers across), and sign-out clears it. Over a
websocket there is no response to set a cookie on: sign in over HTTP.

Mail (verification, password reset) is queued in the command's transaction and sent by a job
after it commits (`app.services.notifications`).
Sign-in is throttled per account and address (`app.auth.throttle`); a throttled attempt is
RATE_LIMITED with `Retry-After` on the response.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import strawberry
from starlette.responses import Response
from strawberry import Info

from app.auth.cookies import clear_session_cookie, set_session_cookie
from app.auth.passwords import MAX_LENGTH, MIN_LENGTH
from app.auth.setup import AuthSetup
from app.auth.throttle import TooManySignIns
from app.errors import Forbidden, Unauthorized
from app.middleware.authentication import session_credential
from app.middleware.csrf import origin_allowed
from app.models.customers import EMAIL_LENGTH
from app.models.users import User, UserSession
from app.services import auth as service

EMAIL_SCHEMA = {"jsonschema": {"minLength": 3, "maxLength": EMAIL_LENGTH, "pattern": "@"}}
PASSWORD_SCHEMA = {"jsonschema": {"minLength": MIN_LENGTH, "maxLength": MAX_LENGTH}}


@strawberry.type(name="AuthUser", description="The signed-in user, as Better Auth shows one.")
class AuthUserType:
    id: strawberry.ID = strawberry.field(description="The user's id (a UUID).")
    email: str = strawberry.field(description="The e-mail address, lower-case.")
    name: str = strawberry.field(description="The name the user gave.")
    email_verified: bool = strawberry.field(
        description="Whether the address was verified (the link of the verification mail)."
    )
    image: str | None = strawberry.field(description="A picture's URL; always null for now.")
    created_at: datetime = strawberry.field(description="When the user signed up.")
    updated_at: datetime = strawberry.field(description="When the user last changed.")

    @classmethod
    def of(cls, user: User) -> AuthUserType:
        return cls(
            id=strawberry.ID(str(user.id)),
            email=user.email,
            name=user.name,
            email_verified=user.email_verified,
            image=None,
            created_at=user.created_at,
            updated_at=user.updated_at,
        )


@strawberry.type(name="UserSession", description="A signed-in browser's session.")
class UserSessionType:
    id: strawberry.ID = strawberry.field(description="The session's id (not its token).")
    user_id: strawberry.ID = strawberry.field(description="The signed-in user's id.")
    expires_at: datetime = strawberry.field(
        description="When the session ends whatever happens (it also ends when idle)."
    )
    created_at: datetime = strawberry.field(description="When the user signed in.")
    updated_at: datetime = strawberry.field(description="When the session was last used.")
    ip_address: str | None = strawberry.field(description="The address that signed in.")
    user_agent: str | None = strawberry.field(description="The browser that signed in.")

    @classmethod
    def of(cls, row: UserSession) -> UserSessionType:
        return cls(
            id=strawberry.ID(str(row.id)),
            user_id=strawberry.ID(str(row.user_id)),
            expires_at=row.expires_at,
            created_at=row.created_at,
            updated_at=row.last_seen_at,
            ip_address=row.ip_address,
            user_agent=row.user_agent,
        )


@strawberry.type(name="AuthSession", description="A user and their session (Better Auth's shape).")
class AuthSessionType:
    user: AuthUserType = strawberry.field(description="The signed-in user.")
    session: UserSessionType = strawberry.field(description="The session.")

    @classmethod
    def of(cls, user: User, row: UserSession) -> AuthSessionType:
        return cls(user=AuthUserType.of(user), session=UserSessionType.of(row))


@strawberry.type(name="AuthStatus", description="The answer of a request that tells nothing.")
class AuthStatusType:
    status: bool = strawberry.field(description="Always true: the request was taken.")


@strawberry.type(name="SignOutResult", description="The answer to signing out.")
class SignOutResultType:
    success: bool = strawberry.field(description="Always true: no session is left behind.")


@strawberry.input(description="A new account: e-mail address, password and name.")
class SignUpInput:
    email: str = strawberry.field(description="The e-mail address.", metadata=EMAIL_SCHEMA)
    password: str = strawberry.field(
        description=f"{MIN_LENGTH} to {MAX_LENGTH} characters.", metadata=PASSWORD_SCHEMA
    )
    name: str = strawberry.field(
        description="1 to 100 characters.", metadata={"jsonschema": {"maxLength": 100}}
    )


@strawberry.input(description="An e-mail address and its password.")
class SignInInput:
    email: str = strawberry.field(description="The e-mail address.")
    password: str = strawberry.field(
        description="The password.", metadata={"jsonschema": {"maxLength": MAX_LENGTH}}
    )


@strawberry.input(description="The address to mail a password-reset link to.")
class RequestPasswordResetInput:
    email: str = strawberry.field(description="The account's e-mail address.")
    redirect_to: str | None = strawberry.field(
        default=None,
        name="redirectTo",
        description="The page the link opens (with `?token=`): a path here, or a URL of an "
        "allowed origin. Default: /reset-password here.",
    )


@strawberry.input(description="A new password and the reset token that allows it.")
class ResetPasswordInput:
    new_password: str = strawberry.field(
        description=f"{MIN_LENGTH} to {MAX_LENGTH} characters.", metadata=PASSWORD_SCHEMA
    )
    token: str = strawberry.field(description="The token of the reset link.")


@strawberry.input(description="The address to mail a new verification link to.")
class SendVerificationEmailInput:
    email: str = strawberry.field(description="The account's e-mail address.")
    callback_url: str | None = strawberry.field(
        default=None,
        name="callbackURL",
        description="Passed on in the link (for the front end to go to once verified).",
    )


@strawberry.input(description="The token of a verification link.")
class VerifyEmailInput:
    token: str = strawberry.field(description="The token of the verification link.")


def _setup(info: Info) -> AuthSetup:
    setup: AuthSetup = info.context.request.scope["app"].state.auth
    return setup


def _client(info: Info) -> service.Client:
    request = info.context.request
    client = request.client if request is not None else None
    return service.Client(
        ip_address=client.host if client else None,
        user_agent=request.headers.get("user-agent") if request is not None else None,
        presented_token=session_credential(request.scope) if request is not None else None,
    )


def _address(info: Info) -> str:
    return _client(info).ip_address or "unknown"


def _set_cookie(info: Info, signed_in: service.SignedIn) -> None:
    setup = _setup(info)
    set_session_cookie(
        info.context.response,
        info.context.request,
        name=setup.cookie_name,
        token=signed_in.token,
        expires_at=signed_in.session.expires_at,
        secure=setup.cookie_secure,
    )


def _clear_cookie(info: Info) -> None:
    setup = _setup(info)
    clear_session_cookie(
        info.context.response,
        info.context.request,
        name=setup.cookie_name,
        secure=setup.cookie_secure,
    )


def _refuse_foreign_origin(info: Info) -> None:
    """Login CSRF: a page elsewhere must not sign a browser in (as someone else) by posting a
    form. A browser names the page's Origin on such a POST; a request naming a foreign one is
    refused. Clients that send no Origin (programs, not browsers) are not affected."""
    request = info.context.request
    if request is None or request.headers.get("origin") is None:
        return
    settings = request.scope["app"].state.settings
    if not origin_allowed(request.scope, settings.origins):
        raise Forbidden("Cross-origin sign-in refused.")


def _retry_after(info: Info, error: TooManySignIns) -> None:
    # Over a websocket there is no response (the context's is the socket): the error says it.
    if isinstance(info.context.response, Response):
        info.context.response.headers["Retry-After"] = str(error.retry_after)


@strawberry.type
class AuthQueries:
    @strawberry.field(
        description="The session the session cookie names, with its user; null without one "
        "(a cookie naming an ended session is cleared)."
    )
    async def session(self, info: Info) -> AuthSessionType | None:
        request = info.context.request
        token = session_credential(request.scope) if request is not None else None
        async with info.context.read() as session:
            found = await service.current(session, token)
        if found is None:
            if token is not None:  # a cookie naming an ended session: clear it
                _clear_cookie(info)
            return None
        return AuthSessionType.of(*found)


@strawberry.type
class AuthMutations:
    @strawberry.mutation(
        description="Create an account (role customer) and sign in: the session cookie is "
        "set, and a verification link is mailed. An address in use is CONFLICT."
    )
    async def sign_up(
        self,
        info: Info,
        input: Annotated[SignUpInput, strawberry.argument(description="The new account.")],
    ) -> AuthSessionType:
        setup = _setup(info)
        _refuse_foreign_origin(info)
        async with info.context.command() as uow:
            signed_in = await service.sign_up(
                uow,
                info.context.actor,
                email=input.email,
                password=input.password,
                name=input.name,
                policy=setup.policy,
                client=_client(info),
            )
        _set_cookie(info, signed_in)
        return AuthSessionType.of(signed_in.user, signed_in.session)

    @strawberry.mutation(
        description="Sign in with e-mail and password: a new session, set as the cookie (the "
        "one the browser held ends). An unknown address and a wrong password are the same "
        "UNAUTHORIZED; repeated failures wait (RATE_LIMITED, Retry-After)."
    )
    async def sign_in(
        self,
        info: Info,
        input: Annotated[SignInInput, strawberry.argument(description="The credentials.")],
    ) -> AuthSessionType:
        setup = _setup(info)
        _refuse_foreign_origin(info)
        email, address = input.email.strip().lower(), _address(info)
        try:
            await setup.throttle.check(email, address)
        except TooManySignIns as error:
            _retry_after(info, error)
            raise
        try:
            async with info.context.command() as uow:
                signed_in = await service.sign_in(
                    uow,
                    email=input.email,
                    password=input.password,
                    policy=setup.policy,
                    client=_client(info),
                )
        except Unauthorized:
            await setup.throttle.failed(email, address)
            raise
        await setup.throttle.succeeded(email, address)
        _set_cookie(info, signed_in)
        return AuthSessionType.of(signed_in.user, signed_in.session)

    @strawberry.mutation(
        description="End the session the cookie names and clear the cookie (true even "
        "when there was none)."
    )
    async def sign_out(self, info: Info) -> SignOutResultType:
        token = _client(info).presented_token
        async with info.context.command() as uow:
            await service.sign_out(uow, info.context.actor, token=token)
        _clear_cookie(info)
        return SignOutResultType(success=True)

    @strawberry.mutation(
        description="Mail a password-reset link to the account of this address. The answer "
        "is the same whether there is one or not."
    )
    async def request_password_reset(
        self,
        info: Info,
        input: Annotated[
            RequestPasswordResetInput, strawberry.argument(description="The address.")
        ],
    ) -> AuthStatusType:
        setup = _setup(info)
        async with info.context.command() as uow:
            await service.request_password_reset(
                uow, email=input.email, redirect_to=input.redirect_to, policy=setup.policy
            )
        return AuthStatusType(status=True)

    @strawberry.mutation(
        description="Choose a new password with the token of a reset link (once, before it "
        "expires). Every session of the user ends."
    )
    async def reset_password(
        self,
        info: Info,
        input: Annotated[
            ResetPasswordInput, strawberry.argument(description="The password and token.")
        ],
    ) -> AuthStatusType:
        async with info.context.command() as uow:
            await service.reset_password(uow, token=input.token, new_password=input.new_password)
        return AuthStatusType(status=True)

    @strawberry.mutation(
        description="Mail a new verification link to an unverified account of this address. "
        "The answer is the same whether there is one or not."
    )
    async def send_verification_email(
        self,
        info: Info,
        input: Annotated[
            SendVerificationEmailInput, strawberry.argument(description="The address.")
        ],
    ) -> AuthStatusType:
        setup = _setup(info)
        async with info.context.command() as uow:
            await service.send_verification_email(
                uow, email=input.email, callback_url=input.callback_url, policy=setup.policy
            )
        return AuthStatusType(status=True)

    @strawberry.mutation(
        description="Verify an e-mail address with the token of its link (once, before it "
        "expires); the account is then linked to the customer record of that address."
    )
    async def verify_email(
        self,
        info: Info,
        input: Annotated[VerifyEmailInput, strawberry.argument(description="The token.")],
    ) -> AuthStatusType:
        async with info.context.command() as uow:
            await service.verify_email(uow, token=input.token)
        return AuthStatusType(status=True)
