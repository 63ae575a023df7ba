"""Thin Celery tasks over the Apple Business services."""

from celery import shared_task

from business import services
from business.models import BusinessConnection


@shared_task(acks_late=True, reject_on_worker_lost=True, soft_time_limit=16 * 60, time_limit=17 * 60)
def activity_run_task(activity_id: int) -> dict:
    return services.activity_run(activity_id=activity_id)


@shared_task(acks_late=True, soft_time_limit=30 * 60)
def inventory_refresh_task(connection_id: int) -> dict:
    connection = BusinessConnection.objects.filter(pk=connection_id).first()
    return services.inventory_refresh(connection=connection) if connection else {"connection": None}


@shared_task(acks_late=True, soft_time_limit=30 * 60)
def inventory_refresh_scheduled_task() -> dict:
    """The beat's refresh of the organisation's inventory (none while another refresh holds the lease)."""
    connection = services.connection_get()
    return services.inventory_refresh(connection=connection) if connection else {"connection": None}


@shared_task
def webhook_sync_due_task(token_id: int) -> dict:
    return services.webhook_sync_due(token_id=token_id)
