from django.db.models import Count, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce

from depportal.accounts.roles import CHANGE, VIEW
from depportal.accounts.scoping import get_scoped, scope_of, scoped, scoped_to
from depportal.core.db import compiled_rows
from devices.models import Device
from profiles.models import AssignmentJob, ConfiguratorCertificate, EnrollmentProfile, VppToken


def _devices_assigned():
    """How many devices have the profile: a count per profile on the index of `assigned_profile`.

    A join of every device, grouped by profile, read the whole devices table at a million devices (400 ms for a
    token's profile list); the subquery counts each profile's entries of that index (COUNT(*): no row needed).
    """
    per_profile = (
        Device.objects.filter(assigned_profile_id=OuterRef("pk"))
        .order_by()
        .values("assigned_profile_id")
        .annotate(n=Count("*"))
        .values("n")
    )
    return Coalesce(Subquery(per_profile), 0)


def profile_list(*, user, token=None, search: str = "", platform: str = "") -> QuerySet[EnrollmentProfile]:
    """Profiles the user may see (of one token, of one platform when given), with how many devices have each."""
    queryset = scoped(EnrollmentProfile.objects.select_related("token", "vpp_token"), user)
    if token is not None:
        queryset = queryset.filter(token=token)
    if platform:
        queryset = queryset.filter(platform=platform)
    if search:
        queryset = queryset.filter(Q(name__icontains=search) | Q(description__icontains=search))
    return queryset.annotate(devices_assigned=_devices_assigned()).order_by("name", "pk")


def _profile_choice_values(scope: frozenset[int] | None, token_id: int | None) -> QuerySet:
    profiles = scoped_to(EnrollmentProfile.objects.all(), scope)
    if token_id is not None:
        profiles = profiles.filter(token_id=token_id)
    return profiles.order_by("token__name", "name").values_list(
        "pk", "name", "token__name", "profile_uuid", "token_id"
    )


def profile_choice_rows(*, user, token=None) -> list[tuple[int, str, str, str, int]]:
    """Profiles the user may see, by token name then name, as (pk, name, token name, Apple's profile UUID, token
    id): the device list's filter and bulk bars. Its SQL is compiled once per scope and token (compiled_rows)."""
    return compiled_rows(_profile_choice_values, scope_of(user), token.pk if token is not None else None)


def profile_assignable(*, user, token=None) -> QuerySet[EnrollmentProfile]:
    """Profiles the user may assign (a change role on their token) and Apple knows (pushed)."""
    profiles = scoped(EnrollmentProfile.objects.all(), user, CHANGE).exclude(profile_uuid="")
    if token is not None:
        profiles = profiles.filter(token=token)
    return profiles.select_related("token").order_by("token__name", "name")


def profile_get(*, user, pk: int, action: str = VIEW) -> EnrollmentProfile:
    """One profile: 404 outside the user's scope, 403 when they may see but not `action` it."""
    return get_scoped(
        EnrollmentProfile.objects.select_related("token", "vpp_token").annotate(devices_assigned=_devices_assigned()),
        user,
        action,
        pk=pk,
    )


def token_devices(*, token, search: str = "") -> QuerySet[Device]:
    """The token's devices for the assignment page (caller checked the token's scope)."""
    queryset = Device.objects.filter(token=token, deleted_here_at__isnull=True).select_related("assigned_profile")
    if search:
        queryset = queryset.filter(
            Q(serial_number__icontains=search) | Q(model__icontains=search) | Q(description__icontains=search)
        )
    return queryset.order_by("serial_number")


def job_list(*, user, profile=None) -> QuerySet[AssignmentJob]:
    """Assignment jobs the user may see, newest first."""
    queryset = scoped(AssignmentJob.objects.select_related("token", "profile"), user)
    if profile is not None:
        queryset = queryset.filter(profile=profile)
    return queryset.order_by("-created_at", "-pk")


def job_get(*, user, pk: int) -> AssignmentJob:
    """One assignment job within the user's scope."""
    return get_scoped(AssignmentJob.objects.select_related("token", "profile"), user, VIEW, pk=pk)


def vpp_token_list(*, user) -> QuerySet[VppToken]:
    """VPP tokens within the user's scope tags."""
    return scoped(VppToken.objects.prefetch_related("scope_tags"), user)


def vpp_token_get(*, user, pk: int, action: str = VIEW) -> VppToken:
    """One VPP token within the user's scope."""
    return get_scoped(VppToken.objects.prefetch_related("scope_tags"), user, action, pk=pk)


def certificate_list(*, user) -> QuerySet[ConfiguratorCertificate]:
    """Apple Configurator certificates within the user's scope tags."""
    return scoped(ConfiguratorCertificate.objects.prefetch_related("scope_tags"), user)


def certificate_get(*, user, pk: int, action: str = VIEW) -> ConfiguratorCertificate:
    """One Configurator certificate within the user's scope."""
    return get_scoped(ConfiguratorCertificate.objects.prefetch_related("scope_tags"), user, action, pk=pk)
