"""Beat's daily delta syncs: N tokens spread evenly over 24 hours, each synced once a day, also when beat
restarts (runs again at once) or was down for hours. Slots live in the database (next_auto_sync_at).

The scheduler runs as beat runs it, every 5 simulated minutes; the jobs it queues are marked finished by the
test between runs (the workers' part, which test_stack and test_scale_out run for real).
"""

from collections import Counter
from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from syncjobs.models import ACTIVE_STATES, SyncJob, SyncState, SyncTrigger
from syncjobs.services import syncjob_schedule_due
from tokens.models import EnrollmentProgramToken

TOKENS = 240
TICK = timedelta(minutes=5)
DAY = timedelta(seconds=86400)


def _finish_queued(now) -> None:
    SyncJob.objects.filter(state__in=ACTIVE_STATES).update(state=SyncState.SUCCEEDED, started_at=now, finished_at=now)


def test_slots_spread_evenly_and_each_token_syncs_once_a_day(fleet):
    fleet(TOKENS)
    assert settings.DEP_DELTA_SYNC_INTERVAL_S == 86400
    start = timezone.now().replace(microsecond=0)
    assert syncjob_schedule_due(now=start) == {"queued": 0, "refused": 0}  # first sight: slots only
    slots = dict(EnrollmentProgramToken.objects.values_list("pk", "next_auto_sync_at"))
    assert all(start < slot <= start + DAY for slot in slots.values())

    # Even: the largest gap between neighbouring slots stays within a small multiple of the mean gap.
    ordered = sorted(slots.values())
    gaps = [later - earlier for earlier, later in zip(ordered, ordered[1:], strict=False)]
    gaps.append(ordered[0] + DAY - ordered[-1])
    assert max(gaps) <= 3 * DAY / TOKENS, max(gaps)

    queued_at: Counter = Counter()
    down_from, down_until = start + timedelta(hours=10), start + timedelta(hours=13)
    now = start
    while now < start + DAY:
        now += TICK
        if down_from < now <= down_until:
            continue  # beat is down for three hours
        for _ in range(2):  # a restarted beat runs the scheduler again straight away
            queued_at[now] += syncjob_schedule_due(now=now)["queued"]
            _finish_queued(now)

    jobs = Counter(SyncJob.objects.filter(trigger=SyncTrigger.SCHEDULE).values_list("token_id", flat=True))
    assert jobs == {pk: 1 for pk in slots}, "every token exactly one scheduled sync in the day"

    # Spread over the day: every hour outside the outage gets about TOKENS / 24 syncs.
    per_hour = Counter()
    for moment, count in queued_at.items():
        per_hour[int((moment - start - timedelta(seconds=1)) / timedelta(hours=1))] += count
    mean = TOKENS / 24
    assert all(0.5 * mean <= per_hour[hour] <= 1.5 * mean for hour in range(24) if not 10 <= hour <= 13), per_hour
    # The missed slots catch up once, at the first run after the outage, not once per missed run.
    first_back = down_until + TICK
    missed = sum(1 for slot in slots.values() if down_from < slot <= first_back)
    assert queued_at[first_back] == missed > 0

    # Each token keeps its place in the day: its next slot is exactly one interval after the first.
    next_slots = dict(EnrollmentProgramToken.objects.values_list("pk", "next_auto_sync_at"))
    assert next_slots == {pk: slot + DAY for pk, slot in slots.items()}
