"""One unit per figure (reports/figures.py and its template filters): ROI and rates in %, money
with its currency in the organisation's locale, credited leads and customers to one decimal with
an explanation once per page; an ambassador with no activity is "Unranked", not "Rank 1 of 1";
a 404 and a 403 are logged once, in one line, without a traceback."""

import io
import logging
import re
import uuid
from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from ambassadors.models import Ambassador
from reports import figures
from reports.figures import (
    format_credited,
    format_money,
    format_number,
    format_per,
    format_percent,
    format_roi,
    roi_percent,
)
from tenancy.models import Role
from tenancy.scoping import tenant_scope
from tests.factories import OrganizationFactory, member
from tests.support.responses import content, csv_rows
from tests.support.scenario import Scenario

MARCH = {"period": "custom", "start": "2026-03-01", "end": "2026-03-31"}
NOTE = 'data-note="credit"'


# --- the formatting (pure) --------------------------------------------------------------------

def test_roi_and_rates_are_percentages_to_one_decimal():
    assert format_roi(Decimal("9.1239")) == "912.4 %"
    assert format_roi(Decimal("7.1855")) == "718.6 %"  # half up, not to even
    assert format_roi(Decimal("-0.3512")) == "\u221235.1 %"  # a real minus sign
    assert format_roi(Decimal("12.5")) == "1,250.0 %"
    assert format_roi(None) == "—"  # nothing to divide by
    assert format_percent(Decimal("0.9193")) == "91.9 %"
    assert roi_percent(Decimal("9.1239")) == Decimal("912.39") and roi_percent(None) is None


def test_money_has_its_currency_in_the_locale():
    en = figures.locale_of(None)
    assert format_money(Decimal("1234.5"), "EUR", locale=en) == "€1,234.50"
    assert format_money(Decimal("-33.34"), "USD", locale=en) == "\u2212$33.34"
    assert format_money(Decimal("1234.5"), "SEK", locale=en) == "SEK\u00a01,234.50"  # not "SEK1,234.50"
    assert format_money(Decimal("1234"), "JPY", locale=en) == "¥1,234"  # no cents in yen
    assert format_money(None, "EUR") == "—"

    class German:  # an organisation that knows its locale (Organization has none yet: the site's language)
        currency, locale = "EUR", "de-de"

    assert format_money(Decimal("1234.5"), "EUR", locale=figures.locale_of(German())) == "1.234,50\u00a0€"
    assert format_roi(Decimal("7.1855"), locale=figures.locale_of(German())) == "718,6 %"


def test_credited_leads_read_to_one_decimal():
    assert format_credited(Decimal("14.1666")) == "14.2"
    assert format_credited(Decimal("3.2500")) == "3.3"
    assert format_credited(Decimal("3.0000")) == "3"
    assert format_credited(Decimal("0.1666")) == "0.2"
    assert format_credited(Decimal("0.0300")) == "< 0.1"  # something was credited: not "0.0"
    assert format_credited(Decimal("0")) == "0"
    assert format_per(Decimal("9.3333"), "per share") == "9.3 per share"
    assert format_number(1234567) == "1,234,567"


def test_csv_columns_name_their_unit():
    assert figures.csv_header(["campaign", "revenue", "roi", "leads", "shares", "linear_revenue", "rate_unique",
                               "clicks_per_share"], "EUR") == [
        "campaign", "revenue (EUR)", "roi (%)", "leads (credited)", "shares", "linear_revenue (EUR)",
        "rate_unique (%)", "clicks_per_share (per share)"]


# --- the pages ----------------------------------------------------------------------------------

def ambassador(org, name):
    """An ambassador who can sign in (a member of the organisation)."""
    user = member(org, Role.AMBASSADOR, ambassador=True, email=f"{name.lower()}@acme.test")
    with tenant_scope(org):
        person = Ambassador.objects.get(user=user)
        person.display_name = name
        person.save(update_fields=["display_name"])
    return person


@pytest.fixture
def split_lead(org):
    """One lead, last week, of a visitor who clicked three ambassadors' links: under the linear
    model each gets a third of it (0.3333) and a third of the 100.00 sale."""
    s = Scenario(org)
    campaign = s.campaign("Spring")
    people = [ambassador(org, name) for name in ("Ann", "Bob", "Cy")]
    links = [s.link(campaign, person) for person in people]
    visitor = s.visitor()
    now = timezone.now()
    for days_ago, link in zip((6, 5, 4), links, strict=True):
        visitor.clicks(link, now - timedelta(days=days_ago))
    s.process()
    visitor.lead("cus_1", at=now - timedelta(days=3)).buys("100.00")
    s.attribute()
    return {"campaign": campaign, "people": people}


@pytest.mark.django_db
def test_report_pages_round_credited_leads_and_explain_them_once(split_lead, org, manager, login):
    period = {"period": "30d"}
    client = login(manager)
    base = f"/o/{org.slug}/reports"
    campaign = split_lead["campaign"]
    pages = {"overview": f"{base}/", "leaderboard": f"{base}/leaderboard/", "roi": f"{base}/roi/",
             "roi detail": f"{base}/roi/{campaign.public_id}/", "funnel": f"{base}/funnel/",
             "models": f"{base}/models/"}
    for name, url in pages.items():
        response = client.get(url, period)
        assert response.status_code == 200, name
        html = content(response)
        assert html.count(NOTE) == 1, name  # the explanation, once per page
        assert "divides one lead between them" in html, name
        assert "0.3333" not in html and "0.333" not in html, name  # the exact value stays in CSV / API
    leaderboard = content(client.get(pages["leaderboard"], period | {"metric": "leads"}))
    assert leaderboard.count('data-field="leads">0.3<') == 3  # a third each, read as 0.3
    assert 'data-field="revenue">€33.34<' in leaderboard and 'data-field="revenue">€33.33<' in leaderboard
    funnel = content(client.get(pages["funnel"], period))
    assert "%" in funnel and "per share" in funnel


@pytest.mark.django_db
def test_an_ambassador_sees_a_third_of_a_lead_with_the_explanation(split_lead, org, login):
    ann = split_lead["people"][0]
    html = content(login(ann.user).get(reverse("org_home", args=[org.slug])))
    start = html.index('data-figure="leads"')
    assert '<div class="value">0.3</div>' in html[start:start + 200]
    assert html.count(NOTE) == 1


@pytest.mark.django_db
def test_an_ambassador_without_activity_is_unranked_not_first_of_one(org, login):
    newcomer = ambassador(org, "Nina")
    html = content(login(newcomer.user).get(reverse("org_home", args=[org.slug])))
    start = html.index('data-figure="rank"')
    block = html[start:html.index("</div></div>", start)]
    assert "Unranked" in block and "No activity in this period yet" in block
    assert " of 1" not in block and ">1<" not in block


@pytest.mark.django_db
def test_money_on_the_pages_follows_the_organisations_currency(login):
    yen = OrganizationFactory(name="Kyoto", slug="kyoto", currency="JPY")
    s = Scenario(yen)
    campaign = s.campaign("Sakura", minutes_per_share=Decimal("0"))
    visitor = s.visitor().clicks(s.link(campaign), s.at(2026, 3, 10, 9))
    s.process()
    visitor.lead("cus_1", at=s.at(2026, 3, 11, 9)).buys("12000")
    s.attribute()
    client = login(member(yen, Role.MANAGER))
    html = content(client.get(f"/o/{yen.slug}/reports/roi/", MARCH))
    table = html[html.index('id="roi-table"'):html.index("</table>", html.index('id="roi-table"'))]
    assert "¥12,000" in table and "12,000.00" not in table


# --- the logs -------------------------------------------------------------------------------------

@pytest.fixture
def console():
    """What every stream handler a django.request record reaches writes (the root's console
    handler of LOGGING in config/settings.py, and any handler of "django" or "django.request":
    Django's own console handler, DEBUG only, used to print each line a second time), in one buffer."""
    stream, swapped = io.StringIO(), []
    logger = logging.getLogger("django.request")
    while logger is not None:
        swapped += [(h, h.setStream(stream)) for h in logger.handlers if isinstance(h, logging.StreamHandler)
                    and not isinstance(h, logging.FileHandler)]
        logger = logger.parent if logger.propagate else None
    assert swapped, "no console handler"
    try:
        yield stream
    finally:
        for handler, old in swapped:
            handler.setStream(old)


@pytest.mark.django_db
@pytest.mark.parametrize("debug", [True, False])
def test_a_404_and_a_403_are_logged_once_in_one_line_without_traceback(debug, settings, console, caplog, org,
                                                                     ambassador_user, manager, login):
    settings.DEBUG = debug
    caplog.set_level(logging.INFO)
    client = login(manager)
    missing = f"/o/{org.slug}/reports/roi/{uuid.uuid4()}/"
    assert client.get(missing).status_code == 404  # the view's Http404
    assert client.get("/no-such-page/").status_code == 404  # no URL
    client = login(ambassador_user)
    assert client.get(f"/o/{org.slug}/reports/roi/").status_code == 403  # PermissionDenied (role)

    written = console.getvalue()
    lines = [line for line in written.splitlines() if line.strip()]
    assert "Traceback" not in written
    assert [line for line in lines if "Not Found" in line] == [f"Not Found: {missing}", "Not Found: /no-such-page/"]
    assert [line for line in lines if "Forbidden" in line] == [
        f"Forbidden (Permission denied): /o/{org.slug}/reports/roi/"]
    records = [r for r in caplog.records if r.name == "django.request"]
    assert len(records) == 3 and all(r.exc_info is None for r in records)
    assert [r.status_code for r in records] == [404, 404, 403]


@pytest.mark.django_db
def test_a_server_error_keeps_its_traceback(settings, console):
    settings.DEBUG = False
    logger = logging.getLogger("django.request")
    try:
        raise RuntimeError("boom")
    except RuntimeError:
        logger.error("Internal Server Error: /x/", exc_info=True, extra={"status_code": 500})
    assert "Traceback" in console.getvalue() and "RuntimeError: boom" in console.getvalue()


@pytest.mark.django_db
def test_funnel_rates_are_the_same_percentages_on_the_page_in_the_csv_and_the_api(split_lead, org, manager, login):
    """Shares → clicks is a multiplier ("per share"); every later step's rate is a percentage: one
    decimal on the page, exact in the CSV ("rate_unit" says %), a ratio in the API (× 100 the same)."""
    client = login(manager)
    period = {"period": "30d"}
    api = client.get(f"/api/v1/o/{org.slug}/reports/funnel/", period).json()["programme"]["rates"]
    exported = {row["step"]: row for row in csv_rows(client.get(f"/o/{org.slug}/reports/funnel.csv", period))}
    html = content(client.get(f"/o/{org.slug}/reports/funnel/", period))
    for step in ("unique", "leads", "customers"):
        row = html[html.index(f'data-step="{step}"'):]
        shown = re.findall(r'<td[^>]*class="num"[^>]*>([^<]*)</td>', row[:row.index("</tr>")])[1]
        assert shown.endswith(" %"), (step, shown)
        exact = Decimal(exported[step]["rate_from_previous"])
        assert exported[step]["rate_unit"] == "%"
        assert exact == Decimal(api[step]) * 100, step
        assert Decimal(shown[:-2]) == exact.quantize(Decimal("0.1")), step
    assert exported["clicks"]["rate_unit"] == "clicks per share"  # no share here: "—" on the page, empty in CSV
    assert exported["clicks"]["rate_from_previous"] == "" and api["clicks"] is None
