"""Checkout throughput: how many orders a shop sells per second while its provider is slow.

    .venv/bin/python -m bench.checkout --latency-ms 200 --concurrency 20 --duration 15
    .venv/bin/python -m bench.checkout --database sqlite

It starts a real `cartograph serve` (one uvicorn worker, in a subprocess) on a database of its
own: a fresh PostgreSQL schema (`cg_bench_checkout` in the database of --database-url, dropped
and recreated on every run, dropped again at the end) or a temporary SQLite file. The built-in
test payment provider answers after --latency-ms. Through the public API, with an admin key
minted by `cartograph apikey create`, it makes a warehouse and --products priced products
with ample stock; then --concurrency shoppers each loop, for --warmup + --duration seconds:
create a cart, add one unit of a product, check out (`POST /api/checkout`, `pm_card_visa`).
Shopper i takes the products i, i + C, i + 2C, ... in turn, so no two concurrent checkouts
touch the same product while --products >= --concurrency.

Counted: checkouts answered 2xx that finish inside the measured window (warm-up excluded);
their latency (the checkout request alone); failures by step and status. Afterwards the
database is checked through the API: orders placed, units sold and still reserved. With
--record LABEL the summary becomes a row of bench/RESULTS.md's "Checkout throughput" section.
Only the API is used, so the same command measures any version of checkout.
Not a test: pytest never collects bench/.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import re
import shlex
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import psycopg
from psycopg import sql
from sqlalchemy.engine import make_url

from bench.run import BenchError, free_port, shown

ROOT = Path(__file__).resolve().parent.parent
RESULTS = Path(__file__).resolve().parent / "RESULTS.md"
CARTOGRAPH = Path(sys.executable).parent / "cartograph"
DEFAULT_DATABASE_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
DEFAULT_SCHEMA = "cg_bench_checkout"
# Only schemas named like this are ever dropped: the bench never touches anyone else's.
SCHEMA_NAME = re.compile(r"^cg_bench_[a-z0-9_]{1,50}$")
UNLIMITED_RATE = "1000000/minute"
# The query cost budget (the setup's GraphQL), charged as always but never spent.
UNLIMITED_BUDGET = "1000000000000"
STARTUP_TIMEOUT_S = 30.0
# A checkout queued behind 20 others at 200 ms each waits about 4 s; this is far above that.
REQUEST_TIMEOUT_S = 30.0
PAYMENT_METHOD = "pm_card_visa"
CURRENCY = "USD"
PRICE = 1250
STOCK = 100_000  # units of each product: never the limit
BATCH = 20  # aliased mutations per GraphQL request while preparing (the alias limit is 30)
# A shopper gives up after this many failed rounds in a row (a dead server, say) ...
MAX_FAILURES_IN_A_ROW = 20
# ... and never runs more rounds than this, whatever the duration.
MAX_ROUNDS_PER_SHOPPER = 20_000
FAILURE_PAUSE_S = 0.05


# --- the database -----------------------------------------------------------------------------


@dataclass(slots=True)
class Target:
    """Where the server keeps its data, and how to say so in a report."""

    url: str  # the server's DATABASE_URL
    label: str  # e.g. "PostgreSQL 15.20"
    cleanup: Callable[[], None] | None = None  # called once at the end unless --keep


def postgres_target(base_url: str, schema: str, *, fresh: bool = True) -> Target:
    """A fresh `schema` in the database of `base_url` (dropped first if there); with
    `fresh=False`, the schema as it is (created if missing), to reuse what it holds."""
    parsed = make_url(base_url)
    if parsed.get_backend_name() != "postgresql" or not parsed.database:
        raise BenchError(f"--database-url must name a PostgreSQL database, not {shown(base_url)}")
    if parsed.host not in (None, "127.0.0.1", "localhost", "::1"):
        raise BenchError(f"the bench runs on loopback only, not on {parsed.host}")
    if not SCHEMA_NAME.match(schema):
        raise BenchError(f"--schema must match {SCHEMA_NAME.pattern} (got {schema!r})")
    dsn = parsed.set(drivername="postgresql").render_as_string(hide_password=False)
    name = sql.Identifier(schema)
    try:
        with psycopg.connect(dsn, autocommit=True, connect_timeout=5) as connection:
            version = connection.execute("SHOW server_version").fetchone()
            if fresh:
                connection.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(name))
            connection.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(name))
    except psycopg.OperationalError as error:
        reason = str(error).strip().splitlines()[0] if str(error).strip() else repr(error)
        raise BenchError(
            f"PostgreSQL is unreachable at {shown(base_url)}: {reason}\n"
            "start it, or point --database-url at one that runs"
        ) from error

    def drop() -> None:
        with psycopg.connect(dsn, autocommit=True, connect_timeout=5) as connection:
            connection.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(name))

    url = parsed.set(
        drivername="postgresql+psycopg",
        query={**parsed.query, "options": f"-csearch_path={schema}"},
    ).render_as_string(hide_password=False)
    server_version = str(version[0]).split()[0] if version else "?"
    print(f"schema {schema} {'created afresh' if fresh else 'reused'} in {shown(base_url)}")
    return Target(url=url, label=f"PostgreSQL {server_version}", cleanup=drop)


def sqlite_target() -> Target:
    directory = Path(tempfile.mkdtemp(prefix="cg-bench-checkout-"))
    print(f"SQLite file in {directory}")
    return Target(
        url=f"sqlite+aiosqlite:///{directory / 'bench.db'}",
        label=f"SQLite {sqlite3.sqlite_version}",
        cleanup=lambda: shutil.rmtree(directory, ignore_errors=True),
    )


# --- the server -------------------------------------------------------------------------------


def server_env(url: str, latency_ms: int) -> dict[str, str]:
    """This environment minus any Cartograph setting, plus the bench's: the server runs with
    exactly the settings the report names (defaults otherwise, e.g. a pool of 10 + 10)."""
    inherited = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("CARTOGRAPH_") and key not in ("DATABASE_URL", "REDIS_URL")
    }
    return {
        **inherited,
        "DATABASE_URL": url,
        "CARTOGRAPH_TEST_PROVIDER_LATENCY_MS": str(latency_ms),
        "CARTOGRAPH_RATE_LIMIT": UNLIMITED_RATE,
        "CARTOGRAPH_GRAPHQL_COST_BUDGET": UNLIMITED_BUDGET,
        "CARTOGRAPH_GRAPHQL_COST_RESTORE_RATE": UNLIMITED_BUDGET,
        "CARTOGRAPH_LOG_LEVEL": "WARNING",
    }


def cli(env: dict[str, str], *args: str) -> str:
    """Run `cartograph ARGS` to completion; its standard output."""
    try:
        done = subprocess.run(
            [str(CARTOGRAPH), *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
        )
    except subprocess.TimeoutExpired as error:
        raise BenchError(f"cartograph {shlex.join(args)} took over 120 s") from error
    if done.returncode != 0:
        raise BenchError(f"cartograph {shlex.join(args)} failed:\n{done.stderr[-2000:]}")
    return done.stdout


@dataclass(slots=True)
class Server:
    base_url: str
    log: Path
    pid: int  # the uvicorn process (one worker runs in it): its /proc figures are the server's


@contextlib.contextmanager
def serving(env: dict[str, str], *, workers: int = 1) -> Iterator[Server]:
    """`cartograph serve` (with `workers` uvicorn workers) on a free loopback port until the
    block ends. Its log (warnings and errors only) is kept, and named, when it says anything."""
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    log_path = Path(tempfile.mkstemp(prefix="bench-checkout-server-", suffix=".log")[1])
    command = [str(CARTOGRAPH), "serve", "--host", "127.0.0.1", "--port", str(port)]
    if workers > 1:
        command += ["--workers", str(workers)]
    with log_path.open("w") as log:
        process = subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
    try:
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        while True:
            with contextlib.suppress(httpx.TransportError):
                answer = httpx.get(f"{base_url}/api/health", timeout=1, trust_env=False)
                if answer.status_code == 200:
                    break
            if process.poll() is not None or time.monotonic() > deadline:
                tail = log_path.read_text()[-2000:]
                raise BenchError(f"the server did not start ({shlex.join(command)}):\n{tail}")
            time.sleep(0.2)
        yield Server(base_url, log_path, process.pid)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
        if log_path.stat().st_size == 0:
            log_path.unlink()


# --- preparing the shop through the API -------------------------------------------------------


async def graphql(client: httpx.AsyncClient, query: str, variables: dict[str, Any]) -> Any:
    response = await client.post("/graphql", json={"query": query, "variables": variables})
    body = (
        response.json()
        if response.headers.get("content-type", "").startswith("application/json")
        else None
    )
    if response.status_code != 200 or body is None or body.get("errors"):
        raise BenchError(f"preparing failed: HTTP {response.status_code}: {response.text[:500]}")
    return body["data"]


async def batched(
    client: httpx.AsyncClient,
    mutation: str,
    input_type: str,
    inputs: list[dict[str, Any]],
    select: str,
) -> list[Any]:
    """`mutation(input:)` once per input, BATCH aliased mutations per request (run in order)."""
    results: list[Any] = []
    for start in range(0, len(inputs), BATCH):
        chunk = inputs[start : start + BATCH]
        params = ", ".join(f"$i{n}: {input_type}!" for n in range(len(chunk)))
        fields = " ".join(f"m{n}: {mutation}(input: $i{n}) {select}" for n in range(len(chunk)))
        data = await graphql(
            client,
            f"mutation Prepare({params}) {{ {fields} }}",
            {f"i{n}": value for n, value in enumerate(chunk)},
        )
        results += [data[f"m{n}"] for n in range(len(chunk))]
    return results


async def prepare(base_url: str, key: str, products: int) -> list[str]:
    """A warehouse and `products` active products, each priced and stocked; their ids."""
    async with httpx.AsyncClient(
        base_url=base_url, headers={"x-api-key": key}, timeout=REQUEST_TIMEOUT_S, trust_env=False
    ) as client:
        [warehouse] = await batched(
            client,
            "createWarehouse",
            "CreateWarehouseInput",
            [{"code": "BENCH", "name": "Bench warehouse"}],
            "{ id }",
        )
        slugs = [f"bench-{n:05d}" for n in range(products)]
        made = await batched(
            client,
            "createCatalogEntity",
            "CreateCatalogEntityInput",
            [{"type": "product", "slug": slug} for slug in slugs],
            "{ id }",
        )
        ids = [entity["id"] for entity in made]
        await batched(
            client,
            "setCatalogAttributes",
            "SetCatalogAttributesInput",
            [
                {"entityId": id, "locale": "en", "title": f"Bench product {n}"}
                for n, id in enumerate(ids)
            ],
            "{ title }",
        )
        await batched(
            client,
            "publishCatalogEntity",
            "CatalogEntityIdInput",
            [{"id": i} for i in ids],
            "{ status }",
        )
        await batched(
            client,
            "createPrice",
            "CreatePriceInput",
            [{"entityId": id, "currency": CURRENCY, "amount": PRICE} for id in ids],
            "{ id }",
        )
        for start in range(0, len(slugs), 100):
            await batched(
                client,
                "bulkSetInventory",
                "BulkSetInventoryInput",
                [
                    {
                        "warehouseId": warehouse["id"],
                        "reason": "bench stock",
                        "updates": [
                            {"sku": s, "quantity": STOCK} for s in slugs[start : start + 100]
                        ],
                    }
                ],
                "{ sku }",
            )
    return ids


# --- the shoppers -----------------------------------------------------------------------------


@dataclass(slots=True)
class Tally:
    measure_from: float
    stop_at: float
    latencies: list[float] = field(default_factory=list)  # checkout request, in the window
    rounds: list[float] = field(default_factory=list)  # cart + item + checkout, in the window
    failures: Counter[str] = field(default_factory=Counter)  # in the window
    first_failure: dict[str, str] = field(default_factory=dict)
    answered_2xx: int = 0  # every checkout answered 2xx, window or not
    failures_outside: int = 0
    outcomes: Counter[str] = field(default_factory=Counter)  # order status/paymentStatus
    gave_up: int = 0

    def in_window(self, finished: float) -> bool:
        return self.measure_from <= finished <= self.stop_at

    def failure(self, kind: str, detail: str, finished: float) -> None:
        if not self.in_window(finished):
            self.failures_outside += 1
        else:
            self.failures[kind] += 1
        self.first_failure.setdefault(kind, detail[:300])


class Failed(Exception):
    def __init__(self, kind: str, detail: str) -> None:
        super().__init__(kind)
        self.kind, self.detail = kind, detail


async def step(
    client: httpx.AsyncClient, name: str, path: str, body: dict[str, Any], headers: dict[str, str]
) -> httpx.Response:
    try:
        response = await client.post(path, json=body, headers=headers)
    except httpx.HTTPError as error:
        raise Failed(f"{name} {type(error).__name__}", str(error) or repr(error)) from None
    if not 200 <= response.status_code < 300:
        raise Failed(f"{name} {response.status_code}", response.text)
    return response


async def shopper(
    client: httpx.AsyncClient, products: list[str], tally: Tally, idempotency_keys: bool
) -> None:
    in_a_row = 0
    for round_number in range(MAX_ROUNDS_PER_SHOPPER):
        if time.perf_counter() >= tally.stop_at:
            return
        product = products[round_number % len(products)]
        started = time.perf_counter()
        checkout_started = started
        try:
            cart = await step(client, "cart", "/api/carts", {"currency": CURRENCY}, {})
            cart_id = cart.json()["data"]["id"]
            await step(
                client,
                "item",
                f"/api/carts/{cart_id}/items",
                {"entityId": product, "quantity": 1},
                {},
            )
            headers = {"Idempotency-Key": str(uuid.uuid4())} if idempotency_keys else {}
            checkout_started = time.perf_counter()
            answer = await step(
                client,
                "checkout",
                "/api/checkout",
                {"cartId": cart_id, "paymentMethodId": PAYMENT_METHOD},
                headers,
            )
            order = answer.json()["data"]
        except Failed as failed:
            tally.failure(failed.kind, failed.detail, time.perf_counter())
            in_a_row += 1
            if in_a_row >= MAX_FAILURES_IN_A_ROW:
                tally.gave_up += 1
                return
            await asyncio.sleep(FAILURE_PAUSE_S)
            continue
        finished = time.perf_counter()
        in_a_row = 0
        tally.answered_2xx += 1
        tally.outcomes[f"{order.get('status')}/{order.get('paymentStatus')}"] += 1
        if tally.in_window(finished):
            tally.latencies.append(finished - checkout_started)
            tally.rounds.append(finished - started)


async def drive(
    base_url: str, ids: list[str], *, concurrency: int, warmup: float, duration: float, keys: bool
) -> Tally:
    # Shopper i's products: i, i + C, i + 2C, ... (disjoint while products >= concurrency).
    stripes = [ids[i::concurrency] or [ids[i % len(ids)]] for i in range(concurrency)]
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(
        base_url=base_url, limits=limits, timeout=REQUEST_TIMEOUT_S, trust_env=False
    ) as client:
        measure_from = time.perf_counter() + warmup
        tally = Tally(measure_from=measure_from, stop_at=measure_from + duration)
        shoppers = [shopper(client, stripe, tally, keys) for stripe in stripes]
        # Nobody starts a round after stop_at; a round in flight then ends within 3 timeouts.
        await asyncio.wait_for(
            asyncio.gather(*shoppers), timeout=warmup + duration + 3 * REQUEST_TIMEOUT_S + 10
        )
    return tally


# --- checking the database afterwards, through the API ----------------------------------------


async def audit(base_url: str, key: str, ids: list[str]) -> dict[str, int]:
    """Orders in the database, and units sold and still reserved across the bench's products."""
    async with httpx.AsyncClient(
        base_url=base_url, headers={"x-api-key": key}, timeout=REQUEST_TIMEOUT_S, trust_env=False
    ) as client:
        data = await graphql(client, "{ orders(limit: 1) { totalCount } }", {})
        on_hand = reserved = 0
        for start in range(0, len(ids), 50):
            response = await client.get(
                "/api/inventory/check", params={"entityIds": ",".join(ids[start : start + 50])}
            )
            if response.status_code != 200:
                raise BenchError(
                    f"inventory check: HTTP {response.status_code}: {response.text[:300]}"
                )
            for row in response.json()["data"]:
                on_hand += row["quantity"]
                reserved += row["reservedQuantity"]
    return {
        "orders": data["orders"]["totalCount"],
        "sold": STOCK * len(ids) - on_hand,
        "reserved": reserved,
    }


# --- the report -------------------------------------------------------------------------------


def percentile(sorted_values: Sequence[float], fraction: float) -> float:
    if not sorted_values:
        return float("nan")
    index = min(len(sorted_values) - 1, max(0, round(fraction * len(sorted_values)) - 1))
    return sorted_values[index]


def commit_id() -> str:
    """The checked-out commit, `+dirty` when app/ has uncommitted changes."""
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--", "app"], cwd=ROOT, capture_output=True, text=True
        ).stdout.strip()
    except OSError:
        return "?"
    return f"{head or '?'}{'+dirty' if dirty else ''}"


def loads() -> str:
    return ", ".join(f"{value:.2f}" for value in os.getloadavg())


@dataclass(slots=True)
class Result:
    label: str | None
    commit: str
    database: str
    args: argparse.Namespace
    tally: Tally
    audit: dict[str, int]
    load_before: str
    load_after: str
    date: str = field(default_factory=lambda: datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"))

    @property
    def rate(self) -> float:
        return len(self.tally.latencies) / self.args.duration

    @property
    def in_flight(self) -> float:
        return self.rate * self.args.latency_ms / 1000

    def failures(self) -> str:
        if not self.tally.failures:
            return "0"
        return ", ".join(f"{kind}: {n}" for kind, n in sorted(self.tally.failures.items()))

    def summary(self) -> str:
        t, a = self.tally, self.args
        latencies, rounds = sorted(t.latencies), sorted(t.rounds)
        lines = [
            f"checkout throughput: {self.database}, provider {a.latency_ms} ms, "
            f"{a.concurrency} shoppers, {a.duration:g} s measured after {a.warmup:g} s warm-up, "
            f"{a.products} products, commit {self.commit}",
            f"  successful checkouts: {len(latencies)} = {self.rate:.2f}/s",
            f"  checkout request latency: p50 {percentile(latencies, 0.5) * 1000:.0f} ms, "
            f"p95 {percentile(latencies, 0.95) * 1000:.0f} ms, "
            f"max {(latencies[-1] * 1000 if latencies else float('nan')):.0f} ms",
            f"  whole round (cart + item + checkout): p50 {percentile(rounds, 0.5) * 1000:.0f} ms, "
            f"p95 {percentile(rounds, 0.95) * 1000:.0f} ms",
            f"  failures in the window: {self.failures()}",
            *(f"    first {kind}: {detail}" for kind, detail in sorted(t.first_failure.items())),
            f"  provider calls in flight on average (checkouts/s x latency): "
            f"{self.in_flight:.2f} of {a.concurrency} shoppers",
            f"  answers outside the window: {t.failures_outside} failures; shoppers that gave up: "
            f"{t.gave_up}; orders answered: {dict(t.outcomes)}",
            f"  afterwards (API): {self.audit['orders']} orders in the database, "
            f"{t.answered_2xx} checkouts answered 2xx; {self.audit['sold']} units sold, "
            f"{self.audit['reserved']} still reserved",
            f"  load average (1, 5, 15 min): before {self.load_before}; after {self.load_after}",
        ]
        return "\n".join(lines)

    def row(self) -> str:
        t, a = self.tally, self.args
        latencies = sorted(t.latencies)
        consistent = (
            self.audit["orders"] == t.answered_2xx == self.audit["sold"]
            and self.audit["reserved"] == 0
        )
        check = (
            "ok"
            if consistent
            else (
                f"orders {self.audit['orders']}, 2xx {t.answered_2xx}, sold {self.audit['sold']}, "
                f"reserved {self.audit['reserved']}"
            )
        )
        cells = [
            self.label or "",
            f"`{self.commit}`",
            self.database,
            f"{a.concurrency} x {a.duration:g} s",
            f"{self.rate:.2f}",
            f"{percentile(latencies, 0.5) * 1000:.0f}",
            f"{percentile(latencies, 0.95) * 1000:.0f}",
            self.failures(),
            f"{self.in_flight:.2f}",
            check,
            f"{self.load_before.split(',')[0]} -> {self.load_after.split(',')[0]}",
            self.date,
        ]
        return "| " + " | ".join(cells) + " |"


def section_heading(latency_ms: int) -> str:
    return f"## Checkout throughput (provider at {latency_ms} ms)"


TABLE_HEADER = (
    "| label | commit | database | shoppers x window | checkouts/s | p50 ms | p95 ms | failures "
    "| provider calls in flight | orders = 2xx = sold, 0 reserved | load 1 min before -> after "
    "| date |\n"
    "|---|---|---|---|---:|---:|---:|---|---:|---|---|---|"
)


def section_skeleton(latency_ms: int) -> str:
    return (
        f"{section_heading(latency_ms)}\n\n"
        "```sh\n"
        f".venv/bin/python -m bench.checkout --latency-ms {latency_ms} --concurrency 20 "
        "--duration 15 --record LABEL\n"
        f".venv/bin/python -m bench.checkout --database sqlite --latency-ms {latency_ms} "
        "--record LABEL\n"
        "```\n\n"
        "One `cartograph serve` worker; each shopper loops: create a cart, add one unit, check\n"
        "out. checkouts/s counts 2xx checkouts finished in the window; p50/p95 time the checkout\n"
        "request alone. Provider calls in flight = checkouts/s x latency (1: one order at a\n"
        "time). See bench/README.md.\n\n"
        f"{TABLE_HEADER}\n"
    )


def cells(line: str) -> list[str]:
    return [cell.strip() for cell in line.strip().strip("|").split("|")]


def record(result: Result) -> None:
    """Put `result` in its section's table: into an empty placeholder row with the same label
    and database kind when there is one, else after the last row with the label, else last."""
    text = RESULTS.read_text() if RESULTS.exists() else "# Benchmark results\n"
    heading = section_heading(result.args.latency_ms)
    if heading not in text.splitlines():
        text = text.rstrip("\n") + "\n\n" + section_skeleton(result.args.latency_ms)
    lines = text.splitlines()
    start = lines.index(heading)
    end = next((n for n in range(start + 1, len(lines)) if lines[n].startswith("## ")), len(lines))
    table = [n for n in range(start, end) if lines[n].startswith("|")]
    if len(table) < 2:
        raise BenchError(f"no table under {heading!r} in {RESULTS}")
    rows = table[2:]  # past the header and its rule
    kind = result.database.split()[0]
    mine = [n for n in rows if cells(lines[n])[0] == result.label]
    placeholder = next(
        (n for n in mine if cells(lines[n])[2] in ("", kind) and not any(cells(lines[n])[4:])),
        None,
    )
    if placeholder is not None:
        lines[placeholder] = result.row()
    else:
        lines.insert((mine or table)[-1] + 1, result.row())
    RESULTS.write_text("\n".join(lines) + "\n")
    print(f"recorded as {result.label!r} in {RESULTS}")


# --- the command ------------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m bench.checkout",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--database", choices=("postgresql", "sqlite"), default="postgresql")
    parser.add_argument(
        "--database-url",
        default=DEFAULT_DATABASE_URL,
        help=f"PostgreSQL holding the bench's schema (default {DEFAULT_DATABASE_URL})",
    )
    parser.add_argument(
        "--schema",
        default=DEFAULT_SCHEMA,
        help=f"its schema, dropped and recreated ({DEFAULT_SCHEMA})",
    )
    parser.add_argument("--latency-ms", type=int, default=200, help="the provider's round trip")
    parser.add_argument("--concurrency", type=int, default=20, help="concurrent shoppers")
    parser.add_argument("--duration", type=float, default=15.0, help="measured seconds")
    parser.add_argument("--warmup", type=float, default=3.0, help="unmeasured seconds first")
    parser.add_argument("--products", type=int, default=200, help="products to sell")
    parser.add_argument(
        "--idempotency-keys", action="store_true", help="send a fresh Idempotency-Key per checkout"
    )
    parser.add_argument("--record", metavar="LABEL", help="add the result to bench/RESULTS.md")
    parser.add_argument(
        "--keep", action="store_true", help="keep the schema (or SQLite file) afterwards"
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not 0 <= args.latency_ms <= 10_000:
        parser.error("--latency-ms must be between 0 and 10000")
    if not 1 <= args.concurrency <= 200:
        parser.error("--concurrency must be between 1 and 200")
    if not 0 < args.duration <= 600 or not 0 <= args.warmup <= 60:
        parser.error("--duration must be in (0, 600] and --warmup in [0, 60]")
    if not 1 <= args.products <= 10_000:
        parser.error("--products must be between 1 and 10000")
    if args.record is not None and not re.fullmatch(r"[\w .()+-]{1,40}", args.record):
        parser.error("--record takes a short label (letters, digits, spaces, . ( ) + -)")
    try:
        result = run(args)
    except BenchError as error:
        print(f"bench: {error}", file=sys.stderr)
        return 2
    print(result.summary())
    if args.record is not None:
        record(result)
    return 0


def run(args: argparse.Namespace) -> Result:
    load_before = loads()
    commit = commit_id()
    if args.database == "sqlite":
        target = sqlite_target()
    else:
        target = postgres_target(args.database_url, args.schema)
    try:
        env = server_env(target.url, args.latency_ms)
        cli(env, "migrate")
        key = cli(env, "apikey", "create", "--name", "bench", "--permissions", "*:*")
        key = key.strip().splitlines()[-1]
        with serving(env) as server:
            started = time.perf_counter()
            ids = asyncio.run(prepare(server.base_url, key, args.products))
            print(
                f"prepared {len(ids)} products in {time.perf_counter() - started:.1f} s; "
                f"{args.concurrency} shoppers for {args.warmup:g} + {args.duration:g} s ..."
            )
            tally = asyncio.run(
                drive(
                    server.base_url,
                    ids,
                    concurrency=args.concurrency,
                    warmup=args.warmup,
                    duration=args.duration,
                    keys=args.idempotency_keys,
                )
            )
            load_after = loads()
            counted = asyncio.run(audit(server.base_url, key, ids))
        if server.log.exists():
            print(f"the server logged warnings or errors: {server.log}")
    finally:
        if args.keep:
            print(f"kept: {shown(target.url)}")
        elif target.cleanup is not None:
            target.cleanup()
    return Result(
        label=args.record,
        commit=commit,
        database=target.label,
        args=args,
        tally=tally,
        audit=counted,
        load_before=load_before,
        load_after=load_after,
    )


if __name__ == "__main__":
    sys.exit(main())
