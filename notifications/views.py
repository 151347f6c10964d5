"""The ambassador's e-mail preferences (/o/<slug>/me/notifications/) and the public one-click
unsubscribe page (/notifications/unsubscribe/<token>/, RFC 8058)."""

from django.contrib import messages
from django.http import Http404, HttpResponseNotAllowed
from django.middleware.csrf import CsrfViewMiddleware
from django.shortcuts import redirect, render
from django.views.decorators.csrf import csrf_exempt

from ambassadors.selectors import ambassador_of
from common.service_errors import form_errors

from . import selectors, unsubscribe
from .forms import PreferencesForm
from .models import Kind
from .preferences import all_frequencies, set_frequencies


def my_notifications(request, org_slug):
    me = ambassador_of(request.user)
    if me is None:
        raise Http404("You have no ambassador profile in this organisation.")
    form = PreferencesForm(request.POST or None, initial=all_frequencies(me))
    if request.method == "POST" and form.is_valid():
        with form_errors(form):
            set_frequencies(me, form.cleaned_data)
            messages.success(request, "Your e-mail choices are saved.")
            return redirect("notification_preferences", org_slug=org_slug)
    return render(request, "notifications/preferences.html", {
        "form": form, "me": me, "recent": selectors.recent_deliveries_of(me),
    }, status=400 if form.is_bound else 200)


def _one_click(request) -> bool:
    """RFC 8058: a mail client's POST of "List-Unsubscribe=One-Click" to the header's address."""
    return request.POST.get("List-Unsubscribe") == "One-Click"


@csrf_exempt  # only for the one-click POST (the token in the address is the credential); see below
def unsubscribe_page(request, token):
    """GET: what the link would turn off, with a button (works logged out). POST: turn it off.
    A mail client's one-click POST carries no CSRF token and no session; every other POST (the
    page's own button) is checked for CSRF as usual."""
    if request.method not in ("GET", "HEAD", "POST"):
        return HttpResponseNotAllowed(["GET", "POST"])
    if request.method == "POST" and not _one_click(request):
        refused = CsrfViewMiddleware(lambda _request: None).process_view(request, None, (), {})
        if refused is not None:
            return refused
    found = unsubscribe.read_token(token)
    if found is None:
        raise Http404("This unsubscribe link is not valid (it may be incomplete: copy the whole address).")
    ambassador, kind = found
    context = {"ambassador": ambassador, "organization": ambassador.organization, "kind_label": Kind(kind).label,
               "kind": kind, "done": False}
    if request.method == "POST":
        unsubscribe.unsubscribe(ambassador, kind)
        context["done"] = True
    return render(request, "notifications/unsubscribe.html", context)
