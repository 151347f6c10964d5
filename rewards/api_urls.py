# Mounted under /api/v1/o/<org_slug>/ (session or API key of that organisation).
urlpatterns = []
# Mounted under /api/v1/ (the signed-in user's own, e.g. /api/v1/me/earnings/).
public_urlpatterns = []
# Mounted under /api/v1/ for API keys.
key_urlpatterns = []
