"""The benchmark suite (`make bench`): Cartograph's main paths under load on 100,000 products.

    .venv/bin/python -m bench.suite --reuse --label before

On a PostgreSQL schema of its own (`cg_bench_suite` in the database of --database-url; only
`cg_bench_...` names are accepted), migrated to head and filled by `bench.dataset` (100,000
catalog entities with 3 variants each, prices, stock in 3 warehouses, 100,000 orders; kept
between runs with --reuse), it measures each scenario:

1. in-process, through the ASGI app: one request (warmed up once first) and the SQL
   statements it sends (`tests.support.queries.count_queries`); its answer must be a success;
2. over a socket: `cartograph serve` (one uvicorn worker, a process of its own, started
   afresh for each scenario), driven by wrk (a separate process, Lua scripts in bench/wrk/)
   with --concurrency connections, --warmup seconds unmeasured then --duration measured:
   requests a second, latency p50/p95/p99, failed answers, and the server's CPU time per
   request (utime + stime of /proc/<pid>/stat over the measured window / requests) and its
   peak resident memory (VmHWM of /proc/<pid>/status at the end).

Scenario (a) is also served by the hand-written ceiling (`bench/ceiling.py`, `?offers=1`) in
the same run, and the ratio recorded. Each run appends a dated section to bench/RESULTS.md
(--label names it, e.g. before / after), so earlier runs stay. Not a test: pytest never
collects bench/.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import platform
import shlex
import shutil
import subprocess
import sys
import tempfile
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import orjson
from sqlalchemy import event, text

from app.config import Settings
from app.db import Database
from app.main import create_app
from app.migrations import upgrade
from bench import dataset
from bench.ceiling import storefront
from bench.checkout import DEFAULT_DATABASE_URL, cli, postgres_target, server_env, serving
from bench.run import RESULTS, ROOT, BenchError, compare, free_port, machine
from bench.run import serving as serving_ceiling
from tests.support.queries import count_queries

SCHEMA = "cg_bench_suite"
WRK_SCRIPTS = ROOT / "bench" / "wrk"
CHECKOUT_VARIANTS = 2000  # the variants the shoppers of (d) buy, spread over the catalog
PAGE_SIZE = 20
DEEP_PAGE = 1000
# Measured side by side, in alternating slices (`measure_alternating`).
PAIRED = ("a", "a*")

STOREFRONT = (
    "query Storefront { catalogEntities(filter: {status: ACTIVE}, limit: 20) { totalCount "
    'items { id slug type attributes(locale: "en") { title description } '
    "variants { id sku optionValues { value } price { amount currency } available } "
    "categories { id name slug } brands { id name slug } } } }"
)
PRODUCT = (
    "query Product($slug: String!) { catalogEntity(idOrSlug: $slug) { id slug type status "
    'attributes(locale: "en") { title description } '
    "variants { id sku optionValues { value } price { amount currency } available } "
    "categories { id name slug } brands { id name slug } } }"
)
SEARCH = (
    "query Search($q: String!) { search(q: $q, facets: [TYPE, BRAND]) { totalCount "
    "items { id slug title score } facets { field values { value count } } } }"
)
ORDERS = (
    "query Orders($after: String) { orders(first: 20, after: $after) { totalCount "
    "items { id number status paymentStatus customerId createdAt total { amount currency } "
    "lines { sku quantity unitPrice { amount } } } pageInfo { endCursor hasNextPage } } }"
)
# The cursor after order 19,980 (page 1000 starts after it), asked of the API by offset.
CURSOR_BEFORE_DEEP_PAGE = (
    "query Cursor($offset: Int!) { orders(offset: $offset, limit: 1) "
    "{ items { id } pageInfo { endCursor } } }"
)


@dataclass(slots=True)
class Scenario:
    key: str  # e.g. "a", "f1"
    title: str
    method: str
    path: str
    body: dict[str, Any] | None = None
    admin: bool = False  # sends the bench's admin API key
    ceiling: bool = False  # served by bench/ceiling.py instead of cartograph
    checkout: bool = False  # the shopper script (cart, item, checkout) instead of one request
    statements: int | None = None
    note: str = ""
    load: dict[str, Any] = field(default_factory=dict)


def scenarios(slug: str, query: str, deep_cursor: str) -> list[Scenario]:
    def graphql(name: str, document: str, **variables: Any) -> dict[str, Any]:
        return {"query": document, "operationName": name, "variables": variables}

    return [
        Scenario("a", "storefront listing of 20 (GraphQL)", "POST", "/graphql",
                 graphql("Storefront", STOREFRONT)),
        Scenario("a*", "the same listing, hand-written ceiling", "GET",
                 "/storefront?offers=1", ceiling=True),
        Scenario("b", "product by slug (GraphQL)", "POST", "/graphql",
                 graphql("Product", PRODUCT, slug=slug)),
        Scenario("c", f"search `{query}` with 2 facets (GraphQL)", "POST", "/graphql",
                 graphql("Search", SEARCH, q=query)),
        Scenario("d", "add to cart + checkout (REST, 3 requests a round)", "POST", "/api/carts",
                 checkout=True),
        Scenario("e", "gateway `GET /api/v1/inventory?limit=100`", "GET",
                 "/api/v1/inventory?limit=100", admin=True),
        Scenario("f1", "admin orders page 1 (GraphQL, first: 20)", "POST", "/graphql",
                 graphql("Orders", ORDERS), admin=True),
        Scenario("f1000", "admin orders page 1000 (GraphQL, after: cursor)", "POST", "/graphql",
                 graphql("Orders", ORDERS, after=deep_cursor), admin=True),
        Scenario("r1", "admin orders page 1 (REST `/api/orders?page=1`)", "GET",
                 "/api/orders?page=1&limit=20", admin=True),
        Scenario("r1000", "admin orders page 1000 (REST `/api/orders?page=1000`)", "GET",
                 f"/api/orders?page={DEEP_PAGE}&limit=20", admin=True),
    ]  # fmt: skip


# --- in-process: statements per request, and what the scenarios need -----------------------


@dataclass(slots=True)
class Prepared:
    scenarios: list[Scenario]
    variants: list[tuple[str, str]]  # (entity id, variant id) for the shoppers
    comparison: str  # (a) against the ceiling
    deep_page_check: str  # GraphQL page 1000 against REST page=1000
    page_sql_ms: dict[str, float] = field(default_factory=dict)  # (f), (r): the page alone


def _settings(url: str) -> Settings:
    env = server_env(url, 0)
    return Settings(
        database_url=url,
        rate_limit=env["CARTOGRAPH_RATE_LIMIT"],
        graphql_cost_budget=int(env["CARTOGRAPH_GRAPHQL_COST_BUDGET"]),
        graphql_cost_restore_rate=float(env["CARTOGRAPH_GRAPHQL_COST_RESTORE_RATE"]),
        log_level="WARNING",
    )


def _ok(response: httpx.Response, what: str) -> Any:
    body = response.json() if response.content else None
    if response.status_code >= 300 or (isinstance(body, dict) and body.get("errors")):
        raise BenchError(f"{what}: HTTP {response.status_code}: {response.text[:500]}")
    return body


async def prepare(url: str, key: str) -> Prepared:
    """Pick the scenarios' inputs from the data, and count each one's statements."""
    database = Database(url)
    app = create_app(_settings(url), database=database)
    admin = {"x-api-key": key}
    try:
        async with database.read_session() as session:
            slug = await session.scalar(
                text("SELECT slug FROM catalog_entities WHERE status = 'active' "
                     "AND slug LIKE 'bench-%' ORDER BY slug OFFSET 50000 LIMIT 1")
            )  # fmt: skip
            rows = await session.execute(
                text("SELECT v.entity_id, v.id FROM variants AS v "
                     "JOIN catalog_entities AS e ON e.id = v.entity_id "
                     "WHERE e.status = 'active' AND e.slug LIKE 'bench-%' "
                     "ORDER BY v.sku LIMIT :n"), {"n": CHECKOUT_VARIANTS * 40},
            )  # fmt: skip
            variants = [(str(e), str(v)) for e, v in rows.all()][::40]
        query = "summit tent"
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://bench", timeout=60
        ) as client:
            listed = scenarios(slug, query, deep_cursor="")
            by_key = {scenario.key: scenario for scenario in listed}
            answers: dict[str, Any] = {}
            timed: dict[str, float] = {}
            # The checkout first: the orders it places come before the deep cursor is taken.
            order = sorted(listed, key=lambda scenario: not scenario.checkout)
            for scenario in order:
                if scenario.key == "f1000":
                    assert scenario.body is not None
                    scenario.body["variables"]["after"] = await _deep_cursor(client, admin)
                if scenario.ceiling:
                    continue
                scenario.statements, answers[scenario.key], statements = await _count(
                    client, database, scenario, admin, variants[0]
                )
                if scenario.key in ("f1", "f1000", "r1", "r1000"):
                    timed[scenario.key] = await page_sql_ms(database, statements)
            async with database.engine.connect() as connection:
                await storefront(connection, offers=True)
                with count_queries(database) as ceiling:
                    expected = await storefront(connection, offers=True)
            by_key["a*"].statements = ceiling.count
            response = httpx.Response(200, content=orjson.dumps(answers["a"]))
            comparison = compare(response, expected)
            graphql_ids = [o["id"] for o in answers["f1000"]["data"]["orders"]["items"]]
            rest_ids = [o["id"] for o in answers["r1000"]["data"]]
            deep = (
                f"the same {len(rest_ids)} orders as REST page=1000"
                if graphql_ids == rest_ids and rest_ids
                else "DIFFERENT orders from REST page=1000"
            )
    finally:
        await database.dispose()
    return Prepared(listed, variants, comparison, deep, timed)


async def _deep_cursor(client: httpx.AsyncClient, admin: dict[str, str]) -> str:
    """The API's own (opaque) cursor after order 19,980, newest first: page 1000 of 20
    starts after it. Asked by offset once, as a client would have walked there."""
    variables = {"offset": (DEEP_PAGE - 1) * PAGE_SIZE - 1}
    body = {"query": CURSOR_BEFORE_DEEP_PAGE, "variables": variables}
    found = _ok(await client.post("/graphql", json=body, headers=admin), "the deep cursor")
    cursor: str = found["data"]["orders"]["pageInfo"]["endCursor"]
    return cursor


@contextlib.contextmanager
def sent(database: Database) -> Iterator[list[tuple[str, Any]]]:
    """The statements a block sends, with their parameters (to EXPLAIN them again)."""
    statements: list[tuple[str, Any]] = []

    def record(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        statements.append((statement, parameters))

    engine = database.engine.sync_engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", record)


async def page_sql_ms(database: Database, statements: list[tuple[str, Any]]) -> float:
    """The execution time PostgreSQL reports for the orders page statement (EXPLAIN
    ANALYZE, the median of 5): what the keyset condition or the OFFSET costs by itself."""
    [(sql, parameters)] = [
        (sql, parameters)
        for sql, parameters in statements
        if "FROM orders" in sql and "LIMIT" in sql and "count(" not in sql
    ]
    times = []
    async with database.engine.connect() as connection:
        for _ in range(5):
            explained = await connection.exec_driver_sql(
                f"EXPLAIN (ANALYZE, FORMAT JSON) {sql}", parameters
            )
            times.append(float(explained.scalar_one()[0]["Execution Time"]))
    return sorted(times)[2]


async def _count(
    client: httpx.AsyncClient,
    database: Database,
    scenario: Scenario,
    admin: dict[str, str],
    variant: tuple[str, str],
) -> tuple[int, Any, list[tuple[str, Any]]]:
    """The statements of one request (of one round for the checkout), after a warm-up."""
    headers = admin if scenario.admin else {}
    if scenario.checkout:
        await _checkout_round(client, variant)
        with count_queries(database) as queries, sent(database) as statements:
            answer = await _checkout_round(client, variant)
        return queries.count, answer, statements
    request = {"method": scenario.method, "url": scenario.path, "headers": headers}
    if scenario.body is not None:
        request["json"] = scenario.body
    _ok(await client.request(**request), scenario.title)
    with count_queries(database) as queries, sent(database) as statements:
        answer = _ok(await client.request(**request), scenario.title)
    return queries.count, answer, statements


async def _checkout_round(client: httpx.AsyncClient, variant: tuple[str, str]) -> Any:
    cart = _ok(await client.post("/api/carts", json={"currency": "USD"}), "create a cart")
    cart_id = cart["data"]["id"]
    item = {"entityId": variant[0], "variantId": variant[1], "quantity": 1}
    _ok(await client.post(f"/api/carts/{cart_id}/items", json=item), "add to the cart")
    body = {"cartId": cart_id, "paymentMethodId": "pm_card_visa"}
    return _ok(await client.post("/api/checkout", json=body), "check out")


# --- over a socket: the server and wrk -----------------------------------------------------


def tree(pid: int) -> list[int]:
    """`pid` and its descendants (a server with `--workers N` is a supervisor and N workers)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError, IndexError, ValueError):
                parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
                children.setdefault(parent, []).append(int(entry.name))
    found, pending = [], [pid]
    while pending:
        current = pending.pop()
        found.append(current)
        pending.extend(children.get(current, []))
    return found


def cpu_seconds(pid: int) -> float:
    """User + system CPU time so far of a process and its descendants (/proc/<pid>/stat,
    fields 14 and 15)."""
    total = 0.0
    for member in tree(pid):
        with contextlib.suppress(OSError):
            fields = Path(f"/proc/{member}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


def peak_rss_mb(pid: int) -> float:
    """The peak resident memory of a process and its descendants, summed (VmHWM)."""
    total = 0.0
    for member in tree(pid):
        with contextlib.suppress(OSError):
            for line in Path(f"/proc/{member}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    total += int(line.split()[1]) / 1024
    return total or float("nan")


def wrk(
    base_url: str,
    scenario: Scenario,
    args: argparse.Namespace,
    files: dict[str, str],
    seconds: float,
) -> dict[str, Any]:
    """One wrk run of `seconds`; the JSON line bench/wrk/report.lua prints."""
    connections = args.concurrency
    if scenario.checkout:
        # One connection per thread: the script's steps follow one connection's answers.
        script = WRK_SCRIPTS / "checkout.lua"
        extra = [files["variants"], str(connections)]
        threads, url = connections, base_url
    else:
        script = WRK_SCRIPTS / "request.lua"
        extra = [scenario.method, files.get(scenario.key, "-"),
                 args.key if scenario.admin else "-"]  # fmt: skip
        threads, url = min(2, connections), base_url + scenario.path
    command = [
        args.wrk, f"-t{threads}", f"-c{connections}", f"-d{max(1, round(seconds))}s",
        "--timeout", "10s", "-s", str(script), url, "--", *extra,
    ]  # fmt: skip
    try:
        done = subprocess.run(
            command, cwd=ROOT, capture_output=True, text=True, timeout=seconds + 60
        )
    except subprocess.TimeoutExpired as error:
        raise BenchError(f"wrk overran its time: {shlex.join(command)}") from error
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    if done.returncode != 0 or not lines:
        raise BenchError(f"wrk failed ({shlex.join(command)}):\n{done.stderr[-1500:]}")
    result: dict[str, Any] = orjson.loads(lines[-1])
    return result


def measure(
    base_url: str, pid: int, scenario: Scenario, args: argparse.Namespace, files: dict[str, str]
) -> dict[str, Any]:
    if args.warmup > 0:
        wrk(base_url, scenario, args, files, args.warmup)
    load_before = os.getloadavg()[0]
    cpu_before = cpu_seconds(pid)
    result = wrk(base_url, scenario, args, files, args.duration)
    cpu = cpu_seconds(pid) - cpu_before
    requests = result["requests"]
    result["rps"] = requests / result["seconds"] if result["seconds"] else float("nan")
    result["cpu_ms"] = cpu * 1000 / requests if requests else float("nan")
    result["rss_mb"] = peak_rss_mb(pid)
    result["load"] = (load_before, os.getloadavg()[0])
    return result


def measure_alternating(
    runs: list[tuple[Scenario, str, int]], args: argparse.Namespace, files: dict[str, str]
) -> list[dict[str, Any]]:
    """Scenarios measured in turn, `--slices` slices of each, so that a change in the speed of
    the machine (it is shared: the same code can take 1.5x the CPU a few minutes later)
    weighs on each alike: (a) and its ceiling. Each slice's histogram is merged, so the
    percentiles are those of every request of a scenario."""
    for scenario, base_url, _ in runs:
        if args.warmup > 0:
            wrk(base_url, scenario, args, files, args.warmup)
    load_before = os.getloadavg()[0]
    slices: dict[str, list[dict[str, Any]]] = {scenario.key: [] for scenario, _, _ in runs}
    cpu = dict.fromkeys(slices, 0.0)
    for _ in range(args.slices):
        for scenario, base_url, pid in runs:
            before = cpu_seconds(pid)
            slices[scenario.key].append(
                wrk(base_url, scenario, args, files, args.duration / args.slices)
            )
            cpu[scenario.key] += cpu_seconds(pid) - before
    results = []
    for scenario, _, pid in runs:
        result = merged(slices[scenario.key])
        requests = result["requests"]
        result["rps"] = requests / result["seconds"] if result["seconds"] else float("nan")
        result["cpu_ms"] = cpu[scenario.key] * 1000 / requests if requests else float("nan")
        result["rss_mb"] = peak_rss_mb(pid)
        result["load"] = (load_before, os.getloadavg()[0])
        results.append(result)
    return results


def merged(slices: list[dict[str, Any]]) -> dict[str, Any]:
    """wrk's answers of several runs as one: counts summed, histograms merged."""
    histogram: Counter[int] = Counter()
    for part in slices:
        for value, count in part["histogram"]:
            histogram[value] += count
    result: dict[str, Any] = {
        key: sum(part[key] for part in slices)
        for key in ("requests", "seconds", "transport_errors", "timeouts", "failed", "rounds")
    }
    result["first_failure"] = next((p["first_failure"] for p in slices if p["first_failure"]), "")
    for p in (50, 95, 99):
        result[f"p{p}_ms"] = percentile(histogram, p)
    result["max_ms"] = max(histogram, default=0) / 1000
    return result


def percentile(histogram: Counter[int], p: float) -> float:
    """wrk's percentile (`stats_percentile`) of a histogram of microseconds, in ms."""
    rank = round(p / 100 * sum(histogram.values()) + 0.5)
    seen = 0
    for value in sorted(histogram):
        seen += histogram[value]
        if seen >= rank:
            return value / 1000
    return float("nan")


@contextlib.contextmanager
def server_for(scenario: Scenario, url: str, workers: int) -> Iterator[tuple[str, int]]:
    """A fresh server for one scenario, cartograph's or the ceiling's, with `workers`
    uvicorn workers."""
    if not scenario.ceiling:
        with serving(server_env(url, 0), workers=workers) as server:
            yield server.base_url, server.pid
        return
    port = free_port()
    env = {**server_env(url, 0)}
    command = [
        *(sys.executable, "-m", "uvicorn", "bench.ceiling:create_app", "--factory"),
        *("--host", "127.0.0.1", "--port", str(port)),
        *("--log-level", "warning", "--no-access-log"),
        *(("--workers", str(workers)) if workers > 1 else ()),
    ]
    base = f"http://127.0.0.1:{port}"
    with serving_ceiling("ceiling", command, env, f"{base}/health") as process:
        yield base, process.pid


# --- the report ------------------------------------------------------------------------------


def commit() -> str:
    def git(*args: str) -> str:
        return subprocess.run(
            ["git", *args], cwd=ROOT, capture_output=True, text=True
        ).stdout.strip()

    # The results file changes with every run: the code measured is what counts.
    changed = git("status", "--porcelain", "--", "app", "bench", ":!bench/RESULTS.md")
    dirty = "+dirty" if changed else ""
    return git("rev-parse", "--short", "HEAD") + dirty


def report(
    args: argparse.Namespace,
    argv: Sequence[str],
    prepared: Prepared,
    built: dataset.Built,
    load_before: tuple[float, float, float],
    postgres: str,
) -> str:
    by_key = {s.key: s for s in prepared.scenarios}
    rows = [
        "| | scenario | req/s | p50 ms | p95 ms | p99 ms | SQL statements/request | "
        "server CPU ms/request | peak RSS MB | requests | failed | load 1 min |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for s in prepared.scenarios:
        load = s.load
        statements = "?" if s.statements is None else str(s.statements)
        if s.checkout:
            statements = f"{s.statements} a round"
        failed = load["failed"] + load["transport_errors"] + load["timeouts"]
        rows.append(
            f"| {s.key} | {s.title} | {load['rps']:.1f} | {load['p50_ms']:.1f} | "
            f"{load['p95_ms']:.1f} | {load['p99_ms']:.1f} | {statements} | "
            f"{load['cpu_ms']:.2f} | {load['rss_mb']:.0f} | {load['requests']} | {failed} | "
            f"{load['load'][0]:.1f} -> {load['load'][1]:.1f} |"
        )
    a, ceiling = by_key["a"].load, by_key["a*"].load
    f1, f1000 = by_key["f1"].load, by_key["f1000"].load
    r1, r1000 = by_key["r1"].load, by_key["r1000"].load
    checkout = by_key["d"].load
    failures = [
        f"- first failed answer of ({s.key}): `{s.load['first_failure']}`"
        for s in prepared.scenarios
        if s.load.get("first_failure")
    ]
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    lines = [
        f"## Benchmark suite (`make bench`): {args.label}, {stamp}",
        "",
        "```",
        f".venv/bin/python -m bench.suite {shlex.join(argv)}".rstrip(),
        "```",
        "",
        f"- commit {commit()}; Python {platform.python_version()}, {postgres}",
        f"- machine: {machine(load_before)}",
        f"- data: schema `{SCHEMA}`, {built.entities} bench entities x 3 variants, prices, "
        f"stock in 3 warehouses, {built.orders} orders"
        + (f" (built in {built.seconds:.0f} s)" if built.seconds else " (reused)"),
        f"- load: wrk, {args.concurrency} connections, {args.warmup:g} s warm-up then "
        f"{args.duration:g} s measured per scenario; one `cartograph serve` "
        + ("(one uvicorn worker" if args.workers == 1 else f"(`--workers {args.workers}`")
        + ", started afresh for each scenario; it runs its jobs and dispatcher in-process, "
        "whose CPU counts too, and the ceiling runs as many workers); (a) and (a*) run side "
        f"by side, in {args.slices} alternating slices each, their histograms merged; server, "
        "PostgreSQL and wrk share the machine",
        "",
        *rows,
        "",
        f"- (a) GraphQL / ceiling: **{_ratio(a['rps'], ceiling['rps'])}x** req/s; "
        f"responses compared in-process: {prepared.comparison}",
        "- (a) against the issue's must-show: "
        + _goals(by_key["a"], ceiling["rps"], args.concurrency),
        f"- (d) checkouts: {checkout['rounds'] / args.duration:.1f}/s "
        f"({checkout['rounds']} rounds of cart, item, checkout answered 2xx)",
        f"- (f) GraphQL page 1000 / page 1: p50 **{_ratio(f1000['p50_ms'], f1['p50_ms'])}x**, "
        f"p99 {_ratio(f1000['p99_ms'], f1['p99_ms'])}x (goal: within 2x: "
        f"{'met' if f1000['p50_ms'] <= 2 * f1['p50_ms'] else 'not met'}); page 1000 holds "
        f"{prepared.deep_page_check}",
        f"- REST `page=1000` / `page=1`: p50 {_ratio(r1000['p50_ms'], r1['p50_ms'])}x "
        "(REST pages by OFFSET 19,980)",
        "- the orders page statement alone (PostgreSQL's EXPLAIN ANALYZE execution time, "
        "median of 5, in-process): "
        + ", ".join(
            f"{name} {prepared.page_sql_ms[key]:.2f} ms"
            for key, name in (
                ("f1", "GraphQL page 1"),
                ("f1000", "GraphQL page 1000 (keyset)"),
                ("r1", "REST page 1"),
                ("r1000", "REST page 1000 (OFFSET)"),
            )
            if key in prepared.page_sql_ms
        ),
        *failures,
        "",
    ]
    return "\n".join(lines)


def _goals(listing: Scenario, ceiling_rps: float, concurrency: int) -> str:
    """Issue 15's three numbers for (a), each with whether it is met."""
    ratio = listing.load["rps"] / ceiling_rps if ceiling_rps else 0.0
    statements = listing.statements if listing.statements is not None else 10**6
    p99 = listing.load["p99_ms"]
    met = {True: "met", False: "not met"}
    return (
        f"{ratio:.2f}x of the ceiling (at least 0.70x, goal 0.80x: {met[ratio >= 0.70]}), "
        f"{statements} statements (at most 6: {met[statements <= 6]}), "
        f"p99 {p99:.1f} ms at concurrency {concurrency} (under 100 ms at 8: {met[p99 < 100]})"
    )


def _ratio(value: float, base: float) -> str:
    return f"{value / base:.2f}" if base else "?"


def append(section: str) -> None:
    existing = RESULTS.read_text() if RESULTS.exists() else "# Benchmark results\n"
    RESULTS.write_text(existing.rstrip("\n") + "\n\n" + section)


# --- the command ----------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bench.suite", description=__doc__)
    parser.add_argument("--database-url", default=os.environ.get(
        "BENCH_DATABASE_URL", DEFAULT_DATABASE_URL))  # fmt: skip
    parser.add_argument("--products", type=int, default=100_000)
    parser.add_argument("--orders", type=int, default=100_000)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--duration", type=float, default=10.0, help="measured s per scenario")
    parser.add_argument(
        "--workers", type=int, default=1, help="uvicorn workers of each server (default 1)"
    )
    parser.add_argument(
        "--slices", type=int, default=5, help="(a) and (a*) alternate in this many slices"
    )
    parser.add_argument("--warmup", type=float, default=2.0, help="unmeasured s first")
    parser.add_argument(
        "--reuse", action="store_true", help="keep the data set (built when missing)"
    )
    parser.add_argument("--only", help="comma-separated scenario keys (e.g. a,a*,f1,f1000)")
    parser.add_argument("--label", default="run", help="names the RESULTS.md section")
    parser.add_argument("--no-record", action="store_true", help="print, leave RESULTS.md")
    parser.add_argument("--wrk", default=shutil.which("wrk") or "wrk")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    args = parser.parse_args(argv)
    if shutil.which(args.wrk) is None:
        print(
            "bench: wrk is not installed; install it with `sudo apt-get install -y wrk` "
            "(Debian/Ubuntu), or name it with --wrk",
            file=sys.stderr,
        )
        return 2
    if not 1 <= args.workers <= 16:
        parser.error("--workers must be between 1 and 16")
    if not 1 <= args.slices <= args.duration:
        parser.error("--slices must be between 1 and --duration (slices of 1 s at least)")
    if not 1 <= args.concurrency <= 256 or not 0 < args.duration <= 600:
        parser.error("--concurrency must be in [1, 256] and --duration in (0, 600]")
    if args.products < DEEP_PAGE or args.orders < DEEP_PAGE * PAGE_SIZE:
        parser.error(f"the data set needs {DEEP_PAGE * PAGE_SIZE} orders for page {DEEP_PAGE}")
    try:
        section = run(args, argv)
    except BenchError as error:
        print(f"bench: {error}", file=sys.stderr)
        return 2
    print(section)
    return 0


def run(args: argparse.Namespace, argv: Sequence[str]) -> str:
    load_before = os.getloadavg()
    target = postgres_target(args.database_url, SCHEMA, fresh=not args.reuse)
    upgrade(target.url)
    built = asyncio.run(_build(target.url, args))
    print(f"data set: {built}")
    env = server_env(target.url, 0)
    args.key = cli(env, "apikey", "create", "--name", "bench-suite", "--permissions", "*:*")
    args.key = args.key.strip().splitlines()[-1]
    prepared = asyncio.run(prepare(target.url, args.key))
    print(f"(a) against the ceiling: {prepared.comparison}; page 1000: {prepared.deep_page_check}")
    print(f"orders page statement alone, ms: {prepared.page_sql_ms}")
    only = set(args.only.split(",")) if args.only else None
    with tempfile.TemporaryDirectory(prefix="bench-suite-") as directory:
        files = _files(Path(directory), prepared)
        chosen = [s for s in prepared.scenarios if only is None or s.key in only]
        # (a) and its ceiling side by side, in alternating slices; the others one by one.
        paired = [s for s in chosen if s.key in PAIRED]
        for group in ([paired] if len(paired) > 1 else []) + [
            [s] for s in chosen if s not in paired or len(paired) == 1
        ]:
            with contextlib.ExitStack() as stack:
                runs = [
                    (s, *stack.enter_context(server_for(s, target.url, args.workers)))
                    for s in group
                ]
                if len(runs) > 1:
                    loads = measure_alternating(runs, args, files)
                else:
                    [(scenario, base_url, pid)] = runs
                    loads = [measure(base_url, pid, scenario, args, files)]
            for scenario, load in zip(group, loads, strict=True):
                scenario.load = load
                print(
                    f"({scenario.key}) {scenario.title}: {load['rps']:.1f} req/s, "
                    f"p99 {load['p99_ms']:.1f} ms, {load['cpu_ms']:.2f} ms server "
                    f"CPU/request, {scenario.statements} statements, {load['failed']} failed",
                    flush=True,
                )
    if only is not None:
        return "(--only: nothing recorded)"
    section = report(args, argv, prepared, built, load_before, target.label)
    if not args.no_record:
        append(section)
    return section


async def _build(url: str, args: argparse.Namespace) -> dataset.Built:
    database = Database(url)
    try:
        return await dataset.build(database, products=args.products, orders=args.orders)
    except RuntimeError as error:
        raise BenchError(str(error)) from error
    finally:
        await database.dispose()


def _files(directory: Path, prepared: Prepared) -> dict[str, str]:
    """The request bodies and the shoppers' variants, as files for the wrk scripts."""
    files = {}
    for scenario in prepared.scenarios:
        if scenario.body is not None:
            path = directory / f"{scenario.key}.json"
            path.write_bytes(orjson.dumps(scenario.body))
            files[scenario.key] = str(path)
    variants = directory / "variants.txt"
    variants.write_text("".join(f"{e} {v}\n" for e, v in prepared.variants))
    files["variants"] = str(variants)
    return files


if __name__ == "__main__":
    sys.exit(main())
