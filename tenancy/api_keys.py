"""Organisation API keys on the REST API.

Which URLs take a key: the machine endpoints directly under /api/v1/ that have no
organisation slug (the organisation comes from the key), built on `ApiKeyScopedView`.
The /api/v1/o/<slug>/ endpoints are for people (session) and never accept a key: the
tenant middleware answers a key sent there with `api_key_on_org_url` — 401 for an
unknown or revoked key, 404 for another organisation's slug (as for a slug that does
not exist: no hint), 403 for the key's own organisation (use the machine endpoints)."""

import hmac
from contextlib import ExitStack
from datetime import timedelta

from django.contrib.auth.models import AnonymousUser
from django.http import JsonResponse
from django.utils import timezone
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication, get_authorization_header
from rest_framework.permissions import BasePermission
from rest_framework.views import APIView

from .models import API_KEY_PREFIX, ApiKey
from .scoping import tenant_scope
from .services import hash_api_key

# "Last used" is written at most this often per key, not on every request.
LAST_USED_RESOLUTION = timedelta(minutes=1)

INVALID_KEY = "Invalid API key."
REVOKED_KEY = "This API key has been revoked; create a new one in the organisation's settings."


def bearer_token(request) -> str | None:
    """The token of an `Authorization: Bearer <token>` header, None without one.
    `request` is a Django or DRF request."""
    parts = get_authorization_header(request).split()
    if not parts or parts[0].lower() != b"bearer":
        return None
    if len(parts) != 2:
        raise exceptions.AuthenticationFailed("Invalid Authorization header: use “Bearer <API key>”.")
    try:
        return parts[1].decode("ascii")
    except UnicodeDecodeError:
        raise exceptions.AuthenticationFailed(INVALID_KEY) from None


def key_for(full_key: str) -> ApiKey:
    """The active key `full_key` is, or AuthenticationFailed."""
    body = full_key.removeprefix(API_KEY_PREFIX)
    ident, _, secret = body.partition("_")
    if body == full_key or len(ident) != 8 or not secret:
        raise exceptions.AuthenticationFailed(INVALID_KEY)
    # The organisation is not known yet — the key is what tells us — so this one read
    # looks across organisations, by the unique prefix.
    key = (ApiKey.objects.with_scopes_disabled().select_related("organization")
           .filter(prefix=API_KEY_PREFIX + ident).first())
    if key is None or not hmac.compare_digest(key.secret_hash, hash_api_key(full_key)):
        raise exceptions.AuthenticationFailed(INVALID_KEY)
    if key.revoked_at is not None:
        raise exceptions.AuthenticationFailed(REVOKED_KEY)
    return key


def touch(key: ApiKey) -> None:
    """Record a use, writing at most once per LAST_USED_RESOLUTION."""
    now = timezone.now()
    if key.last_used_at is None or now - key.last_used_at >= LAST_USED_RESOLUTION:
        ApiKey.objects.with_scopes_disabled().filter(pk=key.pk).update(last_used_at=now)
        key.last_used_at = now


class ApiKeyAuthentication(BaseAuthentication):
    """`Authorization: Bearer amb_xxxxxxxx_<secret>`. Authenticates an organisation, not a
    person: request.user is anonymous, request.auth the ApiKey, request.organization its
    organisation (request.membership stays None, so no role check ever passes)."""

    def authenticate(self, request):
        token = bearer_token(request)
        if token is None:
            return None  # not ours: NotAuthenticated (401) unless another class takes it
        key = key_for(token)
        touch(key)
        request._request.organization = key.organization  # read through the DRF request too
        request._request.api_key = key
        return AnonymousUser(), key

    def authenticate_header(self, request):
        return 'Bearer realm="api"'


class HasApiKey(BasePermission):
    message = "This endpoint needs an organisation API key: Authorization: Bearer <key>."

    def has_permission(self, request, view):
        return isinstance(request.auth, ApiKey)


class ApiKeyScopedView(APIView):
    """Base of the machine endpoints: authenticated by an API key only, and run inside
    the key's organisation's tenant scope (the middleware gives URLs without a slug none).

    The scope is entered in initial(), right after authentication and permissions, on an
    ExitStack opened by dispatch(); so it covers the handler, exception handling and
    finalize_response, and is left however dispatch() exits."""

    authentication_classes = [ApiKeyAuthentication]
    permission_classes = [HasApiKey]

    def dispatch(self, request, *args, **kwargs):
        with ExitStack() as stack:
            self._tenant_scope_stack = stack
            return super().dispatch(request, *args, **kwargs)

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        self._tenant_scope_stack.enter_context(tenant_scope(request.auth.organization))


def api_key_on_org_url(request, organization) -> JsonResponse:
    """The answer to a key sent to /api/v1/o/<slug>/… (see the module docstring);
    `organization` is the slug's organisation, or None if there is none."""
    try:
        key = key_for(bearer_token(request) or "")
    except exceptions.AuthenticationFailed as error:
        response = JsonResponse({"detail": str(error.detail)}, status=401)
        response["WWW-Authenticate"] = ApiKeyAuthentication().authenticate_header(request)
        return response
    if organization is None or key.organization_id != organization.pk:
        return JsonResponse({"detail": "Not found."}, status=404)
    return JsonResponse({"detail": "API keys are not accepted on /api/v1/o/<slug>/ endpoints, "
                                   "which are for signed-in people; use the /api/v1/ machine endpoints."},
                        status=403)


class ApiKeyAuthenticationScheme(OpenApiAuthenticationExtension):
    target_class = "tenancy.api_keys.ApiKeyAuthentication"
    name = "ApiKeyAuth"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            "bearerFormat": "amb_xxxxxxxx_<secret>",
            "description": "An organisation API key, created by an admin under Settings → API keys.",
        }


def sends_bearer(request) -> bool:
    parts = get_authorization_header(request).split()
    return bool(parts) and parts[0].lower() == b"bearer"
