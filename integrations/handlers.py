"""The outbox topics this app handles (registered when the app is ready: integrations.apps).

* "event" (common.events): a domain event fans out to the organisation's webhook endpoints.
* ALERT_TOPIC: an endpoint failing (5, 10, 15 failures in a row) or disabled: its organisation's
  admins and owners are e-mailed. Through the outbox so an SMTP outage delays the e-mail rather
  than losing it (the handler raises, the outbox retries with backoff)."""

import logging

from django.conf import settings
from django.core.mail import send_mail
from django.template.loader import render_to_string
from django.urls import NoReverseMatch, reverse

from common import outbox
from common.events import EVENT_TOPIC
from common.models import OutboxEvent
from tenancy.models import Membership, Role
from tenancy.scoping import tenant_scope

from . import tasks
from .models import WebhookEndpoint
from .services import fanout
from .services.delivery import ALERT_TOPIC

log = logging.getLogger(__name__)


@outbox.register(EVENT_TOPIC)
def on_event(event: OutboxEvent) -> None:
    """Messages and deliveries in the event's transaction (with other due events of the topic:
    integrations.services.fanout); their sending queued after it."""
    for organization_id in fanout.fan_out(event):
        tasks.queue_delivery(organization_id)


def _endpoint_url(endpoint: WebhookEndpoint) -> str:
    slug = endpoint.organization.slug
    try:
        path = reverse("webhook_log", kwargs={"org_slug": slug, "endpoint_id": endpoint.public_id})
    except NoReverseMatch:
        path = f"/o/{slug}/manage/webhooks/"
    return f"{settings.SITE_URL.rstrip('/')}{path}"


@outbox.register(ALERT_TOPIC)
def on_endpoint_alert(event: OutboxEvent) -> None:
    payload = event.payload
    with tenant_scope(event.organization_id):
        endpoint = WebhookEndpoint.objects.select_related("organization").filter(pk=payload["endpoint_id"]).first()
        if endpoint is None:
            return  # deleted since: nothing to tell
        recipients = sorted({membership.user.email for membership in Membership.objects.filter(
            organization_id=event.organization_id, role__in=[Role.OWNER, Role.ADMIN]).select_related("user")
            if membership.user.is_active and membership.user.email})
    if not recipients:
        return
    disabled = payload["kind"] == "disabled"
    context = {"organization": endpoint.organization, "endpoint": endpoint, "disabled": disabled,
               "failures": payload.get("failures", 0), "detail": payload.get("detail", ""),
               "url": _endpoint_url(endpoint)}
    subject = (f"Webhook endpoint disabled: {endpoint.url}" if disabled
               else f"Webhook endpoint failing ({context['failures']} failures in a row): {endpoint.url}")
    send_mail(f"{settings.ACCOUNT_EMAIL_SUBJECT_PREFIX}{subject}"[:200],
              render_to_string("integrations/email/endpoint_alert.txt", context),
              settings.DEFAULT_FROM_EMAIL, recipients)
    log.info("Webhook endpoint %s: %s alert e-mailed to %d admins", endpoint.public_id, payload["kind"],
             len(recipients))
