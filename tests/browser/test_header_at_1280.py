"""The header at 1280 px (Chromium): an owner sees every menu (ambassador, reporting, administration)
and a long e-mail address; no link wraps inside itself ("My" over "profile") and the address is
never broken mid-word (it is shortened with an ellipsis, the whole address in its title)."""

from pathlib import Path

import pytest

from tenancy.models import Role
from tests.factories import OrganizationFactory, member
from tests.support.browser import CspWatch

SHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"
LONG_EMAIL = "marie-christine.vandenberghe-lefebvre@communication-interne.example.com"

LAYOUT = """() => {
  const lines = el => {
    const style = getComputedStyle(el);
    const lineHeight = parseFloat(style.lineHeight) || parseFloat(style.fontSize) * 1.3;
    return Math.round(el.getBoundingClientRect().height / lineHeight);
  };
  const email = document.querySelector('.useremail');
  return {
    wrapped: [...document.querySelectorAll('.mainnav a, .usermenu button, .brand, .switcher > summary')]
               .filter(a => a.getClientRects().length > 1 || lines(a) > 1).map(a => a.textContent.trim()),
    emailLines: email.getClientRects().length, emailShown: email.offsetWidth > 0,
    emailCut: email.scrollWidth > email.clientWidth, emailTitle: email.getAttribute('title'),
    headerOverflow: document.querySelector('.topbar').scrollWidth - document.querySelector('.topbar').clientWidth,
    pageOverflow: document.documentElement.scrollWidth - document.documentElement.clientWidth,
  };
}"""


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("width", [1280, 1024])
def test_the_header_keeps_links_and_the_e_mail_whole(page, log_in, live_server, width):
    org = OrganizationFactory(name="Lefebvre & Vandenberghe Communication", slug="lvc")
    owner = member(org, Role.OWNER, ambassador=True, email=LONG_EMAIL)
    page.set_viewport_size({"width": width, "height": 900})
    watch = CspWatch(page.context)
    log_in(owner)
    for path in (f"/o/{org.slug}/", f"/o/{org.slug}/reports/", f"/o/{org.slug}/reports/roi/"):
        page.goto(f"{live_server.url}{path}")
        layout = page.evaluate(LAYOUT)
        assert layout["wrapped"] == [], (path, layout)
        assert layout["emailLines"] == 1 and layout["emailShown"], (path, layout)
        assert layout["emailTitle"] == LONG_EMAIL, layout  # the whole address, when it is shortened
        assert layout["headerOverflow"] <= 0 and layout["pageOverflow"] <= 0, (path, layout)
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"header-{width}.png"))
    watch.assert_clean()
