"""A session's user is read again on every request: disabled or deleted since sign-in, the session is anonymous."""

import pytest

pytestmark = pytest.mark.django_db


def test_a_session_holds_only_while_its_user_may_sign_in(client, django_user_model):
    user = django_user_model.objects.create_superuser(username="sam", password="sam-pass-123")
    client.force_login(user)
    page = client.get("/tokens/")
    assert page.status_code == 200 and page.wsgi_request.user == user
    assert page.wsgi_request.user.username == "sam" and page.wsgi_request.user.is_superuser

    django_user_model.objects.filter(pk=user.pk).update(is_active=False)
    assert client.get("/tokens/").status_code == 302  # to the sign-in page

    django_user_model.objects.filter(pk=user.pk).update(is_active=True)
    client.force_login(user)
    assert client.get("/tokens/").status_code == 200
    user.delete()
    assert client.get("/tokens/").status_code == 302
