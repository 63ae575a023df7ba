import pytest

pytestmark = pytest.mark.django_db


def test_pages_render(client, admin_user, local_token, seed_devices):
    token = local_token("Acme")
    devices = seed_devices(token, 30)
    client.force_login(admin_user)
    for url in [
        "/",
        "/devices/",
        "/devices/ios/",
        f"/tokens/{token.pk}/devices/",
        f"/devices/{devices[0].pk}/",
        "/devices/import/",
        f"/tokens/{token.pk}/devices/import/",
        "/devices/?ordering=-op_date&size=25",
        f"/devices/{devices[0].pk}/delete/",
        "/devices/export.csv",
    ]:
        response = client.get(url)
        assert response.status_code == 200, (url, response.content[:3000])
