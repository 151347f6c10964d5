"""The admins' webhook pages, under /o/<org_slug>/manage/webhooks/: the endpoints, adding and
changing one, rotating its secret, deleting it, a test event, and its delivery log with replay.

A secret (at creation or rotation) is rendered in the POST's own answer, never redirected to or
stored in the session, and the answer is not cached: once that page is left it is gone, as for
API keys (tenancy.views.api_keys)."""

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from common.service_errors import form_errors
from tenancy.models import Role
from tenancy.roles import role_required

from .forms import DeliveryFilterForm, EndpointEditForm, EndpointForm, ReplayRangeForm
from .selectors import LOG_DAYS, deliveries_of, delivery_of, endpoint_of, endpoints_of
from .services import endpoints as endpoint_service
from .services.delivery import replay, replay_range, send_test

LOG_PAGE_SIZE = 25


def _endpoint(request, endpoint_id):
    endpoint = endpoint_of(request.organization, endpoint_id)
    if endpoint is None:
        raise Http404("No such webhook endpoint.")
    return endpoint


def _secret_page(request, endpoint, secret, *, rotated: bool):
    response = render(request, "integrations/webhooks_secret.html",
                      {"endpoint": endpoint, "secret": secret, "rotated": rotated})
    response["Cache-Control"] = "no-store"
    return response


@role_required(Role.ADMIN)
def webhooks(request, org_slug):
    with timezone.override(request.organization.tzinfo):
        return render(request, "integrations/webhooks.html", {"endpoints": endpoints_of(request.organization)})


@role_required(Role.ADMIN)
def webhook_new(request, org_slug):
    form = EndpointForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        with form_errors(form):
            endpoint, secret = endpoint_service.create_endpoint(request.organization, created_by=request.user,
                                                                **form.cleaned_data)
            return _secret_page(request, endpoint, secret, rotated=False)
    return render(request, "integrations/webhooks_form.html", {"form": form, "endpoint": None},
                  status=400 if form.is_bound else 200)


@role_required(Role.ADMIN)
def webhook_edit(request, org_slug, endpoint_id):
    endpoint = _endpoint(request, endpoint_id)
    initial = {"url": endpoint.url, "description": endpoint.description, "events": endpoint.events,
               "enabled": endpoint.enabled}
    form = EndpointEditForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        with form_errors(form):
            endpoint_service.update_endpoint(endpoint, **form.cleaned_data)
            messages.success(request, f"Saved {endpoint.url}.")
            return redirect("webhooks", org_slug=org_slug)
    with timezone.override(request.organization.tzinfo):
        return render(request, "integrations/webhooks_form.html",
                      {"form": form, "endpoint": endpoint, "now": timezone.now()}, status=400 if form.is_bound else 200)


@require_POST
@role_required(Role.ADMIN)
def webhook_rotate(request, org_slug, endpoint_id):
    endpoint = _endpoint(request, endpoint_id)
    secret = endpoint_service.rotate_secret(endpoint)
    with timezone.override(request.organization.tzinfo):
        return _secret_page(request, endpoint, secret, rotated=True)


@role_required(Role.ADMIN)
def webhook_delete(request, org_slug, endpoint_id):
    """GET asks for confirmation; POST deletes."""
    endpoint = _endpoint(request, endpoint_id)
    if request.method == "POST":
        endpoint_service.delete_endpoint(endpoint)
        messages.success(request, f"Deleted {endpoint.url} and its delivery log.")
        return redirect("webhooks", org_slug=org_slug)
    return render(request, "integrations/webhooks_delete.html", {"endpoint": endpoint})


@require_POST
@role_required(Role.ADMIN)
def webhook_test(request, org_slug, endpoint_id):

    endpoint = _endpoint(request, endpoint_id)
    attempt = send_test(endpoint)
    answered = attempt.response_status
    if answered is not None and 200 <= answered < 300:
        messages.success(request, f"The test event was delivered: {endpoint.url} answered {answered}.")
    elif answered is not None:
        messages.error(request, f"The test event was refused: {endpoint.url} answered {answered}.")
    else:
        messages.error(request, f"The test event could not be delivered: {attempt.error or 'no answer'}.")
    return redirect("webhook_log", org_slug=org_slug, endpoint_id=endpoint.public_id)


def _log_page(request, endpoint, *, replay_form=None, status=200):
    filters = DeliveryFilterForm(request.GET or None)
    chosen = filters.cleaned_data if filters.is_valid() else {}
    if filters.is_bound and not filters.is_valid():
        status = 400
    deliveries = deliveries_of(endpoint, status=chosen.get("status") or None,
                               event_type=chosen.get("event_type") or None)
    page = Paginator(deliveries, LOG_PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(request, "integrations/webhooks_log.html", {
        "endpoint": endpoint, "filters": filters, "page": page, "query": query.urlencode(),
        "replay_form": replay_form or ReplayRangeForm(), "log_days": LOG_DAYS}, status=status)


@role_required(Role.ADMIN)
def webhook_log(request, org_slug, endpoint_id):
    endpoint = _endpoint(request, endpoint_id)
    with timezone.override(request.organization.tzinfo):
        return _log_page(request, endpoint)


@require_POST
@role_required(Role.ADMIN)
def webhook_replay(request, org_slug, endpoint_id, msg_id):

    endpoint = _endpoint(request, endpoint_id)
    delivery = delivery_of(endpoint, msg_id)
    if delivery is None:
        raise Http404("No such delivery.")
    replay(delivery)
    messages.success(request, f"{msg_id} will be sent again in a moment.")
    return redirect("webhook_log", org_slug=org_slug, endpoint_id=endpoint.public_id)


@require_POST
@role_required(Role.ADMIN)
def webhook_replay_range(request, org_slug, endpoint_id):

    endpoint = _endpoint(request, endpoint_id)
    with timezone.override(request.organization.tzinfo):
        form = ReplayRangeForm(request.POST)
        if not form.is_valid():
            return _log_page(request, endpoint, replay_form=form, status=400)
        count = replay_range(endpoint, form.cleaned_data["since"], form.cleaned_data["until"])
    messages.success(request, f"{count} deliver{'y' if count == 1 else 'ies'} will be sent again.")
    return redirect("webhook_log", org_slug=org_slug, endpoint_id=endpoint.public_id)
