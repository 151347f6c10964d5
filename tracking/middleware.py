"""Self-click detection: a logged-in user's browser gets the same amb_vid visitor cookie
the redirect uses, and we remember which visitor ids are that user's. A click on a link
from one of its ambassador's own visitor ids is a self-click (never credited)."""

from django.db import IntegrityError, transaction

from tenancy.middleware import UNTENANTED_PREFIXES

from .ids import is_valid_id, new_visitor_id
from .models import PortalVisitor
from .views.redirect import VISITOR_COOKIE, set_visitor_cookie

SESSION_KEY = "amb_vid_recorded"


class PortalVisitorMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.path_info.startswith(UNTENANTED_PREFIXES):  # the redirect stays lean
            return self.get_response(request)
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated:
            return self.get_response(request)
        visitor_id = request.COOKIES.get(VISITOR_COOKIE, "")
        new_cookie = not is_valid_id(visitor_id)
        if new_cookie:
            visitor_id = new_visitor_id()
        if request.session.get(SESSION_KEY) != visitor_id:
            try:
                with transaction.atomic():
                    PortalVisitor.objects.get_or_create(user=user, visitor_id=visitor_id)
            except IntegrityError:
                pass  # recorded by a concurrent request
            request.session[SESSION_KEY] = visitor_id
        response = self.get_response(request)
        if new_cookie:
            set_visitor_cookie(response, visitor_id, request.is_secure())
        return response
