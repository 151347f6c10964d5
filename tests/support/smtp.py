"""A real SMTP server on loopback (aiosmtpd) that e-mail tests deliver to (a plugin of
tests/conftest.py: the `smtp_server` fixture).

`smtp_server` starts an aiosmtpd Controller on 127.0.0.1 (a free port), points this process's
Django at it (EMAIL_BACKEND smtp, EMAIL_HOST/PORT, no TLS) and keeps every message that arrived,
parsed with email.message_from_bytes (policy.default: headers unfolded and decoded).
`SmtpServer.worker_env()` is the environment a Celery worker started by a test
(tests.support.workers.start_worker(**env)) needs to send there too.
"""

import asyncio
import contextlib
import email
import email.policy
import socket
import threading
import time
from dataclasses import dataclass, field
from email.message import Message

import pytest

WAIT_TIMEOUT = 30  # seconds for the expected number of messages to arrive
POLL = 0.05


@dataclass
class Arrival:
    """One message as the server accepted it: the envelope and the parsed message."""

    mail_from: str
    rcpt_tos: list[str]
    message: Message
    raw: bytes

    def body(self, subtype: str = "plain") -> str:
        """The decoded text/<subtype> part ("plain" or "html"), "" if there is none."""
        for part in self.message.walk():
            if part.get_content_type() == f"text/{subtype}":
                payload = part.get_payload(decode=True) or b""
                return payload.decode(part.get_content_charset() or "utf-8", errors="replace")
        return ""


@dataclass
class _Handler:
    """aiosmtpd handler: keeps what arrives; `refuse_next` answers the next N DATA with
    `refusal` (a 4xx: temporary; a 5xx: permanent) instead."""

    arrivals: list[Arrival] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    refuse_next: int = 0
    refusal: str = "451 4.3.0 Try again later"
    # Drills: the `stall_at`-th recipient (counting from 1) is not answered until `release` is set,
    # so a sender is caught in the middle of an SMTP transaction, before its message is accepted.
    recipients_seen: int = 0
    stall_at: int = 0
    stalled: threading.Event = field(default_factory=threading.Event)
    release: threading.Event = field(default_factory=threading.Event)

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: N802 - aiosmtpd's hook
        with self.lock:
            self.recipients_seen += 1
            stall = self.recipients_seen == self.stall_at
        if stall:
            self.stalled.set()
            while not self.release.is_set():
                await asyncio.sleep(0.01)
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's hook name
        with self.lock:
            if self.refuse_next > 0:
                self.refuse_next -= 1
                return self.refusal
            raw = envelope.original_content or envelope.content
            if isinstance(raw, str):
                raw = raw.encode()
            self.arrivals.append(Arrival(envelope.mail_from, list(envelope.rcpt_tos),
                                         email.message_from_bytes(raw, policy=email.policy.default), raw))
        return "250 Message accepted for delivery"


def free_port() -> int:
    with contextlib.closing(socket.socket(socket.AF_INET, socket.SOCK_STREAM)) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class SmtpServer:
    """A running aiosmtpd server on 127.0.0.1 and what arrived at it."""

    host = "127.0.0.1"

    def __init__(self):
        from aiosmtpd.controller import Controller

        self._handler = _Handler()
        self.port = free_port()
        # data_size_limit None: batches of large HTML mails must not be refused for size.
        self._controller = Controller(self._handler, hostname=self.host, port=self.port, data_size_limit=None)

    def start(self) -> "SmtpServer":
        self._controller.start()
        return self

    def stop(self) -> None:
        self.release()
        with contextlib.suppress(Exception):
            self._controller.stop()

    # --- What arrived --------------------------------------------------------------------------

    @property
    def arrivals(self) -> list[Arrival]:
        with self._handler.lock:
            return list(self._handler.arrivals)

    @property
    def messages(self) -> list[Message]:
        return [arrival.message for arrival in self.arrivals]

    def to(self, address: str) -> list[Arrival]:
        """What arrived for one recipient (envelope), in order."""
        address = address.lower()
        return [a for a in self.arrivals if address in (r.lower() for r in a.rcpt_tos)]

    def recipients(self) -> list[str]:
        """Every envelope recipient of every arrival (a recipient twice means two e-mails)."""
        return [r.lower() for a in self.arrivals for r in a.rcpt_tos]

    def clear(self) -> None:
        with self._handler.lock:
            self._handler.arrivals.clear()

    def refuse_next(self, count: int, reply: str = "451 4.3.0 Try again later") -> None:
        """Answer the next `count` messages with `reply` (451: a temporary failure; 550: permanent)."""
        with self._handler.lock:
            self._handler.refuse_next, self._handler.refusal = count, reply

    def stall_at_recipient(self, number: int) -> None:
        """Leave the `number`-th recipient (from now, counting from 1) unanswered until `release()`:
        the sender is then stuck mid-transaction, its message not accepted."""
        with self._handler.lock:
            self._handler.stall_at = self._handler.recipients_seen + number
            self._handler.stalled.clear()
            self._handler.release.clear()

    def wait_stalled(self, timeout: float = WAIT_TIMEOUT) -> None:
        if not self._handler.stalled.wait(timeout):
            pytest.fail(f"No sender reached the stalled recipient within {timeout} s "
                        f"({len(self.arrivals)} e-mails arrived)", pytrace=False)

    def release(self) -> None:
        self._handler.release.set()

    def wait_for(self, count: int, timeout: float = WAIT_TIMEOUT) -> list[Arrival]:
        """Wait until at least `count` messages arrived; all arrivals (fails the test on timeout)."""
        deadline = time.monotonic() + timeout
        while len(self.arrivals) < count:
            if time.monotonic() > deadline:
                pytest.fail(f"{len(self.arrivals)} e-mails arrived, expected {count} within {timeout} s",
                            pytrace=False)
            time.sleep(POLL)
        return self.arrivals

    def settle(self, quiet: float = 0.5, timeout: float = WAIT_TIMEOUT) -> list[Arrival]:
        """Wait until nothing new arrived for `quiet` seconds (to see that no extra e-mail comes)."""
        deadline = time.monotonic() + timeout
        seen, since = len(self.arrivals), time.monotonic()
        while time.monotonic() - since < quiet and time.monotonic() < deadline:
            time.sleep(POLL)
            if (now_seen := len(self.arrivals)) != seen:
                seen, since = now_seen, time.monotonic()
        return self.arrivals

    # --- Who sends here ------------------------------------------------------------------------

    def django_settings(self) -> dict:
        return {
            "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "EMAIL_HOST": self.host,
            "EMAIL_PORT": self.port,
            "EMAIL_HOST_USER": "",
            "EMAIL_HOST_PASSWORD": "",
            "EMAIL_USE_TLS": False,
            "EMAIL_USE_SSL": False,
            "EMAIL_TIMEOUT": 10,
        }

    def worker_env(self) -> dict[str, str]:
        """The environment a worker process needs to deliver here (config/settings.py reads it)."""
        return {"EMAIL_HOST": self.host, "EMAIL_PORT": str(self.port), "EMAIL_USE_TLS": "0",
                "EMAIL_HOST_USER": "", "EMAIL_HOST_PASSWORD": ""}


@pytest.fixture
def smtp_server(settings):
    """A real SMTP server on loopback, with this process's Django sending to it."""
    server = SmtpServer().start()
    for name, value in server.django_settings().items():
        setattr(settings, name, value)
    try:
        yield server
    finally:
        server.stop()
