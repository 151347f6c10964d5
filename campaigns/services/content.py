"""A campaign's suggested posts (CampaignMessage), one or more per network: only e-mail has a
subject, and a post must fit the network's limit with a link of realistic length in it (X counts
every link as 23 characters)."""

from django.core.exceptions import ValidationError

from ..channels import Channel
from ..models import Campaign, CampaignMessage
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


def add_message(campaign: Campaign, *, channel: str, text: str, subject: str = "") -> CampaignMessage:
    check_message(channel=channel, subject=subject, text=text)
    return CampaignMessage.objects.create(organization_id=campaign.organization_id, campaign=campaign,
                                          channel=channel, subject=subject, text=text)


def update_message(message: CampaignMessage, **fields) -> CampaignMessage:
    """Change the given fields (channel, subject, text); the post as a whole is checked again."""
    for name, value in fields.items():
        setattr(message, name, value)
    check_message(channel=message.channel, subject=message.subject, text=message.text)
    message.save()
    return message


def delete_message(message: CampaignMessage) -> None:
    message.delete()
