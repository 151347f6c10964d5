"""reports.charts.chart_spec(): the description of a chart the {% chart %} tag renders and static/js/charts.js
draws; and the tag's figure (canvas, the spec as JSON, the data table with the same numbers)."""

import json
from decimal import Decimal

import pytest
from django.template import engines
from django.test import Client

from reports.charts import chart_spec

LABELS = ["2026-01", "2026-02"]


def spec(**overrides):
    arguments = {"chart_id": "roi-time", "title": "Revenue vs cost", "x_label": "Month", "y_label": "Amount",
                 "unit": "EUR", "labels": LABELS,
                 "series": [{"label": "Revenue", "values": [Decimal("10.50"), Decimal("1234.5")]},
                            {"label": "ROI", "values": [Decimal("-12.5"), None], "axis": "y2", "kind": "line"}],
                 "y2_label": "Cumulative ROI", "y2_unit": "%"}
    arguments.update(overrides)
    return chart_spec(arguments.pop("kind", "bar"), **arguments)


def test_axes_are_titled_with_their_units_and_decimals_stay_exact():
    made = spec(notes=["Break-even in 2026-02."], marker={"at": "2026-02", "text": "Break-even"})
    assert made["x"]["title"] == "Month"
    assert made["y"]["title"] == "Amount (EUR)"
    assert made["y2"]["title"] == "Cumulative ROI (%)"
    assert made["caption"] == "Revenue vs cost (EUR, %)"
    revenue, roi = made["series"]
    assert revenue == {"label": "Revenue", "values": ["10.50", "1234.5"], "axis": "y", "kind": "bar", "unit": "EUR"}
    assert roi == {"label": "ROI", "values": ["-12.5", None], "axis": "y2", "kind": "line", "unit": "%"}
    assert made["notes"] == ["Break-even in 2026-02."]
    assert made["marker"] == {"at": "2026-02", "text": "Break-even"}
    # Serialisable as it is: what json_script writes.
    assert json.loads(json.dumps(made)) == made


def test_a_chart_without_a_second_axis_has_none_and_integers_stay_integers():
    made = chart_spec("line", chart_id="clicks", title="Clicks", x_label="Week", y_label="Clicks", unit="clicks",
                      labels=["W1", "W2"], series=[{"label": "Clicks", "values": [3, 0]}])
    assert made["y2"] is None
    assert made["series"][0]["values"] == [3, 0]
    assert made["series"][0]["kind"] == "line"


@pytest.mark.parametrize(("overrides", "message"), [
    ({"kind": "pie"}, "unknown chart kind"),
    ({"chart_id": "Has Spaces"}, "chart_id"),
    ({"series": []}, "at least one series"),
    ({"series": [{"label": "Revenue", "values": [Decimal(1)]}]}, "has 1 values for 2 labels"),
    ({"series": [{"label": "Revenue", "values": [1.5, 2.0]}]}, "is not a Decimal"),
    ({"series": [{"label": "Revenue", "values": [Decimal("NaN"), 1]}]}, "not a finite number"),
    ({"series": [{"label": "Revenue", "values": [1, 2], "axis": "z"}]}, "axis 'z'"),
    ({"series": [{"label": "Revenue", "values": [1, 2], "kind": "pie"}]}, "kind 'pie'"),
    ({"series": [{"label": "Revenue", "values": [1, 2], "colour": "red"}]}, "unknown keys"),
    ({"y2_label": None}, "needs y2_label"),
    ({"x_label": ""}, "x_label"),
    ({"marker": {"at": "2027-01"}}, "marker"),
])
def test_bad_input_is_refused_with_a_message_saying_what_is_wrong(overrides, message):
    with pytest.raises(ValueError, match=message):
        spec(**overrides)


def test_the_tag_renders_a_figure_with_canvas_json_and_the_same_numbers_as_a_table():
    made = spec(notes=["Break-even in 2026-02."])
    html = engines["django"].from_string("{% load charts %}{% chart s %}").render({"s": made})
    assert '<figure class="chart chart-js card" id="roi-time" data-chart-spec="roi-time-data" data-locale="en">' in html
    assert "<canvas " in html
    assert '<script id="roi-time-data" type="application/json">' in html
    start = html.index('type="application/json">') + len('type="application/json">')
    assert json.loads(html[start:html.index("</script>", start)]) == made
    assert "<figcaption class=\"chart-title\">Revenue vs cost (EUR, %)</figcaption>" in html
    assert "<summary>Data table</summary>" in html
    assert '<th scope="col" class="num">Revenue (EUR)</th><th scope="col" class="num">ROI (%)</th>' in html
    assert '<th scope="row">2026-02</th><td class="num">1,234.5</td><td class="num">–</td>' in html
    assert '<th scope="row">2026-01</th><td class="num">10.50</td><td class="num">\u221212.5</td>' in html
    assert "Break-even in 2026-02." in html
    assert "style=" not in html


def test_the_table_speaks_the_organisations_locale():
    from types import SimpleNamespace

    german = SimpleNamespace(locale="de", currency="EUR")
    html = engines["django"].from_string("{% load charts %}{% chart s %}").render({"s": spec(), "current_org": german})
    assert 'data-locale="de"' in html
    assert '<th scope="row">2026-02</th><td class="num">1.234,5</td>' in html


def test_the_svg_charts_for_e_mails_and_the_pdf_still_work():
    from datetime import date

    from reports.charts import daily_bars, hbars
    assert hbars([("a", 2), ("b", 1)])["bars"][1]["w"] == pytest.approx(hbars([("a", 2)])["bars"][0]["w"] / 2, 0.01)
    assert daily_bars([(date(2026, 1, 1), 2), (date(2026, 1, 2), 0)])["peak_day"] == date(2026, 1, 1)


def test_the_site_serves_chart_js_itself_in_production_mode():
    """`make run` serves with DEBUG off through WhiteNoise (finders: no collectstatic needed)."""
    response = Client().get("/static/vendor/chartjs/chart.umd.min.js")
    assert response.status_code == 200, ("Chart.js is not installed: `make static-deps` (npm ci) puts it in "
                                          "node_modules/")
    body = b"".join(response.streaming_content) if response.streaming else response.content
    assert b"Chart" in body[:2000] and len(body) > 100_000
