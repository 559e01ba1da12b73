"""The composition root: settings -> database -> schema -> routes and middleware."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
from collections.abc import AsyncIterator
from pathlib import Path

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import BaseRoute, Mount, Route, WebSocketRoute
from starlette.staticfiles import StaticFiles

from app import __version__
from app import payments as payments_provider
from app.auth.setup import AuthSetup
from app.config import Settings
from app.db import Database
from app.errors import AppError, NotFound, ServiceUnavailable, ValidationFailed
from app.events.dispatcher import Dispatcher
from app.events.pubsub import LiveEvents
from app.jobs import JobRunner
from app.media import media_for

# Registers the `media.variants` job handler (image dimensions and thumbnails).
from app.media import variants as _media_variants  # noqa: F401
from app.middleware.access_log import AccessLogMiddleware
from app.middleware.authentication import AuthenticationMiddleware
from app.middleware.body_limit import BodyLimitMiddleware
from app.middleware.csrf import CsrfOriginMiddleware
from app.middleware.rate_limit import RateLimiter, RateLimitMiddleware, make_storage
from app.middleware.request_id import RequestIdMiddleware
from app.middleware.unavailable import ServiceUnavailableMiddleware
from app.models.base import utcnow

# Registers the `notification.send` job and the order-confirmation fan-out.
from app.notifications import jobs as _notification_jobs  # noqa: F401
from app.resolvers.budget import CostBudget
from app.resolvers.persisted import documents_for
from app.resolvers.schema import schema_for
from app.resolvers.view import GraphQLApp
from app.responses import JSONResponse
from app.rest.dialects import ENGINE, dialect_for_path
from app.rest.engine.media import media_file_routes
from app.rest.executor import RouteExecutor
from app.rest.oauth import oauth_routes
from app.rest.openapi import build_openapi
from app.rest.routes import ROUTES
from app.services import payments, settlement
from app.services.access_log import AccessLogWriter
from app.services.inventory.reservations import sweep_expired
from app.telemetry.logs import configure_logging
from app.telemetry.metrics import Metrics
from app.telemetry.middleware import TelemetryMiddleware
from app.telemetry.tracing import Tracing

# Registers the `webhook.deliver` job handler and the dispatcher's webhook fan-out.
from app.webhooks import delivery as webhook_delivery  # noqa: F401

STATIC_DIR = Path(__file__).parent / "static"

SWAGGER_HTML = """<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>Cartograph REST reference</title>
  <link rel="stylesheet" href="/static/swagger/swagger-ui.css">
  <link rel="icon" href="/static/swagger/favicon-32x32.png">
</head>
<body>
  <div id="swagger-ui"></div>
  <script src="/static/swagger/swagger-ui-bundle.js"></script>
  <script>
    window.ui = SwaggerUIBundle({ url: "/api/doc", dom_id: "#swagger-ui", deepLinking: true });
  </script>
</body>
</html>
"""


def create_served_app() -> Starlette:
    """The app `cartograph serve` runs (uvicorn's factory): `create_app`, with the heap that
    start-up built frozen once it is up (`gc.freeze`). Not for tests, which build many apps
    in one process: what is frozen is never collected."""
    return create_app(freeze_heap=True)


def create_app(
    settings: Settings | None = None,
    *,
    database: Database | None = None,
    freeze_heap: bool = False,
) -> Starlette:
    settings = settings or Settings()
    configure_logging(settings.log_level, settings.log_format)
    owns_database = database is None
    if settings.test_provider_latency_ms or settings.test_provider_ledger:
        payments_provider.use(
            payments_provider.TestProvider(
                latency=settings.test_provider_latency_ms / 1000,
                ledger=settings.test_provider_ledger,
            )
        )
    database = database or Database(
        settings.database_url,
        pool_size=settings.db_pool_size,
        statement_timeout_ms=settings.statement_timeout_ms,
        replica_url=settings.database_replica_url,
    )
    schema = schema_for(settings)
    metrics = Metrics(database, token=settings.metrics_token) if settings.metrics else None
    if metrics is not None and settings.metrics_token is None:
        logging.getLogger("app.telemetry").warning(
            "/metrics is served without a token (CARTOGRAPH_METRICS_TOKEN): keep it off the "
            "public load balancer"
        )
    tracing = Tracing(settings, database) if settings.otel_endpoint else None
    access_lines = settings.log_format == "json"
    telemetry = metrics is not None or tracing is not None or access_lines
    # One set of windows for HTTP requests and websocket operations alike.
    limiter = RateLimiter(
        limit=settings.rate_limit,
        auth_failure_limit=settings.auth_failure_limit,
        storage=make_storage(settings.redis_url),
    )
    graphql = GraphQLApp(
        schema,
        database=database,
        limiter=limiter,
        graphiql=settings.graphiql,
        max_message_bytes=settings.max_body_bytes,
        max_operations=settings.ws_max_operations,
        keep_alive_seconds=settings.ws_keep_alive_seconds,
        name_operations=telemetry,
        documents=documents_for(settings, schema),
        session_cookie=settings.session_cookie,
        get_max_age=settings.graphql_get_max_age,
    )
    live = LiveEvents.for_settings(
        redis_url=settings.redis_url, database=database, queue_size=settings.live_queue_size
    )
    openapi = build_openapi(ROUTES, schema)
    access_log = (
        AccessLogWriter(
            database,
            flush_seconds=settings.access_log_flush_seconds,
            retention_days=settings.access_log_retention_days,
        )
        if settings.access_log
        else None
    )

    async def health(request: Request) -> Response:
        if await database.ping():
            return JSONResponse({"status": "ok", "version": __version__})
        return JSONResponse(
            {"status": "error", "version": __version__, "database": "unreachable"},
            status_code=503,
            headers={"Retry-After": str(ServiceUnavailable.retry_after)},
        )

    async def payment_webhook(request: Request) -> Response:
        request_id = request.scope.get("state", {}).get("request_id")
        body = await request.body()
        try:
            payments.verify(
                settings.payment_webhook_secret, request.headers.get("stripe-signature"), body
            )
        except AppError as error:
            return JSONResponse(
                {"error": {"code": "INVALID_SIGNATURE", "message": error.message}}, status_code=400
            )
        try:
            outcome = await payments.handle(database, body, request_id=request_id)
        except AppError as error:
            return ENGINE.error_response(error, request_id)
        return JSONResponse({"data": {"received": True, "outcome": outcome}})

    async def doc(request: Request) -> Response:
        return JSONResponse(openapi)

    async def reference(request: Request) -> Response:
        return HTMLResponse(SWAGGER_HTML)

    routes: list[BaseRoute] = [
        Route("/api/health", health, methods=["GET"]),
        Route("/api/doc", doc, methods=["GET"]),
        Route("/api/payments/webhook", payment_webhook, methods=["POST"]),
        Route("/api/reference", reference, methods=["GET"]),
        Route("/graphql", graphql, methods=["GET", "POST"]),
        WebSocketRoute("/graphql", graphql),
        Mount("/static", StaticFiles(directory=STATIC_DIR), name="static"),
    ]
    routes += oauth_routes(settings, database)
    routes += media_file_routes(settings, database)
    routes += [
        Route(r.path, RouteExecutor(r, schema, database).handle, methods=[r.method]) for r in ROUTES
    ]

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        sweeper = (
            asyncio.create_task(sweep_reservations(database, settings.reservation_sweep_seconds))
            if settings.reservation_sweep_seconds > 0
            else None
        )
        writer = asyncio.create_task(access_log.run()) if access_log is not None else None
        await live.start()
        background = [
            asyncio.create_task(task)
            for task in (
                Dispatcher(
                    database, publish=live.publish, poll_seconds=settings.dispatch_poll_seconds
                ).run()
                if settings.dispatcher
                else None,
                JobRunner(database, settings).run() if settings.jobs_in_process else None,
            )
            if task is not None
        ]
        if freeze_heap:
            # What start-up built (modules, the schema, plans' types, pools) lives as long as
            # the process: out of the collector's sight, a full collection no longer walks it
            # (150 ms and more each, a few times a minute under load: the p99).
            gc.collect()
            gc.freeze()
        yield
        for task in background:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await live.stop()
        if writer is not None and access_log is not None:
            writer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await writer
            await access_log.flush()
        if sweeper is not None:
            sweeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await sweeper
        if metrics is not None:
            metrics.close()
        if tracing is not None:
            tracing.close()
        if owns_database:
            await database.dispose()

    app = Starlette(
        routes=routes,
        middleware=[
            Middleware(RequestIdMiddleware),
            # Outside the access log and the rate limit: a scrape of `/metrics` passes neither.
            *(
                [
                    Middleware(
                        TelemetryMiddleware,
                        metrics=metrics,
                        tracing=tracing,
                        access_lines=access_lines,
                    )
                ]
                if telemetry
                else []
            ),
            # Outermost but the request id: it sees every final status (401, 413, 429 too).
            *(
                [Middleware(AccessLogMiddleware, writer=access_log)]
                if access_log is not None
                else []
            ),
            Middleware(ServiceUnavailableMiddleware),
            Middleware(RateLimitMiddleware, limiter=limiter, database=database),
            Middleware(
                BodyLimitMiddleware,
                max_bytes=settings.max_body_bytes,
                upload_max_bytes=settings.media_max_bytes,
            ),
            Middleware(
                CsrfOriginMiddleware,
                allowed_origins=settings.origins,
                cookie_name=settings.session_cookie,
            ),
            Middleware(AuthenticationMiddleware, database=database),
        ],
        exception_handlers={HTTPException: _http_error, Exception: _unexpected_error},
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.database = database
    app.state.schema = schema
    # The access log's buffer and writer (None when CARTOGRAPH_ACCESS_LOG is false).
    app.state.access_log = access_log
    # Live events: the dispatcher publishes to it, subscriptions listen (app.events.pubsub).
    app.state.live = live
    # Media storage and upload rules, read by each GraphQL context (`app.media`).
    app.state.media = media_for(settings)
    # Sign-in's policy, throttle and notifier (read by `app.resolvers.auth`).
    app.state.auth = AuthSetup.from_settings(settings)
    # Prometheus metrics and the tracer (None unless CARTOGRAPH_METRICS / _OTEL_ENDPOINT).
    app.state.metrics = metrics
    app.state.tracing = tracing
    # Read by each GraphQL context (HTTP and websocket): one bucket per principal.
    app.state.cost_budget = (
        CostBudget(
            capacity=settings.graphql_cost_budget,
            restore_rate=settings.graphql_cost_restore_rate,
            redis_url=settings.redis_url,
        )
        if settings.graphql_cost_budget
        else None
    )
    return app


async def sweep_reservations(database: Database, every: float) -> None:
    """Now and then: finish payments and refunds a crash left pending (before their holds
    lapse), then release expired reservations. A failed round is logged and retried."""
    log = logging.getLogger("app.inventory")
    while True:
        await asyncio.sleep(every)
        try:
            resumed = await settlement.reconcile(database)
            if resumed:
                log.info("resumed %d pending payments or refunds", resumed)
            async with database.unit_of_work() as uow:
                swept = await sweep_expired(uow, now=utcnow())
                await uow.commit()
            if swept:
                log.info("released %d expired reservations", swept)
        except Exception:
            log.exception("reservation sweep failed")


async def _http_error(request: Request, exc: Exception) -> Response:
    """Starlette's own 404/405 (unknown path or method), in the path's dialect."""
    assert isinstance(exc, HTTPException)
    error: AppError
    if exc.status_code == 404:
        error = NotFound(f"No route for {request.url.path}.")
    elif exc.status_code == 405:
        error = NotFound(f"{request.method} is not served on {request.url.path}.")
    else:
        error = ValidationFailed(str(exc.detail))
    response = dialect_for_path(request.url.path).error_response(
        error, request.scope.get("state", {}).get("request_id")
    )
    if exc.status_code == 405:
        response.status_code = 405
    response.headers.update(exc.headers or {})
    return response


async def _unexpected_error(request: Request, exc: Exception) -> Response:
    request_id = request.scope.get("state", {}).get("request_id")
    logging.getLogger("app").error("unexpected error [request %s]", request_id, exc_info=exc)
    return dialect_for_path(request.url.path).error_response(AppError(), request_id)
