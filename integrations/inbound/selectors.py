"""Reads of the inbound side: an organisation's connections and their recent events, and the
connection a receiving URL's token names."""

from django.conf import settings
from django.urls import reverse

from integrations.models import InboundEvent, IntegrationConnection
from tenancy.scoping import scopes_disabled, tenant_scope

# Stripe payment references (a payment intent or charge → the sale it paid) are kept as
# InboundEvent rows of this type (integrations.inbound.stripe): not events, so not listed.
PAYMENT_REFERENCE = "stripe.payment_reference"
RECENT_EVENTS = 50


def connections_of(organization) -> list[IntegrationConnection]:
    with tenant_scope(organization):
        return list(IntegrationConnection.objects.filter(organization=organization).order_by("provider"))


def connection_of(organization, provider: str) -> IntegrationConnection | None:
    with tenant_scope(organization):
        return IntegrationConnection.objects.filter(organization=organization, provider=provider).first()


def connection_for_token(provider: str, token: str) -> IntegrationConnection | None:
    """The connection whose receiving URL this is. The organisation is not known yet — the
    token is what tells us — so this one read looks across organisations, by the unique token."""
    if not token or len(token) > 40:
        return None
    with scopes_disabled():
        return (IntegrationConnection.objects.select_related("organization")
                .filter(provider=provider, public_token=token).first())


def recent_events(connection: IntegrationConnection, limit: int = RECENT_EVENTS) -> list[InboundEvent]:
    with tenant_scope(connection.organization_id):
        return list(InboundEvent.objects.filter(organization_id=connection.organization_id, connection=connection)
                    .exclude(event_type=PAYMENT_REFERENCE).order_by("-received_at", "-id")[:limit])


def receiving_url(connection: IntegrationConnection) -> str:
    """The absolute URL to paste into the provider's settings (SITE_URL + /hooks/<provider>/<token>/)."""
    return settings.SITE_URL + reverse(f"inbound_hook_{connection.provider}", args=[connection.public_token])
