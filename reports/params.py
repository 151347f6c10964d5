"""Reading a report's period and filters from query parameters, the same way for pages, the
API and CSV exports:

    ?period=7d|30d|90d|month|quarter|custom  (&start=YYYY-MM-DD&end=YYYY-MM-DD for custom)
    &model=first_touch|last_touch|linear|time_decay|position_based   (default: the org's)
    &campaign=<campaign public id>  (repeatable)   &group=<group id>   &kind=internal|external
"""

from __future__ import annotations

import uuid

from ambassadors.models import AmbassadorGroup, Kind
from campaigns.models import Campaign
from tracking.models import AttributionModel

from .filters import ReportFilter
from .periods import PeriodError, period_for


class ParamError(ValueError):
    """A bad parameter; `field` names it and the message says what was wrong (for a 400)."""

    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field
        self.message = message


def report_filter(organization, params) -> ReportFilter:
    """The ReportFilter the query parameters ask for (`params`: a QueryDict or a dict of lists/values)."""
    get = params.get
    try:
        period = period_for(get("period") or None, organization.tzinfo, start=get("start") or None,
                            end=get("end") or None)
    except PeriodError as error:
        raise ParamError("period", str(error)) from None

    model = get("model") or None
    if model is not None and model not in AttributionModel.values:
        raise ParamError("model", f"Unknown model “{model}”; use one of {', '.join(AttributionModel.values)}.")

    campaign_ids = None
    public_ids = [value for value in _getlist(params, "campaign") if value]
    if public_ids:
        try:
            parsed = [uuid.UUID(value) for value in public_ids]
        except ValueError:
            raise ParamError("campaign", "A campaign is given by its id (a UUID).") from None
        found = dict(Campaign.objects.filter(organization_id=organization.pk, public_id__in=parsed)
                     .values_list("public_id", "id"))
        missing = [str(value) for value in parsed if value not in found]
        if missing:
            raise ParamError("campaign", f"No campaign with id {missing[0]} here.")
        campaign_ids = tuple(sorted(found.values()))

    group_id = None
    if get("group"):
        try:
            group_id = int(get("group"))
        except ValueError:
            raise ParamError("group", "A group is given by its number.") from None
        if not AmbassadorGroup.objects.filter(organization_id=organization.pk, pk=group_id).exists():
            raise ParamError("group", f"No group {group_id} here.")

    kind = get("kind") or None
    if kind is not None and kind not in Kind.values:
        raise ParamError("kind", f"Kind must be one of {', '.join(Kind.values)}.")

    return ReportFilter(organization.pk, period, model=model, campaign_ids=campaign_ids, group_id=group_id,
                        kind=kind)


def _getlist(params, name: str) -> list[str]:
    if hasattr(params, "getlist"):
        return params.getlist(name)
    value = params.get(name)
    if value is None:
        return []
    return list(value) if isinstance(value, list | tuple) else [value]
