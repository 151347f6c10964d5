"""An ambassador can't open any manager or admin page: every URL under /o/<slug>/manage/ and
/o/<slug>/reports/ (found in the URLconf, so new pages are covered automatically) answers
403 to an ambassador, for GET and for POST, and a manager is refused every manage/ page but
the few that are open to managers to read."""

import uuid

import pytest
from django.urls import URLPattern, URLResolver, get_resolver

from config import urls as root_urls

SAMPLE = {"uuid": str(uuid.uuid4()), "int": "1", "str": "x", "slug": "x", "path": "x"}
MANAGER_MAY_READ = {"campaign_manage_list", "campaign_manage", "ambassador_list",
                   "reward_approvals", "reward_approval_entry",  # managers read the approvals queue
                   "reward_rule_list"}  # and the reward rules


def org_routes():
    """(name, route with placeholders filled) of every page under /o/<org_slug>/."""
    org = next(p for p in root_urls.urlpatterns
               if isinstance(p, URLResolver) and "o/<slug:org_slug>/" in str(p.pattern))
    found = []

    def walk(patterns, prefix):
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                walk(pattern.url_patterns, prefix + str(pattern.pattern))
            elif isinstance(pattern, URLPattern):
                route = prefix + str(pattern.pattern)
                for converter, value in SAMPLE.items():
                    while f"<{converter}:" in route:
                        start = route.index(f"<{converter}:")
                        route = route[:start] + value + route[route.index(">", start) + 1:]
                found.append((pattern.name, route))

    walk(org.url_patterns, "")
    return found


PROTECTED = [(name, route) for name, route in org_routes() if route.startswith(("manage/", "reports/"))]


def test_the_walk_finds_the_pages():
    names = {name for name, _ in PROTECTED}
    assert {"manage_home", "report_leaderboard", "report_roi", "attribution_settings", "org_api_keys",
            "campaign_domains", "points_rules", "conversion_imports"} <= names
    assert get_resolver() is not None


@pytest.mark.django_db
@pytest.mark.parametrize(("name", "route"), PROTECTED, ids=[name or route for name, route in PROTECTED])
def test_an_ambassador_is_refused(org, ambassador_user, login, name, route):
    client = login(ambassador_user)
    url = f"/o/{org.slug}/{route}"
    assert client.get(url).status_code in (403, 405), url
    assert client.post(url, {}).status_code == 403, url


@pytest.mark.django_db
@pytest.mark.parametrize(("name", "route"), [p for p in PROTECTED if p[1].startswith("manage/")],
                         ids=[name or route for name, route in PROTECTED if route.startswith("manage/")])
def test_a_manager_may_not_change_settings(org, manager, login, name, route):
    client = login(manager)
    url = f"/o/{org.slug}/{route}"
    if name in MANAGER_MAY_READ:
        return  # read-only for managers; their edits are refused per object (tests/campaigns)
    assert client.get(url).status_code in (403, 405), url
    assert client.post(url, {}).status_code in (403, 405), url
