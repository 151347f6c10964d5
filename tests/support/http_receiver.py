"""A local HTTP server that stands in for Slack's and Teams' incoming webhooks (a plugin of
tests/conftest.py: the `http_receiver` fixture).

It listens on 127.0.0.1 (a free port, one thread per request), records every request (method,
path, headers, body, the body parsed as JSON when it is JSON) and answers 200 "ok" unless told
otherwise: `answer(429, headers={"Retry-After": "30"})` queues one answer (the next request gets
it), `answer(..., times=3)` several; `delay=` holds an answer that long (for timeouts).
`refused_url()` is an address on which nothing listens (connection refused).
"""

import contextlib
import json
import socket
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

WAIT_TIMEOUT = 30  # seconds for the expected number of requests to arrive
POLL = 0.05


@dataclass(frozen=True)
class Received:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    @property
    def json(self):
        """The body parsed as JSON (fails the test if it isn't JSON)."""
        try:
            return json.loads(self.body)
        except ValueError:
            pytest.fail(f"The request body is not JSON: {self.body[:200]!r}", pytrace=False)


@dataclass(frozen=True)
class Answer:
    status: int = 200
    body: str = "ok"
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0


class HttpReceiver:
    """A running receiver on 127.0.0.1 and what it received."""

    host = "127.0.0.1"

    def __init__(self):
        self._lock = threading.Lock()
        self._received: list[Received] = []
        self._answers: deque[Answer] = deque()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _handle(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                with receiver._lock:
                    receiver._received.append(Received(self.command, self.path, dict(self.headers.items()), body))
                    answer = receiver._answers.popleft() if receiver._answers else Answer()
                if answer.delay:
                    time.sleep(answer.delay)
                payload = answer.body.encode()
                try:
                    self.send_response(answer.status)
                    for name, value in answer.headers.items():
                        self.send_header(name, value)
                    self.send_header("Content-Type", "text/plain; charset=utf-8")
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                except OSError:
                    pass  # the client gave up (a timeout test)

            do_POST = do_GET = do_PUT = _handle  # noqa: N815 - http.server's hook names

            def log_message(self, format, *args):  # noqa: A002 - http.server's signature
                pass  # quiet: a test's output is about the code under test

        self._server = ThreadingHTTPServer((self.host, 0), Handler)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, name="http-receiver", daemon=True)

    def start(self) -> "HttpReceiver":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def url(self, path: str = "/hook") -> str:
        return f"http://{self.host}:{self.port}{path}"

    # --- What it answers -----------------------------------------------------------------------

    def answer(self, status: int, body: str = "", *, headers: dict[str, str] | None = None, times: int = 1,
               delay: float = 0.0) -> None:
        """The next `times` requests get this answer (queued after answers told before)."""
        with self._lock:
            for _ in range(times):
                self._answers.append(Answer(status, body, dict(headers or {}), delay))

    # --- What it received ----------------------------------------------------------------------

    @property
    def received(self) -> list[Received]:
        with self._lock:
            return list(self._received)

    def clear(self) -> None:
        with self._lock:
            self._received.clear()

    def wait_for(self, count: int, timeout: float = WAIT_TIMEOUT) -> list[Received]:
        deadline = time.monotonic() + timeout
        while len(self.received) < count:
            if time.monotonic() > deadline:
                pytest.fail(f"{len(self.received)} requests arrived, expected {count} within {timeout} s",
                            pytrace=False)
            time.sleep(POLL)
        return self.received


def refused_url(path: str = "/hook") -> str:
    """An http://127.0.0.1 address nobody listens on: a POST to it is refused at once."""
    with contextlib.closing(socket.socket(socket.AF_INET, socket.SOCK_STREAM)) as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}{path}"


@pytest.fixture
def http_receiver(settings):
    """A webhook receiver on loopback; the site may post to loopback addresses meanwhile."""
    settings.NOTIFY_WEBHOOK_ALLOW_LOOPBACK = True
    receiver = HttpReceiver().start()
    try:
        yield receiver
    finally:
        receiver.stop()
