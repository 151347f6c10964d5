"""The channel split's CSV export (reports.selectors.channels), under /o/<org_slug>/reports/:
the same figures as the "Per channel" table of the ROI page, exact (leads and customers to
4 places, money to the cent, ratios in % to 2 places), each column naming its unit. The same
query string as the pages (period, model, campaign, group, kind) and `channel` to keep one;
a bad value is answered 400 with the message."""

from __future__ import annotations

from common.csv_export import csv_response
from tenancy.models import Role
from tenancy.roles import role_required

from ..figures import percent_of
from ..selectors.channels import ChannelError, channel_param, channel_split
from .roi import _bad_csv, _csv_filter, _stamp


def channels_csv_table(split, currency: str) -> tuple[list[str], list[list]]:
    header = ["channel", "label", "clicks", "unique_visitors", "leads (credited)", "customers (credited)",
              f"revenue ({currency})", "share_of_revenue (%)", f"revenue_per_click ({currency})",
              "leads_per_click (%)"]
    rows = [[row.channel or "total", row.label, row.clicks, row.unique_clicks, row.leads, row.customers, row.revenue,
             percent_of(row.share_of_revenue), row.revenue_per_click, percent_of(row.leads_per_click)]
            for row in [*split.rows, split.total]]
    return header, rows


@role_required(Role.MANAGER)
def channels_csv(request, org_slug):
    f, bad = _csv_filter(request)
    if bad:
        return bad
    try:
        channel = channel_param(request.GET.get("channel"))
    except ChannelError as error:
        return _bad_csv(request, error.message)
    header, rows = channels_csv_table(channel_split(f, channel=channel), request.organization.currency)
    return csv_response(f"channels-{_stamp(f)}.csv", header, rows)
