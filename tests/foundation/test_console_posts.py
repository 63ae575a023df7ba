"""Every console POST names the permission it needs (no default), and a Read-only operator cannot import."""

import pytest
from django.urls import URLPattern, URLResolver, get_resolver

from depportal.accounts.roles import ADMINISTER, CHANGE, VIEW
from depportal.core.console import ConsoleMixin
from devices.models import DeviceImport

pytestmark = pytest.mark.django_db


def console_views(patterns=None, prefix=""):
    """(route, view class) of every console page in the URL conf."""
    for entry in get_resolver().url_patterns if patterns is None else patterns:
        if isinstance(entry, URLResolver):
            yield from console_views(entry.url_patterns, prefix + str(entry.pattern))
        elif isinstance(entry, URLPattern):
            view_class = getattr(entry.callback, "view_class", None)
            if view_class is not None and issubclass(view_class, ConsoleMixin):
                yield prefix + str(entry.pattern), view_class


def test_every_console_post_names_its_permission():
    posting = [(route, view) for route, view in console_views() if hasattr(view, "post")]
    assert len(posting) > 20
    unnamed = [route for route, view in posting if view.post_action not in (VIEW, CHANGE, ADMINISTER)]
    assert not unnamed


def test_a_post_without_a_named_permission_is_refused(rf, admin_user):
    from django.core.exceptions import ImproperlyConfigured
    from django.views.generic import View

    class Unnamed(ConsoleMixin, View):
        def post(self, request):
            raise AssertionError("must not run")

    request = rf.post("/")
    request.user = admin_user
    with pytest.raises(ImproperlyConfigured, match="must name the permission"):
        Unnamed.as_view()(request)


def test_read_only_operator_cannot_create_an_import(client, onboard, admin_user, reader_a, tag_a):
    token = onboard(admin_user, tags=[tag_a])
    client.force_login(reader_a)
    assert client.get("/devices/import/").status_code == 200  # looking is allowed
    response = client.post("/devices/import/", {"token": token.pk, "serial_numbers": "ABCD1234EFGH"})
    assert response.status_code == 403 and not DeviceImport.objects.exists()


def test_pages_carry_a_content_security_policy_whose_nonce_the_inline_scripts_use(client, admin_user):
    client.force_login(admin_user)
    response = client.get("/devices/")
    policy = response["Content-Security-Policy"]
    assert "script-src 'self' 'nonce-" in policy and "frame-ancestors 'none'" in policy
    nonce = policy.split("'nonce-")[1].split("'")[0]
    html = response.content.decode()
    assert f'<script nonce="{nonce}">' in html, [line for line in html.splitlines() if "<script" in line]
    assert " onclick=" not in html and " onchange=" not in html
    assert client.get("/devices/")["Content-Security-Policy"] != policy  # a new nonce each response
