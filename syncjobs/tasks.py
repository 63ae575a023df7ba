"""Thin Celery tasks over the sync services."""

from celery import shared_task
from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings

from depportal.ops.logs import set_log_context
from syncjobs import services
from syncjobs.models import SyncJob


@shared_task(
    acks_late=True,
    reject_on_worker_lost=True,
    soft_time_limit=settings.DEP_SYNC_DEADLINE_S + 30,
    time_limit=settings.DEP_SYNC_DEADLINE_S + 90,
)
def syncjob_run_task(job_id: int) -> dict:
    # Every line of the task carries its job and token; Celery's task_postrun undoes it (depportal/ops/logs.py).
    set_log_context(
        job_id=job_id, token_id=SyncJob.objects.filter(pk=job_id).values_list("token_id", flat=True).first()
    )
    try:
        return services.syncjob_run(job_id=job_id)
    except SoftTimeLimitExceeded:
        services.syncjob_reap()
        return {"job": job_id, "status": "timed_out"}


@shared_task(expires=55)
def syncjob_reap_task() -> dict:
    return services.syncjob_reap()


@shared_task(expires=240)
def syncjob_schedule_due_task() -> dict:
    return services.syncjob_schedule_due()


@shared_task(acks_late=True)
def syncjob_default_profile_task(job_id: int) -> int:
    return services.syncjob_assign_default_profiles(job_id=job_id)
