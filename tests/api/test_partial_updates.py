"""A PATCH changes only what it names, whatever its content type (JSON, form-encoded, multipart).

Every PATCH operation of the OpenAPI schema has an entry here; a new one without an entry fails.
"""

from urllib.parse import urlencode

import pytest
from django.forms.models import model_to_dict
from django.test import Client
from django.test.client import BOUNDARY, MULTIPART_CONTENT, encode_multipart
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.settings import spectacular_settings

from depportal.accounts.services import api_token_create
from depportal.api.serializers import InputSerializer
from overview.alerts.models import NotificationSettings
from overview.alerts.services import notification_settings_update
from profiles import services as profile_services
from profiles.models import EnrollmentProfile, VppToken
from tests.factories import certificate_bytes, vpp_token_file
from tokens.models import EnrollmentProgramToken

pytestmark = pytest.mark.django_db

CONTENT_TYPES = ["json", "multipart", "form"]


def _state(obj) -> dict:
    """Every stored field and relation of the row, as it is in the database now."""
    obj = type(obj).objects.get(pk=obj.pk)
    state = model_to_dict(obj)
    for field in obj._meta.many_to_many:
        state[field.name] = sorted(related.pk for related in getattr(obj, field.name).all())
    return state


def _token(setup):
    return setup["onboard"](setup["admin"], tags=[setup["tag_a"], setup["tag_b"]])


def _profile(setup):
    token = setup["onboard"](setup["admin"])
    certificate = profile_services.configurator_certificate_create(
        actor=setup["admin"], certificate_file=certificate_bytes()
    )
    values = {
        "name": "Supervised",
        "supervised": True,
        "locked_enrollment": True,
        "await_final_configuration": True,
        "sync_with_computers": "certificate",
        "configurator_certificates": [certificate],
        "skip_setup_items": ["Siri", "Privacy"],
    }
    return profile_services.profile_create(actor=setup["admin"], token=token, values=values)


def _vpp_token(setup):
    return profile_services.vpp_token_create(
        actor=setup["admin"],
        token_file=vpp_token_file(),
        licenses_total=10,
        licenses_used=3,
        scope_tags=[setup["tag_a"], setup["tag_b"]],
    )


def _settings(setup):
    notification_settings_update(
        actor=setup["admin"],
        email_enabled=True,
        email_recipients=["it@example.com"],
        webhook_enabled=True,
        webhook_url="https://hooks.example.com/dep",
        webhook_secret="a-long-enough-webhook-secret-0123456789",
    )
    return NotificationSettings.objects.get()


def _user(setup):
    from django.contrib.auth import get_user_model

    return get_user_model().objects.create_user(username="patched", email="old@example.com", password="x-Long-pass-1")


# schema path -> (make the object, the one field the PATCH names, its new value)
PATCHES = {
    "/api/v1/tokens/{id}/": (_token, "name", "Renamed"),
    "/api/v1/profiles/{id}/": (_profile, "description", "Only this"),
    "/api/v1/vpp-tokens/{id}/": (_vpp_token, "name", "Renamed"),
    "/api/v1/scope-tags/{id}/": (lambda setup: setup["tag_a"], "description", "Only this"),
    "/api/v1/notification-settings/": (_settings, "webhook_url", "https://hooks.example.com/other"),
    "/api/v1/users/{id}/": (_user, "email", "new@example.com"),
}


def _send(client, url: str, body: dict, content_type: str):
    if content_type == "json":
        return client.patch(url, body, content_type="application/json")
    if content_type == "form":
        return client.patch(url, urlencode(body), content_type="application/x-www-form-urlencoded")
    return client.patch(url, encode_multipart(BOUNDARY, body), content_type=MULTIPART_CONTENT)


def _schema_patch_paths(client) -> set[str]:
    schema = client.get("/api/schema/?format=json").json()
    return {path for path, operations in schema["paths"].items() if "patch" in operations}


def test_every_patch_operation_has_an_entry(admin_user):
    client = Client()
    client.force_login(admin_user)
    assert _schema_patch_paths(client) == set(PATCHES)


@pytest.mark.parametrize("content_type", CONTENT_TYPES)
@pytest.mark.parametrize("path", sorted(PATCHES))
def test_patch_changes_only_the_named_field(path, content_type, apple, onboard, admin_user, tag_a, tag_b):
    setup = {"admin": admin_user, "onboard": onboard, "tag_a": tag_a, "tag_b": tag_b}
    make, field, value = PATCHES[path]
    obj = make(setup)
    before = _state(obj)
    _, key = api_token_create(actor=None, user=admin_user, name="patch")
    client = Client(headers={"Authorization": f"Token {key}"})

    response = _send(client, path.replace("{id}", str(obj.pk)), {field: value}, content_type)

    assert response.status_code == 200, response.content
    after = _state(obj)
    assert after[field] == value
    changed = {key for key in before if before[key] != after[key]}
    # Editing a profile defines it again at Apple: its Apple identity and push time move with it.
    apple_copy = {"profile_uuid", "pushed_at"} if isinstance(obj, EnrollmentProfile) else set()
    assert changed - apple_copy - {"updated_at"} == {field}


def test_a_form_patch_of_a_token_keeps_its_scope_tags(apple, onboard, admin_user, api_client_for, tag_a, tag_b):
    """The finding itself: a form PATCH naming only `name` moved the token to the Default tag."""
    token = onboard(admin_user, tags=[tag_a, tag_b])
    api = api_client_for(admin_user)
    assert api.patch(f"/api/v1/tokens/{token.pk}/", {"name": "Only the name"}).status_code == 200
    token = EnrollmentProgramToken.objects.get(pk=token.pk)
    assert token.name == "Only the name" and set(token.scope_tags.all()) == {tag_a, tag_b}
    vpp = profile_services.vpp_token_create(actor=admin_user, token_file=vpp_token_file(), scope_tags=[tag_b])
    response = api.patch(f"/api/v1/vpp-tokens/{vpp.pk}/", {"apple_id": "x@example.com"}, format="multipart")
    assert response.status_code == 200
    assert list(VppToken.objects.get(pk=vpp.pk).scope_tags.all()) == [tag_b]


def test_form_lists_still_carry_every_value(apple, onboard, admin_user, api_client_for, tag_a, tag_b):
    token = onboard(admin_user)
    response = api_client_for(admin_user).patch(
        f"/api/v1/tokens/{token.pk}/",
        urlencode({"scope_tags": [tag_a.pk, tag_b.pk]}, doseq=True),
        content_type="application/x-www-form-urlencoded",
    )
    assert response.status_code == 200
    assert set(EnrollmentProgramToken.objects.get(pk=token.pk).scope_tags.all()) == {tag_a, tag_b}


def test_every_request_body_is_an_input_serializer():
    """The shared rule lives in InputSerializer: every body the API documents must be read through it."""
    generator = SchemaGenerator()
    generator._initialise_endpoints()
    outside = []
    for path, _regex, method, view in generator._get_paths_and_endpoints():
        if method not in ("POST", "PUT", "PATCH"):
            continue
        view.request = spectacular_settings.GET_MOCK_REQUEST(method, path, view, None)
        bodies = view.schema.get_request_serializer()
        for body in bodies.values() if isinstance(bodies, dict) else [bodies]:
            body_class = body if isinstance(body, type) else type(body)
            if body is not None and not issubclass(body_class, InputSerializer):
                outside.append(f"{method} {path}: {body_class.__name__}")
    assert not outside
