"""{% share_action_href link channel %}: the share button's plain href (see share.share_action_path),
for the organisation of the page being rendered."""

from django import template

from ..share import share_action_path

register = template.Library()


@register.simple_tag(takes_context=True)
def share_action_href(context, link, channel: str) -> str:
    return share_action_path(link, channel, org_slug=context["current_org"].slug)


@register.filter
def with_posts(options) -> list:
    """The share options that come with a suggested post."""
    return [option for option in options if option.text]
