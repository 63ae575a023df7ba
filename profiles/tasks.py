"""Celery tasks of the profiles app: thin wrappers around services."""

from celery import shared_task

from profiles import assignment, vpp


@shared_task(name="profiles.run_assignment_job")
def run_assignment_job(job_id: int) -> None:
    """Run a large assignment job (more than one Apple call) in a worker."""
    assignment.assignment_run(job_id)


@shared_task(name="profiles.retry_due_assignments")
def retry_due_assignments() -> int:
    """Beat: retry THROTTLED/FAILED devices whose cool-down has passed."""
    return len(assignment.assignment_retry_due())


@shared_task(name="profiles.refresh_vpp_licences")
def refresh_vpp_licences() -> int:
    """Beat: read every VPP token's Company Portal licence counts from Apple."""
    return vpp.vpp_token_refresh_all()
