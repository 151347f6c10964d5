"""Ambassador groups: create, rename, delete, and who is in them. A group's name is unique in its
organisation whatever the case (“Sales” and “sales” are one group); the database's unique index
on the lower-cased name decides between two requests taking a name at once."""

from django.db import IntegrityError, transaction

from common.service_errors import TAKEN, ServiceError

from ..models import AmbassadorGroup


class GroupError(ServiceError):
    """Input the group services refuse; `field` names the offending field."""


def _name_taken(name: str) -> GroupError:
    return GroupError("name", f"There is already a group called “{name}”.", code=TAKEN)


def check_name(name: str, *, group: AmbassadorGroup | None = None) -> str:
    """The name, stripped, if no other group of the organisation (current scope) has it in any case;
    else GroupError."""
    name = name.strip()
    clash = AmbassadorGroup.objects.filter(name__iexact=name)
    if group is not None and group.pk:
        clash = clash.exclude(pk=group.pk)
    if clash.exists():
        raise _name_taken(name)
    return name


def _save(group: AmbassadorGroup) -> AmbassadorGroup:
    try:
        with transaction.atomic():
            group.save()
    except IntegrityError as error:  # a concurrent twin of the name
        raise _name_taken(group.name) from error
    return group


def create_group(*, organization, name: str, description: str = "") -> AmbassadorGroup:
    name = check_name(name)
    return _save(AmbassadorGroup(organization=organization, name=name, description=description))


def update_group(group: AmbassadorGroup, **fields) -> AmbassadorGroup:
    """Rename the group or change its description (the given fields only)."""
    if "name" in fields:
        fields["name"] = check_name(fields["name"], group=group)
    for name, value in fields.items():
        setattr(group, name, value)
    return _save(group)


def delete_group(group: AmbassadorGroup) -> None:
    """Delete a group; its ambassadors stay (they only leave it)."""
    group.delete()


def set_groups(ambassador, groups) -> None:
    """The ambassador is in exactly `groups` (groups of its organisation)."""
    ambassador.groups.set(groups)
