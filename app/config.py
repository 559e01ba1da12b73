"""Settings, read once from the environment (see the README for every one)."""

from __future__ import annotations

from functools import cached_property
from pathlib import Path

from pydantic import AliasChoices, Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from app.money import currency_problem

DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///var/cartograph.db"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CARTOGRAPH_", extra="ignore", frozen=True)

    database_url: str = Field(
        DEFAULT_DATABASE_URL,
        validation_alias=AliasChoices("DATABASE_URL", "CARTOGRAPH_DATABASE_URL"),
    )
    redis_url: str | None = Field(
        None, validation_alias=AliasChoices("REDIS_URL", "CARTOGRAPH_REDIS_URL")
    )
    db_pool_size: int = 10
    rate_limit: str = "600/minute"
    # Refused credentials per client address; past it, that address's credentials wait unread.
    auth_failure_limit: str = "30/minute"
    max_body_bytes: int = 1_048_576
    allowed_origins: str = ""
    session_cookie: str = "cartograph_session"
    graphql_max_depth: int = 12
    graphql_max_aliases: int = 30
    graphql_max_tokens: int = 5000
    graphql_introspection: bool = True
    graphiql: bool = True
    log_level: str = "INFO"
    # The shared secret of the payment provider's webhook (Stripe-Signature); unset refuses all.
    payment_webhook_secret: str | None = None
    # The currency prices are shown in where a caller names none (gateway products).
    default_currency: str = "USD"
    # How often the server releases expired inventory reservations (0: never; a worker does).
    reservation_sweep_seconds: float = 30.0
    # The built-in test payment provider: its round trip, and an optional file that keeps its
    # record of charges and refunds across restarts (as a real provider's would be kept).
    test_provider_latency_ms: int = 0
    test_provider_ledger: Path | None = None
    # PostgreSQL cancels any statement of the server's sessions that runs longer (0: never);
    # the request answers 503 SERVICE_UNAVAILABLE with Retry-After.
    statement_timeout_ms: int = 5000

    @field_validator("default_currency")
    @classmethod
    def _known_currency(cls, value: str) -> str:
        # Prices shown in it are converted with its exponent: refuse a typo at start-up.
        if (problem := currency_problem(value)) is not None:
            raise ValueError(problem)
        return value

    @cached_property
    def origins(self) -> frozenset[str]:
        """The allowed browser origins, from the comma-separated setting."""
        return frozenset(
            o.strip().rstrip("/") for o in self.allowed_origins.split(",") if o.strip()
        )
