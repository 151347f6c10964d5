"""Campaign pages under /o/<org_slug>/: the ambassador's campaigns (links, QR, share buttons)
and the managers' campaign settings (/manage/campaigns/)."""

import json
from functools import wraps

from django import forms
from django.contrib import messages
from django.http import FileResponse, Http404, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_GET, require_POST

from ambassadors.selectors import ambassador_of
from common.service_errors import ServiceError, form_errors
from tenancy.models import Role
from tenancy.roles import role_required

from . import selectors
from .channels import MESSAGE_LIMITS, SHARE_CHANNELS, message_length
from .codes import is_valid_code
from .forms import CampaignCostForm, CampaignForm, CampaignImageForm, CampaignMessageForm, DomainForm
from .models import (
    MAX_VARIANTS_PER_CHANNEL,
    Campaign,
    CampaignCost,
    CampaignImage,
    CampaignMessage,
    CampaignStatus,
    Domain,
    TrackedLink,
)
from .services import CampaignError, images
from .services.campaigns import deletable, delete_campaign, save_campaign
from .services.content import add_message, delete_message, update_message
from .services.costs import add_cost, delete_cost
from .services.domains import add_domain, delete_domain, platform_host
from .services.links import (
    NotAllowed,
    check_ambassador,
    check_can_share,
    link_for_ambassador,
    share_as_ambassador,
    share_dialog_as_ambassador,
)
from .share import option_for, sample_short_url, share_action_token_ok, share_options, short_url

REFUSAL_STATUS = {"no_profile": 403, "ambassador_inactive": 403, "not_targeted": 403, "not_found": 404,
                  "closed": 409, "not_started": 409}


class ShareRedirect(HttpResponseRedirect):
    """A 302 to a network's share dialog, mailto: included."""

    allowed_schemes = ["http", "https", "mailto"]


def in_org_time_zone(view):
    """Forms read and pages show dates in the organisation's time zone."""

    @wraps(view)
    def wrapped(request, *args, **kwargs):
        with timezone.override(request.organization.tzinfo):
            return view(request, *args, **kwargs)

    return wrapped


# --- The ambassador's pages ---------------------------------------------------------------------------

@in_org_time_zone
def my_campaigns(request, org_slug):
    me = ambassador_of(request.user)
    if me is None and request.membership.is_manager:
        return redirect("campaign_manage_list", org_slug=org_slug)
    problem = None
    try:
        check_ambassador(me)
    except NotAllowed as error:
        problem = str(error)
    entries = []
    if problem is None:
        campaigns = list(selectors.campaigns_for_ambassador(me))
        links = selectors.links_of(me, [c.pk for c in campaigns])
        for campaign in campaigns:
            link = links.get(campaign.pk)
            entries.append({"campaign": campaign, "link": link, "short_url": short_url(link) if link else ""})
    return render(request, "campaigns/my_list.html", {"me": me, "entries": entries, "problem": problem})


@in_org_time_zone
def my_campaign(request, org_slug, public_id):
    """A campaign's sharing kit. The ambassador's link is made on the first visit."""
    me = ambassador_of(request.user)
    if me is None and request.membership.is_manager:
        return redirect("campaign_manage", org_slug=org_slug, public_id=public_id)
    campaign = get_object_or_404(Campaign.objects.prefetch_related("messages"), public_id=public_id)
    link = TrackedLink.objects.filter(ambassador=me, campaign=campaign).first() if me else None
    try:
        link, _ = link_for_ambassador(ambassador=me, campaign=campaign)
    except NotAllowed as error:
        if link is None or error.reason in ("no_profile", "not_found"):
            if error.reason == "not_found":
                raise Http404("No such campaign.") from error
            return render(request, "campaigns/problem.html", {"problem": str(error), "campaign": campaign},
                          status=REFUSAL_STATUS[error.reason])
        # An ended or paused campaign still shows the ambassador's link, without share buttons.
    share_problem = None
    try:
        check_can_share(me, campaign)
    except NotAllowed as error:
        share_problem = str(error)
    campaign_messages = list(campaign.messages.all())
    return render(request, "campaigns/my_detail.html", {
        "campaign": campaign, "link": link, "short_url": short_url(link),
        "options": share_options(link, campaign, campaign_messages), "share_problem": share_problem,
        "qr_png": reverse("link_qr", kwargs={"org_slug": org_slug, "code": link.code, "fmt": "png"}),
        "qr_svg": reverse("link_qr", kwargs={"org_slug": org_slug, "code": link.code, "fmt": "svg"}),
        "images": selectors.campaign_images(campaign),
    })


@require_POST
def get_my_link(request, org_slug, public_id):
    """The "Get my link" button (the campaign page also makes the link on first view)."""
    campaign = get_object_or_404(Campaign, public_id=public_id)
    try:
        _, created = link_for_ambassador(ambassador=ambassador_of(request.user), campaign=campaign)
    except NotAllowed as error:
        if error.reason == "not_found":
            raise Http404("No such campaign.") from error
        messages.error(request, str(error))
        return redirect("my_campaigns", org_slug=org_slug)
    if created:
        messages.success(request, "Your link is ready: copy it, or use a share button.")
    return redirect("my_campaign", org_slug=org_slug, public_id=public_id)


def _is_prefetch(request) -> bool:
    """A browser fetching the page ahead of a click (link prefetch, prerender, speculation rules):
    no one pressed the button yet."""
    purposes = " ".join(request.headers.get(name, "") for name in ("Sec-Purpose", "Purpose", "X-Purpose", "X-Moz"))
    return "prefetch" in purposes.lower() or "prerender" in purposes.lower() or "preview" in purposes.lower()


def _share_problem(request, message: str, *, status: int, campaign=None):
    return render(request, "campaigns/problem.html", {"problem": message, "campaign": campaign}, status=status)


@require_GET
@never_cache
def share_open(request, org_slug, code, channel):
    """A share button's plain link (see share.share_action_path): what the button does without
    JavaScript, and what the buttons of e-mails open. Records one share (a second press within
    SHARE_REPEAT_SECONDS is the same one) and redirects to the network's share dialog, pre-filled
    with the ambassador's post variant. Logged out, the tenant middleware sends the visitor to the
    log-in page and back here."""
    if _is_prefetch(request):
        return HttpResponse(status=204)  # only a real visit records a share
    me = ambassador_of(request.user)
    if me is None or not is_valid_code(code) or channel not in SHARE_CHANNELS:
        raise Http404
    link = get_object_or_404(TrackedLink.objects.select_related("campaign"), code=code, ambassador=me)
    if not share_action_token_ok(code, channel, request.GET.get("t", "")):
        return _share_problem(request, "This share link is incomplete or has been altered (it may have been cut "
                                       "short when it was copied). Use the share buttons of the campaign's page.",
                              status=400, campaign=link.campaign)
    option = option_for(link, link.campaign, channel, list(link.campaign.messages.all()))
    try:
        share_as_ambassador(ambassador=me, link=link, channel=channel, message=option.message)
    except NotAllowed as error:
        if error.reason == "not_found":
            raise Http404("No such campaign.") from error
        return _share_problem(request, str(error), status=REFUSAL_STATUS[error.reason], campaign=link.campaign)
    return ShareRedirect(option.intent_url)


class ShareRecordForm(forms.Form):
    """What share.js sends once the network's dialog window did open."""

    dialog_id = forms.UUIDField(error_messages={"required": "Send the id of the share dialog (a UUID).",
                                                "invalid": "The dialog id must be a UUID."})
    message = forms.UUIDField(required=False, error_messages={"invalid": "The post's id must be a UUID."})
    edited = forms.BooleanField(required=False)


def _json_error(message: str, *, status: int, errors: dict | None = None) -> JsonResponse:
    return JsonResponse({"recorded": False, "detail": message, "errors": errors or {}}, status=status)


def _share_record_input(request) -> dict:
    """The POST's fields, from a JSON body or a form; ValueError for a body that is neither."""
    if request.content_type == "application/json":
        data = json.loads(request.body or b"{}")
        if not isinstance(data, dict):
            raise ValueError("not an object")
        # A JSON false is no string: the form's BooleanField reads the string "false" as False.
        return {key: ("" if value is None else str(value).lower() if isinstance(value, bool) else value)
                for key, value in data.items()}
    return request.POST


@require_POST
def share_link(request, org_slug, code, channel):
    """share.js records an opened share dialog here (POST, JSON answer, never a redirect): the
    same dialog_id sent again is the same share (200, recorded false), a new one is a new share (201)."""
    me = ambassador_of(request.user)
    if me is None or not is_valid_code(code) or channel not in SHARE_CHANNELS:
        return _json_error("No such link or network.", status=404)
    link = TrackedLink.objects.select_related("campaign").filter(code=code, ambassador=me).first()
    if link is None:
        return _json_error("No such link or network.", status=404)
    try:
        form = ShareRecordForm(_share_record_input(request))
    except ValueError:
        return _json_error("Send a JSON object or form fields: dialog_id, message, edited.", status=400)
    if not form.is_valid():
        errors = {field: [str(e) for e in errs] for field, errs in form.errors.items()}
        return _json_error(" ".join(e for errs in errors.values() for e in errs), status=400, errors=errors)
    try:
        event, created = share_dialog_as_ambassador(
            ambassador=me, link=link, channel=channel, dialog_id=form.cleaned_data["dialog_id"],
            message_id=form.cleaned_data["message"], edited=form.cleaned_data["edited"])
    except NotAllowed as error:
        return _json_error(str(error), status=REFUSAL_STATUS[error.reason])
    except ServiceError as error:
        return _json_error(error.message, status=400, errors={error.field or "__all__": [error.message]})
    return JsonResponse({"recorded": created, "dialog_id": str(event.dialog_id), "channel": event.channel,
                         "shared_at": event.shared_at.isoformat()}, status=201 if created else 200)


# --- Managing campaigns (managers read, admins write) -------------------------------------------------

@role_required(Role.MANAGER)
@in_org_time_zone
def manage_list(request, org_slug):
    status = request.GET.get("status", "")
    campaigns = selectors.campaigns_with_stats()
    if status in CampaignStatus.values:
        campaigns = campaigns.filter(status=status)
    else:
        status = ""
    return render(request, "campaigns/manage_list.html", {
        "campaigns": campaigns, "status": status, "statuses": CampaignStatus.choices,
        "can_edit": request.membership.is_admin,
    })


@role_required(Role.ADMIN)
@in_org_time_zone
def campaign_create(request, org_slug):
    form = CampaignForm(request.POST or None, instance=Campaign(organization=request.organization))
    if request.method == "POST" and form.is_valid():
        with form_errors(form):
            campaign = save_campaign(form.instance, target_groups=form.cleaned_data["target_groups"])
            messages.success(request, f"Campaign “{campaign.name}” created. Add suggested posts and costs below.")
            return redirect("campaign_manage", org_slug=org_slug, public_id=campaign.public_id)
    return render(request, "campaigns/manage_form.html", {"form": form, "campaign": None},
                  status=400 if form.is_bound else 200)


def _campaign(public_id) -> Campaign:
    return get_object_or_404(selectors.campaigns_with_stats(), public_id=public_id)


def _variant_groups(campaign) -> list[dict]:
    """The campaign's posts per network (in the networks' order), numbered Variant 1, 2, … as they
    were written, with their length, limit and shares."""
    shares = selectors.share_counts_by_message(campaign)
    by_channel: dict[str, list] = {}
    for message in campaign.messages.all():  # ordered by channel, then as written
        message.length = message_length(message.text, message.channel, sample_short_url(message.channel))
        message.limit = MESSAGE_LIMITS[message.channel]
        message.share_count = shares.get(message.pk, 0)
        by_channel.setdefault(message.channel, []).append(message)
    groups = []
    for channel in MESSAGE_LIMITS:
        variants = by_channel.get(channel, [])
        for number, message in enumerate(variants, start=1):
            message.variant = number
        if variants:
            groups.append({"channel": channel, "label": variants[0].get_channel_display(), "variants": variants,
                           "full": len(variants) >= MAX_VARIANTS_PER_CHANNEL})
    return groups


def _manage_page(request, campaign, *, form=None, message_form=None, cost_form=None, image_form=None, status=200):
    can_edit = request.membership.is_admin
    return render(request, "campaigns/manage_detail.html", {
        "campaign": campaign, "can_edit": can_edit,
        "form": form or (CampaignForm(instance=campaign) if can_edit else None),
        "message_form": message_form or CampaignMessageForm(),
        "cost_form": cost_form or CampaignCostForm(initial={"date": timezone.localdate()}),
        "image_form": image_form or CampaignImageForm(),
        "variant_groups": _variant_groups(campaign), "max_variants": MAX_VARIANTS_PER_CHANNEL,
        "images": selectors.campaign_images(campaign), "costs": campaign.costs.all(),
        "cost_total": selectors.cost_total(campaign), "share_counts": selectors.share_counts(campaign),
        "deletable": deletable(campaign),
    }, status=status)


@role_required(Role.MANAGER)
@in_org_time_zone
def campaign_manage(request, org_slug, public_id):
    campaign = _campaign(public_id)
    if request.method == "POST":
        if not request.membership.is_admin:
            messages.error(request, "Only admins can change campaigns.")
            return redirect(request.path)
        form = CampaignForm(request.POST, instance=campaign)
        if form.is_valid():
            with form_errors(form):
                save_campaign(form.instance, target_groups=form.cleaned_data["target_groups"])
                messages.success(request, "Campaign saved.")
                return redirect(request.path)
        return _manage_page(request, campaign, form=form, status=400)
    return _manage_page(request, campaign)


@require_POST
@role_required(Role.ADMIN)
def campaign_delete(request, org_slug, public_id):
    campaign = _campaign(public_id)
    try:
        delete_campaign(campaign)
    except CampaignError as error:
        messages.error(request, error.message)
        return redirect("campaign_manage", org_slug=org_slug, public_id=public_id)
    messages.success(request, f"Campaign “{campaign.name}” deleted.")
    return redirect("campaign_manage_list", org_slug=org_slug)


@require_POST
@role_required(Role.ADMIN)
@in_org_time_zone
def message_add(request, org_slug, public_id):
    campaign = _campaign(public_id)
    form = CampaignMessageForm(request.POST)
    if form.is_valid():
        with form_errors(form):
            message = add_message(campaign, **form.cleaned_data)
            messages.success(request, f"{message.get_channel_display()} post added.")
            return redirect(reverse("campaign_manage", args=[org_slug, public_id]) + "#messages")
    return _manage_page(request, campaign, message_form=form, status=400)


@role_required(Role.ADMIN)
@in_org_time_zone
def message_edit(request, org_slug, public_id, message_id):
    campaign = _campaign(public_id)
    message = get_object_or_404(CampaignMessage, public_id=message_id, campaign=campaign)
    # Which variant of its network it is, read before a posted form changes the instance's network.
    label, siblings = message.get_channel_display(), [m.pk for m in campaign.messages.filter(channel=message.channel)]
    form = CampaignMessageForm(request.POST or None, instance=message)
    if request.method == "POST" and form.is_valid():
        with form_errors(form):
            update_message(message, **form.cleaned_data)
            messages.success(request, "Post saved.")
            return redirect(reverse("campaign_manage", args=[org_slug, public_id]) + "#messages")
    return render(request, "campaigns/message_edit.html", {
        "campaign": campaign, "message": message, "form": form, "network": label,
        "variant": siblings.index(message.pk) + 1, "variant_count": len(siblings),
    }, status=400 if form.is_bound else 200)


@require_POST
@role_required(Role.ADMIN)
def message_delete(request, org_slug, public_id, message_id):
    campaign = _campaign(public_id)
    delete_message(get_object_or_404(CampaignMessage, public_id=message_id, campaign=campaign))
    messages.success(request, "Post deleted.")
    return redirect(reverse("campaign_manage", args=[org_slug, public_id]) + "#messages")


@require_POST
@role_required(Role.ADMIN)
@in_org_time_zone
def cost_add(request, org_slug, public_id):
    campaign = _campaign(public_id)
    form = CampaignCostForm(request.POST)
    if form.is_valid():
        with form_errors(form):
            cost = add_cost(campaign, **form.cleaned_data)
            messages.success(request, f"Cost of {cost.amount} {request.organization.currency} recorded.")
            return redirect(reverse("campaign_manage", args=[org_slug, public_id]) + "#costs")
    return _manage_page(request, campaign, cost_form=form, status=400)


@require_POST
@role_required(Role.ADMIN)
def cost_delete(request, org_slug, public_id, cost_id):
    campaign = _campaign(public_id)
    delete_cost(get_object_or_404(CampaignCost, public_id=cost_id, campaign=campaign))
    messages.success(request, "Cost entry deleted.")
    return redirect(reverse("campaign_manage", args=[org_slug, public_id]) + "#costs")


# --- Campaign images: admins upload and delete, ambassadors of the campaign and managers download -----

@csrf_exempt  # checked in _image_add once the size is known: the CSRF check would read the whole body first
@require_POST
@role_required(Role.ADMIN)
@in_org_time_zone
def image_add(request, org_slug, public_id):
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        declared = 0
    if declared > images.MAX_UPLOAD_REQUEST_BYTES:
        form = CampaignImageForm.refused(images.too_large_message(declared))
        return _manage_page(request, _campaign(public_id), image_form=form, status=413)
    return _image_add(request, org_slug, public_id)


@csrf_protect  # before the campaign is looked up, as on every other POST (403 without a token)
def _image_add(request, org_slug, public_id):
    campaign = _campaign(public_id)
    form = CampaignImageForm(request.POST, request.FILES)
    if form.is_valid():
        with form_errors(form):
            image = images.add_image(campaign, form.cleaned_data["image"], form.cleaned_data["alt_text"])
            messages.success(request, f"Image “{image}” added: ambassadors can download it from the campaign page.")
            return redirect(reverse("campaign_manage", args=[org_slug, campaign.public_id]) + "#images")
    return _manage_page(request, campaign, image_form=form, status=400)


@require_POST
@role_required(Role.ADMIN)
def image_delete(request, org_slug, public_id, image_id):
    campaign = _campaign(public_id)
    image = get_object_or_404(CampaignImage, public_id=image_id, campaign=campaign)
    images.delete_image(image)
    messages.success(request, f"Image “{image}” deleted.")
    return redirect(reverse("campaign_manage", args=[org_slug, public_id]) + "#images")


def _image_for_viewer(request, image_id) -> CampaignImage:
    """The image, if the requester may see its campaign: managers, and ambassadors whose campaign
    page shows it. Anyone else gets the same 404 as for an image that doesn't exist."""
    image = get_object_or_404(CampaignImage.objects.select_related("campaign"), public_id=image_id)
    if not request.membership.is_manager and not selectors.may_see_campaign(ambassador_of(request.user),
                                                                           image.campaign):
        raise Http404("No such image.")
    return image


def _stored_file_response(field_file, content_type: str, **kwargs) -> FileResponse:
    """A stored file streamed from whatever the storage is (local disk, S3 …), under our own headers."""
    try:
        handle = field_file.storage.open(field_file.name, "rb")
    except FileNotFoundError as error:
        raise Http404("This image's file is missing.") from error
    response = FileResponse(handle, content_type=content_type, **kwargs)
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, max-age=3600"
    return response


@require_GET
def image_download(request, org_slug, image_id):
    """The image itself, as an attachment (saved by the browser, never rendered in our origin)."""
    image = _image_for_viewer(request, image_id)
    return _stored_file_response(image.file, images.CONTENT_TYPES[image.format], as_attachment=True,
                                 filename=images.download_name(image))


@require_GET
def image_thumbnail(request, org_slug, image_id):
    image = _image_for_viewer(request, image_id)
    return _stored_file_response(image.thumbnail, images.CONTENT_TYPES[images.THUMBNAIL_FORMAT])


# --- Custom domains (admins) ------------------------------------------------------------------------

@role_required(Role.ADMIN)
def domains(request, org_slug):
    """Custom short-link hosts: add one (unverified until platform staff see its DNS), or remove it."""
    form = DomainForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        with form_errors(form):
            domain = add_domain(request.organization, form.cleaned_data["host"])
            messages.success(request, f"{domain.host} is added. Point a CNAME record of it at "
                                      f"{platform_host()}; we verify it and switch it on.")
            return redirect("campaign_domains", org_slug=org_slug)
    status = 400 if form.errors else 200
    return render(request, "campaigns/domains.html", {
        "form": form, "domains": Domain.objects.order_by("host"), "cname_target": platform_host(),
    }, status=status)


@require_POST
@role_required(Role.ADMIN)
def domain_delete(request, org_slug, public_id):
    domain = get_object_or_404(Domain, public_id=public_id)
    delete_domain(domain)
    messages.success(request, f"{domain.host} is removed; links on it use the platform's address again.")
    return redirect("campaign_domains", org_slug=org_slug)
