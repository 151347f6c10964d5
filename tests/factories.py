"""Factories for tests. Tenant-owned rows are created inside their organisation's scope."""

from decimal import Decimal

import factory
from allauth.account.models import EmailAddress
from django.utils import timezone

from accounts.models import User
from ambassadors.models import Ambassador, AmbassadorGroup, Kind, Status
from tenancy.models import Membership, Organization, Role
from tenancy.scoping import tenant_scope

PASSWORD = "correct-horse-battery"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"person{n}@example.com")
    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    password = factory.PostGenerationMethodCall("set_password", PASSWORD)

    @factory.post_generation
    def verified(self, create, extracted, **kwargs):
        if create:
            self.save()
            EmailAddress.objects.get_or_create(
                user=self, email=self.email, defaults={"verified": True, "primary": True}
            )


class OrganizationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Organization

    name = factory.Sequence(lambda n: f"Company {n}")
    slug = factory.Sequence(lambda n: f"company-{n}")
    time_zone = "Europe/Paris"
    currency = "EUR"


class TenantFactory(factory.django.DjangoModelFactory):
    class Meta:
        abstract = True

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        with tenant_scope(kwargs["organization"]):
            return super()._create(model_class, *args, **kwargs)


class MembershipFactory(TenantFactory):
    class Meta:
        model = Membership

    organization = factory.SubFactory(OrganizationFactory)
    user = factory.SubFactory(UserFactory)
    role = Role.AMBASSADOR


class GroupFactory(TenantFactory):
    class Meta:
        model = AmbassadorGroup

    organization = factory.SubFactory(OrganizationFactory)
    name = factory.Sequence(lambda n: f"Group {n}")


class AmbassadorFactory(TenantFactory):
    class Meta:
        model = Ambassador

    organization = factory.SubFactory(OrganizationFactory)
    user = factory.SubFactory(UserFactory)
    email = factory.LazyAttribute(lambda o: o.user.email if o.user else "someone@example.com")
    display_name = factory.Faker("name")
    kind = Kind.INTERNAL
    status = Status.ACTIVE
    hourly_rate = Decimal("60.00")
    joined_at = factory.LazyAttribute(lambda o: timezone.now() if o.status == Status.ACTIVE else None)


def member(organization, role=Role.AMBASSADOR, *, ambassador=False, **user_kwargs):
    """A user with `role` in `organization` (and an active ambassador profile if asked)."""
    user = UserFactory(**user_kwargs)
    MembershipFactory(organization=organization, user=user, role=role)
    if ambassador:
        AmbassadorFactory(organization=organization, user=user)
    return user


def click_rollup(**fields):
    """A DailyClickRollup row written the way click processing writes one: the per-ambassador
    rollup gets the same counts (call inside the organisation's scope)."""
    from tracking.models import DailyClickRollup
    from tracking.services import ambassador_rollups

    row = DailyClickRollup.objects.create(**fields)
    counts = [getattr(row, name) for name in ambassador_rollups.CLICK_FIELDS]
    ambassador_rollups.add_click_deltas(row.organization_id,
                                        [((row.campaign_id, row.ambassador_id, row.channel, row.day), counts)])
    return row
