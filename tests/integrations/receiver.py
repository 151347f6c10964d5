"""A real webhook receiver on loopback, for the webhook tests and bench/webhooks.

A threaded HTTP/1.1 server (keep-alive, one thread per connection) on 127.0.0.1 and a port of its
own (or one given, so a bench can start it late on the address the endpoint already has). It
records every request (headers, body) and counts them per `webhook-id`; it answers 200 unless
told otherwise: `answer(500, times=3)` queues answers for the next requests, `headers=` adds
headers to them (Retry-After, Location), `delay=` holds one (timeouts).

No pytest here: the bench imports it too. `verify(request, secret)` checks a request with the
reference `standardwebhooks` library, never with the project's signing code."""

from __future__ import annotations

import contextlib
import json
import socket
import threading
import time
from collections import Counter, deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    headers: dict[str, str]  # names in lower case
    body: bytes
    received_at: float

    @property
    def json(self):
        return json.loads(self.body)

    @property
    def webhook_id(self) -> str:
        return self.headers.get("webhook-id", "")


@dataclass(frozen=True)
class Answer:
    status: int = 200
    body: str = "ok"
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0


def free_port() -> int:
    with contextlib.closing(socket.socket(socket.AF_INET, socket.SOCK_STREAM)) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class WebhookReceiver:
    host = "127.0.0.1"

    def __init__(self, port: int = 0, *, keep_bodies: bool = True):
        self._lock = threading.Lock()
        self._requests: list[Request] = []
        self._answers: deque[Answer] = deque()
        self.per_id: Counter = Counter()
        self.total = 0
        self.last_at = 0.0
        self.keep_bodies = keep_bodies
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # Headers and body are two writes: with Nagle's algorithm on, the second waits for the
            # client's delayed ACK (40 ms a request on Linux).
            disable_nagle_algorithm = True

            def do_POST(self):  # noqa: N802 - http.server's hook name
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                headers = {name.lower(): value for name, value in self.headers.items()}
                with receiver._lock:
                    request = Request(self.command, self.path, headers, body if receiver.keep_bodies else b"",
                                      time.perf_counter())
                    receiver._requests.append(request)
                    answer = receiver._answers.popleft() if receiver._answers else Answer()
                    if 200 <= answer.status < 300:
                        receiver.per_id[request.webhook_id] += 1
                    receiver.total += 1
                    receiver.last_at = request.received_at
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

            def log_message(self, format, *args):  # noqa: A002 - http.server's signature
                pass

        self._server = ThreadingHTTPServer((self.host, port), Handler)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, name="webhook-receiver", daemon=True)

    def start(self) -> WebhookReceiver:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def url(self, path: str = "/hook") -> str:
        return f"http://{self.host}:{self.port}{path}"

    def answer(self, status: int, body: str = "", *, headers: dict[str, str] | None = None, times: int = 1,
               delay: float = 0.0) -> None:
        with self._lock:
            for _ in range(times):
                self._answers.append(Answer(status, body, dict(headers or {}), delay))

    @property
    def requests(self) -> list[Request]:
        with self._lock:
            return list(self._requests)

    def wait_for(self, count: int, timeout: float = 30.0) -> list[Request]:
        deadline = time.monotonic() + timeout
        while len(self.requests) < count:
            if time.monotonic() > deadline:
                raise AssertionError(f"{len(self.requests)} requests arrived, expected {count} within {timeout} s")
            time.sleep(0.02)
        return self.requests


def verify(request: Request, secret: str) -> dict:
    """The payload if the request is signed with `secret` (the reference library's check:
    webhook-id, webhook-timestamp within 5 minutes, any one of the signatures); raises otherwise."""
    from standardwebhooks.webhooks import Webhook

    return Webhook(secret).verify(request.body, request.headers)
