"""Any change to what a link redirects to invalidates the redirect's link cache; a deleted campaign
image (on its own or with its campaign) takes its stored files with it once the deletion commits."""

from django.db import transaction
from django.db.models.signals import m2m_changed, post_delete, post_save
from django.dispatch import receiver

from .linkcache import invalidate_links
from .models import Campaign, CampaignImage, Domain, TrackedLink
from .services.images import delete_file_quietly


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


@receiver(post_delete, sender=CampaignImage)
def _image_deleted(sender, instance, **kwargs):
    files = [(field.storage, field.name) for field in (instance.file, instance.thumbnail) if field.name]

    def delete_files():
        for storage, name in files:
            delete_file_quietly(storage, name)

    transaction.on_commit(delete_files)
