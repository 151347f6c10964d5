"""Routes of the inbound side: the admins' connection pages (`connection_urlpatterns`, under
/o/<org_slug>/) and the providers' public receiving URLs (`hook_urlpatterns`, at the site's
root: their organisation is the connection's token)."""

from django.urls import path, re_path

from . import views

PROVIDER = r"(?P<provider>stripe|hubspot)"
# secrets.token_urlsafe(24): 32 characters of A–Z, a–z, 0–9, - and _ (a little slack either way).
TOKEN = "<str:token>"

connection_urlpatterns = [
    path("manage/integrations/connections/", views.connections, name="inbound_connections"),
    re_path(rf"^manage/integrations/connections/{PROVIDER}/$", views.connection, name="inbound_connection"),
    re_path(rf"^manage/integrations/connections/{PROVIDER}/enabled/$", views.connection_enabled,
            name="inbound_connection_enabled"),
    re_path(rf"^manage/integrations/connections/{PROVIDER}/delete/$", views.connection_delete,
            name="inbound_connection_delete"),
]

hook_urlpatterns = [
    path(f"hooks/stripe/{TOKEN}/", views.stripe_hook, name="inbound_hook_stripe"),
    path(f"hooks/hubspot/{TOKEN}/", views.hubspot_hook, name="inbound_hook_hubspot"),
]
