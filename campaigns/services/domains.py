"""Custom short-link hosts (Domain): an organisation adds a host of its own, platform staff verify
it once its DNS points at the platform. A host belongs to one organisation at most, and is never the
platform's own."""

from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from common.service_errors import TAKEN

from ..models import Domain, normalize_host
from ..models import validate_host as check_host
from . import CampaignError

HOST_TAKEN = "This host is already in use."


def platform_host() -> str:
    return (urlsplit(settings.SITE_URL).hostname or "").lower()


def clean_domain_host(value: str, *, instance: Domain | None = None) -> str:
    """A host an organisation may add, normalised: well-formed, not the platform's own, and not held
    by any organisation (which one holds it is none of the caller's business). Raises CampaignError."""
    try:
        check_host(value)
    except ValidationError as error:
        raise CampaignError("host", " ".join(error.messages)) from error
    host = normalize_host(value)
    if host == platform_host():
        raise CampaignError("host", "That is the platform's own address; use a host of your own.")
    taken = Domain.objects.with_scopes_disabled().filter(host=host)
    if instance is not None:
        taken = taken.exclude(pk=instance.pk)
    if taken.exists():
        raise CampaignError("host", HOST_TAKEN, code=TAKEN)
    return host


def _save(domain: Domain) -> Domain:
    try:
        with transaction.atomic():
            domain.save()
    except IntegrityError as error:  # a concurrent twin of the same host
        raise CampaignError("host", HOST_TAKEN, code=TAKEN) from error
    return domain


def add_domain(organization, host: str) -> Domain:
    """Store a host (unverified); a concurrent twin of the same host loses with a CampaignError."""
    return _save(Domain(organization=organization, host=clean_domain_host(host)))


def change_domain(domain: Domain, host: str | None = None) -> Domain:
    """Point the domain at another host (None: keep it), which must then be verified again."""
    if host is not None:
        host = clean_domain_host(host, instance=domain)
        if host != domain.host:
            domain.host, domain.verified = host, False
    return _save(domain)


def delete_domain(domain: Domain) -> None:
    domain.delete()
