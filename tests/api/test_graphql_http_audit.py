"""The GraphQL-over-HTTP spec's own audit (npm `graphql-http`, `auditServer`) against a live
server: every MUST and SHOULD passes (MAYs are reported, not required).

`tests/js/audit.mjs` runs it with Node; `tests/support/node.py` says when it is skipped.
"""

from __future__ import annotations

import json

from starlette.applications import Starlette

from tests.support.node import node_for, run_node
from tests.support.server import serving


async def test_graphql_http_audit_passes_every_must_and_should(app: Starlette) -> None:
    node = node_for("graphql-http")
    async with serving(app) as base_url:
        output = await run_node(node, "audit.mjs", f"{base_url}/graphql")

    results = [json.loads(line) for line in output.splitlines()]
    required = [r for r in results if r["name"].startswith(("MUST", "SHOULD"))]
    failed = [f"{r['id']} {r['name']}: {r['reason']}" for r in required if r["status"] != "ok"]
    assert len(required) >= 30  # it ran in full: graphql-http 1.23.1 has 13 MUSTs, 23 SHOULDs
    assert failed == []
