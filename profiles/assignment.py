"""Assigning profiles to devices at Apple: jobs of at most 1000 serials per call, per-device results, retries.

THROTTLED devices wait for Apple's retry_after_seconds, FAILED ones for a growing cool-down (Apple's peers saw
immediate retries of FAILED keep failing); both give up after MAX_ATTEMPTS. The beat task only picks devices
whose cool-down has passed, so nothing is retried in a tight loop.
"""

import logging
import time
from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from depportal.apple import AppleError, Throttled
from depportal.apple.client import MAX_SERIALS_PER_CALL
from depportal.audit.services import audit_record
from depportal.core.exceptions import ApplicationError, Conflict
from devices.csv_import import MATCHED
from devices.filters import FAMILIES, platform_for_family
from devices.models import Device, DeviceImport, ProfileStatus
from profiles.models import AssignmentJob, EnrollmentProfile, JobAction, JobState, Platform
from tokens.models import EnrollmentProgramToken
from tokens.services import token_client

logger = logging.getLogger(__name__)

SUCCESS, NOT_ACCESSIBLE, FAILED, THROTTLED = "SUCCESS", "NOT_ACCESSIBLE", "FAILED", "THROTTLED"
MAX_ATTEMPTS = 5
MIN_THROTTLE_WAIT_S = 60
FAILED_COOLDOWN_S = 3600
MAX_COOLDOWN_S = 24 * 3600
# A job this size runs while the admin waits; larger ones go to a Celery worker.
INLINE_LIMIT = MAX_SERIALS_PER_CALL
# Time a job may spend per Apple call (the client retries within it).
CALL_DEADLINE_S = 120
# One bulk action of the device list: the selection is read in one query and sent in batches of 1,000.
MAX_BULK_ASSIGN = 100_000


def normalise_serials(serials) -> list[str]:
    """Upper-case, trimmed, de-duplicated serial numbers in their first order; blanks dropped."""
    return list(dict.fromkeys(s.strip().upper() for s in serials if s and s.strip()))


def split_known(token: EnrollmentProgramToken, serials: list[str]) -> tuple[list[str], list[str]]:
    """(serials of the token's devices, serials the token does not know), each in request order."""
    known = set(
        Device.objects.filter(token=token, serial_number__in=serials, deleted_here_at__isnull=True).values_list(
            "serial_number", flat=True
        )
    )
    return [s for s in serials if s in known], [s for s in serials if s not in known]


def profile_devices_using(profile: EnrollmentProfile, uuid: str | None = None) -> QuerySet[Device]:
    """Devices of the profile's token that have it: assigned here, or Apple reports its (old) UUID."""
    uuid = profile.profile_uuid if uuid is None else uuid
    match = Q(assigned_profile=profile)
    if uuid:
        match |= Q(profile_uuid=uuid)
    return Device.objects.filter(token=profile.token, deleted_here_at__isnull=True).filter(match)


def assignment_preview(
    *, token: EnrollmentProgramToken, profile: EnrollmentProfile | None, action: str, serials: list[str]
) -> tuple[list[str], dict[str, str], list[str]]:
    """(serials to send to Apple, {serial: why it is refused}, serials the token does not know), in request order.

    A profile never goes to a device of another platform, and unassigning a profile only touches the devices
    that have it (Apple then removes that profile only: the call names it).
    """
    known, unknown = split_known(token, serials)
    if profile is None:
        return known, {}, unknown
    devices = Device.objects.filter(token=token, serial_number__in=known, deleted_here_at__isnull=True)
    refused: dict[str, str] = {}
    if action == JobAction.UNASSIGN:
        having = set(
            profile_devices_using(profile).filter(serial_number__in=known).values_list("serial_number", flat=True)
        )
        for serial, other in devices.exclude(serial_number__in=having).values_list(
            "serial_number", "assigned_profile__name"
        ):
            has = f"it has {other}" if other else "it has no profile from this portal"
            refused[serial] = f"Does not have {profile} ({has}): nothing to remove."
    else:
        wanted = Platform(profile.platform).label
        for serial, family in devices.values_list("serial_number", "device_family"):
            platform = platform_for_family(family)
            # Apple reports the family from protocol 2 on; a device without one is not refused on a guess.
            if family and platform != profile.platform:
                fit = f"a {Platform(platform).label} profile" if platform else "a profile of its platform"
                refused[serial] = (
                    f"{_family_label(family)} device: {profile} is for {wanted} devices; assign it {fit}."
                )
    return [serial for serial in known if serial not in refused], refused, unknown


def _family_label(family: str) -> str:
    return dict(FAMILIES).get(family, family)


def profile_assign_devices(*, actor, profile: EnrollmentProfile, serials: list[str]) -> AssignmentJob:
    """Assign the profile to devices of its token at Apple; unknown serials are reported on the job."""
    return start_assignment(
        actor=actor, token=profile.token, profile=profile, action=JobAction.ASSIGN, serials=serials
    )


def profile_unassign_devices(*, actor, profile: EnrollmentProfile, serials: list[str]) -> AssignmentJob:
    """Remove the profile from devices of its token at Apple (only devices that have not fetched it yet change)."""
    return start_assignment(
        actor=actor, token=profile.token, profile=profile, action=JobAction.UNASSIGN, serials=serials
    )


def start_assignment(
    *,
    actor,
    token: EnrollmentProgramToken,
    profile: EnrollmentProfile | None,
    action: str,
    serials: list[str],
    inline: bool | None = None,
    retry: bool = False,
) -> AssignmentJob:
    """Record a job for the serials and run it now (small or `inline`) or in a Celery task (large)."""
    serials = normalise_serials(serials)
    if not serials:
        raise ApplicationError(
            "Enter at least one serial number.", fields={"serial_numbers": ["Enter at least one serial number."]}
        )
    if action != JobAction.UNASSIGN and (profile is None or not profile.profile_uuid):
        raise ApplicationError(
            f"The profile {profile} is not at Apple yet (its push failed); push it again before assigning it."
        )
    known, refused, unknown = assignment_preview(token=token, profile=profile, action=action, serials=serials)
    with transaction.atomic():
        job = AssignmentJob.objects.create(
            token=token,
            profile=profile,
            profile_name=profile.name if profile else "",
            action=action,
            serials=known,
            unknown_serials=unknown,
            refused=refused,
            total=len(known),
            created_by=actor if actor is not None and actor.is_authenticated else None,
        )
        if not retry:
            # A new request from an admin starts the attempt count again.
            Device.objects.filter(token=token, serial_number__in=known).update(assignment_attempts=0)
        if actor is not None:
            audit_record(
                actor=actor,
                action=f"{action}_devices",
                obj=profile if profile is not None else token,
                changes={
                    "devices": len(known),
                    "unknown_serials": unknown[:50],
                    "refused": dict(list(refused.items())[:50]),
                },
                scope_tags=list(token.scope_tags.all()),
            )
    if not known:
        AssignmentJob.objects.filter(pk=job.pk).update(state=JobState.SUCCEEDED, finished_at=timezone.now())
        job.refresh_from_db()
        return job
    if inline or (inline is None and len(known) <= INLINE_LIMIT):
        return assignment_run(job.pk)
    from profiles.tasks import run_assignment_job

    transaction.on_commit(lambda: run_assignment_job.delay(job.pk))
    return job


def assignment_run(job_id: int) -> AssignmentJob:
    """Run a queued job: one Apple call per 1000 serials, results recorded per device as they come."""
    claimed = AssignmentJob.objects.filter(pk=job_id, state=JobState.QUEUED).update(
        state=JobState.RUNNING, started_at=timezone.now()
    )
    job = AssignmentJob.objects.select_related("token", "profile").get(pk=job_id)
    if not claimed:
        return job  # another worker has it, or it already ran (a redelivered task)
    serials = list(job.serials)
    try:
        client = token_client(job.token)
    except ApplicationError as error:
        return _finish(job, serials, error=error.message)
    with client:
        for start in range(0, len(serials), MAX_SERIALS_PER_CALL):
            chunk = serials[start : start + MAX_SERIALS_PER_CALL]
            client.deadline = time.monotonic() + CALL_DEADLINE_S
            try:
                results, retry_after = _call_apple(client, job, chunk)
            except AppleError as error:
                logger.warning("Profile %s of job %s failed at Apple: %s", job.action, job.pk, error)
                rest = serials[start:]
                retry_after = error.retry_after if isinstance(error, Throttled) else None
                status = THROTTLED if isinstance(error, Throttled) else FAILED
                _record(job, {serial: status for serial in rest}, retry_after)
                return _finish(job, [], error=str(error))
            _record(job, results, retry_after)
    return _finish(job, [])


def assignment_retry_due(*, now: datetime | None = None) -> list[AssignmentJob]:
    """Retry the THROTTLED and FAILED devices whose cool-down has passed (the beat task calls this)."""
    now = now or timezone.now()
    jobs = []
    due = Device.objects.filter(assignment_retry_at__lte=now, deleted_here_at__isnull=True)
    groups = due.values_list("token_id", "assignment_action", "assigned_profile_id").distinct()
    for token_id, action, profile_id in list(groups):
        with transaction.atomic():
            devices = list(
                due.select_for_update(skip_locked=True)
                .filter(token_id=token_id, assignment_action=action, assigned_profile_id=profile_id)
                .values_list("pk", "serial_number")
            )
            # Claimed by clearing the retry time, so an overlapping beat run does not send them twice.
            Device.objects.filter(pk__in=[pk for pk, _ in devices]).update(assignment_retry_at=None)
        if not devices:
            continue
        profile = EnrollmentProfile.objects.filter(pk=profile_id).first()
        if action != JobAction.UNASSIGN and profile is None:
            continue
        token = EnrollmentProgramToken.objects.get(pk=token_id)
        try:
            jobs.append(
                start_assignment(
                    actor=None,
                    token=token,
                    profile=profile,
                    action=action or JobAction.ASSIGN,
                    serials=[serial for _, serial in devices],
                    inline=True,
                    retry=True,
                )
            )
        except ApplicationError as error:
            logger.warning("Retrying assignments of token %s failed: %s", token_id, error.message)
    return jobs


# Helpers


def _call_apple(client, job: AssignmentJob, chunk: list[str]) -> tuple[dict[str, str], int | None]:
    if job.action == JobAction.UNASSIGN:
        # Each call names the profile the devices have at Apple, so Apple removes that one and no other.
        fallback = job.profile.profile_uuid if job.profile else ""
        have = dict(
            Device.objects.filter(token=job.token, serial_number__in=chunk).values_list(
                "serial_number", "profile_uuid"
            )
        )
        by_uuid: dict[str, list[str]] = {}
        for serial in chunk:
            by_uuid.setdefault(have.get(serial) or fallback, []).append(serial)
        results: dict[str, str] = {}
        for uuid, serials in by_uuid.items():
            results.update(client.remove_profile(serials, uuid or None))
        return results, None
    result = client.assign_profile(job.profile.profile_uuid, chunk)
    return result.devices, result.retry_after_seconds


def _cooldown(status: str, attempts: int, retry_after: float | None) -> timedelta:
    if status == THROTTLED:
        return timedelta(seconds=max(MIN_THROTTLE_WAIT_S, int(retry_after or 0)))
    return timedelta(seconds=min(MAX_COOLDOWN_S, FAILED_COOLDOWN_S * 2 ** max(0, attempts - 1)))


def _record(job: AssignmentJob, results: dict[str, str], retry_after: float | None) -> None:
    """Store Apple's answer on each device and on the job."""
    now = timezone.now()
    unassign = job.action == JobAction.UNASSIGN
    devices = list(
        Device.objects.filter(token=job.token, serial_number__in=list(results)).select_related("assigned_profile")
    )
    names_by_uuid = dict(
        EnrollmentProfile.objects.filter(
            token=job.token, profile_uuid__in=[d.profile_uuid for d in devices if d.profile_uuid]
        ).values_list("profile_uuid", "name")
    )
    for device in devices:
        status = results.get(device.serial_number, FAILED)
        device.assignment_action = JobAction.UNASSIGN if unassign else JobAction.ASSIGN
        device.assignment_result = status
        device.assignment_result_at = now
        device.assignment_retry_at = None
        if status == SUCCESS:
            device.assignment_attempts = 0
            if unassign:
                job.removed[device.serial_number] = _removed_name(device, names_by_uuid)
                device.assigned_profile = None
                device.profile_uuid = ""
                device.profile_status = ProfileStatus.REMOVED
            else:
                device.assigned_profile = job.profile
                device.profile_uuid = job.profile.profile_uuid
                device.profile_status = ProfileStatus.ASSIGNED
                device.profile_assign_time = now
        elif status in (THROTTLED, FAILED):
            device.assignment_attempts += 1
            if not unassign:
                device.assigned_profile = job.profile
            if device.assignment_attempts < MAX_ATTEMPTS:
                device.assignment_retry_at = now + _cooldown(status, device.assignment_attempts, retry_after)
    Device.objects.bulk_update(
        devices,
        [
            "assignment_action",
            "assignment_result",
            "assignment_result_at",
            "assignment_retry_at",
            "assignment_attempts",
            "assigned_profile",
            "profile_uuid",
            "profile_status",
            "profile_assign_time",
        ],
        batch_size=500,
    )
    job.results = {**job.results, **results}
    job.processed = min(job.total, job.processed + len(results))
    if retry_after is not None:
        job.retry_after_seconds = max(int(retry_after), job.retry_after_seconds or 0)
    AssignmentJob.objects.filter(pk=job.pk).update(
        results=job.results,
        removed=job.removed,
        processed=job.processed,
        retry_after_seconds=job.retry_after_seconds,
    )


def _removed_name(device: Device, names_by_uuid: dict[str, str]) -> str:
    """What the device had: the portal's profile, else the portal profile of Apple's UUID, else the UUID."""
    if device.assigned_profile is not None:
        return device.assigned_profile.name
    if device.profile_uuid:
        return names_by_uuid.get(device.profile_uuid, f"Apple profile {device.profile_uuid}")
    return "no profile"


def _finish(job: AssignmentJob, unsent: list[str], *, error: str = "") -> AssignmentJob:
    if unsent:
        _record(job, {serial: FAILED for serial in unsent}, None)
    AssignmentJob.objects.filter(pk=job.pk).update(
        state=JobState.FAILED if error else JobState.SUCCEEDED,
        error=error,
        finished_at=timezone.now(),
        processed=job.total,
    )
    job.refresh_from_db()
    return job


def profile_assign_selected(*, actor, profile, devices: QuerySet[Device]):
    """Assign a profile to the selected devices of its token (the device list's bulk bar)."""
    serials = list(
        devices.filter(token_id=profile.token_id, deleted_here_at__isnull=True)
        .order_by()
        .values_list("serial_number", flat=True)[: MAX_BULK_ASSIGN + 1]
    )
    if len(serials) > MAX_BULK_ASSIGN:
        raise ApplicationError(f"Assign at most {MAX_BULK_ASSIGN:,} devices at a time; narrow the filter.")
    if not serials:
        raise ApplicationError(f"None of the selected devices belongs to {profile.token}, the profile's token.")
    return profile_assign_devices(actor=actor, profile=profile, serials=serials)


def profile_unassign_selected(*, actor, devices: QuerySet[Device]) -> list:
    """Remove the profile at Apple from the selected devices: one assignment job per token."""
    by_token: dict[int, list[str]] = {}
    rows = devices.filter(deleted_here_at__isnull=True).order_by().values_list("token_id", "serial_number")
    for token_id, serial in rows[: MAX_BULK_ASSIGN + 1]:
        by_token.setdefault(token_id, []).append(serial)
    if sum(len(s) for s in by_token.values()) > MAX_BULK_ASSIGN:
        raise ApplicationError(f"Unassign at most {MAX_BULK_ASSIGN:,} devices at a time; narrow the filter.")
    jobs = []
    for token in EnrollmentProgramToken.objects.filter(pk__in=list(by_token)).order_by("name"):
        jobs.append(
            start_assignment(
                actor=actor, token=token, profile=None, action=JobAction.UNASSIGN, serials=by_token[token.pk]
            )
        )
    return jobs


def device_import_confirm(*, actor, device_import: DeviceImport):
    """Assign the preview's matched devices to its profile (once); returns the assignment job."""
    if device_import.profile is None:
        raise ApplicationError("This import only looked devices up; there is nothing to apply.")
    with transaction.atomic():
        claimed = DeviceImport.objects.filter(pk=device_import.pk, confirmed_at__isnull=True).update(
            confirmed_at=timezone.now()
        )
    if not claimed:
        raise Conflict("This import was already confirmed.")
    serials = [row[2] for row in device_import.rows if row[3] == MATCHED]
    if not serials:
        raise ApplicationError("No device of this import can be assigned.")
    job = profile_assign_devices(actor=actor, profile=device_import.profile, serials=serials)
    DeviceImport.objects.filter(pk=device_import.pk).update(job=job)
    device_import.refresh_from_db()
    return job
