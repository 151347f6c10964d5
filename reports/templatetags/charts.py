"""`{% load charts %}{% chart spec %}`: a chart made by reports.charts.chart_spec(), drawn in the browser by
static/js/charts.js (Chart.js), with its numbers as a table inside <details> "Data table" (the text
alternative, and what a reader without script sees)."""

from decimal import Decimal

from django import template

from .. import figures

register = template.Library()


@register.inclusion_tag("reports/_chart.html", takes_context=True)
def chart(context, spec: dict) -> dict:
    """`{% chart spec %}`: the figure, the spec as JSON and the data table, its numbers in the locale of the
    page's organisation (current_org), as the rest of the page."""
    return render_context(spec, _organization(context))


def render_context(spec: dict, organization=None) -> dict:
    locale = figures.locale_of(organization)
    columns = [_column_title(s) for s in spec["series"]]
    rows = [{"label": label, "cells": [_cell(s["values"][i], locale) for s in spec["series"]]}
            for i, label in enumerate(spec["labels"])]
    return {"spec": spec, "data_id": f"{spec['id']}-data", "columns": columns, "rows": rows,
            "locale": str(locale).replace("_", "-")}


def _organization(context):
    return context.get("current_org") or getattr(context.get("request"), "organization", None)


def _column_title(series: dict) -> str:
    return f"{series['label']} ({series['unit']})" if series["unit"] else series["label"]


def _cell(value, locale) -> str:
    """The same number the chart draws, grouped for reading in the locale, with all its decimal places; a
    gap is "–"."""
    if value is None:
        return "–"
    value = Decimal(value)
    exponent = value.as_tuple().exponent
    return figures.format_number(value, Decimal(1).scaleb(exponent) if exponent < 0 else None, locale=locale)


@register.inclusion_tag("reports/_chart.html", takes_context=True)
def revenue_cost_chart(context, f, chart_id: str = "roi-timeline") -> dict:
    """`{% revenue_cost_chart f %}`: revenue vs cost over f's period with the cumulative ROI and the
    break-even point (reports.selectors.timeline), in the organisation's currency."""
    from ..charts import revenue_cost_spec
    from ..selectors.timeline import timeline

    organization = _organization(context)
    return render_context(revenue_cost_spec(timeline(f), organization.currency, organization=organization,
                                            chart_id=chart_id), organization)


@register.inclusion_tag("reports/_chart.html", takes_context=True)
def funnel_chart(context, programme, chart_id: str = "funnel-chart") -> dict:
    """`{% funnel_chart funnel.programme %}`: the funnel's steps with their rates."""
    from ..charts import funnel_spec

    return render_context(funnel_spec(programme, chart_id=chart_id), _organization(context))


@register.inclusion_tag("reports/_chart.html", takes_context=True)
def leaderboard_movement_chart(context, rows, metric_label: str, chart_id: str = "leaderboard-movement") -> dict:
    """`{% leaderboard_movement_chart rows metric_label %}`: the top ten's rank now and in the previous period."""
    from ..charts import leaderboard_movement_spec

    return render_context(leaderboard_movement_spec(rows, metric_label, chart_id=chart_id), _organization(context))


@register.inclusion_tag("reports/_chart.html", takes_context=True)
def ambassador_trend_chart(context, ambassador, period, chart_id: str = "my-trend") -> dict:
    """`{% ambassador_trend_chart me period %}`: the ambassador's clicks, leads and revenue per week, for the
    twelve weeks up to the period's end (reports.selectors.timeline.ambassador_trend)."""
    from ..charts import ambassador_trend_spec
    from ..selectors.timeline import ambassador_trend

    organization = _organization(context)
    weeks = ambassador_trend(organization.pk, ambassador.pk, period.end)
    return render_context(ambassador_trend_spec(weeks, organization.currency, chart_id=chart_id), organization)
