from django.db.models import Count, Q, Sum

from .models import Ambassador, AmbassadorGroup, Invitation, Status


def ambassadors_for_list(*, status: str = "", kind: str = "", group_id: str = "", q: str = ""):
    qs = (Ambassador.objects.all().prefetch_related("groups")
          .annotate(followers=Sum("social_profiles__followers")))
    qs = qs.filter(status=status) if status else qs.exclude(status=Status.REMOVED)
    if kind:
        qs = qs.filter(kind=kind)
    if group_id:
        if not (group_id.isascii() and group_id.isdigit()):
            return qs.none()  # a hand-made ?group= that is no id matches nothing (not a 500)
        qs = qs.filter(groups__id=group_id)
    q = q.replace("\x00", "")  # PostgreSQL text can't hold NUL
    if q:
        qs = qs.filter(Q(display_name__icontains=q) | Q(email__icontains=q) | Q(title__icontains=q))
    return qs.order_by("display_name")


def status_counts() -> dict[str, int]:
    counts = dict(Ambassador.objects.values_list("status").annotate(n=Count("id")).order_by())
    return {s: counts.get(s, 0) for s in Status.values}


def groups_with_counts():
    return AmbassadorGroup.objects.annotate(
        members=Count("ambassadors", filter=~Q(ambassadors__status=Status.REMOVED))
    ).order_by("name")


def pending_invitations():
    return Invitation.objects.filter(accepted_at__isnull=True, revoked_at__isnull=True).select_related("ambassador")


def ambassador_of(user):
    """The user's own ambassador profile in the current organisation, if any."""
    if not user.is_authenticated:
        return None
    return Ambassador.objects.filter(user=user).prefetch_related("groups", "social_profiles").first()
