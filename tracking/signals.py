"""Shares are history too: a share saved or deleted on a closed day (a backdated import, an
ambassador's shares deleted with them) raises the history generation (services/history.py).
Bulk writes send no signal; their callers call history.note_moments themselves."""

from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from campaigns.models import ShareEvent

from .services import history


@receiver(post_save, sender=ShareEvent, dispatch_uid="share_history_saved")
@receiver(post_delete, sender=ShareEvent, dispatch_uid="share_history_deleted")
def share_changed(sender, instance: ShareEvent, **kwargs):
    history.note_moments(instance.organization_id, [instance.shared_at])
