from django.contrib.auth import get_user_model
from django.db.models import Count, Q, QuerySet
from django.shortcuts import get_object_or_404
from django.utils import timezone

from depportal.accounts.models import ApiToken, RoleAssignment, ScopeTag
from depportal.accounts.scoping import scoped


def scope_tag_list(*, user) -> QuerySet[ScopeTag]:
    """Scope tags the user may see: all for administrators, their own for everyone else."""
    return scoped(ScopeTag.objects.all(), user)


def user_list(*, search: str = "") -> QuerySet:
    """Every console user with their roles and how many API tokens work for them (Administrators' view)."""
    now = timezone.now()
    active_tokens = Count(
        "api_tokens",
        filter=Q(api_tokens__revoked_at=None) & (Q(api_tokens__expires_at=None) | Q(api_tokens__expires_at__gt=now)),
    )
    users = get_user_model().objects.order_by("username").prefetch_related("role_assignments__scope_tags")
    if search:
        users = users.filter(Q(username__icontains=search) | Q(email__icontains=search))
    return users.annotate(active_api_tokens=active_tokens)


def user_get(*, pk: int):
    return get_object_or_404(get_user_model().objects.prefetch_related("role_assignments__scope_tags"), pk=pk)


def role_assignment_list() -> QuerySet[RoleAssignment]:
    return RoleAssignment.objects.select_related("user").prefetch_related("scope_tags")


def api_token_list(*, user) -> QuerySet[ApiToken]:
    """One user's API tokens, newest first."""
    return ApiToken.objects.filter(user=user)
