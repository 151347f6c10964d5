from django.apps import AppConfig


class RewardsConfig(AppConfig):
    """Reward rules, the earnings ledger, payouts, points and the catalogue, fraud holds, the audit log."""

    name = "rewards"
