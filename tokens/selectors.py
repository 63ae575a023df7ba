from django.db.models import Q, QuerySet

from depportal.accounts.roles import VIEW
from depportal.accounts.scoping import get_scoped, scope_of, scoped_to
from tokens.models import EnrollmentProgramToken, TokenState

TOKEN_ORDERINGS = {
    "name": "name",
    "-name": "-name",
    "expiry": "access_token_expiry",
    "-expiry": "-access_token_expiry",
    "org": "org_name",
    "-org": "-org_name",
    "created": "created_at",
    "-created": "-created_at",
    "synced": "last_successful_sync_at",
    "-synced": "-last_successful_sync_at",
    "devices": "device_count",
    "-devices": "-device_count",
}


def tokens_in(scope: frozenset[int] | None, *, include_pending: bool = False) -> QuerySet[EnrollmentProgramToken]:
    """The tokens of a scope (from scope_of), leaving out those still being set up unless asked: token_list, the
    device filter and the alerts all start from it."""
    queryset = scoped_to(EnrollmentProgramToken.objects.all(), scope)
    return queryset if include_pending else queryset.exclude(state=TokenState.PENDING)


def token_list(
    *, user, search: str = "", state: str = "", ordering: str = "name", include_pending: bool = False
) -> QuerySet[EnrollmentProgramToken]:
    """Tokens the user may see, searched by name, Apple ID, server or organisation."""
    queryset = tokens_in(scope_of(user), include_pending=include_pending).prefetch_related("scope_tags")
    if search:
        queryset = queryset.filter(
            Q(name__icontains=search)
            | Q(apple_id__icontains=search)
            | Q(server_name__icontains=search)
            | Q(org_name__icontains=search)
        )
    if state:
        queryset = queryset.filter(state=state)
    return queryset.order_by(TOKEN_ORDERINGS.get(ordering, "name"), "pk")


def token_get(*, user, pk: int, action: str = VIEW) -> EnrollmentProgramToken:
    """One token: 404 outside the user's scope, 403 when they may see but not `action` it."""
    return get_scoped(EnrollmentProgramToken.objects.prefetch_related("scope_tags"), user, action, pk=pk)


def token_named(reference: str) -> EnrollmentProgramToken | None:
    """The token a management command names, by id (all digits) or by name; commands run unscoped."""
    lookup = {"pk": int(reference)} if reference.isdigit() else {"name": reference}
    return EnrollmentProgramToken.objects.filter(**lookup).first()
