"""Conversions in without code: Stripe and HubSpot send signed events to a per-organisation
receiving URL; each becomes a lead or sale through tracking.services.conversions, once per the
provider's event id (services.receive). stripe.py and hubspot.py say what each event means."""
