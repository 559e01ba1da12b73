"""What metrics, JSON logs and traces cost the storefront listing, in-process.

    .venv/bin/python -m bench.telemetry --requests 200 --rounds 5

One PostgreSQL database (`cg_ops_bench`, created, migrated and seeded with the demo catalog
when missing), one `Database` shared by every app, and one app per variant: telemetry off
(as before), `CARTOGRAPH_METRICS=true`, metrics with JSON logs (to /dev/null), and metrics
with JSON logs and traces (sent over OTLP/HTTP to a receiver thread in this process). Each
round sends `--requests` storefront requests one after another through each app's ASGI
interface (httpx's ASGI transport: no sockets), the variants in turn, so that a machine
getting busier or quieter weighs on all of them alike. Prints req/s per round and the median,
as a Markdown table for bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import statistics
import sys
import time
from collections.abc import Iterator, Sequence
from typing import Any

import httpx

from app.config import Settings
from app.db import Database
from app.main import create_app
from app.migrations import upgrade
from bench.run import GRAPHQL_BODY, UNLIMITED_BUDGET, UNLIMITED_RATE, ensure_database, seed
from tests.support.receiver import receiving

DEFAULT_DATABASE_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/cg_ops_bench"
WARM_UP = 20


@contextlib.contextmanager
def quiet_stderr() -> Iterator[None]:
    """JSON log lines go to stderr, bound when the handler is made: point it at /dev/null."""
    saved = sys.stderr
    with open(os.devnull, "w") as devnull:
        sys.stderr = devnull
        try:
            yield
        finally:
            sys.stderr = saved


def variants(collector_url: str) -> dict[str, dict[str, Any]]:
    return {
        "telemetry off (before)": {},
        "metrics": {"metrics": True},
        "metrics + JSON logs": {"metrics": True, "log_format": "json"},
        "metrics + JSON logs + traces": {
            "metrics": True,
            "log_format": "json",
            "otel_endpoint": collector_url,
        },
    }


async def timed(client: httpx.AsyncClient, requests: int) -> tuple[float, float]:
    """Requests a second, and this process's CPU milliseconds a request (every thread's:
    the span exporter's too), over `requests` sequential storefront requests. On a busy
    machine the CPU time is the steadier of the two: waiting for a core does not count."""
    headers = {"content-type": "application/json"}
    started, cpu = time.perf_counter(), time.process_time()
    for _ in range(requests):
        response = await client.post("/graphql", content=GRAPHQL_BODY, headers=headers)
        if response.status_code != 200 or "errors" in response.json():
            raise RuntimeError(f"storefront failed: {response.status_code} {response.text[:300]}")
    cpu_ms = (time.process_time() - cpu) * 1000 / requests
    return requests / (time.perf_counter() - started), cpu_ms


Results = dict[str, list[tuple[float, float]]]


async def measure(url: str, requests: int, rounds: int) -> Results:
    database = Database(url, pool_size=10)
    results: Results = {}
    try:
        with receiving() as collector, quiet_stderr():
            base = collector.url.removesuffix("/hooks")
            clients: dict[str, httpx.AsyncClient] = {}
            apps = []
            for name, overrides in variants(base).items():
                settings = Settings(
                    database_url=url,
                    rate_limit=UNLIMITED_RATE,
                    graphql_cost_budget=int(UNLIMITED_BUDGET),
                    access_log=False,
                    **overrides,
                )
                app = create_app(settings, database=database)
                apps.append(app)
                clients[name] = httpx.AsyncClient(
                    transport=httpx.ASGITransport(app=app), base_url="http://bench"
                )
                await timed(clients[name], WARM_UP)
            for _ in range(rounds):
                for name, client in clients.items():
                    results.setdefault(name, []).append(await timed(client, requests))
            print(f"metrics bookkeeping: {bookkeeping_us(apps[1]):.2f} us per request")
            for client in clients.values():
                await client.aclose()
            for app in apps:
                if app.state.tracing is not None:
                    app.state.tracing.close()
                if app.state.metrics is not None:
                    app.state.metrics.close()
    finally:
        await database.dispose()
    return results


def bookkeeping_us(app: Any, calls: int = 100_000) -> float:
    """Microseconds of the metrics' own work per request (labels, counter, histogram)."""
    metrics = app.state.metrics
    started = time.perf_counter()
    for _ in range(calls):
        label = metrics.operation_label("Storefront")
        metrics.observe("POST", "/graphql", label, 200, 0.012)
    return (time.perf_counter() - started) * 1e6 / calls


def table(results: Results, requests: int) -> str:
    first = next(iter(results.values()))
    base_rate = statistics.median(rate for rate, _ in first)
    base_cpu = statistics.median(cpu for _, cpu in first)
    lines = [
        f"| variant | req/s per round ({requests} requests each) | median req/s | vs off "
        "| median CPU ms/request | vs off |",
        "|---|---|---:|---:|---:|---:|",
    ]
    for name, measured in results.items():
        rate = statistics.median(r for r, _ in measured)
        cpu = statistics.median(c for _, c in measured)
        shown = ", ".join(f"{r:.1f}" for r, _ in measured)
        lines.append(
            f"| {name} | {shown} | {rate:.1f} | {rate / base_rate:.3f}x | {cpu:.2f} "
            f"| {cpu / base_cpu:.3f}x |"
        )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench.telemetry", description=__doc__)
    parser.add_argument("--database-url", default=DEFAULT_DATABASE_URL)
    parser.add_argument("--products", type=int, default=200)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args(argv)
    ensure_database(args.database_url, fresh=False)
    upgrade(args.database_url)
    asyncio.run(seed(args.database_url, args.products))
    load = os.getloadavg()
    results = asyncio.run(measure(args.database_url, args.requests, args.rounds))
    print(f"load average before: {load[0]:.2f}, after: {os.getloadavg()[0]:.2f}")
    print(table(results, args.requests))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
