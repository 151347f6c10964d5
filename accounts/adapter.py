from allauth.account.adapter import DefaultAccountAdapter
from django.conf import settings

from common.ratelimits import address_hash, client_ip


class AccountAdapter(DefaultAccountAdapter):
    """Sends people back to where they were going (an invitation, a join page) after
    sign-up, and keeps sign-up open: organisations are created by their users."""

    def get_signup_redirect_url(self, request):
        return request.session.pop("after_signup_url", None) or super().get_signup_redirect_url(request)

    def is_open_for_signup(self, request):
        return getattr(settings, "ACCOUNT_ALLOW_SIGNUP", True)

    def get_client_ip(self, request):
        """What allauth knows of the client's address: a keyed hash of it (IPv6 by its /64), never
        the address, found as everywhere else (TRUSTED_PROXY_COUNT). allauth keys its rate limits
        (ACCOUNT_RATE_LIMITS) on this, in the cache."""
        return address_hash(client_ip(request))
