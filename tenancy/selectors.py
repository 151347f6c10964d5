"""Reads that happen before a tenant scope exists: which organisations a user is in."""

from .models import Membership, Organization


def memberships_of(user) -> list[Membership]:
    if not user.is_authenticated:
        return []
    return list(
        Membership.across_organizations.filter(user=user).select_related("organization").order_by("organization__name")
    )


def membership_in(user, organization: Organization) -> Membership | None:
    if not user.is_authenticated:
        return None
    return Membership.across_organizations.filter(user=user, organization=organization).first()


def organization_by_slug(slug: str) -> Organization | None:
    return Organization.objects.filter(slug=slug).first()
