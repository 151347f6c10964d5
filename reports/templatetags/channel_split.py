"""`{% load channel_split %}{% channel_split_section f %}`: the "Per channel" section of the ROI
page (reports.selectors.channels): a chart of clicks, leads and revenue per channel, the table,
a chooser to keep one channel (`?channel=`), the CSV link and why ROI stays per campaign."""

from __future__ import annotations

from django import template

from ..charts import chart_spec
from ..selectors.channels import (
    LABELS,
    MULTI_TOUCH_NOTE,
    UNKNOWN,
    WHY_NO_CHANNEL_ROI,
    ChannelError,
    channel_param,
    channel_split,
)

register = template.Library()


def channel_chart_spec(split, currency: str, *, chart_id: str = "channel-split") -> dict:
    """Clicks and credited leads (left axis, counts) and revenue (right axis, the currency) per channel."""
    rows = split.rows
    return chart_spec(
        "bar", chart_id=chart_id, title="Clicks, leads and revenue per channel", x_label="Channel",
        y_label="Clicks and leads", y2_label="Revenue", unit="count", y2_unit=currency,
        labels=[row.label for row in rows],
        series=[{"label": "Clicks", "values": [row.clicks for row in rows], "axis": "y", "unit": "clicks"},
                {"label": "Leads (credited)", "values": [row.leads for row in rows], "axis": "y", "unit": "leads"},
                {"label": "Revenue", "values": [row.revenue for row in rows], "axis": "y2"}],
        notes=[MULTI_TOUCH_NOTE])


@register.inclusion_tag("reports/_channels.html", takes_context=True)
def channel_split_section(context, f) -> dict:
    request = context["request"]
    organization = context.get("current_org") or request.organization
    query = request.GET.copy()
    asked = query.pop("channel", [""])[-1]
    base = query.urlencode()
    choices = [{"key": "", "label": "All channels", "query": base}] + [
        {"key": key, "label": label, "query": f"{base}&channel={key}" if base else f"channel={key}"}
        for key, label in LABELS.items() if key != UNKNOWN]
    out = {"current_org": organization, "choices": choices, "channel_key": asked, "query": request.GET.urlencode(),
           "why": WHY_NO_CHANNEL_ROI}
    try:
        channel = channel_param(asked)
    except ChannelError as error:
        return out | {"error": error.message}
    split = channel_split(f, channel=channel)
    return out | {"split": split, "spec": channel_chart_spec(split, organization.currency)}
