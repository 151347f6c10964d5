from django.urls import path
from rest_framework.routers import SimpleRouter

from .api import earnings
from .api import redemptions as redemptions_api
from .api.audit import AuditLogViewSet
from .api.fraud import FraudCaseViewSet
from .api.payouts import PayoutRunViewSet
from .api.rules import RewardRuleViewSet

# Payout runs (admins, R2): payouts/, payouts/<id>/, …/confirm/, …/cancel/, …/mark-paid/, …/export/.
payouts_router = SimpleRouter(trailing_slash=True)
payouts_router.register("payouts", PayoutRunViewSet, basename="payout-run")

# Mounted under /api/v1/o/<org_slug>/ (session or API key of that organisation).
urlpatterns = [
    path("earnings/", earnings.OrganizationEarningsView.as_view(), name="api_earnings"),
    *redemptions_api.urls,  # redemptions/ (+ approve/fulfil/decline), catalogue/
]
urlpatterns += payouts_router.urls
# Reward rules (managers read, admins write), the audit log and fraud cases (admins) (R4).
rules_router = SimpleRouter(trailing_slash=True)
rules_router.register("reward-rules", RewardRuleViewSet, basename="reward-rule")
rules_router.register("audit-log", AuditLogViewSet, basename="audit-entry")
rules_router.register("fraud-cases", FraudCaseViewSet, basename="fraud-case")
urlpatterns += rules_router.urls
# Mounted under /api/v1/ (the signed-in user's own, e.g. /api/v1/me/earnings/).
public_urlpatterns = [
    path("me/earnings/", earnings.MyEarningsView.as_view(), name="api_my_earnings"),
]
# Mounted under /api/v1/ for API keys.
key_urlpatterns = []
