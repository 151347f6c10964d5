"""How often an ambassador wants each kind of notification, per channel.

No Preference row means the kind's default. Which frequencies a kind offers is ALLOWED (a weekly
digest can only be weekly or off; a reminder is sent when due or not at all)."""

from django.db import IntegrityError, transaction

from common.service_errors import ServiceError

from .models import DeliveryChannel, Frequency, Kind, Preference

DEFAULTS = {
    Kind.CAMPAIGN_NEW: Frequency.IMMEDIATELY,
    Kind.DIGEST: Frequency.WEEKLY,
    Kind.REMINDER: Frequency.IMMEDIATELY,
}
ALLOWED = {
    Kind.CAMPAIGN_NEW: (Frequency.IMMEDIATELY, Frequency.DAILY, Frequency.WEEKLY, Frequency.OFF),
    Kind.DIGEST: (Frequency.WEEKLY, Frequency.OFF),
    Kind.REMINDER: (Frequency.IMMEDIATELY, Frequency.OFF),
}


class PreferenceError(ServiceError):
    """A frequency a kind does not offer, or an unknown kind."""


def frequency_for(ambassador, kind: str, channel: str = DeliveryChannel.EMAIL) -> str:
    """The ambassador's frequency for `kind` on `channel` (the default without a row)."""
    stored = (Preference.objects.filter(ambassador=ambassador, channel=channel, kind=kind)
              .values_list("frequency", flat=True).first())
    return stored or DEFAULTS[kind]


def frequencies_for(ambassador_ids, kind: str, channel: str = DeliveryChannel.EMAIL) -> dict[int, str]:
    """ambassador id → frequency for many ambassadors at once (defaults filled in)."""
    ids = list(ambassador_ids)
    stored = dict(Preference.objects.filter(ambassador_id__in=ids, channel=channel, kind=kind)
                  .values_list("ambassador_id", "frequency"))
    return {pk: stored.get(pk, DEFAULTS[kind]) for pk in ids}


def all_frequencies(ambassador, channel: str = DeliveryChannel.EMAIL) -> dict[str, str]:
    """kind → frequency, for the preferences page."""
    stored = dict(Preference.objects.filter(ambassador=ambassador, channel=channel).values_list("kind", "frequency"))
    return {kind: stored.get(kind, DEFAULTS[kind]) for kind in Kind.values}


def check_frequency(kind: str, frequency: str) -> None:
    if kind not in ALLOWED:
        raise PreferenceError("kind", f"“{kind}” is not a kind of notification.")
    if frequency not in ALLOWED[kind]:
        offered = ", ".join(Frequency(f).label.lower() for f in ALLOWED[kind])
        raise PreferenceError(kind, f"{Kind(kind).label} can be: {offered}.")


def set_frequency(ambassador, kind: str, frequency: str, channel: str = DeliveryChannel.EMAIL) -> Preference:
    """Store the ambassador's choice (an upsert; safe when two requests race). Raises PreferenceError."""
    check_frequency(kind, frequency)
    for _ in range(2):
        updated = Preference.objects.filter(ambassador=ambassador, channel=channel, kind=kind).update(
            frequency=frequency)
        if updated:
            return Preference.objects.get(ambassador=ambassador, channel=channel, kind=kind)
        try:
            with transaction.atomic():
                return Preference.objects.create(organization_id=ambassador.organization_id, ambassador=ambassador,
                                                 channel=channel, kind=kind, frequency=frequency)
        except IntegrityError:
            continue  # created meanwhile by another request: update it
    raise PreferenceError(kind, "Your choice could not be saved; please try again.")


def set_frequencies(ambassador, choices: dict[str, str], channel: str = DeliveryChannel.EMAIL) -> None:
    """Several kinds at once, all or nothing."""
    for kind, frequency in choices.items():
        check_frequency(kind, frequency)
    with transaction.atomic():
        for kind, frequency in choices.items():
            set_frequency(ambassador, kind, frequency, channel)
