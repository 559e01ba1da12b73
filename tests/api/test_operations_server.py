"""`cartograph serve --workers 2` with metrics and JSON logs: any worker a scrape reaches
answers for both (prometheus_client's multiprocess mode), and every line the server writes
is one JSON object, the access lines with their request id."""

from __future__ import annotations

import contextlib
import os
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import orjson
import pytest
from prometheus_client.parser import text_string_to_metric_families

from app.config import Settings
from app.db import Database
from tests.support.server import CARTOGRAPH, free_port

pytestmark = pytest.mark.one_backend
PRODUCT_ROUTE = "/api/v1/products/{id}"


@contextlib.contextmanager
def two_workers(database_url: str, log_path: Path) -> Iterator[str]:
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "CARTOGRAPH_METRICS": "true",
        "CARTOGRAPH_LOG_FORMAT": "json",
        "CARTOGRAPH_MEDIA_DIR": tempfile.mkdtemp(prefix="cartograph-media-"),
        "CARTOGRAPH_RATE_LIMIT": "100000/minute",
    }
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    with log_path.open("w") as stderr:
        process = subprocess.Popen(
            [str(CARTOGRAPH), "serve", "--port", str(port), "--workers", "2"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=stderr,
            text=True,
        )
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()


def scrape(base_url: str) -> dict[str, dict[frozenset[tuple[str, str]], float]]:
    # A connection of its own each time: the kernel hands it to either worker.
    response = httpx.get(f"{base_url}/metrics", timeout=5)
    assert response.status_code == 200, response.text
    found: dict[str, dict[frozenset[tuple[str, str]], float]] = {}
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            found.setdefault(sample.name, {})[frozenset(sample.labels.items())] = sample.value
    return found


def test_two_workers_answer_one_scrape_for_both_and_log_json(
    database: Database, tmp_path: Path
) -> None:
    log_path = tmp_path / "stderr.log"
    # Each worker's pool: the setting's size on PostgreSQL, SQLAlchemy's default 5 on SQLite.
    pool_size = 5 if database.is_sqlite else Settings().db_pool_size
    with two_workers(database.url, log_path) as base_url:
        # Both workers up: each adds its pool to the summed pool size.
        deadline = time.monotonic() + 60
        while True:
            with contextlib.suppress(httpx.TransportError, AssertionError):
                pools = scrape(base_url)["cartograph_db_pool_size"][frozenset()]
                if pools == 2 * pool_size:
                    break
            assert time.monotonic() < deadline, log_path.read_text()[-3000:]
            time.sleep(0.2)
        marked = "req-json-line-1"
        with httpx.Client(base_url=base_url, timeout=5) as client:
            for n in range(30):
                headers = {"x-request-id": marked} if n == 0 else {}
                response = client.get(f"/api/v1/products/{uuid.uuid4()}", headers=headers)
                assert response.status_code == 404
        for _ in range(4):
            counted = scrape(base_url)["cartograph_http_requests_total"]
            labels = {"method": "GET", "route": PRODUCT_ROUTE, "operation": "", "status": "4xx"}
            assert counted[frozenset(labels.items())] == 30

    lines = [line for line in log_path.read_text().splitlines() if line.strip()]
    records = [orjson.loads(line) for line in lines]  # every line is one JSON object
    assert all({"time", "level", "logger", "message"} <= record.keys() for record in records)
    assert all(record["time"].endswith("Z") for record in records)
    (access,) = [r for r in records if r.get("request_id") == marked]
    assert access["logger"] == "app.access" and access["level"] == "INFO"
    assert access["method"] == "GET" and access["status"] == 404
    assert access["route"] == PRODUCT_ROUTE and access["path"].startswith("/api/v1/products/")
    assert access["duration_ms"] > 0 and access["ip_address"] == "127.0.0.1"
    assert access["actor_type"] == "anonymous"
    # uvicorn's own lines come through the same formatter.
    assert any(r["logger"].startswith("uvicorn") for r in records)
