"""Demo data: two organisations (so tenant isolation is visible), each with an owner,
an admin, a manager and 24 internal and external ambassadors in groups, plus a
consultant who is a member of both; then campaigns with 90 days of clicks (demo.activity)
and the leads and sales those clicks brought, attributed (demo.conversions); then the demo
ambassador's own history, which puts them in the middle of the leaderboard
(demo.ambassador_history). Seeding mails no one (the campaigns count as announced). Runs once;
--reset rebuilds it."""

import functools
import random
import unicodedata
from decimal import Decimal

from allauth.account.models import EmailAddress
from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone

from accounts.models import User
from ambassadors.models import Ambassador, AmbassadorGroup, Invitation, JoinPage, Kind, SocialProfile, Status
from demo.activity import seed_campaigns
from demo.ambassador_history import history_rng, seed_ambassador_history
from demo.conversions import conversions_rng, seed_conversions
from demo.people import demo_ambassador, demo_ambassador_email
from tenancy.models import Membership, Organization, Role
from tenancy.scoping import tenant_scope
from tenancy.services import create_organization

PASSWORD = "demo-pass-2026"

ORGS = [
    {
        "name": "Northwind Analytics", "slug": "northwind", "time_zone": "Europe/Berlin", "currency": "EUR",
        "domain": "northwind.example",
        "internal_groups": ["Sales", "Engineering", "Leadership"], "external_groups": ["Customers", "Partners"],
    },
    {
        "name": "Globex Cloud", "slug": "globex", "time_zone": "America/New_York", "currency": "USD",
        "domain": "globex.example",
        "internal_groups": ["Account Executives", "Developer Relations", "Executives"],
        "external_groups": ["Champions", "Resellers"],
    },
]

FIRST = ["Ana", "Ben", "Chloé", "Dmitri", "Elif", "Farah", "Gus", "Hana", "Ivo", "Jules", "Kofi", "Lena", "Mateo",
         "Nia", "Omar", "Priya", "Quinn", "Rosa", "Sven", "Tariq", "Uma", "Viktor", "Wen", "Yara", "Zoe", "Noah"]
LAST = ["Lima", "Okafor", "Martin", "Ivanov", "Kaya", "Haddad", "Berg", "Sato", "Novak", "Dubois", "Mensah",
        "Fischer", "Rossi", "Adeyemi", "Khan", "Patel", "Byrne", "García", "Lund", "Aziz", "Rao", "Horvat", "Li"]
TITLES_INTERNAL = ["Account Executive", "Solutions Engineer", "Staff Engineer", "VP Sales", "CTO", "SDR",
                   "Product Manager", "Developer Advocate"]
TITLES_EXTERNAL = ["Customer, Head of Data", "Partner, Consultant", "Creator", "Customer, CIO", "Reseller"]


def ascii_email(local: str, domain: str) -> str:
    plain = unicodedata.normalize("NFKD", local).encode("ascii", "ignore").decode()
    return f"{plain.lower()}@{domain}"


@functools.cache
def password_hash() -> str:
    return make_password(PASSWORD)  # hashing is slow on purpose: once for all demo users


def make_user(email: str, first: str, last: str) -> User:
    user = User.objects.create(email=email, password=password_hash(), first_name=first, last_name=last)
    EmailAddress.objects.create(user=user, email=email, verified=True, primary=True)
    return user


class Command(BaseCommand):
    help = "Create the demo organisations and people (once; --reset to rebuild)."

    def add_arguments(self, parser):
        parser.add_argument("--reset", action="store_true", help="Delete the demo organisations first.")
        parser.add_argument("--seed", type=int, default=7, help="Random seed, for repeatable demo data.")
        parser.add_argument("--scale", type=int, default=1,
                            help="Multiply the visitors and clicks (benchmarks: --scale 50).")

    def handle(self, *args, reset=False, seed=7, scale=1, **options):
        slugs = [o["slug"] for o in ORGS]
        if Organization.objects.filter(slug__in=slugs).exists():
            if not reset:
                self.stdout.write("Demo data already present (use --reset to rebuild).")
                self.print_logins()
                return
            Organization.objects.filter(slug__in=slugs).delete()
            User.objects.filter(email__endswith=".example").delete()
            User.objects.filter(email="consultant@example.com").delete()
        rng = random.Random(seed)
        with transaction.atomic():
            consultant = make_user("consultant@example.com", "Casey", "Consultant")
            organizations = [self.seed_org(spec, rng, consultant) for spec in ORGS]
        for org in organizations:
            with tenant_scope(org):
                scripted = demo_ambassador(org)
                counts = seed_campaigns(org, rng, scale=scale,
                                        scripted=frozenset([scripted.pk] if scripted else []))
            self.stdout.write(f"  {org.name}: {counts['campaigns']} campaigns, {counts['links']} links, "
                              f"{counts['shares']} shares, {counts['clicks']} clicks over 90 days")
        for org in organizations:  # after all the clicks, so the conversions don't change them
            counts = seed_conversions(org, conversions_rng(seed, org))
            self.stdout.write(f"  {org.name}: {counts['leads']} leads ({counts['multi_touch']} multi-touch, "
                              f"{counts['direct']} direct, {counts['self_referrals']} self-referral), "
                              f"{counts['sales']} sales ({counts['refunded']} refunded), "
                              f"{counts['lead_credits'] + counts['sale_credits']} credits")
        for org in organizations:  # last: sized against everyone else's figures
            with tenant_scope(org):
                history = seed_ambassador_history(org, history_rng(seed, org))
            if history is not None:
                self.stdout.write(f"  {org.name}: {history['email']} shared {history['shares']} times, brought "
                                  f"{history['customers']} customers and {history['sales']} sales: "
                                  f"{history['points']} points, rank {history['rank']} of {history['ranked']} "
                                  "over the last 30 days")
        self.print_logins()

    def seed_org(self, spec, rng, consultant):
        d = spec["domain"]
        owner = make_user(f"owner@{d}", "Olivia", "Owner")
        org = create_organization(owner=owner, name=spec["name"], slug=spec["slug"], time_zone=spec["time_zone"],
                                  currency=spec["currency"])
        now = timezone.now()
        with tenant_scope(org):
            Membership.objects.create(organization=org, user=make_user(f"admin@{d}", "Adam", "Admin"), role=Role.ADMIN)
            Membership.objects.create(organization=org, user=make_user(f"manager@{d}", "Maya", "Manager"),
                                      role=Role.MANAGER)
            # The consultant manages one organisation's programme and is an ambassador of the other.
            consultant_role = Role.MANAGER if spec["slug"] == "northwind" else Role.AMBASSADOR
            Membership.objects.create(organization=org, user=consultant, role=consultant_role)

            internal = [AmbassadorGroup.objects.create(organization=org, name=n) for n in spec["internal_groups"]]
            external = [AmbassadorGroup.objects.create(organization=org, name=n) for n in spec["external_groups"]]
            JoinPage.objects.create(organization=org, enabled=True, requires_approval=True,
                                    headline=f"Become a {spec['name']} ambassador",
                                    intro="Share our news with your network and see what your shares bring.")

            names = rng.sample([(f, la) for f in FIRST for la in LAST], 30)
            for i, (first, last) in enumerate(names[:24]):
                is_internal = i < 14
                kind = Kind.INTERNAL if is_internal else Kind.EXTERNAL
                email = ascii_email(f"{first}.{last}", d if is_internal else f"customer.{d}")
                if i == 0:
                    email = demo_ambassador_email(d)  # the easy demo login, with a history of its own
                user = make_user(email, first, last)
                Membership.objects.create(organization=org, user=user, role=Role.AMBASSADOR)
                status = Status.PAUSED if i == 13 else Status.ACTIVE
                joined = now - timezone.timedelta(days=rng.randint(20, 400))
                ambassador = Ambassador.objects.create(
                    organization=org, user=user, email=email, display_name=f"{first} {last}", kind=kind,
                    status=status, title=rng.choice(TITLES_INTERNAL if is_internal else TITLES_EXTERNAL),
                    hourly_rate=Decimal(rng.choice([45, 60, 75, 90, 120, 180])) if is_internal else Decimal("0.00"),
                    joined_at=joined, status_changed_at=joined,
                )
                group = rng.choice(internal if is_internal else external)
                # The demo ambassador is in sales: the first internal group, which every active campaign targets.
                ambassador.groups.set([internal[0] if i == 0 else group])
                for network in rng.sample(["linkedin", "x", "facebook", "instagram"], rng.randint(1, 3)):
                    SocialProfile.objects.create(
                        organization=org, ambassador=ambassador, network=network,
                        handle=f"@{first.lower()}{last.lower()}", followers=rng.randint(80, 25000),
                    )
            consultant_ambassador = Ambassador.objects.create(
                organization=org, user=consultant, email=consultant.email, display_name="Casey Consultant",
                kind=Kind.EXTERNAL, status=Status.ACTIVE, title="Independent consultant", joined_at=now,
                status_changed_at=now,
            )
            consultant_ambassador.groups.set([external[-1]])
            # Two applicants waiting for approval and two invitations not yet accepted.
            for first, last in names[24:26]:
                email = ascii_email(f"{first}.{last}", "applicant.example")
                user = make_user(email, first, last)
                Membership.objects.create(organization=org, user=user, role=Role.AMBASSADOR)
                Ambassador.objects.create(organization=org, user=user, email=email, display_name=f"{first} {last}",
                                          kind=Kind.EXTERNAL, status=Status.PENDING, status_changed_at=now)
            for first, last in names[26:28]:
                email = ascii_email(f"{first}.{last}", "invited.example")
                ambassador = Ambassador.objects.create(organization=org, email=email,
                                                       display_name=f"{first} {last}", kind=Kind.INTERNAL)
                Invitation.objects.create(organization=org, ambassador=ambassador, email=email, invited_by=owner,
                                          expires_at=now + timezone.timedelta(days=14), sent_at=now)
        self.stdout.write(self.style.SUCCESS(f"Created {org.name} (/o/{org.slug}/) with 25 ambassadors."))
        return org

    def print_logins(self):
        self.stdout.write(f"\nDemo logins (password for all: {PASSWORD}): owner, admin, manager, ambassador")
        for spec in ORGS:
            d = spec["domain"]
            self.stdout.write(f"  {spec['name']:<20} owner@{d}  admin@{d}  manager@{d}  {demo_ambassador_email(d)}")
        self.stdout.write("  In both organisations:  consultant@example.com "
                          "(manager of Northwind, ambassador of Globex)")
        # SITE_URL follows PORT (make run PORT=…): the address every link and e-mail uses too.
        self.stdout.write(f"Open {settings.SITE_URL}/\n")
