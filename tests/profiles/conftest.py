import pytest

from devices.models import Device


@pytest.fixture
def token(onboard, admin_user):
    return onboard(admin_user, server_name="Acme MDM")


@pytest.fixture
def make_devices(apple):
    """make_devices(token, serials=[...]) or (token, count=n): devices at Apple and in the portal's list."""

    def make(token, *, serials=None, count=0, family="iPhone"):
        records = apple.add_devices(token.server_uuid, serials=serials, count=count, device_family=family)
        Device.objects.bulk_create(
            [
                Device(token=token, serial_number=r["serial_number"], model=r.get("model", ""), device_family=family)
                for r in records
            ]
        )
        return [r["serial_number"] for r in records]

    return make
