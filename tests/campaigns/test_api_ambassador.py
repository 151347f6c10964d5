"""What ambassadors do through the API: their campaigns, their link, shares, QR codes."""

import struct
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from django.utils import timezone

from campaigns.models import ShareEvent, TrackedLink
from tenancy.models import Role
from tenancy.scoping import tenant_scope
from tests.factories import AmbassadorFactory, CampaignFactory, GroupFactory, LinkFactory, MessageFactory, member

from .conftest import profile_of

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _site(settings):
    settings.SITE_URL = "https://amb.example.com"


def api_url(org, path):
    return f"/api/v1/o/{org.slug}/{path}"


def test_my_campaigns_lists_the_active_campaigns_i_am_targeted_by(login, org, api, ambassador_user, ambassador):
    sales, support = GroupFactory(organization=org, name="Sales"), GroupFactory(organization=org, name="Support")
    with tenant_scope(org):
        ambassador.groups.set([sales])
    now = timezone.now()
    everyone = CampaignFactory(organization=org, name="For everyone")
    mine = CampaignFactory(organization=org, name="For sales")
    theirs = CampaignFactory(organization=org, name="For support")
    both = CampaignFactory(organization=org, name="For sales and support")
    upcoming = CampaignFactory(organization=org, name="Next month", starts_at=now + timedelta(days=30))
    CampaignFactory(organization=org, name="Draft", status="draft")
    CampaignFactory(organization=org, name="Paused", status="paused")
    CampaignFactory(organization=org, name="Over", starts_at=now - timedelta(days=9), ends_at=now - timedelta(days=1))
    with tenant_scope(org):
        mine.target_groups.set([sales])
        theirs.target_groups.set([support])
        both.target_groups.set([sales, support])
    login(ambassador_user)
    body = api.get(api_url(org, "my/campaigns/")).json()
    names = sorted(c["name"] for c in body["results"])
    assert names == sorted([everyone.name, mine.name, both.name, upcoming.name])
    by_name = {c["name"]: c for c in body["results"]}
    assert by_name["Next month"]["is_live"] is False and by_name["For everyone"]["is_live"] is True
    assert all(c["link"] is None for c in body["results"])

    link = api.post(api_url(org, f"my/campaigns/{everyone.public_id}/link/")).json()
    listed = {c["name"]: c for c in api.get(api_url(org, "my/campaigns/")).json()["results"]}
    assert listed["For everyone"]["link"]["code"] == link["code"]
    assert listed["For sales"]["link"] is None
    assert api.get(api_url(org, f"my/campaigns/{theirs.public_id}/")).status_code == 404


def test_getting_my_link_is_idempotent(login, org, api, ambassador_user, campaign):
    MessageFactory(campaign=campaign, channel="x", text="Our webinar, with {link} — come!")
    MessageFactory(campaign=campaign, channel="email", subject="Webinar & more", text="Hi,\n\nsee {link}\n\nBye")
    login(ambassador_user)
    first = api.post(api_url(org, f"my/campaigns/{campaign.public_id}/link/"))
    assert first.status_code == 201
    again = api.post(api_url(org, f"my/campaigns/{campaign.public_id}/link/"))
    assert again.status_code == 200
    body = first.json()
    assert again.json()["code"] == body["code"]
    with tenant_scope(org):
        assert TrackedLink.objects.count() == 1
    code = body["code"]
    assert body["short_url"] == f"https://amb.example.com/l/{code}"
    assert body["channel_urls"] == {"linkedin": f"https://amb.example.com/l/{code}/li",
                                    "x": f"https://amb.example.com/l/{code}/x",
                                    "facebook": f"https://amb.example.com/l/{code}/fb",
                                    "email": f"https://amb.example.com/l/{code}/em",
                                    "whatsapp": f"https://amb.example.com/l/{code}/wa"}
    x = urlsplit(body["share_urls"]["x"])
    assert x.netloc == "x.com" and x.path == "/intent/post"
    assert parse_qs(x.query) == {"text": ["Our webinar, with — come!"], "url": [f"https://amb.example.com/l/{code}/x"]}
    mail = body["share_urls"]["email"]
    assert mail.startswith("mailto:?subject=Webinar%20%26%20more&body=Hi%2C%0A%0Asee%20https%3A%2F%2Famb")
    assert {"channel": "x", "subject": "", "text": f"Our webinar, with https://amb.example.com/l/{code}/x — come!"} \
        in body["messages"]
    assert body["qr_png_url"] == f"/api/v1/o/{org.slug}/links/{code}/qr.png"
    assert body["campaign"] == str(campaign.public_id)


def test_who_may_not_get_a_link_hears_why(login, org, other_org, api, ambassador_user, ambassador, manager):
    sales = GroupFactory(organization=org, name="Sales")
    targeted = CampaignFactory(organization=org)
    with tenant_scope(org):
        targeted.target_groups.set([sales])
    paused = CampaignFactory(organization=org, name="Paused one", status="paused")
    draft = CampaignFactory(organization=org, status="draft")
    now = timezone.now()
    over = CampaignFactory(organization=org, starts_at=now - timedelta(days=3), ends_at=now - timedelta(days=1))
    foreign = CampaignFactory(organization=other_org)
    login(ambassador_user)

    def link(c):
        return api.post(api_url(org, f"my/campaigns/{c.public_id}/link/"))

    assert (link(targeted).status_code, link(targeted).json()["code"]) == (403, "not_targeted")
    assert link(paused).status_code == 409 and "paused" in link(paused).json()["detail"]
    assert link(over).status_code == 409 and "ended" in link(over).json()["detail"]
    assert link(draft).status_code == 404
    assert link(foreign).status_code == 404
    with tenant_scope(org):
        assert not TrackedLink.objects.exists()
        ambassador.status = "paused"
        ambassador.save()
    open_one = CampaignFactory(organization=org)
    refused = link(open_one)
    assert refused.status_code == 403 and refused.json()["code"] == "ambassador_inactive"
    assert "paused" in refused.json()["detail"]
    assert api.get(api_url(org, "my/campaigns/")).status_code == 403
    login(manager)  # a member without an ambassador profile
    assert link(open_one).json() == {"detail": "You have no ambassador profile in this organisation.",
                                     "code": "no_profile"}


def test_share_records_a_share_event_and_returns_the_intent(login, org, api, ambassador_user, ambassador, campaign):
    link = LinkFactory(campaign=campaign, ambassador=ambassador)
    login(ambassador_user)
    response = api.post(api_url(org, f"my/links/{link.code}/shares/"), {"channel": "linkedin"})
    assert response.status_code == 201
    body = response.json()
    assert body["share_url"] == ("https://www.linkedin.com/sharing/share-offsite/?url="
                                 f"https%3A%2F%2Famb.example.com%2Fl%2F{link.code}%2Fli")
    assert body["channel"] == "linkedin" and body["repeated"] is False
    with tenant_scope(org):
        event = ShareEvent.objects.get()
        assert (event.link, event.ambassador, event.campaign, event.channel) == (link, ambassador, campaign, "linkedin")
    # A double click is not a second share.
    again = api.post(api_url(org, f"my/links/{link.code}/shares/"), {"channel": "linkedin"})
    assert again.status_code == 200 and again.json()["repeated"] is True
    assert api.post(api_url(org, f"my/links/{link.code}/shares/"), {"channel": "x"}).status_code == 201
    with tenant_scope(org):
        assert ShareEvent.objects.count() == 2
    for bad in ("direct", "myspace", ""):
        assert api.post(api_url(org, f"my/links/{link.code}/shares/"), {"channel": bad}).status_code == 400


def test_only_my_own_link_can_be_shared(login, org, other_org, api, ambassador_user, campaign):
    someone_else = LinkFactory(campaign=campaign)
    foreign = LinkFactory(campaign=CampaignFactory(organization=other_org))
    login(ambassador_user)
    for code in (someone_else.code, foreign.code, "nope", "a" * 40, "bad%20code"):
        assert api.post(api_url(org, f"my/links/{code}/shares/"), {"channel": "x"}).status_code == 404, code
    assert api.get(api_url(org, f"my/links/{someone_else.code}/")).status_code == 404
    with tenant_scope(org):
        assert not ShareEvent.objects.exists()


def test_no_shares_before_the_start_or_after_a_pause(login, org, api, ambassador_user, ambassador):
    soon = CampaignFactory(organization=org, starts_at=timezone.now() + timedelta(days=2))
    link = LinkFactory(campaign=soon, ambassador=ambassador)
    login(ambassador_user)
    early = api.post(api_url(org, f"my/links/{link.code}/shares/"), {"channel": "x"})
    assert early.status_code == 409 and "starts on" in early.json()["detail"]
    with tenant_scope(org):
        soon.starts_at = None
        soon.status = "paused"
        soon.save()
    assert api.post(api_url(org, f"my/links/{link.code}/shares/"), {"channel": "x"}).status_code == 409
    # The link itself stays visible in the ambassador's links.
    assert api.get(api_url(org, "my/links/")).json()["results"][0]["code"] == link.code


# --- QR codes ----------------------------------------------------------------------------------------------

def png_size(content: bytes) -> tuple[int, int]:
    assert content[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", content[16:24])


def test_qr_codes_for_the_owner_and_managers(login, org, api, ambassador_user, ambassador, manager, campaign):
    link = LinkFactory(campaign=campaign, ambassador=ambassador)
    base = api_url(org, f"links/{link.code}/qr")
    login(ambassador_user)
    png = api.get(base + ".png", HTTP_ACCEPT="image/png")
    assert png.status_code == 200 and png["Content-Type"] == "image/png"
    assert "private" in png["Cache-Control"] and "max-age=" in png["Cache-Control"]
    small, large = png_size(api.get(base + ".png?scale=1").content), png_size(api.get(base + ".png?scale=20").content)
    assert small[0] * 20 == large[0]
    svg = api.get(base + ".svg")
    assert svg.status_code == 200 and svg["Content-Type"] == "image/svg+xml"
    assert b"<svg" in svg.content and link.code.encode() in svg.content  # the title names the link
    download = api.get(base + ".svg?download=1")
    assert download["Content-Disposition"] == f'attachment; filename="link-{link.code}.svg"'
    for bad in ("0", "21", "abc", "-3"):
        response = api.get(base + f".png?scale={bad}")
        assert response.status_code == 400 and "scale" in response.json()
    assert api.get(base + ".gif").status_code == 404
    login(manager)
    assert api.get(base + ".png").status_code == 200


def test_qr_codes_are_404_for_other_ambassadors_and_other_orgs(login, org, other_org, api, campaign):
    link = LinkFactory(campaign=campaign)
    foreign = LinkFactory(campaign=CampaignFactory(organization=other_org))
    login(member(org, Role.AMBASSADOR, ambassador=True))
    assert api.get(api_url(org, f"links/{link.code}/qr.png")).status_code == 404
    login(member(org, Role.OWNER))
    assert api.get(api_url(org, f"links/{foreign.code}/qr.png")).status_code == 404
    assert api.get(f"/api/v1/o/{other_org.slug}/links/{foreign.code}/qr.png").status_code == 404
    assert api.get(f"/api/v1/o/{other_org.slug}/links/{foreign.code}/qr.svg").status_code == 404


def test_a_paused_ambassador_still_lists_their_links(login, org, api, ambassador_user, ambassador, campaign):
    LinkFactory(campaign=campaign, ambassador=ambassador)
    with tenant_scope(org):
        ambassador.status = "paused"
        ambassador.save()
    login(ambassador_user)
    assert api.get(api_url(org, "my/links/")).json()["count"] == 1


def test_a_user_with_profiles_in_two_orgs_gets_the_right_one(login, org, other_org, api, ambassador_user):
    AmbassadorFactory(organization=other_org, user=ambassador_user, status="paused")
    from tests.factories import MembershipFactory

    MembershipFactory(organization=other_org, user=ambassador_user, role=Role.AMBASSADOR)
    campaign = CampaignFactory(organization=org)
    login(ambassador_user)
    assert api.post(api_url(org, f"my/campaigns/{campaign.public_id}/link/")).status_code == 201
    assert api.get(f"/api/v1/o/{other_org.slug}/my/campaigns/").status_code == 403
    assert profile_of(ambassador_user, org).status == "active"
