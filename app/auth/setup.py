"""What sign-in needs from the settings, made once per app (`app.state.auth`): the session and
token policy, the sign-in throttle, and how the session cookie is set."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from app.auth.cookies import SecureSetting
from app.auth.throttle import SignInThrottle
from app.config import Settings
from app.middleware.rate_limit import make_storage
from app.services.auth import AuthPolicy


def policy_of(settings: Settings) -> AuthPolicy:
    """The session and token policy the settings make (also read by the notification job,
    which mints the tokens of the links it mails)."""
    return AuthPolicy(
        session_lifetime=timedelta(days=settings.session_max_days),
        idle_timeout=timedelta(hours=settings.session_idle_hours),
        reset_lifetime=timedelta(minutes=settings.password_reset_minutes),
        verification_lifetime=timedelta(hours=settings.email_verification_hours),
        public_url=settings.public_url,
        allowed_origins=settings.origins,
    )


@dataclass(frozen=True, slots=True)
class AuthSetup:
    policy: AuthPolicy
    throttle: SignInThrottle
    cookie_name: str
    cookie_secure: SecureSetting

    @classmethod
    def from_settings(cls, settings: Settings) -> AuthSetup:
        throttle = SignInThrottle.build(
            make_storage(settings.redis_url),
            free_failures=settings.sign_in_free_failures,
            account_failures=settings.sign_in_account_failures,
            max_backoff=settings.sign_in_max_backoff_seconds,
            address_limit=settings.sign_in_address_limit,
        )
        return cls(
            policy=policy_of(settings),
            throttle=throttle,
            cookie_name=settings.session_cookie,
            cookie_secure=settings.session_cookie_secure,
        )
