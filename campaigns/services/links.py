"""An ambassador's links and shares: a link on first need, a share counted once, and who may
have either (active ambassadors, targeted, while the campaign runs)."""

from datetime import timedelta

from django.db import IntegrityError, transaction
from django.utils import dateformat, timezone

from ambassadors.models import Status as AmbassadorStatus

from ..channels import SHARE_CHANNELS, Channel
from ..codes import new_code
from ..linkcache import invalidate_links
from ..models import Campaign, CampaignMessage, CampaignStatus, ShareEvent, TrackedLink
from . import CampaignError

# A second click on the same share button within this many seconds is the same share.
SHARE_REPEAT_SECONDS = 60


class NotAllowed(Exception):
    """An ambassador may not get a link for, or share, a campaign. `reason` is one of
    no_profile, ambassador_inactive, not_found, not_targeted, closed, not_started."""

    def __init__(self, message: str, *, reason: str):
        super().__init__(message)
        self.reason = reason


def _existing_link(ambassador, campaign) -> TrackedLink | None:
    return TrackedLink.objects.filter(ambassador=ambassador, campaign=campaign).first()


def get_or_create_link(*, ambassador, campaign: Campaign) -> tuple[TrackedLink, bool]:
    """The ambassador's link for the campaign and whether this call created it. Safe under
    races: the unique (ambassador, campaign) constraint decides, and the loser reads the
    winner's row (on PostgreSQL the loser's INSERT waits for the winner's commit)."""
    existing = _existing_link(ambassador, campaign)
    if existing is not None:
        return existing, False
    # The n-th link of the campaign gets seed n, which picks the ambassador's post variants (see
    # share.variant_for). Two links made at the same moment may draw the same seed: those two
    # ambassadors then get the same words, which is harmless; a lock per campaign is not worth it.
    seed = TrackedLink.objects.filter(campaign=campaign).count()
    for _ in range(5):
        try:
            with transaction.atomic():
                link = TrackedLink.objects.create(organization_id=campaign.organization_id, campaign=campaign,
                                                  ambassador=ambassador, code=new_code(), variant_seed=seed)
                return link, True
        except IntegrityError:
            existing = _existing_link(ambassador, campaign)
            if existing is not None:
                return existing, False
            # Otherwise the random code collided with another link's: draw again.
    raise RuntimeError("Could not create a unique link code after 5 attempts.")


def link_for(*, ambassador, campaign: Campaign) -> TrackedLink:
    """The ambassador's link for the campaign, created on first need (see get_or_create_link)."""
    return get_or_create_link(ambassador=ambassador, campaign=campaign)[0]


def links_for_many(*, campaign: Campaign, ambassadors) -> dict[int, TrackedLink]:
    """Each ambassador's link for the campaign (ambassador id → link), the missing ones made in
    one INSERT … ON CONFLICT DO NOTHING: the e-mails announcing a campaign to thousands carry a
    link each. Seeds continue the campaign's count, as get_or_create_link's do; a link another
    request made meanwhile is read back, and one whose random code collided is made on its own."""
    by_id = {ambassador.pk: ambassador for ambassador in ambassadors}
    links = {link.ambassador_id: link
             for link in TrackedLink.objects.filter(campaign=campaign, ambassador_id__in=list(by_id))}
    missing = sorted(set(by_id) - set(links))
    if not missing:
        return links
    seed = TrackedLink.objects.filter(campaign=campaign).count()
    TrackedLink.objects.bulk_create(
        [TrackedLink(organization_id=campaign.organization_id, campaign=campaign, ambassador_id=ambassador_id,
                     code=new_code(), variant_seed=seed + n) for n, ambassador_id in enumerate(missing)],
        ignore_conflicts=True)
    invalidate_links()  # bulk_create sends no post_save (campaigns.signals)
    transaction.on_commit(invalidate_links)
    links.update({link.ambassador_id: link
                  for link in TrackedLink.objects.filter(campaign=campaign, ambassador_id__in=missing)})
    for ambassador_id in set(by_id) - set(links):
        links[ambassador_id] = get_or_create_link(ambassador=by_id[ambassador_id], campaign=campaign)[0]
    return links


def record_share(*, link: TrackedLink, channel: str, at=None, message: CampaignMessage | None = None,
                 edited: bool = False, dialog_id=None) -> ShareEvent:
    if channel not in Channel.values or channel == Channel.DIRECT:
        raise ValueError(f"“{channel}” is not a network you can share on.")
    return ShareEvent.objects.create(organization_id=link.organization_id, link=link, campaign_id=link.campaign_id,
                                     ambassador_id=link.ambassador_id, channel=channel, shared_at=at or timezone.now(),
                                     message=message, edited=edited, dialog_id=dialog_id)


def share(*, link: TrackedLink, channel: str, message: CampaignMessage | None = None) -> tuple[ShareEvent, bool]:
    """Record that the ambassador used the share button of `channel` without the browser's help
    (the share action's plain link, an e-mail's button, the API), once: pressing it again within
    SHARE_REPEAT_SECONDS (a double click, a reload) returns the same event. `message`: the post
    variant the network's dialog was given."""
    if channel not in SHARE_CHANNELS:
        raise ValueError(f"“{channel}” is not a network you can share on.")
    now = timezone.now()
    recent = (ShareEvent.objects.filter(link=link, channel=channel,
                                        shared_at__gte=now - timedelta(seconds=SHARE_REPEAT_SECONDS))
              .order_by("-shared_at").first())
    if recent is not None:
        return recent, False
    return record_share(link=link, channel=channel, at=now, message=message), True


def message_of(link: TrackedLink, channel: str, message_id) -> CampaignMessage | None:
    """The post variant a share dialog was given, by its public id (None: the network had no
    suggested post); refused unless it is one of the link's campaign's posts for `channel`."""
    if message_id is None:
        return None
    message = CampaignMessage.objects.filter(public_id=message_id, campaign_id=link.campaign_id,
                                             channel=channel).first()
    if message is None:
        raise CampaignError("message", f"That post is not one of this campaign's {Channel(channel).label} posts "
                                      "(it may have been deleted meanwhile): reload the page.")
    return message


def share_dialog(*, link: TrackedLink, channel: str, dialog_id, message_id=None,
                 edited: bool = False) -> tuple[ShareEvent, bool]:
    """Record the share dialog `dialog_id` that the ambassador's browser opened, once: the same
    dialog sent again (a retry, a double send) returns its share and False. The unique dialog_id
    column decides, not a look-up first, so two sends at the same moment still make one row.
    Every opened dialog is a share (the browser opens one per press of the button)."""
    if channel not in SHARE_CHANNELS:
        raise CampaignError("channel", f"“{channel}” is not a network you can share on.")
    message = message_of(link, channel, message_id)
    try:
        with transaction.atomic():
            return record_share(link=link, channel=channel, message=message, edited=edited, dialog_id=dialog_id), True
    except IntegrityError:
        pass
    existing = ShareEvent.objects.filter(dialog_id=dialog_id).first()
    if existing is None or existing.link_id != link.pk or existing.channel != channel:
        raise CampaignError("dialog_id", "This dialog id belongs to another share: send a new one.")
    return existing, False


# --- Who may share what -------------------------------------------------------------------------

def is_targeted(ambassador, campaign: Campaign) -> bool:
    """A campaign without target groups is for every ambassador; otherwise for its groups' members."""
    targets = set(campaign.target_groups.values_list("pk", flat=True))
    if not targets:
        return True
    return ambassador.groups.filter(pk__in=targets).exists()


def check_ambassador(ambassador) -> None:
    """Only active ambassadors get links and share. Raise NotAllowed with a message they can act on."""
    if ambassador is None:
        raise NotAllowed("You have no ambassador profile in this organisation.", reason="no_profile")
    if ambassador.status != AmbassadorStatus.ACTIVE:
        messages = {
            AmbassadorStatus.PENDING: "Your application is waiting for an admin's approval; you can share links "
                                      "once you are approved.",
            AmbassadorStatus.PAUSED: "Your ambassador account is paused, so you can't share links for now.",
        }
        raise NotAllowed(messages.get(ambassador.status, "You are not an active ambassador of this organisation."),
                         reason="ambassador_inactive")


def check_can_get_link(ambassador, campaign: Campaign | None, *, at=None) -> None:
    """Raise NotAllowed with a message the ambassador can act on, or return."""
    check_ambassador(ambassador)
    if campaign is None or campaign.status == CampaignStatus.DRAFT:
        raise NotAllowed("No such campaign.", reason="not_found")
    if not is_targeted(ambassador, campaign):
        raise NotAllowed(f"“{campaign.name}” is for other groups of ambassadors.", reason="not_targeted")
    at = at or timezone.now()
    if campaign.status != CampaignStatus.ACTIVE or (campaign.ends_at is not None and campaign.ends_at <= at):
        state = "is paused" if campaign.status == CampaignStatus.PAUSED else "has ended"
        raise NotAllowed(f"“{campaign.name}” {state}: its links can't be shared any more.", reason="closed")


def check_can_share(ambassador, campaign: Campaign, *, at=None) -> None:
    at = at or timezone.now()
    check_can_get_link(ambassador, campaign, at=at)
    if campaign.starts_at is not None and campaign.starts_at > at:
        when = dateformat.format(timezone.localtime(campaign.starts_at), "j M Y, H:i T")
        raise NotAllowed(f"“{campaign.name}” starts on {when}; share it from then on.", reason="not_started")


def link_for_ambassador(*, ambassador, campaign: Campaign) -> tuple[TrackedLink, bool]:
    """An ambassador asks for their link: the checks above, then get-or-create."""
    check_can_get_link(ambassador, campaign)
    return get_or_create_link(ambassador=ambassador, campaign=campaign)


def share_as_ambassador(*, ambassador, link: TrackedLink, channel: str,
                        message: CampaignMessage | None = None) -> tuple[ShareEvent, bool]:
    check_can_share(ambassador, link.campaign)
    return share(link=link, channel=channel, message=message)


def share_dialog_as_ambassador(*, ambassador, link: TrackedLink, channel: str, dialog_id, message_id=None,
                               edited: bool = False) -> tuple[ShareEvent, bool]:
    check_can_share(ambassador, link.campaign)
    return share_dialog(link=link, channel=channel, dialog_id=dialog_id, message_id=message_id, edited=edited)
