import pytest

from campaigns.linkcache import link_cache
from campaigns.models import Campaign, CampaignStatus, TrackedLink
from tenancy.scoping import tenant_scope
from tests.factories import AmbassadorFactory
from tracking import capture
from tracking.salts import forget_cached_salt


@pytest.fixture(autouse=True)
def _fresh_process_caches():
    """Each test has its own database, so no link or salt may survive from the last one."""
    link_cache.clear()
    forget_cached_salt()
    yield
    link_cache.clear()
    forget_cached_salt()


@pytest.fixture(params=["spool", "db"], autouse=True)
def click_capture(request, settings, tmp_path):
    """Every tracking test runs with both capture modes; the spool is drained by hand
    (`drain_spool()`), in the test's own database transaction."""
    settings.CLICK_CAPTURE = request.param
    settings.CLICK_SPOOL_DIR = tmp_path / "spool"
    settings.CLICK_SPOOL_DRAIN_THREAD = False
    capture.reset_spool()
    yield request.param
    capture.reset_spool()


def drain_spool() -> int:
    moved = capture.spool().flush_now()
    return moved


@pytest.fixture
def campaign(org):
    with tenant_scope(org):
        return Campaign.objects.create(
            organization=org, name="Spring launch", slug="spring", status=CampaignStatus.ACTIVE,
            destination_url="https://shop.example.com/spring?ref=home#top",
        )


@pytest.fixture
def link(org, campaign):
    ambassador = AmbassadorFactory(organization=org)
    with tenant_scope(org):
        return TrackedLink.objects.create(organization=org, campaign=campaign, ambassador=ambassador, code="Ab3dEf7h")


@pytest.fixture
def make_link(org, campaign):
    """Makes a tracked link (a new ambassador's, by default) in the campaign."""
    counter = iter(range(1000))

    def make(ambassador=None, organization=None, the_campaign=None):
        organization = organization or org
        ambassador = ambassador or AmbassadorFactory(organization=organization)
        with tenant_scope(organization):
            return TrackedLink.objects.create(organization=organization, campaign=the_campaign or campaign,
                                              ambassador=ambassador, code=f"Lk{next(counter):06d}")
    return make
