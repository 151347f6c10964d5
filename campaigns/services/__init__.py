"""Writes on campaigns, a module per operation group; pages, the API, tasks and the demo call them,
and none of them restates a rule:

* `campaigns`: create, update, delete a campaign (slugs unique per organisation);
* `content`: the suggested posts (CampaignMessage) per network;
* `costs`: the spend ledger;
* `domains`: custom short-link hosts;
* `links`: an ambassador's links and shares, and who may have them (NotAllowed).

Input a service refuses raises CampaignError (field, message), which forms and serializers turn
into a field error in one place each (common.service_errors)."""

from common.service_errors import ServiceError


class CampaignError(ServiceError):
    """Input a campaigns service refuses; `field` names the offending field (None: not one field)."""
