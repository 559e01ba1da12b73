"""The `cartograph` command."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

from app.config import DEFAULT_DATABASE_URL, Settings

if TYPE_CHECKING:
    from app.db import Database
    from app.services.demo import SeedReport


def _migrate(settings: Settings) -> None:
    from app.migrations import upgrade

    upgrade(settings.database_url)


def per_process_warnings(settings: Settings, workers: int) -> list[str]:
    """What `workers` processes with these settings would each keep to themselves."""
    if workers < 2 or settings.redis_url:
        return []
    warnings = [
        f"warning: no REDIS_URL: each of the {workers} processes counts rate limits and "
        f"cost budgets on its own (a client gets up to {workers} times the limit)"
    ]
    if settings.database_url.startswith("sqlite"):
        warnings.append(
            "warning: SQLite and no REDIS_URL: a live event reaches only the subscribers of "
            "the process that dispatched it"
        )
    return warnings


def cmd_serve(args: argparse.Namespace, settings: Settings) -> int:
    import uvicorn

    if args.workers < 1:
        print("error: --workers must be at least 1", file=sys.stderr)
        return 2
    # The embedded default database is the operator's zero-setup path: bring it up to date.
    if settings.database_url == DEFAULT_DATABASE_URL or args.migrate:
        _migrate(settings)
    logging_options: dict[str, Any] = {}
    if settings.log_format == "json":
        from app.telemetry.logs import configure_logging

        # uvicorn's lines go to the root logger's JSON handler; the access line is ours.
        configure_logging(settings.log_level, "json")
        logging_options = {"log_config": None, "access_log": False}
    for warning in per_process_warnings(settings, args.workers):
        # A log line, so that in JSON mode it is one JSON object like every other.
        logging.getLogger("app.cli").warning(warning)
    with _metrics_directory(settings, args.workers):
        uvicorn.run(
            "app.main:create_served_app",
            factory=True,
            host=args.host,
            port=args.port,
            workers=args.workers,
            log_level=settings.log_level.lower(),
            proxy_headers=True,
            # Websocket messages obey the body limit: a bigger frame is refused (1009) unread.
            ws_max_size=settings.max_body_bytes,
            **logging_options,
        )
    return 0


@contextlib.contextmanager
def _metrics_directory(settings: Settings, workers: int) -> Iterator[None]:
    """With metrics on and several workers, prometheus_client's multiprocess mode: every
    worker writes its samples to files in one directory (PROMETHEUS_MULTIPROC_DIR, made here
    unless the operator names one), emptied before they start, so that whichever worker a
    scrape reaches answers for all of them."""
    from app.telemetry.metrics import MULTIPROCESS_ENV

    if not settings.metrics or workers <= 1:
        yield
        return
    given = os.environ.get(MULTIPROCESS_ENV)
    directory = Path(given) if given else Path(tempfile.mkdtemp(prefix="cartograph-metrics-"))
    directory.mkdir(parents=True, exist_ok=True)
    for stale in directory.glob("*.db"):
        stale.unlink()
    os.environ[MULTIPROCESS_ENV] = str(directory)
    try:
        yield
    finally:
        if not given:
            shutil.rmtree(directory, ignore_errors=True)
            os.environ.pop(MULTIPROCESS_ENV, None)


def worker_database(settings: Settings) -> Database:
    """The primary alone, never the replica: every read of a worker decides something (which
    job to run, what to deliver, which events are undispatched)."""
    from app.db import Database

    return Database(
        settings.database_url,
        pool_size=settings.db_pool_size,
        statement_timeout_ms=settings.statement_timeout_ms,
    )


async def _work(settings: Settings, queue: str | None, dispatch: bool) -> None:
    import signal

    # The composition root registers every job handler and dispatcher fan-out it imports.
    import app.main  # noqa: F401
    from app.events.dispatcher import Dispatcher
    from app.events.pubsub import LiveEvents
    from app.jobs import JobRunner

    database = worker_database(settings)
    if settings.log_format == "json":
        from app.telemetry.logs import configure_logging

        configure_logging(settings.log_level, "json")
    # Spans of the statements and webhook calls its jobs make (docs/operations.md).
    tracing = None
    if settings.otel_endpoint:
        from app.telemetry.tracing import Tracing

        tracing = Tracing(settings, database)
    # What this worker dispatches reaches the servers' subscribers through Redis or
    # PostgreSQL (on SQLite, in-process pub/sub reaches no other process).
    live = LiveEvents.for_settings(redis_url=settings.redis_url, database=database)
    runners = [JobRunner(database, settings, queue=queue).run()]
    if dispatch:
        await live.start()
        runners.append(
            Dispatcher(
                database, publish=live.publish, poll_seconds=settings.dispatch_poll_seconds
            ).run()
        )
    tasks = [asyncio.create_task(runner) for runner in runners]
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    print(f"worker running jobs of {queue or 'every queue'}", flush=True)
    await stop.wait()
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    await live.stop()
    if tracing is not None:
        tracing.close()
    await database.dispose()


def cmd_worker(args: argparse.Namespace, settings: Settings) -> int:
    """Run background jobs (and the outbox dispatcher) until SIGINT or SIGTERM; a job cut
    short is claimed again when its lease passes."""
    asyncio.run(_work(settings, args.queue, not args.no_dispatch))
    return 0


def cmd_migrate(args: argparse.Namespace, settings: Settings) -> int:
    _migrate(settings)
    shown = make_url(settings.database_url).render_as_string(hide_password=True)
    print(f"database is at head: {shown}")
    return 0


async def _create_key(settings: Settings, args: argparse.Namespace) -> str | None:
    from sqlalchemy import or_, select

    from app.auth.actor import SYSTEM
    from app.db import Database
    from app.models.apikeys import ApiKey
    from app.models.base import utcnow
    from app.services.apikeys import create_api_key

    database = Database(settings.database_url)
    try:
        if args.if_absent:
            async with database.read_session() as session:
                existing = await session.scalar(
                    select(ApiKey.id).where(
                        ApiKey.name == args.name,
                        ApiKey.revoked_at.is_(None),
                        or_(ApiKey.expires_at.is_(None), ApiKey.expires_at > utcnow()),
                    )
                )
            if existing is not None:
                return None
        expires_at = (
            utcnow() + timedelta(days=args.expires_in_days) if args.expires_in_days else None
        )
        permissions = [p.strip() for p in args.permissions.replace(",", " ").split() if p.strip()]
        async with database.unit_of_work() as uow:
            key, plaintext = await create_api_key(
                uow, SYSTEM, name=args.name, permissions=permissions, expires_at=expires_at
            )
            await uow.commit()
        print(f"created API key {key.id} ({key.name}) with {', '.join(key.permissions)}")
        return plaintext
    finally:
        await database.dispose()


def cmd_apikey_create(args: argparse.Namespace, settings: Settings) -> int:
    from app.errors import AppError

    try:
        plaintext = asyncio.run(_create_key(settings, args))
    except AppError as error:
        print(f"error: {error.message}", file=sys.stderr)
        return 2
    if plaintext is None:
        print(f"an active key named {args.name!r} exists already; none created")
        return 0
    print("store it now; it is not shown again:")
    print(plaintext)
    return 0


async def _create_user(settings: Settings, args: argparse.Namespace) -> str:
    from app.auth.actor import SYSTEM
    from app.db import Database
    from app.services.users import create_staff_user

    roles = [r.strip() for r in args.roles.split(",") if r.strip()]
    database = Database(settings.database_url)
    try:
        async with database.unit_of_work() as uow:
            user = await create_staff_user(
                uow, SYSTEM, email=args.email, name=args.name, roles=roles
            )
            await uow.commit()
        shown = ", ".join(roles) or "no roles"
        return f"created user {user.id} ({user.email}) with {shown}"
    finally:
        await database.dispose()


def cmd_user_create(args: argparse.Namespace, settings: Settings) -> int:
    """A staff user without a password (staff bootstrap: `--roles admin`)."""
    from app.errors import AppError

    try:
        print(asyncio.run(_create_user(settings, args)))
    except AppError as error:
        print(f"error: {error.message}", file=sys.stderr)
        return 2
    print(f"no password yet: cartograph user set-password {args.email.strip().lower()}")
    return 0


async def _set_password(settings: Settings, email: str, password: str) -> None:
    from app.auth.actor import SYSTEM
    from app.db import Database
    from app.services.users import set_password

    database = Database(settings.database_url)
    try:
        async with database.unit_of_work() as uow:
            await set_password(uow, SYSTEM, email=email, password=password)
            await uow.commit()
    finally:
        await database.dispose()


def cmd_user_set_password(args: argparse.Namespace, settings: Settings) -> int:
    """Store a password's argon2id hash for a user and end their sessions. A generated one
    (about 144 random bits) is printed as the last line, shown once; with --stdin the
    password is read from the first line of standard input and never printed."""
    import secrets

    from app.errors import AppError

    password = sys.stdin.readline().rstrip("\r\n") if args.stdin else secrets.token_urlsafe(18)
    try:
        asyncio.run(_set_password(settings, args.email, password))
    except AppError as error:
        print(f"error: {error.message}", file=sys.stderr)
        return 2
    print(f"password set for {args.email.strip().lower()}; their sessions were ended")
    if not args.stdin:
        print("store it now; it is not shown again:")
        print(password)
    return 0


async def _seed_demo(settings: Settings, products: int) -> SeedReport:
    from app.db import Database
    from app.services.demo import seed_demo

    database = Database(settings.database_url)
    try:
        return await seed_demo(database, products=products)
    finally:
        await database.dispose()


def cmd_seed(args: argparse.Namespace, settings: Settings) -> int:
    if args.products < 0:
        print("error: --products must not be negative", file=sys.stderr)
        return 2
    started = time.perf_counter()
    report = asyncio.run(_seed_demo(settings, args.products))
    elapsed = time.perf_counter() - started
    print(
        f"created: {report.entities_created} entities, {report.variants_created} variants, "
        f"{report.attributes_created} attribute sets, {report.categories_created} categories, "
        f"{report.brands_created} brands"
    )
    print(
        f"         {report.prices_created} prices, {report.levels_created} stock levels, "
        f"{report.warehouses_created} warehouses, {report.customer_groups_created} customer "
        f"groups, {report.customers_created} customers, {report.users_created} users, "
        f"{report.promotions_created} promotions, {report.orders_created} orders"
    )
    print(
        f"already there: {report.entities_skipped} entities, "
        f"{report.categories_skipped} categories, {report.brands_skipped} brands, "
        f"{report.orders_skipped} orders"
    )
    if report.orders_failed:
        print(
            f"warning: {report.orders_failed} demo orders could not be placed or moved "
            "(see the log above)",
            file=sys.stderr,
        )
    print(f"seeded in {elapsed:.1f}s")
    return 0


def cmd_export_schema(args: argparse.Namespace, settings: Settings) -> int:
    from app.resolvers.schema import build_schema

    sdl = build_schema().as_str() + "\n"
    if args.path == "-":
        sys.stdout.write(sdl)
    else:
        Path(args.path).write_text(sdl)
        print(f"wrote {args.path}")
    return 0


def cmd_documents_manifest(args: argparse.Namespace, settings: Settings) -> int:
    import json

    from app.resolvers.persisted import ManifestError, manifest_for

    try:
        documents = [(str(path), Path(path).read_text()) for path in args.files]
        manifest = manifest_for(documents)
    except (OSError, ManifestError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    sys.stdout.write(json.dumps(manifest, indent=2) + "\n")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="cartograph", description="Cartograph commerce backend")
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="run the server (uvicorn)")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument(
        "--workers",
        type=int,
        default=1,
        help="processes on the one port (uvicorn workers); they share state through REDIS_URL",
    )
    serve.add_argument("--migrate", action="store_true", help="migrate first (any database)")
    serve.set_defaults(handler=cmd_serve)

    worker = commands.add_parser("worker", help="run background jobs until stopped")
    worker.add_argument("--queue", default=None, help="only this queue (default: every queue)")
    worker.add_argument(
        "--no-dispatch", action="store_true", help="leave the outbox dispatcher to the servers"
    )
    worker.set_defaults(handler=cmd_worker)

    migrate = commands.add_parser("migrate", help="alembic upgrade head for DATABASE_URL")
    migrate.set_defaults(handler=cmd_migrate)

    apikey = commands.add_parser("apikey", help="API keys").add_subparsers(
        dest="action", required=True
    )
    create = apikey.add_parser("create", help="mint a key; its plaintext is the last line")
    create.add_argument("--name", required=True)
    create.add_argument("--permissions", required=True, help="e.g. '*:*' or 'catalog:*,audit:read'")
    create.add_argument("--expires-in-days", type=int, default=None)
    create.add_argument(
        "--if-absent", action="store_true", help="do nothing when an active key has this name"
    )
    create.set_defaults(handler=cmd_apikey_create)

    user = commands.add_parser("user", help="users (staff bootstrap)").add_subparsers(
        dest="action", required=True
    )
    user_create = user.add_parser("create", help="a staff user with roles and no password")
    user_create.add_argument("--email", required=True)
    user_create.add_argument("--name", required=True)
    user_create.add_argument("--roles", default="", help="role names, e.g. 'admin' or 'a,b'")
    user_create.set_defaults(handler=cmd_user_create)
    set_password = user.add_parser(
        "set-password", help="set a user's password; a generated one is the last line"
    )
    set_password.add_argument("email")
    set_password.add_argument(
        "--stdin", action="store_true", help="read the password from standard input instead"
    )
    set_password.set_defaults(handler=cmd_user_set_password)

    seed = commands.add_parser("seed", help="load demo data (idempotent)")
    seed.add_argument("--demo", action="store_true", required=True, help="the demo catalog")
    seed.add_argument("--products", type=int, default=200, help="how many products (200)")
    seed.set_defaults(handler=cmd_seed)

    export = commands.add_parser("export-schema", help="write the GraphQL SDL")
    export.add_argument("path", nargs="?", default="schema.graphql")
    export.set_defaults(handler=cmd_export_schema)

    documents = commands.add_parser(
        "documents", help="registered GraphQL documents (the allow-list)"
    ).add_subparsers(dest="action", required=True)
    manifest = documents.add_parser(
        "manifest", help="print an Apollo persisted query manifest of the operations in FILES"
    )
    manifest.add_argument("files", nargs="+", metavar="FILES", help=".graphql files")
    manifest.set_defaults(handler=cmd_documents_manifest)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        handler: Callable[[argparse.Namespace, Settings], int] = args.handler
        return handler(args, Settings())
    except SQLAlchemyError as error:
        reason = getattr(error, "orig", None) or error
        print(f"error: database: {reason}", file=sys.stderr)
        print("is the database reachable and migrated (cartograph migrate)?", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
