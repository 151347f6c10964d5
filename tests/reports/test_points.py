"""Points: per-organisation rules applied to events (never typed in), rounded half-up at the
end; bot and self clicks earn nothing; managers read the rules, admins change them."""

from datetime import timedelta
from decimal import Decimal
from types import SimpleNamespace

import pytest
from django.urls import reverse
from django.utils import timezone

from campaigns.models import Campaign, CampaignStatus, TrackedLink
from campaigns.services.links import record_share
from reports.filters import ReportFilter
from reports.models import PointsRules
from reports.periods import period_for
from reports.selectors.leaderboard import leaderboard
from reports.selectors.points import ambassador_points, points_for, points_rules
from reports.services import RulesError, update_points_rules
from tenancy.models import Role
from tenancy.scoping import tenant_scope
from tests.factories import AmbassadorFactory, member
from tracking.ids import new_click_id, new_visitor_id
from tracking.models import DailyClickRollup, PortalVisitor, RawClick
from tracking.services.click_processing import process_pending

CHROME = ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
          "Chrome/124.0.0.0 Safari/537.36")
RULES = SimpleNamespace(per_share=Decimal("1.00"), per_unique_click=Decimal("0.50"), per_lead=Decimal("25.00"),
                        per_revenue_unit=Decimal("0.0150"))


def test_points_for_applies_each_rule_and_rounds_half_up_at_the_end():
    assert points_for(RULES, 0, 0, Decimal("0"), Decimal("0")) == Decimal("0.00")
    assert points_for(RULES, 3, 5, Decimal("0"), Decimal("0")) == Decimal("5.50")
    assert points_for(RULES, 0, 0, Decimal("0.5000"), Decimal("0")) == Decimal("12.50")
    # 0.0150 × 1.00 = 0.015 → 0.02 (half up); each part alone would round differently.
    assert points_for(RULES, 0, 0, Decimal("0"), Decimal("1.00")) == Decimal("0.02")
    assert points_for(RULES, 0, 1, Decimal("0"), Decimal("0.33")) == Decimal("0.50")  # 0.5 + 0.00495
    assert points_for(RULES, 2, 4, Decimal("1.3333"), Decimal("1000.00")) == Decimal("52.33")  # 2 + 2 + 33.3325 + 15
    assert points_for(RULES, 1, 1, 1, 1).as_tuple().exponent == -2


@pytest.mark.django_db
def test_points_rules_default_and_are_stored_once(org):
    with tenant_scope(org):
        rules = points_rules(org.pk)
        assert (rules.per_share, rules.per_unique_click, rules.per_lead, rules.per_revenue_unit) == (
            Decimal("1.00"), Decimal("1.00"), Decimal("25.00"), Decimal("0.1000"))
        assert points_rules(org.pk).pk == rules.pk
        assert PointsRules.objects.count() == 1


@pytest.mark.django_db
def test_bot_and_self_clicks_earn_nothing(org):
    """Clicks go through the real click processing: a link preview bot, a HEAD probe and the
    ambassador's own click land in the rollups as bot / self clicks and earn no points."""
    user = member(org, Role.AMBASSADOR, email="sam@acme.test")
    sam = AmbassadorFactory(organization=org, user=user, display_name="Sam")
    now = timezone.now().replace(microsecond=0)
    own_visitor, human, other_human = new_visitor_id(), new_visitor_id(), new_visitor_id()
    PortalVisitor.objects.create(user=user, visitor_id=own_visitor)
    with tenant_scope(org):
        campaign = Campaign.objects.create(organization=org, name="Spring", slug="spring", status=CampaignStatus.ACTIVE,
                                           destination_url="https://shop.example.com/")
        link = TrackedLink.objects.create(organization=org, campaign=campaign, ambassador=sam, code="Pts00001")
        record_share(link=link, channel="linkedin", at=now - timedelta(hours=6))

        def raw(minutes_ago, visitor, user_agent=CHROME, is_head=False):
            at = now - timedelta(minutes=minutes_ago)
            return RawClick(organization=org, click_id=new_click_id(at.timestamp()), link_id=link.pk, clicked_at=at,
                            visitor_id=visitor, ip_hash="ab" * 16, user_agent=user_agent, is_head=is_head)

        RawClick.objects.bulk_create([
            raw(300, new_visitor_id(), "LinkedInBot/1.0 (compatible; Mozilla/5.0; Apache-HttpClient +http://www.linkedin.com)"),
            raw(299, new_visitor_id(), CHROME, is_head=True),
            raw(290, own_visitor), raw(280, own_visitor),
            raw(200, human), raw(100, human),  # the same visitor twice within 24 h: one unique
            raw(50, other_human),
        ])
        process_pending(org.pk)
        totals = DailyClickRollup.objects.filter(organization=org)
        sums = {name: sum(getattr(r, name) for r in totals) for name in
                ("total", "clicks", "unique_clicks", "bot_clicks", "self_clicks")}
    assert sums == {"total": 7, "clicks": 3, "unique_clicks": 2, "bot_clicks": 2, "self_clicks": 2}
    f = ReportFilter(org.pk, period_for("7d", org.tzinfo))
    with tenant_scope(org):
        assert ambassador_points(f) == {sam.pk: Decimal("3.00")}  # 1 share + 2 unique clicks
        row = leaderboard(f)[0]
        assert (row.clicks, row.unique_clicks, row.points) == (3, 2, Decimal("3.00"))
        update_points_rules(org.pk, per_share=Decimal("0"), per_unique_click=Decimal("2.5"))
        assert leaderboard(f)[0].points == Decimal("5.00")


@pytest.mark.django_db
def test_update_points_rules_refuses_negative_values(org):
    with tenant_scope(org):
        with pytest.raises(RulesError) as caught:
            update_points_rules(org.pk, per_lead=Decimal("-1"))
        assert "per_lead" in caught.value.errors
        assert points_rules(org.pk).per_lead == Decimal("25.00")


def api(org):
    return f"/api/v1/o/{org.slug}/points-rules/"


@pytest.mark.django_db
def test_api_managers_read_admins_change(org, manager, admin_user, ambassador_user, login, client):
    login(manager)
    got = client.get(api(org))
    assert got.status_code == 200 and got.json()["per_lead"] == "25.00"
    assert client.patch(api(org), {"per_lead": "30"}, content_type="application/json").status_code == 403
    login(admin_user)
    changed = client.patch(api(org), {"per_lead": "30", "per_revenue_unit": "0.25"}, content_type="application/json")
    assert changed.status_code == 200
    assert (changed.json()["per_lead"], changed.json()["per_revenue_unit"], changed.json()["per_share"]) == (
        "30.00", "0.2500", "1.00")
    bad = client.patch(api(org), {"per_share": "-2"}, content_type="application/json")
    assert bad.status_code == 400 and "per_share" in bad.json()
    with tenant_scope(org):
        assert points_rules(org.pk).per_lead == Decimal("30.00")
    login(ambassador_user)
    assert client.get(api(org)).status_code == 403


@pytest.mark.django_db
def test_manage_page_for_admins(org, admin_user, manager, other_org, login, client):
    url = reverse("points_rules", args=[org.slug])
    login(manager)
    assert client.get(url).status_code == 403
    login(admin_user)
    page = client.get(url)
    assert page.status_code == 200 and "Points per unique click" in page.content.decode()
    saved = client.post(url, {"per_share": "2", "per_unique_click": "0.5", "per_lead": "10", "per_revenue_unit": "0"},
                        follow=True)
    assert saved.status_code == 200 and "Saved." in saved.content.decode()
    with tenant_scope(org):
        rules = points_rules(org.pk)
    assert (rules.per_share, rules.per_unique_click, rules.per_lead, rules.per_revenue_unit) == (
        Decimal("2.00"), Decimal("0.50"), Decimal("10.00"), Decimal("0.0000"))
    bad = client.post(url, {"per_share": "-1", "per_unique_click": "1", "per_lead": "1", "per_revenue_unit": "0"})
    assert bad.status_code == 200 and "greater than or equal to 0" in bad.content.decode()
    client.force_login(member(other_org, Role.OWNER))
    assert client.get(url).status_code == 404
    assert client.get(api(org)).status_code == 404
