"""Click processing: raw clicks (the queue the redirect writes) become classified Click rows
and daily rollups, in batches.

One batch is one database transaction, for one organisation:

1. claim up to `batch_size` raw rows, oldest first, and delete them (PostgreSQL: one
   ``DELETE … WHERE id = ANY(ARRAY(SELECT … FOR UPDATE SKIP LOCKED)) RETURNING …``, so two
   transactions never take the same rows);
2. classify them (tracking.processing: bot, device, browser, OS; channel from the hint or the
   referrer; the day in the organisation's time zone) and flag self-clicks (a PortalVisitor
   of the link's ambassador's user); drop repeated click ids and clicks of links this
   organisation doesn't have;
3. take the organisation's lock (PostgreSQL: a transaction-level advisory lock; SQLite: the
   write lock every IMMEDIATE transaction holds), so that what follows sees every click the
   organisation's earlier batches committed;
4. drop click ids that are Clicks already (a replayed spool), and decide uniqueness over the
   merged timeline of each (link, visitor): new clicks, and the earlier ones within 24 h of
   them, which a late arrival may make non-unique (those are corrected too);
5. insert the Click rows (PostgreSQL: binary COPY), correct the earlier ones, and add the
   rollup deltas, aggregated per key first, with one ``INSERT … ON CONFLICT DO UPDATE SET
   x = x + excluded.x`` per rollup table (tracking.services.rollups);
6. commit. Everything or nothing: a batch that fails, or a worker killed before the commit,
   leaves the raw rows where they were and no trace; after the commit the raw rows are gone,
   so a retried task finds nothing to count twice.

Every query is per batch (set-based), never per click. Callers are inside the organisation's
tenant scope (tenant_task does that); raw SQL filters by organization_id itself.
"""

import functools
import logging
import threading
import zoneinfo
from collections import defaultdict
from dataclasses import dataclass, fields
from datetime import date, datetime, timedelta
from operator import itemgetter
from typing import NamedTuple

import psycopg
from django.conf import settings
from django.db import connection, connections, transaction
from django.db.models import Exists, OuterRef
from django_scopes import scopes_disabled

from campaigns.channels import Channel
from campaigns.models import TrackedLink
from tenancy.models import Organization
from tenancy.scoping import tenant_scope

from ..models import Click, PortalVisitor, RawClick
from ..processing import UAInfo, classify, resolve_channel
from . import rollups
from .rollups import CLICK_COLUMNS, ClickRow, click_values

log = logging.getLogger(__name__)

# Tunable from settings (defaults in brackets): raw clicks per batch [5000], batches per task
# run before it queues a follow-up [20], batches of one organisation in flight at once on
# PostgreSQL [2] (see process_pending).
BATCH_SIZE = getattr(settings, "CLICK_PROCESSING_BATCH_SIZE", 5000)
MAX_BATCHES_PER_RUN = getattr(settings, "CLICK_PROCESSING_MAX_BATCHES", 20)
PARALLEL_BATCHES = getattr(settings, "CLICK_PROCESSING_PARALLEL", 2)
UNIQUE_WINDOW = timedelta(hours=24)
# pg_advisory_xact_lock(namespace, organisation): "Clk" in ASCII, so no other lock collides.
LOCK_NAMESPACE = 0x436C6B
SQLITE_IN_CHUNK = 900  # Django assumes SQLite's historical limit of 999 parameters

# Raw rows stay plain tuples (a million of them per run): classify() unpacks them by name.
RAW_FIELDS = ("id", "click_id", "link_id", "clicked_at", "visitor_id", "ip_hash", "user_agent", "referrer_host",
              "channel_hint", "is_head")
_RAW_ID, _RAW_CLICK_ID, _RAW_LINK_ID = (RAW_FIELDS.index(name) for name in ("id", "click_id", "link_id"))
VALID_HINTS = frozenset(Channel.values)

_CLAIM_PG = """
    DELETE FROM tracking_rawclick
    WHERE id = ANY(ARRAY(
        SELECT id FROM tracking_rawclick WHERE organization_id = %s
        ORDER BY id LIMIT %s FOR UPDATE SKIP LOCKED))
    RETURNING id, click_id, link_id, clicked_at, visitor_id, ip_hash, user_agent, referrer_host, channel_hint, is_head
"""
# Earlier and later creditable clicks of each (link, visitor) of the batch, within 24 h of it.
# One probe of click_link_visitor_time per pair, whatever the statistics say (a growing table's
# may be far off): LATERAL … OFFSET 0 keeps the planner from turning it into a hash join over
# every click of the organisation, and the organisation is checked outside so that its
# (organization, clicked_at) index doesn't look attractive for the probe.
_WINDOW_PG = """
    SELECT c.id, c.click_id, c.link_id, c.visitor_id, c.clicked_at, c.is_unique,
           c.campaign_id, c.ambassador_id, c.channel, c.day
    FROM unnest(%b::int8[], %b::text[], %b::float8[], %b::float8[]) AS w(link_id, visitor_id, lo, hi)
    CROSS JOIN LATERAL (
        SELECT * FROM tracking_click c
        WHERE c.link_id = w.link_id AND c.visitor_id = w.visitor_id
          AND c.clicked_at >= to_timestamp(w.lo) AND c.clicked_at <= to_timestamp(w.hi)
        OFFSET 0
    ) c
    WHERE c.organization_id = %s AND NOT c.is_bot AND NOT c.is_self
"""
# Likewise one probe of the click_id index per id (stale statistics once chose a sequential scan).
_KNOWN_PG = """
    SELECT c.click_id, c.organization_id FROM unnest(%b::text[]) AS k(click_id)
    CROSS JOIN LATERAL (SELECT click_id, organization_id FROM tracking_click c WHERE c.click_id = k.click_id OFFSET 0) c
"""
_COPY_CLICKS = f"COPY tracking_click ({', '.join(CLICK_COLUMNS)}) FROM STDIN (FORMAT BINARY)"
_COPY_TYPES = ("int8", "text", "int8", "int8", "int8", "timestamptz", "date", "text", "text", "text", "text", "text",
               "bool", "bool", "text", "bool", "bool", "text", "text", "text")  # in CLICK_COLUMNS order


class EarlierClick(NamedTuple):
    """An already-processed creditable click inside a (link, visitor) window (uniqueness)."""

    id: int
    click_id: str
    link_id: int
    visitor_id: str
    clicked_at: datetime
    is_unique: bool
    campaign_id: int
    ambassador_id: int
    channel: str
    day: date


@dataclass
class BatchResult:
    claimed: int = 0  # raw rows taken off the queue (and deleted)
    inserted: int = 0  # Click rows created
    duplicates: int = 0  # raw rows whose click id was already processed or repeated in the batch
    orphans: int = 0  # raw rows of a link this organisation doesn't have (deleted link)
    reclassified: int = 0  # earlier clicks whose uniqueness a late arrival changed

    def add(self, other: "BatchResult") -> None:
        for field in fields(BatchResult):
            setattr(self, field.name, getattr(self, field.name) + getattr(other, field.name))


@dataclass
class RunResult(BatchResult):
    batches: int = 0
    more: bool = False  # raw clicks remain (the run hit its batch limit)
    drained: bool = False  # a batch came back less than full: the queue was (nearly) empty


@functools.lru_cache(maxsize=256)
def _zone(name: str) -> zoneinfo.ZoneInfo:
    return zoneinfo.ZoneInfo(name)


@functools.lru_cache(maxsize=4096)
def _channel(hint: str, referrer_host: str) -> str:
    return resolve_channel(hint if hint in VALID_HINTS else None, referrer_host)


def _chunks(items: list, size: int):
    for start in range(0, len(items), size):
        yield items[start:start + size]


def _order(clicked_at: datetime, click_id: str) -> tuple:
    # Clicks at the same instant: by click id (which starts with its millisecond, then random bits).
    return (clicked_at, click_id)


def process_pending(organization_id: int, *, batch_size: int | None = None, max_batches: int | None = None,
                    parallel: int | None = None) -> RunResult:
    """Process the organisation's raw clicks, batch after batch, until none remain or
    `max_batches` ran (then `more` tells the caller to come back).

    On PostgreSQL `parallel` batches are in flight at once (default PARALLEL_BATCHES), each in
    a thread with its own connection: while one batch writes, the next is claimed and
    classified (claims take disjoint rows; the organisation's lock orders the rest). Not
    inside a caller's transaction, whose uncommitted rows other connections couldn't see."""
    batch_size = batch_size or BATCH_SIZE
    max_batches = max_batches or MAX_BATCHES_PER_RUN
    if parallel is None:
        parallel = PARALLEL_BATCHES if connection.vendor == "postgresql" else 1
    if connection.in_atomic_block:
        parallel = 1
    run = RunResult()
    if parallel <= 1 or max_batches <= 1:
        for _ in range(max_batches):
            result = process_batch(organization_id, batch_size=batch_size)
            run.add(result)
            run.batches += 1
            if result.claimed < batch_size:
                return run
    else:
        _process_in_threads(organization_id, batch_size, max_batches, parallel, run)
        if run.drained:
            return run
    run.more = has_pending(organization_id)
    return run


def _process_in_threads(organization_id: int, batch_size: int, max_batches: int, parallel: int,
                        run: RunResult) -> None:
    lock = threading.Lock()
    tickets = iter(range(max_batches))
    errors: list[BaseException] = []

    def work() -> None:
        try:
            with tenant_scope(organization_id):
                while not run.drained and not errors:
                    with lock:
                        if next(tickets, None) is None:
                            return
                    result = process_batch(organization_id, batch_size=batch_size)
                    with lock:
                        run.add(result)
                        run.batches += 1
                        if result.claimed < batch_size:
                            run.drained = True
        except BaseException as exc:  # handed to the caller's thread below
            errors.append(exc)
        finally:
            connections.close_all()  # this thread's own connections

    threads = [threading.Thread(target=work, name=f"click-processing-{organization_id}-{n}", daemon=True)
               for n in range(parallel)]
    for thread in threads:
        thread.start()
    try:
        for thread in threads:
            thread.join()
    except BaseException as exc:  # e.g. Celery's soft time limit: no new batches after the current ones
        errors.append(exc)
        raise
    if errors:
        raise errors[0]


def has_pending(organization_id: int) -> bool:
    return RawClick.objects.filter(organization_id=organization_id).exists()


def organizations_with_pending_clicks() -> list[int]:
    """Organisations that have raw clicks waiting (one index probe per organisation).
    Platform-wide: call under scopes_disabled()."""
    pending = RawClick.objects.filter(organization_id=OuterRef("pk"))
    return list(Organization.objects.filter(Exists(pending)).order_by("pk").values_list("pk", flat=True))


def process_batch(organization_id: int, *, batch_size: int | None = None) -> BatchResult:
    """Process at most `batch_size` of the organisation's raw clicks in one transaction."""
    with transaction.atomic():
        return _Batch(organization_id).run(batch_size or BATCH_SIZE)


class _Batch:
    def __init__(self, organization_id: int):
        self.org = organization_id
        self.pg = connection.vendor == "postgresql"
        self.result = BatchResult()

    # -- the steps ---------------------------------------------------------------------------
    def run(self, batch_size: int) -> BatchResult:
        if self.pg:
            # The hot queries go through a psycopg cursor of Django's connection (so inside this
            # transaction) with server-side binding and binary results: Django's cursor quotes
            # array parameters in Python and loads timestamps through a Python loader.
            connection.ensure_connection()
            with psycopg.Cursor(connection.connection) as self.cursor:
                return self._run(batch_size)
        return self._run(batch_size)

    def _run(self, batch_size: int) -> BatchResult:
        self.begin()
        raws = self.claim(batch_size)
        self.result.claimed = len(raws)
        if not raws:
            return self.result
        raws = self.drop_repeats(raws)
        links = self.links({raw[_RAW_LINK_ID] for raw in raws})
        own_visitors = self.own_visitors({user_id for _, _, user_id in links.values() if user_id is not None})
        rows = self.classify(raws, links, own_visitors, _zone(self.time_zone()))

        # From here on, one batch of the organisation at a time, so that uniqueness and the
        # duplicate check see every click committed before (what comes before only read).
        self.lock()
        rows = self.drop_known(rows)
        changes = self.uniqueness(rows)

        self.insert_clicks(rows)
        deltas = rollups.click_deltas(rows, changes.values())
        self.update_uniqueness(changes)
        self.upsert_rollups(deltas)
        self.result.inserted = len(rows)
        self.result.reclassified = len(changes)
        return self.result

    def begin(self) -> None:
        if self.pg and len(connection.atomic_blocks) == 1:
            # Asynchronous commit for this transaction only (when it is the batch's own): a
            # crash of the database may forget the last batches committed (a fraction of a
            # second), but only whole transactions, which took their raw rows with them; those
            # rows come back and are processed again. Never a half batch, never a double count,
            # and the commit doesn't wait for its WAL flush.
            self.cursor.execute("SET LOCAL synchronous_commit TO off")

    def time_zone(self) -> str:
        return Organization.objects.values_list("time_zone", flat=True).get(pk=self.org)

    def lock(self) -> None:
        if self.pg:
            self.cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [LOCK_NAMESPACE, self.org % 2**31])

    def claim(self, batch_size: int) -> list[tuple]:
        if self.pg:
            raws = self.cursor.execute(_CLAIM_PG, [self.org, batch_size], binary=True).fetchall()
            raws.sort(key=itemgetter(_RAW_ID))
            return raws
        # SQLite: this transaction holds the database's write lock, so the rows between the
        # first and the last id claimed are exactly the ones read.
        raws = list(RawClick.objects.filter(organization_id=self.org).order_by("id").values_list(*RAW_FIELDS)
                    [:batch_size])
        if raws:
            RawClick.objects.filter(organization_id=self.org, id__gte=raws[0][0], id__lte=raws[-1][0]).delete()
        return raws

    def drop_repeats(self, raws: list[tuple]) -> list[tuple]:
        """The first of raw rows with the same click id (a spool replayed into the same batch)."""
        unique, seen = [], set()
        for raw in raws:
            if raw[_RAW_CLICK_ID] not in seen:
                seen.add(raw[_RAW_CLICK_ID])
                unique.append(raw)
        self.result.duplicates += len(raws) - len(unique)
        return unique

    def drop_known(self, rows: list[ClickRow]) -> list[ClickRow]:
        """Rows whose click id isn't a Click yet (a replayed raw row whose first copy was processed)."""
        ids = [row.click_id for row in rows]
        # Click ids are unique platform-wide (the constraint is on click_id alone), so look
        # them up across organisations: a clash with another organisation's click must not
        # make the insert fail forever. Only ids are read.
        if self.pg:
            known = dict(self.cursor.execute(_KNOWN_PG, [ids], binary=True).fetchall())
        else:
            known = {}
            with scopes_disabled():
                for chunk in _chunks(ids, SQLITE_IN_CHUNK):
                    known.update(Click.objects.filter(click_id__in=chunk).values_list("click_id", "organization_id"))
        if not known:
            return rows
        if clashes := sum(1 for org in known.values() if org != self.org):
            log.warning("%d raw click ids of organisation %s belong to another organisation's clicks; dropped",
                        clashes, self.org)
        self.result.duplicates += len(known)
        return [row for row in rows if row.click_id not in known]

    def links(self, link_ids: set[int]) -> dict[int, tuple[int, int, int | None]]:
        """link id → (campaign id, ambassador id, the ambassador's user id), this organisation's only."""
        rows = TrackedLink.objects.filter(organization_id=self.org, id__in=link_ids).values_list(
            "id", "campaign_id", "ambassador_id", "ambassador__user_id")
        return {link_id: (campaign_id, ambassador_id, user_id) for link_id, campaign_id, ambassador_id, user_id in rows}

    def own_visitors(self, user_ids: set[int]) -> set[tuple[int, str]]:
        """(user id, visitor id) seen on those users' logged-in portal sessions."""
        if not user_ids:
            return set()
        return set(PortalVisitor.objects.filter(user_id__in=user_ids).values_list("user_id", "visitor_id"))

    def classify(self, raws, links, own_visitors, tz) -> list[ClickRow]:
        """Click rows, is_unique still False."""
        org = self.org
        rows: list[ClickRow] = []
        orphans = 0
        agents: dict[tuple[str, bool], UAInfo] = {}  # few distinct values per batch: look each up once
        channels: dict[tuple[str, str], str] = {}
        append = rows.append
        for _id, click_id, link_id, clicked_at, visitor_id, ip_hash, user_agent, referrer_host, hint, is_head in raws:
            link = links.get(link_id)
            if link is None:
                orphans += 1
                continue
            campaign_id, ambassador_id, user_id = link
            info = agents.get((user_agent, is_head))
            if info is None:
                info = agents[(user_agent, is_head)] = classify(user_agent, is_head)
            channel = channels.get((hint, referrer_host))
            if channel is None:
                channel = channels[(hint, referrer_host)] = _channel(hint, referrer_host)
            is_bot = info.is_bot
            # ClickRow's fields in order (positional: keywords cost a microsecond a click)
            append(ClickRow(org, click_id, link_id, campaign_id, ambassador_id, clicked_at,
                            clicked_at.astimezone(tz).date(), visitor_id, ip_hash, user_agent, referrer_host, channel,
                            is_head, is_bot, info.bot_reason,
                            not is_bot and user_id is not None and (user_id, visitor_id) in own_visitors,  # is_self
                            False, info.device, info.browser, info.os))  # is_unique: decided after the lock
        if orphans:
            log.warning("Dropped %d raw clicks of organisation %s whose link no longer exists", orphans, org)
        self.result.orphans = orphans
        return rows

    def uniqueness(self, rows: list[ClickRow]) -> dict[int, tuple[bool, rollups.Key]]:
        """Set is_unique on the new rows; return the already-processed clicks whose uniqueness
        changes: Click id → (new is_unique, its rollup key (campaign id, ambassador id, channel, day)).

        A creditable click is unique when the same visitor's previous creditable click on the
        same link (by time, then click id) is absent or at least 24 h earlier. Only a click's
        predecessor matters, so new clicks can change only the existing clicks that follow one
        of them within 24 h: the merged timeline of the window [first new − 24 h, last new + 24 h]
        holds every click needed to decide both."""
        creditable: dict[tuple[int, str], list[int]] = defaultdict(list)
        for i, row in enumerate(rows):
            if not row.is_bot and not row.is_self:
                creditable[(row.link_id, row.visitor_id)].append(i)
        if not creditable:
            return {}
        windows = {}
        for pair, indexes in creditable.items():
            if len(indexes) == 1:  # the common case
                clicked_at = rows[indexes[0]].clicked_at
                windows[pair] = (clicked_at - UNIQUE_WINDOW, clicked_at + UNIQUE_WINDOW)
            else:
                times = [rows[i].clicked_at for i in indexes]
                windows[pair] = (min(times) - UNIQUE_WINDOW, max(times) + UNIQUE_WINDOW)
        existing = self.existing_clicks(windows)

        changes = {}
        for pair, indexes in creditable.items():
            earlier = existing.get(pair)
            if earlier is None:
                if len(indexes) == 1:
                    rows[indexes[0]].is_unique = True
                    continue
                new = sorted((_order(rows[i].clicked_at, rows[i].click_id), i) for i in indexes)
                previous = None
                for (clicked_at, _), i in new:
                    rows[i].is_unique = previous is None or clicked_at - previous >= UNIQUE_WINDOW
                    previous = clicked_at
                continue
            new = [(_order(rows[i].clicked_at, rows[i].click_id), i, None) for i in indexes]
            first_new = min(new)[0]
            timeline = new + [(_order(old.clicked_at, old.click_id), None, old) for old in earlier]
            timeline.sort(key=itemgetter(0))
            previous = None
            for key, i, old in timeline:
                clicked_at = key[0]
                if key >= first_new:  # before the first new click nothing changed
                    unique = previous is None or clicked_at - previous >= UNIQUE_WINDOW
                    if i is not None:
                        rows[i].is_unique = unique
                    elif unique != old.is_unique:
                        changes[old.id] = (unique, (old.campaign_id, old.ambassador_id, old.channel, old.day))
                previous = clicked_at
        return changes

    def existing_clicks(self, windows: dict) -> dict[tuple[int, str], list[EarlierClick]]:
        """Already-processed creditable clicks of these (link, visitor) pairs inside their window."""
        found = defaultdict(list)
        if self.pg:
            pairs = list(windows.items())
            params = [[pair[0] for pair, _ in pairs], [pair[1] for pair, _ in pairs],
                      [lo.timestamp() for _, (lo, _) in pairs], [hi.timestamp() for _, (_, hi) in pairs], self.org]
            for row in map(EarlierClick._make, self.cursor.execute(_WINDOW_PG, params, binary=True).fetchall()):
                found[(row.link_id, row.visitor_id)].append(row)
            return found
        # SQLite (small volumes): one query per chunk of visitors over the batch's whole time
        # span, then keep what falls inside each pair's own window.
        lo = min(window[0] for window in windows.values())
        hi = max(window[1] for window in windows.values())
        link_ids = sorted({link_id for link_id, _ in windows})
        visitor_ids = sorted({visitor_id for _, visitor_id in windows})
        for chunk in _chunks(visitor_ids, SQLITE_IN_CHUNK - len(link_ids)):
            for row in Click.objects.filter(
                organization_id=self.org, is_bot=False, is_self=False, link_id__in=link_ids, visitor_id__in=chunk,
                clicked_at__gte=lo, clicked_at__lte=hi,
            ).values_list(*EarlierClick._fields):
                row = EarlierClick._make(row)
                window = windows.get((row.link_id, row.visitor_id))
                if window and window[0] <= row.clicked_at <= window[1]:
                    found[(row.link_id, row.visitor_id)].append(row)
        return found

    def insert_clicks(self, rows: list[ClickRow]) -> None:
        if not rows:
            return
        if self.pg:
            with self.cursor.copy(_COPY_CLICKS) as copy:
                copy.set_types(_COPY_TYPES)
                for row in rows:
                    copy.write_row(click_values(row))
            return
        Click.objects.bulk_create([Click(**dict(zip(CLICK_COLUMNS, click_values(row), strict=True))) for row in rows])

    def update_uniqueness(self, changes: dict) -> None:
        for value in (True, False):
            ids = [click_id for click_id, (unique, _key) in changes.items() if unique is value]
            for chunk in _chunks(ids, SQLITE_IN_CHUNK):
                Click.objects.filter(organization_id=self.org, id__in=chunk).update(is_unique=value)

    def upsert_rollups(self, deltas: rollups.Deltas) -> None:
        """Add the deltas to the click rollups (through this batch's psycopg cursor on PostgreSQL)."""
        rollups.add_clicks(self.org, deltas, cursor=self.cursor if self.pg else None)
