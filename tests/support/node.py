"""Node for the tests that run JS clients from `tests/js` (the graphql-http audit, GraphiQL's
websocket client). `make test` installs `tests/js` first (`npm ci`). Without Node, or without
those packages, such a test is skipped with the reason, except under `CI=true`, where either
is an error: CI must run them.
"""

from __future__ import annotations

import asyncio
import os
import shutil
from pathlib import Path

import pytest

JS_DIR = Path(__file__).resolve().parents[1] / "js"
NODE_TIMEOUT = 60.0


def node_for(package: str) -> str:
    """The `node` executable, once `package` is installed in tests/js; else skip (or fail)."""
    node = shutil.which("node")
    if node is None:
        missing = "node is not installed (Node 20+ runs the tests/js clients)"
    elif not (JS_DIR / "node_modules" / package).is_dir():
        missing = f"{package} is not installed in tests/js: run `make test` (or `npm ci` there)"
    else:
        return node
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"CI must run the Node clients of tests/js: {missing}")
    pytest.skip(missing)


async def run_node(node: str, *args: str) -> str:
    """Run `node ARGS` in tests/js (bounded); its stdout, once it has exited 0."""
    process = await asyncio.create_subprocess_exec(
        node,
        *args,
        cwd=JS_DIR,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        async with asyncio.timeout(NODE_TIMEOUT):
            stdout, stderr = await process.communicate()
    except TimeoutError:
        process.kill()
        await process.wait()
        raise
    assert process.returncode == 0, stderr.decode()
    return stdout.decode()
