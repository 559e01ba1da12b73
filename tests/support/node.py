"""Node for the tests that run JS clients from `tests/js` (the graphql-http audit, GraphiQL's
websocket client, GraphiQL's page in Chromium). `make test` installs `tests/js` first (`npm
ci`); `.ci/run` installs Debian's Chromium. Without Node, those packages or Chromium, such a
test is skipped with the reason, except under `CI=true`, where any of them is an error: CI
must run them.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any, NoReturn

import pytest

JS_DIR = Path(__file__).resolve().parents[1] / "js"
NODE_TIMEOUT = 60.0
# Debian's Chromium (`apt-get install chromium`), which playwright-core drives: playwright's
# own browser download is not used.
CHROMIUM = Path("/usr/bin/chromium")


def missing(reason: str) -> NoReturn:
    """Skip a test whose tool is missing; under `CI=true`, fail it."""
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"CI must run the Node clients of tests/js: {reason}")
    pytest.skip(reason)


def node_for(package: str) -> str:
    """The `node` executable, once `package` is installed in tests/js; else skip (or fail)."""
    node = shutil.which("node")
    if node is None:
        missing("node is not installed (Node 20+ runs the tests/js clients)")
    if not (JS_DIR / "node_modules" / package).is_dir():
        missing(f"{package} is not installed in tests/js: run `make test` (or `npm ci` there)")
    return node


def chromium() -> str:
    """Debian's Chromium; else skip (or fail under CI)."""
    if not CHROMIUM.is_file():
        missing(f"Chromium is not installed at {CHROMIUM} (`apt-get install chromium`)")
    return str(CHROMIUM)


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


class NodeSession:
    """A running `node SCRIPT` in tests/js that answers each JSON line on its stdin with one
    JSON line on its stdout."""

    def __init__(self, process: asyncio.subprocess.Process, stderr: Any) -> None:
        self.process = process
        self.stderr = stderr

    def errors(self) -> str:
        self.stderr.seek(0)
        return self.stderr.read().decode(errors="replace")[-4000:]

    async def read(self, within: float) -> dict[str, Any]:
        """The next line it prints, within `within` seconds."""
        assert self.process.stdout is not None
        async with asyncio.timeout(within):
            line = await self.process.stdout.readline()
        assert line, f"node exited ({self.process.returncode}) without answering: {self.errors()}"
        return json.loads(line)

    async def ask(self, message: dict[str, Any], within: float) -> dict[str, Any]:
        assert self.process.stdin is not None
        self.process.stdin.write(json.dumps(message).encode() + b"\n")
        await self.process.stdin.drain()
        return await self.read(within)


@contextlib.asynccontextmanager
async def node_session(node: str, *args: str) -> AsyncIterator[NodeSession]:
    """Start `node ARGS` in tests/js; on the way out close its stdin (it exits), and end it if
    it has not exited within a few seconds."""
    with tempfile.TemporaryFile() as stderr:  # a file: a full pipe nobody reads would block it
        process = await asyncio.create_subprocess_exec(
            node,
            *args,
            cwd=JS_DIR,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=stderr,
            limit=1 << 20,
        )
        try:
            yield NodeSession(process, stderr)
        finally:
            assert process.stdin is not None
            process.stdin.close()
            try:
                async with asyncio.timeout(10):
                    await process.wait()
            except TimeoutError:
                process.kill()
                await process.wait()
