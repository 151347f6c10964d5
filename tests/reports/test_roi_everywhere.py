"""ROI is one figure in one unit everywhere: for the same campaign (and the programme) and the
same period, every page, CSV, API field and the e-mail digest that shows ROI gives the same number
in percent (DESIGN.md "ROI": always shown as a percentage).

Where ROI shows (grep -rn "roi" templates/ reports/ portal/ notifications/):

* Campaign ROI (templates/reports/roi.html): each campaign's row and the programme's total;
* a campaign's ROI page (roi_detail.html): the "ROI = (revenue − cost) ÷ cost" line;
* the overview (reports/index.html): the ROI card, with and without the campaign filter;
* the revenue-against-cost chart on Campaign ROI and the overview ({% revenue_cost_chart %}): its data
  table's "Cumulative ROI (%)" at the end of the period (exact, like the CSV);
* the e-mail digest (reports/email/digest.html and .txt): the ROI card, programme only;
* the API: reports/roi/ (campaigns and total) and reports/roi/<id>/: `roi_percent` (and `roi`, the
  ratio kept for existing clients, whose × 100 must be the same number);
* the CSVs: roi.csv ("roi (%)" per campaign and the total) and roi/<id>.csv?table=figures;
* the board PDF's HTML (reports.pdf.render_html, what WeasyPrint prints): the ROI card, the campaign
  table's rows and total, and the cumulative ROI at the end of the period (revenue against cost
  over the whole period is the programme's ROI).

Pages and the digest round to one decimal ("110.9 %"); CSV and API are exact (2 places); a page's
figure must be the exact one rounded half up, and the text must carry the "%" unit."""

import re
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

import pytest

from reports.digest import build_digest
from reports.models import ReportSubscription
from reports.pdf import render_html
from reports.periods import Period
from tenancy.scoping import tenant_scope
from tests.support.responses import content, csv_rows
from tests.support.scenario import Scenario

MARCH = {"period": "custom", "start": "2026-03-01", "end": "2026-03-31"}
SHOWN = Decimal("0.1")


@pytest.fixture
def programme(org):
    """Spring: spend 500.00, 10 shares × 6 min × 60.00/h (60.00) and 3 × 6 min × 30.00/h (9.00),
    a sale of 1,200.00 whose visitor clicked both ambassadors' links (multi-touch): ROI
    (1200 − 569) / 569 = 110.90 %. Autumn: spend 100.00 and nothing sold: −100.00 %.
    The programme: (1200 − 669) / 669 = 79.37 %."""
    s = Scenario(org)
    spring = s.campaign("Spring", minutes_per_share=Decimal("6"))
    autumn = s.campaign("Autumn", minutes_per_share=Decimal("6"))
    ann = s.ambassador("Ann", hourly_rate=Decimal("60.00"))
    bob = s.ambassador("Bob", hourly_rate=Decimal("30.00"))
    ann_link, bob_link = s.link(spring, ann), s.link(spring, bob)
    s.cost(spring, date(2026, 3, 5), "500.00")
    s.cost(autumn, date(2026, 3, 6), "100.00")
    s.shares(ann_link, s.at(2026, 3, 10, 12), times=10)
    s.shares(bob_link, s.at(2026, 3, 10, 12), times=3)
    buyer = s.visitor().clicks(ann_link, s.at(2026, 3, 12, 10)).clicks(bob_link, s.at(2026, 3, 14, 10))
    s.process()
    buyer.lead("cus_1", at=s.at(2026, 3, 15, 11)).buys("1200.00", at=s.at(2026, 3, 20, 9))
    s.attribute()
    return {"spring": spring, "autumn": autumn}


def shown_percent(text: str) -> Decimal:
    """A page's ROI ("110.9 %", "−100.0 %", "1,234.5 %") as a number; it must say "%"."""
    text = " ".join(text.split())
    assert text.endswith(" %"), f"ROI shown without its unit: {text!r}"
    return Decimal(text[:-2].replace(",", "").replace("\u2212", "-"))


def rounded(exact: str | Decimal) -> Decimal:
    return Decimal(exact).quantize(SHOWN, rounding=ROUND_HALF_UP)


def row_roi(html: str, marker: str) -> str:
    """The ROI cell of the Campaign ROI table's row that carries `marker`."""
    start = html.index(marker)
    row = html[start:html.index("</tr>", start)]
    return re.search(r'class="num roi"[^>]*>([^<]*)<', row).group(1)


def final_cumulative_roi(html: str) -> str:
    """The last row's "Cumulative ROI (%)" in the revenue-against-cost chart's data table."""
    start = html.index("Cumulative ROI (%)")
    table = html[start:html.index("</tbody>", start)]
    last_row = table[table.rindex("<tr"):]
    return re.findall(r'<td class="num">([^<]*)</td>', last_row)[-1].replace("\u2212", "-").replace(",", "")


def card_roi(html: str) -> str:
    """The overview's (or the digest's) ROI card value."""
    start = html.index('data-figure="roi"')
    match = re.search(r'data-figure="roi"[^>]*>(?:\s*<div class="label">ROI</div>\s*<div class="value">)?([^<]*)<',
                      html[start - 200:])
    return match.group(1)


@pytest.mark.django_db
def test_every_page_csv_api_field_and_the_digest_show_the_same_roi_in_percent(programme, org, manager, login):
    client = login(manager)
    base, api = f"/o/{org.slug}/reports", f"/api/v1/o/{org.slug}/reports"
    spring, autumn = programme["spring"], programme["autumn"]

    # The API: the exact figures every other place is compared with.
    listed = client.get(f"{api}/roi/", MARCH).json()
    by_id = {row["campaign"]["id"]: row["figures"] for row in listed["campaigns"]}
    exact = {"spring": by_id[str(spring.public_id)]["roi_percent"],
             "autumn": by_id[str(autumn.public_id)]["roi_percent"], "programme": listed["total"]["roi_percent"]}
    assert exact == {"spring": "110.90", "autumn": "-100.00", "programme": "79.37"}  # worked by hand above
    for name, figures in (("spring", by_id[str(spring.public_id)]), ("autumn", by_id[str(autumn.public_id)]),
                          ("programme", listed["total"])):
        assert Decimal(figures["roi"]) * 100 == Decimal(exact[name]), name  # the ratio, kept, says the same
    for name, campaign in (("spring", spring), ("autumn", autumn)):
        detail = client.get(f"{api}/roi/{campaign.public_id}/", MARCH).json()["figures"]
        assert detail["roi_percent"] == exact[name] and Decimal(detail["roi"]) * 100 == Decimal(exact[name])

    # The CSVs: exact, in a column (or item) that says "%".
    exported = {row["campaign"]: row["roi (%)"] for row in csv_rows(client.get(f"{base}/roi.csv", MARCH))}
    assert exported == {"Spring": exact["spring"], "Autumn": exact["autumn"], "Total (programme)": exact["programme"]}
    for name, campaign in (("spring", spring), ("autumn", autumn)):
        items = {row["item"]: row["value"] for row in
                 csv_rows(client.get(f"{base}/roi/{campaign.public_id}.csv", MARCH | {"table": "figures"}))}
        assert items["roi (%)"] == exact[name], name

    # Campaign ROI: each row and the programme's total.
    roi_page = content(client.get(f"{base}/roi/", MARCH))
    assert shown_percent(row_roi(roi_page, f'data-campaign="{spring.public_id}"')) == rounded(exact["spring"])
    assert shown_percent(row_roi(roi_page, f'data-campaign="{autumn.public_id}"')) == rounded(exact["autumn"])
    assert shown_percent(row_roi(roi_page, "data-total")) == rounded(exact["programme"])
    assert "110.9 %" in roi_page and "\u2212100.0 %" in roi_page  # a real minus sign
    assert final_cumulative_roi(roi_page) == exact["programme"]  # the chart's table: exact, the header says %

    # Each campaign's ROI page.
    for name, campaign in (("spring", spring), ("autumn", autumn)):
        page = content(client.get(f"{base}/roi/{campaign.public_id}/", MARCH))
        figure = re.search(r'data-figure="roi"[^>]*>(?:<strong>)?([^<]*)<', page).group(1)
        assert shown_percent(figure) == rounded(exact[name]), name

    # The overview: the programme, and one campaign through its filter.
    overview = content(client.get(f"{base}/", MARCH))
    assert shown_percent(card_roi(overview)) == rounded(exact["programme"])
    assert final_cumulative_roi(overview) == exact["programme"]
    only_spring = content(client.get(f"{base}/", MARCH | {"campaign": str(spring.public_id)}))
    assert shown_percent(card_roi(only_spring)) == rounded(exact["spring"])

    # The e-mail digest of the same period (the programme): HTML and text.
    period = Period(date(2026, 3, 1), date(2026, 3, 31), org.tzinfo, "custom")
    with tenant_scope(org):
        message = build_digest(ReportSubscription(organization=org, user=manager, frequency="monthly"), period)
    (html, _), = message.alternatives
    assert shown_percent(re.search(r'data-figure="roi">([^<]*)<', html).group(1)) == rounded(exact["programme"])
    assert shown_percent(re.search(r"^\s*ROI: ([^(]*) \(", message.body, re.M).group(1)) == rounded(exact["programme"])

    # The board PDF of the same period, read in the HTML it is printed from.
    with tenant_scope(org):
        printed = render_html(org, period)
    card = re.search(r'<div class="label">ROI</div>\s*<div class="value">([^<]*)<', printed).group(1)
    assert shown_percent(card) == rounded(exact["programme"])
    markers = {"spring": "<tr><td>Spring ", "autumn": "<tr><td>Autumn ", "programme": "<th>Programme</th>"}
    for name, marker in markers.items():
        start = printed.index(marker)
        cells = re.findall(r'<td class="num">([^<]*)</td>', printed[start:printed.index("</tr>", start)])
        assert shown_percent(cells[5]) == rounded(exact[name]), name  # revenue, spend, rewards, time, cost, ROI
    final = re.search(r"Cumulative ROI at the end of the period: <strong>([^<]*)<", printed).group(1)
    assert shown_percent(final) == rounded(exact["programme"])


@pytest.mark.django_db
def test_the_api_schema_says_which_roi_is_a_ratio_and_which_a_percentage(manager, login):
    schema = login(manager).get("/api/schema/", {"format": "json"}).json()
    fields = schema["components"]["schemas"]["RoiFigures"]["properties"]
    assert "percent" in fields["roi_percent"]["description"] and fields["roi_percent"]["nullable"] is True
    assert "ratio" in fields["roi"]["description"] and "912.39 %" in fields["roi"]["description"]
    assert fields["roi_percent"]["format"] == "decimal"
