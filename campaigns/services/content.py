"""A campaign's suggested posts (CampaignMessage): 1 to MAX_VARIANTS_PER_CHANNEL variants per
network, so ambassadors don't all post the same words. Only e-mail has a subject, and a post must
fit the network's limit with a link of realistic length in it (X counts every link as 23 characters).
Adding a variant, or moving one to another network, locks the campaign's row while it counts, so two
admins adding at once can't go past the maximum."""

from django.core.exceptions import ValidationError
from django.db import transaction

from ..channels import Channel
from ..models import MAX_VARIANTS_PER_CHANNEL, Campaign, CampaignMessage
from ..share import sample_short_url
from . import CampaignError


def message_problems(*, channel: str, subject: str = "", text: str = "") -> list[CampaignError]:
    """Everything wrong with a post for `channel` (a form shows them all at once)."""
    problems = []
    if subject and channel != Channel.EMAIL:
        problems.append(CampaignError("subject", "Only e-mail messages have a subject."))
    if text:
        try:
            CampaignMessage(channel=channel, text=text).validate_length(sample_short_url(channel))
        except ValidationError as error:
            problems.append(CampaignError("text", " ".join(error.message_dict["text"])))
    return problems


def check_message(*, channel: str, subject: str = "", text: str = "") -> None:
    """Raise the first of message_problems as CampaignError (the subject's, then the length's)."""
    problems = message_problems(channel=channel, subject=subject, text=text)
    if problems:
        raise problems[0]


def variants_full_message(channel: str) -> str:
    return (f"{Channel(channel).label} already has {MAX_VARIANTS_PER_CHANNEL} variants, the most a network can "
            "have: edit or delete one of them instead.")


def check_variant_room(campaign: Campaign, channel: str, *, excluding: CampaignMessage | None = None) -> None:
    """Raise CampaignError (on `channel`) when the campaign already has the most variants for the
    network. Call it with the campaign's row locked (lock_campaign) for the answer to hold."""
    variants = CampaignMessage.objects.filter(campaign=campaign, channel=channel)
    if excluding is not None and excluding.pk is not None:
        variants = variants.exclude(pk=excluding.pk)
    if variants.count() >= MAX_VARIANTS_PER_CHANNEL:
        raise CampaignError("channel", variants_full_message(channel), code="variants_full")


def lock_campaign(campaign: Campaign) -> None:
    """Serialise writers of the campaign's variants until the transaction ends (PostgreSQL: a row
    lock; SQLite takes the database's write lock when the transaction begins)."""
    list(Campaign.objects.select_for_update().filter(pk=campaign.pk).values_list("pk", flat=True))


def add_message(campaign: Campaign, *, channel: str, text: str, subject: str = "") -> CampaignMessage:
    """A new variant of the network's post; CampaignError when it is wrong or the network is full."""
    check_message(channel=channel, subject=subject, text=text)
    with transaction.atomic():
        lock_campaign(campaign)
        check_variant_room(campaign, channel)
        return CampaignMessage.objects.create(organization_id=campaign.organization_id, campaign=campaign,
                                              channel=channel, subject=subject, text=text)


def update_message(message: CampaignMessage, **fields) -> CampaignMessage:
    """Change the given fields (channel, subject, text); the post as a whole is checked again, and a
    variant moved to another network must find room there."""
    for name, value in fields.items():
        setattr(message, name, value)
    check_message(channel=message.channel, subject=message.subject, text=message.text)
    with transaction.atomic():
        # The stored network, not the instance's: a model form has already set the new one on it.
        stored = CampaignMessage.objects.filter(pk=message.pk).values_list("channel", flat=True).first()
        if message.channel != stored:
            lock_campaign(message.campaign)
            check_variant_room(message.campaign, message.channel, excluding=message)
        message.save()
    return message


def delete_message(message: CampaignMessage) -> None:
    message.delete()
