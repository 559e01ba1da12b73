"""Search and suggest latency at scale, on PostgreSQL (issue 13: p95 under 30 ms for search
and 10 ms for suggest at concurrency 8, 100,000 catalog entities).

    .venv/bin/python -m bench.search --products 100000 --concurrency 8 --duration 15

    # seed once into a database of its own, then measure again and again:
    createdb -h 127.0.0.1 -U postgres bench_search
    .venv/bin/python -m bench.search --reuse \
        --database-url postgresql+psycopg://postgres@127.0.0.1:5432/bench_search

A fresh schema (`cg_bench_search`, dropped at the end unless --keep) is migrated and seeded
with the demo catalog (no orders); then --concurrency tasks call the search service
(`app.services.search`, the code both the REST route and GraphQL run, without HTTP) in a
loop for --duration seconds: `search` with one or two words taken from the catalog's own
titles and facets type and brand, anonymous; `suggest` with a word's first four letters.
Latency is measured per call, from the session's opening to the answer.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import random
import statistics
import time
from collections.abc import Sequence
from typing import Any

from sqlalchemy import func, select, text

from app.auth.actor import ANONYMOUS
from app.db import Database
from app.migrations import upgrade
from app.models.search import SearchDocument
from app.pagination import PageRequest
from app.services import search as service
from app.services.demo import seed_demo
from bench.checkout import DEFAULT_DATABASE_URL, postgres_target


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


async def words_of(database: Database) -> list[str]:
    async with database.read_session() as session:
        titles = list(await session.scalars(select(SearchDocument.title).limit(2000)))
    return sorted({word.lower() for title in titles for word in title.split() if len(word) > 3})


async def measure(
    database: Database, words: list[str], *, kind: str, concurrency: int, duration: float
) -> list[float]:
    timings: list[float] = []
    stop = time.perf_counter() + duration

    async def worker(seed: int) -> None:
        rng = random.Random(seed)
        while time.perf_counter() < stop:
            started = time.perf_counter()
            async with database.read_session() as session:
                if kind == "search":
                    q = " ".join(rng.sample(words, rng.choice((1, 2))))
                    await service.search(
                        session, ANONYMOUS, q=q, type=None, category=None, brand=None,
                        status=None, facets=("type", "brand"), page=PageRequest(),
                    )  # fmt: skip
                else:
                    prefix = rng.choice(words)[:4]
                    await service.suggest(session, ANONYMOUS, prefix=prefix, type=None, limit=10)
            timings.append((time.perf_counter() - started) * 1000)

    await asyncio.gather(*(worker(i) for i in range(concurrency)))
    return timings


async def seeded(database: Database) -> int:
    async with database.read_session() as session:
        return int(await session.scalar(select(func.count()).select_from(SearchDocument)) or 0)


# What a search reads. The bench's server runs with autovacuum off (the test server's
# setting), so the bench does what autovacuum would soon after a bulk load: the seed's
# ANALYZE alone leaves the visibility map unset (every index-only probe visits the heap)
# and the GIN index's pending list unmerged (every match scans it).
VACUUMED = (
    "search_documents", "search_title_words", "entity_brands", "entity_categories",
    "brands", "categories",
)  # fmt: skip


async def vacuum(database: Database) -> None:
    async with database.engine.connect() as connection:
        autocommit = await connection.execution_options(isolation_level="AUTOCOMMIT")
        for name in VACUUMED:
            await autocommit.execute(text(f"VACUUM (ANALYZE) {name}"))


async def _worker_process(
    url: str, words: list[str], kind: str, tasks: int, duration: float, barrier: Any
) -> list[float]:
    database = Database(url, pool_size=tasks)
    try:
        await measure(database, words, kind=kind, concurrency=tasks, duration=2)
        await asyncio.to_thread(barrier.wait)
        return await measure(database, words, kind=kind, concurrency=tasks, duration=duration)
    finally:
        await database.dispose()


def worker_process(
    url: str, words: list[str], kind: str, tasks: int, duration: float, barrier: Any, out: Any
) -> None:
    """One of --processes: its share of the concurrent callers, in its own event loop."""
    out.put(asyncio.run(_worker_process(url, words, kind, tasks, duration, barrier)))


def measure_in_processes(
    url: str, words: list[str], *, kind: str, concurrency: int, processes: int, duration: float
) -> list[float]:
    """`concurrency` callers spread over `processes` processes, as a server's workers
    spread requests: one Python process runs one call's Python code at a time, so with
    every caller in one process the bench's own interpreter queues them."""
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(processes)
    out = context.Queue()
    shares = [concurrency // processes + (i < concurrency % processes) for i in range(processes)]
    children = [
        context.Process(
            target=worker_process, args=(url, words, kind, share, duration, barrier, out)
        )
        for share in shares
    ]
    for child in children:
        child.start()
    timings = [timing for _ in children for timing in out.get()]
    for child in children:
        child.join()
    return timings


async def run(args: argparse.Namespace, url: str) -> None:
    database = Database(url, pool_size=args.concurrency)
    try:
        if args.reuse and await seeded(database) >= args.products:
            print(f"reusing the {await seeded(database)} documents already seeded")
        else:
            started = time.perf_counter()
            await seed_demo(database, products=args.products, orders=False)
            print(f"seeded {args.products} products in {time.perf_counter() - started:.0f} s")
        started = time.perf_counter()
        await vacuum(database)
        print(f"vacuumed in {time.perf_counter() - started:.0f} s")
        words = await words_of(database)
        for kind in ("search", "suggest"):
            if args.processes > 1:
                timings = await asyncio.to_thread(
                    measure_in_processes, url, words, kind=kind,
                    concurrency=args.concurrency, processes=args.processes,
                    duration=args.duration,
                )  # fmt: skip
            else:
                await measure(database, words, kind=kind, concurrency=args.concurrency, duration=2)
                timings = await measure(
                    database, words, kind=kind, concurrency=args.concurrency,
                    duration=args.duration,
                )  # fmt: skip
            print(
                f"{kind}: {len(timings)} calls in {args.processes} process(es), "
                f"p50 {statistics.median(timings):.1f} ms, "
                f"p95 {percentile(timings, 0.95):.1f} ms, max {max(timings):.1f} ms"
            )
    finally:
        await database.dispose()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default=DEFAULT_DATABASE_URL)
    parser.add_argument("--products", type=int, default=100_000)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--duration", type=float, default=15.0)
    parser.add_argument(
        "--processes",
        type=int,
        default=1,
        help="spread the concurrent callers over this many processes (a server's workers)",
    )
    parser.add_argument("--keep", action="store_true", help="keep the schema afterwards")
    parser.add_argument(
        "--reuse",
        action="store_true",
        help="keep the schema and what an earlier run seeded (migrated to head); implies --keep",
    )
    args = parser.parse_args(argv)
    target = postgres_target(args.database_url, "cg_bench_search", fresh=not args.reuse)
    try:
        upgrade(target.url)
        asyncio.run(run(args, target.url))
    finally:
        if target.cleanup and not (args.keep or args.reuse):
            target.cleanup()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
