from rest_framework.routers import SimpleRouter

from .api.payouts import PayoutRunViewSet

# Payout runs (admins, R2): payouts/, payouts/<id>/, …/confirm/, …/cancel/, …/mark-paid/, …/export/.
payouts_router = SimpleRouter(trailing_slash=True)
payouts_router.register("payouts", PayoutRunViewSet, basename="payout-run")

# Mounted under /api/v1/o/<org_slug>/ (session or API key of that organisation).
urlpatterns = []
urlpatterns += payouts_router.urls
# Mounted under /api/v1/ (the signed-in user's own, e.g. /api/v1/me/earnings/).
public_urlpatterns = []
# Mounted under /api/v1/ for API keys.
key_urlpatterns = []
