"""The one scoping mechanism: every read and change of a scoped object goes through these helpers.

A scoped model declares `scope_q(tag_ids) -> Q` (which rows carry one of those tags). Administrators
(and superusers) see everything; other users see rows tagged with a tag of a role that grants the action.
"""

from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Model, QuerySet
from django.http import Http404

from depportal.accounts.models import RoleAssignment, ScopeTag
from depportal.accounts.roles import ADMINISTER, CHANGE, ROLE_ACTIONS, VIEW
from depportal.accounts.services import default_scope_tag
from depportal.core.exceptions import ApplicationError
from depportal.core.permissions import ACTIONS, PREFIX

_CACHE_ATTR = "_depportal_scope_cache"

# The same words whether a tag exists elsewhere or not at all: an error must not tell which ids exist.
SCOPE_TAGS_REFUSED = "Choose scope tags from your own roles."


def _grants(user) -> dict[str, set[int]]:
    """Return {action: scope tag ids} for the user, cached on the user object for the request."""
    cached = getattr(user, _CACHE_ATTR, None)
    if cached is not None:
        return cached
    grants: dict[str, set[int]] = {}
    assignments = RoleAssignment.objects.filter(user=user).prefetch_related("scope_tags")
    for assignment in assignments:
        tag_ids = {tag.pk for tag in assignment.scope_tags.all()}
        for action in ROLE_ACTIONS[assignment.role]:
            grants.setdefault(action, set()).update(tag_ids)
    setattr(user, _CACHE_ATTR, grants)
    return grants


def is_administrator(user) -> bool:
    """True for superusers and holders of the Administrator role."""
    if not user.is_authenticated or not user.is_active:
        return False
    return user.is_superuser or ADMINISTER in _grants(user)


def can(user, action: str) -> bool:
    """True when some role of the user grants the action (on at least one scope tag)."""
    if not user.is_authenticated or not user.is_active:
        return False
    return is_administrator(user) or action in _grants(user)


class RoleBackend:
    """Answers the "roles.<action>" permissions (depportal/core/permissions.py) from the user's roles.

    It authenticates nobody: SignInBackend checks passwords.
    """

    def authenticate(self, request, **credentials):
        return None

    def has_perm(self, user_obj, perm: str, obj=None) -> bool:
        action = perm.removeprefix(PREFIX)
        if action == perm or action not in ACTIONS:
            return False
        return is_administrator(user_obj) if action == ADMINISTER else can(user_obj, action)


def scope_tag_ids(user, action: str = VIEW) -> set[int] | None:
    """The scope tags the user may act on; None means every tag (administrators)."""
    if is_administrator(user):
        return None
    return set(_grants(user).get(action, set()))


def scope_of(user, action: str = VIEW) -> frozenset[int] | None:
    """All that a scoped read depends on of the user: None for every row (administrators), else the scope tag
    ids (none for a signed-out or disabled user). Equal scopes read the same rows."""
    if not user.is_authenticated or not user.is_active:
        return frozenset()
    tag_ids = scope_tag_ids(user, action)
    return None if tag_ids is None else frozenset(tag_ids)


def scoped_to(queryset: QuerySet, scope: frozenset[int] | None) -> QuerySet:
    """Restrict a queryset of a scoped model to the rows of a scope (from scope_of)."""
    if scope is None:
        return queryset
    if not scope:
        return queryset.none()
    return queryset.filter(queryset.model.scope_q(scope))


def scoped(queryset: QuerySet, user, action: str = VIEW) -> QuerySet:
    """Restrict a queryset of a scoped model to the rows the user may read (or change)."""
    return scoped_to(queryset, scope_of(user, action))


def get_scoped(queryset: QuerySet, user, action: str = VIEW, **lookup) -> Model:
    """Fetch one object: 404 when the user cannot see it, 403 when they can see but not do `action`."""
    try:
        obj = scoped(queryset, user, VIEW).get(**lookup)
    except (queryset.model.DoesNotExist, ValueError, TypeError, ValidationError):
        # An id that is not a number cannot name a row: the same 404 as one that names nobody's.
        raise Http404(f"No {queryset.model._meta.verbose_name} matches the given query.") from None
    if action != VIEW and not scoped(queryset.filter(pk=obj.pk), user, action).exists():
        raise PermissionDenied(f"You may not {action} this {queryset.model._meta.verbose_name}.")
    return obj


def can_see(user, obj: Model) -> bool:
    """True when the user may read this object; errors name another object only for those who can."""
    if user is None:
        return True
    return scoped(type(obj).objects.filter(pk=obj.pk), user, VIEW).exists()


def scope_tags_for(actor, chosen: list[ScopeTag], *, keeping: Model | None = None) -> list[ScopeTag]:
    """The tags a save puts on a scoped object (token, VPP token, certificate): one rule for them all.

    The actor may only choose tags they can change. On an edit (`keeping` is the stored object) the tags
    outside their reach stay, since they are other administrators' view of it. Nothing chosen means the
    Default tag for administrators and the actor's own tags for others; an edit must keep one of them.
    """
    allowed = scope_tag_ids(actor, CHANGE) if actor is not None else None
    chosen = list(dict.fromkeys(chosen))
    if allowed is not None:
        if any(tag.pk not in allowed for tag in chosen):
            raise ApplicationError(SCOPE_TAGS_REFUSED, fields={"scope_tags": [SCOPE_TAGS_REFUSED]})
        if keeping is not None and chosen:
            chosen += [tag for tag in keeping.scope_tags.all() if tag.pk not in allowed]
    if chosen:
        return chosen
    if allowed is None:
        return [default_scope_tag()]
    if keeping is not None:
        message = "Keep at least one scope tag, or it disappears from your view."
        raise ApplicationError(message, fields={"scope_tags": [message]})
    return list(ScopeTag.objects.filter(pk__in=allowed))
