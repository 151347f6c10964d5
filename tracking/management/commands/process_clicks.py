"""On demand: drain this machine's click spools and process every pending raw click now
(what the beat-driven Celery tasks do every few seconds)."""

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django_scopes import scopes_disabled

from tenancy.models import Organization
from tenancy.scoping import tenant_scope
from tracking.capture import drain_orphans
from tracking.services.click_processing import organizations_with_pending_clicks, process_pending


class Command(BaseCommand):
    help = "Drain click spools and process pending raw clicks into rollups, now."

    def add_arguments(self, parser):
        parser.add_argument("--org", help="Only this organisation (slug).")

    def handle(self, *args, org=None, **options):
        drained = drain_orphans(settings.CLICK_SPOOL_DIR)
        if drained:
            self.stdout.write(f"Drained {drained} clicks from spools of finished processes.")
        if org:
            organization = Organization.objects.filter(slug=org).first()
            if organization is None:
                raise CommandError(f"No organisation with the slug “{org}”.")
            organization_ids = [organization.pk]
        else:
            with scopes_disabled():
                organization_ids = organizations_with_pending_clicks()
        total = 0
        for organization_id in organization_ids:
            with tenant_scope(organization_id):
                while True:
                    run = process_pending(organization_id)
                    total += run.inserted
                    if not run.more:
                        break
        self.stdout.write(self.style.SUCCESS(f"Processed {total} clicks."))
