"""Settings, read once from the environment (see the README for every one)."""

from __future__ import annotations

from functools import cached_property
from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from app.money import currency_problem
from app.payouts import Minimums

DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///var/cartograph.db"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CARTOGRAPH_", extra="ignore", frozen=True)

    database_url: str = Field(
        DEFAULT_DATABASE_URL,
        validation_alias=AliasChoices("DATABASE_URL", "CARTOGRAPH_DATABASE_URL"),
    )
    # A streaming replica of DATABASE_URL for the reads that tolerate lag (anonymous catalog,
    # search and suggest queries; analytics reports): `app.db.Database.replica_session`.
    database_replica_url: str | None = Field(
        None,
        validation_alias=AliasChoices("DATABASE_REPLICA_URL", "CARTOGRAPH_DATABASE_REPLICA_URL"),
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
    # Log lines as text (as Python's logging writes them) or one JSON object each, with the
    # request id and, per request, an access line (docs/operations.md).
    log_format: Literal["text", "json"] = "text"
    # `/metrics` (Prometheus text format) is served only when `true`; with a token set, a
    # scrape must send `Authorization: Bearer <token>`.
    metrics: bool = False
    metrics_token: str | None = None
    # OpenTelemetry traces: sent over OTLP/HTTP to this collector (e.g.
    # `http://127.0.0.1:4318`; `/v1/traces` is added) when set, as this service, keeping this
    # share of the traces that start here (a caller's sampled `traceparent` is followed).
    otel_endpoint: str | None = None
    otel_service_name: str = "cartograph"
    otel_sample_ratio: float = Field(1.0, ge=0, le=1)
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
    # The least balance a payout run pays a vendor, per currency, in minor units:
    # `USD=5000,EUR=4000,*=1000` (`*`: any other currency; default 1000 minor units).
    payout_minimum: str = "*=1000"
    # A vendor ships on time when a sub-order is shipped within this many hours of checkout
    # (the vendor performance's on-time shipping rate).
    vendor_ship_within_hours: int = Field(48, ge=1, le=24 * 365)
    # PostgreSQL cancels any statement of the server's sessions that runs longer (0: never);
    # the request answers 503 SERVICE_UNAVAILABLE with Retry-After.
    statement_timeout_ms: int = 5000
    # Each analytics query's own statement timeout on PostgreSQL (`SET LOCAL`; 0: the server's).
    analytics_timeout_ms: int = Field(3000, ge=0)
    # GraphQL query cost (app/resolvers/cost.py): the most one operation may cost, the most
    # items a list argument may hold, and each principal's budget of points (0: no budget),
    # refilled at `graphql_cost_restore_rate` points a second.
    graphql_max_cost: int = Field(5000, ge=1)
    graphql_max_list_length: int = Field(100, ge=1)
    graphql_cost_budget: int = Field(50_000, ge=0)
    graphql_cost_restore_rate: float = Field(5000.0, gt=0)
    # Automatic persisted queries (app/resolvers/persisted.py): on unless `false`; documents
    # kept per process (and in Redis with REDIS_URL) at most this many, each at most this long.
    graphql_apq: bool = True
    graphql_apq_cache_size: int = Field(1000, ge=1)
    graphql_apq_max_bytes: int = Field(65536, ge=1)
    # Registered documents (Apollo's persisted query manifest), served by id; with the
    # allow-list on, nothing else runs.
    graphql_persisted_queries: Path | None = None
    graphql_allow_list: bool = False
    # How long shared caches may keep an anonymous catalog read over GET (0: none is public).
    graphql_get_max_age: int = Field(60, ge=0)
    # Complete plain GraphQL subtrees by plan (app/resolvers/compiled.py); false: graphql-core
    # completes every field, as it would without the plans.
    graphql_compiled: bool = True
    # Sessions (sign-in): one ends after this many hours without a request, and this many
    # days after sign-in whatever happens; the cookie is Secure unless `false`, or `auto` on
    # plain http to localhost, 127.0.0.1 or testserver (local development).
    session_idle_hours: float = Field(72.0, gt=0)
    session_max_days: float = Field(30.0, gt=0)
    session_cookie_secure: Literal["auto", "true", "false"] = "auto"
    # One-time tokens mailed to users: how long a password-reset and a verification link work.
    password_reset_minutes: int = Field(60, ge=1)
    email_verification_hours: int = Field(48, ge=1)
    # Where e-mail notifications go (`log`: the server log, for development; `smtp`: the mail
    # server below), and the address the links in them start with (never taken from a
    # request's Host header).
    notifier: Literal["log", "smtp"] = "log"
    public_url: str = "http://127.0.0.1:8000"
    # The mail server: TLS `none` (plain), `starttls` (upgrade, port 587) or `tls` (implicit,
    # port 465); credentials when it asks for them; the From address; a timeout per attempt.
    smtp_host: str = "localhost"
    smtp_port: int = Field(587, ge=1, le=65535)
    smtp_tls: Literal["none", "starttls", "tls"] = "starttls"
    smtp_username: str | None = None
    smtp_password: str | None = None
    smtp_sender: str = "Cartograph <no-reply@localhost>"
    smtp_timeout_seconds: float = Field(10.0, gt=0)
    # Where text messages go (`log`: the server log, for development).
    sms_provider: Literal["log"] = "log"
    # Sign-in throttling: after this many failures for one account from one address, each
    # further attempt waits 1, 2, 4 ... seconds, at most the cap; the looser account-wide
    # count (from every address) backs off the same way; failures per address are a window.
    sign_in_free_failures: int = Field(5, ge=1)
    sign_in_account_failures: int = Field(50, ge=1)
    sign_in_max_backoff_seconds: int = Field(60, ge=1)
    sign_in_address_limit: str = "30/minute"
    # OAuth 2.0 token lifetimes: an access token's (short: it is not checked against its
    # refresh family), and a refresh token's (each use rotates it).
    oauth_access_token_seconds: int = Field(3600, ge=60)
    oauth_refresh_token_seconds: int = Field(30 * 86400, ge=60)
    # Access logs (`GET /api/v1/logs`): every HTTP request recorded unless `false`, written in
    # batches every this many seconds, and entries older than this many days deleted (0: kept).
    access_log: bool = True
    access_log_flush_seconds: float = Field(1.0, gt=0)
    access_log_retention_days: int = Field(30, ge=0)
    # GraphQL over websocket: the most operations (subscriptions, and queries in flight) one
    # socket may run at once; how often the server pings an idle socket (graphql-transport-ws
    # `ping`, legacy `ka`; 0: never) so that clients and proxies see it is alive; and how many
    # events a subscription may fall behind before it is ended (RATE_LIMITED).
    ws_max_operations: int = Field(20, ge=1)
    ws_keep_alive_seconds: float = Field(15.0, ge=0)
    live_queue_size: int = Field(100, ge=1)
    # The outbox dispatcher (webhooks, live subscriptions) runs inside `serve` unless `false`;
    # it starts at once after this process commits an event, and polls this often for events
    # committed by other processes.
    dispatcher: bool = True
    dispatch_poll_seconds: float = Field(1.0, gt=0)
    # Background jobs: run inside `serve` unless `false` (then by `cartograph worker` or
    # `GET /api/jobs/run`), this many at once per process, polling this often; a job is
    # leased for this many seconds (a job running longer is stopped, and one whose worker
    # died is claimed again after it); succeeded jobs are deleted after this many days.
    jobs_in_process: bool = True
    jobs_concurrency: int = Field(16, ge=1, le=100)
    jobs_poll_seconds: float = Field(1.0, gt=0)
    job_lease_seconds: float = Field(300.0, gt=0)
    jobs_retention_days: int = Field(7, ge=1)
    # Outgoing webhooks: targets on private, loopback or link-local addresses are refused unless
    # `true` (development); each attempt gives up after this many seconds; an endpoint whose
    # deliveries have failed without a success for this many days is disabled.
    webhook_allow_private: bool = False
    webhook_timeout_seconds: float = Field(10.0, gt=0)
    webhook_disable_after_days: float = Field(5.0, gt=0)

    # Signs what the server hands out to be checked later (media links); unset, a random key
    # is made at start-up, so signed links then last only as long as the process.
    secret_key: str | None = None
    # Media (`/api/media`): where files go (`local`: a directory, served by this server;
    # `s3`: an S3-compatible bucket), the most one upload may hold, which types are accepted
    # (detected from the bytes: jpeg, png, gif, webp, pdf, zip), how long a signed link works,
    # the thumbnail widths made by the variants job, and the base of public links (default:
    # this server's `/api/media/files/...` for local, the bucket's own URL for s3).
    media_backend: Literal["local", "s3"] = "local"
    media_dir: Path = Path("var/media")
    media_max_bytes: int = Field(10 * 1024 * 1024, ge=1)
    media_allowed: str = "jpeg,png,gif,webp,pdf"
    media_signed_url_seconds: int = Field(3600, ge=1, le=7 * 86400)
    media_thumbnail_sizes: str = "200,800"
    media_public_url: str | None = None
    s3_bucket: str = "cartograph-media"
    s3_endpoint_url: str | None = None
    s3_region: str = "us-east-1"
    s3_access_key_id: str | None = None
    s3_secret_access_key: str | None = None

    @field_validator("default_currency")
    @classmethod
    def _known_currency(cls, value: str) -> str:
        # Prices shown in it are converted with its exponent: refuse a typo at start-up.
        if (problem := currency_problem(value)) is not None:
            raise ValueError(problem)
        return value

    @field_validator("payout_minimum")
    @classmethod
    def _payout_minimum(cls, value: str) -> str:
        Minimums.parse(value)  # a ValueError names the bad part
        return value

    @cached_property
    def payout_minimums(self) -> Minimums:
        return Minimums.parse(self.payout_minimum)

    @model_validator(mode="after")
    def _budget_admits_the_largest_query(self) -> Settings:
        # A budget smaller than the per-query maximum would throttle some queries forever.
        if 0 < self.graphql_cost_budget < self.graphql_max_cost:
            raise ValueError(
                "CARTOGRAPH_GRAPHQL_COST_BUDGET must be 0 (no budget) or at least "
                "CARTOGRAPH_GRAPHQL_MAX_COST."
            )
        return self

    @model_validator(mode="after")
    def _replica_of_postgresql(self) -> Settings:
        # SQLite has one file and no replication: a replica URL there is a mistake.
        replica = self.database_replica_url
        if replica and (replica.startswith("sqlite") or self.database_url.startswith("sqlite")):
            raise ValueError("DATABASE_REPLICA_URL needs PostgreSQL, for it and for DATABASE_URL.")
        return self

    @model_validator(mode="after")
    def _allow_list_has_documents(self) -> Settings:
        # An allow-list of nothing would refuse every operation.
        if self.graphql_allow_list and self.graphql_persisted_queries is None:
            raise ValueError(
                "CARTOGRAPH_GRAPHQL_ALLOW_LIST needs CARTOGRAPH_GRAPHQL_PERSISTED_QUERIES (the "
                "manifest of registered documents)."
            )
        return self

    @field_validator("media_allowed")
    @classmethod
    def _known_media_types(cls, value: str) -> str:
        from app.media.sniff import KNOWN_KINDS

        unknown = [k for k in _words(value) if k not in KNOWN_KINDS]
        if unknown:
            raise ValueError(f"Unknown media types: {', '.join(unknown)}; known: {KNOWN_KINDS}.")
        return value

    @field_validator("media_thumbnail_sizes")
    @classmethod
    def _thumbnail_sizes(cls, value: str) -> str:
        if not all(w.isdigit() and 0 < int(w) <= 4096 for w in _words(value)):
            raise ValueError("Widths in pixels, 1 to 4096, comma-separated.")
        return value

    @cached_property
    def media_kinds(self) -> frozenset[str]:
        """The accepted upload types (`jpeg`, `pdf` ...), from the comma-separated setting."""
        return frozenset(_words(self.media_allowed))

    @cached_property
    def thumbnail_widths(self) -> tuple[int, ...]:
        return tuple(sorted({int(w) for w in _words(self.media_thumbnail_sizes)}))

    @cached_property
    def origins(self) -> frozenset[str]:
        """The allowed browser origins, from the comma-separated setting."""
        return frozenset(
            o.strip().rstrip("/") for o in self.allowed_origins.split(",") if o.strip()
        )


def _words(value: str) -> list[str]:
    return [w.strip().lower() for w in value.split(",") if w.strip()]
