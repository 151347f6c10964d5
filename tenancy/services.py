from django.db import IntegrityError, transaction
from django.utils.text import slugify

from .models import RESERVED_SLUGS, Membership, Organization, Role
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
