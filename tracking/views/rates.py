"""The exchange rates page (admins): the organisation's rates, the sales awaiting a rate, and
the upload of rates as CSV (`day,currency,rate`: units of the currency for one unit of the
organisation's currency, the ECB's convention). An uploaded rate overrides the reference rate
of its day and currency; the sales it concerns are converted again and re-attributed."""

from django.contrib import messages
from django.shortcuts import redirect, render

from tenancy.models import Role
from tenancy.roles import role_required

from ..models import ExchangeRate, RateSource, RateStatus, Sale
from ..services import rates
from ..tasks import queue_attribution

MAX_UPLOAD_BYTES = 1_000_000


@role_required(Role.ADMIN)
def exchange_rates(request, org_slug):
    organization = request.organization
    error = None
    if request.method == "POST":
        upload = request.FILES.get("file")
        if upload is None:
            error = "Choose a CSV file with lines day,currency,rate."
        elif upload.size > MAX_UPLOAD_BYTES:
            error = "The file is too large (at most 1 MB)."
        else:
            try:
                rows = rates.parse_rates_csv(upload.read().decode("utf-8-sig"))
            except UnicodeDecodeError:
                error = "The file must be UTF-8 text."
            except rates.RateFileError as problem:
                error = str(problem)
            else:
                if not rows:
                    error = "The file holds no rates."
                else:
                    changed = rates.store_rates(organization, rows, source=RateSource.UPLOADED)
                    if changed:
                        queue_attribution(organization.pk)
                    messages.success(request, f"{len(rows)} rate(s) stored; {changed} sale(s) converted again.")
                    return redirect("exchange_rates", org_slug=org_slug)
    listed = ExchangeRate.objects.filter(organization=organization).order_by("-day", "currency", "source")[:100]
    awaiting = (Sale.objects.filter(organization=organization, rate_status=RateStatus.AWAITING)
                .order_by("occurred_at")[:100])
    return render(request, "tracking/exchange_rates.html", {
        "rates": listed, "awaiting": awaiting, "error": error}, status=400 if error else 200)
