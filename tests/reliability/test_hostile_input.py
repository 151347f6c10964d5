"""Hostile input drill: what an attacker (or a careless CRM) sends never gets a 500, never
redirects a browser off-site, never runs in a spreadsheet, never runs as markup.

* open redirects: campaign destinations (javascript:, data:, //evil.com, \\\\evil.com, http:/evil …)
  are refused by the form, the API and the model; `next=` on log-in, log-out, join and the
  ambassador status form never leads to another host;
* oversized bodies: HTML forms over DATA_UPLOAD_MAX_MEMORY_SIZE or with too many fields, session
  API and import uploads over their limits → a clear 4xx;
* invalid UTF-8 and NUL characters in query strings, form fields, JSON bodies and CSV files →
  4xx with a message or a normal page, never a 500 (PostgreSQL refuses NUL in text);
* deeply nested JSON (10,000 levels) → 400, not a RecursionError;
* CSV formula injection: every CSV export, end to end, with names starting = + - @ → no cell a
  spreadsheet would run;
* markup in names (ambassador, campaign, message, organisation, group) is escaped on every page
  that shows it, in the SVG charts and in the digest e-mail (and is plain text in text e-mails)."""

import csv
import io
import json
import re
from urllib.parse import urlsplit

import pytest
from django.core import mail
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from rest_framework.test import APIClient

from ambassadors.models import Ambassador, Status
from ambassadors.services import programme
from campaigns.models import Campaign, CampaignStatus
from tenancy.models import Role
from tenancy.scoping import tenant_scope
from tenancy.services import create_api_key
from tests.factories import PASSWORD, AmbassadorFactory, CampaignFactory, member
from tracking.services import imports

pytestmark = pytest.mark.django_db

EVIL_URLS = [
    "javascript:alert(1)", "JavaScript:alert(document.cookie)", " javascript:alert(1)",
    "data:text/html,<script>alert(1)</script>", "vbscript:msgbox(1)", "//evil.com", "//evil.com/path",
    "\\\\evil.com", "\\/evil.com", "/\\evil.com", "http:/evil.com", "http:evil.com", "https:\\\\evil.com",
    "https:///evil.com", "http://", "/relative/path", "evil.com", "https://user:pass@evil.com/",
    "https://evil.com\\@good.example.com/", "https://evil.com\x00", "https://evil.com/\nSet-Cookie:x",
    "ftp://evil.com/", "file:///etc/passwd",
]
# Where `next=` may try to send a browser after log-in, log-out, joining or a status change.
EVIL_NEXT = ["https://evil.com/", "//evil.com", "\\\\evil.com", "/\\evil.com", "\\/evil.com", "https:evil.com",
             "http://testserver.evil.com/", "javascript:alert(1)", "https://evil.com@testserver/", " //evil.com",
             "/%2F%2Fevil.com", "http:/\\/evil.com"]
MARKUP = '<script>alert("x")</script><img src=x onerror=alert(1)>'
ESCAPED_SCRIPT = "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;"
FORMULAS = ["=HYPERLINK(\"http://evil.com\",\"x\")", "+SUM(1,1)", "-2+3+cmd|' /C calc'!A0", "@SUM(1)",
            "\t=1+1", "\r=1+1"]
DANGEROUS_FIRST = ("=", "+", "-", "@", "\t", "\r")
PLAIN_NUMBER = re.compile(r"[+-]?\d[\d.,  ]*")


def off_site(location: str) -> bool:
    """Would a browser following this Location leave testserver? (Browsers treat \\ as /.)"""
    normalised = location.strip().replace("\\", "/")
    parts = urlsplit(normalised)
    if parts.scheme and parts.scheme not in ("http", "https"):
        return True
    if normalised.startswith("//") or parts.netloc:
        return parts.hostname != "testserver"
    return False


@pytest.fixture
def owner_client(client, owner):
    client.force_login(owner)
    return client


# --- open redirects ---------------------------------------------------------------------------------


def test_campaign_destinations_refuse_every_off_site_or_script_url(org, owner, owner_client):
    """The form, the API and the model refuse each hostile destination (and fallback); a good one passes."""
    api = APIClient()
    api.force_login(owner)
    create = reverse("campaign_create", args=[org.slug])
    base = {"name": "Hostile", "status": CampaignStatus.ACTIVE, "minutes_per_share": "5", "utm_source": "amb",
            "utm_medium": "share", "utm_campaign": "{campaign}", "utm_content": "{channel}"}
    refused = 0
    for url in EVIL_URLS:
        for field in ("destination_url", "fallback_url"):
            form = {**base, "destination_url": "https://www.example.com/ok", field: url}
            response = owner_client.post(create, form)
            assert response.status_code == 400, (url, field, response.status_code)  # the form again, with why
            assert "errorlist" in response.content.decode() or "\x00" in url, (url, field)
            body = {**base, "destination_url": "https://www.example.com/ok", field: url}
            response = api.post(f"/api/v1/o/{org.slug}/campaigns/", body, format="json")
            assert response.status_code == 400, (url, field, response.content)
            assert field in response.json() or "NUL" in response.json().get("detail", ""), (url, field)
            refused += 2
        with tenant_scope(org):
            campaign = Campaign(organization=org, name="M", slug="m", destination_url=url)
            with pytest.raises(ValidationError) as error:
                campaign.full_clean()
            assert "destination_url" in str(error.value)
    with tenant_scope(org):
        assert not Campaign.objects.filter(name="Hostile").exists()
    ok = owner_client.post(create, {**base, "destination_url": "https://www.example.com/ok?a=1#b"})
    assert ok.status_code == 302
    print(f"DRILL open-redirect destinations: hostile={len(EVIL_URLS)} refusals={refused} stored=0")


def test_next_on_login_and_logout_never_leaves_the_site(org, owner):
    client = Client()
    followed = 0
    for target in EVIL_NEXT:
        response = client.post(reverse("account_login"), {"login": owner.email, "password": PASSWORD,
                                                          "next": target})
        assert response.status_code == 302, (target, response.status_code)
        assert not off_site(response["Location"]), (target, response["Location"])
        response = client.post(reverse("account_logout"), {"next": target})
        assert response.status_code == 302 and not off_site(response["Location"]), (target, response["Location"])
        followed += 1
    html = Client().get(reverse("account_login"), {"next": f'/"><x>{MARKUP}'}).content.decode()
    assert "<script>alert" not in html and '"><x>' not in html
    print(f"DRILL next=: targets={followed} off-site redirects=0")


def test_next_on_the_ambassador_status_form_stays_on_site(org, owner_client):
    """Regression: the status form's `next` was redirected to as given (an open redirect)."""
    ambassador = AmbassadorFactory(organization=org, status=Status.PENDING)
    url = reverse("ambassador_status", args=[org.slug, ambassador.public_id])
    for target in EVIL_NEXT:
        response = owner_client.post(url, {"status": "active", "next": target})
        assert response.status_code == 302 and not off_site(response["Location"]), (target, response["Location"])
    response = owner_client.post(url, {"status": "active", "next": f"/o/{org.slug}/reports/"})
    assert response["Location"] == f"/o/{org.slug}/reports/"


def test_join_page_ignores_next(org, client):
    with tenant_scope(org):
        page = programme.join_page_of(org)
        page.enabled = True
        page.save()
    user = member(org, Role.AMBASSADOR, email="applicant@example.com")
    client.force_login(user)
    for target in EVIL_NEXT[:4]:
        response = client.get(reverse("join", args=[org.slug]) + "?next=" + target)
        assert response.status_code in (200, 302)
        if response.status_code == 302:
            assert not off_site(response["Location"])
    response = client.post(reverse("join", args=[org.slug]) + "?next=https://evil.com/",
                           {"display_name": "Applicant", "kind": "external", "next": "https://evil.com/"})
    assert response.status_code == 302 and not off_site(response["Location"]), response


# --- oversized bodies ---------------------------------------------------------------------------------


def test_oversized_bodies_get_a_clear_4xx(org, owner, owner_client, settings):
    """HTML forms over DATA_UPLOAD_MAX_MEMORY_SIZE or DATA_UPLOAD_MAX_NUMBER_FIELDS → 400; the
    session JSON API → 413; the tracking API → 413; import files over 5 MB → 400/413 with why."""
    limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    figures = {}
    big = "x" * (limit + 1024)
    response = owner_client.post(reverse("campaign_create", args=[org.slug]), {"name": big})
    figures["form"] = response.status_code
    assert response.status_code == 400 and b"too large" in response.content  # templates/400.html
    many = "&".join(f"f{i}=1" for i in range(settings.DATA_UPLOAD_MAX_NUMBER_FIELDS + 10))
    response = owner_client.post(reverse("campaign_create", args=[org.slug]), many,
                                 content_type="application/x-www-form-urlencoded")
    figures["fields"] = response.status_code
    assert response.status_code == 400

    api = APIClient()
    api.force_login(owner)
    body = json.dumps({"name": "Big", "destination_url": "https://www.example.com/", "description": big})
    response = api.post(f"/api/v1/o/{org.slug}/campaigns/", body, content_type="application/json")
    figures["session-api"] = response.status_code
    assert response.status_code == 413, response.content[:200]
    assert "detail" in response.json()

    _, full_key = create_api_key(organization=org, name="CRM")
    machine = APIClient()
    machine.credentials(HTTP_AUTHORIZATION=f"Bearer {full_key}")
    response = machine.post("/api/v1/track/lead", json.dumps({"email": "a@example.com", "name": big}),
                            content_type="application/json")
    figures["track-api"] = response.status_code
    assert response.status_code == 413

    huge = b"Email\n" + b"a@example.com\n" * (5 * 1024 * 1024 // 14 + 10)
    response = owner_client.post(reverse("conversion_imports", args=[org.slug]),
                                 {"step": "upload", "kind": "leads", "file": SimpleUploadedFile("big.csv", huge)})
    figures["import-page"] = response.status_code
    assert response.status_code == 413 and "MB" in response.content.decode()
    response = machine.post("/api/v1/imports/", {"kind": "leads", "file": SimpleUploadedFile("big.csv", huge)})
    figures["import-api"] = response.status_code
    assert response.status_code in (400, 413) and "MB" in response.content.decode()
    response = owner_client.post(reverse("ambassador_invite_csv", args=[org.slug]),
                                 {"file": SimpleUploadedFile("people.csv", b"email\n" + b"a@example.com\n" * 400_000)})
    figures["invite-csv"] = response.status_code
    assert response.status_code == 400 and "larger than 2 MB" in response.content.decode()
    print(f"DRILL oversized: statuses={figures}")


# --- invalid UTF-8, NUL characters, deep JSON ---------------------------------------------------------------


BAD_BYTES = "%FF%FE%C3%28%ED%A0%80"  # invalid UTF-8: lone continuation, bad 2-byte, a surrogate


def test_invalid_utf8_and_nul_in_query_strings_never_500(org, owner_client, owner):
    """Each parameter a page or API list reads, alone, with bytes that are not UTF-8 and with NUL:
    never a 500 (NUL: 400 with a message, as PostgreSQL can't compare text holding one)."""
    campaign = CampaignFactory(organization=org)
    pages = [
        f"/o/{org.slug}/", f"/o/{org.slug}/ambassadors/", f"/o/{org.slug}/campaigns/",
        f"/o/{org.slug}/manage/campaigns/", f"/o/{org.slug}/reports/", f"/o/{org.slug}/reports/leaderboard/",
        f"/o/{org.slug}/reports/leaderboard.csv", f"/o/{org.slug}/reports/roi/", f"/o/{org.slug}/reports/roi.csv",
        f"/o/{org.slug}/reports/roi/{campaign.public_id}/", f"/o/{org.slug}/reports/funnel/",
        f"/o/{org.slug}/reports/funnel.csv", f"/o/{org.slug}/reports/models/", f"/o/{org.slug}/reports/models.csv",
        f"/o/{org.slug}/reports/digest/", f"/o/{org.slug}/me/", f"/o/{org.slug}/manage/imports/",
        f"/api/v1/o/{org.slug}/ambassadors/", f"/api/v1/o/{org.slug}/campaigns/",
        f"/api/v1/o/{org.slug}/reports/leaderboard/", f"/api/v1/o/{org.slug}/reports/roi/",
        f"/api/v1/o/{org.slug}/reports/funnel/", f"/api/v1/o/{org.slug}/reports/models/",
        f"/api/v1/o/{org.slug}/my/links/",
    ]
    params = ["q", "status", "kind", "group", "period", "start", "end", "metric", "view", "table", "by", "campaign",
              "model", "channel", "limit", "offset", "ordering", "search", "frequency"]
    statuses = {}
    for page in pages:
        for name in params:
            for value in (BAD_BYTES, "a%00b"):
                response = owner_client.get(f"{page}?{name}={value}")
                statuses[response.status_code] = statuses.get(response.status_code, 0) + 1
                assert response.status_code < 500, (page, name, value, response.status_code)
                if "%00" in value:
                    assert response.status_code == 400 and b"NUL" in response.content, (page, name)
    for path in (f"/l/{BAD_BYTES}", "/l/%00", f"/invite/{BAD_BYTES}/", f"/o/{BAD_BYTES}/", f"/join/{BAD_BYTES}/"):
        response = owner_client.get(path)
        assert response.status_code in (404, 410), (path, response.status_code)
    for path in ("/invite/%00/", "/join/%00/", "/o/acme/%00/"):
        assert owner_client.get(path).status_code in (400, 404), path
    print(f"DRILL bad query strings: requests={sum(statuses.values())} statuses={statuses}")


def test_nul_in_a_cookie_is_ignored_not_a_500(org, owner_client):
    """A session cookie mangled to hold NUL (the quoted "\\000" form) logs out rather than fails."""
    owner_client.cookies["sessionid"] = "\x00" + owner_client.cookies["sessionid"].value
    owner_client.cookies["csrftoken"] = "\x00abc"
    response = owner_client.get(f"/o/{org.slug}/")
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_invalid_utf8_and_nul_in_form_fields_never_500(org, owner_client):
    """Form posts with bytes that are not UTF-8, and with NUL characters, are refused with a message."""
    url = reverse("campaign_create", args=[org.slug])
    body = ("name=Spring%FF%FEsale&status=active&destination_url=https%3A%2F%2Fwww.example.com%2F"
            "&minutes_per_share=5&utm_source=a&utm_medium=b&utm_campaign=c&utm_content=d")
    response = owner_client.post(url, body, content_type="application/x-www-form-urlencoded")
    assert response.status_code in (302, 400), response.status_code
    response = owner_client.post(url, body.replace("%FF%FE", "%00"), content_type="application/x-www-form-urlencoded")
    assert response.status_code == 400 and "NUL characters" in response.content.decode()
    posts = [("org_settings", {"name": "Ac\x00me", "slug": org.slug, "time_zone": "UTC", "currency": "EUR"}),
             ("ambassador_invite", {"email": "a\x00@example.com", "display_name": "x\x00"}),
             ("ambassador_groups", {"name": "G\x00"}),
             ("conversion_imports", {"step": "confirm", "kind": "leads", "file_name": "a\x00.csv", "payload": "x"}),
             ("report_digest", {"action": "subscribe\x00", "frequency": "weekly"})]
    for name, data in posts:
        response = owner_client.post(reverse(name, args=[org.slug]), data)
        assert response.status_code == 400 and "NUL characters" in response.content.decode(), (name, response)
    response = owner_client.post(reverse("campaign_create", args=[org.slug]),
                                 {"name": "x", "file": SimpleUploadedFile("a\x00.csv", b"x"), "n\x00": "1"})
    assert response.status_code == 400, response.status_code
    response = Client().post(reverse("account_login"), {"login": "a\x00@example.com", "password": "x\x00"})
    assert response.status_code == 400


def test_bad_json_bodies_get_400_with_a_message(org, owner):
    """Invalid UTF-8, NUL characters (PostgreSQL refuses them in text and jsonb) and 10,000 levels of
    nesting in JSON bodies: 400 with a message on the tracking API and the session API."""
    _, full_key = create_api_key(organization=org, name="CRM")
    machine = APIClient()
    machine.credentials(HTTP_AUTHORIZATION=f"Bearer {full_key}")
    session = APIClient()
    session.force_login(owner)
    deep = '{"a":' * 10_000 + "1" + "}" * 10_000
    cases = {
        "invalid utf-8": b'{"email": "a@example.com", "name": "\xff\xfe"}',
        "nul in name": json.dumps({"email": "a@example.com", "name": "a\u0000b"}).encode(),
        "nul in metadata value": json.dumps({"email": "a@example.com", "metadata": {"k": "a\u0000b"}}).encode(),
        "nul in metadata key": json.dumps({"email": "a@example.com", "metadata": {"a\u0000": 1}}).encode(),
        "deep metadata": ('{"email": "a@example.com", "metadata": ' + deep + "}").encode(),
        "deep body": deep.encode(),
        "moderately deep metadata": ('{"email": "a@example.com", "metadata": ' + '{"a":' * 900 + "1"
                                     + "}" * 900 + "}").encode(),
        "lone surrogate": b'{"email": "a@example.com", "name": "\\ud800"}',
        "not json": b"{'email': 'a@example.com'",
    }
    statuses = {}
    for name, body in cases.items():
        response = machine.post("/api/v1/track/lead", body, content_type="application/json")
        statuses[name] = response.status_code
        assert response.status_code == 400, (name, response.status_code, response.content[:300])
        assert response.json(), name
    for name in ("invalid utf-8", "deep body", "not json"):
        response = session.post(f"/api/v1/o/{org.slug}/campaigns/", cases[name], content_type="application/json")
        assert response.status_code == 400, (name, response.status_code, response.content[:300])
    response = session.post(f"/api/v1/o/{org.slug}/campaigns/", json.dumps(
        {"name": "N\u0000", "destination_url": "https://www.example.com/"}), content_type="application/json")
    assert response.status_code == 400
    print(f"DRILL bad JSON: cases={len(cases)} statuses={statuses}")


def test_invalid_utf8_and_nul_in_csv_imports(org, owner_client):
    """Conversion imports read non-UTF-8 files as Windows-1252 (and say so) and refuse NUL bytes as
    binary data; CSV invitations refuse non-UTF-8 and (regression: a 500 from PostgreSQL) NUL."""
    latin = b"Email;Name\n\xff\xfe@example.com;Ren\xe9\nok@example.com;Ok\n"
    response = owner_client.post(reverse("conversion_imports", args=[org.slug]),
                                 {"step": "upload", "kind": "leads", "file": SimpleUploadedFile("x.csv", latin)})
    assert response.status_code == 200 and "Windows-1252" in response.content.decode()
    nul = b"Email;Name\nnul\x00@example.com;N\x00ul\nok@example.com;Ok\n"
    response = owner_client.post(reverse("conversion_imports", args=[org.slug]),
                                 {"step": "upload", "kind": "leads", "file": SimpleUploadedFile("x.csv", nul)})
    assert response.status_code == 400 and "binary data" in response.content.decode()
    with pytest.raises(imports.ImportRefused):  # what the API and the queued task call
        imports.create_import(org, None, "leads", "x.csv", nul, {"email": "Email", "name": "Name"})

    invite_url = reverse("ambassador_invite_csv", args=[org.slug])
    invite = b"email,name\nbad\xff@example.com,\xff\xfe\ngood@example.com,Good\n"
    response = owner_client.post(invite_url, {"file": SimpleUploadedFile("people.csv", invite)})
    assert response.status_code == 400 and "not UTF-8" in response.content.decode(), response.status_code
    invite = b"email,name\nnul@example.com,N\x00ul\nnul\x00@example.com,Nul\ngood@example.com,Good\n"
    response = owner_client.post(invite_url, {"file": SimpleUploadedFile("people.csv", invite)})
    assert response.status_code == 400 and "NUL characters" in response.content.decode(), response.status_code
    with tenant_scope(org):
        assert not Ambassador.objects.exists()


# --- CSV formula injection and markup in names, over the demo programme -------------------------------------


@pytest.fixture
def hostile_demo(db, settings, tmp_path):
    """The demo programme (90 days of clicks, leads, sales, credits) with every name an attacker
    controls made hostile: spreadsheet formulas and markup in the organisation, ambassador,
    campaign, group and message texts."""
    from django.core.management import call_command

    from ambassadors.models import Ambassador, AmbassadorGroup
    from campaigns.models import CampaignMessage
    from tenancy.models import Membership, Organization

    settings.CLICK_SPOOL_DIR = tmp_path / "spool"
    call_command("seed_demo")
    org = Organization.objects.get(slug="northwind")
    org.name = f"North{MARKUP}wind & Co"
    org.save()
    with tenant_scope(org):
        for i, ambassador in enumerate(Ambassador.objects.order_by("pk")):
            ambassador.display_name = FORMULAS[i % len(FORMULAS)] + (MARKUP if i % 2 else "")
            ambassador.save(update_fields=["display_name"])
        for i, campaign in enumerate(Campaign.objects.order_by("pk")):
            campaign.name = FORMULAS[i % len(FORMULAS)] + MARKUP
            campaign.save(update_fields=["name"])
        for i, group in enumerate(AmbassadorGroup.objects.order_by("pk")):
            group.name = f"{FORMULAS[i % len(FORMULAS)][:8]}{MARKUP}{i}"[:80]
            group.save(update_fields=["name"])
        for message in CampaignMessage.objects.all():
            message.text = f"{MARKUP} {{link}}"
            message.save(update_fields=["text"])
        owner = Membership.objects.get(organization=org, role=Role.OWNER).user
    return org, owner


def dangerous_cells(text: str) -> tuple[list[str], int]:
    """Cells a spreadsheet would run as a formula, and how many were neutralised (leading ')."""
    bad, neutralised = [], 0
    for row in csv.reader(io.StringIO(text.lstrip("\ufeff"))):
        for cell in row:
            if cell.startswith(DANGEROUS_FIRST) and not PLAIN_NUMBER.fullmatch(cell):
                bad.append(cell)
            if cell.startswith("'") and cell[1:2] in DANGEROUS_FIRST:
                neutralised += 1
    return bad, neutralised


def test_every_csv_export_neutralises_formulas(hostile_demo, client, settings):
    """Every CSV the site serves (each report, each table, each metric, the fair view, the
    comparison by ambassador and by campaign, an import's rejected rows, the digest's
    attachment), end to end over hostile names: no cell starts with = + - @ tab or CR
    unless it is a plain number; the hostile names are there, neutralised."""
    from reports import digest
    from reports.selectors.leaderboard import METRICS
    from reports.views.roi import DETAIL_TABLES, FUNNEL_TABLES
    from tracking.services import imports

    org, owner = hostile_demo
    client.force_login(owner)
    base = f"/o/{org.slug}"
    with tenant_scope(org):
        campaigns = list(Campaign.objects.values_list("public_id", flat=True))
    period = "?period=90d"
    urls = [f"{base}/reports/leaderboard.csv{period}&metric={m}" for m in METRICS]
    urls += [f"{base}/reports/leaderboard.csv{period}&view=fair", f"{base}/reports/roi.csv{period}"]
    urls += [f"{base}/reports/funnel.csv{period}&table={t}" for t in FUNNEL_TABLES]
    urls += [f"{base}/reports/models.csv{period}&by={by}" for by in ("ambassador", "campaign")]
    urls += [f"{base}/reports/roi/{c}.csv{period}&table={t}" for c in campaigns[:3] for t in DETAIL_TABLES]
    # …and every CSV link the report pages offer.
    for page in ("reports/", "reports/leaderboard/", "reports/roi/", "reports/funnel/", "reports/models/",
                 f"reports/roi/{campaigns[0]}/"):
        html = client.get(f"{base}/{page}{period}").content.decode()
        urls += [href.replace("&amp;", "&") for href in re.findall(r'href="([^"]+\.csv[^"]*)"', html)]
    rejected = "Email;Name;Value\n" + "".join(f"not-an-email-{i};{f};{f}\n" for i, f in enumerate(FORMULAS))
    conversion_import = imports.create_import(org, owner, "leads", "hostile.csv", rejected.encode(),
                                              {"email": "Email", "name": "Name"})
    imports.run_import(conversion_import.pk)
    urls.append(reverse("conversion_import_rejected", args=[org.slug, conversion_import.public_id]))

    checked, neutralised, files = 0, 0, 0
    for url in sorted(set(urls)):
        response = client.get(url)
        assert response.status_code == 200, (url, response.status_code)
        assert response["Content-Type"].startswith("text/csv"), url
        text = b"".join(response.streaming_content).decode() if response.streaming else response.content.decode()
        bad, count = dangerous_cells(text)
        assert not bad, (url, bad[:5])
        checked += text.count("\n")
        neutralised += count
        files += 1
    period_obj = digest.digest_period("weekly", org.tzinfo)
    with tenant_scope(org):
        content = digest.digest_content(org, "weekly", period_obj)
    bad, count = dangerous_cells(content.csv_text)
    assert not bad, bad[:5]
    neutralised += count
    assert neutralised >= 20, neutralised  # the hostile names reached the files, neutralised
    print(f"DRILL csv injection: files={files + 1} lines={checked} neutralised={neutralised} dangerous=0")


def test_markup_in_names_is_escaped_on_every_page_and_in_emails(hostile_demo, client):
    """Every page of the organisation (as its owner and as an ambassador whose own name is
    markup), the public join page, the SVG charts and the digest e-mail: the hostile markup
    never appears raw, and it does appear escaped (so the names really are shown)."""
    from ambassadors.models import Ambassador
    from ambassadors.services import programme
    from reports import digest
    from reports.charts import hbars

    org, owner = hostile_demo
    base = f"/o/{org.slug}"
    with tenant_scope(org):
        campaign = Campaign.objects.order_by("pk").first()
        ambassador = Ambassador.objects.filter(user__isnull=False, display_name__contains="<script>",
                                               status=Status.ACTIVE).first()
        page = programme.join_page_of(org)
        page.enabled = True
        page.headline = MARKUP
        page.save()
    pages = ["", "ambassadors/", f"ambassadors/{ambassador.public_id}/", "manage/", "manage/campaigns/",
             f"manage/campaigns/{campaign.public_id}/", "manage/groups/", "manage/members/", "manage/settings/",
             "manage/invite/", "manage/join-page/", "manage/points/", "manage/imports/", "manage/api-keys/",
             "manage/attribution/", "manage/domains/", "reports/?period=90d", "reports/leaderboard/?period=90d",
             "reports/leaderboard/?period=90d&view=fair", "reports/roi/?period=90d",
             f"reports/roi/{campaign.public_id}/?period=90d", "reports/funnel/?period=90d",
             "reports/models/?period=90d", "reports/models/?period=90d&by=campaign", "reports/digest/", "me/"]
    escaped_pages = 0
    client.force_login(owner)
    for path in pages:
        response = client.get(f"{base}/{path}", follow=True)
        assert response.status_code == 200, (path, response.status_code)
        html = response.content.decode()
        assert "<script>alert" not in html and "<img src=x" not in html, path
        escaped_pages += ESCAPED_SCRIPT in html
    client.force_login(ambassador.user)
    for path in ["", "campaigns/", f"campaigns/{campaign.public_id}/", "profile/"]:
        html = client.get(f"{base}/{path}").content.decode()
        assert "<script>alert" not in html and "<img src=x" not in html, path
        escaped_pages += ESCAPED_SCRIPT in html
    client.logout()
    html = client.get(reverse("join", args=[org.slug])).content.decode()
    assert "<script>alert" not in html and ESCAPED_SCRIPT in html
    assert escaped_pages >= 20, escaped_pages

    from django.template.loader import render_to_string

    svg = render_to_string("reports/_hbars.html", {"chart": hbars([(MARKUP, 3), ("ok", 1)]), "id": "c",
                                                    "title": MARKUP, "caption": MARKUP})
    assert "<script>" not in svg and svg.count(ESCAPED_SCRIPT) >= 3

    mail.outbox.clear()
    with tenant_scope(org):
        digest.send_preview(org, owner, "weekly")
    message = mail.outbox[-1]
    html_part = message.alternatives[0][0]
    assert "<script>alert" not in html_part and ESCAPED_SCRIPT in html_part
    assert "&lt;" not in message.subject and "&amp;" not in message.subject, message.subject  # plain text
    assert "North<script>" in message.subject and "& Co" in message.subject
    assert "\n" not in message.subject
    assert "&lt;" not in message.body and "North<script>" in message.body  # the text part is not HTML
    print(f"DRILL markup: pages={len(pages) + 5} escaped-on={escaped_pages} raw=0; svg and digest e-mail escaped")


def test_newlines_in_an_organisation_name_never_reach_an_email_header(org, owner_client):
    """Regression: an organisation name holding CR/LF (a hand-made form post) made the invitation
    e-mail's subject a multi-line header, which Django refuses to send (BadHeaderError: the
    invitation task failed on every retry); a header injection (Bcc:) is never possible."""
    from ambassadors.services import invitations

    response = owner_client.post(reverse("org_settings", args=[org.slug]), {
        "name": "Evil\r\nBcc: victim@example.com", "slug": org.slug, "time_zone": "UTC", "currency": "EUR"})
    assert response.status_code in (200, 302, 400)
    org.refresh_from_db()
    if "\n" not in org.name:  # the form refused or cleaned it; put it there as an API or admin might
        org.name = "Evil\r\nBcc: victim@example.com"
        org.save()
    with tenant_scope(org):
        invitation = invitations.invite(organization=org, email="new.person@example.com", send=False)
        invitations.send_invitation(invitation)
    sent = mail.outbox[-1]
    assert "\n" not in sent.subject and "\r" not in sent.subject and sent.message()["Bcc"] is None
    assert sent.recipients() == ["new.person@example.com"]
