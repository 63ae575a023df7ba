from django.db.models import QuerySet

from depportal.accounts.roles import VIEW
from depportal.accounts.scoping import get_scoped, scoped
from syncjobs.models import SyncJob


def syncjob_list(*, user, token_id: int | None = None) -> QuerySet[SyncJob]:
    """Sync jobs of the tokens the user may see, newest first."""
    queryset = scoped(SyncJob.objects.select_related("token", "requested_by"), user)
    if token_id is not None:
        queryset = queryset.filter(token_id=token_id)
    return queryset


def syncjob_get(*, user, pk: int, action: str = VIEW) -> SyncJob:
    return get_scoped(SyncJob.objects.select_related("token", "requested_by"), user, action, pk=pk)
