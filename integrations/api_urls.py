"""API of integrations, under /api/v1/o/<org_slug>/ (admins): webhook endpoints, deliveries,
replay and test (integrations/webhook_api_urls.py); provider connections
(integrations/inbound/api_urls.py)."""

from .inbound.api_urls import connection_api_urlpatterns
from .webhook_api_urls import webhook_api_urlpatterns

urlpatterns = [*webhook_api_urlpatterns, *connection_api_urlpatterns]
public_urlpatterns = []
key_urlpatterns = []
