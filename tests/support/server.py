"""Real servers for black-box tests over TCP: `cartograph serve` in a subprocess, or uvicorn
serving an app in the test's own event loop (what websocket and Node clients need: ASGI
transports speak no websocket, and a subprocess costs a migration and a start-up)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import httpx
import uvicorn
from starlette.types import ASGIApp

CARTOGRAPH = Path(sys.executable).parent / "cartograph"
START_TIMEOUT = 5.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class RunningServer:
    base_url: str
    env: dict[str, str]
    process: subprocess.Popen[str] | None = None
    log_path: Path | None = None

    def log(self, last: int = 8000) -> str:
        """The end of what the server wrote to stderr (tracebacks of 500s among it)."""
        if self.log_path is None or not self.log_path.exists():
            return ""
        return self.log_path.read_text(errors="replace")[-last:]

    def cli(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(CARTOGRAPH), *args], env=self.env, capture_output=True, text=True, timeout=60
        )


@contextlib.contextmanager
def running_server(
    database_url: str, *, names_itself: bool = False, **settings: str
) -> Iterator[RunningServer]:
    """Serve `database_url`, which the test fixtures have migrated already, on a free port,
    and stop the server afterwards. (A `cartograph migrate` subprocess first found nothing to
    do and cost seconds per server; tests/test_cli.py runs that command.) `names_itself`:
    its links (CARTOGRAPH_PUBLIC_URL, e.g. media URLs) point at its own port."""
    with running_servers(database_url, {}, names_itself=names_itself, **settings) as [server]:
        yield server


@contextlib.contextmanager
def running_servers(
    database_url: str,
    *each: Mapping[str, str],
    names_itself: bool = False,
    serve_args: Sequence[tuple[str, ...]] = (),
    **settings: str,
) -> Iterator[list[RunningServer]]:
    """Servers of `database_url` (as `running_server`), one per mapping in `each` (its own
    settings on top of `settings`), each a `cartograph serve` on its own port, all started
    at once (a start is mostly imports) and stopped afterwards. `serve_args[i]` goes to the
    i-th server's command line (e.g. `("--workers", "2")`)."""
    with contextlib.ExitStack() as stack:
        servers = [
            stack.enter_context(
                _started(
                    database_url,
                    names_itself=names_itself,
                    serve_args=serve_args[n] if n < len(serve_args) else (),
                    **{**settings, **own},
                )
            )
            for n, own in enumerate(each)
        ]
        for server in servers:
            _until_healthy(server)
        yield servers


@contextlib.contextmanager
def _started(
    database_url: str, *, names_itself: bool, serve_args: tuple[str, ...], **settings: str
) -> Iterator[RunningServer]:
    port = free_port()
    if names_itself:
        settings = {"CARTOGRAPH_PUBLIC_URL": f"http://127.0.0.1:{port}", **settings}
    # Uploaded media of a test server go to a directory of their own, never the worktree's.
    settings.setdefault("CARTOGRAPH_MEDIA_DIR", tempfile.mkdtemp(prefix="cartograph-media-"))
    env = {**os.environ, "DATABASE_URL": database_url, **settings}
    server = RunningServer(base_url=f"http://127.0.0.1:{port}", env=env)
    # A file, not a pipe nobody reads: a chatty server would block on a full pipe.
    logs = tempfile.TemporaryDirectory(prefix="cartograph-server-")
    server.log_path = Path(logs.name) / "stderr.log"
    with server.log_path.open("w") as stderr:
        process = subprocess.Popen(
            [str(CARTOGRAPH), "serve", "--port", str(port), *serve_args],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=stderr,
            text=True,
        )
    server.process = process
    try:
        yield server
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
        logs.cleanup()


def _until_healthy(server: RunningServer) -> None:
    assert server.process is not None
    # Generous: a loaded two-core CI machine once took over 20 s to import and start.
    deadline = time.monotonic() + 60
    while True:
        with contextlib.suppress(httpx.TransportError):
            # 429: it serves, and the test's small rate limit counted the polls.
            if httpx.get(f"{server.base_url}/api/health", timeout=1).status_code in (200, 429):
                return
        if server.process.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"server did not start: {server.log()}")
        time.sleep(0.1)


@contextlib.asynccontextmanager
async def serving(app: ASGIApp) -> AsyncIterator[str]:
    """Serve `app` with uvicorn on a free port in this event loop; yield its http:// base URL.
    Every wait is bounded."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))  # the port is ours from here on: no race for a free one
    port = listener.getsockname()[1]
    config = uvicorn.Config(
        app,
        host="127.0.0.1",
        port=port,
        log_level="warning",
        log_config=None,  # leave the test run's logging configuration alone
        lifespan="off",
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve(sockets=[listener]))
    try:
        async with asyncio.timeout(START_TIMEOUT):
            while not server.started:
                if task.done():
                    task.result()  # raises whatever stopped the server from starting
                    raise RuntimeError("uvicorn stopped before it started")
                await asyncio.sleep(0.01)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        async with asyncio.timeout(START_TIMEOUT):
            await task
        listener.close()
