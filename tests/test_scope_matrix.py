"""Scope isolation matrix: every API operation (from the OpenAPI schema) and every console page (from the URL
conf), as an Enrollment manager and as a Read-only operator of tag A, against the objects of tag B.

Each answer is a 403 or 404, or it touches nothing of tag B: no stored row changes, no new row points at
a tag-B object, and the answer shows nothing of tag B (all of its names contain "Beeswax"). Every operation
and page needs an entry here; a new one without an entry fails `test_every_*_has_an_entry`.
"""

import pytest
from django.apps import apps
from django.core.files.uploadedfile import SimpleUploadedFile
from django.forms.models import model_to_dict
from django.test import Client
from rest_framework.test import APIClient

from depportal.accounts.models import ApiToken, Role, RoleAssignment, ScopeTag
from depportal.accounts.services import api_token_create, role_assignment_set
from depportal.audit.models import AuditEvent
from devices.models import Device
from devices.services import device_import_preview
from profiles import services as profile_services
from syncjobs.models import SyncJob, SyncKind, SyncTrigger
from tests.factories import certificate_bytes, vpp_token_file
from tests.foundation.test_console_posts import console_views
from tokens.services import token_start, token_update

pytestmark = pytest.mark.django_db

# Long enough that a random value a page shows (a CSRF token, a new API key, a key prefix) will not contain it:
# "Bee" alone turned up in one in a CI run (session 5), failing the test with nothing of tag B shown.
MARK = "Beeswax"
# Rows whose change is the request itself, not a touch of tag B's data.
VOLATILE = {"sessions.Session", "audit.AuditEvent"}
VOLATILE_FIELDS = {"last_used_at", "last_login"}


@pytest.fixture
def world(apple, onboard, admin_user, make_user):
    tag_a, tag_b = ScopeTag.objects.create(name="Tag A"), ScopeTag.objects.create(name=f"{MARK} tag")
    onboard(admin_user, server_name="Server A", tags=[tag_a])
    token = onboard(admin_user, server_name=f"{MARK} server", tags=[tag_b])
    token_update(actor=admin_user, token=token, name=f"{MARK} token")
    pending = token_start(actor=admin_user, data_sharing_consent=True, name=f"{MARK} pending")
    pending.scope_tags.set([tag_b])
    profile = profile_services.profile_create(actor=admin_user, token=token, values={"name": f"{MARK} profile"})
    device = Device.objects.create(token=token, serial_number="BEE000000001", description=f"{MARK} device")
    user_b = make_user("bee_user", Role.ENROLLMENT_MANAGER, [tag_b])
    _, key_b = api_token_create(actor=None, user=user_b, name=f"{MARK} key")
    objects = {
        "tag": tag_b,
        "token": token,
        "pending": pending,
        "profile": profile,
        "device": device,
        "job": profile_services.profile_assign_devices(actor=admin_user, profile=profile, serials=["BEE000000001"]),
        "vpp": profile_services.vpp_token_create(
            actor=admin_user, token_file=vpp_token_file(s_token="bee"), name=f"{MARK} vpp", scope_tags=[tag_b]
        ),
        "cert": profile_services.configurator_certificate_create(
            actor=admin_user,
            certificate_file=certificate_bytes(f"{MARK} mac"),
            name=f"{MARK} cert",
            scope_tags=[tag_b],
        ),
        "sync": SyncJob.objects.create(token=token, kind=SyncKind.MANUAL, trigger=SyncTrigger.API),
        "import": device_import_preview(actor=admin_user, token=token, text="BEE000000001\n"),
        "assignment": RoleAssignment.objects.get(user=user_b),
        "api_token": ApiToken.objects.get(user=user_b),
        "user": user_b,
        "event": AuditEvent.objects.filter(object_type="enrollment_program_token", object_id=str(token.pk)).first(),
    }
    actors = {
        "manager": make_user("manager_a", Role.ENROLLMENT_MANAGER, [tag_a]),
        "reader": make_user("reader_a", Role.READ_ONLY, [tag_a]),
    }
    role_assignment_set(actor=None, user=actors["manager"], role=Role.ENROLLMENT_MANAGER, scope_tags=[tag_a])
    return {"objects": objects, "actors": actors, "tag_a": tag_a}


def _snapshot() -> dict:
    rows = {}
    for model in apps.get_models():
        if not model._meta.managed or model._meta.label in VOLATILE:
            continue
        for obj in model.objects.all():
            state = {k: v for k, v in model_to_dict(obj).items() if k not in VOLATILE_FIELDS}
            for field in model._meta.many_to_many:
                state[field.name] = sorted(related.pk for related in getattr(obj, field.name).all())
            rows[(model._meta.label, obj.pk)] = state
    return rows


def _b_keys(world) -> set:
    return {(obj._meta.label, obj.pk) for obj in world["objects"].values() if obj is not None}


def _assert_untouched(world, before: dict, response, what: str):
    after = _snapshot()
    changed = [key for key, state in before.items() if after.get(key) != state]
    assert not changed, f"{what} changed {changed}"
    b_keys = _b_keys(world)
    for key in set(after) - set(before):
        model = apps.get_model(key[0])
        obj = model.objects.get(pk=key[1])
        for field in model._meta.get_fields():
            if field.many_to_one and field.concrete:
                target = getattr(obj, field.name)
                assert target is None or (target._meta.label, target.pk) not in b_keys, f"{what} made {key}"
            if field.many_to_many and field.concrete:
                for target in getattr(obj, field.name).all():
                    assert (target._meta.label, target.pk) not in b_keys, f"{what} made {key} of tag B"
    if response.status_code not in (403, 404):
        body = b"".join(response.streaming_content) if response.streaming else response.content
        assert MARK not in body.decode(errors="replace"), f"{what} showed tag B"


# --- API: "METHOD path" -> (the tag-B object for {id}, body, format) ---
def _upload(name, data):
    return lambda: {name: SimpleUploadedFile(name, data)}


API = {
    "GET /api/v1/alerts/": (None, None, None),
    "GET /api/v1/api-tokens/": (None, None, None),
    "POST /api/v1/api-tokens/": (None, {"name": "mine"}, "json"),
    "GET /api/v1/api-tokens/{id}/": ("api_token", None, None),
    "DELETE /api/v1/api-tokens/{id}/": ("api_token", None, None),
    "GET /api/v1/assignment-jobs/": (None, None, None),
    "GET /api/v1/assignment-jobs/{id}/": ("job", None, None),
    "GET /api/v1/audit-events/": (None, None, None),
    "GET /api/v1/audit-events/{id}/": ("event", None, None),
    "GET /api/v1/configurator-certificates/": (None, None, None),
    "POST /api/v1/configurator-certificates/": (None, _upload("certificate_file", certificate_bytes()), "multipart"),
    "GET /api/v1/configurator-certificates/{id}/": ("cert", None, None),
    "DELETE /api/v1/configurator-certificates/{id}/": ("cert", None, None),
    "GET /api/v1/devices/": (None, None, None),
    "GET /api/v1/devices/{id}/": ("device", None, None),
    "DELETE /api/v1/devices/{id}/": ("device", None, None),
    "GET /api/v1/devices/export.csv": (None, None, None),
    "POST /api/v1/devices/restore/": (None, {"serial_numbers": ["BEE000000001"]}, "json"),
    "GET /api/v1/notification-settings/": (None, None, None),
    "PATCH /api/v1/notification-settings/": (None, {"email_enabled": True}, "json"),
    "POST /api/v1/notification-settings/test/": (None, None, None),
    "GET /api/v1/profiles/": (None, None, None),
    "POST /api/v1/profiles/": (None, {"token": "token", "name": "x"}, "json"),
    "GET /api/v1/profiles/{id}/": ("profile", None, None),
    "PUT /api/v1/profiles/{id}/": ("profile", {"name": "x"}, "json"),
    "PATCH /api/v1/profiles/{id}/": ("profile", {"name": "x"}, "json"),
    "DELETE /api/v1/profiles/{id}/": ("profile", None, None),
    "POST /api/v1/profiles/{id}/assign/": ("profile", {"serial_numbers": ["BEE000000001"]}, "json"),
    "POST /api/v1/profiles/{id}/push/": ("profile", None, None),
    "POST /api/v1/profiles/{id}/unassign/": ("profile", {"serial_numbers": ["BEE000000001"]}, "json"),
    "GET /api/v1/role-assignments/": (None, None, None),
    "POST /api/v1/role-assignments/": (None, {"user": "user", "role": "administrator"}, "json"),
    "GET /api/v1/role-assignments/{id}/": ("assignment", None, None),
    "DELETE /api/v1/role-assignments/{id}/": ("assignment", None, None),
    "GET /api/v1/roles/": (None, None, None),
    "GET /api/v1/roles/{id}/": ("administrator", None, None),
    "GET /api/v1/scope-tags/": (None, None, None),
    "POST /api/v1/scope-tags/": (None, {"name": "new"}, "json"),
    "GET /api/v1/scope-tags/{id}/": ("tag", None, None),
    "PATCH /api/v1/scope-tags/{id}/": ("tag", {"description": "x"}, "json"),
    "DELETE /api/v1/scope-tags/{id}/": ("tag", None, None),
    "GET /api/v1/sync-jobs/": (None, None, None),
    "GET /api/v1/sync-jobs/{id}/": ("sync", None, None),
    "GET /api/v1/tokens/": (None, None, None),
    "POST /api/v1/tokens/": (None, {"data_sharing_consent": True, "name": "mine"}, "json"),
    "GET /api/v1/tokens/{id}/": ("token", None, None),
    "PATCH /api/v1/tokens/{id}/": ("token", {"name": "x"}, "json"),
    "DELETE /api/v1/tokens/{id}/": ("token", None, None),
    "GET /api/v1/tokens/{id}/default-profile/": ("token", None, None),
    "PUT /api/v1/tokens/{id}/default-profile/": ("token", {"profile": None}, "json"),
    "GET /api/v1/tokens/{id}/public-key/": ("pending", None, None),
    "POST /api/v1/tokens/{id}/renew/": ("token", {"apple_id": "x@example.com"}, "json"),
    "POST /api/v1/tokens/{id}/reset-cursor/": ("token", None, None),
    "POST /api/v1/tokens/{id}/sync/": ("token", {"kind": "delta"}, "json"),
    "POST /api/v1/tokens/{id}/upload/": ("pending", {"apple_id": "x@example.com"}, "json"),
    "GET /api/v1/users/": (None, None, None),
    "POST /api/v1/users/": (None, {"username": "new", "password": "a-Long-pass-2024!"}, "json"),
    "GET /api/v1/users/{id}/": ("user", None, None),
    "GET /api/v1/vpp-tokens/": (None, None, None),
    "POST /api/v1/vpp-tokens/": (None, _upload("token_file", vpp_token_file(s_token="new")), "multipart"),
    "GET /api/v1/vpp-tokens/{id}/": ("vpp", None, None),
    "PATCH /api/v1/vpp-tokens/{id}/": ("vpp", {"name": "x"}, "json"),
    "DELETE /api/v1/vpp-tokens/{id}/": ("vpp", None, None),
    "POST /api/v1/vpp-tokens/{id}/refresh/": ("vpp", None, None),
    "PATCH /api/v1/users/{id}/": ("user", {"email": "x@example.com"}, "json"),
    "DELETE /api/v1/users/{id}/": ("user", None, None),
    "GET /api/v1/users/{id}/api-tokens/": ("user", None, None),
    "POST /api/v1/users/{id}/password-reset/": ("user", None, None),
    "PUT /api/v1/users/{id}/roles/": ("user", {"roles": []}, "json"),
    # Apple Business spans every token and tag: administrators only, so both actors get 403.
    "GET /api/v1/business/connection/": (None, None, None),
    "POST /api/v1/business/connection/": (None, {"client_id": "x", "key_id": "y"}, "json"),
    "DELETE /api/v1/business/connection/": (None, None, None),
    "POST /api/v1/business/connection/refresh/": (None, None, None),
    "POST /api/v1/business/connection/validate/": (None, None, None),
    "POST /api/v1/business/connection/webhook/": (None, None, None),
    "GET /api/v1/business/activities/": (None, None, None),
    "POST /api/v1/business/activities/": (None, {"kind": "assign", "serial_numbers": ["BEE000000001"]}, "json"),
    "POST /api/v1/business/activities/preview/": (None, {"kind": "assign", "serial_numbers": ["X"]}, "json"),
    "GET /api/v1/business/activities/{id}/": ("device", None, None),
    "GET /api/v1/business/devices/": (None, None, None),
    "GET /api/v1/business/devices/{id}/applecare/": ("device", None, None),
    "GET /api/v1/business/servers/": (None, None, None),
}


def _schema_operations() -> set[str]:
    from drf_spectacular.generators import SchemaGenerator

    schema = SchemaGenerator().get_schema(request=None, public=True)
    methods = {"get", "post", "put", "patch", "delete"}
    return {f"{method.upper()} {path}" for path, ops in schema["paths"].items() for method in ops if method in methods}


def test_every_api_operation_has_an_entry():
    assert _schema_operations() == set(API)


def _fill(world, value):
    """A body's "token"/"user" placeholders become tag B's ids; callables make fresh uploads."""
    if callable(value):
        return value()
    if isinstance(value, dict):
        objects = world["objects"]
        return {k: objects[v].pk if isinstance(v, str) and v in ("token", "user") else v for k, v in value.items()}
    return value


@pytest.mark.parametrize("actor", ["manager", "reader"])
def test_api_operations_touch_nothing_of_another_tag(world, actor):
    _, key = api_token_create(actor=None, user=world["actors"][actor], name="matrix")
    api = APIClient(raise_request_exception=False)
    api.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    problems = []
    for operation, (target, body, content_type) in API.items():
        method, path = operation.split(" ", 1)
        if target is not None:
            ident = target if target == "administrator" else world["objects"][target].pk
            path = path.replace("{id}", str(ident))
        before = _snapshot()
        kwargs = {"format": content_type} if content_type else {}
        response = getattr(api, method.lower())(path, _fill(world, body), **kwargs)
        try:
            assert response.status_code < 500, f"{operation}: {response.status_code}"
            _assert_untouched(world, before, response, f"{actor} {operation} ({response.status_code})")
        except AssertionError as error:  # report every broken operation at once
            problems.append(str(error).splitlines()[0])
    assert not problems, "\n".join(problems)


# --- Console: route -> (URL kwargs from tag B's objects, POST body or None) ---
CONSOLE = {
    "": ({}, None),
    "tokens/": ({}, None),
    "tokens/add/": ({}, {"data_sharing_consent": "on"}),
    "tokens/add/<int:pk>/": ({"pk": "pending"}, {"apple_id": "x@example.com"}),
    "tokens/add/<int:pk>/abandon/": ({"pk": "pending"}, {}),
    "tokens/<int:pk>/": ({"pk": "token"}, None),
    "tokens/<int:pk>/public-key/": ({"pk": "pending"}, None),
    "tokens/<int:pk>/renew/": ({"pk": "token"}, {"apple_id": "x@example.com"}),
    "tokens/<int:pk>/edit/": ({"pk": "token"}, {"name": "x"}),
    "tokens/<int:pk>/delete/": ({"pk": "token"}, {"confirm_name": f"{MARK} token"}),
    "tokens/<int:pk>/sync/": ({"pk": "token"}, {"kind": "delta"}),
    "tokens/<int:pk>/sync/panel/": ({"pk": "token"}, None),
    "tokens/<int:pk>/sync/reset-cursor/": ({"pk": "token"}, {}),
    "vpp-tokens/": ({}, None),
    "vpp-tokens/upload/": ({}, {"licenses_total": 0, "licenses_used": 0, "scope_tags": ["tag"]}),
    "vpp-tokens/<int:pk>/": ({"pk": "vpp"}, {"name": "x", "licenses_total": 0, "licenses_used": 0}),
    "configurator-certificates/upload/": ({}, {"scope_tags": ["tag"]}),
    "configurator-certificates/<int:pk>/delete/": ({"pk": "cert"}, {}),
    "tokens/<int:token_pk>/profiles/": ({"token_pk": "token"}, None),
    "tokens/<int:token_pk>/profiles/create/": ({"token_pk": "token"}, {"name": "x", "action": "save"}),
    "tokens/<int:token_pk>/default-profile/": ({"token_pk": "token"}, {"ios": ""}),
    "profiles/<int:pk>/": ({"pk": "profile"}, None),
    "profiles/<int:pk>/edit/": ({"pk": "profile"}, {"name": "x", "action": "save"}),
    "profiles/<int:pk>/push/": ({"pk": "profile"}, {}),
    "profiles/<int:pk>/delete/": ({"pk": "profile"}, {"confirm": "yes"}),
    "profiles/<int:pk>/assign/": ({"pk": "profile"}, {"serial_numbers": "BEE000000001", "action": "confirm"}),
    "profiles/<int:pk>/unassign/": ({"pk": "profile"}, {"serial_numbers": "BEE000000001", "action": "confirm"}),
    "assignment-jobs/<int:pk>/": ({"pk": "job"}, None),
    "devices/": ({}, None),
    "devices/ios/": ({}, None),
    "devices/export.csv": ({}, None),
    "devices/bulk/": ({}, {"id": ["device"], "action": "delete", "confirm": "yes"}),
    "devices/bulk/assign/": ({}, {"id": ["device"], "action": "assign", "profile": "profile", "confirm": "yes"}),
    "devices/columns/": ({}, {"columns": ["serial_number"]}),
    "devices/import/": ({}, {"token": "token", "serial_numbers": "BEE000000001"}),
    "devices/imports/<int:pk>/": ({"pk": "import"}, None),
    "devices/imports/<int:pk>/confirm/": ({"pk": "import"}, {}),
    "devices/imports/<int:pk>/report.csv": ({"pk": "import"}, None),
    "devices/<int:pk>/": ({"pk": "device"}, None),
    "devices/<int:pk>/delete/": ({"pk": "device"}, {}),
    "devices/<int:pk>/restore/": ({"pk": "device"}, {}),
    "tokens/<int:token_pk>/devices/": ({"token_pk": "token"}, None),
    "tokens/<int:token_pk>/devices/import/": ({"token_pk": "token"}, {"token": "token", "serial_numbers": "X"}),
    "tenant/roles/": ({}, {"user": "user", "role": "administrator", "scope_tags": ["tag"]}),
    "tenant/roles/assignments/<int:pk>/remove/": ({"pk": "assignment"}, {}),
    "tenant/scope-tags/": ({}, {"name": "new"}),
    "tenant/scope-tags/<int:pk>/": ({"pk": "tag"}, {"name": "x"}),
    "tenant/api-tokens/": ({}, {"revoke": "api_token"}),
    "tenant/audit/": ({}, None),
    "tenant/notifications/": ({}, {"email_enabled": "on"}),
    "devices/macos/": ({}, None),
    "devices/tvos/": ({}, None),
    "devices/visionos/": ({}, None),
    "enrollment/<str:platform>/": ({"platform": "macos"}, None),
    "tokens/add/<int:pk>/check/": ({"pk": "pending"}, {"step": "token", "apple_id": "x@example.com"}),
    "tokens/add/<int:pk>/status/": ({"pk": "pending"}, None),
    "vpp-tokens/<int:pk>/refresh/": ({"pk": "vpp"}, {}),
    "tenant/users/": ({}, None),
    "tenant/users/add/": ({}, {"username": "new", "password1": "a-Long-pass-2024!"}),
    "tenant/users/<int:pk>/": ({"pk": "user"}, {"email": "x@example.com"}),
    "tenant/users/<int:pk>/delete/": ({"pk": "user"}, {"confirm": "yes"}),
    "tenant/business/": ({}, {"client_id": "x"}),
    "tenant/business/devices/": ({}, None),
    "tenant/business/devices/<str:serial>/": ({"serial": "BEE000000001"}, None),
    "tenant/business/activities/new/": ({}, {"kind": "assign", "serial_numbers": "BEE000000001"}),
    "tenant/business/activities/<int:pk>/": ({"pk": "device"}, None),
}


def test_every_console_page_has_an_entry():
    assert {route for route, _ in console_views()} == set(CONSOLE)


def _console_url(world, route: str, kwargs: dict) -> str:
    url = "/" + route
    for name, key in kwargs.items():
        if f"<int:{name}>" in url:
            url = url.replace(f"<int:{name}>", str(world["objects"][key].pk))
        url = url.replace(f"<str:{name}>", key)  # a literal: a platform, a serial number
    return url


def _console_body(world, body: dict) -> dict:
    objects = world["objects"]

    def value(v):
        return str(objects[v].pk) if isinstance(v, str) and v in objects else v

    return {k: [value(v) for v in vs] if isinstance(vs, list) else value(vs) for k, vs in body.items()}


@pytest.mark.parametrize("actor", ["manager", "reader"])
def test_console_pages_touch_nothing_of_another_tag(world, actor):
    client = Client(raise_request_exception=False)
    client.force_login(world["actors"][actor])
    problems = []
    for route, (kwargs, body) in CONSOLE.items():
        url = _console_url(world, route, kwargs)
        requests = [("GET", None)] + ([("POST", _console_body(world, body))] if body is not None else [])
        for method, data in requests:
            before = _snapshot()
            response = client.get(url) if method == "GET" else client.post(url, data)
            try:
                assert response.status_code < 500, f"{method} {url}: {response.status_code}"
                _assert_untouched(world, before, response, f"{actor} {method} {url} ({response.status_code})")
            except AssertionError as error:  # report every broken page at once
                problems.append(str(error).splitlines()[0])
    assert not problems, "\n".join(problems)
