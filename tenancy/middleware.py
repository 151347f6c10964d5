"""request → tenant. Every URL with an `org_slug` runs inside that organisation's scope,
and only for its members: anyone else gets 404, whether the organisation exists or not.
Views marked @public_tenant_view (a join page) get the scope without a membership.
An API key sent to a slug URL is answered by tenancy.api_keys (keys carry their own
organisation and only open the machine endpoints).
Everything else runs with no tenant scope, so a stray tenant query raises."""

from django.contrib.auth.views import redirect_to_login
from django.http import Http404, JsonResponse
from django.urls import Resolver404, resolve
from django_scopes import scopes_disabled

from .api_keys import api_key_on_org_url, sends_bearer
from .scoping import tenant_scope
from .selectors import membership_in, organization_by_slug

UNTENANTED_PREFIXES = ("/l/", "/static/", "/_bench/", "/js/")


def public_tenant_view(view):
    view.tenant_public = True
    return view


class TenantMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.organization = None
        request.membership = None
        if request.path_info.startswith(UNTENANTED_PREFIXES):
            return self.get_response(request)  # the redirect's hot path: no tenant URL there
        try:
            match = resolve(request.path_info)
        except Resolver404:
            return self.get_response(request)

        if match.app_name == "admin":
            # Platform staff see every organisation in the Django admin (non-staff are
            # sent to its login page by the admin itself).
            with scopes_disabled():
                return self.get_response(request)

        slug = match.kwargs.get("org_slug")
        if slug is None:
            return self.get_response(request)

        is_public = getattr(match.func, "tenant_public", False)
        is_api = request.path_info.startswith("/api/")
        if is_api and sends_bearer(request):
            # An API key never opens the slug URLs (see tenancy.api_keys): 401 for a bad
            # key, 404 for another organisation's slug, 403 for its own.
            return api_key_on_org_url(request, organization_by_slug(slug))
        if not is_public and not request.user.is_authenticated:
            if is_api:
                return JsonResponse({"detail": "Authentication credentials were not provided."}, status=401)
            return redirect_to_login(request.get_full_path())

        organization = organization_by_slug(slug)
        membership = membership_in(request.user, organization) if organization else None
        if organization is None or (membership is None and not is_public):
            if is_api:
                return JsonResponse({"detail": "Not found."}, status=404)
            raise Http404("No such organisation.")

        request.organization = organization
        request.membership = membership
        with tenant_scope(organization):
            return self.get_response(request)
