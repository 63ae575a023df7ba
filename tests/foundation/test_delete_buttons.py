"""Console edit pages with a delete button: the delete goes to the service, a refusal shows on the same page."""

import pytest

from depportal.accounts.models import ScopeTag
from depportal.core import crypto
from profiles.models import EnrollmentProfile, VppToken

pytestmark = pytest.mark.django_db


def test_a_scope_tag_is_deleted_and_the_default_tag_is_refused(client, admin_user, tag_a, default_tag):
    client.force_login(admin_user)
    response = client.post(f"/tenant/scope-tags/{tag_a.pk}/", {"delete": "1"}, follow=True)
    assert response.redirect_chain[-1][0] == "/tenant/scope-tags/"
    assert "Scope tag Tag A deleted." in response.content.decode()
    assert not ScopeTag.objects.filter(pk=tag_a.pk).exists()

    page = f"/tenant/scope-tags/{default_tag.pk}/"
    response = client.post(page, {"delete": "1", "name": "Renamed"}, follow=True)
    assert response.redirect_chain[-1][0] == page
    assert "The Default scope tag cannot be deleted." in response.content.decode()
    assert ScopeTag.objects.get(pk=default_tag.pk).name == default_tag.name  # the form was not saved either


def test_a_vpp_token_in_use_is_refused_and_an_unused_one_deleted(client, admin_user, onboard):
    token = onboard(admin_user)
    vpp = VppToken.objects.create(name="School VPP", s_token_encrypted=crypto.encrypt("vpp-s-token"))
    EnrollmentProfile.objects.create(token=token, name="Field", vpp_token=vpp)
    client.force_login(admin_user)
    page = f"/vpp-tokens/{vpp.pk}/"
    response = client.post(page, {"delete": "yes"}, follow=True)
    assert response.redirect_chain[-1][0] == page
    assert "choose another token in those profiles first" in response.content.decode()
    assert VppToken.objects.filter(pk=vpp.pk).exists()

    EnrollmentProfile.objects.filter(vpp_token=vpp).update(vpp_token=None)
    response = client.post(page, {"delete": "yes"}, follow=True)
    assert "The VPP token School VPP was deleted." in response.content.decode()
    assert not VppToken.objects.filter(pk=vpp.pk).exists()
