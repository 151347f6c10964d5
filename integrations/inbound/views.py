"""The providers' receiving URLs (public, signed) and the admins' connection pages.

Receiving: POST /hooks/stripe/<token>/ and /hooks/hubspot/<token>/, CSRF-exempt (the provider
signs instead). The token names the connection, hence the organisation. Answers, all JSON:
* 404: no such token (or a connection of the other provider);
* 503: the connection is disabled — nothing stored; the provider retries (Stripe for 3 days),
  so events sent while it was off are taken once it is enabled again;
* 400: a missing or wrong signature, a timestamp over 5 minutes old, a body that isn't the
  provider's event — nothing stored;
* 413: a body over 256 kB;
* 200: the event is stored (processed, ignored, or failed with the reason, e.g. another
  currency: retrying could not help), or it was stored before (a replay: nothing changes).

Pages (admins): /o/<org>/manage/integrations/connections/ lists both providers;
…/connections/<provider>/ creates or changes one; …/enabled/ and …/delete/ (POST)."""

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import RequestDataTooBig
from django.http import Http404, JsonResponse
from django.shortcuts import redirect, render
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from integrations.models import Provider
from tenancy.models import Role
from tenancy.roles import role_required

from . import hubspot, selectors, services, stripe
from .forms import ConnectionForm

MAX_BODY_BYTES = 256 * 1024


def _error(status: int, detail: str) -> JsonResponse:
    return JsonResponse({"detail": detail}, status=status)


def _body(request) -> bytes | None:
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        declared = 0
    if declared > MAX_BODY_BYTES:
        return None
    try:
        body = request.body
    except RequestDataTooBig:
        return None
    return body if len(body) <= MAX_BODY_BYTES else None


def _refusal(connection):
    """Why this receiving URL takes nothing, or None. An unknown token is a 404; while disabled
    the URL answers 503 and stores nothing, so the provider retries later."""
    if connection is None:
        return _error(404, "No such receiving URL.")
    if not connection.enabled:
        return _error(503, f"This {connection.get_provider_display()} connection is disabled; an admin can enable "
                           "it again.")
    return None


@csrf_exempt
@require_POST
def stripe_hook(request, token):
    connection = selectors.connection_for_token(Provider.STRIPE, token)
    if refusal := _refusal(connection):
        return refusal
    body = _body(request)
    if body is None:
        return _error(413, f"Body over {MAX_BODY_BYTES // 1024} kB.")
    try:
        event = stripe.verified_event(body, request.headers.get("Stripe-Signature"), connection.signing_secret)
    except stripe.BadRequest as error:
        return _error(400, str(error))
    stored, first = services.receive(connection, event_id=event["id"], event_type=event["type"],
                                     handle=lambda: stripe.handle(connection, event))
    return JsonResponse({"event": stored.event_id, "outcome": stored.outcome, "detail": stored.detail,
                         "replay": not first})


@csrf_exempt
@require_POST
def hubspot_hook(request, token):
    connection = selectors.connection_for_token(Provider.HUBSPOT, token)
    if refusal := _refusal(connection):
        return refusal
    body = _body(request)
    if body is None:
        return _error(413, f"Body over {MAX_BODY_BYTES // 1024} kB.")
    # HubSpot signs the URL it was given (SITE_URL + the path); behind a proxy the request's
    # own view of it may differ in scheme or host, so both are accepted.
    path = request.get_full_path()
    uris = list(dict.fromkeys([settings.SITE_URL + path, request.build_absolute_uri(path)]))
    try:
        events = hubspot.verified_events(secret=connection.signing_secret, method=request.method, uris=uris, body=body,
                                         signature_header=request.headers.get("X-HubSpot-Signature-v3"),
                                         timestamp_header=request.headers.get("X-HubSpot-Request-Timestamp"))
    except hubspot.BadRequest as error:
        return _error(400, str(error))
    deals = hubspot.deal_values(events)
    results = []
    for event in events:  # each in its own transaction: a retry of the request redoes only what failed
        stored, first = services.receive(connection, event_id=hubspot.event_id(event),
                                         event_type=hubspot.event_type(event),
                                         handle=lambda event=event: hubspot.handle(connection, event, deals))
        results.append({"event": stored.event_id, "outcome": stored.outcome, "detail": stored.detail,
                        "replay": not first})
    return JsonResponse({"events": results})


# --- the admins' pages -------------------------------------------------------------------------------

def _provider(provider: str) -> str:
    if provider not in Provider.values:
        raise Http404("No such provider.")
    return provider


@role_required(Role.ADMIN)
def connections(request, org_slug):
    """Both providers: connected (with their receiving URL) or not."""
    existing = {c.provider: c for c in selectors.connections_of(request.organization)}
    rows = [{"provider": value, "label": label, "connection": existing.get(value),
             "url": selectors.receiving_url(existing[value]) if value in existing else None,
             "hint": services.secret_hint(existing[value].signing_secret) if value in existing else None}
            for value, label in Provider.choices]
    return render(request, "integrations/connections.html", {"rows": rows})


@role_required(Role.ADMIN)
def connection(request, org_slug, provider):
    """Connect a provider, or change its connection (secret, settings), with its recent events."""
    provider = _provider(provider)
    current = selectors.connection_of(request.organization, provider)
    form = ConnectionForm(request.POST or None, provider=provider, connection=current)
    if request.method == "POST" and form.is_valid():
        try:
            if current is None:
                services.create_connection(request.organization, provider=provider,
                                           signing_secret=form.cleaned_data["signing_secret"],
                                           settings=form.settings())
            else:
                services.update_connection(current, signing_secret=form.cleaned_data["signing_secret"] or None,
                                           settings=form.settings())
        except services.ConnectionRefused as error:
            form.add_error(error.field if error.field in form.fields else None, error.message)
        else:
            messages.success(request, f"{Provider(provider).label} is connected: paste the receiving URL into its "
                                      "settings." if current is None else
                             f"The {Provider(provider).label} connection is saved.")
            return redirect("inbound_connection", org_slug=org_slug, provider=provider)
    context = {"provider": provider, "label": Provider(provider).label, "connection": current, "form": form,
               "events": selectors.recent_events(current) if current else [],
               "url": selectors.receiving_url(current) if current else None,
               "hint": services.secret_hint(current.signing_secret) if current else None}
    return render(request, "integrations/connections_detail.html", context)


@require_POST
@role_required(Role.ADMIN)
def connection_enabled(request, org_slug, provider):
    current = selectors.connection_of(request.organization, _provider(provider))
    if current is None:
        raise Http404("No such connection.")
    enabled = request.POST.get("enabled") == "on"
    services.update_connection(current, enabled=enabled)
    state = "enabled" if enabled else "disabled: events sent to it are refused (503), so the provider retries them"
    messages.success(request, f"The {current.get_provider_display()} connection is {state}.")
    return redirect("inbound_connection", org_slug=org_slug, provider=provider)


@require_POST
@role_required(Role.ADMIN)
def connection_delete(request, org_slug, provider):
    current = selectors.connection_of(request.organization, _provider(provider))
    if current is None:
        raise Http404("No such connection.")
    services.delete_connection(current)
    messages.success(request, f"The {current.get_provider_display()} connection is deleted; its URL now answers "
                              "404. The leads and sales it brought stay.")
    return redirect("inbound_connections", org_slug=org_slug)
