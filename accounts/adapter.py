from allauth.account.adapter import DefaultAccountAdapter
from django.conf import settings


class AccountAdapter(DefaultAccountAdapter):
    """Sends people back to where they were going (an invitation, a join page) after
    sign-up, and keeps sign-up open: organisations are created by their users."""

    def get_signup_redirect_url(self, request):
        return request.session.pop("after_signup_url", None) or super().get_signup_redirect_url(request)

    def is_open_for_signup(self, request):
        return getattr(settings, "ACCOUNT_ALLOW_SIGNUP", True)
