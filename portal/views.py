from django.db.models import F
from django.shortcuts import render

from ambassadors import selectors as ambassador_selectors
from ambassadors.models import Kind


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
    return render(request, "portal/home.html", {"me": me})
