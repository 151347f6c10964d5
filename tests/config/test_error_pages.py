"""The error pages of `make run` (DEBUG off, as in production): the site's own 404 and 500 pages,
styled, with a way home — never Django's debug pages, which list the URL patterns or show a
traceback. A visitor of an unknown short link gets the 404 page even with DEBUG on."""

import re

import pytest
from django.test import Client
from django.urls import path

from tenancy.models import Role
from tests.factories import OrganizationFactory, member


def fail(request):
    raise RuntimeError("secret detail of a failure")


urlpatterns = [path("fail/", fail)]  # this module is the URLconf of the 500 test


def assert_our_404_page(response, *, debug: bool = False) -> str:
    assert response.status_code == 404
    assert [t.name for t in response.templates][:2] == ["404.html", "base.html"]
    html = response.content.decode()
    assert "<h1>Not found</h1>" in html and 'href="/"' in html  # a way home
    assert re.search(r'<link rel="stylesheet" href="/static/css/app\.[^"]*css">', html)  # styled like the site
    assert "URLconf" not in html and "link_redirect" not in html  # no list of URL patterns
    if not debug:  # (DEBUG's pages go without the policy: config.middleware)
        assert "default-src 'self'" in response["Content-Security-Policy"]
    return html


@pytest.mark.parametrize("address", ["/l/doesnotexist", "/l/AbCd1234", "/l/AbCd1234/li", "/l/AbCd1234/nope"])
def test_an_unknown_short_link_gets_our_404_page(db, client, settings, address):
    settings.DEBUG = False
    html = assert_our_404_page(client.get(address))
    assert "This link leads nowhere" in html


@pytest.mark.parametrize("address", ["/no/such/page/", "/accounts/nowhere/", "/static/no-such-file.css"])
def test_an_unknown_page_gets_our_404_page(db, client, settings, address):
    settings.DEBUG = False
    html = assert_our_404_page(client.get(address))
    assert "There is nothing at this address" in html


def test_a_signed_in_user_gets_our_404_page_for_pages_they_cannot_reach(db, client, settings):
    settings.DEBUG = False
    mine, theirs = OrganizationFactory(), OrganizationFactory()
    client.force_login(member(mine, Role.ADMIN))
    for address in ["/o/no-such-organisation/", f"/o/{theirs.slug}/", f"/o/{mine.slug}/no/such/page/"]:
        html = assert_our_404_page(client.get(address))
        assert "There is nothing at this address" in html


def test_an_unknown_short_link_gets_our_404_page_with_debug_on_too(db, client, settings):
    settings.DEBUG = True
    assert "This link leads nowhere" in assert_our_404_page(client.get("/l/doesnotexist"), debug=True)


def test_the_stylesheet_of_the_error_pages_is_served_with_debug_off(db, settings):
    settings.DEBUG = False
    client = Client()
    html = client.get("/no/such/page/").content.decode()
    stylesheet = re.search(r'href="(/static/css/app\.[^"]*css)"', html).group(1)
    response = client.get(stylesheet)
    assert response.status_code == 200 and b"error-page" in b"".join(response.streaming_content)


@pytest.mark.urls("tests.config.test_error_pages")
def test_a_server_error_gets_our_500_page(db, settings, caplog):
    settings.DEBUG = False
    response = Client(raise_request_exception=False).get("/fail/")
    assert response.status_code == 500
    html = response.content.decode()
    assert "Something went wrong on our side" in html and 'href="/"' in html
    assert 'href="/static/css/app.' in html
    assert "secret detail" not in html and "Traceback" not in html
    assert any("secret detail" in str(record.exc_info[1]) for record in caplog.records if record.exc_info)  # logged
