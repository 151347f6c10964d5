"""Check the invariants attribution's credits must always satisfy (tracking.verification) and
print each violation with the conversion it concerns. Exit status 1 when any is found."""

import sys
import time

from django.core.management.base import BaseCommand, CommandError
from django_scopes import scopes_disabled

from tenancy.models import Organization
from tracking.verification import BATCH, verify

MAX_PRINTED = 1_000  # per organisation; the counts are always whole


class Command(BaseCommand):
    help = ("Check every organisation's credits (or one's, --org): none on refunded sales, sales and leads "
            "adding up, no credit outside the window or for bot, HEAD or self clicks, no duplicates. "
            "Exits 1 when a violation is found.")

    def add_arguments(self, parser):
        parser.add_argument("--org", help="Only this organisation (slug).")
        parser.add_argument("--batch", type=int, default=BATCH, help=f"Customers per read (default {BATCH}).")

    def handle(self, *args, org=None, batch=BATCH, **options):
        if batch < 1:
            raise CommandError("--batch must be at least 1.")
        with scopes_disabled():
            organizations = Organization.objects.order_by("pk")
            if org:
                organizations = organizations.filter(slug=org)
                if not organizations.exists():
                    raise CommandError(f"No organisation with the slug “{org}”.")
            names = dict(organizations.values_list("pk", "slug"))
        started = time.monotonic()
        total = 0
        for report in verify(list(names), batch=batch):
            total += len(report.violations)
            for violation in report.violations[:MAX_PRINTED]:
                self.stdout.write(violation.line())
            if len(report.violations) > MAX_PRINTED:
                more = len(report.violations) - MAX_PRINTED
                self.stdout.write(f"… and {more} more in {names[report.organization_id]}")
            self.stdout.write(f"{names[report.organization_id]}: {report.customers} customers, {report.credits} "
                              f"credits (version {report.version}), {report.waiting} waiting for attribution, "
                              f"{len(report.violations)} violations")
        elapsed = time.monotonic() - started
        summary = f"verify_credits: {total} violations in {len(names)} organisations ({elapsed:.1f} s)"
        if total:
            self.stderr.write(self.style.ERROR(summary))
            sys.exit(1)
        self.stdout.write(self.style.SUCCESS(summary))
