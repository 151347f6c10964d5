from django.urls import path

from .views import approvals, earnings
from .views import payouts as payout_views

# Mounted under /o/<org_slug>/.
urlpatterns = [
    path("me/earnings/", earnings.my_earnings, name="my_earnings"),
    path("manage/rewards/approvals/", approvals.approvals_queue, name="reward_approvals"),
    path("manage/rewards/approvals/<uuid:public_id>/", approvals.approval_entry, name="reward_approval_entry"),
]
# Payout runs (admins) and the ambassador's payout details (R2).
urlpatterns += [
    path("me/payout-details/", payout_views.my_payout_details, name="payout_details"),
    path("manage/payouts/", payout_views.payout_runs, name="payout_runs"),
    path("manage/payouts/new/", payout_views.payout_run_create, name="payout_run_create"),
    path("manage/payouts/<uuid:public_id>/", payout_views.payout_run, name="payout_run"),
    path("manage/payouts/<uuid:public_id>/confirm/", payout_views.payout_run_action, {"action": "confirm"},
         name="payout_run_confirm"),
    path("manage/payouts/<uuid:public_id>/cancel/", payout_views.payout_run_action, {"action": "cancel"},
         name="payout_run_cancel"),
    path("manage/payouts/<uuid:public_id>/mark-paid/", payout_views.payout_run_action, {"action": "mark_paid"},
         name="payout_run_mark_paid"),
    path("manage/payouts/<uuid:public_id>/export/", payout_views.payout_run_export, name="payout_run_export"),
]
# Mounted at the site root (no organisation in the URL).
public_urlpatterns = []
