"""Fraud holds: new entries are screened in the transaction that writes them (earnings calls
`screen_entries`); a case per ambassador lists its reasons; admins release or confirm.

The rules (rewards.fraud_rules has their arithmetic), each a reason of models.FraudReason:

* same_email: the customer's e-mail hash is the hash of the ambassador's e-mail (customers keep
  only the hash, tracking.models.Customer.email_hash);
* same_domain: the customer's e-mail domain is the ambassador's, and a company's (not a free
  mail provider's, not disposable);
* disposable: the customer's e-mail domain is on the disposable-email-domains list;
* refund_rate: more than 25 % of the sales that earned the ambassador something over the last
  90 days were refunded, with at least 4 such sales (the ledger's sale entries name the sales;
  the sales' own status says which were refunded);
* velocity: more clicks on one link within a minute than RewardSettings.max_clicks_per_minute
  (clicks that could earn: neither bots, HEADs nor self-clicks); holds that link's new click
  entries;
* shared_details: the ambassador's payout details have the same fingerprint as another
  ambassador's (also raised at once by `flag_shared_details` when details are saved);
* manual: an admin held entries for review (`hold_for_review`, the approvals queue), with a reason.

A flagged entry is held (rewards.services.ledger.hold) in its ambassador's open case, with one
signal per reason and subject (a customer, a link's burst, a refund, the details): re-detecting
the same thing adds nothing. A reason a released case had is not raised again for the same
subject: the admin (or 30 quiet days) cleared it. An entry correcting a held entry (`adjusts`)
is held with it, so releasing or confirming treats the two alike. Negative entries are never
held on their own: holding a clawback would only delay it, and confirming would forgive it.

A case releases itself when no signal came for 30 days (`auto_release_stale`, daily in the beat)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import IntegrityError, connection, transaction
from django.db.models import Count, Q
from django.utils import timezone

from ambassadors.models import Ambassador
from campaigns.models import TrackedLink
from common.queries import where_in
from tenancy.scoping import tenant_scope
from tracking.models import Click, Customer, Sale, SaleStatus
from tracking.services.conversions import email_domain, email_hash

from .. import fraud_rules
from ..models import (
    CaseStatus,
    EarningEntry,
    EntryStatus,
    FraudCase,
    FraudReason,
    FraudSignal,
    PayoutDetails,
    RewardEvent,
    RewardSettings,
)
from . import RewardError, ledger
from .audit import record

SCREENED = (EntryStatus.PENDING, EntryStatus.APPROVED)
LINK_CHUNK = 500
SUBJECT_MAX = 120
DETAIL_MAX = 300


@dataclass(frozen=True)
class Flag:
    reason: str
    subject: str
    detail: str


# --- screening ---------------------------------------------------------------------------------------

def screen_entries(organization_id: int, entries, *, now, clicks: dict | None = None) -> list[FraudCase]:
    """Hold (status held, attached to the ambassador's open case, with signals) each of `entries`
    (saved EarningEntry rows, just written) that a fraud rule flags. Call inside the transaction
    that wrote them. Returns the cases that held something or gained a signal. `clicks`: click id
    → (link id, clicked at) of the click entries, when the caller has read them already."""
    entries = [entry for entry in entries if entry.status in SCREENED]
    if not entries:
        return []
    with tenant_scope(organization_id), transaction.atomic():
        flags = _flags(organization_id, [entry for entry in entries if entry.amount > 0], now, clicks)
        followers = _following_held(organization_id, entries, flags)
        cases = []
        for ambassador_id, mine in sorted(_by_ambassador(entries).items()):
            flagged = {entry.pk: flags[entry.pk] for entry in mine if flags.get(entry.pk)}
            following = [entry.pk for entry in mine if entry.pk in followers]
            if not flagged and not following:
                continue
            signals = {flag for entry_flags in flagged.values() for flag in entry_flags}
            case = _hold(organization_id, ambassador_id, [*flagged, *following], signals, now=now)
            cases.append(case)
        return cases


def _by_ambassador(entries: list[EarningEntry]) -> dict[int, list[EarningEntry]]:
    grouped = defaultdict(list)
    for entry in entries:
        grouped[entry.ambassador_id].append(entry)
    return grouped


def _flags(organization_id: int, entries: list[EarningEntry], now: datetime,
           clicks: dict | None = None) -> dict[int, list[Flag]]:
    """entry pk → the flags that hold it (none: not in the dict), leaving out reasons a released
    case of the same ambassador cleared for the same subject."""
    flags: dict[int, list[Flag]] = defaultdict(list)
    if not entries:
        return flags
    ambassador_ids = {entry.ambassador_id for entry in entries}
    for entry_id, flag in [*_customer_flags(organization_id, entries),
                           *_refund_rate_flags(organization_id, entries, ambassador_ids, now),
                           *_velocity_flags(organization_id, entries, clicks),
                           *_shared_details_flags(organization_id, entries, ambassador_ids)]:
        flags[entry_id].append(flag)
    if not flags:
        return flags
    ambassador_of = {entry.pk: entry.ambassador_id for entry in entries}
    cleared = set(FraudSignal.objects.filter(organization_id=organization_id, case__status=CaseStatus.RELEASED,
                                             case__ambassador_id__in={ambassador_of[pk] for pk in flags})
                  .values_list("case__ambassador_id", "reason", "subject"))
    if cleared:
        for entry_id in list(flags):
            kept = [f for f in flags[entry_id] if (ambassador_of[entry_id], f.reason, f.subject) not in cleared]
            if kept:
                flags[entry_id] = kept
            else:
                del flags[entry_id]
    return flags


def _customer_flags(organization_id: int, entries: list[EarningEntry]):
    """Same e-mail, same company domain, disposable domain: the customer of a lead or sale entry.
    The same address has the same domain, so only customers whose domain is disposable or an
    ambassador's are read further (slim reads first: this runs on every chunk of the earnings)."""
    sale_ids = {entry.sale_id for entry in entries if entry.sale_id and not entry.customer_id}
    customer_of_sale = dict(Sale.objects.filter(organization_id=organization_id, pk__in=sale_ids)
                            .exclude(customer_id=None).values_list("pk", "customer_id")) if sale_ids else {}
    customer_of = {entry.pk: entry.customer_id or customer_of_sale.get(entry.sale_id) for entry in entries}
    customer_ids = {pk for pk in customer_of.values() if pk}
    if not customer_ids:
        return
    domains = {}
    for where in where_in(Customer, "pk", sorted(customer_ids)):
        domains.update(Customer.objects.filter(where, organization_id=organization_id, email_domain__isnull=False)
                       .values_list("pk", "email_domain"))
    if not domains:
        return
    addresses = {pk: [a for a in (email, user_email) if a] for pk, email, user_email in Ambassador.objects.filter(
        organization_id=organization_id, pk__in={entry.ambassador_id for entry in entries})
        .values_list("pk", "email", "user__email")}
    own_domains = {pk: {email_domain(a) for a in mine} for pk, mine in addresses.items()}
    company = {pk: {d for d in mine if fraud_rules.company_domain(d)} for pk, mine in own_domains.items()}
    disposable = {domain for domain in set(domains.values()) if fraud_rules.is_disposable_domain(domain)}
    suspects = [entry for entry in entries if domains.get(customer_of[entry.pk]) in
                disposable | own_domains.get(entry.ambassador_id, set())]
    if not suspects:
        return
    customers = {row["pk"]: row for row in Customer.objects.filter(
        organization_id=organization_id, pk__in={customer_of[entry.pk] for entry in suspects})
        .values("pk", "public_id", "external_id", "email_hash")}
    for entry in suspects:
        customer = customers[customer_of[entry.pk]]
        domain = domains[customer["pk"]]
        subject = f"customer:{customer['public_id']}"
        name = customer["external_id"] or str(customer["public_id"])
        mine = addresses.get(entry.ambassador_id, [])
        if customer["email_hash"] and customer["email_hash"] in {email_hash(a) for a in mine}:
            yield entry.pk, Flag(FraudReason.SAME_EMAIL, subject,
                                 f"Customer {name} used the ambassador's own e-mail address.")
        elif domain in company.get(entry.ambassador_id, ()):
            yield entry.pk, Flag(FraudReason.SAME_DOMAIN, subject,
                                 f"Customer {name}'s e-mail is at {domain}, the ambassador's company domain.")
        if domain in disposable:
            yield entry.pk, Flag(FraudReason.DISPOSABLE, subject,
                                 f"Customer {name} used a disposable e-mail domain ({domain}).")


def _refund_rate_flags(organization_id: int, entries: list[EarningEntry], ambassador_ids, now: datetime):
    """Every new entry of an ambassador whose sales of the last 90 days were refunded too often.
    Read from the few refunded sales first (a partial index): above 25 % with at least 4 sales
    takes at least 2 refunds, so only ambassadors with 2 are counted further."""
    since = now - timedelta(days=fraud_rules.REFUND_RATE_DAYS)
    refunded = Sale.objects.filter(organization_id=organization_id, status=SaleStatus.REFUNDED,
                                   occurred_at__gt=since, occurred_at__lte=now).values("pk")
    if not refunded.exists():
        return
    sale_entries = EarningEntry.objects.filter(organization_id=organization_id, event=RewardEvent.SALE,
                                               sale_id__isnull=False)
    refunds = {row["ambassador_id"]: row["refunds"] for row in (
        sale_entries.filter(sale_id__in=refunded).values("ambassador_id")
        .annotate(refunds=Count("sale_id", distinct=True)).order_by())
        if row["refunds"] >= 2 and row["ambassador_id"] in ambassador_ids}
    if not refunds:
        return
    totals = dict(sale_entries.filter(ambassador_id__in=refunds, earned_at__gt=since, earned_at__lte=now)
                  .values("ambassador_id").annotate(sales=Count("sale_id", distinct=True)).order_by()
                  .values_list("ambassador_id", "sales"))
    grouped = _by_ambassador(entries)
    for ambassador_id, refund_count in refunds.items():
        sales = max(totals.get(ambassador_id, 0), refund_count)
        if not fraud_rules.refund_rate_too_high(sales, refund_count):
            continue
        # The subject is the latest refund: a new refund while the rate is too high is a new signal.
        latest = (Sale.objects.filter(pk__in=refunded, status=SaleStatus.REFUNDED)
                  .filter(pk__in=sale_entries.filter(ambassador_id=ambassador_id).values("sale_id"))
                  .order_by("-refunded_at", "-pk").values_list("public_id", flat=True).first())
        flag = Flag(FraudReason.REFUND_RATE, f"refunds-up-to-sale:{latest}",
                    f"{refund_count} of {sales} sales over {fraud_rules.REFUND_RATE_DAYS} days refunded "
                    f"({fraud_rules.percent(refund_count, sales)}).")
        for entry in grouped[ambassador_id]:
            yield entry.pk, flag


def _velocity_flags(organization_id: int, entries: list[EarningEntry], known: dict | None = None):
    """Click entries of a link that had a burst of clicks around their clicks."""
    click_entries = [entry for entry in entries if entry.event == RewardEvent.CLICK and entry.click_id]
    if not click_entries:
        return
    wanted = {entry.click_id for entry in click_entries}
    if known is not None and wanted <= known.keys():
        clicks = {click_id: known[click_id] for click_id in wanted}
    else:
        clicks = _links_of_clicks(organization_id, sorted(wanted))
    span: dict[int, list[datetime]] = {}  # link → [earliest, latest] new click
    for link_id, at in clicks.values():
        low_high = span.setdefault(link_id, [at, at])
        low_high[0], low_high[1] = min(low_high[0], at), max(low_high[1], at)
    limit = _max_clicks_per_minute(organization_id)
    bursts = {}
    links = _busy_links(organization_id, span, limit) if connection.vendor == "postgresql" else sorted(span)
    for start in range(0, len(links), LINK_CHUNK):
        chunk = links[start:start + LINK_CHUNK]
        low = min(span[link][0] for link in chunk) - fraud_rules.VELOCITY_WINDOW
        high = max(span[link][1] for link in chunk) + fraud_rules.VELOCITY_WINDOW
        times: dict[int, list[datetime]] = defaultdict(list)
        for link_id, at in (Click.objects.filter(organization_id=organization_id, link_id__in=chunk,
                                                 clicked_at__gte=low, clicked_at__lte=high, is_bot=False,
                                                 is_head=False, is_self=False)
                            .order_by("link_id", "clicked_at").values_list("link_id", "clicked_at").iterator()):
            first, last = span[link_id]
            if first - fraud_rules.VELOCITY_WINDOW <= at <= last + fraud_rules.VELOCITY_WINDOW:
                times[link_id].append(at)
        for link_id, link_times in times.items():
            burst = fraud_rules.first_burst(link_times, limit)
            if burst is not None:
                bursts[link_id] = burst
    if not bursts:
        return
    codes = dict(TrackedLink.objects.filter(organization_id=organization_id, pk__in=bursts)
                 .values_list("pk", "code"))
    for entry in click_entries:
        link_id = clicks.get(entry.click_id, (None, None))[0]
        if link_id in bursts:
            began, count = bursts[link_id]
            code = codes.get(link_id, str(link_id))
            yield entry.pk, Flag(FraudReason.VELOCITY, f"link:{code}:{began:%Y-%m-%dT%H:%M}Z",
                                 f"{count} clicks on link {code} within a minute from {began:%Y-%m-%d %H:%M:%S} UTC "
                                 f"(the limit is {limit} a minute).")


def _links_of_clicks(organization_id: int, click_ids: list[str]) -> dict[str, tuple[int, datetime]]:
    """click id → (link, when)."""
    clicks = {}
    for where in where_in(Click, "click_id", click_ids):
        clicks.update((click_id, (link_id, at)) for click_id, link_id, at in Click.objects.filter(
            where, organization_id=organization_id).values_list("click_id", "link_id", "clicked_at"))
    return clicks


def _busy_links(organization_id: int, span: dict[int, list[datetime]], limit: int) -> list[int]:
    """PostgreSQL: the links of `span` with more than `limit` creditable clicks within a minute
    somewhere around their new clicks (a window function: the few links worth reading click by
    click). A superset of the bursts first_burst finds (it counts under a minute, this up to one)."""
    low = min(first for first, _ in span.values()) - fraud_rules.VELOCITY_WINDOW
    high = max(last for _, last in span.values()) + fraud_rules.VELOCITY_WINDOW
    table = Click._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT DISTINCT link_id FROM (SELECT link_id, count(*) OVER (PARTITION BY link_id ORDER BY clicked_at "  # noqa: S608 - the model's table
            f"RANGE BETWEEN %s PRECEDING AND CURRENT ROW) AS n FROM {table} WHERE organization_id = %s "
            f"AND clicked_at >= %s AND clicked_at <= %s AND link_id = ANY(%s) AND NOT is_bot AND NOT is_head "
            f"AND NOT is_self) counted WHERE n > %s ORDER BY link_id",
            [fraud_rules.VELOCITY_WINDOW, organization_id, low, high, sorted(span), limit])
        return [link_id for link_id, in cursor.fetchall()]


def _max_clicks_per_minute(organization_id: int) -> int:
    stored = RewardSettings.objects.filter(organization_id=organization_id).values_list(
        "max_clicks_per_minute", flat=True).first()
    return stored or RewardSettings._meta.get_field("max_clicks_per_minute").default


def _shared_details_flags(organization_id: int, entries: list[EarningEntry], ambassador_ids):
    flags = _shared_details(organization_id, ambassador_ids)
    grouped = _by_ambassador(entries) if flags else {}
    for ambassador_id, flag in flags.items():
        for entry in grouped[ambassador_id]:
            yield entry.pk, flag


def _shared_details(organization_id: int, ambassador_ids) -> dict[int, Flag]:
    """ambassador → the flag of their payout details, for those whose details another ambassador has too.
    Shared details are rare: the organisation's shared fingerprints are read first (one small query)."""
    details = PayoutDetails.objects.filter(organization_id=organization_id)
    shared = (details.values("fingerprint").annotate(holders=Count("pk")).filter(holders__gt=1)
              .values("fingerprint"))
    holders = defaultdict(list)
    fingerprints = {}
    for fingerprint, ambassador_id, name in (details.filter(fingerprint__in=shared)
                                             .order_by("ambassador__display_name", "ambassador_id")
                                             .values_list("fingerprint", "ambassador_id", "ambassador__display_name")):
        holders[fingerprint].append((ambassador_id, name))
        if ambassador_id in ambassador_ids:
            fingerprints[ambassador_id] = fingerprint
    flags = {}
    for ambassador_id, fingerprint in fingerprints.items():
        others = [name or f"ambassador {pk}" for pk, name in holders[fingerprint] if pk != ambassador_id]
        if others:
            # The fingerprint is a keyed hash (rewards.crypto): a prefix of it names the details, reveals nothing.
            flags[ambassador_id] = Flag(FraudReason.SHARED_DETAILS, f"payout-details:{fingerprint[:16]}",
                                        f"The same payout details as {', '.join(others)}.")
    return flags


def _following_held(organization_id: int, entries: list[EarningEntry], flags) -> set[int]:
    """Entries correcting an entry that is held, or held now: they go with it."""
    adjusting = [entry for entry in entries if entry.adjusts_id and entry.pk not in flags]
    if not adjusting:
        return set()
    held = set(EarningEntry.objects.filter(organization_id=organization_id, status=EntryStatus.HELD,
                                           pk__in={entry.adjusts_id for entry in adjusting})
               .values_list("pk", flat=True))
    return {entry.pk for entry in adjusting if entry.adjusts_id in held or entry.adjusts_id in flags}


# --- cases -------------------------------------------------------------------------------------------

def _hold(organization_id: int, ambassador_id: int, entry_ids, flags, *, now: datetime, actor=None,
          reason: str = "") -> FraudCase:
    """Hold `entry_ids` in the ambassador's open case (opened if needed) with `flags` as its signals;
    a new signal or a newly held entry is an event: the case's 30 quiet days start again."""
    case, opened = _open_case(organization_id, ambassador_id, now)
    added = _add_signals(case, flags, now)
    reasons = reason or ", ".join(sorted({flag.reason for flag in flags})) or "follows a held entry"
    held = ledger.hold(sorted(entry_ids), case, actor, reason=reasons, now=now) if entry_ids else 0
    if opened or added:
        record(organization_id=organization_id, actor=actor, at=now, object_type="fraud_case",
               object_id=case.public_id, action="fraud_case.open" if opened else "fraud_case.signal",
               before=None if opened else {"status": case.status},
               after={"status": case.status, "ambassador_id": ambassador_id,
                      "signals": [{"reason": f.reason, "subject": f.subject} for f in added]})
    if (added or held) and case.last_signal_at < now:
        FraudCase.objects.filter(pk=case.pk, last_signal_at__lt=now).update(last_signal_at=now)
        case.last_signal_at = now
    return case


def _open_case(organization_id: int, ambassador_id: int, now: datetime) -> tuple[FraudCase, bool]:
    """The ambassador's open case, locked (release and confirm wait for this transaction, so no
    entry is held in a case closing meanwhile), or a new one. Two transactions opening one at once
    meet at the one-open-case constraint: the loser takes the winner's."""
    cases = FraudCase.objects.select_for_update().filter(organization_id=organization_id,
                                                         ambassador_id=ambassador_id, status=CaseStatus.OPEN)
    case = cases.first()
    if case is not None:
        return case, False
    try:
        with transaction.atomic():  # a savepoint: the caller's transaction survives the constraint
            return FraudCase.objects.create(organization_id=organization_id, ambassador_id=ambassador_id,
                                            opened_at=now, last_signal_at=now), True
    except IntegrityError:
        return cases.get(), False


def _add_signals(case: FraudCase, flags, now: datetime) -> list[Flag]:
    """The flags that were new signals of the case (one per reason and subject: the constraint)."""
    added = []
    for flag in sorted(flags, key=lambda f: (f.reason, f.subject)):
        try:
            with transaction.atomic():
                FraudSignal.objects.create(organization_id=case.organization_id, case=case, reason=flag.reason,
                                           subject=flag.subject[:SUBJECT_MAX], detail=flag.detail[:DETAIL_MAX],
                                           created_at=now)
        except IntegrityError:
            continue  # detected before: nothing new
        added.append(flag)
    return added


def flag_shared_details(organization_id: int, ambassador_ids, *, now) -> list[FraudCase]:
    """Open (or add to) a case for each of `ambassador_ids` whose payout details have the same
    fingerprint as another ambassador's, holding their pending and approved entries (new ones are
    held as they come, by screen_entries). Call in the transaction that saved the details."""
    ambassador_ids = sorted(set(ambassador_ids))
    with tenant_scope(organization_id), transaction.atomic():
        flags = _shared_details(organization_id, ambassador_ids)
        cleared = set(FraudSignal.objects.filter(organization_id=organization_id, case__status=CaseStatus.RELEASED,
                                                 case__ambassador_id__in=list(flags))
                      .values_list("case__ambassador_id", "reason", "subject"))
        cases = []
        for ambassador_id, flag in sorted(flags.items()):
            if (ambassador_id, flag.reason, flag.subject) in cleared:
                continue
            unpaid = EarningEntry.objects.filter(organization_id=organization_id, ambassador_id=ambassador_id,
                                                 status__in=SCREENED)
            entry_ids = list(unpaid.filter(Q(amount__gt=0) | Q(adjusts__status__in=SCREENED, adjusts__amount__gt=0))
                             .values_list("pk", flat=True))
            cases.append(_hold(organization_id, ambassador_id, entry_ids, [flag], now=now))
        return cases


def hold_for_review(entries, actor, reason: str = "", *, now: datetime | None = None) -> int:
    """An admin holds pending or approved entries for review: each ambassador's open case gets a
    "manual" signal with the reason. All or nothing: if one of them can't be held (paid, canceled,
    held already…), nothing is. Returns how many were held."""
    entries = list(entries)
    if not entries:
        return 0
    now = now or timezone.now()
    reason = (reason or "").strip()
    organization_id = entries[0].organization_id
    with tenant_scope(organization_id), transaction.atomic():
        statuses = dict(EarningEntry.objects.select_for_update().filter(
            organization_id=organization_id, pk__in=[entry.pk for entry in entries]).order_by("pk")
            .values_list("pk", "status"))
        refused = [entry for entry in entries if statuses.get(entry.pk) not in SCREENED]
        if refused:
            raise RewardError("entries", f"Only pending or approved entries can be held; {len(refused)} of the "
                                         f"{len(entries)} are not (already held, in a payout, paid, canceled or "
                                         "refunded). Nothing was changed.")
        subject = f"admin-hold:{now:%Y-%m-%dT%H:%M:%S}Z:{getattr(actor, 'pk', '')}"
        flag = Flag(FraudReason.MANUAL, subject, reason or "Held by an admin for review.")
        for ambassador_id, mine in sorted(_by_ambassador(entries).items()):
            _hold(organization_id, ambassador_id, [entry.pk for entry in mine], [flag], now=now, actor=actor,
                  reason=reason or "held by an admin")
    return len(entries)


def release(case: FraudCase, actor, note: str = "", *, now: datetime | None = None) -> FraudCase:
    """Not fraud: the case's held entries go back to pending, or approved when their holding period
    is over; the case is closed as released, and its reasons are not raised again for the same
    subjects."""
    return _close(case, CaseStatus.RELEASED, actor, note, now=now or timezone.now())


def confirm(case: FraudCase, actor, note: str, *, now: datetime | None = None) -> FraudCase:
    """Fraud: the case's held entries are canceled (the note is their reason)."""
    note = (note or "").strip()
    if not note:
        raise RewardError("note", "Say why this is fraud: the note is kept as the canceled entries' reason.")
    return _close(case, CaseStatus.CONFIRMED, actor, note, now=now or timezone.now())


def _close(case: FraudCase, status: str, actor, note: str, *, now: datetime,
           quiet_since: datetime | None = None) -> FraudCase | None:
    """Close an open case (locked first: screening adds to an open case under the same lock).
    With `quiet_since`, only if no signal came after it (None otherwise)."""
    note = (note or "").strip()[:DETAIL_MAX]
    with tenant_scope(case.organization_id), transaction.atomic():
        locked = FraudCase.objects.select_for_update().get(organization_id=case.organization_id, pk=case.pk)
        if locked.status != CaseStatus.OPEN:
            raise RewardError(None, f"This case is already closed ({locked.get_status_display().lower()}).",
                              code="closed")
        if quiet_since is not None and locked.last_signal_at > quiet_since:
            return None
        held = list(EarningEntry.objects.filter(organization_id=case.organization_id, fraud_case=locked,
                                                status=EntryStatus.HELD).order_by("pk"))
        if status == CaseStatus.RELEASED:
            moved = ledger.release(held, actor, now=now, note=note, organization_id=case.organization_id)
        else:
            for entry in held:
                ledger.cancel(entry, actor, f"Fraud confirmed: {note}", now=now)
            moved = len(held)
        locked.status, locked.closed_at, locked.closed_by, locked.close_note = status, now, actor, note
        locked.save(update_fields=["status", "closed_at", "closed_by", "close_note"])
        record(organization_id=case.organization_id, actor=actor, at=now, object_type="fraud_case",
               object_id=locked.public_id, action="fraud_case.release" if status == CaseStatus.RELEASED
               else "fraud_case.confirm", before={"status": CaseStatus.OPEN.value},
               after={"status": status, "note": note, "entries": moved})
    return locked


def auto_release_stale(organization_id: int, now: datetime | None = None) -> int:
    """Release the organisation's open cases that had no new signal for 30 days (the system acts:
    the audit log says so). Returns how many were released."""
    now = now or timezone.now()
    quiet_since = now - fraud_rules.STALE_AFTER
    released = 0
    with tenant_scope(organization_id):
        stale = list(FraudCase.objects.filter(organization_id=organization_id, status=CaseStatus.OPEN,
                                              last_signal_at__lte=quiet_since).order_by("pk"))
    for case in stale:
        try:
            closed = _close(case, CaseStatus.RELEASED, None, "Released automatically: no new signal for "
                            f"{fraud_rules.STALE_AFTER.days} days.", now=now, quiet_since=quiet_since)
        except RewardError:
            continue  # closed by an admin meanwhile
        released += closed is not None
    return released


def organizations_with_stale_cases(now: datetime | None = None) -> list[int]:
    """Platform-wide on purpose (the beat's dispatcher): call in scopes_disabled()."""
    quiet_since = (now or timezone.now()) - fraud_rules.STALE_AFTER
    return sorted(set(FraudCase.objects.filter(status=CaseStatus.OPEN, last_signal_at__lte=quiet_since)
                      .values_list("organization_id", flat=True)))
