"""The share buttons' two server ends: the share action (GET share_open: the plain link, without JavaScript and
in e-mails) and the record of an opened share dialog (POST share_link, what static/js/share.js sends); the
post variants each ambassador is given on the pages and in the API."""

import uuid
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from campaigns.models import ShareEvent, TrackedLink
from campaigns.share import share_action_path, share_action_token
from tenancy.models import Role
from tenancy.scoping import tenant_scope
from tests.factories import PASSWORD, CampaignFactory, LinkFactory, MessageFactory, member
from tests.support.concurrency import at_once

pytestmark = pytest.mark.django_db

SITE = "https://amb.example.com"


@pytest.fixture(autouse=True)
def _site(settings):
    settings.SITE_URL = SITE


@pytest.fixture
def link(campaign, ambassador):
    return LinkFactory(campaign=campaign, ambassador=ambassador, code="Shr8dEf7")


def shares(org, **filters):
    with tenant_scope(org):
        return list(ShareEvent.objects.filter(**filters).order_by("pk"))


def open_url(org, link, channel):
    return share_action_path(link, channel, org_slug=org.slug)


def record_url(org, link, channel):
    return reverse("share_link", args=[org.slug, link.code, channel])


def query_of(url):
    return parse_qs(urlsplit(url).query)


# --- The share action (GET, signed) ------------------------------------------------------------------------

def test_the_share_action_records_once_and_opens_the_network_with_my_variant(login, org, ambassador_user, campaign,
                                                                              link):
    with tenant_scope(org):
        first = MessageFactory(campaign=campaign, channel="x", text="First words {link}")
        second = MessageFactory(campaign=campaign, channel="x", text="Second words {link}")
        link.variant_seed = 1
        link.save()
    client = login(ambassador_user)
    response = client.get(open_url(org, link, "x"))
    assert response.status_code == 302
    assert response["Location"].startswith("https://x.com/intent/post?")
    assert query_of(response["Location"]) == {"text": ["Second words"], "url": [f"{SITE}/l/Shr8dEf7/x"]}
    assert "no-store" in response["Cache-Control"] or "no-cache" in response["Cache-Control"]
    again = client.get(open_url(org, link, "x"))  # a second press within SHARE_REPEAT_SECONDS: the same share
    assert again.status_code == 302
    [share] = shares(org)
    assert (share.channel, share.dialog_id, share.message_id, share.edited) == ("x", None, second.pk, False)
    assert first.pk != second.pk


def test_the_share_action_opens_the_mail_program(login, org, ambassador_user, link):
    response = login(ambassador_user).get(open_url(org, link, "email"))
    assert response.status_code == 302
    assert response["Location"] == ("mailto:?subject=Spring%20webinar&body="
                                    "https%3A%2F%2Famb.example.com%2Fl%2FShr8dEf7%2Fem")
    assert [s.channel for s in shares(org)] == ["email"]


@pytest.mark.parametrize("token", ["", "nonsense", "forged-" + "A" * 20])
def test_a_missing_or_bad_token_is_refused_with_a_page(login, org, ambassador_user, link, token):
    url = reverse("share_open", args=[org.slug, link.code, "linkedin"]) + (f"?t={token}" if token else "")
    response = login(ambassador_user).get(url)
    assert response.status_code == 400
    assert "incomplete or has been altered" in response.content.decode()
    assert shares(org) == []


def test_a_token_opens_only_its_own_network(login, org, ambassador_user, link):
    url = reverse("share_open", args=[org.slug, link.code, "facebook"]) + f"?t={share_action_token(link.code, 'x')}"
    assert login(ambassador_user).get(url).status_code == 400
    assert shares(org) == []


@pytest.mark.parametrize("headers", [{"HTTP_SEC_PURPOSE": "prefetch"}, {"HTTP_SEC_PURPOSE": "prefetch;prerender"},
                                     {"HTTP_PURPOSE": "prefetch"}, {"HTTP_X_MOZ": "prefetch"},
                                     {"HTTP_X_PURPOSE": "preview"}])
def test_a_prefetch_records_nothing(login, org, ambassador_user, link, headers):
    response = login(ambassador_user).get(open_url(org, link, "linkedin"), **headers)
    assert response.status_code == 204
    assert shares(org) == []


def test_only_get_opens_a_share(login, org, ambassador_user, link):
    client = login(ambassador_user)
    assert client.head(open_url(org, link, "linkedin")).status_code == 405
    assert client.post(open_url(org, link, "linkedin")).status_code == 405
    assert shares(org) == []


def test_someone_elses_link_or_another_organisations_is_404(login, org, other_org, ambassador_user, campaign, link):
    others = LinkFactory(campaign=campaign)  # another ambassador's, signed all the same
    client = login(ambassador_user)
    assert client.get(open_url(org, others, "x")).status_code == 404
    foreign = LinkFactory(campaign=CampaignFactory(organization=other_org))
    assert client.get(open_url(org, foreign, "x")).status_code == 404  # under my organisation's address
    assert client.get(share_action_path(foreign, "x", org_slug=other_org.slug)).status_code == 404  # under theirs
    assert client.get(share_action_path(link, "direct", org_slug=org.slug)).status_code == 404
    with tenant_scope(org):
        assert not ShareEvent.objects.exists()
    with tenant_scope(other_org):
        assert not ShareEvent.objects.exists()


def test_a_campaign_not_started_or_paused_explains_and_records_nothing(login, org, ambassador_user, ambassador):
    soon = LinkFactory(campaign=CampaignFactory(organization=org, name="Soon",
                                                starts_at=timezone.now() + timedelta(days=1)), ambassador=ambassador)
    paused = LinkFactory(campaign=CampaignFactory(organization=org, name="Resting", status="paused"),
                         ambassador=ambassador)
    client = login(ambassador_user)
    response = client.get(open_url(org, soon, "linkedin"))
    assert response.status_code == 409 and "starts on" in response.content.decode()
    response = client.get(open_url(org, paused, "linkedin"))
    assert response.status_code == 409 and "“Resting” is paused" in response.content.decode()
    assert shares(org) == []


def test_logged_out_the_share_action_asks_to_log_in_and_comes_back(client, org, ambassador_user, link):
    """What an e-mail's button does: log in, then the share happens, once."""
    action = open_url(org, link, "email")
    response = client.get(action)
    assert response.status_code == 302 and response["Location"].startswith(reverse("account_login"))
    assert shares(org) == []
    login_page = response["Location"]
    next_url = query_of(login_page)["next"][0]
    assert next_url == action  # the signature survives the round trip
    logged_in = client.post(login_page, {"login": ambassador_user.email, "password": PASSWORD, "next": next_url})
    assert logged_in.status_code == 302 and logged_in["Location"] == action
    shared = client.get(logged_in["Location"])
    assert shared.status_code == 302 and shared["Location"].startswith("mailto:?subject=")
    assert [s.channel for s in shares(org)] == ["email"]


# --- The record of an opened dialog (POST, JSON) -----------------------------------------------------------

def test_an_opened_dialog_is_recorded_once_with_its_post_and_edit(api, login, org, ambassador_user, campaign, link):
    with tenant_scope(org):
        message = MessageFactory(campaign=campaign, channel="whatsapp", text="Look {link}")
    login(ambassador_user)
    dialog = str(uuid.uuid4())
    body = {"dialog_id": dialog, "message": str(message.public_id), "edited": True}
    first = api.post(record_url(org, link, "whatsapp"), body)
    assert first.status_code == 201
    assert first.json() | {"shared_at": None} == {"recorded": True, "dialog_id": dialog, "channel": "whatsapp",
                                                  "shared_at": None}
    retried = api.post(record_url(org, link, "whatsapp"), body)
    assert retried.status_code == 200 and retried.json()["recorded"] is False
    assert retried.json()["shared_at"] == first.json()["shared_at"]
    [share] = shares(org)
    assert (str(share.dialog_id), share.message_id, share.edited, share.channel) == (dialog, message.pk, True,
                                                                                     "whatsapp")
    another = api.post(record_url(org, link, "whatsapp"), {"dialog_id": str(uuid.uuid4()), "edited": False})
    assert another.status_code == 201  # a second dialog opened is a second share
    assert [(s.edited, s.message_id) for s in shares(org)] == [(True, message.pk), (False, None)]


def test_a_form_encoded_record_works_too(login, org, ambassador_user, link):
    client = login(ambassador_user)
    response = client.post(record_url(org, link, "linkedin"), {"dialog_id": str(uuid.uuid4()), "edited": "false"})
    assert response.status_code == 201 and response["Content-Type"] == "application/json"
    assert [(s.channel, s.edited) for s in shares(org)] == [("linkedin", False)]


@pytest.mark.parametrize(("body", "field", "words"), [
    ({}, "dialog_id", "Send the id of the share dialog"),
    ({"dialog_id": "not-a-uuid"}, "dialog_id", "must be a UUID"),
    ({"dialog_id": str(uuid.uuid4()), "message": "12"}, "message", "must be a UUID"),
    ({"dialog_id": str(uuid.uuid4()), "message": str(uuid.uuid4())}, "message", "not one of this campaign's"),
])
def test_bad_input_is_a_400_with_a_message(api, login, org, ambassador_user, link, body, field, words):
    login(ambassador_user)
    response = api.post(record_url(org, link, "x"), body)
    assert response.status_code == 400
    data = response.json()
    assert data["recorded"] is False and words in data["detail"] and words in data["errors"][field][0]
    assert shares(org) == []


def test_a_post_of_another_network_or_campaign_is_refused(api, login, org, ambassador_user, campaign, link):
    with tenant_scope(org):
        linkedin_post = MessageFactory(campaign=campaign, channel="linkedin")
        elsewhere = MessageFactory(campaign=CampaignFactory(organization=org), channel="x")
    login(ambassador_user)
    for message in (linkedin_post, elsewhere):
        response = api.post(record_url(org, link, "x"), {"dialog_id": str(uuid.uuid4()),
                                                         "message": str(message.public_id)})
        assert response.status_code == 400 and "not one of this campaign's X posts" in response.json()["detail"]
    assert shares(org) == []


def test_a_body_that_is_not_an_object_is_a_400(login, org, ambassador_user, link):
    client = login(ambassador_user)
    for raw in ("[1, 2]", "{not json", '"text"'):
        response = client.post(record_url(org, link, "x"), raw, content_type="application/json")
        assert response.status_code == 400 and "Send a JSON object" in response.json()["detail"]
    assert shares(org) == []


def test_a_dialog_id_of_another_share_is_refused(api, login, org, ambassador_user, ambassador, campaign, link):
    other_link = LinkFactory(campaign=CampaignFactory(organization=org), ambassador=ambassador)
    login(ambassador_user)
    dialog = str(uuid.uuid4())
    assert api.post(record_url(org, link, "x"), {"dialog_id": dialog}).status_code == 201
    for url in (record_url(org, link, "facebook"), record_url(org, other_link, "x")):
        response = api.post(url, {"dialog_id": dialog})
        assert response.status_code == 400 and "belongs to another share" in response.json()["errors"]["dialog_id"][0]
    assert len(shares(org)) == 1


def test_the_record_refuses_what_the_share_action_refuses(api, login, org, ambassador_user, ambassador, campaign,
                                                         link):
    soon = LinkFactory(campaign=CampaignFactory(organization=org, starts_at=timezone.now() + timedelta(days=1)),
                       ambassador=ambassador)
    others = LinkFactory(campaign=campaign)
    client = login(ambassador_user)
    response = api.post(record_url(org, soon, "x"), {"dialog_id": str(uuid.uuid4())})
    assert response.status_code == 409 and "starts on" in response.json()["detail"]
    response = api.post(record_url(org, others, "x"), {"dialog_id": str(uuid.uuid4())})
    assert response.status_code == 404 and response.json()["recorded"] is False
    response = api.post(record_url(org, link, "direct"), {"dialog_id": str(uuid.uuid4())})
    assert response.status_code == 404
    assert client.get(record_url(org, link, "x")).status_code == 405
    assert shares(org) == []


def test_the_record_needs_the_csrf_token(org, ambassador_user, link):
    client = Client(enforce_csrf_checks=True)
    client.force_login(ambassador_user)
    response = client.post(record_url(org, link, "x"), {"dialog_id": str(uuid.uuid4())},
                           content_type="application/json")
    assert response.status_code == 403
    page = client.get(reverse("my_campaign", args=[org.slug, link.campaign.public_id]))
    token = page.content.decode().split('data-share-csrf="', 1)[1].split('"', 1)[0]
    response = client.post(record_url(org, link, "x"), {"dialog_id": str(uuid.uuid4())},
                           content_type="application/json", HTTP_X_CSRFTOKEN=token)
    assert response.status_code == 201
    assert len(shares(org)) == 1


@pytest.mark.django_db(transaction=True)
def test_the_same_dialog_sent_at_once_from_several_connections_is_one_share(org, ambassador_user, link):
    """The unique dialog_id decides (on PostgreSQL both INSERTs really run at once)."""
    n = 6
    clients = []
    for _ in range(n):
        client = Client()
        client.force_login(ambassador_user)
        clients.append(client)
    body = {"dialog_id": str(uuid.uuid4())}
    results = at_once(lambda i: clients[i].post(record_url(org, link, "x"), body,
                                                content_type="application/json").status_code, n)
    assert sorted(results) == [200] * (n - 1) + [201]
    assert len(shares(org)) == 1


# --- Pages: the buttons, the variants ------------------------------------------------------------------------

def test_the_pages_show_links_to_the_share_action_and_record_nothing(login, org, ambassador_user, campaign, link):
    client = login(ambassador_user)
    for url in (reverse("org_home", args=[org.slug]), reverse("my_campaign", args=[org.slug, campaign.public_id])):
        html = client.get(url).content.decode()
        for channel in ("linkedin", "x", "facebook", "email", "whatsapp"):
            href = open_url(org, link, channel).replace("&", "&amp;")
            assert f'href="{href}"' in html
            assert f'data-share-record="{record_url(org, link, channel)}"' in html
        assert "<form method=\"post\" action=\"/o/acme/links/" not in html
        assert "{#" not in html and "{%" not in html and "ShareOption" not in html  # no template text shows
    assert shares(org) == []


def test_ambassadors_of_one_campaign_get_different_variants_and_keep_theirs(org, campaign):
    with tenant_scope(org):
        for words in ("Alpha words", "Beta words", "Gamma words"):
            MessageFactory(campaign=campaign, channel="x", text=f"{words} {{link}}")
    people = [member(org, Role.AMBASSADOR, ambassador=True, email=f"amb{n}@acme.test") for n in range(3)]
    page = reverse("my_campaign", args=[org.slug, campaign.public_id])
    seen = []
    for person in people:
        client = Client()
        client.force_login(person)
        first = client.get(page).content.decode()  # the first visit makes the link
        texts = [words for words in ("Alpha", "Beta", "Gamma") if f"{words} words {SITE}/l/" in first]
        assert len(texts) == 1
        for url in (page, reverse("org_home", args=[org.slug])):
            assert f"{texts[0]} words {SITE}/l/" in client.get(url).content.decode()  # stable across loads
        seen.append(texts[0])
    assert sorted(seen) == ["Alpha", "Beta", "Gamma"]
    with tenant_scope(org):
        assert sorted(TrackedLink.objects.values_list("variant_seed", flat=True)) == [0, 1, 2]


def test_the_api_gives_my_variant_and_records_a_dialog_once(api, login, org, ambassador_user, campaign, link):
    with tenant_scope(org):
        MessageFactory(campaign=campaign, channel="x", text="One {link}")
        second = MessageFactory(campaign=campaign, channel="x", text="Two {link}")
        link.variant_seed = 1
        link.save()
    login(ambassador_user)
    kit = api.get(f"/api/v1/o/{org.slug}/my/links/{link.code}/").json()
    assert query_of(kit["share_urls"]["x"])["text"] == ["Two"]
    assert [m["text"] for m in kit["messages"] if m["channel"] == "x"] == [f"Two {SITE}/l/{link.code}/x"]
    url = f"/api/v1/o/{org.slug}/my/links/{link.code}/shares/"
    dialog = str(uuid.uuid4())
    first = api.post(url, {"channel": "x", "dialog_id": dialog, "edited": True})
    again = api.post(url, {"channel": "x", "dialog_id": dialog, "edited": True})
    assert (first.status_code, first.json()["repeated"]) == (201, False)
    assert (again.status_code, again.json()["repeated"]) == (200, True)
    assert query_of(first.json()["share_url"])["text"] == ["Two"]
    [share] = shares(org)
    assert (str(share.dialog_id), share.message_id, share.edited) == (dialog, second.pk, True)
    clash = api.post(url, {"channel": "linkedin", "dialog_id": dialog})
    assert clash.status_code == 400 and "belongs to another share" in clash.json()["dialog_id"][0]
    plain = api.post(url, {"channel": "x"})  # without a dialog: the minute's repeat rule (the dialog just now)
    assert (plain.status_code, plain.json()["repeated"]) == (200, True)
    with tenant_scope(org):
        ShareEvent.objects.update(shared_at=timezone.now() - timedelta(minutes=2))
    plain = api.post(url, {"channel": "x"})
    assert plain.status_code == 201
    assert [(s.message_id, s.dialog_id is None) for s in shares(org)] == [(second.pk, False), (second.pk, True)]
