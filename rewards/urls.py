from django.urls import path

from .views import approvals, earnings
from .views import audit as audit_views
from .views import fraud as fraud_views
from .views import payouts as payout_views
from .views import points as points_views
from .views import rules as rule_views
from .views import settings as settings_views

# Mounted under /o/<org_slug>/.
urlpatterns = [
    path("me/earnings/", earnings.my_earnings, name="my_earnings"),
    path("manage/rewards/approvals/", approvals.approvals_queue, name="reward_approvals"),
    path("manage/rewards/approvals/<uuid:public_id>/", approvals.approval_entry, name="reward_approval_entry"),
    # Points: the ambassador's catalogue; the admins' catalogue and redemptions queue (R3).
    path("rewards/catalogue/", points_views.points_catalogue, name="points_catalogue"),
    path("rewards/catalogue/<uuid:public_id>/redeem/", points_views.points_redeem, name="points_redeem"),
    path("manage/rewards/catalogue/", points_views.points_manage_catalogue, name="points_manage_catalogue"),
    path("manage/rewards/catalogue/<uuid:public_id>/", points_views.points_manage_item, name="points_manage_item"),
    path("manage/rewards/catalogue/<uuid:public_id>/delete/", points_views.points_manage_item_delete,
         name="points_manage_item_delete"),
    path("manage/rewards/redemptions/", points_views.points_redemptions, name="points_redemptions"),
    path("manage/rewards/redemptions/<uuid:public_id>/approve/", points_views.points_redemption_approve,
         name="points_redemption_approve"),
    path("manage/rewards/redemptions/<uuid:public_id>/fulfil/", points_views.points_redemption_fulfil,
         name="points_redemption_fulfil"),
    path("manage/rewards/redemptions/<uuid:public_id>/decline/", points_views.points_redemption_decline,
         name="points_redemption_decline"),
    # Reward settings: point value, minimum payout, holding periods, per-group holding (R3).
    path("manage/rewards/settings/", settings_views.reward_settings_page, name="reward_settings"),
    path("manage/rewards/settings/holding/", settings_views.reward_group_holding, name="reward_group_holding"),
    path("manage/rewards/settings/holding/<int:group_id>/delete/", settings_views.reward_group_holding_delete,
         name="reward_group_holding_delete"),
]
# Payout runs (admins) and the ambassador's payout details (R2).
urlpatterns += [
    path("me/payout-details/", payout_views.my_payout_details, name="payout_details"),
    path("manage/payouts/", payout_views.payout_runs, name="payout_runs"),
    path("manage/payouts/new/", payout_views.payout_run_create, name="payout_run_create"),
    path("manage/payouts/<uuid:public_id>/", payout_views.payout_run, name="payout_run"),
    path("manage/payouts/<uuid:public_id>/confirm/", payout_views.payout_run_confirm, name="payout_run_confirm"),
    path("manage/payouts/<uuid:public_id>/cancel/", payout_views.payout_run_cancel, name="payout_run_cancel"),
    path("manage/payouts/<uuid:public_id>/mark-paid/", payout_views.payout_run_mark_paid, name="payout_run_mark_paid"),
    path("manage/payouts/<uuid:public_id>/export/", payout_views.payout_run_export, name="payout_run_export"),
]
# Reward rules (managers read, admins write), fraud cases and the audit log (admins) (R4).
urlpatterns += [
    path("manage/rewards/rules/", rule_views.rule_list, name="reward_rule_list"),
    path("manage/rewards/rules/new/", rule_views.rule_create, name="reward_rule_create"),
    path("manage/rewards/rules/<uuid:public_id>/", rule_views.rule_edit, name="reward_rule_edit"),
    path("manage/rewards/rules/<uuid:public_id>/active/", rule_views.rule_active, name="reward_rule_active"),
    path("manage/rewards/fraud/", fraud_views.case_list, name="fraud_cases"),
    path("manage/rewards/fraud/<uuid:public_id>/", fraud_views.case_detail, name="fraud_case"),
    path("manage/rewards/fraud/<uuid:public_id>/release/", fraud_views.case_release, name="fraud_case_release"),
    path("manage/rewards/fraud/<uuid:public_id>/confirm/", fraud_views.case_confirm, name="fraud_case_confirm"),
    path("manage/rewards/audit/", audit_views.audit_log, name="audit_log"),
    path("manage/rewards/audit.csv", audit_views.audit_log_csv, name="audit_log_csv"),
]
# Mounted at the site root (no organisation in the URL).
public_urlpatterns = []
