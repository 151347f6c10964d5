"""Which events an organisation listens to (common.events.listen): the types its enabled
webhook endpoints subscribe to. Asked on every publish() — the earnings ledger publishes per
entry — so the answer is remembered per process for MEMO_SECONDS, and forgotten at once in the
process that saves or deletes an endpoint. Another process sees a new endpoint within
MEMO_SECONDS: events from the moment an endpoint is saved, give or take that."""

from __future__ import annotations

import time

from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from tenancy.scoping import tenant_scope

from .models import WebhookEndpoint

MEMO_SECONDS = 2.0
_memo: dict[int, tuple[float, frozenset[str]]] = {}


def subscribed_types(organization_id: int) -> frozenset[str]:
    now = time.monotonic()
    remembered = _memo.get(organization_id)
    if remembered is not None and remembered[0] > now:
        return remembered[1]
    with tenant_scope(organization_id):
        types = frozenset(event_type for events in WebhookEndpoint.objects.filter(
            organization_id=organization_id, enabled=True).values_list("events", flat=True)
            for event_type in events or ())
    _memo[organization_id] = (now + MEMO_SECONDS, types)
    return types


def wants(organization_id: int, event_type: str) -> bool:
    return event_type in subscribed_types(organization_id)


@receiver(post_save, sender=WebhookEndpoint, dispatch_uid="webhook_listening_saved")
@receiver(post_delete, sender=WebhookEndpoint, dispatch_uid="webhook_listening_deleted")
def forget(sender, instance: WebhookEndpoint, **kwargs):
    _memo.pop(instance.organization_id, None)
