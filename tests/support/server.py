"""A real `cartograph serve` in a subprocess, for black-box tests over TCP."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx

CARTOGRAPH = Path(sys.executable).parent / "cartograph"


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
def running_server(database_url: str, **settings: str) -> Iterator[RunningServer]:
    """Migrate `database_url`, serve it on a free port, and stop the server afterwards."""
    env = {**os.environ, "DATABASE_URL": database_url, **settings}
    port = free_port()
    server = RunningServer(base_url=f"http://127.0.0.1:{port}", env=env)
    migrated = server.cli("migrate")
    assert migrated.returncode == 0, migrated.stderr
    # A file, not a pipe nobody reads: a chatty server would block on a full pipe.
    logs = tempfile.TemporaryDirectory(prefix="cartograph-server-")
    server.log_path = Path(logs.name) / "stderr.log"
    with server.log_path.open("w") as stderr:
        process = subprocess.Popen(
            [str(CARTOGRAPH), "serve", "--port", str(port)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=stderr,
            text=True,
        )
    server.process = process
    try:
        deadline = time.monotonic() + 20
        while True:
            with contextlib.suppress(httpx.TransportError):
                if httpx.get(f"{server.base_url}/api/health", timeout=1).status_code == 200:
                    break
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"server did not start: {server.log()}")
            time.sleep(0.1)
        yield server
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
        logs.cleanup()
