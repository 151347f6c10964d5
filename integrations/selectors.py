"""Reads of the webhook pages and API: an organisation's endpoints, and an endpoint's delivery log
(the last LOG_DAYS days, newest first, filtered by status and event type). Run inside the
organisation's tenant scope (the request's): another organisation's rows are not found."""

from __future__ import annotations

import uuid
from datetime import timedelta

from django.db.models import Prefetch, QuerySet
from django.utils import timezone

from .models import DeliveryAttempt, WebhookDelivery, WebhookEndpoint

LOG_DAYS = 30


def endpoints_of(organization) -> QuerySet[WebhookEndpoint]:
    return WebhookEndpoint.objects.filter(organization=organization).order_by("created_at", "pk")


def endpoint_of(organization, public_id) -> WebhookEndpoint | None:
    """The organisation's endpoint with this public id (a UUID or its text), or None."""
    try:
        public_id = uuid.UUID(str(public_id))
    except ValueError:
        return None
    return endpoints_of(organization).filter(public_id=public_id).first()


def log_since(now=None):
    return (now or timezone.now()) - timedelta(days=LOG_DAYS)


def deliveries_of(endpoint: WebhookEndpoint, *, status: str | None = None, event_type: str | None = None,
                  now=None) -> QuerySet[WebhookDelivery]:
    """The endpoint's deliveries of the last LOG_DAYS days, newest first, each with its message
    and its attempts (newest first)."""
    deliveries = (WebhookDelivery.objects.filter(organization_id=endpoint.organization_id, endpoint=endpoint,
                                                 created_at__gte=log_since(now))
                  .select_related("message")
                  .prefetch_related(Prefetch("log", queryset=DeliveryAttempt.objects.order_by("-attempted_at", "-pk")))
                  .order_by("-created_at", "-pk"))
    if status:
        deliveries = deliveries.filter(status=status)
    if event_type:
        deliveries = deliveries.filter(message__event_type=event_type)
    return deliveries


def delivery_of(endpoint: WebhookEndpoint, msg_id: str) -> WebhookDelivery | None:
    """The endpoint's delivery of the message `msg_id` (its `webhook-id`), or None."""
    return (WebhookDelivery.objects.filter(organization_id=endpoint.organization_id, endpoint=endpoint,
                                           message__msg_id=msg_id)
            .select_related("message", "endpoint").first())

