"""The storefront benchmark: Cartograph's GraphQL path against a hand-written ceiling.

    .venv/bin/python -m bench.run --products 2000 --concurrency 16 --duration 15

It prepares a PostgreSQL database (created if missing, migrated, seeded with the demo
catalog), counts the SQL statements one request of each path sends (in-process), then serves
each path from one uvicorn worker in a subprocess and drives it from a load generator in
another process (`bench.load`). The numbers go to bench/RESULTS.md, whose storefront part
each run overwrites (the sections other benches add there, from the first `## `, are kept).
Not a test: pytest never collects bench/.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import platform
import shlex
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import orjson
import psycopg
from psycopg import sql
from sqlalchemy import func, select, text
from sqlalchemy.engine import make_url

from app.config import Settings
from app.db import Database
from app.main import create_app
from app.migrations import upgrade
from app.models.catalog import CatalogEntity
from app.services.demo import seed_demo
from bench.ceiling import storefront
from tests.support.queries import count_queries

ROOT = Path(__file__).resolve().parent.parent
RESULTS = Path(__file__).resolve().parent / "RESULTS.md"
CARTOGRAPH = Path(sys.executable).parent / "cartograph"
DEFAULT_DATABASE_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/cg_bench"
UNLIMITED_RATE = "1000000000/minute"
# The query cost budget, charged as always but never spent (points, and points a second).
UNLIMITED_BUDGET = "1000000000000"
STARTUP_TIMEOUT_S = 30.0

STOREFRONT_QUERY = (
    "query Storefront { catalogEntities(filter: {status: ACTIVE}, limit: 20) { totalCount "
    'items { id slug type attributes(locale: "en") { title description } '
    "variants { id sku optionValues { value } } categories { id name slug } "
    "brands { id name slug } } } }"
)
GRAPHQL_BODY = orjson.dumps({"query": STOREFRONT_QUERY, "operationName": "Storefront"})


class BenchError(Exception):
    """A reason the bench cannot run, said plainly."""


@dataclass(slots=True)
class Measured:
    """One path under test: what one request of it costs, and how it held up under load."""

    name: str
    statements: int = 0
    load: dict[str, Any] | None = None


# --- the database ---------------------------------------------------------------------------


def shown(url: str) -> str:
    return make_url(url).render_as_string(hide_password=True)


def ensure_database(url: str, *, fresh: bool) -> None:
    """Create the bench database when it is missing (or, with `fresh`, anew)."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "postgresql" or not parsed.database:
        raise BenchError(f"the bench runs on a PostgreSQL database, not {shown(url)}")
    admin = parsed.set(drivername="postgresql", database="postgres")
    name = sql.Identifier(parsed.database)
    try:
        with psycopg.connect(
            admin.render_as_string(hide_password=False), autocommit=True, connect_timeout=5
        ) as connection:
            exists = connection.execute(
                "SELECT 1 FROM pg_database WHERE datname = %s", (parsed.database,)
            ).fetchone()
            if exists and fresh:
                connection.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(name))
            if fresh or not exists:
                connection.execute(sql.SQL("CREATE DATABASE {}").format(name))
                print(f"created database {parsed.database}")
    except psycopg.OperationalError as error:
        reason = str(error).strip().splitlines()[0] if str(error).strip() else repr(error)
        raise BenchError(
            f"PostgreSQL is unreachable at {shown(admin.render_as_string())}: {reason}\n"
            "start it, or point --database-url (or BENCH_DATABASE_URL) at one that runs"
        ) from error


async def seed(url: str, products: int) -> dict[str, Any]:
    database = Database(url)
    try:
        started = time.perf_counter()
        report = await seed_demo(database, products=products)
        elapsed = time.perf_counter() - started
        async with database.read_session() as session:
            total = await session.scalar(select(func.count()).select_from(CatalogEntity))
            active = await session.scalar(
                select(func.count())
                .select_from(CatalogEntity)
                .where(CatalogEntity.status == "active")
            )
            version = await session.scalar(text("SHOW server_version"))
    finally:
        await database.dispose()
    print(
        f"seeded: {report.entities_created} entities created, {report.entities_skipped} "
        f"already there ({elapsed:.1f}s); catalog holds {total}, {active} active"
    )
    return {"entities": total, "active": active, "postgres": version, "seconds": elapsed}


# --- SQL statements per request, in-process -------------------------------------------------


async def measure_statements(url: str) -> tuple[int, int, str]:
    """Statements sent by one GraphQL request and by one ceiling request (each warmed up
    once first), and whether the two answered the same data."""
    database = Database(url)
    settings = Settings(
        database_url=url,
        rate_limit=UNLIMITED_RATE,
        graphql_cost_budget=int(UNLIMITED_BUDGET),
        graphql_cost_restore_rate=float(UNLIMITED_BUDGET),
        log_level="WARNING",
    )
    app = create_app(settings, database=database)
    headers = {"content-type": "application/json"}
    try:
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://bench"
        ) as client:
            await client.post("/graphql", content=GRAPHQL_BODY, headers=headers)
            with count_queries(database) as graphql:
                response = await client.post("/graphql", content=GRAPHQL_BODY, headers=headers)
        async with database.engine.connect() as connection:
            await storefront(connection)
            with count_queries(database) as ceiling:
                expected = await storefront(connection)
    finally:
        await database.dispose()
    return graphql.count, ceiling.count, compare(response, expected)


def compare(response: httpx.Response, expected: dict[str, Any]) -> str:
    try:
        answer = response.json()
    except ValueError:
        return f"GraphQL answered HTTP {response.status_code}, not JSON"
    if "errors" in answer:
        first = answer["errors"][0].get("message", "") if answer["errors"] else ""
        return f"not comparable: GraphQL answered errors ({first[:200]})"
    # The cost report (`extensions.cost`) is GraphQL's alone: the data are compared.
    answer.pop("extensions", None)
    if answer == expected:
        return "identical JSON"
    if _canonical(answer) == _canonical(expected) and _ids(answer) == _ids(expected):
        return "same data; some nested lists in another order"
    return "DIFFERENT data (check the resolver or the ceiling)"


def _ids(body: dict[str, Any]) -> list[str]:
    return [item["id"] for item in body["data"]["catalogEntities"]["items"]]


def _canonical(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _canonical(item) for key, item in value.items()}
    if isinstance(value, list):
        items = [_canonical(item) for item in value]
        return sorted(items, key=lambda item: orjson.dumps(item, option=orjson.OPT_SORT_KEYS))
    return value


# --- servers and load -----------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def serving(
    name: str, command: list[str], env: dict[str, str], health: str
) -> Iterator[subprocess.Popen[bytes]]:
    """Run `command` until the block ends (its process is the block's value); it must answer
    `health` with 200 first."""
    log = tempfile.NamedTemporaryFile(  # noqa: SIM115 - closed in the finally below
        "w+", prefix=f"bench-{name}-", suffix=".log", delete=False
    )
    process = subprocess.Popen(
        command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
    )
    try:
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        while True:
            with contextlib.suppress(httpx.TransportError):
                if httpx.get(health, timeout=1).status_code == 200:
                    break
            if process.poll() is not None or time.monotonic() > deadline:
                log.flush()
                tail = Path(log.name).read_text()[-2000:]
                raise BenchError(f"{name} server did not start ({shlex.join(command)}):\n{tail}")
            time.sleep(0.2)
        yield process
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
        log.close()
        os.unlink(log.name)


def drive(url: str, body: bytes | None, args: argparse.Namespace) -> dict[str, Any]:
    """Run the load generator in its own process and read its JSON line."""
    command = [sys.executable, "-m", "bench.load", "--url", url]
    if body is not None:
        command += ["--json", body.decode()]
    command += [
        *("--concurrency", str(args.concurrency)),
        *("--duration", str(args.duration)),
        *("--warmup", str(args.warmup)),
    ]
    try:
        result = subprocess.run(
            command,
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=args.warmup + args.duration + 60,
        )
    except subprocess.TimeoutExpired as error:
        raise BenchError(f"the load generator overran its time ({url})") from error
    if result.returncode != 0:
        raise BenchError(f"the load generator failed ({url}):\n{result.stderr[-2000:]}")
    return orjson.loads(result.stdout.strip().splitlines()[-1])


def bench_graphql(url: str, args: argparse.Namespace) -> dict[str, Any]:
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "CARTOGRAPH_RATE_LIMIT": UNLIMITED_RATE,
        "CARTOGRAPH_GRAPHQL_COST_BUDGET": UNLIMITED_BUDGET,
        "CARTOGRAPH_GRAPHQL_COST_RESTORE_RATE": UNLIMITED_BUDGET,
        "CARTOGRAPH_LOG_LEVEL": "WARNING",
    }
    command = [str(CARTOGRAPH), "serve", "--host", "127.0.0.1", "--port", str(port)]
    base = f"http://127.0.0.1:{port}"
    with serving("graphql", command, env, f"{base}/api/health"):
        return drive(f"{base}/graphql", GRAPHQL_BODY, args)


def bench_ceiling(url: str, args: argparse.Namespace) -> dict[str, Any]:
    port = free_port()
    env = {**os.environ, "DATABASE_URL": url}
    command = [
        *(sys.executable, "-m", "uvicorn", "bench.ceiling:create_app", "--factory"),
        *("--host", "127.0.0.1", "--port", str(port)),
        *("--log-level", "warning", "--no-access-log"),
    ]
    base = f"http://127.0.0.1:{port}"
    with serving("ceiling", command, env, f"{base}/health"):
        return drive(f"{base}/storefront", None, args)


# --- the report -----------------------------------------------------------------------------


def machine(load_before: tuple[float, float, float]) -> str:
    try:
        cpus = subprocess.run(["nproc"], capture_output=True, text=True).stdout.strip()
    except OSError:
        cpus = str(os.cpu_count())
    model = ""
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    load = ", ".join(f"{value:.2f}" for value in load_before)
    return (
        f"{cpus} CPUs (`nproc`){f', {model}' if model else ''}; {platform.platform()}; "
        f"load average before the run {load} (other work on the machine skews the numbers)"
    )


def write_results(
    *,
    argv: Sequence[str],
    args: argparse.Namespace,
    load_before: tuple[float, float, float],
    catalog: dict[str, Any],
    paths: list[Measured],
    comparison: str,
) -> str:
    graphql, ceiling = paths
    assert graphql.load is not None and ceiling.load is not None
    ratio = graphql.load["rps"] / ceiling.load["rps"] if ceiling.load["rps"] else float("nan")
    note = " (not meaningful: the GraphQL path answered errors)" if graphql.load["errors"] else ""
    rows = [
        "| path | req/s | p50 ms | p99 ms | SQL statements/request | requests | errors |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    labels = {"graphql": "GraphQL (`cartograph serve`)", "ceiling": "ceiling (`bench/ceiling.py`)"}
    for path in paths:
        load = path.load
        assert load is not None
        rows.append(
            f"| {labels[path.name]} | {load['rps']:.1f} | {load['p50_ms']:.1f} | "
            f"{load['p99_ms']:.1f} | {path.statements} | {load['requests']} | {load['errors']} |"
        )
    errors = [
        f"- first {p.name} error: `{p.load['first_error']}`"
        for p in paths
        if p.load and p.load["first_error"]
    ]
    lines = [
        "# Benchmark results",
        "",
        "```",
        f".venv/bin/python -m bench.run {shlex.join(argv)}".rstrip(),
        "```",
        "",
        f"- date: {datetime.now(UTC).strftime('%Y-%m-%d %H:%M UTC')}",
        f"- machine: {machine(load_before)}",
        f"- Python {platform.python_version()}, PostgreSQL {catalog['postgres']}",
        f"- catalog: --products {args.products}; the database holds {catalog['entities']} "
        f"entities, {catalog['active']} active",
        f"- load: {args.concurrency} concurrent workers (httpx, one process of their own), "
        f"{args.warmup:g} s warm-up, {args.duration:g} s measured; one uvicorn worker per server, "
        "all on this machine (server, PostgreSQL and load generator share its CPUs)",
        "",
        *rows,
        "",
        f"GraphQL / ceiling: **{ratio:.2f}x**{note}",
        "",
        f"- responses compared (one request each, in-process): {comparison}",
        *errors,
        "",
        "The request (anonymous):",
        "",
        "```graphql",
        STOREFRONT_QUERY,
        "```",
        "",
        "The ceiling answers the same JSON from `GET /storefront`: the page and its count, then "
        "one statement per relation (attributes, variants with option values, categories, "
        "brands) on the page's ids, encoded with orjson; no GraphQL, no middleware.",
        "",
    ]
    report = "\n".join(lines)
    RESULTS.write_text(report + kept_sections())
    return report


def kept_sections() -> str:
    """The sections other benches add to RESULTS.md (from the first `## ` heading on, e.g.
    bench.checkout's): this report has none of its own, so a rewrite keeps them."""
    if not RESULTS.exists():
        return ""
    lines = RESULTS.read_text().splitlines()
    start = next((n for n, line in enumerate(lines) if line.startswith("## ")), None)
    return "" if start is None else "\n" + "\n".join(lines[start:]) + "\n"


# --- the command ----------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__)
    parser.add_argument("--products", type=int, default=2000, help="demo products to seed")
    parser.add_argument("--concurrency", type=int, default=16, help="concurrent workers")
    parser.add_argument("--duration", type=float, default=15.0, help="measured seconds per path")
    parser.add_argument("--warmup", type=float, default=3.0, help="unmeasured seconds first")
    parser.add_argument(
        "--database-url",
        default=os.environ.get("BENCH_DATABASE_URL", DEFAULT_DATABASE_URL),
        help=f"PostgreSQL to use (BENCH_DATABASE_URL; default {DEFAULT_DATABASE_URL})",
    )
    parser.add_argument(
        "--fresh", action="store_true", help="drop and recreate the bench database first"
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    args = parser.parse_args(argv)
    if not 0 <= args.products <= 1_000_000:
        parser.error("--products must be between 0 and 1000000")
    if not 1 <= args.concurrency <= 1024:
        parser.error("--concurrency must be between 1 and 1024")
    if not 0 < args.duration <= 600 or not 0 <= args.warmup <= 60:
        parser.error("--duration must be in (0, 600] and --warmup in [0, 60]")
    try:
        report = run(argv, args)
    except BenchError as error:
        print(f"bench: {error}", file=sys.stderr)
        return 2
    print(report)
    return 0


def run(argv: Sequence[str], args: argparse.Namespace) -> str:
    url = args.database_url
    load_before = os.getloadavg()
    ensure_database(url, fresh=args.fresh)
    upgrade(url)
    catalog = asyncio.run(seed(url, args.products))
    graphql_statements, ceiling_statements, comparison = asyncio.run(measure_statements(url))
    print(f"statements per request: GraphQL {graphql_statements}, ceiling {ceiling_statements}")
    print(f"responses: {comparison}")
    paths = [
        Measured("graphql", graphql_statements, bench_graphql(url, args)),
        Measured("ceiling", ceiling_statements, bench_ceiling(url, args)),
    ]
    for path in paths:
        assert path.load is not None
        print(f"{path.name}: {path.load['rps']:.1f} req/s, {path.load['errors']} errors")
    return write_results(
        argv=argv,
        args=args,
        load_before=load_before,
        catalog=catalog,
        paths=paths,
        comparison=comparison,
    )


if __name__ == "__main__":
    sys.exit(main())
