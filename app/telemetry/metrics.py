"""`/metrics` in Prometheus's text format (prometheus_client).

Per request (the telemetry middleware calls `Metrics.observe`): a counter and a latency
histogram labelled by method, route template (`/api/products/{id}`, never the raw path;
`(unmatched)` for a path no route serves), GraphQL operation name (`(anonymous)` for an
unnamed one; at most `MAX_OPERATIONS` names per process, then `(other)`, so clients cannot
grow the label set without bound) and status class (`2xx`).

At scrape time, never per request: the engine's pool (checked out, size, overflow) and, in
one read session of two statements on indexed columns, the outbox backlog (undispatched
events and the age of the oldest), the job queue by queue and state, and the webhook
endpoints failing now. Beside them, a counter of failed webhook delivery attempts, counted by
the process that made them (`webhook_attempt`).

Several worker processes (`cartograph serve --workers N`) share one listening socket, so a
scrape reaches one of them at random: `serve` then runs prometheus_client's multiprocess
mode (`PROMETHEUS_MULTIPROC_DIR`, a directory every worker writes its samples to) and any
worker answers for all. The pool gauges are then kept by pool events in each process and
summed over the live ones.
"""

from __future__ import annotations

import hmac
import logging
import os
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from prometheus_client.registry import Collector
from sqlalchemy import event, func, select
from sqlalchemy.pool import Pool
from starlette.requests import Request
from starlette.responses import Response

from app.db import Database
from app.models.audit import Event
from app.models.base import utcnow
from app.models.jobs import Job
from app.models.webhooks import WebhookEndpoint

log = logging.getLogger("app.telemetry")

MULTIPROCESS_ENV = "PROMETHEUS_MULTIPROC_DIR"
MAX_OPERATIONS = 200
# A GraphQL name (the parser enforces it on documents; `operationName` is the client's word).
OPERATION_NAME = re.compile(r"^[_A-Za-z][_0-9A-Za-z]{0,99}$")
ANONYMOUS = "(anonymous)"
OTHER = "(other)"
UNMATCHED = "(unmatched)"
# Seconds: the storefront answers in tens of milliseconds; checkout waits on a provider.
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
# The job states worth watching: succeeded jobs are history (and pruned).
JOB_STATES = ("pending", "running", "failed")


def multiprocess_dir() -> str | None:
    return os.environ.get(MULTIPROCESS_ENV) or None


def status_class(status: int) -> str:
    return f"{status // 100}xx"


@dataclass
class Snapshot:
    """What the last scrape read from the database."""

    up: bool = False
    outbox_pending: int = 0
    outbox_oldest_seconds: float = 0.0
    jobs: dict[tuple[str, str], int] = field(default_factory=dict)
    webhook_endpoints_failing: int = 0


async def read_snapshot(database: Database, now: datetime | None = None) -> Snapshot:
    """Two statements in one short read session, each part on an index: the outbox backlog
    and the failing endpoints together (`events` by `dispatched_at`, `webhook_endpoints` by
    `status`), then the job queue grouped (`jobs` by `status`)."""
    now = now or utcnow()
    undispatched = Event.dispatched_at.is_(None)
    async with database.read_session() as session:
        backlog = (
            await session.execute(
                select(
                    select(func.count()).where(undispatched).scalar_subquery(),
                    select(func.min(Event.occurred_at)).where(undispatched).scalar_subquery(),
                    select(func.count())
                    .where(
                        WebhookEndpoint.status == "active",
                        WebhookEndpoint.failing_since.is_not(None),
                    )
                    .scalar_subquery(),
                )
            )
        ).one()
        jobs = (
            await session.execute(
                select(Job.queue, Job.status, func.count())
                .where(Job.status.in_(JOB_STATES))
                .group_by(Job.queue, Job.status)
            )
        ).all()
    oldest: datetime | None = backlog[1]
    if oldest is not None and oldest.tzinfo is None:
        oldest = oldest.replace(tzinfo=now.tzinfo)  # an aggregate skips the column's type
    return Snapshot(
        up=True,
        outbox_pending=int(backlog[0]),
        outbox_oldest_seconds=(
            max(0.0, (now - oldest).total_seconds()) if oldest is not None else 0.0
        ),
        jobs={(queue, status): int(count) for queue, status, count in jobs},
        webhook_endpoints_failing=int(backlog[2] or 0),
    )


class DatabaseCollector(Collector):
    """Yields the last snapshot (the scrape handler refreshes it first) and, in a single
    process, the pool as it is now."""

    def __init__(self, pool: Pool | None) -> None:
        self.pool = pool
        self.snapshot = Snapshot()

    def collect(self) -> Iterable[Metric]:
        snapshot = self.snapshot
        yield _gauge(
            "cartograph_database_up",
            "1 when the scrape's database reads worked.",
            1.0 if snapshot.up else 0.0,
        )
        if self.pool is not None:
            yield from pool_families(self.pool)
        if not snapshot.up:
            return
        yield _gauge(
            "cartograph_outbox_pending_events",
            "Committed events not yet dispatched (webhooks, live subscriptions).",
            snapshot.outbox_pending,
        )
        yield _gauge(
            "cartograph_outbox_oldest_pending_seconds",
            "Age of the oldest undispatched event (0 when none waits).",
            snapshot.outbox_oldest_seconds,
        )
        jobs = GaugeMetricFamily(
            "cartograph_jobs", "Jobs in the queue by queue and state.", labels=["queue", "state"]
        )
        for (queue, state), count in sorted(snapshot.jobs.items()):
            jobs.add_metric([queue, state], count)
        yield jobs
        yield _gauge(
            "cartograph_webhook_endpoints_failing",
            "Active webhook endpoints whose deliveries fail since their last success.",
            snapshot.webhook_endpoints_failing,
        )


def _gauge(name: str, documentation: str, value: float) -> Metric:
    family = GaugeMetricFamily(name, documentation)
    family.add_metric([], value)
    return family


def pool_state(pool: Pool) -> tuple[float, float, float] | None:
    """(checked out, size, overflow) of a queue pool; None for a pool without them."""
    checkedout = getattr(pool, "checkedout", None)
    size = getattr(pool, "size", None)
    overflow = getattr(pool, "overflow", None)
    if not (callable(checkedout) and callable(size) and callable(overflow)):
        return None
    # `overflow()` counts from -size: connections opened past the pool's size are above 0.
    return float(checkedout()), float(size()), float(max(0, overflow()))


POOL_HELP = {
    "checked_out": "Database connections in use now.",
    "size": "Connections the pool keeps.",
    "overflow": "Connections open past the pool's size (at most its max_overflow).",
}


def pool_families(pool: Pool) -> Iterator[Metric]:
    state = pool_state(pool)
    if state is None:
        return
    for (name, documentation), value in zip(POOL_HELP.items(), state, strict=True):
        family = GaugeMetricFamily(f"cartograph_db_pool_{name}", documentation)
        family.add_metric([], value)
        yield family


class PoolGauges:
    """Multiprocess mode: each process keeps its pool's numbers in livesum gauges (files),
    updated on every checkout and checkin; a scrape sums the live processes."""

    def __init__(self, pool: Pool) -> None:
        self.pool = pool
        self.gauges = {
            name: Gauge(
                f"cartograph_db_pool_{name}",
                documentation,
                registry=None,
                multiprocess_mode="livesum",
            )
            for name, documentation in POOL_HELP.items()
        }
        self.update()
        event.listen(pool, "checkout", self._on_change)
        event.listen(pool, "checkin", self._on_change)

    def _on_change(self, *_: Any) -> None:
        self.update()

    def update(self) -> None:
        state = pool_state(self.pool)
        if state is not None:
            for gauge, value in zip(self.gauges.values(), state, strict=True):
                gauge.set(value)


# Failed webhook attempts are counted where they happen (`app.webhooks.delivery`), which
# knows nothing of any app: each app's metrics listen here.
_WEBHOOK_LISTENERS: list[Callable[[str], None]] = []


def webhook_attempt_failed(outcome: str) -> None:
    """A delivery attempt failed: `retrying` (another follows) or `failed` (the last)."""
    for listener in _WEBHOOK_LISTENERS:
        listener(outcome)


class Metrics:
    """One app's metrics: the registry a scrape reads, and the request counters."""

    def __init__(self, database: Database, *, token: str | None = None) -> None:
        self.database = database
        self.token = token
        self.multiprocess = multiprocess_dir() is not None
        self.registry = CollectorRegistry(auto_describe=True)
        # In multiprocess mode the samples live in files, read back by the collector.
        owner = None if self.multiprocess else self.registry
        if self.multiprocess:
            from prometheus_client import multiprocess

            # prometheus_client's multiprocess module has no annotations.
            multiprocess.MultiProcessCollector(self.registry)  # type: ignore[no-untyped-call]
        pool = database.engine.sync_engine.pool
        self.pool_gauges = PoolGauges(pool) if self.multiprocess else None
        self.collector = DatabaseCollector(None if self.multiprocess else pool)
        self.registry.register(self.collector)
        labels = ["method", "route", "operation", "status"]
        self.requests = Counter(
            "cartograph_http_requests",
            "HTTP requests answered, by route template, GraphQL operation and status class.",
            labels,
            registry=owner,
        )
        self.latency = Histogram(
            "cartograph_http_request_duration_seconds",
            "Time to answer an HTTP request, by route template, GraphQL operation and status "
            "class.",
            labels,
            registry=owner,
            buckets=LATENCY_BUCKETS,
        )
        self.webhook_failures = Counter(
            "cartograph_webhook_delivery_failures",
            "Webhook delivery attempts that failed, by what follows (retrying or failed).",
            ["outcome"],
            registry=owner,
        )
        self._children: dict[tuple[str, str, str, str], tuple[Any, Any]] = {}
        self._operations: set[str] = set()
        _WEBHOOK_LISTENERS.append(self._webhook_failed)

    def close(self) -> None:
        if self._webhook_failed in _WEBHOOK_LISTENERS:
            _WEBHOOK_LISTENERS.remove(self._webhook_failed)
        if self.multiprocess:
            from prometheus_client import multiprocess

            # Removes this process's live gauges (prometheus_client: no annotations).
            multiprocess.mark_process_dead(os.getpid())  # type: ignore[no-untyped-call]

    def _webhook_failed(self, outcome: str) -> None:
        self.webhook_failures.labels(outcome).inc()

    def operation_label(self, name: str | None) -> str:
        """A GraphQL operation's label: its name while fewer than MAX_OPERATIONS names have
        been seen (and it is a GraphQL name of at most 100 characters), `(other)` past that,
        `(anonymous)` for an unnamed operation."""
        if not name:
            return ANONYMOUS
        if name in self._operations:
            return name
        if len(self._operations) >= MAX_OPERATIONS or not OPERATION_NAME.match(name):
            return OTHER
        self._operations.add(name)
        return name

    def observe(self, method: str, route: str, operation: str, status: int, seconds: float) -> None:
        key = (method, route, operation, status_class(status))
        children = self._children.get(key)
        if children is None:
            children = (self.requests.labels(*key), self.latency.labels(*key))
            self._children[key] = children
        children[0].inc()
        children[1].observe(seconds)

    def authorized(self, request: Request) -> bool:
        if self.token is None:
            return True
        scheme, _, credential = request.headers.get("authorization", "").partition(" ")
        return scheme.lower() == "bearer" and hmac.compare_digest(
            credential.strip().encode(), self.token.encode()
        )

    async def scrape(self, request: Request) -> Response:
        if not self.authorized(request):
            return Response(
                "A bearer token (CARTOGRAPH_METRICS_TOKEN) is required.\n",
                status_code=401,
                media_type="text/plain",
                headers={"WWW-Authenticate": 'Bearer realm="metrics"'},
            )
        try:
            self.collector.snapshot = await read_snapshot(self.database)
        except Exception:
            log.warning("metrics: reading the database failed", exc_info=True)
            self.collector.snapshot = Snapshot(up=False)
        return Response(generate_latest(self.registry), media_type=CONTENT_TYPE_LATEST)
