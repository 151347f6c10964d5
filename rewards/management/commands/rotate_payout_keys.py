"""Re-encrypt every ambassador's payout details under the newest key of PAYOUT_DETAILS_KEYS (and
recompute their fingerprints). Run it after putting a new key first in the list; once it reports
no unreadable row, the old key can be removed. See README "Payouts" (key rotation)."""

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from rewards.crypto import derived_key
from rewards.services.payout_details import rotate_keys


class Command(BaseCommand):
    help = ("Re-encrypt all payout details under the newest PAYOUT_DETAILS_KEYS key and recompute their "
            "fingerprints. Idempotent; exits 1 if a row can't be decrypted with any configured key.")

    def add_arguments(self, parser):
        parser.add_argument("--batch", type=int, default=500, help="Rows per read (default 500).")
        parser.add_argument("--show-derived-key", action="store_true",
                            help="Only print the key derived from the current SECRET_KEY (the embedded default), "
                                 "to list it after a key of your own in PAYOUT_DETAILS_KEYS.")

    def handle(self, *args, batch=500, show_derived_key=False, **options):
        if show_derived_key:
            self.stdout.write(derived_key(settings.SECRET_KEY).decode())
            return
        if batch < 1:
            raise CommandError("--batch must be at least 1.")
        result = rotate_keys(batch=batch)
        self.stdout.write(f"payout details: rows={result.rows} re-encrypted={result.reencrypted} "
                          f"fingerprints_updated={result.fingerprints} unreadable={result.unreadable}")
        if result.unreadable:
            raise CommandError(f"{result.unreadable} row(s) could not be decrypted with any configured key: keep "
                               "the old key in PAYOUT_DETAILS_KEYS (after the new one) and run this again.")
