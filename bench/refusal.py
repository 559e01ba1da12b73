"""How fast the query-cost analysis refuses the two amplification requests of issue 10.

An attacker's probe once ran 30 aliases of `inventoryCheck` over 12,000 ids for 31 s (61 MB
answered) and 30 aliases of `catalogEntities(limit: 100)` with relations for 3.9 s. Both are
now refused before any statement runs (`tests/api/test_cost.py` asserts zero statements);
this measures how long the refusal takes, in-process on a fresh SQLite file (the database is
never reached), from the request's bytes to the response's.

    .venv/bin/python -m bench.refusal --rounds 50
    .venv/bin/python -m bench.refusal --rounds 50 --record   # and add a section to RESULTS.md
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
import uuid
from pathlib import Path

import httpx
import orjson

from app.config import Settings
from app.main import create_app
from app.migrations import upgrade

RESULTS = Path(__file__).with_name("RESULTS.md")


def aliased(count: int, field: str) -> str:
    return " ".join(f"a{i}: {field}" for i in range(count))


INVENTORY = (
    "query Amplify($ids: [ID!]!) { "
    + aliased(30, "inventoryCheck(entityIds: $ids) { sku availableQuantity warehouses { sku } }")
    + " }"
)
CATALOG = (
    "{ "
    + aliased(
        30,
        "catalogEntities(limit: 100) { items { slug variants { sku optionValues { value } } "
        "categories { slug } brands { name } inventory { sku quantity } } }",
    )
    + " }"
)


async def measure(url: str, rounds: int) -> dict[str, dict[str, float]]:
    settings = Settings(database_url=url, rate_limit="1000000/minute", log_level="WARNING")
    app = create_app(settings)
    bodies = {
        "inventoryCheck x30 over 12,000 ids": orjson.dumps(
            {
                "query": INVENTORY,
                "variables": {"ids": [str(uuid.uuid4()) for _ in range(12_000)]},
            }
        ),
        "catalogEntities(limit: 100) x30 with relations": orjson.dumps({"query": CATALOG}),
    }
    results: dict[str, dict[str, float]] = {}
    transport = httpx.ASGITransport(app=app)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=transport, base_url="http://bench") as client,
    ):
        for name, body in bodies.items():
            timings: list[float] = []
            for _ in range(rounds):
                started = time.perf_counter()
                response = await client.post(
                    "/graphql",
                    content=body,
                    headers={
                        "content-type": "application/json",
                        "accept": "application/graphql-response+json",
                    },
                )
                timings.append((time.perf_counter() - started) * 1000)
                assert response.status_code == 400, response.text[:300]
                assert "data" not in response.json()
            timings.sort()
            results[name] = {
                "request KB": len(body) / 1024,
                "response bytes": float(len(response.content)),
                "median ms": statistics.median(timings),
                "p95 ms": timings[int(len(timings) * 0.95) - 1],
                "max ms": timings[-1],
            }
    return results


def table(results: dict[str, dict[str, float]], rounds: int) -> str:
    lines = [
        f"## Cost refusals ({time.strftime('%Y-%m-%d')}, `python -m bench.refusal --rounds "
        f"{rounds}`)",
        "",
        "In-process, SQLite (never reached: zero statements). Before the cost analysis the "
        "first ran 31 s and answered 61 MB, the second 3.9 s.",
        "",
        "| request | request KB | response bytes | median ms | p95 ms | max ms |",
        "|---|---|---|---|---|---|",
    ]
    for name, row in results.items():
        lines.append(
            f"| {name} | {row['request KB']:.0f} | {row['response bytes']:.0f} | "
            f"{row['median ms']:.1f} | {row['p95 ms']:.1f} | {row['max ms']:.1f} |"
        )
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=50)
    parser.add_argument("--record", action="store_true", help="append the table to RESULTS.md")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite+aiosqlite:///{folder}/refusal.db"
        upgrade(url)
        results = asyncio.run(measure(url, args.rounds))
    text = table(results, args.rounds)
    print(text)
    if args.record:
        RESULTS.write_text(RESULTS.read_text().rstrip("\n") + "\n\n" + text)


if __name__ == "__main__":
    main()
