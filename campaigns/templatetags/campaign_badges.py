"""{% campaign_badges campaign %}: the Featured, New and Ends soon badges of a campaign, by the rules
of campaigns.badges, as of the page's rendering."""

from django import template
from django.utils import timezone

from .. import badges

register = template.Library()


@register.inclusion_tag("campaigns/_badges.html")
def campaign_badges(campaign, at=None):
    at = at or timezone.now()
    return {"campaign": campaign, "new": badges.is_new(campaign, at), "ends_soon": badges.ends_soon(campaign, at)}
