"""Durable click capture: the one write the redirect makes before its 302 leaves.

Two ways, chosen by CLICK_CAPTURE:

* ``db``: one INSERT into tracking_rawclick, committed before the answer. If the
  database refuses (down, locked), the click goes to the spool instead, so the visitor
  still gets the redirect and the click is still kept.
* ``spool``: the click is appended as one line to this process's spool file (one
  write(2) to a file opened O_APPEND) before the answer; a thread of the same process
  moves the spool into tracking_rawclick every CLICK_SPOOL_DRAIN_SECONDS.

The spool's durability promise: a click whose 302 was sent is in the kernel's hands
before the 302 is written, so it survives the web process being killed (the next
process on the machine drains spools whose owner is gone — each live spool is held
under flock), the broker being down (not involved) and the database being down (the
spool keeps growing and is drained once it is back). It can be lost only if the machine
itself crashes or loses power before the kernel writes the page out and the drain has
run (about CLICK_SPOOL_DRAIN_SECONDS); CLICK_SPOOL_FSYNC=1 closes that window at the
cost of an fsync per click. A spool whose owner died between its drain's commit and the
file's deletion is drained again without the clicks the database already has, so none is
recorded twice.
"""

import atexit
import fcntl
import logging
import os
import socket
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import NamedTuple

from django.conf import settings
from django.db import DatabaseError, close_old_connections, connection, transaction

log = logging.getLogger(__name__)

INSERT_SQL = (
    "INSERT INTO tracking_rawclick (click_id, organization_id, link_id, clicked_at, visitor_id, ip_hash, "
    "user_agent, referrer_host, channel_hint, is_head) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)"
)
FIELDS = 10


class ClickRecord(NamedTuple):
    click_id: str
    organization_id: int
    link_id: int
    clicked_at: float  # epoch seconds
    visitor_id: str
    ip_hash: str
    user_agent: str
    referrer_host: str
    channel_hint: str
    is_head: bool

    def row(self) -> tuple:
        return (self.click_id, self.organization_id, self.link_id, datetime.fromtimestamp(self.clicked_at, UTC),
                self.visitor_id, self.ip_hash, self.user_agent, self.referrer_host, self.channel_hint, self.is_head)

    def to_line(self) -> bytes:
        # Tabs separate fields; the only free text (user agent, referrer host) has its
        # tabs and line breaks replaced by the caller (clean_text).
        return ("\t".join((self.click_id, str(self.organization_id), str(self.link_id), repr(self.clicked_at),
                           self.visitor_id, self.ip_hash, self.user_agent, self.referrer_host, self.channel_hint,
                           "1" if self.is_head else "0")) + "\n").encode("utf-8", "replace")

    @classmethod
    def from_line(cls, line: bytes) -> "ClickRecord | None":
        parts = line.decode("utf-8", "replace").rstrip("\n").split("\t")
        if len(parts) != FIELDS:
            return None
        try:
            return cls(parts[0], int(parts[1]), int(parts[2]), float(parts[3]), parts[4], parts[5], parts[6],
                       parts[7], parts[8], parts[9] == "1")
        except ValueError:
            return None


def clean_text(value: str, limit: int) -> str:
    if "\t" in value or "\n" in value or "\r" in value:
        value = value.replace("\t", " ").replace("\n", " ").replace("\r", " ")
    return value[:limit]


COPY_SQL = ("COPY tracking_rawclick (click_id, organization_id, link_id, clicked_at, visitor_id, ip_hash, "
            "user_agent, referrer_host, channel_hint, is_head) FROM STDIN")


def insert_rows(rows: list[tuple]) -> None:
    with connection.cursor() as cursor:
        if len(rows) == 1:
            cursor.execute(INSERT_SQL, rows[0])
        elif connection.vendor == "postgresql":
            # COPY: a fraction of the server's work of as many INSERTs.
            with cursor.cursor.copy(COPY_SQL) as copy:
                for row in rows:
                    copy.write_row(row)
        else:
            cursor.executemany(INSERT_SQL, rows)


class Spool:
    """This process's spool file and the thread that drains it."""

    def __init__(self, directory: Path, drain_seconds: float, fsync: bool, drain_in_thread: bool = True):
        self.directory = Path(directory)
        self.drain_in_thread = drain_in_thread
        self.drain_seconds = drain_seconds
        self.fsync = fsync
        self._pid = None
        self._fd = None
        self._path = None
        self._written = 0
        self._sequence = 0
        self._lock = threading.Lock()
        self._pending: list[tuple[int, Path]] = []  # rotated files not yet drained (fd keeps the flock)
        self._thread = None
        self._wake = threading.Event()

    # -- writing (hot path) --------------------------------------------------------------
    def append(self, click: ClickRecord) -> None:
        data = click.to_line()
        with self._lock:
            if self._pid != os.getpid():
                self._after_fork()
            os.write(self._fd, data)
            if self.fsync:
                os.fsync(self._fd)
            self._written += 1
        if self.drain_in_thread and (self._thread is None or not self._thread.is_alive()):
            self._start_thread()

    def _after_fork(self) -> None:
        # A forked child must not share its parent's file (or its flock): start afresh.
        self._pid = os.getpid()
        self._pending = []
        self._thread = None
        self._open_new()

    def _open_new(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        self._sequence += 1
        name = f"clicks-{socket.gethostname()}-{self._pid}-{int(time.time() * 1000)}-{self._sequence}.spool"
        self._path = self.directory / name
        self._fd = os.open(self._path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        self._written = 0

    # -- draining ----------------------------------------------------------------------
    def _start_thread(self) -> None:
        with self._lock:
            if self._thread is not None and self._thread.is_alive():
                return
            self._thread = threading.Thread(target=self._run, name="click-spool-drain", daemon=True)
            self._thread.start()

    def _run(self) -> None:
        rounds = 0
        while True:
            self._wake.wait(self.drain_seconds)
            self._wake.clear()
            try:
                self.drain()
                if rounds % 60 == 0:
                    drain_orphans(self.directory)
            except Exception:  # keep the thread alive; the files stay until a drain succeeds
                log.exception("Draining the click spool failed; will retry")
            finally:
                close_old_connections()
            rounds += 1

    def rotate(self) -> None:
        with self._lock:
            if self._fd is None or self._written == 0 or self._pid != os.getpid():
                return
            self._pending.append((self._fd, self._path))
            self._open_new()

    def drain(self) -> int:
        """Move every complete spool of this process into the database. Returns clicks moved."""
        self.rotate()
        moved = 0
        while self._pending:
            fd, path = self._pending[0]
            moved += drain_file(path)
            os.unlink(path)
            os.close(fd)  # releases the flock
            self._pending.pop(0)
        return moved

    def flush_now(self) -> int:
        """Drain in the caller's thread (tests, process exit)."""
        return self.drain()


def read_spool(path: Path) -> list[ClickRecord]:
    records = []
    with open(path, "rb") as handle:
        for line in handle:
            if not line.endswith(b"\n"):
                continue  # a torn last line: its writer died before answering
            record = ClickRecord.from_line(line)
            if record is None:
                log.warning("Skipping an unreadable line in %s", path)
                continue
            records.append(record)
    return records


def already_in(click_ids: list[str]) -> set[str]:
    """Which of `click_ids` the database has already (raw or processed)."""
    found: set[str] = set()
    with connection.cursor() as cursor:
        for start in range(0, len(click_ids), 5000):
            chunk = click_ids[start:start + 5000]
            marks = ", ".join(["%s"] * len(chunk))
            cursor.execute(f"SELECT click_id FROM tracking_rawclick WHERE click_id IN ({marks}) "  # noqa: S608
                           f"UNION SELECT click_id FROM tracking_click WHERE click_id IN ({marks})", chunk * 2)
            found.update(row[0] for row in cursor.fetchall())
    return found


def drain_file(path: Path, *, skip_present: bool = False) -> int:
    """Insert the file's clicks, all or none. `skip_present`: leave out clicks already in the
    database (an orphan whose owner died between its drain's commit and the file's deletion,
    or a click whose INSERT committed although the database answered with an error)."""
    records = read_spool(path)
    if skip_present and records:
        present = already_in([record.click_id for record in records])
        if present:
            log.info("Spool %s: %d of its %d clicks are in already; adding the rest", path.name, len(present),
                     len(records))
            records = [record for record in records if record.click_id not in present]
    rows = [r.row() for r in records]
    with transaction.atomic():  # all of the file or none of it
        for start in range(0, len(rows), 5000):
            insert_rows(rows[start:start + 5000])
    return len(rows)


def drain_orphans(directory: Path) -> int:
    """Drain spools left by processes that are gone (their flock is free)."""
    moved = 0
    for path in sorted(Path(directory).glob("clicks-*.spool")):
        try:
            fd = os.open(path, os.O_RDONLY)
        except FileNotFoundError:
            continue
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                continue  # its process is alive and owns it
            if not path.exists():
                continue
            moved += drain_file(path, skip_present=True)
            os.unlink(path)
        finally:
            os.close(fd)
    return moved


_spool: Spool | None = None


def spool() -> Spool:
    global _spool
    if _spool is None:
        _spool = Spool(settings.CLICK_SPOOL_DIR, settings.CLICK_SPOOL_DRAIN_SECONDS, settings.CLICK_SPOOL_FSYNC,
                       drain_in_thread=settings.CLICK_SPOOL_DRAIN_THREAD)
        atexit.register(_drain_at_exit)
    return _spool


def reset_spool() -> None:
    """Forget this process's spool object (tests: each test gets its own directory)."""
    global _spool
    _spool = None


def _drain_at_exit() -> None:
    if _spool is not None and _spool._pid == os.getpid():
        try:
            _spool.drain()
        except Exception:  # the next process on this machine drains the orphan
            log.exception("Could not drain the click spool at exit")


def record(click: ClickRecord) -> None:
    """Make the click durable before the redirect answers."""
    if settings.CLICK_CAPTURE == "spool":
        spool().append(click)
        return
    try:
        insert_rows([click.row()])
    except DatabaseError:
        log.warning("Click INSERT failed; keeping the click in the spool instead", exc_info=True)
        spool().append(click)
