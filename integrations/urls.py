"""Pages of integrations: the admins' webhook endpoints and delivery log (webhooks_urlpatterns,
integrations/webhook_views.py) and the provider connections (connection_urlpatterns,
integrations/inbound/views.py); the providers' receiving URLs (/hooks/<provider>/<token>/) are
public: their organisation is the connection's token."""

from .inbound.urls import connection_urlpatterns, hook_urlpatterns
from .webhook_urls import webhooks_urlpatterns

urlpatterns = [*webhooks_urlpatterns, *connection_urlpatterns]
public_urlpatterns = [*hook_urlpatterns]
