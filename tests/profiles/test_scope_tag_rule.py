"""One rule for the scope tags of every scoped object (tokens, VPP tokens, certificates), console and API.

An editor keeps the tags they cannot see; a tag they do not hold is refused in the same words whether it
exists or not.
"""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from depportal.accounts.scoping import SCOPE_TAGS_REFUSED
from depportal.audit.models import AuditEvent
from profiles import services
from profiles.models import ConfiguratorCertificate, VppToken
from tests.factories import certificate_bytes, vpp_token_file
from tokens.models import EnrollmentProgramToken

pytestmark = pytest.mark.django_db


@pytest.fixture
def shared_vpp(admin_user, tag_a, tag_b):
    return services.vpp_token_create(
        actor=admin_user, token_file=vpp_token_file(), name="Shared", scope_tags=[tag_a, tag_b]
    )


def _tags(obj) -> set:
    return set(type(obj).objects.get(pk=obj.pk).scope_tags.values_list("name", flat=True))


def test_api_save_of_a_shared_vpp_token_keeps_the_other_tag(shared_vpp, manager_a, api_client_for):
    api = api_client_for(manager_a)
    for body, content_type in [
        ({"name": "Mine"}, "multipart"),
        ({"scope_tags": [shared_vpp.scope_tags.first().pk]}, "json"),
    ]:
        response = api.patch(f"/api/v1/vpp-tokens/{shared_vpp.pk}/", body, format=content_type)
        assert response.status_code == 200, response.json()
        assert _tags(shared_vpp) == {"Tag A", "Tag B"}
    assert {tag["name"] for tag in response.json()["scope_tags"]} == {"Tag A", "Tag B"}


def test_console_save_of_a_shared_vpp_token_keeps_the_other_tag(client, shared_vpp, manager_a, tag_a):
    client.force_login(manager_a)
    url = reverse("profiles:vpp_token_edit", args=[shared_vpp.pk])
    assert "Tag B" not in client.get(url).content.decode()  # the tag stays out of the form, too
    form = {"name": "Renamed", "apple_id": "", "licenses_total": 0, "licenses_used": 0, "scope_tags": [tag_a.pk]}
    assert client.post(url, form).status_code == 302
    assert VppToken.objects.get(pk=shared_vpp.pk).name == "Renamed" and _tags(shared_vpp) == {"Tag A", "Tag B"}


def test_a_foreign_tag_and_a_missing_tag_are_refused_alike(shared_vpp, manager_a, tag_b, api_client_for):
    api = api_client_for(manager_a)
    events = AuditEvent.objects.count()
    answers = []
    for tag_id in (tag_b.pk, 999_999):
        answers.append(api.patch(f"/api/v1/vpp-tokens/{shared_vpp.pk}/", {"scope_tags": [tag_id]}, format="json"))
        answers.append(
            api.post(
                "/api/v1/configurator-certificates/",
                {"certificate_file": SimpleUploadedFile("c.cer", certificate_bytes()), "scope_tags": [tag_id]},
                format="multipart",
            )
        )
    assert [answer.status_code for answer in answers] == [400] * 4
    assert {answer.json()["fields"]["scope_tags"][0] for answer in answers} == {SCOPE_TAGS_REFUSED}
    assert "Tag B" not in str([answer.json() for answer in answers])
    assert not ConfiguratorCertificate.objects.exists() and AuditEvent.objects.count() == events
    assert _tags(shared_vpp) == {"Tag A", "Tag B"}


def test_console_certificate_upload_offers_only_own_tags(client, manager_a, tag_a, tag_b):
    client.force_login(manager_a)
    url = reverse("profiles:certificate_upload")
    refused = client.post(
        url, {"certificate_file": SimpleUploadedFile("c.cer", certificate_bytes()), "scope_tags": [tag_b.pk]}
    )
    assert refused.status_code == 200 and "scope_tags" in refused.context["form"].errors
    assert not ConfiguratorCertificate.objects.exists()
    client.post(url, {"certificate_file": SimpleUploadedFile("c.cer", certificate_bytes())})
    assert _tags(ConfiguratorCertificate.objects.get()) == {"Tag A"}


def test_tokens_follow_the_same_rule(onboard, admin_user, manager_a, tag_a, tag_b, api_client_for):
    token = onboard(admin_user, tags=[tag_a, tag_b])
    api = api_client_for(manager_a)
    assert api.patch(f"/api/v1/tokens/{token.pk}/", {"scope_tags": [tag_a.pk]}, format="json").status_code == 200
    assert _tags(token) == {"Tag A", "Tag B"}
    refused = api.patch(f"/api/v1/tokens/{token.pk}/", {"scope_tags": [999_999]}, format="json")
    assert refused.json()["fields"]["scope_tags"] == [SCOPE_TAGS_REFUSED]
    emptied = api.patch(f"/api/v1/tokens/{token.pk}/", {"scope_tags": []}, format="json")
    assert emptied.status_code == 400 and _tags(EnrollmentProgramToken.objects.get(pk=token.pk)) == {"Tag A", "Tag B"}
