"""In-process timing of the storefront listing through each GraphQL executor.

    .venv/bin/python -m bench.execution [--products 100] [--iterations 200]

On a temporary SQLite file seeded with the demo catalog (no orders), the storefront query of
`bench.run` runs through graphql-core's executor (`CARTOGRAPH_GRAPHQL_COMPILED=false`) and
the compiled one (`app/resolvers/compiled.py`), each timed two ways:

- `execute`: `schema.execute` as the view calls it (parse and validation caches warm, the
  SQL on SQLite included);
- `completion`: the same operation with the root field's answer replayed from memory, so
  that only execution is timed: the resolvers below the root (which answer from what the
  root prefetched) and the completion of every field.

It prints the median and the minimum of each (the minimum is the better guide on a busy
machine) and checks that both executors answer the same JSON. Nothing is written.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import orjson
from graphql import MiddlewareManager, execute, parse
from strawberry.execution.is_awaitable import optimized_is_awaitable

from app.db import Database
from app.migrations import upgrade
from app.resolvers.context import Context
from app.resolvers.schema import build_schema
from app.services.demo import seed_demo
from bench.run import STOREFRONT_QUERY


def timed(run: Callable[[], Any], iterations: int) -> tuple[float, float]:
    """Median and minimum in milliseconds, after a tenth as many unmeasured runs."""
    for _ in range(max(1, iterations // 10)):
        run()
    times = []
    for _ in range(iterations):
        start = time.perf_counter()
        run()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times), min(times)


async def measure(database: Database, compiled: bool, iterations: int) -> dict[str, Any]:
    schema = build_schema(compiled=compiled)
    context = Context(database=database)

    async def full() -> Any:
        return await schema.execute(STOREFRONT_QUERY, context_value=context)

    answer = await full()
    assert not answer.errors, answer.errors
    times = []
    for index in range(iterations + iterations // 10):
        start = time.perf_counter()
        await full()
        if index >= iterations // 10:
            times.append((time.perf_counter() - start) * 1000)

    # Replay the root field's answer (the page, its relations prefetched) from memory.
    field = schema._schema.query_type.fields["catalogEntities"]  # type: ignore[union-attr]
    resolve = field.resolve
    kept: list[Any] = []

    async def keep(*args: Any, **kwargs: Any) -> Any:
        value = resolve(*args, **kwargs)  # type: ignore[misc]
        value = await value if optimized_is_awaitable(value) else value
        kept.append(value)
        return value

    field.resolve = keep
    try:
        await full()
        field.resolve = lambda *_args, **_kwargs: kept[0]
        document = parse(STOREFRONT_QUERY)

        def completion() -> Any:
            return execute(
                schema._schema,
                document,
                context_value=context,
                middleware=MiddlewareManager(),
                is_awaitable=optimized_is_awaitable,
                executor_class=schema.execution_context_class,
                operation_extensions=None,
            )

        replayed = completion()
        assert replayed.data == answer.data and not replayed.errors
        median, least = timed(completion, iterations)
    finally:
        field.resolve = resolve
    return {
        "answer": orjson.dumps(answer.data),
        "execute": (statistics.median(times), min(times)),
        "completion": (median, least),
    }


async def both(url: str, products: int, iterations: int) -> tuple[dict[str, Any], ...]:
    database = Database(url)
    try:
        await seed_demo(database, products=products, orders=False)
        return (
            await measure(database, False, iterations),
            await measure(database, True, iterations),
        )
    finally:
        await database.dispose()


def run(products: int, iterations: int) -> None:
    with tempfile.TemporaryDirectory() as directory:
        url = f"sqlite+aiosqlite:///{Path(directory) / 'bench.db'}"
        upgrade(url)
        stock, mine = asyncio.run(both(url, products, iterations))
    assert stock["answer"] == mine["answer"], "the executors answered differently"
    print(f"storefront listing, {products} products seeded, {iterations} runs each (ms)")
    print(f"{'':12} {'graphql-core':>22} {'compiled':>22} {'speed-up':>9}")
    for what in ("execute", "completion"):
        (median_a, least_a), (median_b, least_b) = stock[what], mine[what]
        print(
            f"{what:12} {median_a:9.3f} (min {least_a:6.3f}) {median_b:9.3f} "
            f"(min {least_b:6.3f}) {least_a / least_b:8.2f}x"
        )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.execution", description=__doc__)
    parser.add_argument("--products", type=int, default=100, help="demo products to seed")
    parser.add_argument("--iterations", type=int, default=200, help="timed runs of each")
    args = parser.parse_args(argv)
    if not 20 <= args.products <= 10_000 or not 1 <= args.iterations <= 100_000:
        parser.error("--products must be in [20, 10000] and --iterations in [1, 100000]")
    run(args.products, args.iterations)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
