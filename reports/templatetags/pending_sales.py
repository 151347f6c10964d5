"""`{% load pending_sales %}{% pending_sales_notice f %}` (or `… f campaign`): the notice of the
period's sales in another currency that are awaiting an exchange rate (0.00 in every figure until
one exists) or converted at an earlier day's rate (estimated), shown only when there are any, with
a link to the exchange-rates page for admins (reports.selectors.pending_sales)."""

from __future__ import annotations

from dataclasses import replace

from django import template

from ..selectors.pending_sales import pending_sales

register = template.Library()


@register.inclusion_tag("reports/_pending_sales.html", takes_context=True)
def pending_sales_notice(context, f, campaign=None, pending=None) -> dict:
    """`pending`: what the view already read for f (pending_sales(f)), so it isn't read twice."""
    if campaign is not None:
        f = replace(f, campaign_ids=(campaign.pk,))
    membership = context.get("current_membership")
    return {"pending": pending if pending is not None else pending_sales(f), "current_org": context.get("current_org"),
            "is_admin": bool(getattr(membership, "is_admin", False)), "in_campaign": campaign is not None}
