"""Sign-in throttling (console, Django admin, API token header) and the password policy."""

import time

import pytest
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import clear_url_caches

from depportal.accounts.services import api_token_create, user_create

pytestmark = pytest.mark.django_db


def _sign_in(client, username, password, path="/login/"):
    return client.post(path, {"username": username, "password": password})


def test_wrong_passwords_lock_the_account_and_the_lock_ends_by_itself(client, admin_user, settings):
    settings.SIGNIN_LOCKOUT_SECONDS = 2
    for _ in range(settings.SIGNIN_FAILURES_PER_ACCOUNT):
        assert "correct username and password" in _sign_in(client, "admin", "wrong-password").content.decode()
    locked = _sign_in(client, "admin", "admin-pass-123")
    assert locked.status_code == 200 and "Too many failed sign-ins. Try again in 1 minute." in locked.content.decode()
    assert "_auth_user_id" not in client.session  # the right password does not work while locked
    time.sleep(2.1)
    assert _sign_in(client, "admin", "admin-pass-123").status_code == 302


def test_one_address_guessing_many_accounts_is_locked_out(django_user_model, settings):
    settings.SIGNIN_FAILURES_PER_ADDRESS = 6
    django_user_model.objects.create_user(username="victim", password="victim-pass-123")
    for index in range(settings.SIGNIN_FAILURES_PER_ADDRESS):
        _sign_in(Client(), f"guess{index}", "whatever-123")
    from_there = _sign_in(Client(), "victim", "victim-pass-123")
    assert "Too many failed sign-ins" in from_there.content.decode()
    elsewhere = Client(REMOTE_ADDR="10.9.8.7")
    assert _sign_in(elsewhere, "victim", "victim-pass-123").status_code == 302  # only that address waits


def test_api_token_guessing_is_locked_out_per_address(admin_user, settings):
    settings.SIGNIN_FAILURES_PER_ADDRESS = 4
    _, key = api_token_create(actor=None, user=admin_user, name="real")
    for _ in range(settings.SIGNIN_FAILURES_PER_ADDRESS):
        response = Client(headers={"Authorization": "Token not-a-real-key"}).get("/api/v1/tokens/")
        assert response.status_code == 401
    locked = Client(headers={"Authorization": f"Token {key}"}).get("/api/v1/tokens/")
    assert locked.status_code == 429 and "Too many failed sign-ins" in locked.json()["detail"]
    assert int(locked["Retry-After"]) > 0


def test_django_admin_is_off_unless_enabled_and_then_throttled_the_same(client, admin_user, settings):
    assert client.get("/admin/").status_code == 404
    settings.DJANGO_ADMIN_ENABLED = True
    import importlib

    import depportal.urls

    importlib.reload(depportal.urls)
    clear_url_caches()
    try:
        for _ in range(settings.SIGNIN_FAILURES_PER_ACCOUNT):
            _sign_in(client, "admin", "wrong-password", "/admin/login/")
        locked = _sign_in(client, "admin", "admin-pass-123", "/admin/login/")
        assert "Too many failed sign-ins" in locked.content.decode()
    finally:
        settings.DJANGO_ADMIN_ENABLED = False
        importlib.reload(depportal.urls)
        clear_url_caches()


@pytest.mark.parametrize(
    ("password", "words"),
    [
        ("aaaaaaaaaaaa", "too few characters"),
        ("98761234", "too short"),
        ("987612345678", "entirely numeric"),
        ("correct\u200bhorse\u200bbattery", "invisible characters"),
        ("\u200b" * 14, "invisible characters"),
        ("tab\there-and-there", "invisible characters"),
        ("password1234", "too common"),
    ],
)
def test_password_policy_refuses(password, words):
    with pytest.raises(ValidationError) as error:
        validate_password(password)
    assert any(words in message for message in error.value.messages)


def test_user_create_applies_the_policy(admin_user):
    from depportal.core.exceptions import ApplicationError

    with pytest.raises(ApplicationError) as error:
        user_create(actor=admin_user, username="eve", password="aaaaaaaaaaaa")
    assert "too few characters" in error.value.fields["password"][0]
    assert user_create(actor=admin_user, username="eve", password="correct horse battery").check_password(
        "correct horse battery"
    )
