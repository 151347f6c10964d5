from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from .forms import ApiKeyForm, NewOrganizationForm, OrganizationForm, RoleForm
from .models import ApiKey, Membership, Role
from .roles import role_required
from .selectors import memberships_of
from .services import change_role, create_api_key, create_organization, revoke_api_key


def home(request):
    """Logged out: what the product is. Logged in: straight to your organisation, or the list."""
    if not request.user.is_authenticated:
        return render(request, "tenancy/landing.html")
    memberships = memberships_of(request.user)
    if len(memberships) == 1:
        return redirect("org_home", org_slug=memberships[0].organization.slug)
    return render(request, "tenancy/organizations.html", {"memberships": memberships})


@login_required
def new_organization(request):
    form = NewOrganizationForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        organization = create_organization(owner=request.user, **form.cleaned_data)
        messages.success(request, f"{organization.name} is ready. Invite your first ambassadors.")
        return redirect("org_home", org_slug=organization.slug)
    return render(request, "tenancy/new_organization.html", {"form": form})


@role_required(Role.ADMIN)
def organization_settings(request, org_slug):
    organization = request.organization
    form = OrganizationForm(request.POST or None, instance=organization)
    if request.method == "POST" and form.is_valid():
        organization = form.save()
        messages.success(request, "Settings saved.")
        return redirect("org_settings", org_slug=organization.slug)
    return render(request, "tenancy/settings.html", {"form": form})


@role_required(Role.ADMIN)
def members(request, org_slug):
    memberships = Membership.objects.select_related("user").order_by("role", "user__email")
    return render(request, "tenancy/members.html", {"memberships": memberships, "roles": Role.choices})


@require_POST
@role_required(Role.ADMIN)
def member_role(request, org_slug, membership_id):
    membership = get_object_or_404(Membership, pk=membership_id)
    form = RoleForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Pick one of the listed roles.")
        return redirect("org_members", org_slug=org_slug)
    role = form.cleaned_data["role"]
    # Only an owner may make or unmake owners.
    if Role.OWNER in (role, membership.role) and request.membership.role != Role.OWNER:
        messages.error(request, "Only an owner can grant or take away the owner role.")
        return redirect("org_members", org_slug=org_slug)
    try:
        change_role(membership=membership, role=role)
    except ValueError as error:
        messages.error(request, str(error))
    else:
        messages.success(request, f"{membership.user} is now {membership.get_role_display().lower()}.")
    return redirect("org_members", org_slug=org_slug)


@role_required(Role.ADMIN)
def api_keys(request, org_slug):
    """The organisation's API keys; creating one shows its full key once."""
    form = ApiKeyForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        key, full_key = create_api_key(organization=request.organization, name=form.cleaned_data["name"],
                                       created_by=request.user)
        # Rendered in the POST's own response rather than redirected to: the full key is
        # then never stored anywhere (not even briefly in the session), and is gone once
        # this page is left.
        response = render(request, "tenancy/api_key_created.html", {"key": key, "full_key": full_key})
        response["Cache-Control"] = "no-store"
        return response
    keys = ApiKey.objects.select_related("created_by")
    return render(request, "tenancy/api_keys.html", {"keys": keys, "form": form})


@require_POST
@role_required(Role.ADMIN)
def api_key_revoke(request, org_slug, key_id):
    key = get_object_or_404(ApiKey, public_id=key_id)
    revoke_api_key(key)
    messages.success(request, f"The key “{key.name}” ({key.prefix}…) is revoked; calls with it now fail.")
    return redirect("org_api_keys", org_slug=org_slug)
