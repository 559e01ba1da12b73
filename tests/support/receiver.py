"""A real HTTP receiver for webhook tests: a threaded http.server on 127.0.0.1 that answers
from a script and keeps every request it got (headers and raw body)."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass(frozen=True)
class Reply:
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b"ok"
    # Seconds to wait before answering (a slow receiver).
    delay: float = 0.0


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Receiver:
    url: str
    # Answers in order; the last one repeats. (A short poll interval: shutting down waits for it.)
    replies: list[Reply] = field(default_factory=lambda: [Reply()])
    received: list[Received] = field(default_factory=list)

    def next_reply(self) -> Reply:
        return self.replies.pop(0) if len(self.replies) > 1 else self.replies[0]


@contextlib.contextmanager
def receiving(*replies: Reply) -> Iterator[Receiver]:
    """A receiver answering `replies` in turn (the last repeats; default 200 "ok")."""
    receiver = Receiver(url="", replies=list(replies) or [Reply()])

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("content-length", 0))
            body = self.rfile.read(length)
            receiver.received.append(
                Received(path=self.path, headers=dict(self.headers.items()), body=body)
            )
            reply = receiver.next_reply()
            time.sleep(reply.delay)
            # A client that gave up waiting (a timeout test) is not the receiver's failure.
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                self.send_response(reply.status)
                for name, value in reply.headers.items():
                    self.send_header(name, value)
                self.send_header("content-length", str(len(reply.body)))
                self.end_headers()
                self.wfile.write(reply.body)

        def log_message(self, format: str, *args: object) -> None:
            """Quiet: the test asserts what arrived."""

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    receiver.url = f"http://127.0.0.1:{server.server_port}/hooks"
    thread = threading.Thread(target=server.serve_forever, args=(0.01,), daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        server.shutdown()
        server.server_close()
