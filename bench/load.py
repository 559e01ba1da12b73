"""A closed-loop load generator: N workers send one request after another for D seconds.

Run in a process of its own (so its CPU is not the server's), it prints one JSON object:

    python -m bench.load --url http://127.0.0.1:8000/graphql --json '{"query": "..."}' \\
        --concurrency 16 --duration 15 --warmup 3

A request is an error when it fails in transport, answers a status other than 200, or answers
a JSON body with an "errors" key (GraphQL reports failures that way, with status 200).
Requests started during the warm-up, or still running when the window closes, are not counted.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx
import orjson

REQUEST_TIMEOUT_S = 10.0


@dataclass(slots=True)
class Tally:
    latencies: list[float] = field(default_factory=list)
    errors: int = 0
    first_error: str | None = None

    def error(self, description: str) -> None:
        self.errors += 1
        if self.first_error is None:
            self.first_error = description[:500]


def failure(response: httpx.Response) -> str | None:
    """Why `response` counts as an error, or None when it does not."""
    if response.status_code != 200:
        return f"HTTP {response.status_code}: {response.text[:300]}"
    try:
        body = orjson.loads(response.content)
    except orjson.JSONDecodeError:
        return f"not JSON: {response.text[:300]}"
    if isinstance(body, dict) and "errors" in body:
        return "errors: " + orjson.dumps(body["errors"]).decode()[:300]
    return None


async def worker(
    client: httpx.AsyncClient,
    request: dict[str, Any],
    *,
    measure_from: float,
    stop_at: float,
    tally: Tally,
) -> None:
    while (started := time.perf_counter()) < stop_at:
        try:
            response = await client.request(**request)
            problem = failure(response)
        except httpx.HTTPError as error:
            problem = f"{type(error).__name__}: {error}"
        finished = time.perf_counter()
        if started < measure_from or finished > stop_at:
            continue
        tally.latencies.append(finished - started)
        if problem is not None:
            tally.error(problem)


def percentile(sorted_values: Sequence[float], fraction: float) -> float:
    if not sorted_values:
        return float("nan")
    index = min(len(sorted_values) - 1, max(0, round(fraction * len(sorted_values)) - 1))
    return sorted_values[index]


async def run(
    *, url: str, method: str, body: bytes | None, concurrency: int, duration: float, warmup: float
) -> dict[str, Any]:
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    headers = {"content-type": "application/json"} if body is not None else {}
    request: dict[str, Any] = {"method": method, "url": url, "content": body, "headers": headers}
    tally = Tally()
    async with httpx.AsyncClient(limits=limits, timeout=REQUEST_TIMEOUT_S) as client:
        measure_from = time.perf_counter() + warmup
        stop_at = measure_from + duration
        workers = [
            worker(client, request, measure_from=measure_from, stop_at=stop_at, tally=tally)
            for _ in range(concurrency)
        ]
        # Each worker stops starting requests at `stop_at`; the last one may take a timeout.
        await asyncio.wait_for(
            asyncio.gather(*workers), timeout=warmup + duration + REQUEST_TIMEOUT_S + 5
        )
    latencies = sorted(tally.latencies)
    return {
        "url": url,
        "concurrency": concurrency,
        "duration_s": duration,
        "warmup_s": warmup,
        "requests": len(latencies),
        "errors": tally.errors,
        "rps": len(latencies) / duration,
        "p50_ms": percentile(latencies, 0.50) * 1000,
        "p99_ms": percentile(latencies, 0.99) * 1000,
        "first_error": tally.first_error,
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.load", description=__doc__)
    parser.add_argument("--url", required=True)
    parser.add_argument("--json", help="a JSON body to POST (default: GET without a body)")
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--duration", type=float, default=15.0, help="measured seconds")
    parser.add_argument("--warmup", type=float, default=3.0, help="unmeasured seconds first")
    args = parser.parse_args(argv)
    if args.concurrency < 1 or args.duration <= 0 or args.warmup < 0:
        parser.error("concurrency must be >= 1, duration > 0 and warmup >= 0")
    body = args.json.encode() if args.json is not None else None
    result = asyncio.run(
        run(
            url=args.url,
            method="POST" if body is not None else "GET",
            body=body,
            concurrency=args.concurrency,
            duration=args.duration,
            warmup=args.warmup,
        )
    )
    sys.stdout.write(orjson.dumps(result).decode() + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
