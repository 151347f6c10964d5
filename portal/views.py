from datetime import datetime, timedelta

from django.db.models import F
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.views.decorators.http import require_POST

from ambassadors import selectors as ambassador_selectors
from ambassadors.models import Kind, Status
from campaigns.models import Campaign, CampaignStatus
from campaigns.services.links import get_or_create_link
from campaigns.share import share_options, short_url
from reports.charts import daily_bars
from reports.filters import ReportFilter
from reports.periods import PeriodError
from reports.selectors.summary import display
from tenancy.models import ApiKey, Membership, Role
from tenancy.roles import role_required

from . import selectors, services

HOME_CAMPAIGNS = 5  # the home shows featured campaigns, then those ending soonest; the campaigns page has them all
# The home remembers this browser's previous visit in the session (no table), so that someone back
# after weeks sees everything since as new; the mark moves at most once an hour (no session write
# on every page view).
PREVIOUS_VISIT_KEY = "portal_visit"
PREVIOUS_VISIT_STEP = timedelta(hours=1)


def org_home(request, org_slug):
    """One address per organisation: managers get the programme dashboard, ambassadors
    their portal."""
    me = ambassador_selectors.ambassador_of(request.user)
    if request.membership.is_manager:
        ambassadors = ambassador_selectors.ambassadors_for_list(status="active")
        return render(request, "portal/dashboard.html", {
            "me": me,
            "counts": ambassador_selectors.status_counts(),
            "internal": ambassadors.filter(kind=Kind.INTERNAL).count(),
            "external": ambassadors.filter(kind=Kind.EXTERNAL).count(),
            "groups": ambassador_selectors.groups_with_counts(),
            "pending": ambassador_selectors.ambassadors_for_list(status="pending")[:10],
            "recent": ambassadors.order_by(F("joined_at").desc(nulls_last=True))[:8],
        })
    return _portal(request, me)


def my_portal(request, org_slug):
    """The ambassador's portal at /o/<org>/me/, for managers and admins who also share links."""
    me = ambassador_selectors.ambassador_of(request.user)
    if me is None and request.membership.is_manager:
        return redirect("org_home", org_slug=org_slug)
    return _portal(request, me)


@require_POST
def onboarding_done(request, org_slug):
    """The welcome's "Got it"."""
    me = ambassador_selectors.ambassador_of(request.user)
    if me is None:
        raise Http404("You have no ambassador profile in this organisation.")
    services.mark_onboarded(me)
    return redirect("my_portal" if request.membership.is_manager else "org_home", org_slug=org_slug)


def _portal(request, me):
    organization = request.organization
    context = {"me": me, "periods": selectors.PORTAL_PERIODS}
    if me is None or me.status not in (Status.ACTIVE, Status.PAUSED):
        return render(request, "portal/home.html", context)
    status = 200
    try:
        period = selectors.portal_period(request.GET.get("period"), organization.tzinfo)
    except PeriodError as error:
        context["period_problem"] = str(error)
        period, status = selectors.portal_period(None, organization.tzinfo), 400
    f = ReportFilter(organization.pk, period)
    standing = selectors.standing(f, me.pk)
    context.update({
        "period": period, "standing": standing, "figures": standing.figures,
        "leads_display": display(standing.figures.leads, "share"), "currency": organization.currency,
        "chart": daily_bars(selectors.daily_clicks(f, me.pk), width=600, height=120),
    })
    if request.htmx and request.htmx.target == "my-figures":
        return render(request, "portal/_figures.html", context, status=status)

    with timezone.override(organization.tzinfo):
        if me.status == Status.ACTIVE:
            home = selectors.home_campaigns(me, limit=HOME_CAMPAIGNS, since=_previous_visit(request))
            entries, total = home.entries, home.total
            for entry in entries:
                if entry.link is None:  # the home hands out links as the campaign page does
                    entry.link, _ = get_or_create_link(ambassador=me, campaign=entry.campaign)
                    entry.short_url = short_url(entry.link)
                    entry.options = share_options(entry.link, entry.campaign, list(entry.campaign.messages.all()))
            context.update({"entries": entries, "campaign_total": total, "feed": home.feed})
            if selectors.needs_onboarding(me):
                context.update({"onboarding": True, "rules": selectors.points_rules_of(organization.pk),
                                "first_entry": next((e for e in entries if e.can_share), None)})
        return render(request, "portal/home.html", context, status=status)


def _previous_visit(request) -> datetime | None:
    """When this browser last opened the home in this organisation (None: not that we know)."""
    key = f"{PREVIOUS_VISIT_KEY}:{request.organization.pk}"
    now = timezone.now()
    previous = parse_datetime(request.session.get(key) or "")
    if previous is None or now - previous >= PREVIOUS_VISIT_STEP:
        request.session[key] = now.isoformat()
    return previous


@role_required(Role.ADMIN)
def manage_home(request, org_slug):
    """The admin index: every admin page, grouped, with a few counts (four queries, whatever the
    data). In portal because it composes every app's admin pages."""
    counts = {
        "ambassadors": ambassador_selectors.status_counts(),
        "active_campaigns": Campaign.objects.filter(status=CampaignStatus.ACTIVE).count(),
        "api_keys": ApiKey.objects.filter(revoked_at__isnull=True).count(),
        "members": Membership.objects.count(),
    }
    return render(request, "portal/manage_home.html", {"counts": counts})
