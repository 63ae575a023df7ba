"""What the portal shows, for tests that compare it with what Apple assigns now (never with rows stored)."""

from django.contrib.auth import get_user_model
from rest_framework.test import APIClient

from tokens.models import EnrollmentProgramToken


def shown_serials(token) -> set[str]:
    """The token's devices in the API's default device list, every page, as an Administrator sees them."""
    viewer, _ = get_user_model().objects.get_or_create(
        username="truth-viewer", defaults={"is_superuser": True, "is_staff": True}
    )
    api = APIClient()
    api.force_authenticate(viewer)
    serials: list[str] = []
    url, params = "/api/v1/devices/", {"token": token.pk, "limit": 1000}
    while url:
        body = api.get(url, params).json()
        serials += [row["serial_number"] for row in body["results"]]
        url, params = body["next"], None
    assert len(serials) == len(set(serials)), "a serial listed twice"
    return set(serials)


def assert_shows_what_apple_assigns(apple, token) -> None:
    """The default list and the token's count equal the devices Apple assigns to the token's server now."""
    wanted = {device["serial_number"] for device in apple.devices(token.server_uuid)}
    assert shown_serials(token) == wanted
    assert EnrollmentProgramToken.objects.get(pk=token.pk).device_count == len(wanted)
