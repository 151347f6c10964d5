"""Backfill: the channel of the credits written before credits kept it, then the channel rollups.

1. Credit.channel, in batches of credit ids (one UPDATE per batch, the same SQL on PostgreSQL
   and SQLite): the channel of the latest creditable click (neither bot, self nor HEAD) of the
   customer's visitor on the credit's link at or before the customer's first lead. A credit
   stands on the touches of its (ambassador, link) in the window before the lead, so that click
   is one of them; when a link's touches came through several channels (rare: one visitor
   clicking one ambassador's link from two networks in the window), the credit goes to the
   channel of the latest one, as attribution does not split rows written before this change.
   No such click (deleted, or a visitor unknown): "unknown". New credits are split by channel
   by attribution itself (tracking.services.attribution).
2. DailyChannelClicks from DailyClickRollup (summed over ambassadors).
3. DailyChannelCredits from the credits (their local day in the organisation's time zone),
   read in batches of ids.

Not atomic: each batch commits on its own, so a table of millions of credits does not sit in one
transaction; running it again after an interruption redoes the batches (the rollups are
rebuilt from scratch each time, per organisation).
"""

from collections import defaultdict
from zoneinfo import ZoneInfo

from django.db import migrations, transaction
from django.db.models import Max, Min, Sum

BATCH = 20_000
CHANNELS = ("linkedin", "x", "facebook", "email", "whatsapp", "direct")

BACKFILL_SQL = """
    UPDATE tracking_credit SET channel = COALESCE((
        SELECT CASE WHEN k.channel IN ({channels}) THEN k.channel ELSE 'unknown' END
        FROM tracking_click k, tracking_customer cu
        WHERE cu.id = tracking_credit.customer_id
          AND k.organization_id = tracking_credit.organization_id
          AND k.visitor_id = cu.visitor_id
          AND k.clicked_at <= cu.first_lead_at
          AND k.link_id = tracking_credit.link_id
          AND NOT k.is_bot AND NOT k.is_self AND NOT k.is_head
        ORDER BY k.clicked_at DESC, k.click_id DESC
        LIMIT 1), 'unknown')
    WHERE id >= %s AND id < %s
""".format(channels=", ".join(f"'{c}'" for c in CHANNELS))


def _id_range(model):
    bounds = model.objects.aggregate(low=Min("id"), high=Max("id"))
    return bounds["low"], bounds["high"]


def backfill_channels(apps, schema_editor):
    credit = apps.get_model("tracking", "Credit")
    low, high = _id_range(credit)
    if low is None:
        return
    with schema_editor.connection.cursor() as cursor:
        for start in range(low, high + 1, BATCH):
            with transaction.atomic(using=schema_editor.connection.alias):
                cursor.execute(BACKFILL_SQL, [start, start + BATCH])


def build_channel_clicks(apps, schema_editor):
    detailed = apps.get_model("tracking", "DailyClickRollup")
    per_channel = apps.get_model("tracking", "DailyChannelClicks")
    fields = ("total", "clicks", "unique_clicks", "bot_clicks", "self_clicks")
    per_channel.objects.all().delete()
    rows = (detailed.objects.values("organization_id", "day", "campaign_id", "channel").order_by()
            .annotate(**{name: Sum(name) for name in fields}))
    per_channel.objects.bulk_create([per_channel(**row) for row in rows.iterator()], batch_size=2000)


def build_channel_credits(apps, schema_editor):
    credit = apps.get_model("tracking", "Credit")
    organization = apps.get_model("tenancy", "Organization")
    per_channel = apps.get_model("tracking", "DailyChannelCredits")
    per_channel.objects.all().delete()
    zones = {pk: ZoneInfo(name) for pk, name in organization.objects.values_list("pk", "time_zone")}
    low, high = _id_range(credit)
    if low is None:
        return
    totals = defaultdict(lambda: [0, 0, 0])  # (org, version, model, day, campaign, channel) → sums
    for start in range(low, high + 1, BATCH):
        rows = (credit.objects.filter(id__gte=start, id__lt=start + BATCH)
                .values_list("organization_id", "version", "model", "converted_at", "campaign_id", "channel",
                             "kind", "lead_share", "amount"))
        for org_id, version, model, converted_at, campaign_id, channel, kind, share, amount in rows:
            sums = totals[(org_id, version, model, converted_at.astimezone(zones[org_id]).date(), campaign_id,
                           channel)]
            if kind == "lead":
                sums[0] += int(share.scaleb(4))
            elif kind == "customer":
                sums[1] += int(share.scaleb(4))
            else:
                sums[2] += int(amount.scaleb(2))
    per_channel.objects.bulk_create(
        [per_channel(organization_id=key[0], version=key[1], model=key[2], day=key[3], campaign_id=key[4],
                     channel=key[5], leads=sums[0], customers=sums[1], revenue_cents=sums[2])
         for key, sums in totals.items() if any(sums)], batch_size=2000)


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("tenancy", "0002_apikey"),
        ("tracking", "0011_credit_channel"),
    ]

    operations = [
        migrations.RunPython(backfill_channels, migrations.RunPython.noop, elidable=True),
        migrations.RunPython(build_channel_clicks, migrations.RunPython.noop, elidable=True),
        migrations.RunPython(build_channel_credits, migrations.RunPython.noop, elidable=True),
    ]
