from datetime import UTC, datetime, timedelta

import pytest
from django.core.cache import cache

from devices.models import Device
from tests.factories import token_row


@pytest.fixture(autouse=True)
def _fresh_dashboard_cache():
    # The dashboard caches its figures for a minute; each test starts from its own data.
    cache.clear()


@pytest.fixture
def local_token(db):
    """local_token(name, tags) -> an active token row (for list and filter tests that never call Apple)."""

    def make(name: str, tags=()):
        token = token_row(name)
        token.save()
        token.scope_tags.set(tags)
        return token

    return make


FAMILIES = [("iPhone", "iOS"), ("iPad", "iPadOS"), ("Mac", "OSX"), ("AppleTV", "tvOS")]
STATUSES = ["empty", "assigned", "pushed", "removed"]
BASE_TIME = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
def seed_devices(db):
    """seed_devices(token, count, prefix) -> devices with varied, deterministic fields (serials PREFIX0000...)."""

    def make(token, count: int, prefix: str = "C0", **fields):
        devices = []
        for i in range(count):
            family, os_name = FAMILIES[i % len(FAMILIES)]
            values = {
                "token": token,
                "serial_number": f"{prefix}{i:06d}XY"[:12],
                "model": f"Model {i % 5}",
                "description": f"{family.upper()} {i % 3} GREEN-USA",
                "color": "GREEN" if i % 2 else "SILVER",
                "os": os_name,
                "device_family": family,
                "asset_tag": f"AT-{prefix}-{i}",
                "profile_status": STATUSES[i % len(STATUSES)],
                "device_assigned_by": "admin@example.com" if i % 2 else "other@example.com",
                "device_assigned_date": BASE_TIME + timedelta(days=i % 10),
                "op_type": "added" if i % 3 else "modified",
                "op_date": None if i % 7 == 0 else BASE_TIME + timedelta(hours=i),
                "profile_assign_time": None if i % 2 else BASE_TIME + timedelta(minutes=i % 11),
            }
            values.update(fields)
            devices.append(Device(**values))
        return Device.objects.bulk_create(devices)

    return make
