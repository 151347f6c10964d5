"""The channels' senders: who actually delivers a batch of claimed Delivery rows.

A sender takes the rows the engine (notifications.delivery) claimed for its channel and answers
one Outcome per row id. Senders register themselves with `register_sender(channel)`; the module
that defines one is imported by notifications.handlers when the app is ready.

A sender that delivers one message at a time (e-mail) should `report()` each outcome as soon as
the other side accepted the message: the engine then marks those rows sent at once (its own
commit), so a worker killed later in the batch does not send them again. What it returns at the
end must still hold every row's outcome (reported ones included); a sender that never reports
(a chat webhook: one post per batch) is recorded when it returns.
"""

import contextlib
import contextvars
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


# --- Early outcomes ------------------------------------------------------------------------------

_reporter: contextvars.ContextVar[Callable[[dict[int, Outcome]], None] | None] = contextvars.ContextVar(
    "notifications_outcome_reporter", default=None)


@contextlib.contextmanager
def reporting(callback: Callable[[dict[int, Outcome]], None]) -> Iterator[None]:
    """The engine's side: while a sender runs, `report()` hands outcomes to `callback`."""
    token = _reporter.set(callback)
    try:
        yield
    finally:
        _reporter.reset(token)


def report(outcomes: dict[int, Outcome]) -> None:
    """The sender's side: these rows are settled now (no-op outside the engine, e.g. a direct call)."""
    if outcomes and (callback := _reporter.get()) is not None:
        callback(outcomes)
