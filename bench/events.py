"""Events: how many a second go from commit to a webhook receiver and to a live subscriber,
and how long each waits on the way.

    .venv/bin/python -m bench.events --concurrency 8 --duration 15
    .venv/bin/python -m bench.events ... --record "label"    # and add a row to RESULTS.md

It starts a real `cartograph serve` (one uvicorn worker, dispatcher and jobs in-process, as
`make run` does) on a fresh PostgreSQL schema of its own (`cg_bench_events`, dropped again at
the end), with `CARTOGRAPH_WEBHOOK_ALLOW_PRIVATE=true` so that it may deliver to loopback.
Through the public API it makes a warehouse and one stocked product, registers a webhook
endpoint for `inventory.afterAdjust` that points at a receiver in this process (a plain HTTP
server on 127.0.0.1 that answers 204 and notes the `webhook-id`), and opens a
`graphql-transport-ws` subscription `events(types: ["inventory.afterAdjust"])` with the same
key. Then --concurrency writers adjust the product's stock by one unit, each as fast as it is
answered, for --duration seconds; every adjustment commits one event.

Counted for each path (webhook, subscription): events received (each once: a duplicate
`webhook-id` is counted apart), throughput (events received / seconds from the first commit
to the last receipt), and the delay from the event's commit (its `occurredAt`, stamped in the
committing transaction) to its receipt here: p50, p95, max. The writers, the receiver and the
subscriber share this process; the server, PostgreSQL and this process share the machine.
Not a test: pytest never collects bench/.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import re
import sys
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import orjson
import websockets

from bench.checkout import (
    DEFAULT_DATABASE_URL,
    cli,
    commit_id,
    loads,
    percentile,
    postgres_target,
    server_env,
    serving,
)
from bench.run import BenchError, free_port

RESULTS = Path(__file__).resolve().parent / "RESULTS.md"
SCHEMA = "cg_bench_events"
EVENT = "inventory.afterAdjust"
SKU = "BENCH-EVENTS"
# How long to wait, after the writers stop, for the last events to arrive.
DRAIN_TIMEOUT_S = 60.0
SECTION = "## Events: commit to webhook and to subscriber"


def now() -> float:
    return time.time()


def epoch(iso: str) -> float:
    return datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp()


@dataclass
class Seen:
    """What one delivery path saw: delay (seconds) per event id, and duplicates."""

    delays: dict[str, float] = field(default_factory=dict)
    received_at: list[float] = field(default_factory=list)
    duplicates: int = 0

    def note(self, event_id: str, occurred: float) -> None:
        at = now()
        if event_id in self.delays:
            self.duplicates += 1
            return
        self.delays[event_id] = at - occurred
        self.received_at.append(at)


class Receiver:
    """A minimal HTTP/1.1 server for webhook POSTs: keep-alive, Content-Length bodies, 204."""

    def __init__(self) -> None:
        self.seen = Seen()
        self.port = free_port()
        self.server: asyncio.Server | None = None

    async def start(self) -> None:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", self.port)

    async def stop(self) -> None:
        if self.server is not None:
            self.server.close()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                headers = dict(
                    line.split(":", 1)
                    for line in head.decode("latin-1").split("\r\n")[1:]
                    if ":" in line
                )
                headers = {k.strip().lower(): v.strip() for k, v in headers.items()}
                body = await reader.readexactly(int(headers.get("content-length", "0")))
                payload = orjson.loads(body)
                self.seen.note(headers["webhook-id"], epoch(payload["timestamp"]))
                writer.write(b"HTTP/1.1 204 No Content\r\nContent-Length: 0\r\n\r\n")
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()


async def subscribe(base_url: str, key: str, seen: Seen, ready: asyncio.Event) -> None:
    """`events(types: [EVENT])` over graphql-transport-ws until cancelled."""
    url = base_url.replace("http://", "ws://") + "/graphql"
    async with websockets.connect(url, subprotocols=["graphql-transport-ws"]) as socket:  # type: ignore[list-item]
        await socket.send(
            orjson.dumps({"type": "connection_init", "payload": {"x-api-key": key}}).decode()
        )
        ack = orjson.loads(await socket.recv())
        if ack.get("type") != "connection_ack":
            raise BenchError(f"the subscription was refused: {ack}")
        query = f'subscription {{ events(types: ["{EVENT}"]) {{ id occurredAt }} }}'
        await socket.send(
            orjson.dumps({"id": "1", "type": "subscribe", "payload": {"query": query}}).decode()
        )
        ready.set()
        async for raw in socket:
            message = orjson.loads(raw)
            if message.get("type") == "ping":
                await socket.send(orjson.dumps({"type": "pong"}).decode())
            elif message.get("type") == "next":
                event = message["payload"]["data"]["events"]
                seen.note(event["id"], epoch(event["occurredAt"]))
            elif message.get("type") in ("error", "complete"):
                raise BenchError(f"the subscription ended: {message}")


async def graphql(client: httpx.AsyncClient, query: str, variables: dict[str, Any]) -> Any:
    response = await client.post("/graphql", json={"query": query, "variables": variables})
    body = response.json()
    if response.status_code != 200 or body.get("errors"):
        raise BenchError(f"HTTP {response.status_code}: {response.text[:500]}")
    return body["data"]


async def prepare(client: httpx.AsyncClient, receiver_port: int) -> None:
    await graphql(
        client,
        'mutation { createWarehouse(input: {code: "EVT", name: "Events"}) { id } }',
        {},
    )
    made = await client.post(
        "/api/v1/products",
        json={"name": "Events bench", "sku": SKU, "price": 1, "currency": "USD",
              "stock": 1_000_000, "status": "active"},
    )  # fmt: skip
    if made.status_code != 201:
        raise BenchError(f"product: HTTP {made.status_code}: {made.text[:500]}")
    hook = await client.post(
        "/api/webhooks",
        json={"url": f"http://127.0.0.1:{receiver_port}/hook", "events": [EVENT]},
    )
    if hook.status_code != 201:
        raise BenchError(f"webhook: HTTP {hook.status_code}: {hook.text[:500]}")


@dataclass
class Drive:
    committed: int = 0
    failures: Counter[str] = field(default_factory=Counter)
    first_commit: float = 0.0
    last_commit: float = 0.0


async def drive(client: httpx.AsyncClient, concurrency: int, duration: float) -> Drive:
    tally = Drive(first_commit=now())
    deadline = time.monotonic() + duration
    mutation = (
        "mutation($s: String!) { adjustInventoryBySku(input: {sku: $s, adjustment: 1}) "
        "{ __typename } }"
    )

    async def writer() -> None:
        while time.monotonic() < deadline:
            answer = await client.post(
                "/graphql", json={"query": mutation, "variables": {"s": SKU}}
            )
            if answer.status_code == 200 and not answer.json().get("errors"):
                tally.committed += 1
                tally.last_commit = now()
            else:
                tally.failures[f"{answer.status_code} {answer.text[:80]}"] += 1

    await asyncio.gather(*(writer() for _ in range(concurrency)))
    return tally


@dataclass
class Result:
    commit: str
    concurrency: int
    duration: float
    drive: Drive
    webhook: Seen
    subscription: Seen
    load_before: str
    load_after: str

    def row(self, label: str, seen: Seen) -> str:
        delays = sorted(seen.delays.values())
        span = (max(seen.received_at) - self.drive.first_commit) if seen.received_at else 0
        rate = len(delays) / span if span else 0.0
        return (
            f"| {label} | {self.drive.committed} | {len(delays)} | {seen.duplicates} | "
            f"{rate:.0f} | {percentile(delays, 0.5) * 1000:.0f} | "
            f"{percentile(delays, 0.95) * 1000:.0f} | {(delays[-1] if delays else 0) * 1000:.0f} |"
        )

    def table(self) -> str:
        return "\n".join(
            [
                "| path | writes | received | duplicates | events/s | p50 ms | p95 ms | max ms |",
                "|---|---:|---:|---:|---:|---:|---:|---:|",
                self.row("webhook (receiver on 127.0.0.1)", self.webhook),
                self.row("subscription (`events`, websocket)", self.subscription),
            ]
        )

    def summary(self) -> str:
        writes = self.drive.committed / self.duration
        failures = dict(self.drive.failures) or "none"
        return (
            f"{self.table()}\n\n- commit {self.commit}; {self.concurrency} writers for "
            f"{self.duration:g} s ({writes:.0f} committed writes/s); write failures: {failures}\n"
            f"- load average before {self.load_before}, after {self.load_after}"
        )


async def measure(base_url: str, key: str, concurrency: int, duration: float) -> Result:
    receiver = Receiver()
    await receiver.start()
    subscription = Seen()
    ready = asyncio.Event()
    async with httpx.AsyncClient(
        base_url=base_url, headers={"x-api-key": key}, timeout=30, trust_env=False,
        limits=httpx.Limits(max_connections=concurrency + 4),
    ) as client:  # fmt: skip
        await prepare(client, receiver.port)
        listener = asyncio.create_task(subscribe(base_url, key, subscription, ready))
        await asyncio.wait_for(ready.wait(), 10)
        await asyncio.sleep(0.5)  # the subscription is registered server-side
        load_before = loads()
        tally = await drive(client, concurrency, duration)
        load_after = loads()
        deadline = time.monotonic() + DRAIN_TIMEOUT_S
        while time.monotonic() < deadline and (
            len(receiver.seen.delays) < tally.committed
            or len(subscription.delays) < tally.committed
        ):
            if listener.done():
                listener.result()
            await asyncio.sleep(0.1)
        listener.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await listener
    await receiver.stop()
    return Result(
        commit_id(), concurrency, duration, tally, receiver.seen, subscription,
        load_before, load_after,
    )  # fmt: skip


def record(result: Result, label: str) -> None:
    """Rewrite RESULTS.md's events section with this run."""
    text = RESULTS.read_text()
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    body = (
        f"{SECTION}\n\n```\n.venv/bin/python -m bench.events --concurrency "
        f"{result.concurrency} --duration {result.duration:g}\n```\n\n"
        f"{label}, {stamp}; PostgreSQL, one `cartograph serve` (dispatcher and jobs "
        f"in-process), the writers, receiver and subscriber in one bench process.\n\n"
        f"{result.summary()}\n"
    )
    if SECTION in text:
        head, rest = text.split(SECTION, 1)
        after = rest.split("\n## ", 1)
        text = head + body + ("\n## " + after[1] if len(after) > 1 else "")
    else:
        text = text.rstrip("\n") + "\n\n" + body
    RESULTS.write_text(text)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench.events", description=__doc__.split("\n")[0])
    parser.add_argument("--database-url", default=DEFAULT_DATABASE_URL)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--duration", type=float, default=15.0)
    parser.add_argument("--record", default=None, help="a label: write the run to RESULTS.md")
    args = parser.parse_args(argv)
    if not 1 <= args.concurrency <= 100 or not 0 < args.duration <= 600:
        parser.error("--concurrency in [1, 100], --duration in (0, 600]")
    if args.record is not None and not re.fullmatch(r"[\w .()+-]{1,40}", args.record):
        parser.error("--record takes a short label")
    target = postgres_target(args.database_url, SCHEMA)
    try:
        env = {**server_env(target.url, 0), "CARTOGRAPH_WEBHOOK_ALLOW_PRIVATE": "true"}
        cli(env, "migrate")
        key = cli(env, "apikey", "create", "--name", "bench", "--permissions", "*:*")
        key = key.strip().splitlines()[-1]
        with serving(env) as server:
            result = asyncio.run(measure(server.base_url, key, args.concurrency, args.duration))
    except BenchError as error:
        print(f"bench: {error}", file=sys.stderr)
        return 2
    finally:
        if target.cleanup is not None:
            target.cleanup()
    print(result.summary())
    if args.record is not None:
        record(result, args.record)
    return 0


if __name__ == "__main__":
    sys.exit(main())
