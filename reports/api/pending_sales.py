"""The `sales_awaiting_rate` and `sales_estimated` fields of the report APIs (overview, ROI):
the period's sales in another currency that no figure counts yet, or counts at an estimated rate
(reports.selectors.pending_sales), so an integrator never loses them silently."""

from __future__ import annotations

from rest_framework import serializers

from ..filters import ReportFilter
from ..selectors.pending_sales import pending_sales


class OriginalAmountSerializer(serializers.Serializer):
    currency = serializers.CharField(help_text="The currency the sales were made in (ISO 4217).")
    amount = serializers.DecimalField(max_digits=16, decimal_places=2, coerce_to_string=True,
                                      help_text="The sum of their original amounts, in this line's `currency` "
                                                "(not the organisation's).")


class SalesAwaitingRateSerializer(serializers.Serializer):
    count = serializers.IntegerField(
        source="awaiting", help_text="Paid sales of the period (occurred_at, in the organisation's time zone) in a "
                                     "currency with no exchange rate yet: they count 0.00 in revenue until a rate "
                                     "exists, then are converted and counted.")
    original_totals = OriginalAmountSerializer(many=True, source="awaiting_totals",
                                               help_text="Their original amounts per currency.")


AWAITING_HELP = ("Sales awaiting an exchange rate, not in revenue yet (never dropped: counted once a rate exists). "
                 "Under a campaign, group or kind filter: the sales whose customer has credits in the filter.")
ESTIMATED_HELP = ("Paid sales of the period converted at the latest earlier day's rate (no rate for their own day "
                  "yet): in revenue at an estimated amount, converted again when their day's rate arrives.")


def awaiting_field() -> SalesAwaitingRateSerializer:
    return SalesAwaitingRateSerializer(help_text=AWAITING_HELP)


def estimated_field() -> serializers.IntegerField:
    return serializers.IntegerField(help_text=ESTIMATED_HELP)


def pending_sales_data(f: ReportFilter) -> dict:
    """The two fields' values for the response's data."""
    pending = pending_sales(f)
    return {"sales_awaiting_rate": pending, "sales_estimated": pending.estimated}
