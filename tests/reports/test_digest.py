"""The managers' e-mail digest: due at 07:00 local on the Monday (weekly) or the 1st (monthly)
in the organisation's time zone, sent once per period, key figures in the HTML, the CSV
attached equal to the dashboard; subscriptions page, preview and API."""

import csv
import io
import threading
import time
from datetime import date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.core import mail

from reports import digest
from reports.filters import ReportFilter
from reports.models import ReportSubscription
from reports.periods import Period
from reports.selectors.summary import ambassador_rows, key_figures
from reports.tasks import send_due_digests as send_due_digests_task
from tenancy.models import Membership, Role
from tenancy.scoping import scopes_disabled, tenant_scope
from tests.factories import OrganizationFactory, member
from tests.support.programmes import WEEK, build_programme

UTC = ZoneInfo("UTC")
BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")


@pytest.fixture
def berlin(db):
    return OrganizationFactory(name="Berliner Bikes", slug="berlin", time_zone="Europe/Berlin", currency="EUR")


@pytest.fixture
def gotham(db):
    return OrganizationFactory(name="Gotham Goods", slug="gotham", time_zone="America/New_York", currency="USD")


def subscribed_manager(org, frequency="weekly", *, since=datetime(2026, 3, 4, 12, tzinfo=UTC), **kwargs):
    user = member(org, Role.MANAGER, **kwargs)
    with tenant_scope(org):
        digest.subscribe(org, user, frequency, now=since)
    return user


def subscription(org, user, frequency="weekly"):
    with tenant_scope(org):
        return ReportSubscription.objects.get(organization=org, user=user, frequency=frequency)


def test_periods_are_the_last_complete_local_week_and_month():
    # Monday 9 March 00:30 in Berlin is still Sunday 8 March in UTC.
    now = datetime(2026, 3, 8, 23, 30, tzinfo=UTC)
    week = digest.digest_period("weekly", BERLIN, now)
    assert (week.start, week.end) == (date(2026, 3, 2), date(2026, 3, 8))
    week_utc = digest.digest_period("weekly", UTC, now)
    assert (week_utc.start, week_utc.end) == (date(2026, 2, 23), date(2026, 3, 1))
    month = digest.digest_period("monthly", NEW_YORK, datetime(2026, 3, 1, 3, tzinfo=UTC))  # 28 Feb, 22:00 NY
    assert (month.start, month.end) == (date(2026, 1, 1), date(2026, 1, 31))
    month = digest.digest_period("monthly", NEW_YORK, datetime(2026, 3, 1, 5, tzinfo=UTC))  # 1 Mar, 00:00 NY
    assert (month.start, month.end) == (date(2026, 2, 1), date(2026, 2, 28))
    assert month.previous().start == date(2026, 1, 1)


def test_weekly_is_due_at_monday_07_00_local_and_not_a_minute_before(berlin, gotham):
    in_berlin = subscribed_manager(berlin, email="berlin@example.com")
    in_new_york = subscribed_manager(gotham, email="gotham@example.com")

    assert digest.send_due_digests(datetime(2026, 3, 9, 6, 59, tzinfo=BERLIN)) == 0
    assert mail.outbox == []

    assert digest.send_due_digests(datetime(2026, 3, 9, 7, 0, tzinfo=BERLIN)) == 1  # 06:00 UTC, 02:00 in New York
    assert [message.to for message in mail.outbox] == [["berlin@example.com"]]
    assert "2 Mar – 8 Mar 2026" in mail.outbox[0].subject and "Berliner Bikes" in mail.outbox[0].subject
    assert subscription(berlin, in_berlin).last_period_end == date(2026, 3, 8)

    # New York is on summer time since 8 March: 07:00 there is 11:00 UTC.
    assert digest.send_due_digests(datetime(2026, 3, 9, 10, 59, tzinfo=UTC)) == 0
    assert digest.send_due_digests(datetime(2026, 3, 9, 11, 0, tzinfo=UTC)) == 1
    assert [message.to for message in mail.outbox[1:]] == [["gotham@example.com"]]
    assert subscription(gotham, in_new_york).last_sent_at == datetime(2026, 3, 9, 11, 0, tzinfo=UTC)


def test_sent_once_per_period_however_often_the_task_runs(berlin):
    subscribed_manager(berlin)
    monday = datetime(2026, 3, 9, 7, 5, tzinfo=BERLIN)
    assert digest.send_due_digests(monday) == 1
    assert digest.send_due_digests(monday) == 0
    assert digest.send_due_digests(datetime(2026, 3, 12, 9, tzinfo=BERLIN)) == 0  # later that week
    assert len(mail.outbox) == 1
    assert digest.send_due_digests(datetime(2026, 3, 16, 7, 0, tzinfo=BERLIN)) == 1  # the next Monday
    assert len(mail.outbox) == 2


def test_a_digest_the_beat_missed_goes_out_late_not_never(berlin):
    """Regression (CI, Monday 00:20 in Berlin): between Monday 00:00 and 07:00 local the newest
    due digest is the week before last; one that was missed (beat down) was skipped until the
    next period's send time instead of going out."""
    subscribed_manager(berlin, since=datetime(2026, 2, 25, 12, tzinfo=UTC))  # last sent: 16–22 Feb
    assert digest.send_due_digests(datetime(2026, 3, 9, 0, 20, tzinfo=BERLIN)) == 1  # 23 Feb – 1 Mar, late
    assert "23 Feb" in mail.outbox[0].subject
    assert digest.send_due_digests(datetime(2026, 3, 9, 6, 59, tzinfo=BERLIN)) == 0
    assert digest.send_due_digests(datetime(2026, 3, 9, 7, 0, tzinfo=BERLIN)) == 1  # 2–8 March, on time
    assert len(mail.outbox) == 2


@pytest.mark.parametrize("frequency", ["weekly", "monthly"])
def test_the_latest_due_period_is_the_newest_whose_send_time_has_come(frequency):
    """Hour by hour over ten weeks (a DST change included): its send time has come, and the
    send time of the period after it hasn't."""
    now = datetime(2026, 2, 20, 0, 30, tzinfo=UTC)
    while now < datetime(2026, 5, 1, tzinfo=UTC):
        period = digest.latest_due_period(frequency, BERLIN, now)
        following = digest.digest_period(frequency, BERLIN, digest.send_time(period) + timedelta(days=40 if
                                         frequency == "monthly" else 7))
        assert digest.send_time(period) <= now, (frequency, now, period)
        assert following.previous() == period and digest.send_time(following.previous()) <= now
        later = [p for p in (digest.digest_period(frequency, BERLIN, now),) if p.end > period.end]
        assert all(digest.send_time(p) > now for p in later), (frequency, now, period)
        now += timedelta(hours=1)


def test_the_celery_task_sends_what_is_due(berlin):
    subscribed_manager(berlin, since=datetime(2020, 1, 1, tzinfo=UTC))  # long ago: a digest is due now
    assert send_due_digests_task() == 1
    assert send_due_digests_task() == 0
    assert len(mail.outbox) == 1


def test_a_new_subscription_starts_with_the_next_period_not_an_old_one(berlin):
    subscribed_manager(berlin, since=datetime(2026, 3, 11, 12, tzinfo=UTC))  # Wednesday
    assert digest.send_due_digests(datetime(2026, 3, 11, 12, 15, tzinfo=UTC)) == 0
    assert digest.send_due_digests(datetime(2026, 3, 16, 7, 0, tzinfo=BERLIN)) == 1


def test_monthly_on_the_first_at_07_00_local(gotham):
    subscribed_manager(gotham, "monthly", email="monthly@example.com")
    assert digest.send_due_digests(datetime(2026, 3, 31, 23, 59, tzinfo=NEW_YORK)) == 0
    assert digest.send_due_digests(datetime(2026, 4, 1, 6, 59, tzinfo=NEW_YORK)) == 0
    assert digest.send_due_digests(datetime(2026, 4, 1, 7, 0, tzinfo=NEW_YORK)) == 1
    assert digest.send_due_digests(datetime(2026, 4, 1, 7, 15, tzinfo=NEW_YORK)) == 0
    (message,) = mail.outbox
    assert "March 2026" in message.subject
    assert [name for name, _, _ in message.attachments] == ["ambassadors-2026-03-01-2026-03-31.csv"]


def test_weekly_and_monthly_are_independent(gotham):
    user = subscribed_manager(gotham, "weekly", since=datetime(2026, 2, 25, 12, tzinfo=UTC))  # Wednesday
    with tenant_scope(gotham):
        digest.subscribe(gotham, user, "monthly", now=datetime(2026, 2, 20, tzinfo=UTC))
    # Sunday 1 March 2026, 07:00 New York: the monthly digest (February) is due, the weekly one not yet.
    assert digest.send_due_digests(datetime(2026, 3, 1, 7, 0, tzinfo=NEW_YORK)) == 1
    assert "February 2026" in mail.outbox[0].subject
    assert digest.send_due_digests(datetime(2026, 3, 2, 7, 0, tzinfo=NEW_YORK)) == 1
    assert "23 Feb – 1 Mar 2026" in mail.outbox[1].subject


def test_csv_attachment_and_html_equal_the_dashboard(gotham, login):
    build_programme(gotham)
    manager = subscribed_manager(gotham, email="boss@gotham.example")
    assert digest.send_due_digests(datetime(2026, 3, 9, 7, 0, tzinfo=NEW_YORK)) == 1
    (message,) = mail.outbox

    (name, content, mimetype), = message.attachments
    assert (name, mimetype) == (f"ambassadors-{WEEK[0]}-{WEEK[1]}.csv", "text/csv")
    reader = csv.DictReader(io.StringIO(content.lstrip("\ufeff")))
    rows = list(reader)
    assert reader.fieldnames == ["ambassador", "kind", "shares", "clicks", "unique_clicks", "leads (credited)",
                                 "customers (credited)", "revenue (USD)"]  # every column names its unit
    rows = [{key.split(" (")[0]: value for key, value in row.items()} for row in rows]
    period = Period(date.fromisoformat(WEEK[0]), date.fromisoformat(WEEK[1]), gotham.tzinfo)
    with tenant_scope(gotham):
        figures = key_figures(ReportFilter(gotham.pk, period)).current
        expected = ambassador_rows(ReportFilter(gotham.pk, period))
    assert [(row["ambassador"], row["kind"]) for row in rows] == [("Ada Lovelace", "internal"),
                                                                    ("Ben Franklin", "external")]
    assert [(int(r["shares"]), int(r["clicks"]), int(r["unique_clicks"]), Decimal(r["leads"]),
             Decimal(r["customers"]), Decimal(r["revenue"])) for r in rows] == [
        (e.shares, e.clicks, e.unique_clicks, e.leads, e.customers, e.revenue) for e in expected]
    totals = {field: sum(Decimal(row[field]) for row in rows)
              for field in ("shares", "clicks", "unique_clicks", "leads", "customers", "revenue")}
    assert totals == {"shares": figures.shares, "clicks": figures.clicks, "unique_clicks": figures.unique_clicks,
                      "leads": figures.leads, "customers": figures.customers, "revenue": figures.revenue}
    assert totals["revenue"] == Decimal("300.00") and totals["clicks"] == 15

    # The dashboard for the same week shows the same figures.
    page = login(manager).get(f"/o/{gotham.slug}/reports/", {"period": "custom", "start": WEEK[0], "end": WEEK[1]})
    cards = {card["name"]: card["value"] for card in page.context["cards"]}
    assert (cards["revenue"], cards["clicks"], cards["leads"]) == (totals["revenue"], 15, totals["leads"])

    (html, kind), = message.alternatives
    assert kind == "text/html"
    for shown in ("$300.00", "$124.00", "141.9 %", "+200.0 %", "Ada Lovelace", "Gotham Goods"):
        assert shown in html, shown
    assert "Revenue: $300.00 (+200.0 %; before $100.00)" in message.body
    assert "ROI: 141.9 %" in message.body and "divides one lead between them" in message.body
    assert f"/o/{gotham.slug}/reports/?period=custom&start={WEEK[0]}&end={WEEK[1]}" in message.body


def test_an_ex_manager_gets_nothing_and_loses_the_subscription(berlin):
    demoted = subscribed_manager(berlin, email="demoted@example.com")
    gone = subscribed_manager(berlin, email="gone@example.com")
    subscribed_manager(berlin, email="stays@example.com")
    with tenant_scope(berlin):
        Membership.objects.filter(organization=berlin, user=demoted).update(role=Role.AMBASSADOR)
        Membership.objects.filter(organization=berlin, user=gone).delete()
    assert digest.send_due_digests(datetime(2026, 3, 9, 8, tzinfo=BERLIN)) == 1
    assert [message.to for message in mail.outbox] == [["stays@example.com"]]
    with scopes_disabled():
        assert list(ReportSubscription.objects.values_list("user__email", flat=True)) == ["stays@example.com"]


def test_one_failing_mail_does_not_stop_the_others_and_is_retried(berlin, monkeypatch):
    subscribed_manager(berlin, email="first@example.com")
    subscribed_manager(berlin, email="second@example.com")
    real_send = digest.EmailMultiAlternatives.send

    def flaky(message, *args, **kwargs):
        if message.to == ["first@example.com"]:
            raise OSError("SMTP down")
        return real_send(message, *args, **kwargs)

    monkeypatch.setattr(digest.EmailMultiAlternatives, "send", flaky)
    monday = datetime(2026, 3, 9, 7, 0, tzinfo=BERLIN)
    assert digest.send_due_digests(monday) == 1
    assert [message.to for message in mail.outbox] == [["second@example.com"]]
    monkeypatch.setattr(digest.EmailMultiAlternatives, "send", real_send)
    assert digest.send_due_digests(monday) == 1  # the failed one is still due
    assert [message.to for message in mail.outbox[1:]] == [["first@example.com"]]


# --- The subscriptions page ----------------------------------------------------------------------

def test_subscribe_and_unsubscribe_on_the_page(berlin, login):
    manager = member(berlin, Role.MANAGER)
    client = login(manager)
    url = f"/o/{berlin.slug}/reports/digest/"
    assert "You are not subscribed." in client.get(url).content.decode()
    response = client.post(url, {"action": "subscribe", "frequency": "weekly"}, follow=True)
    assert 'data-subscribed="weekly"' in response.content.decode()
    assert [s.frequency for s in _subscriptions(berlin, manager)] == ["weekly"]
    client.post(url, {"action": "subscribe", "frequency": "monthly"})
    client.post(url, {"action": "unsubscribe", "frequency": "weekly"})
    assert [s.frequency for s in _subscriptions(berlin, manager)] == ["monthly"]
    bad = client.post(url, {"action": "subscribe", "frequency": "daily"})
    assert bad.status_code == 400 and "Choose a frequency" in bad.content.decode()
    assert mail.outbox == []


def _subscriptions(org, user):
    with tenant_scope(org):
        return list(ReportSubscription.objects.filter(user=user).order_by("frequency"))


def test_preview_sends_one_mail_now_and_subscribes_nobody(gotham, login):
    build_programme(gotham)
    manager = member(gotham, Role.MANAGER, email="preview@example.com")
    response = login(manager).post(f"/o/{gotham.slug}/reports/digest/", {"action": "preview", "frequency": "weekly"},
                                   follow=True)
    assert response.status_code == 200
    (message,) = mail.outbox
    assert message.to == ["preview@example.com"]
    assert message.attachments[0][0].startswith("ambassadors-") and message.alternatives
    assert "Sent the weekly digest" in response.content.decode()
    assert _subscriptions(gotham, manager) == []


def test_the_digest_pages_are_for_managers_of_this_organisation(berlin, other_org, login, client):
    url = f"/o/{berlin.slug}/reports/digest/"
    ambassador = member(berlin, Role.AMBASSADOR, ambassador=True)
    assert login(ambassador).get(url).status_code == 403
    assert client.post(url, {"action": "preview", "frequency": "weekly"}).status_code == 403
    client.force_login(member(other_org, Role.MANAGER))
    assert client.get(url).status_code == 404
    assert client.post(url, {"action": "preview", "frequency": "weekly"}).status_code == 404
    assert mail.outbox == []


# --- The API -------------------------------------------------------------------------------------

def test_subscription_api_is_per_user(berlin, login, client):
    url = f"/api/v1/o/{berlin.slug}/reports/digest/"
    first, second = member(berlin, Role.MANAGER), member(berlin, Role.ADMIN)
    api = login(first)
    assert api.get(url).json() == []
    created = api.post(url, {"frequency": "weekly"}, content_type="application/json")
    assert created.status_code == 201
    assert created.json()["frequency"] == "weekly" and created.json()["last_sent_at"] is None
    assert api.post(url, {"frequency": "weekly"}, content_type="application/json").status_code == 200
    assert api.post(url, {"frequency": "monthly"}, content_type="application/json").status_code == 201
    assert [row["frequency"] for row in api.get(url).json()] == ["monthly", "weekly"]
    bad = api.post(url, {"frequency": "daily"}, content_type="application/json")
    assert bad.status_code == 400 and "frequency" in bad.json()

    client.force_login(second)
    assert client.get(url).json() == []  # someone else's subscriptions are not yours
    assert client.delete(url).status_code == 204
    client.force_login(first)
    assert [row["frequency"] for row in client.get(url).json()] == ["monthly", "weekly"]
    assert client.delete(f"{url}?frequency=weekly").status_code == 204
    assert [row["frequency"] for row in client.get(url).json()] == ["monthly"]
    assert client.delete(f"{url}?frequency=yearly").status_code == 400


def test_subscription_api_roles_and_tenancy(berlin, other_org, login, client):
    url = f"/api/v1/o/{berlin.slug}/reports/digest/"
    assert login(member(berlin, Role.AMBASSADOR, ambassador=True)).get(url).status_code == 403
    client.force_login(member(other_org, Role.MANAGER))
    assert client.get(url).status_code == 404
    assert client.post(url, {"frequency": "weekly"}, content_type="application/json").status_code == 404
    with scopes_disabled():
        assert not ReportSubscription.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_a_digest_being_sent_by_another_beat_is_skipped_not_sent_twice(berlin):
    """Two beats at once (PostgreSQL): the row another sweep holds is skipped (skip_locked), and
    once that sweep has claimed the period, it is not due any more."""
    from django.db import connection, connections, transaction

    if not connection.features.has_select_for_update_skip_locked:
        pytest.skip("needs a database with SELECT … FOR UPDATE SKIP LOCKED (PostgreSQL)")
    user = subscribed_manager(berlin)
    monday = datetime(2026, 3, 9, 7, 0, tzinfo=BERLIN)
    locked, release = threading.Event(), threading.Event()

    def other_beat():
        try:
            with tenant_scope(berlin), transaction.atomic():
                row = ReportSubscription.objects.select_for_update().get(user=user)
                locked.set()
                release.wait(10)
                row.last_period_end = date(2026, 3, 8)  # it "sent" the digest
                row.save(update_fields=["last_period_end"])
        finally:
            connections.close_all()

    thread = threading.Thread(target=other_beat)
    thread.start()
    assert locked.wait(10)
    try:
        started = time.monotonic()
        assert digest.send_due_digests(monday) == 0  # locked: skipped, no waiting
        assert time.monotonic() - started < 5
    finally:
        release.set()
        thread.join(10)
    assert digest.send_due_digests(monday) == 0  # the other beat claimed this period
    assert mail.outbox == []
