"""Charts drawn in Chromium by static/js/charts.js with Chart.js (served from node_modules/ by staticfiles)
under the strict Content-Security-Policy: the canvas is drawn (Chart.getChart finds it), every axis is titled
with its unit, the legend names the series, the data table holds the numbers of the chart, and the page
reports no CSP violation (CspWatch)."""

from decimal import Decimal
from pathlib import Path

import pytest
from django.http import HttpResponse
from django.template import engines
from django.urls import path

from config.urls import urlpatterns as app_urlpatterns
from reports.charts import chart_spec
from tests.support.browser import CspWatch

PAGE = """{% extends "base.html" %}{% load charts %}{% block title %}Charts{% endblock %}
{% block content %}<h1>Charts</h1>{% chart money %}{% chart counts %}{% endblock %}"""


def sample_page(request):
    money = chart_spec(
        "bar", chart_id="money", title="Revenue and cost", x_label="Week", y_label="Amount", unit="EUR",
        y2_label="Cumulative ROI", y2_unit="%", labels=["2026-W01", "2026-W02", "2026-W03"],
        series=[{"label": "Revenue", "values": [Decimal("100.00"), Decimal("1250.50"), Decimal("0.00")]},
                {"label": "Cost", "values": [Decimal("300.00"), Decimal("200.00"), Decimal("50.25")]},
                {"label": "Cumulative ROI", "values": [Decimal("-66.7"), Decimal("7.3"), None],
                 "axis": "y2", "kind": "line"}],
        notes=["Break-even in 2026-W02."], marker={"at": "2026-W02", "text": "Break-even"})
    counts = chart_spec(
        "stacked-bar", chart_id="counts", title="Clicks per channel", x_label="Week", y_label="Clicks",
        unit="clicks", labels=["2026-W01", "2026-W02"],
        series=[{"label": "LinkedIn", "values": [3, 4]}, {"label": "E-mail", "values": [1, 0]}])
    html = engines["django"].from_string(PAGE).render({"money": money, "counts": counts}, request)
    return HttpResponse(html)


urlpatterns = [path("chart-sample/", sample_page), *app_urlpatterns]

# The drawn chart as the browser sees it: axis titles, legend, the numbers of each dataset, and the table.
READ_CHART = """(figure) => {
  const chart = Chart.getChart(figure.querySelector('canvas'));
  if (!chart) return null;
  const scales = Object.values(chart.scales).map(s => ({id: s.id, display: s.options.display !== false,
    title: s.options.title.display ? s.options.title.text : null}));
  const table = [...figure.querySelectorAll('table tr')].map(tr => [...tr.children].map(c => c.textContent.trim()));
  return {scales, legend: chart.options.plugins.legend.display,
          legendItems: chart.legend.legendItems.map(i => i.text),
          tooltip: chart.options.plugins.tooltip.enabled !== false,
          labels: chart.data.labels, data: chart.data.datasets.map(d => d.data),
          width: chart.width, height: chart.height, table};
}"""


def read_chart(page, selector):
    figure = page.locator(selector)
    figure.wait_for()
    page.wait_for_function("(sel) => { const c = document.querySelector(sel + ' canvas');"
                           " return c && window.Chart && Chart.getChart(c); }", arg=selector)
    return figure.evaluate(READ_CHART)


def table_number(text):
    """A data-table cell (English locale) as a number (grouping commas dropped); "–" is a gap."""
    return None if text == "–" else float(text.replace(",", "").replace("\u2212", "-"))  # a real minus sign


@pytest.mark.urls("tests.browser.test_charts")
@pytest.mark.django_db(transaction=True)
def test_chart_js_draws_under_the_csp_with_titled_axes_legend_and_a_matching_table(page, live_server):
    watch = CspWatch(page.context)
    response = page.goto(f"{live_server.url}/chart-sample/")
    assert response.status == 200
    assert "script-src 'self'" in response.headers["content-security-policy"]

    money = read_chart(page, "#money")
    assert money is not None, "Chart.js did not draw the canvas"
    assert money["width"] > 300 and money["height"] > 150
    titles = {s["id"]: s["title"] for s in money["scales"]}
    assert titles == {"x": "Week", "y": "Amount (EUR)", "y2": "Cumulative ROI (%)"}
    assert money["legend"] and money["tooltip"]
    assert money["legendItems"] == ["Revenue (EUR)", "Cost (EUR)", "Cumulative ROI (%)"]
    assert money["labels"] == ["2026-W01", "2026-W02", "2026-W03"]
    assert money["data"] == [[100, 1250.5, 0], [300, 200, 50.25], [-66.7, 7.3, None]]
    header, *rows = money["table"]
    assert header == ["Week", "Revenue (EUR)", "Cost (EUR)", "Cumulative ROI (%)"]
    assert rows[1] == ["2026-W02", "1,250.50", "200.00", "7.3"]
    # The table and the chart carry the same numbers, cell by cell.
    table = [[table_number(cell) for cell in row[1:]] for row in rows]
    assert table == [list(v) for v in zip(*money["data"], strict=True)]
    assert page.locator("#money .chart-note").inner_text() == "Break-even in 2026-W02."
    assert page.locator("#money figcaption").inner_text() == "Revenue and cost (EUR, %)"

    counts = read_chart(page, "#counts")
    assert {s["id"]: s["title"] for s in counts["scales"]} == {"x": "Week", "y": "Clicks (clicks)"}
    assert counts["data"] == [[3, 4], [1, 0]]

    # The table is the text alternative: closed by default, opened by its summary.
    page.locator("#money summary", has_text="Data table").click()
    assert page.locator("#money table").is_visible()
    watch.assert_clean()


@pytest.mark.urls("tests.browser.test_charts")
@pytest.mark.django_db(transaction=True)
def test_the_library_is_served_by_the_site_itself_and_only_to_pages_with_a_chart(page, live_server):
    requested = []
    page.on("request", lambda request: requested.append(request.url))
    page.goto(f"{live_server.url}/accounts/login/")
    assert page.evaluate("() => typeof window.Chart") == "undefined"
    assert not [url for url in requested if "vendor/chartjs" in url]

    response = page.goto(f"{live_server.url}/chart-sample/")
    page.wait_for_function("() => window.Chart && Chart.getChart(document.querySelector('#money canvas'))")
    scripts = page.eval_on_selector_all("script[src]", "els => els.map(e => e.src)")
    assert all(src.startswith(live_server.url) for src in scripts), scripts
    library = [src for src in scripts if "vendor/chartjs/" in src]
    assert library, scripts
    assert response.ok
    assert page.request.get(library[0]).status == 200
    assert page.evaluate("() => Chart.version").startswith("4.")


# --- every page with a chart, on a small programme ---------------------------------------------------------------

@pytest.fixture
def programme(org):
    """Within the last 30 days: 100.00 spent, Ada's 5 shares, a visitor who clicks her link, becomes a lead and
    buys for 300.00; clicks counted for Ben and Cy now and in the 30 days before (the leaderboard moves)."""
    from datetime import timedelta

    from ambassadors.models import Ambassador
    from reports.periods import local_today
    from tenancy.models import Role
    from tenancy.scoping import tenant_scope
    from tests.factories import member
    from tests.support.scenario import Scenario

    s = Scenario(org)
    today = local_today(org.tzinfo)
    ago = lambda days, hour=12: s.at(*(today - timedelta(days=days)).timetuple()[:3], hour)  # noqa: E731
    user = member(org, Role.AMBASSADOR, ambassador=True, email="ada@acme.test")
    with tenant_scope(org):
        ada = Ambassador.objects.get(user=user)
    ben, cy = s.ambassador("Ben"), s.ambassador("Cy")
    campaign = s.campaign("Spring", minutes_per_share=Decimal("6"))
    link = s.link(campaign, ada)
    s.cost(campaign, today - timedelta(days=10), "100.00")
    s.shares(link, ago(9), times=5)
    buyer = s.visitor().clicks(link, ago(8))
    s.process()
    buyer.lead("cus_1", at=ago(8, 13)).buys("300.00", at=ago(7))
    s.attribute()
    s.click_counts(campaign, ben, today - timedelta(days=40), clicks=10, unique=9)
    s.click_counts(campaign, cy, today - timedelta(days=40), clicks=5, unique=5)
    s.click_counts(campaign, cy, today - timedelta(days=3), clicks=20, unique=18)
    s.click_counts(campaign, ben, today - timedelta(days=2), clicks=2, unique=2)
    return {"ambassador": user, "manager": member(org, Role.MANAGER, email="manager@acme.test")}


ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"  # for a person to look at
PAGES = {  # page → (who, path after /o/<slug>/, the charts on it)
    "roi": ("manager", "reports/roi/?period=30d", ["roi-timeline"]),
    "overview": ("manager", "reports/?period=30d", ["overview-timeline"]),
    "funnel": ("manager", "reports/funnel/?period=30d", ["funnel-chart"]),
    "leaderboard": ("manager", "reports/leaderboard/?metric=clicks", ["leaderboard-movement"]),
    "portal": ("ambassador", "", ["my-trend"]),
}


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("name", list(PAGES))
def test_every_chart_is_drawn_with_units_on_its_axes_and_its_numbers_in_the_table(name, programme, org, page,
                                                                                 live_server, log_in):
    who, path, charts = PAGES[name]
    watch = CspWatch(page.context)
    log_in(programme[who])
    response = page.goto(f"{live_server.url}/o/{org.slug}/{path}")
    assert response.status == 200
    for chart_id in charts:
        drawn = read_chart(page, f"#{chart_id}")
        assert drawn is not None, f"{name}: #{chart_id} was not drawn"
        assert drawn["width"] > 200 and drawn["height"] > 150
        titles = {s["id"]: s["title"] for s in drawn["scales"]}
        assert titles["x"], titles
        for axis in ("y", "y2"):  # every value axis says its unit: "Revenue (EUR)", "ROI (%)", "Rank (place, 1 = top)"
            if axis in titles:
                assert titles[axis] and titles[axis].endswith(")") and " (" in titles[axis], titles
        assert drawn["legend"] and drawn["tooltip"] and drawn["legendItems"]
        header, *rows = drawn["table"]
        assert header[0] == titles["x"]
        assert [row[0] for row in rows] == drawn["labels"]
        table = [[table_number(cell) for cell in row[1:]] for row in rows]
        chart = [list(values) for values in zip(*drawn["data"], strict=True)]
        assert table == chart, f"{name}: the data table and the chart differ"
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        page.locator(f"#{chart_id}").screenshot(path=str(ARTIFACTS / f"chart-{chart_id}-1280.png"))
    # At a phone's width the charts shrink with the page: drawn again, nothing wider than the screen.
    page.set_viewport_size({"width": 375, "height": 800})
    for chart_id in charts:
        page.wait_for_function("(sel) => { const c = Chart.getChart(document.querySelector(sel + ' canvas'));"
                               " return c && c.width < 375; }", arg=f"#{chart_id}")
        box = page.locator(f"#{chart_id}").bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= 375, box
        page.locator(f"#{chart_id}").screenshot(path=str(ARTIFACTS / f"chart-{chart_id}-375.png"))
    page.set_viewport_size({"width": 1280, "height": 900})
    watch.assert_clean()
    if name == "roi":
        note = page.locator("#roi-timeline .chart-note").first.inner_text()
        assert note.startswith("Break-even in the week of"), note
        assert "Revenue (EUR)" in drawn["legendItems"] and "Cumulative ROI (%)" in drawn["legendItems"]
    if name == "leaderboard":
        assert drawn["labels"] == ["Previous period", "This period"]
        assert page.evaluate("() => Chart.getChart(document.querySelector('#leaderboard-movement canvas'))"
                             ".options.scales.y.reverse") is True
        cy = drawn["legendItems"].index("Cy")
        assert drawn["data"][cy] == [2, 1]  # second by clicks before, first now
    if name == "portal":
        assert sum(value or 0 for value in drawn["data"][0]) >= 1  # Ada's click
        assert "300" in " ".join(" ".join(row) for row in rows)  # her credited revenue, in the table
        # Another period swaps "My figures" in with htmx: the new figure's chart is drawn too.
        page.evaluate("() => document.querySelector('#my-trend').classList.add('old-one')")
        page.locator(".period-switch a", has_text="7 days").click()
        page.wait_for_function("() => { const f = document.querySelector('#my-trend');"
                               " return f && !f.classList.contains('old-one')"
                               " && Chart.getChart(f.querySelector('canvas')); }")
        watch.assert_clean()
