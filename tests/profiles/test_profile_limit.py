"""The per-token profile limit: shown before it is reached, and a setting."""

import pytest
from django.urls import reverse

from depportal.core.exceptions import ApplicationError
from profiles import services
from profiles.models import EnrollmentProfile
from tests.factories import profile_rows

pytestmark = pytest.mark.django_db


def test_the_limit_is_a_setting(token, admin_user, admin_api, client, settings):
    settings.DEP_MAX_PROFILES_PER_TOKEN = 2
    profile_rows(token, 2)
    with pytest.raises(ApplicationError, match="already has 2 enrollment profiles"):
        services.profile_create(actor=admin_user, token=token, values={"name": "Third"}, push=False)
    response = admin_api.post("/api/v1/profiles/", {"token": token.pk, "name": "Third"}, format="json")
    assert response.status_code == 400 and "already has 2 enrollment profiles" in response.json()["detail"]
    client.force_login(admin_user)
    html = client.get(reverse("profiles:profile_list", args=[token.pk])).content.decode()
    assert "2 of 2 profiles" in html and "the most a token can have" in html
    settings.DEP_MAX_PROFILES_PER_TOKEN = 1000
    services.profile_create(actor=admin_user, token=token, values={"name": "Third"}, push=False)
    html = client.get(reverse("profiles:profile_list", args=[token.pk])).content.decode()
    assert "3 of 1000 profiles" in html and "the most a token can have" not in html
    assert EnrollmentProfile.objects.filter(token=token).count() == 3


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_at_100_profiles_create_is_disabled_with_the_reason(token, signed_in, live_server, screenshot_dir):
    profile_rows(token, 99)
    page = signed_in("admin", "admin-pass-123")
    page.set_viewport_size({"width": 1440, "height": 900})
    page.goto(f"{live_server.url}{reverse('profiles:profile_list', args=[token.pk])}")
    assert page.inner_text("#profile-count") == "99 of 100 profiles"
    assert page.is_enabled("#create-profile")
    profile_rows(token, 1)
    page.reload()
    assert page.inner_text("#profile-count") == "100 of 100 profiles"
    assert page.is_disabled("#create-profile")
    assert "Delete a profile you no longer use" in page.inner_text("#profile-limit")
    page.fill("#profile-search", "Profile 42")
    page.press("#profile-search", "Enter")
    page.wait_for_url("**q=Profile+42**")
    assert page.locator("#profiles tbody tr").count() == 1
    assert page.inner_text("#profile-count") == "100 of 100 profiles"
    page.screenshot(path=f"{screenshot_dir}/profiles-at-limit.png", full_page=False)
