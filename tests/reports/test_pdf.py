"""The programme report's PDF: asked for on the reports page, produced by the Celery task (in
process through Celery's own apply(), and by a real worker), stored, downloaded, e-mailed; its
text, read back with pypdf, carries the overview page's key figures for the same period.

Acceptance (issue 15): the PDF of the demo programme contains the key figures of the overview
page of the same period, on PostgreSQL and SQLite."""

import html
import io
import re
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from django.core import mail
from django.core.files.storage import default_storage
from django.core.management import call_command
from django.utils import timezone
from django_scopes import scopes_disabled
from pypdf import PdfReader

from common import outbox
from common.models import OutboxEvent
from reports import services
from reports.models import ProgrammeReport, ReportStatus
from reports.periods import Period, local_today
from reports.tasks import produce_programme_report
from tenancy.models import Organization, Role
from tenancy.scoping import tenant_scope
from tests.factories import OrganizationFactory, member
from tests.support.programmes import WEEK, build_programme

NEW_YORK = ZoneInfo("America/New_York")


def pdf_text(data: bytes) -> str:
    """The PDF's text, one space for any run of white space (WeasyPrint may set thin or
    no-break spaces where the HTML had them)."""
    reader = PdfReader(io.BytesIO(data))
    return normalise(" ".join(page.extract_text() for page in reader.pages))


def normalise(text: str) -> str:
    return re.sub(r"\s+", " ", text.replace("\u00a0", " ").replace("\u202f", " ")).strip()


def overview_cards(response) -> dict[str, str]:
    """The overview page's key figures as shown: data-figure name → the value's text."""
    page = response.content.decode()
    cards = re.findall(r'data-figure="(\w+)".*?class="value"[^>]*>(.*?)</div>', page, re.S)
    return {name: normalise(html.unescape(re.sub(r"<[^>]+>", "", value))) for name, value in cards}


def produce(report) -> bool:
    """The real task, run by Celery in this process (apply: same code path as a worker's)."""
    return produce_programme_report.apply(args=[report.organization_id, report.pk]).get()


def stored_pdf(report) -> bytes:
    with default_storage.open(report.file, "rb") as handle:
        return handle.read()


@pytest.fixture
def demo(db):
    call_command("seed_demo")
    return Organization.objects.get(slug="northwind")


def test_the_demo_programmes_pdf_carries_the_overview_pages_key_figures(demo, client):
    """Acceptance: a manager asks for the PDF of the last 90 days on the reports page, the task
    makes it, the page offers it for download, and its text holds every key figure of the
    overview page of the same period, as that page shows it."""
    manager = member(demo, Role.MANAGER, email="board@northwind.example", first_name="Bea")
    client.force_login(manager)
    today = local_today(demo.tzinfo)
    query = {"period": "custom", "start": (today - timedelta(days=89)).isoformat(), "end": today.isoformat()}

    response = client.post(f"/o/{demo.slug}/reports/pdf/", query)
    assert response.status_code == 302
    with tenant_scope(demo):
        report = ProgrammeReport.objects.get()
    assert report.status == ReportStatus.QUEUED and report.requested_by == manager
    page = client.get(f"/o/{demo.slug}/reports/pdf/")
    assert 'data-status="queued"' in page.content.decode() and "Queued" in page.content.decode()
    # The request's outbox event queues the task (the broker is there: handled at once).
    assert outbox.sweep() == 1
    assert OutboxEvent.objects.get(key=f"programme-report:{report.public_id}").processed_at is not None

    assert produce(report) is True
    report.refresh_from_db()
    assert report.status == ReportStatus.READY and report.size > 10_000
    assert report.file.startswith(f"programme-reports/org-{demo.pk}/")

    page = client.get(f"/o/{demo.slug}/reports/pdf/").content.decode()
    link = f"/o/{demo.slug}/reports/pdf/{report.public_id}.pdf"
    assert 'data-status="ready"' in page and f'href="{link}"' in page
    download = client.get(link)
    assert download.status_code == 200 and download["Content-Type"] == "application/pdf"
    assert "attachment" in download["Content-Disposition"]
    data = b"".join(download.streaming_content)
    assert data.startswith(b"%PDF-") and data == stored_pdf(report)

    text = pdf_text(data)
    overview = client.get(f"/o/{demo.slug}/reports/", query)
    assert overview.status_code == 200
    cards = overview_cards(overview)
    assert {"clicks", "leads", "customers", "revenue", "cost", "roi"} <= set(cards), cards
    assert cards["revenue"] not in ("0", "0.00") and cards["roi"] != "—"  # the demo has something to show
    missing = {name: value for name, value in cards.items() if value not in text}
    assert not missing, f"key figures of the overview missing from the PDF: {missing}\n{text[:1500]}"

    reader = PdfReader(io.BytesIO(data))
    width, height = (round(float(side)) for side in reader.pages[0].mediabox.upper_right)
    assert (width, height) == (595, 842)  # A4 in points
    assert f"Page 1 of {len(reader.pages)}" in text
    assert "Northwind" in text and "Ambassador programme report" in text
    assert "How ROI is worked out" in text and "Revenue against cost" in text
    assert "Revenue so far (EUR) Cost so far (EUR) · per week" in text  # 90 days: a line per week
    assert "Top ambassadors" in text and "Campaigns" in text
    with tenant_scope(demo):
        from reports.filters import ReportFilter
        from reports.selectors.roi import roi_list
        from reports.selectors.summary import top_ambassadors

        f = ReportFilter(demo.pk, Period(report.period_start, report.period_end, demo.tzinfo))
        assert all(row.name in text for row in top_ambassadors(f, 5))
        assert all(row.campaign.name in text for row in roi_list(f)[:-1])


@pytest.fixture
def gotham(db):
    org = OrganizationFactory(name="Gotham Goods", slug="gotham", time_zone="America/New_York", currency="USD")
    build_programme(org)
    return org


def week():
    return Period(*(timezone.datetime.fromisoformat(day).date() for day in WEEK), NEW_YORK)


def test_the_pdf_of_a_known_week_shows_its_figures_and_how_roi_is_worked_out(gotham):
    """tests/support/programmes.py's week: revenue 300.00, cost = spend 100.00 + time 24.00 =
    124.00, ROI (300 − 124) / 124 = 141.9 %; Ada first among the ambassadors."""
    manager = member(gotham, Role.MANAGER)
    with tenant_scope(gotham):
        report, created = services.request_programme_report(gotham, manager, week())
        assert created and produce(report)
        report.refresh_from_db()
        text = pdf_text(stored_pdf(report))
    assert "2 March 2026 – 8 March 2026" in text and "Gotham Goods" in text
    for figure in ("$300.00", "$124.00", "$100.00", "$24.00", "141.9 %"):
        assert figure in text, figure
    assert "spend $100.00 + rewards $0.00 + time $24.00 = cost $124.00; revenue $300.00; ROI 141.9 %" in text
    assert text.index("Ada Lovelace") < text.index("Ben Franklin")
    assert "Spring" in text
    assert "The programme paid for itself by" in text  # 300.00 of revenue against 124.00 of cost
    assert "too short for a line over time" in text  # one week: the period's revenue and cost as two bars


def test_asking_again_for_a_period_being_produced_joins_it(gotham, client):
    first, second = member(gotham, Role.MANAGER), member(gotham, Role.ADMIN)
    query = {"period": "custom", "start": WEEK[0], "end": WEEK[1]}
    client.force_login(first)
    client.post(f"/o/{gotham.slug}/reports/pdf/", query)
    client.force_login(second)
    response = client.post(f"/o/{gotham.slug}/reports/pdf/", {**query, "email": "on"}, follow=True)
    assert "already being produced" in response.content.decode()
    with tenant_scope(gotham):
        report = ProgrammeReport.objects.get()  # one report, one outbox event: one piece of work
        assert report.email_user_ids == [second.pk]
        assert OutboxEvent.objects.filter(topic=services.REQUESTED_TOPIC).count() == 1
        # Running counts as under way too; once ready, asking again makes a new one.
        assert produce(report)
        again, created = services.request_programme_report(gotham, first, week())
        assert created and again.pk != report.pk
        assert produce(report) is False  # a second delivery of the task does nothing
        assert ProgrammeReport.objects.filter(status=ReportStatus.READY).count() == 1


def test_the_requester_gets_an_email_with_the_download_link(gotham, client, settings):
    manager = member(gotham, Role.MANAGER, email="pat@gotham.test", first_name="Pat")
    gone = member(gotham, Role.MANAGER, email="gone@gotham.test")
    with tenant_scope(gotham):
        report, _ = services.request_programme_report(gotham, manager, week(), email=True)
        services.request_programme_report(gotham, gone, week(), email=True)
        from tenancy.models import Membership

        Membership.objects.filter(user=gone).update(role=Role.AMBASSADOR)  # no longer a manager
        assert produce(report)
    outbox.sweep()
    assert [message.to for message in mail.outbox] == [["pat@gotham.test"]]
    message = mail.outbox[0]
    link = f"{settings.SITE_URL}/o/{gotham.slug}/reports/pdf/{report.public_id}.pdf"
    assert message.subject.endswith("Programme report 2 Mar 2026 – 8 Mar 2026 is ready"), message.subject
    assert link in message.body
    assert link in message.alternatives[0][0]
    outbox.sweep()
    assert len(mail.outbox) == 1  # once
    client.force_login(manager)
    assert client.get(link.removeprefix(settings.SITE_URL)).status_code == 200


def test_a_report_that_cannot_be_stored_fails_with_the_reason(gotham, client, settings, tmp_path):
    manager = member(gotham, Role.MANAGER)
    blocked = tmp_path / "not-a-directory"
    blocked.write_text("a file where the storage wants its folder")
    settings.MEDIA_ROOT = str(blocked)
    with tenant_scope(gotham):
        report, _ = services.request_programme_report(gotham, manager, week())
        assert produce(report) is False
        report.refresh_from_db()
    assert report.status == ReportStatus.FAILED
    assert report.failure.startswith("The PDF could not be stored (Not a directory)"), report.failure
    assert str(tmp_path) not in report.failure  # no server path shown
    client.force_login(manager)
    page = client.get(f"/o/{gotham.slug}/reports/pdf/").content.decode()
    assert 'data-status="failed"' in page and html.escape(report.failure) in page
    assert client.get(f"/o/{gotham.slug}/reports/pdf/{report.public_id}.pdf").status_code == 404
    with tenant_scope(gotham):  # a failed report doesn't block asking again
        assert services.request_programme_report(gotham, manager, week())[1] is True


def test_a_report_whose_worker_died_is_failed_when_asked_for_again(gotham):
    manager = member(gotham, Role.MANAGER)
    with tenant_scope(gotham):
        report, _ = services.request_programme_report(gotham, manager, week())
        ProgrammeReport.objects.filter(pk=report.pk).update(status=ReportStatus.RUNNING,
                                                            started_at=timezone.now() - timedelta(minutes=20))
        again, created = services.request_programme_report(gotham, manager, week())
        report.refresh_from_db()
    assert created and again.pk != report.pk
    assert report.status == ReportStatus.FAILED and "ask for it again" in report.failure


def test_the_beat_fails_reports_whose_worker_died_in_every_organisation(gotham):
    from reports.tasks import fail_stale_programme_reports

    rival = OrganizationFactory(name="Rival", slug="rival")
    reports = {}
    for org, minutes in ((gotham, 20), (rival, 16), (gotham, 2)):
        with tenant_scope(org):
            reports[org.slug, minutes] = services.request_programme_report(org, member(org, Role.MANAGER), Period(
                week().start, week().end - timedelta(days=minutes % 7), NEW_YORK))[0]
    with scopes_disabled():
        for (_, minutes), report in reports.items():
            ProgrammeReport.objects.filter(pk=report.pk).update(
                status=ReportStatus.RUNNING, started_at=timezone.now() - timedelta(minutes=minutes))
    assert fail_stale_programme_reports.apply().get() == 2
    with scopes_disabled():
        statuses = {key: ProgrammeReport.objects.get(pk=report.pk).status for key, report in reports.items()}
    assert statuses == {("gotham", 20): "failed", ("rival", 16): "failed", ("gotham", 2): "running"}


def test_a_bad_period_is_a_400_saying_why(gotham, client):
    client.force_login(member(gotham, Role.MANAGER))
    response = client.post(f"/o/{gotham.slug}/reports/pdf/", {"period": "custom", "start": "2026-03-09",
                                                               "end": "2026-03-01"})
    assert response.status_code == 400
    assert "The end date is before the start date." in response.content.decode()
    response = client.post(f"/o/{gotham.slug}/reports/pdf/", {"period": "custom", "start": "yesterday"})
    assert response.status_code == 400 and "is not a date like" in response.content.decode()
    with tenant_scope(gotham):
        assert not ProgrammeReport.objects.exists()


def test_another_organisations_report_is_a_404_and_ambassadors_get_403(gotham, client):
    rival = OrganizationFactory(name="Rival", slug="rival")
    theirs_by = member(rival, Role.OWNER)
    with tenant_scope(rival):
        theirs, _ = services.request_programme_report(rival, theirs_by, week())
        assert produce(theirs)
    owner = member(gotham, Role.OWNER)
    client.force_login(owner)
    assert client.get(f"/o/{gotham.slug}/reports/pdf/{theirs.public_id}.pdf").status_code == 404
    assert client.get(f"/o/{rival.slug}/reports/pdf/{theirs.public_id}.pdf").status_code == 404
    assert client.get(f"/o/{rival.slug}/reports/pdf/").status_code == 404
    assert str(theirs.public_id) not in client.get(f"/o/{gotham.slug}/reports/pdf/").content.decode()
    client.force_login(theirs_by)  # the control: the URL is real
    assert client.get(f"/o/{rival.slug}/reports/pdf/{theirs.public_id}.pdf").status_code == 200

    client.force_login(member(gotham, Role.AMBASSADOR, ambassador=True))
    assert client.get(f"/o/{gotham.slug}/reports/pdf/").status_code == 403
    assert client.post(f"/o/{gotham.slug}/reports/pdf/", {"period": "7d"}).status_code == 403


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("broker", ["filesystem", pytest.param("redis", marks=pytest.mark.services)])
def test_a_real_worker_produces_the_pdf(start_worker, settings, broker):
    """A Celery worker (a separate process, on the broker) runs the task against the test
    database and the same storage; the stored PDF has the week's figures."""
    org = OrganizationFactory(name="Gotham Goods", slug="gotham", time_zone="America/New_York", currency="USD")
    build_programme(org)
    manager = member(org, Role.MANAGER)
    with tenant_scope(org):
        report, _ = services.request_programme_report(org, manager, week())
    worker = start_worker(broker, MEDIA_ROOT=str(settings.MEDIA_ROOT))

    task_id = worker.send(produce_programme_report, org.pk, report.pk)

    assert worker.wait_for_result(task_id) == "True"
    with scopes_disabled():
        report.refresh_from_db()
    assert report.status == ReportStatus.READY
    text = pdf_text(stored_pdf(report))
    assert "Gotham Goods" in text and "$300.00" in text and "141.9 %" in text
    # Delivered twice (a redelivery after a lost ack): nothing more happens.
    assert worker.wait_for_result(worker.send(produce_programme_report, org.pk, report.pk)) == "False"


def test_the_overview_links_to_the_pdf_page_with_its_period(gotham, client):
    client.force_login(member(gotham, Role.MANAGER))
    query = f"period=custom&start={WEEK[0]}&end={WEEK[1]}"
    overview = client.get(f"/o/{gotham.slug}/reports/?{query}").content.decode()
    link = f"/o/{gotham.slug}/reports/pdf/?{query}"
    assert f'href="{html.escape(link)}"' in overview
    page = client.get(link).content.decode()
    assert '<option value="custom" selected>' in page
    assert f'value="{WEEK[0]}"' in page and f'value="{WEEK[1]}"' in page


def test_the_line_charts_axes_cover_the_figures_at_round_ticks():
    from decimal import Decimal

    from reports.charts import line_chart, nice_step

    assert [nice_step(Decimal(top)) for top in ("11666.31", "400", "0.3", "0")] == \
        [Decimal(5000), Decimal(100), Decimal("0.1"), Decimal(1)]
    revenue = [Decimal(0), Decimal("990.00"), Decimal("11666.31")]
    cost = [Decimal("45.75"), Decimal("2809.42"), Decimal("4907.92")]
    chart = line_chart(["w1", "w2", "w3"], [("Revenue so far", revenue), ("Cost so far", cost)], marker=2, unit="EUR")
    assert [tick["label"] for tick in chart["y_ticks"]] == ["0", "5,000", "10,000", "15,000", "20,000"]
    assert chart["y_ticks"][0]["y"] == chart["bottom"] and chart["y_ticks"][-1]["y"] == chart["top"]
    revenue = chart["lines"][0]["dots"]
    assert revenue[0] == {"x": chart["left"], "y": chart["bottom"]} and revenue[-1]["x"] == chart["right"]
    assert chart["top"] < revenue[-1]["y"] < chart["bottom"]  # 11,666.31 of 20,000: inside the plot
    assert chart["marker"] == {"x": chart["right"], "label": "w3", "end": True}


@pytest.mark.django_db(transaction=True)
def test_managers_asking_at_the_same_moment_get_one_report():
    """Four managers ask for the same week at once (threads, connections of their own): one
    report, one piece of work queued, and each of them on its e-mail list."""
    from tests.support.concurrency import at_once

    org = OrganizationFactory(name="Gotham Goods", slug="gotham", time_zone="America/New_York", currency="USD")
    managers = [member(org, Role.MANAGER) for _ in range(4)]

    def ask(i):
        with tenant_scope(org):
            report, created = services.request_programme_report(org, managers[i], week(), email=True)
            return report.pk, created

    results = at_once(ask, 4)
    assert len({pk for pk, _ in results}) == 1
    assert sorted(created for _, created in results) == [False, False, False, True]
    with tenant_scope(org):
        report = ProgrammeReport.objects.get()
        assert sorted(report.email_user_ids) == sorted(manager.pk for manager in managers)
        assert OutboxEvent.objects.filter(topic=services.REQUESTED_TOPIC).count() == 1


def test_the_api_asks_for_a_report_and_tells_its_status(gotham, client):
    manager = member(gotham, Role.MANAGER)
    client.force_login(manager)
    api = f"/api/v1/o/{gotham.slug}/reports/pdf/"
    response = client.post(api, {"period": "custom", "start": WEEK[0], "end": WEEK[1], "email": True},
                           content_type="application/json")
    assert response.status_code == 202, response.content
    body = response.json()
    assert body["status"] == "queued" and body["download_url"] is None
    assert (body["period_start"], body["period_end"]) == WEEK
    again = client.post(api, {"period": "custom", "start": WEEK[0], "end": WEEK[1]}, content_type="application/json")
    assert again.status_code == 200 and again.json()["id"] == body["id"]  # joined, not a second one

    with tenant_scope(gotham):
        report = ProgrammeReport.objects.get(public_id=body["id"])
        assert report.email_user_ids == [manager.pk]
        assert produce(report)
    detail = client.get(f"{api}{body['id']}/").json()
    assert detail["status"] == "ready" and detail["size"] > 0
    assert detail["download_url"] == f"/o/{gotham.slug}/reports/pdf/{body['id']}.pdf"
    assert client.get(detail["download_url"]).status_code == 200
    assert [item["id"] for item in client.get(api).json()] == [body["id"]]

    bad = client.post(api, {"period": "custom", "start": "2026-03-09", "end": "2026-03-01"},
                      content_type="application/json")
    assert bad.status_code == 400 and bad.json() == {"period": ["The end date is before the start date."]}
    bad = client.post(api, {"period": "fortnight"}, content_type="application/json")
    assert bad.status_code == 400 and "period" in bad.json()

    rival = OrganizationFactory(name="Rival", slug="rival")
    with tenant_scope(rival):
        theirs, _ = services.request_programme_report(rival, member(rival, Role.OWNER), week())
    assert client.get(f"{api}{theirs.public_id}/").status_code == 404
    assert client.get(f"/api/v1/o/{rival.slug}/reports/pdf/").status_code == 404
    client.force_login(member(gotham, Role.AMBASSADOR, ambassador=True))
    assert client.get(api).status_code == 403
