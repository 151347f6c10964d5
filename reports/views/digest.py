"""The reports dashboard (key figures, change against the previous period, top ambassadors,
a daily chart, links to the other reports) and the manager's digest subscriptions page."""

from __future__ import annotations

from django.contrib import messages
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from ambassadors.models import Kind
from campaigns.channels import Channel
from tenancy.models import Role
from tenancy.roles import role_required
from tracking.models import AttributionModel
from tracking.selectors import active_version

from .. import digest
from ..charts import daily_bars, hbars
from ..figures import ClickTotals
from ..forms import ParamError, ReportFilterForm
from ..models import Frequency
from ..periods import PRESETS
from ..selectors.base import click_sums
from ..selectors.summary import daily_series, key_figures, top_ambassadors


@role_required(Role.MANAGER)
def reports_home(request, org_slug):
    organization = request.organization
    reporting_model = active_version(organization.pk)[1]
    form = ReportFilterForm(organization, request.GET)
    context = {"presets": PRESETS, "params": request.GET, "models": AttributionModel.choices,
               "kinds": Kind.choices, "reporting_model": reporting_model,
               "campaign_choices": form.choices("campaign"), "group_choices": form.choices("group"),
               "selected_campaigns": request.GET.getlist("campaign")}
    try:
        f = form.report_filter()
    except ParamError as error:
        context["error"] = error
        return render(request, "reports/index.html", context, status=400)
    figures = key_figures(f)
    series = daily_series(f)
    now = figures.current
    by_channel = click_sums(f, ("channel",))
    channel_clicks = [(label, by_channel.get((value,), ClickTotals.zero()).clicks) for value, label in Channel.choices]
    context.update({
        "filter": f, "period": f.period, "previous": f.period.previous(), "figures": figures,
        "cards": figures.cards(organization), "top": top_ambassadors(f), "currency": organization.currency,
        "charts": [
            daily_bars([(day.day, day.clicks) for day in series], name="clicks", label="Clicks"),
            daily_bars([(day.day, day.leads) for day in series], name="leads", label="Leads"),
            daily_bars([(day.day, day.revenue) for day in series], name="revenue",
                       label=f"Revenue ({organization.currency})"),
        ],
        "funnel_chart": hbars([("Shares", now.shares), ("Clicks", now.clicks), ("Unique visitors", now.unique_clicks),
                               ("Leads", now.leads), ("Customers", now.customers)], width=440, label_w=120),
        "channels_chart": hbars(channel_clicks, width=440, label_w=120),
    })
    return render(request, "reports/index.html", context)


@role_required(Role.MANAGER)
@require_http_methods(["GET", "POST"])
def report_digest(request, org_slug):
    organization, user = request.organization, request.user
    status = 200
    if request.method == "POST":
        action, frequency = request.POST.get("action"), request.POST.get("frequency")
        if frequency not in Frequency.values:
            messages.error(request, f"Choose a frequency: {' or '.join(Frequency.values)}.")
            status = 400
        elif action == "subscribe":
            digest.subscribe(organization, user, frequency)
            messages.success(request, f"Subscribed: the {frequency} digest goes to {user.email} "
                                      f"({Frequency(frequency).label.lower()}, 07:00 {organization.time_zone}).")
        elif action == "unsubscribe":
            digest.unsubscribe(organization, user, frequency)
            messages.success(request, f"Unsubscribed from the {frequency} digest.")
        elif action == "preview":
            period = digest.send_preview(organization, user, frequency)
            messages.success(request, f"Sent the {frequency} digest of {digest.period_label(period)} to {user.email}.")
        else:
            messages.error(request, "Unknown action; use subscribe, unsubscribe or preview.")
            status = 400
        if status == 200:
            return redirect("report_digest", org_slug=org_slug)
    subscribed = {subscription.frequency: subscription for subscription in digest.subscriptions_of(organization, user)}
    rows = [{"value": value, "label": label, "subscription": subscribed.get(value),
             "period_label": digest.period_label(digest.digest_period(value, organization.tzinfo)),
             "next_send": digest.next_send_time(value, organization.tzinfo)}
            for value, label in Frequency.choices]
    return render(request, "reports/subscriptions.html", {"rows": rows, "time_zone": organization.time_zone},
                  status=status)
