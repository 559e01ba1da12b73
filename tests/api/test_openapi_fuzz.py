"""Schemathesis drives a real server, seeded with the demo shop, with generated input: every
documented REST operation (examples, coverage, fuzzing, and the stateful phase that follows
the document's links from what a call creates to its routes) and every GraphQL root field
(fuzzing and stateful). No answer may be a 500, nor carry a GraphQL `INTERNAL_ERROR`; every
REST answer must match its documented status codes, content type and schema; and every route
or root field that names a resource must have been answered for one that exists, not only
with its 404 (`tests/support/fuzz.py` says how the ids get there).

Each run uses the fixed seed `tests.support.fuzz.SEED`: a failure prints schemathesis'
report (each failing case with a `curl` line to replay it) and the server's log."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

import graphql
import httpx
import pytest

from app.db import Database
from app.rest.routes import ROUTES
from app.services.demo import seed_demo
from tests.support import fuzz
from tests.support.factories import make_api_key
from tests.support.server import running_server

# No rate limit nor query-cost budget in the fuzzer's way, and no access log (tracebacks
# are logged as errors).
SERVER = {
    "CARTOGRAPH_RATE_LIMIT": "1000000/minute",
    "CARTOGRAPH_AUTH_FAILURE_LIMIT": "1000000/minute",
    "CARTOGRAPH_GRAPHQL_COST_BUDGET": "0",
    "CARTOGRAPH_LOG_LEVEL": "WARNING",
    # The fuzzer's webhook endpoints point at a closed local port (tests/support/fuzz.py):
    # deliveries fail at once and reach no one outside.
    "CARTOGRAPH_WEBHOOK_ALLOW_PRIVATE": "true",
    "CARTOGRAPH_WEBHOOK_TIMEOUT_SECONDS": "1",
}
# Cases per operation (fuzzing) and stateful scenarios: both tests take ~90 s on 2 cores.
REST_EXAMPLES, REST_SCENARIOS = 5, 20
GRAPHQL_EXAMPLES, GRAPHQL_SCENARIOS = 6, 10
# ...and for the root fields whose input checks more than the id they name (`updateCustomer`).
GRAPHQL_UPDATE_EXAMPLES = 30
REST_CHECKS = (
    "not_a_server_error,status_code_conformance,content_type_conformance,"
    "response_schema_conformance,record_answers"
)
# Schemathesis' own `not_a_server_error` takes every coded GraphQL error for a server error.
GRAPHQL_CHECKS = "no_internal_error,record_answers"

Rows = list[dict[str, Any]]
# The session headers of the /api/me operations' customer, by server (made with the ids).
SESSIONS: dict[str, dict[str, str]] = {}
Configure = Callable[[str, str, dict[str, list[str]]], str]


async def _fuzz(
    database: Database, tmp_path: Path, location: str, configure: Configure, args: list[str]
) -> Rows:
    """Seed the shop, serve it, write the config `configure(base_url, key, ids)` makes, run
    schemathesis at `location` and return what the recorder saw. Fails on any failure, or if
    the fuzzer's key no longer works at the end (a run of 401s would pass every check)."""
    await seed_demo(database, products=fuzz.PRODUCTS)
    await fuzz.failed_jobs(database)
    row, key = await make_api_key(database, name="fuzzer")
    with running_server(database.url, **SERVER) as server:
        ids = await fuzz.known_ids(server.base_url, key)
        session, ids["my_addresses"] = await fuzz.customer_session(
            database, server.base_url, ids["orders"]
        )
        SESSIONS[server.base_url] = session
        ids.update(await fuzz.aftercare(database, ids))
        config = tmp_path / "schemathesis.toml"
        config.write_text(configure(server.base_url, key, ids))
        answers = tmp_path / "answers.json"
        result = fuzz.run(
            config,
            f"{server.base_url}{location}",
            key,
            key_id=str(row.id),
            answers=answers,
            args=args,
        )
        log = server.log()
        assert result.returncode == 0, result.stdout[-10000:] + result.stderr[-2000:] + log
        async with httpx.AsyncClient(base_url=server.base_url) as http:
            still = await http.get("/api/v1/api-keys", headers={"x-api-key": key})
        assert still.status_code == 200, still.text
    return fuzz.answers(answers)


def _rest_config(base_url: str, key: str, ids: dict[str, list[str]]) -> str:
    document = httpx.get(f"{base_url}/api/doc").json()
    return fuzz.config(
        ids,
        fuzz.rest_parameters(),
        fuzz.rest_operations(document, SESSIONS[base_url]),
        examples=REST_EXAMPLES,
        scenarios=REST_SCENARIOS,
    )


def _found(status: int) -> bool:
    """An answer about a resource that exists: done, redirected to it (302, a media file), or
    refused for its state (409). A 404 did not find it, and a 400/422 may have refused the
    input before looking."""
    return 200 <= status < 300 or status in (302, 409)


@pytest.mark.one_backend
async def test_rest_operations_on_existing_data_never_answer_500_or_off_schema(
    database: Database, tmp_path: Path
) -> None:
    rows = await _fuzz(
        database,
        tmp_path,
        "/api/doc",
        _rest_config,
        ["--checks", REST_CHECKS, "--phases", "examples,coverage,fuzzing,stateful"],
    )

    statuses: dict[str, set[int]] = defaultdict(set)
    for row in rows:
        statuses[row["operation"]].add(row["status"])
    naming = {f"{r.method} {r.path}" for r in ROUTES if r.path_params}
    assert len(naming) > 40
    missed = {
        op: sorted(statuses[op]) for op in sorted(naming) if not any(map(_found, statuses[op]))
    }
    assert not missed, f"never answered for an existing resource: {missed}"
    # The stateful phase ran, and its links led from created resources to their routes.
    chained = {r["operation"] for r in rows if r["phase"] == "stateful" and _found(r["status"])}
    assert chained & naming, sorted(chained)


@pytest.mark.one_backend
async def test_graphql_fields_on_existing_data_never_answer_an_internal_error(
    database: Database, tmp_path: Path
) -> None:
    schemas: list[graphql.GraphQLSchema] = []

    def configure(base_url: str, key: str, ids: dict[str, list[str]]) -> str:
        introspection = httpx.post(
            f"{base_url}/graphql",
            json={"query": graphql.get_introspection_query()},
            headers={"x-api-key": key},
        ).json()
        schemas.append(graphql.build_client_schema(introspection["data"]))
        return fuzz.config(
            ids,
            fuzz.graphql_parameters(schemas[0]),
            fuzz.graphql_operations(schemas[0], GRAPHQL_UPDATE_EXAMPLES, SESSIONS[base_url]),
            examples=GRAPHQL_EXAMPLES,
            scenarios=GRAPHQL_SCENARIOS,
        )

    rows = await _fuzz(database, tmp_path, "/graphql", configure, ["--checks", GRAPHQL_CHECKS])

    codes: dict[str, set[str | None]] = defaultdict(set)
    for row in rows:
        codes[row["operation"]].add(row["code"])
    naming = fuzz.graphql_fields_naming_one(schemas[0])
    assert len(naming) > 20
    # Answered without an error, or refused for the resource's state.
    missed = {op: codes[op] for op in sorted(naming) if not codes[op] & {None, "CONFLICT"}}
    assert not missed, f"never answered for an existing resource: {missed}"
    assert any(row["phase"] == "stateful" for row in rows)
