"""From a click on a shared link to the ambassador's rollups, through the real redirect,
capture and processing."""

import pytest
from django_scopes import scopes_disabled

from tenancy.models import Role
from tests.factories import AmbassadorFactory, member
from tracking.models import Click, DailyClickRollup, PortalVisitor
from tracking.services.click_processing import process_pending

from .conftest import drain_spool

CHROME = ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
          "Chrome/131.0.0.0 Safari/537.36")


def process(org):
    drain_spool()
    with scopes_disabled():
        while process_pending(org.pk).more:
            pass


def rollup_totals(org):
    with scopes_disabled():
        rows = DailyClickRollup.objects.filter(organization=org)
        return {name: sum(getattr(r, name) for r in rows)
                for name in ("total", "clicks", "unique_clicks", "bot_clicks", "self_clicks")}


@pytest.mark.django_db
def test_a_click_reaches_the_ambassadors_rollups(client, org, link):
    client.get(f"/l/{link.code}/li", HTTP_USER_AGENT=CHROME)
    process(org)
    with scopes_disabled():
        click = Click.objects.get()
        rollup = DailyClickRollup.objects.get()
    assert (click.ambassador_id, click.campaign_id, click.channel) == (link.ambassador_id, link.campaign_id,
                                                                       "linkedin")
    assert (rollup.ambassador_id, rollup.channel, rollup.clicks, rollup.unique_clicks) == (
        link.ambassador_id, "linkedin", 1, 1)


@pytest.mark.django_db
def test_ambassador_clicking_own_link_from_the_portal_browser_is_a_self_click(client, org, campaign):
    user = member(org, Role.AMBASSADOR)
    ambassador = AmbassadorFactory(organization=org, user=user)
    from campaigns.services.links import link_for
    from tenancy.scoping import tenant_scope

    with tenant_scope(org):
        own = link_for(ambassador=ambassador, campaign=campaign)
    client.force_login(user)
    assert client.get(f"/o/{org.slug}/").status_code == 200  # the portal gives the browser its visitor id
    visitor_id = client.cookies["amb_vid"].value
    assert PortalVisitor.objects.filter(user=user, visitor_id=visitor_id).exists()
    client.get(f"/l/{own.code}", HTTP_USER_AGENT=CHROME)  # same browser, own link
    client.logout()
    client.cookies.clear()
    client.get(f"/l/{own.code}", HTTP_USER_AGENT=CHROME)  # someone else
    process(org)
    assert rollup_totals(org) == {"total": 2, "clicks": 1, "unique_clicks": 1, "bot_clicks": 0, "self_clicks": 1}
    with scopes_disabled():
        assert Click.objects.get(visitor_id=visitor_id).is_self


@pytest.mark.django_db
def test_bots_heads_and_repeats_are_classified(client, org, link):
    client.head(f"/l/{link.code}/x", HTTP_USER_AGENT="Twitterbot/1.0")
    client.get(f"/l/{link.code}/x", HTTP_USER_AGENT="Twitterbot/1.0")
    client.get(f"/l/{link.code}", HTTP_USER_AGENT=CHROME)
    client.get(f"/l/{link.code}", HTTP_USER_AGENT=CHROME)  # the same browser again: not unique
    process(org)
    assert rollup_totals(org) == {"total": 4, "clicks": 2, "unique_clicks": 1, "bot_clicks": 2, "self_clicks": 0}
