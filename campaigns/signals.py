"""Any change to what a link redirects to invalidates the redirect's link cache."""

from django.db import transaction
from django.db.models.signals import m2m_changed, post_delete, post_save
from django.dispatch import receiver

from .linkcache import invalidate_links
from .models import Campaign, Domain, TrackedLink


@receiver([post_save, post_delete], sender=Campaign)
@receiver([post_save, post_delete], sender=TrackedLink)
@receiver([post_save, post_delete], sender=Domain)
def _links_changed(sender, **kwargs):
    _invalidate()


@receiver(m2m_changed, sender=Campaign.target_groups.through)
def _targets_changed(sender, **kwargs):
    _invalidate()


def _invalidate():
    # Now, so this process never serves the old target again; and after the commit, so a
    # process that reloaded in between (and saw the old row) drops it too.
    invalidate_links()
    transaction.on_commit(invalidate_links)
