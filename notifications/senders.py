"""The channels' senders: who actually delivers a batch of claimed Delivery rows.

A sender takes the rows the engine (notifications.delivery) claimed for its channel and answers
one Outcome per row id. Senders register themselves with `register_sender(channel)`; the module
that defines one is imported by notifications.handlers when the app is ready.

A sender that delivers one message at a time (e-mail) should `report()` each outcome as soon as
the other side accepted the message: the engine then marks those rows sent at once (its own
commit), so a worker killed later in the batch does not send them again. What it returns at the
end must still hold every row's outcome (reported ones included); a sender that never reports
(a chat webhook: one post per batch) is recorded when it returns. Before each message a sender
checks `time_left()` (the rows' lease): a message not started in time is left for a retry.
"""

import contextlib
import contextvars
import math
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from .models import Delivery


@dataclass(frozen=True)
class Outcome:
    """sent=True: done. retry_after: a temporary failure, try again after that many seconds.
    Neither (error set): a permanent refusal, the row is failed."""

    sent: bool
    retry_after: float | None = None
    error: str = ""

    @classmethod
    def ok(cls) -> "Outcome":
        return cls(sent=True)

    @classmethod
    def retry(cls, seconds: float, error: str) -> "Outcome":
        return cls(sent=False, retry_after=max(0.0, float(seconds)), error=error)

    @classmethod
    def refused(cls, error: str) -> "Outcome":
        return cls(sent=False, error=error or "refused")


Sender = Callable[[list[Delivery]], dict[int, Outcome]]

SENDERS: dict[str, Sender] = {}


def register_sender(channel: str) -> Callable[[Sender], Sender]:
    """`@register_sender(DeliveryChannel.SLACK)` over `def send(deliveries) -> {delivery.pk: Outcome}`."""

    def decorator(func: Sender) -> Sender:
        SENDERS[str(channel)] = func
        return func

    return decorator


# --- Early outcomes and the lease ------------------------------------------------------------------

@dataclass(frozen=True)
class _Engine:
    report: Callable[[dict[int, Outcome]], None]
    deadline: float  # time.monotonic() at which the rows' lease runs out


_engine: contextvars.ContextVar[_Engine | None] = contextvars.ContextVar("notifications_engine", default=None)


@contextlib.contextmanager
def reporting(callback: Callable[[dict[int, Outcome]], None], *, deadline: float = math.inf) -> Iterator[None]:
    """The engine's side: while a sender runs, `report()` hands outcomes to `callback`, and
    `time_left()` counts down to `deadline` (time.monotonic()), when the claim's lease ends."""
    token = _engine.set(_Engine(callback, deadline))
    try:
        yield
    finally:
        _engine.reset(token)


def report(outcomes: dict[int, Outcome]) -> None:
    """The sender's side: these rows are settled now (no-op outside the engine, e.g. a direct call)."""
    if outcomes and (engine := _engine.get()) is not None:
        engine.report(outcomes)


def time_left() -> float:
    """Seconds until the lease on the rows being sent runs out (inf outside the engine). A sender
    must not start a message it may not finish before then: after it, another worker may take
    the same rows and send them too."""
    engine = _engine.get()
    return math.inf if engine is None else engine.deadline - time.monotonic()
