"""Demo leads and sales for one organisation, on top of the clicks demo.activity made:
a few percent of the human visitors fill in a form minutes to days after a click (most of
them clicked several ambassadors' links first: multi-touch), a few leads come in directly
(no click), one ambassador signs up through a colleague's link (self-referral); about a
third of the leads buy, some weeks later, a couple of sales are refunded, one sale is
reported before its customer's lead, and every fifth sale is paid in another currency (USD, or
EUR for a USD organisation: converted at the ECB's rates shipped with the project). Everything
goes through the real ingestion services and the real attribution, so customers, sales and
credits are what production would store.

Deterministic for a given seed and click history, and idempotent: every lead carries an
external id and every sale an invoice id derived from its customer's and a counter, so
running it again updates the same customers and finds the same invoices."""

import random
from collections import defaultdict
from datetime import datetime, timedelta
from decimal import Decimal

from django.utils import timezone

from ambassadors.models import Ambassador, Kind, Status
from tenancy.scoping import tenant_scope
from tracking.models import AttributionModel, Click, Credit, CreditKind, Customer, Sale, SaleStatus
from tracking.services.attribution import ambassador_email_hashes, attribute_pending
from tracking.services.conversions import record_lead, record_sale

from .people import demo_ambassador

LEAD_RATE = 0.055  # of the human visitors
SALE_RATE = 0.33  # of the leads
DIRECT_LEADS = 3
# List prices of a B2B SaaS (monthly and annual plans); some deals add seats or are prorated.
PRICES = ["49.00", "99.00", "249.00", "490.00", "990.00", "1188.00", "2388.00", "2990.00", "4800.00"]
MAX_AMOUNT = Decimal("4800.00")

FIRST = ["Alex", "Bea", "Carlos", "Dana", "Emil", "Fatima", "Greta", "Hugo", "Ines", "Jonas", "Kira", "Luca",
         "Mira", "Nils", "Olga", "Pablo", "Rhea", "Sam", "Tess", "Valentin", "Wanda", "Yusuf"]
LAST = ["Andersen", "Brooks", "Costa", "Diallo", "Engel", "Ferreira", "Grant", "Hoffmann", "Ito", "Jansen",
        "Keller", "Lopez", "Moreau", "Nowak", "Olsen", "Price", "Quist", "Richter", "Silva", "Tanaka", "Weber"]
COMPANIES = ["acme-logistics", "bluepeak", "cobalt-health", "driftwood", "evergreen-bank", "fjord-energy",
             "granite-labs", "harbor-retail", "ionic-media", "juniper-travel", "kestrel-ai", "lumen-insure"]

Visit = tuple[int, str, datetime, int]  # (Click pk, click_id, clicked_at, ambassador_id)


def conversions_rng(seed: int, org) -> random.Random:
    """The generator seed_demo uses for one organisation's conversions: its own, so adding
    conversions leaves the clicks (drawn from the command's shared generator) as they were."""
    return random.Random(f"{seed}:conversions:{org.slug}")


def seed_conversions(org, rng: random.Random, *, now: datetime | None = None) -> dict:
    """Leads and sales for `org`, then attributed. Returns counts for the command's output."""
    now = now or timezone.now()
    with tenant_scope(org):
        return _Seeder(org, rng, now).run()


class _Seeder:
    def __init__(self, org, rng: random.Random, now: datetime):
        self.org, self.rng, self.now = org, rng, now
        self.prefix = org.slug[:2].upper()
        self.leads = []  # (external_id, first_lead_at) of the leads recorded
        self.invoices: dict[str, int] = defaultdict(int)
        self.sales_made = 0
        self.foreign = "EUR" if org.currency == "USD" else "USD"

    def external_id(self, n: int) -> str:
        return f"{self.prefix}-CUS-{n:04d}"

    def person(self) -> tuple[str, str]:
        first, last = self.rng.choice(FIRST), self.rng.choice(LAST)
        return f"{first} {last}", f"{first}.{last}@{self.rng.choice(COMPANIES)}.example".lower()

    def visitors(self) -> list[list[Visit]]:
        """Each human visitor's creditable clicks, oldest first; visitors in the order of
        their first click (Click ids follow the seeded generator, visitor ids don't)."""
        by_visitor: dict[str, list[Visit]] = defaultdict(list)
        rows = Click.objects.filter(organization=self.org, is_bot=False, is_self=False)
        scripted = demo_ambassador(self.org)
        if scripted is not None:  # their own audience, whose customers demo.ambassador_history writes
            rows = rows.exclude(ambassador_id=scripted.pk)
        rows = (rows.order_by("clicked_at", "id")
                .values_list("visitor_id", "id", "click_id", "clicked_at", "ambassador_id"))
        for visitor_id, *visit in rows:
            by_visitor[visitor_id].append(tuple(visit))
        return sorted(by_visitor.values(), key=lambda visits: min(v[0] for v in visits))

    def lead_after(self, visits: list[Visit]) -> tuple[str, datetime]:
        """A lead minutes to days after one of the visitor's clicks (later clicks are likelier:
        people come back before they sign up); the click id is the last one before the lead,
        as the snippet's cookie would hold."""
        anchor = visits[self.rng.randint(len(visits) // 2, len(visits) - 1)][2]
        bucket = self.rng.random()
        if bucket < 0.5:
            delay = timedelta(minutes=self.rng.randint(2, 90))
        elif bucket < 0.8:
            delay = timedelta(hours=self.rng.uniform(2, 48))
        else:
            delay = timedelta(days=self.rng.uniform(2, 21))
        shrink = self.rng.random()  # drawn every time, so the draws never depend on the clock
        latest = self.now - timedelta(minutes=1)
        if anchor + delay > latest:
            delay = max(latest - anchor, timedelta(0)) * shrink
        at = anchor + delay
        click_id = [v[1] for v in visits if v[2] <= at][-1]
        return click_id, at

    def lead(self, *, occurred_at: datetime, click_id: str | None = None, email: str | None = None,
             name: str | None = None) -> str:
        external_id = self.external_id(len(self.leads) + 1)
        person_name, person_email = self.person()
        record_lead(self.org, click_id=click_id, email=email or person_email, customer_external_id=external_id,
                    name=name or person_name, occurred_at=occurred_at)
        self.leads.append((external_id, occurred_at))
        return external_id

    def amount(self) -> Decimal:
        if self.rng.random() < 0.2:  # prorated or custom-priced
            return Decimal(self.rng.randrange(4900, 480000)).scaleb(-2)
        price = Decimal(self.rng.choice(PRICES))
        seats = self.rng.choice([1, 1, 1, 2, 3, 5])
        return min(price * seats, MAX_AMOUNT)

    def sale_time(self, lead_at: datetime) -> datetime:
        bucket = self.rng.random()
        if bucket < 0.3:
            delay = timedelta(days=self.rng.uniform(0.1, 7))  # bought right away
        elif bucket < 0.7:
            delay = timedelta(days=self.rng.uniform(7, 42))  # a trial, then a purchase
        else:
            delay = timedelta(days=self.rng.uniform(42, 75))  # a B2B deal closing later
        shrink = self.rng.uniform(0.3, 1)
        room = self.now - lead_at  # never in the future, never before the lead
        room = max(room - timedelta(minutes=30), room / 2)
        if delay > room:
            delay = room * shrink
        return lead_at + delay

    def sale(self, external_id: str, occurred_at: datetime) -> tuple[str, str, Decimal, datetime]:
        self.invoices[external_id] += 1  # numbered per customer: re-runs find the same invoices
        invoice_id = f"{external_id.replace('-CUS-', '-INV-')}-{self.invoices[external_id]}"
        amount = self.amount()
        self.sales_made += 1  # a counter, not the generator: the other draws stay as they were
        currency = self.foreign if self.sales_made % 5 == 0 else self.org.currency
        record_sale(self.org, customer_external_id=external_id, amount=amount, currency=currency,
                    invoice_id=invoice_id, occurred_at=occurred_at)
        return invoice_id, external_id, amount, occurred_at

    def attribute(self) -> None:
        while attribute_pending(self.org.pk).more:
            pass

    def run(self) -> dict:
        rng, now = self.rng, self.now
        visitors = self.visitors()
        converting = [visits for visits in visitors if rng.random() < LEAD_RATE]
        if len(converting) < 4:  # a tiny click history still gets a few leads
            converting = visitors[:4]
        # The last converting visitor's lead is reported after its sale (a CRM that syncs
        # deals before contacts): that sale waits for its customer.
        deferred = converting.pop() if len(converting) > 1 else None
        for visits in converting:
            click_id, at = self.lead_after(visits)
            self.lead(click_id=click_id, occurred_at=at)
        for _ in range(DIRECT_LEADS):  # typed the address, searched, came from an ad: no ambassador click
            self.lead(occurred_at=now - timedelta(days=rng.uniform(1, 85), minutes=rng.randint(0, 600)))
        # An ambassador signs up for a trial through a colleague's link: a self-referral.
        insiders = list(Ambassador.objects.filter(organization=self.org, status=Status.ACTIVE, kind=Kind.INTERNAL)
                        .exclude(email="").order_by("pk"))
        insider = rng.choice(insiders) if insiders else None
        taken = {id(v) for v in converting} | {id(deferred)}
        others = [visits for visits in visitors if id(visits) not in taken]
        if insider and others:
            click_id, at = self.lead_after(rng.choice(others))
            self.lead(click_id=click_id, occurred_at=at, email=insider.email, name=insider.display_name)
        self_referral = self.leads[-1][0] if insider and others else None

        eligible = [(ext, at) for ext, at in self.leads if ext != self_referral and at < now - timedelta(days=1)]
        buyers = [lead for lead, draw in zip(self.leads, [rng.random() for _ in self.leads], strict=True)
                  if lead in eligible and draw < SALE_RATE] or eligible[:1]
        paid = []
        for external_id, lead_at in buyers:
            sold_at = self.sale_time(lead_at)
            paid.append(self.sale(external_id, sold_at))
            upsell, later = rng.random() < 0.15, rng.uniform(0.2, 0.9)
            if upsell and sold_at < now - timedelta(days=14):  # more seats, later
                paid.append(self.sale(external_id, sold_at + (now - sold_at) * later))
        cheaper_half = sorted(paid, key=lambda sale: sale[2])[:max(2, len(paid) // 2)]
        for invoice_id, external_id, amount, sold_at in rng.sample(cheaper_half, min(2, len(cheaper_half))):
            refunded_at = min(sold_at + timedelta(days=rng.uniform(1, 14)), now - timedelta(minutes=5))
            record_sale(self.org, customer_external_id=external_id, amount=amount, currency=self.org.currency,
                        invoice_id=invoice_id, occurred_at=refunded_at, status=SaleStatus.REFUNDED)
        if deferred is not None:
            click_id, lead_at = self.lead_after(deferred)
            external_id = self.external_id(len(self.leads) + 1)
            sold_at = self.sale_time(lead_at)
            self.sale(external_id, sold_at)  # no customer with this id yet: waits
            self.attribute()
            self.lead(click_id=click_id, occurred_at=lead_at)  # links the waiting sale
        self.attribute()
        return self.summary()

    def summary(self) -> dict:
        customers = Customer.objects.filter(organization=self.org)
        sales = Sale.objects.filter(organization=self.org)
        ambassadors_of = defaultdict(set)
        for customer_id, ambassador_id in Credit.objects.filter(
                organization=self.org, kind=CreditKind.LEAD, model=AttributionModel.LINEAR).values_list(
                "customer_id", "ambassador_id"):
            ambassadors_of[customer_id].add(ambassador_id)
        insiders = ambassador_email_hashes(self.org.pk)
        uncredited = customers.exclude(pk__in=list(ambassadors_of)).values_list("email_hash", flat=True)
        self_referrals = sum(email_hash in insiders for email_hash in uncredited)
        return {
            "leads": customers.count(),
            "credited_leads": len(ambassadors_of),
            "multi_touch": sum(len(ids) > 1 for ids in ambassadors_of.values()),
            "direct": len(uncredited) - self_referrals,
            "self_referrals": self_referrals,
            "sales": sales.count(),
            "refunded": sales.filter(status=SaleStatus.REFUNDED).count(),
            "lead_credits": Credit.objects.filter(organization=self.org, kind=CreditKind.LEAD).count(),
            "sale_credits": Credit.objects.filter(organization=self.org, kind=CreditKind.SALE).count(),
        }
