from django.contrib.auth import get_user_model
from django.db.models import QuerySet

from depportal.accounts.models import ApiToken, RoleAssignment, ScopeTag
from depportal.accounts.scoping import scoped


def scope_tag_list(*, user) -> QuerySet[ScopeTag]:
    """Scope tags the user may see: all for administrators, their own for everyone else."""
    return scoped(ScopeTag.objects.all(), user)


def user_list() -> QuerySet:
    return get_user_model().objects.order_by("username").prefetch_related("role_assignments__scope_tags")


def role_assignment_list() -> QuerySet[RoleAssignment]:
    return RoleAssignment.objects.select_related("user").prefetch_related("scope_tags")


def api_token_list(*, user) -> QuerySet[ApiToken]:
    """The user's own API tokens, newest first."""
    return ApiToken.objects.filter(user=user)
