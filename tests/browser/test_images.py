"""Campaign images in Chromium, against the live server, under the strict CSP: an admin uploads a PNG
through the campaign page's multipart form and sees its thumbnail; an HTML page named .png is refused
with its message; the ambassador sees the thumbnail on the campaign page and downloads the image as a
file. No Content-Security-Policy violation on any page."""

import io

import pytest
from django.urls import reverse
from PIL import Image
from playwright.sync_api import expect

from campaigns.models import CampaignImage
from tenancy.models import Role
from tenancy.scoping import tenant_scope
from tests.factories import PASSWORD, CampaignFactory, member
from tests.support.browser import CspWatch

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]


def log_in(page, live_server, user):
    page.goto(f"{live_server.url}/accounts/login/")
    form = page.locator("form:has(input[name=login])")
    form.locator("input[name=login]").fill(user.email)
    form.locator("input[name=password]").fill(PASSWORD)
    form.locator("button[type=submit]").click()
    page.wait_for_url(lambda url: "/accounts/login/" not in url)


def loaded(image_locator) -> bool:
    """The <img> was fetched and decoded (a blocked or broken image has no natural width)."""
    return image_locator.evaluate("img => img.complete && img.naturalWidth > 0")


def test_admin_uploads_an_image_and_the_ambassador_downloads_it(browser, live_server, org, tmp_path):
    admin = member(org, Role.ADMIN, email="admin@acme.test")
    ambassador = member(org, Role.AMBASSADOR, ambassador=True, email="amb@acme.test")
    campaign = CampaignFactory(organization=org, name="Spring launch")
    poster = tmp_path / "poster.png"
    Image.new("RGB", (960, 640), (200, 60, 30)).save(poster)
    fake = tmp_path / "fake.png"
    fake.write_bytes(b"<!DOCTYPE html><html><script>alert(1)</script></html>")

    context = browser.new_context()
    page = context.new_page()
    csp = CspWatch(context)
    log_in(page, live_server, admin)
    page.goto(live_server.url + reverse("campaign_manage", args=[org.slug, campaign.public_id]))
    upload = page.locator("form[enctype='multipart/form-data']")
    upload.get_by_label("Image").set_input_files(str(fake))
    upload.get_by_role("button", name="Upload image").click()
    expect(page.get_by_text("This file is a web page (HTML), not an image")).to_be_visible()

    upload = page.locator("form[enctype='multipart/form-data']")
    upload.get_by_label("Image").set_input_files(str(poster))
    upload.get_by_label("Description").fill("Our spring poster")
    upload.get_by_role("button", name="Upload image").click()
    thumbnail = page.get_by_role("img", name="Our spring poster")
    expect(thumbnail).to_be_visible()
    page.wait_for_function("img => img.complete", arg=thumbnail.element_handle())
    assert loaded(thumbnail)
    with tenant_scope(org):
        assert CampaignImage.objects.filter(campaign=campaign).count() == 1
    csp.assert_clean()
    context.close()

    context = browser.new_context(accept_downloads=True)
    page = context.new_page()
    csp = CspWatch(context)
    log_in(page, live_server, ambassador)
    page.goto(live_server.url + reverse("my_campaign", args=[org.slug, campaign.public_id]))
    thumbnail = page.get_by_role("img", name="Our spring poster")
    expect(thumbnail).to_be_visible()
    page.wait_for_function("img => img.complete", arg=thumbnail.element_handle())
    assert loaded(thumbnail)
    with page.expect_download() as download_info:
        page.get_by_role("link", name="Download Our spring poster").click()
    download = download_info.value
    assert download.suggested_filename == "poster.png"
    with open(download.path(), "rb") as handle:
        assert Image.open(io.BytesIO(handle.read())).size == (960, 640)
    csp.assert_clean()
    context.close()
