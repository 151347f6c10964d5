"""The ambassador's portal (/o/<org>/): my campaigns with links and share buttons, my figures
(the report selectors' numbers), my rank, the top ten with my row, my daily clicks chart, the
first-login onboarding after an invitation, inactive ambassadors, roles, tenancy and a bounded
number of queries.

The fixture (Europe/Paris, today): Amy (the logged-in ambassador) has a live campaign with a
LinkedIn and an X post. Three people click her link two days ago (one of them twice, and a
preview bot once) through the real click processing; one of them becomes a lead and buys for
250.00. Twelve other ambassadors have rollups of 1..12 unique clicks yesterday, so the
leaderboard has more than ten rows."""

import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from ambassadors.models import Ambassador, Status
from ambassadors.services import invitations
from campaigns.models import Campaign, CampaignMessage, CampaignStatus, ShareEvent, TrackedLink
from reports.filters import ReportFilter
from reports.periods import period_for
from reports.selectors.base import click_sums, credit_sums
from reports.selectors.leaderboard import leaderboard
from reports.selectors.points import ambassador_points
from tenancy.models import Role
from tenancy.scoping import tenant_scope
from tests.factories import AmbassadorFactory, UserFactory, click_rollup, member
from tracking.ids import new_click_id, new_visitor_id
from tracking.models import RawClick
from tracking.services import attribution
from tracking.services.click_processing import process_pending
from tracking.services.conversions import record_lead, record_sale

BROWSER = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0 Safari/537.36"
BOT = "LinkedInBot/1.0 (compatible; Mozilla/5.0; Apache-HttpClient +http://www.linkedin.com)"


class World:
    pass


def home(org):
    return reverse("org_home", args=[org.slug])


def make_campaign(org, name, **kwargs):
    with tenant_scope(org):
        return Campaign.objects.create(organization=org, name=name, slug=name.lower().replace(" ", "-"),
                                       status=CampaignStatus.ACTIVE, destination_url="https://shop.example.com/",
                                       **kwargs)


@pytest.fixture
def world(org, ambassador_user):
    w = World()
    w.org, w.user = org, ambassador_user
    with tenant_scope(org):
        w.me = Ambassador.objects.get(user=ambassador_user)
        w.me.display_name = "Amy"
        w.me.save(update_fields=["display_name"])
    w.campaign = make_campaign(org, "Spring launch", description="Our spring range.")
    with tenant_scope(org):
        CampaignMessage.objects.create(organization=org, campaign=w.campaign, channel="linkedin",
                                       text="Have a look at our spring range: {link}")
        CampaignMessage.objects.create(organization=org, campaign=w.campaign, channel="x",
                                       text="Spring is here {link} #spring")
        w.link = TrackedLink.objects.create(organization=org, campaign=w.campaign, ambassador=w.me, code="PortAmy1")
    now = timezone.now()
    clicked = now - timedelta(days=2)
    w.visitors = [new_visitor_id() for _ in range(3)]
    raw = [(w.visitors[0], BROWSER), (w.visitors[1], BROWSER), (w.visitors[2], BROWSER),
           (w.visitors[0], BROWSER), (new_visitor_id(), BOT)]
    with tenant_scope(org):
        for n, (visitor, agent) in enumerate(raw):
            at = clicked + timedelta(minutes=n)
            RawClick.objects.create(organization=org, click_id=new_click_id(at.timestamp()), link_id=w.link.pk,
                                    clicked_at=at, visitor_id=visitor, ip_hash=f"{n:032x}", user_agent=agent,
                                    referrer_host="www.linkedin.com", channel_hint="linkedin")
        while process_pending(org.pk).more:
            pass
    record_lead(org, visitor_id=w.visitors[1], customer_external_id="cus_amy", occurred_at=now - timedelta(days=1))
    record_sale(org, customer_external_id="cus_amy", amount=Decimal("250.00"), currency=org.currency,
                invoice_id="INV-AMY", occurred_at=now - timedelta(hours=5))
    with tenant_scope(org):
        attribution.attribute_pending(org.pk)
    yesterday = timezone.localdate(now, org.tzinfo) - timedelta(days=1)
    w.others = []
    for n in range(1, 13):
        other = AmbassadorFactory(organization=org, display_name=f"Other {n:02d}")
        with tenant_scope(org):
            click_rollup(organization=org, campaign_id=w.campaign.pk, ambassador_id=other.pk,
                                            channel="x", day=yesterday, total=n, clicks=n, unique_clicks=n)
        w.others.append(other)
    return w


def flt(w, key="30d"):
    return ReportFilter(w.org.pk, period_for(key, w.org.tzinfo))


def figure(html, name):
    match = re.search(rf'data-figure="{name}"><div class="label">[^<]*</div><div class="value">([^<]*)<', html)
    assert match, f"no {name} figure"
    return match.group(1).strip()


# --- My figures, rank, leaderboard, chart -----------------------------------------------------------

def test_my_figures_are_the_report_selectors_numbers(world, login):
    response = login(world.user).get(home(world.org))
    assert response.status_code == 200
    html = response.content.decode()
    with tenant_scope(world.org):
        f = flt(world)
        clicks = click_sums(f)[(world.me.pk,)]
        credits = credit_sums(f)[(world.me.pk,)]
        points = ambassador_points(f)[world.me.pk]
        rows = leaderboard(f, "points")
    # Through the real click processing: 4 human clicks, 3 unique visitors, the bot left out.
    assert (clicks.clicks, clicks.unique_clicks, clicks.bot_clicks) == (4, 3, 1)
    assert credits.leads == Decimal("1") and credits.revenue == Decimal("250.00")
    assert figure(html, "clicks") == "4"
    assert figure(html, "unique_clicks") == "3"
    assert figure(html, "leads") == "1"
    assert figure(html, "revenue") == "€250.00"
    assert Decimal(figure(html, "points").replace(",", "")) == points
    mine = next(row for row in rows if row.ambassador_id == world.me.pk)
    assert response.context["figures"].rank == mine.rank
    assert f"{mine.rank}<span class=\"muted\"> of {len(rows)}</span>" in figure_block(html, "rank")
    assert "€250.00" in html  # revenue in the organisation's currency


def figure_block(html, name):
    start = html.index(f'data-figure="{name}"')
    return html[start:html.index("</div></div>", start)]


def test_rank_and_top_ten_with_my_row_highlighted(world, login):
    html = login(world.user).get(home(world.org)).content.decode()
    table = html[html.index('<table class="leaderboard'):html.index("</table>")]
    body = table[table.index("<tbody>"):]
    assert body.count("<tr") == 10  # top ten, me among them
    highlighted = re.findall(r'<tr class="me" aria-current="true">(.*?)</tr>', body, re.S)
    assert len(highlighted) == 1 and "Amy" in highlighted[0] and "you" in highlighted[0]
    with tenant_scope(world.org):
        rows = leaderboard(flt(world), "points")
    names = re.findall(r'<th scope="row">([^<]+?)\s*(?:<span|</th>)', body)
    assert names == [row.name for row in rows[:10]]  # the selector's order
    assert "@" not in table  # display names only, no e-mails


def test_my_row_follows_the_top_ten_when_i_am_not_in_it(world, login):
    user = member(world.org, Role.AMBASSADOR, ambassador=True, email="zed@acme.test")
    with tenant_scope(world.org):
        zed = Ambassador.objects.get(user=user)
        zed.display_name = "Zed"
        zed.save(update_fields=["display_name"])
        rows = leaderboard(flt(world), "points")
    mine = next(row for row in rows if row.ambassador_id == zed.pk)
    assert mine.rank > 10
    html = login(user).get(home(world.org)).content.decode()
    body = html[html.index('<table class="leaderboard'):html.index("</table>")]
    assert body.count('<tr class="me"') == 1
    assert body.index('class="gap"') < body.index('<tr class="me"')
    # Zed did nothing yet: tied last, so his row has no rank number ("–"), nor has his card ("Unranked").
    assert re.search(r'<tr class="me" aria-current="true">\s*<td[^>]*><span class="muted" title="No activity in '
                     r'this period">–</span></td>\s*<th scope="row">Zed ', body)
    # Zed has done nothing yet: his card says so instead of "Rank 14 of 14" (he is only tied last).
    assert f'{mine.rank}<span class="muted"> of {len(rows)}</span>' not in html
    assert '<span class="unranked">Unranked</span>' in html


def test_daily_clicks_chart_is_an_accessible_svg(world, login):
    html = login(world.user).get(home(world.org)).content.decode()
    assert '<svg role="img" aria-labelledby="my-clicks-title my-clicks-desc"' in html
    assert re.search(r'<title id="my-clicks-title">My clicks per day, ', html)
    assert "4 clicks in all" in html
    assert html.count("<rect ") == 30  # a bar per day of the 30 days


def test_period_switch_and_bad_period(world, login):
    client = login(world.user)
    week = client.get(home(world.org) + "?period=7d")
    assert week.status_code == 200 and week.context["period"].key == "7d"
    assert week.content.decode().count("<rect ") == 7
    bad = client.get(home(world.org) + "?period=yesterday")
    assert bad.status_code == 400
    assert "Unknown period “yesterday”" in bad.content.decode()
    partial = client.get(home(world.org) + "?period=90d", HTTP_HX_REQUEST="true", HTTP_HX_TARGET="my-figures")
    assert partial.status_code == 200
    text = partial.content.decode()
    assert "<h2 id=\"figures-h\">My figures</h2>" in text and "<html" not in text
    assert text.count("<rect ") == 90


# --- Campaigns on the home ------------------------------------------------------------------------

def test_home_lists_my_campaigns_with_link_messages_and_share_buttons(world, login):
    client = login(world.user)
    html = client.get(home(world.org)).content.decode()
    assert "Spring launch" in html
    assert 'value="http' in html and "/l/PortAmy1" in html and 'data-copy="url-PortAmy1"' in html
    assert "Have a look at our spring range: " in html and "/l/PortAmy1/" in html
    share = reverse("share_open", args=[world.org.slug, "PortAmy1", "linkedin"])
    assert f'href="{share}?t=' in html
    signed = share + html.split(f'href="{share}', 1)[1].split('"', 1)[0]  # ?t=<signature>
    response = client.get(signed)
    assert response.status_code == 302 and "linkedin.com" in response["Location"]
    with tenant_scope(world.org):
        assert ShareEvent.objects.filter(ambassador=world.me, channel="linkedin").count() == 1


def test_home_makes_my_link_for_a_new_campaign(world, login):
    campaign = make_campaign(world.org, "Autumn")
    html = login(world.user).get(home(world.org)).content.decode()
    with tenant_scope(world.org):
        link = TrackedLink.objects.get(ambassador=world.me, campaign=campaign)
    assert f"/l/{link.code}" in html


def test_a_campaign_that_has_not_started_has_no_share_buttons(world, login):
    later = make_campaign(world.org, "Winter", starts_at=timezone.now() + timedelta(days=3))
    html = login(world.user).get(home(world.org)).content.decode()
    with tenant_scope(world.org):
        link = TrackedLink.objects.get(ambassador=world.me, campaign=later)
    assert reverse("share_link", args=[world.org.slug, link.code, "linkedin"]) not in html
    assert "You can share it once it starts" in html


@pytest.mark.parametrize(("status", "message"), [
    (Status.PENDING, "An admin will review your application"),
    (Status.PAUSED, "Your ambassador account is paused"),
])
def test_pending_or_paused_ambassador_sees_why_and_no_share_buttons(world, login, status, message):
    with tenant_scope(world.org):
        Ambassador.objects.filter(pk=world.me.pk).update(status=status)
    response = login(world.user).get(home(world.org))
    html = response.content.decode()
    assert response.status_code == 200
    assert message in html
    assert "/share/" not in html and "Campaigns to share" not in html


# --- Onboarding after an invitation ---------------------------------------------------------------

def test_onboarding_shown_after_invitation_until_got_it(org, client):
    campaign = make_campaign(org, "Welcome pack")
    with tenant_scope(org):
        invitation = invitations.invite(organization=org, email="new@example.com", display_name="Nina", send=False)
    user = UserFactory(email="new@example.com")
    invitations.accept(token=invitations.make_token(invitation), user=user)
    client.force_login(user)
    html = client.get(home(org)).content.decode()
    assert "Welcome to Acme's ambassador programme" in html
    assert reverse("my_profile", args=[org.slug]) in html
    assert "per unique visitor" in html
    assert reverse("my_campaign", args=[org.slug, campaign.public_id]) in html  # the first campaign to share
    again = client.get(home(org)).content.decode()
    assert "Welcome to Acme" in again  # until dismissed
    response = client.post(reverse("portal_onboarding_done", args=[org.slug]))
    assert response.status_code == 302 and response["Location"] == home(org)
    assert "Welcome to Acme" not in client.get(home(org)).content.decode()
    with tenant_scope(org):
        assert Ambassador.objects.get(user=user).onboarded_at is not None


def test_no_onboarding_without_an_invitation(world, login):
    assert "Welcome to" not in login(world.user).get(home(world.org)).content.decode()


def test_got_it_needs_post_and_a_profile(org, manager, login):
    client = login(manager)
    assert client.get(reverse("portal_onboarding_done", args=[org.slug])).status_code == 405
    assert client.post(reverse("portal_onboarding_done", args=[org.slug])).status_code == 404


# --- Roles and tenancy ----------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["reports_home", "report_leaderboard", "campaign_manage_list"])
def test_ambassador_cannot_open_manager_pages(world, other_org, login, name):
    client = login(world.user)
    assert client.get(reverse(name, args=[world.org.slug])).status_code == 403
    assert client.get(reverse(name, args=[other_org.slug])).status_code == 404


def test_another_orgs_portal_is_404(world, other_org, login):
    assert login(world.user).get(home(other_org)).status_code == 404


def test_a_manager_who_is_also_an_ambassador_has_a_portal_too(world, login):
    user = member(world.org, Role.MANAGER, ambassador=True, email="lead@acme.test")
    client = login(user)
    assert "Campaigns to share" not in client.get(home(world.org)).content.decode()  # the dashboard
    response = client.get(reverse("my_portal", args=[world.org.slug]))
    assert response.status_code == 200 and "My figures" in response.content.decode()


# --- Profile --------------------------------------------------------------------------------------

def test_profile_shows_networks_and_keeps_input_on_errors(world, login):
    client = login(world.user)
    url = reverse("my_profile", args=[world.org.slug])
    data = {"profile-display_name": "Amy", "profile-title": "", "profile-bio": "",
            "social-TOTAL_FORMS": "1", "social-INITIAL_FORMS": "0", "social-MIN_NUM_FORMS": "0",
            "social-MAX_NUM_FORMS": "5", "social-0-network": "linkedin", "social-0-handle": "amy-at-acme",
            "social-0-url": "", "social-0-followers": "1200"}
    assert client.post(url, data).status_code == 302
    html = client.get(url).content.decode()
    assert "amy-at-acme" in html and 'value="1200"' in html and "LinkedIn" in html
    bad = dict(data, **{"social-TOTAL_FORMS": "2", "social-INITIAL_FORMS": "1",
                        "social-0-id": _profile_id(world),
                        "social-1-network": "x", "social-1-handle": "amy_x", "social-1-url": "",
                        "social-1-followers": "-5"})
    response = client.post(url, bad)
    text = response.content.decode()
    assert response.status_code in (200, 400)
    assert 'value="amy_x"' in text and 'value="-5"' in text  # input kept
    assert "greater than or equal to 0" in text  # the field's error


def _profile_id(world):
    with tenant_scope(world.org):
        return str(world.me.social_profiles.get().pk)


# --- Speed ----------------------------------------------------------------------------------------

def test_home_query_count_does_not_grow_with_campaigns_or_ambassadors(world, login, django_assert_max_num_queries):
    client = login(world.user)
    client.get(home(world.org))  # makes the links
    with CaptureQueriesContext(connection) as before:
        assert client.get(home(world.org)).status_code == 200
    for n in range(8):
        campaign = make_campaign(world.org, f"More {n}")
        with tenant_scope(world.org):
            CampaignMessage.objects.create(organization=world.org, campaign=campaign, channel="linkedin",
                                           text="More {link}")
        AmbassadorFactory(organization=world.org, display_name=f"Extra {n}")
    client.get(home(world.org))  # links for the new campaigns on the home
    with CaptureQueriesContext(connection) as after:
        assert client.get(home(world.org)).status_code == 200
    assert len(after) == len(before)
    with django_assert_max_num_queries(30):
        client.get(home(world.org))
