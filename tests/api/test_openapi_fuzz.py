"""Schemathesis drives every documented REST operation of a real server with generated
input: no answer may be a 500, and every answer must match its documented status codes,
content type and schema."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.support.server import running_server

SCHEMATHESIS = Path(sys.executable).parent / "schemathesis"


def test_no_documented_operation_answers_500_or_off_schema(database_url: str) -> None:
    with running_server(database_url, CARTOGRAPH_RATE_LIMIT="1000000/minute") as server:
        created = server.cli("apikey", "create", "--name", "fuzzer", "--permissions", "*:*")
        key = created.stdout.strip().splitlines()[-1]
        assert key.startswith("ck_"), created.stderr
        result = subprocess.run(
            [
                str(SCHEMATHESIS),
                "run",
                f"{server.base_url}/api/doc",
                "-H",
                f"x-api-key: {key}",
                "--checks",
                "not_a_server_error,status_code_conformance,"
                "content_type_conformance,response_schema_conformance",
                "--phases",
                "examples,coverage,fuzzing",
                "--max-examples",
                "15",
                "--seed",
                "20261122",
                "--no-color",
            ],
            capture_output=True,
            text=True,
            timeout=420,
        )
        server_log = server.log()
    assert result.returncode == 0, result.stdout[-6000:] + server_log
