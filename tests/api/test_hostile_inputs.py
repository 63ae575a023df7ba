"""Regression corpus of hostile inputs, API and console: each answers a 4xx with a clear message and stores nothing.

"Nothing" is checked on every table (row counts) and on the audit log. The inputs are those a penetration
test turned into server errors, plus their near relatives.
"""

import pytest
from django.apps import apps
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from rest_framework.test import APIClient

from depportal.accounts.models import ScopeTag
from depportal.accounts.services import api_token_create
from profiles import services as profile_services
from tests.factories import vpp_token_file
from tokens.services import token_update

pytestmark = pytest.mark.django_db


def _counts() -> dict[str, int]:
    return {model._meta.label: model.objects.count() for model in apps.get_models() if model._meta.managed}


@pytest.fixture
def world(apple, onboard, admin_user):
    """A token named TokenA, a VPP token, a scope tag in use; the API and console clients of an admin."""
    tag = ScopeTag.objects.create(name="Used")
    token = onboard(admin_user, tags=[tag])
    token_update(actor=admin_user, token=token, name="TokenA")
    vpp = profile_services.vpp_token_create(actor=admin_user, token_file=vpp_token_file(), name="VPP")
    _, key = api_token_create(actor=None, user=admin_user, name="corpus")
    api = APIClient(raise_request_exception=False)
    api.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    console = Client(raise_request_exception=False)
    console.force_login(admin_user)
    return {"token": token, "vpp": vpp, "tag": tag, "api": api, "console": console}


def _deep_json(depth: int) -> str:
    return "[" * depth + "]" * depth


# (id, client, method, url, body, content type or format, status, words the answer must contain)
API_CASES = [
    ("tokens-state-unknown", "get", "/api/v1/tokens/?state=AAA", None, None, 400, "not a valid choice"),
    ("tokens-ordering-unknown", "get", "/api/v1/tokens/?ordering=password", None, None, 400, "not a valid choice"),
    ("offset-null", "get", "/api/v1/profiles/?offset=null", None, None, 400, "whole number from 0"),
    ("limit-zero", "get", "/api/v1/vpp-tokens/?limit=0", None, None, 400, "whole number from 1 to 1000"),
    ("devices-limit-text", "get", "/api/v1/devices/?limit=abc", None, None, 400, "whole number from 1 to 1000"),
    ("token-id-abc", "get", "/api/v1/tokens/abc/", None, None, 404, "No enrollment program token"),
    (
        "token-id-huge",
        "get",
        "/api/v1/tokens/99999999999999999999/",
        None,
        None,
        404,
        "No enrollment program token matches",
    ),
    (
        "profiles-token-abc",
        "get",
        "/api/v1/profiles/?token=abc",
        None,
        None,
        404,
        "No enrollment program token matches",
    ),
    (
        "jobs-profile-abc",
        "get",
        "/api/v1/assignment-jobs/?profile=abc",
        None,
        None,
        404,
        "No enrollment profile matches",
    ),
    ("devices-token-abc", "get", "/api/v1/devices/?token=abc", None, None, 400, "valid choice"),
    ("tokens-search-nul", "get", "/api/v1/tokens/?search=a%00b", None, None, 400, "NUL"),
    ("devices-search-nul", "get", "/api/v1/devices/?search=a%00b", None, None, 400, "NUL"),
    (
        "token-create-duplicate-name",
        "post",
        "/api/v1/tokens/",
        {"data_sharing_consent": True, "name": "TokenA"},
        "json",
        400,
        "Another token is named",
    ),
    (
        "vpp-licenses-huge",
        "patch",
        "/api/v1/vpp-tokens/{vpp}/",
        {"licenses_total": 10**12},
        "json",
        400,
        "licenses_total",
    ),
    ("vpp-name-nul", "patch", "/api/v1/vpp-tokens/{vpp}/", {"name": "a\x00b"}, "json", 400, "Null characters"),
    (
        "vpp-create-year-9999",
        "post",
        "/api/v1/vpp-tokens/",
        {
            "token_file": lambda: SimpleUploadedFile(
                "t.vpptoken", vpp_token_file(expiry="9999-12-31T23:59:59-1200", s_token="y")
            )
        },
        "multipart",
        400,
        "expDate",
    ),
    (
        "vpp-create-org-nul",
        "post",
        "/api/v1/vpp-tokens/",
        {"token_file": lambda: SimpleUploadedFile("t.vpptoken", vpp_token_file(org="a\x00b", s_token="n"))},
        "multipart",
        400,
        "NUL",
    ),
    (
        "vpp-create-licenses-huge",
        "post",
        "/api/v1/vpp-tokens/",
        {
            "token_file": lambda: SimpleUploadedFile("t.vpptoken", vpp_token_file(s_token="h")),
            "licenses_total": 10**12,
        },
        "multipart",
        400,
        "licenses_total",
    ),
    ("scope-tag-delete-in-use", "delete", "/api/v1/scope-tags/{tag}/", None, None, 409, "still used by"),
    ("json-nested-deep", "post", "/api/v1/scope-tags/", _deep_json(100_000), "application/json", 400, "nested"),
    ("json-number-overflow", "post", "/api/v1/scope-tags/", '{"name": 1e999}', "application/json", 400, "too large"),
    ("token-name-invisible", "patch", "/api/v1/tokens/{token}/", {"name": "\u200b\u200b"}, "json", 400, "visible"),
    ("scope-tag-name-invisible", "post", "/api/v1/scope-tags/", {"name": "\u2060 \u200d"}, "json", 400, "visible"),
    ("vpp-name-invisible", "patch", "/api/v1/vpp-tokens/{vpp}/", {"name": "\u200b"}, "json", 400, "visible"),
    (
        "assign-serials-too-many",
        "post",
        "/api/v1/profiles/999/assign/",
        {"serial_numbers": ["A"] * 50_001},
        "json",
        404,
        "No enrollment profile",
    ),
    (
        "restore-ids-too-many",
        "post",
        "/api/v1/devices/restore/",
        {"ids": list(range(50_001))},
        "json",
        400,
        "no more than 50000",
    ),
    ("restore-id-huge", "post", "/api/v1/devices/restore/", {"ids": [10**12]}, "json", 400, "less than or equal"),
    (
        "token-start-name-huge",
        "post",
        "/api/v1/tokens/",
        {"data_sharing_consent": True, "name": "x" * 129},
        "json",
        400,
        "no more than 128",
    ),
]


def _resolve(world, url: str) -> str:
    return url.format(vpp=world["vpp"].pk, tag=world["tag"].pk, token=world["token"].pk)


def _body(body):
    if isinstance(body, dict):
        return {key: value() if callable(value) else value for key, value in body.items()}
    return body


@pytest.mark.parametrize(
    ("method", "url", "body", "content_type", "status", "words"),
    [case[1:] for case in API_CASES],
    ids=[case[0] for case in API_CASES],
)
def test_api_refuses_hostile_input(world, method, url, body, content_type, status, words):
    before = _counts()
    kwargs = {}
    if content_type in ("json", "multipart"):
        kwargs["format"] = content_type
    elif content_type:
        kwargs["content_type"] = content_type
    response = getattr(world["api"], method)(_resolve(world, url), _body(body), **kwargs)
    assert response.status_code == status, response.content[:500]
    assert response["Content-Type"].startswith("application/json")
    assert words in response.content.decode()
    assert _counts() == before


def _csv(content: bytes):
    return lambda: SimpleUploadedFile("serials.csv", content, content_type="text/csv")


CONSOLE_CASES = [
    ("token-list-search-nul", "get", "/tokens/?q=a%00b", None, 400, "NUL"),
    ("device-list-search-nul", "get", "/devices/?search=a%00b", None, 400, "NUL"),
    ("audit-search-nul", "get", "/tenant/audit/?q=a%00b", None, 400, "NUL"),
    ("device-list-token-abc", "get", "/devices/?token=abc", None, 200, "valid choice"),
    ("token-detail-huge", "get", "/tokens/99999999999999999999/", None, 404, ""),
    (
        "import-csv-nul",
        "post",
        "/devices/import/",
        {"token": "{token}", "csv_file": _csv(b"ABCD1234\x00\n")},
        200,
        "NUL",
    ),
    (
        "import-csv-huge-field",
        "post",
        "/devices/import/",
        {"token": "{token}", "csv_file": _csv(b'"' + b"A" * 140_000 + b'"\n')},
        200,
        "too long",
    ),
    (
        "vpp-upload-licenses-huge",
        "post",
        "/vpp-tokens/upload/",
        {
            "token_file": lambda: SimpleUploadedFile("t.vpptoken", vpp_token_file(s_token="c")),
            "licenses_total": 10**12,
            "licenses_used": 0,
        },
        200,
        "Enter at most 10,000,000 licenses",
    ),
    (
        "vpp-upload-year-9999",
        "post",
        "/vpp-tokens/upload/",
        {
            "token_file": lambda: SimpleUploadedFile(
                "t.vpptoken", vpp_token_file(expiry="9999-12-31T23:59:59-1200", s_token="d")
            ),
            "licenses_total": 0,
            "licenses_used": 0,
        },
        200,
        "expDate",
    ),
    ("scope-tag-delete-in-use", "post", "/tenant/scope-tags/{tag}/", {"delete": "yes"}, 302, ""),
    (
        "token-edit-name-invisible",
        "post",
        "/tokens/{token}/edit/",
        {"name": "\u200b\u200b", "apple_id": "it@example.com"},
        200,
        "A token needs a name.",
    ),
    (
        "scope-tag-create-invisible",
        "post",
        "/tenant/scope-tags/",
        {"name": "\u200b"},
        200,
        "This field is required.",
    ),
]


@pytest.mark.parametrize(
    ("method", "url", "body", "status", "words"),
    [case[1:] for case in CONSOLE_CASES],
    ids=[case[0] for case in CONSOLE_CASES],
)
def test_console_refuses_hostile_input(world, method, url, body, status, words):
    before = _counts()
    if isinstance(body, dict):
        body = {key: _resolve(world, value) if isinstance(value, str) else value for key, value in _body(body).items()}
    response = getattr(world["console"], method)(_resolve(world, url), body)
    assert response.status_code == status, response.content[:500]
    assert words in response.content.decode()
    assert _counts() == before
