"""One-click unsubscribe (RFC 8058): a signed token per (ambassador, kind) in every e-mail's
List-Unsubscribe header and footer. The token is the credential (no login, no expiry: a link in
an old e-mail must still work); it names the ambassador by public id, never by row id."""

import functools

from django.conf import settings
from django.core import signing
from django.urls import reverse
from django_scopes import scopes_disabled

from ambassadors.models import Ambassador
from tenancy.scoping import tenant_scope

from .models import DeliveryChannel, Frequency, Kind
from .preferences import set_frequency

_SALT = "notifications.unsubscribe"


def unsubscribe_token(ambassador, kind: str) -> str:
    return _token(str(ambassador.public_id), kind, settings.SECRET_KEY)


@functools.lru_cache(maxsize=4096)  # each e-mail has it twice (header and footer)
def _token(public_id: str, kind: str, secret_key: str) -> str:
    return signing.Signer(key=secret_key, salt=_SALT).sign(f"{public_id}.{kind}")


@functools.lru_cache(maxsize=1)
def _path_around_token(site_url: str) -> tuple[str, str]:
    """The unsubscribe address before and after its token (reversed once: e-mails are sent by the
    thousand, each with this address twice)."""
    marker = "TOKEN"
    path = reverse("notification_unsubscribe", kwargs={"token": marker})
    before, after = path.split(marker)
    return f"{site_url}{before}", after


def unsubscribe_path(ambassador, kind: str) -> str:
    return reverse("notification_unsubscribe", kwargs={"token": unsubscribe_token(ambassador, kind)})


def unsubscribe_url(ambassador, kind: str) -> str:
    before, after = _path_around_token(settings.SITE_URL.rstrip("/"))
    return f"{before}{unsubscribe_token(ambassador, kind)}{after}"


def read_token(token: str) -> tuple[Ambassador, str] | None:
    """(ambassador, kind) of a valid token, None for a forged, mangled or stale one (an
    ambassador since deleted). Looks across organisations: the token says whose it is."""
    try:
        value = signing.Signer(salt=_SALT).unsign(token)
    except signing.BadSignature:
        return None
    public_id, _, kind = value.partition(".")
    if kind not in Kind.values:
        return None
    with scopes_disabled():
        ambassador = Ambassador.objects.select_related("organization").filter(public_id=public_id).first()
    return (ambassador, kind) if ambassador is not None else None


def unsubscribe(ambassador, kind: str) -> None:
    """That kind of e-mail off for the ambassador (idempotent)."""
    with tenant_scope(ambassador.organization_id):
        set_frequency(ambassador, kind, Frequency.OFF, DeliveryChannel.EMAIL)
