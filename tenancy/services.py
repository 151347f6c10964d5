import hashlib
import secrets
import string

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.text import slugify

from .models import API_KEY_PREFIX, RESERVED_SLUGS, ApiKey, Membership, Organization, Role
from .scoping import tenant_scope


def unique_slug(name: str) -> str:
    base = (slugify(name)[:40].strip("-") or "org")
    if base in RESERVED_SLUGS:
        base = f"{base}-org"
    slug, n = base, 2
    while Organization.objects.filter(slug=slug).exists():
        slug, n = f"{base}-{n}", n + 1
    return slug


@transaction.atomic
def create_organization(*, owner, name: str, slug: str = "", time_zone: str = "UTC", currency: str = "EUR"):
    """Create an organisation with `owner` as its owner."""
    organization = Organization(name=name, slug=slug or unique_slug(name), time_zone=time_zone, currency=currency)
    organization.full_clean()
    organization.save()
    with tenant_scope(organization):
        Membership.objects.create(organization=organization, user=owner, role=Role.OWNER)
    return organization


def ensure_membership(*, organization, user, role: str = Role.AMBASSADOR) -> Membership:
    """The user's membership in the organisation, created with `role` if missing.
    An existing membership keeps its role (an admin who becomes an ambassador stays admin)."""
    with tenant_scope(organization):
        try:
            with transaction.atomic():
                membership, _ = Membership.objects.get_or_create(
                    organization=organization, user=user, defaults={"role": role}
                )
        except IntegrityError:  # a concurrent request created it first
            membership = Membership.objects.get(organization=organization, user=user)
    return membership


def change_role(*, membership: Membership, role: str) -> Membership:
    """Set a member's role; an organisation always keeps at least one owner."""
    if membership.role == Role.OWNER and role != Role.OWNER:
        owners = Membership.objects.filter(organization=membership.organization, role=Role.OWNER).count()
        if owners <= 1:
            raise ValueError("An organisation needs at least one owner; make someone else owner first.")
    membership.role = role
    membership.save(update_fields=["role"])
    return membership


def generate_api_key_parts() -> tuple[str, str]:
    """A fresh (prefix, secret): the prefix is `amb_` + 8 characters from [a-z0-9] (so it
    never contains the `_` that separates it from the secret), the secret 256 random bits."""
    alphabet = string.ascii_lowercase + string.digits
    prefix = API_KEY_PREFIX + "".join(secrets.choice(alphabet) for _ in range(8))
    return prefix, secrets.token_urlsafe(32)


def hash_api_key(full_key: str) -> str:
    # Why sha256 and not make_password: see ApiKey.secret_hash.
    return hashlib.sha256(full_key.encode()).hexdigest()


def create_api_key(*, organization, name: str, created_by=None) -> tuple[ApiKey, str]:
    """Create a key; returns it with the full key, which is never available again."""
    for attempt in range(5):
        prefix, secret = generate_api_key_parts()
        full_key = f"{prefix}_{secret}"
        try:
            with tenant_scope(organization), transaction.atomic():
                key = ApiKey.objects.create(organization=organization, name=name, prefix=prefix,
                                            secret_hash=hash_api_key(full_key), created_by=created_by)
        except IntegrityError:  # a prefix collision (36^8 prefixes): draw again
            if attempt == 4:
                raise
            continue
        return key, full_key
    raise AssertionError("unreachable")


def revoke_api_key(key: ApiKey) -> ApiKey:
    """Revoke a key for good (revoking twice keeps the first date)."""
    if key.revoked_at is None:
        key.revoked_at = timezone.now()
        ApiKey.objects.with_scopes_disabled().filter(pk=key.pk, revoked_at__isnull=True).update(
            revoked_at=key.revoked_at)
    return key
