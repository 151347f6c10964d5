from allauth.account.adapter import get_adapter
from django.conf import settings
from django.contrib import messages
from django.db import transaction
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from common import ratelimits
from common.service_errors import form_errors
from tenancy.middleware import public_tenant_view
from tenancy.models import Role
from tenancy.roles import role_required

from . import selectors
from .forms import (
    AmbassadorForm,
    ApplyForm,
    CsvInviteForm,
    GroupForm,
    InviteForm,
    JoinPageForm,
    ProfileForm,
    SocialProfileFormSet,
)
from .models import Ambassador, AmbassadorGroup, Invitation, Status
from .services import groups as group_services
from .services import invitations, programme
from .services.csv_invites import CsvFileError, invite_from_csv


@role_required(Role.MANAGER)
def ambassador_detail(request, org_slug, public_id):
    ambassadors = Ambassador.objects.prefetch_related("groups", "social_profiles")
    ambassador = get_object_or_404(ambassadors, public_id=public_id)
    can_edit = request.membership.is_admin
    form = AmbassadorForm(request.POST or None, instance=ambassador)
    if request.method == "POST":
        if not can_edit:
            messages.error(request, "Only admins can change ambassadors.")
            return redirect(request.path)
        if form.is_valid():
            programme.save_ambassador(form.instance, groups=form.cleaned_data["groups"])
            messages.success(request, "Saved.")
            return redirect(request.path)
    return render(request, "ambassadors/detail.html", {
        "ambassador": ambassador, "form": form, "can_edit": can_edit,
        "transitions": sorted(programme.TRANSITIONS.get(ambassador.status, ())),
        "status_labels": dict(Status.choices),
        "invitation": Invitation.objects.filter(ambassador=ambassador).first(),
    })


@require_POST
@role_required(Role.ADMIN)
def ambassador_status(request, org_slug, public_id):
    ambassador = get_object_or_404(Ambassador, public_id=public_id)
    status = request.POST.get("status", "")
    if status not in Status.values:
        messages.error(request, f"“{status}” is not a status.")
    else:
        try:
            programme.set_status(ambassador, status)
            messages.success(request, f"{ambassador} is now {ambassador.get_status_display().lower()}.")
        except programme.TransitionError as error:
            messages.error(request, error.message)
    next_url = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(next_url, allowed_hosts={request.get_host()},
                                           require_https=request.is_secure()):
        next_url = reverse("ambassador_detail", args=[org_slug, public_id])  # never off-site
    return redirect(next_url)


@role_required(Role.ADMIN)
def invite(request, org_slug):
    form = InviteForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        with form_errors(form):
            invitations.invite(organization=request.organization, email=data["email"],
                               display_name=data["display_name"], kind=data["kind"], groups=data["groups"],
                               invited_by=request.user)
            messages.success(request, f"Invitation sent to {data['email']}.")
            return redirect("ambassador_invite", org_slug=org_slug)
    return render(request, "ambassadors/invite.html", {
        "form": form, "csv_form": CsvInviteForm(), "pending": selectors.pending_invitations()[:50],
    })


@role_required(Role.ADMIN)
def invite_csv(request, org_slug):
    csv_form = CsvInviteForm(request.POST or None, request.FILES or None)
    report = None
    status = 200
    if request.method == "POST":
        if csv_form.is_valid():
            try:
                report = invite_from_csv(organization=request.organization,
                                         data=csv_form.cleaned_data["file"].read(), invited_by=request.user)
            except CsvFileError as error:
                csv_form.add_error("file", str(error))
                status = 400
        else:
            status = 400
        if report is not None and report.errors:
            status = 400 if not report.invited else 200
    return render(request, "ambassadors/invite_csv.html", {"csv_form": csv_form, "report": report}, status=status)


@require_POST
@role_required(Role.ADMIN)
def invitation_action(request, org_slug, public_id, action):
    invitation = get_object_or_404(Invitation, public_id=public_id)
    try:
        if action == "resend":
            invitations.resend(invitation)
            messages.success(request, f"Invitation re-sent to {invitation.email}.")
        elif action == "revoke":
            invitations.revoke(invitation)
            messages.success(request, f"Invitation of {invitation.email} withdrawn.")
        else:
            raise Http404
    except invitations.InvitationError as error:
        messages.error(request, str(error))
    return redirect("ambassador_invite", org_slug=org_slug)


@role_required(Role.ADMIN)
def groups(request, org_slug):
    form = GroupForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        with form_errors(form):
            group = group_services.create_group(organization=request.organization, **form.cleaned_data)
            messages.success(request, f"Group “{group.name}” created.")
            return redirect("ambassador_groups", org_slug=org_slug)
    return render(request, "ambassadors/groups.html", {"form": form, "groups": selectors.groups_with_counts()})


@role_required(Role.ADMIN)
def group_edit(request, org_slug, group_id):
    group = get_object_or_404(AmbassadorGroup, pk=group_id)
    if request.method == "POST" and request.POST.get("delete"):
        group_services.delete_group(group)
        messages.success(request, f"Group “{group.name}” deleted; its ambassadors stay.")
        return redirect("ambassador_groups", org_slug=org_slug)
    form = GroupForm(request.POST or None, instance=group)
    if request.method == "POST" and form.is_valid():
        with form_errors(form):
            group_services.update_group(group, **form.cleaned_data)
            messages.success(request, "Group saved.")
            return redirect("ambassador_groups", org_slug=org_slug)
    return render(request, "ambassadors/group_edit.html", {"form": form, "group": group})


@role_required(Role.ADMIN)
def join_page_settings(request, org_slug):
    page = programme.join_page_of(request.organization)
    form = JoinPageForm(request.POST or None, instance=page)
    if request.method == "POST" and form.is_valid():
        form.save()
        messages.success(request, "Join page saved.")
        return redirect("join_page_settings", org_slug=org_slug)
    return render(request, "ambassadors/join_settings.html", {"form": form, "page": page})


TOO_MANY_VISITS = "This page has been opened too many times from your network in a short time."


@public_tenant_view
def join(request, org_slug):
    """The public "join our programme" page. Anyone may read it; applying needs an account.
    Rate-limited per address hash (RATELIMIT_JOIN)."""
    too_many = ratelimits.limit_page(request, ("join", ratelimits.address_key(request), settings.RATELIMIT_JOIN),
                                     message=TOO_MANY_VISITS)
    if too_many:
        return too_many
    organization = request.organization
    page = programme.join_page_of(organization)
    if not page.enabled:
        raise Http404("This organisation does not take applications.")
    ambassador = selectors.ambassador_of(request.user)
    form = ApplyForm(request.POST or None, initial={"kind": page.default_kind})
    if request.method == "POST" and request.user.is_authenticated and ambassador is None and form.is_valid():
        ambassador = programme.apply(organization=organization, user=request.user, **form.cleaned_data)
        if ambassador.status == Status.ACTIVE:
            messages.success(request, f"Welcome to {organization.name}'s programme!")
            return redirect("org_home", org_slug=org_slug)
        return redirect("join", org_slug=org_slug)
    request.session["after_signup_url"] = request.path
    return render(request, "ambassadors/join.html", {
        "page": page, "organization": organization, "form": form, "ambassador": ambassador,
    })


def invitation(request, token):
    """Landing page of an invitation link: explains what's wrong with a bad token, asks
    a visitor to sign up or log in, and lets a logged-in user accept (POST). Rate-limited per
    address hash (RATELIMIT_JOIN: guessing tokens) and per token (RATELIMIT_INVITATION_TOKEN)."""
    too_many = ratelimits.limit_page(
        request, ("invitation", ratelimits.address_key(request), settings.RATELIMIT_JOIN),
        ("invitation-token", ratelimits.token_key(token), settings.RATELIMIT_INVITATION_TOKEN),
        message=TOO_MANY_VISITS)
    if too_many:
        return too_many
    try:
        invitation = invitations.invitation_from_token(token)
    except invitations.InvitationError as error:
        already_mine = (error.reason == "used" and error.invitation is not None
                        and request.user.is_authenticated and error.invitation.accepted_by_id == request.user.pk)
        if already_mine:
            return redirect("org_home", org_slug=error.invitation.organization.slug)
        return render(request, "ambassadors/invitation_problem.html", {"error": error}, status=410
                      if error.reason in ("expired", "used", "revoked") else 404)

    if request.method == "POST" and request.user.is_authenticated:
        try:
            acceptance = invitations.accept(token=token, user=request.user)
        except invitations.InvitationError as error:
            return render(request, "ambassadors/invitation_problem.html", {"error": error}, status=410)
        messages.success(request, f"Welcome to {invitation.organization.name}'s ambassador programme!")
        if acceptance.ambassador.organization_id != invitation.organization_id:  # pragma: no cover - defensive
            raise Http404
        return redirect("org_home", org_slug=invitation.organization.slug)

    if not request.user.is_authenticated:
        # The link proves the address: sign-up with it needs no second verification.
        get_adapter(request).stash_verified_email(request, invitation.email)
        request.session["after_signup_url"] = request.path
    return render(request, "ambassadors/invitation.html", {"invitation": invitation})


def my_profile(request, org_slug):
    ambassador = selectors.ambassador_of(request.user)
    if ambassador is None:
        raise Http404("You have no ambassador profile in this organisation.")
    form = ProfileForm(request.POST or None, instance=ambassador, prefix="profile")
    formset = SocialProfileFormSet(request.POST or None, instance=ambassador, prefix="social")
    if request.method == "POST" and form.is_valid() and formset.is_valid():
        with transaction.atomic():
            form.save()
            for profile in formset.save(commit=False):
                profile.organization = request.organization
                profile.save()
            for profile in formset.deleted_objects:
                profile.delete()
        messages.success(request, "Profile saved.")
        return redirect("my_profile", org_slug=org_slug)
    return render(request, "ambassadors/profile.html", {"ambassador": ambassador, "form": form, "formset": formset})
