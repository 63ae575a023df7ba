"""Every operation of the OpenAPI schema, exercised with generated input against the live test server.

Runs every schemathesis check (server errors, schema and status conformance, rejected valid and accepted
invalid input, auth, ...); it grows with the API by itself.
(Driven through schemathesis' Python API: its pytest loader does not run under pytest 9.)
"""

import os

import pytest
import schemathesis
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from schemathesis.checks import CHECKS as ALL_CHECKS
from schemathesis.checks import load_all_checks

from depportal.accounts.services import api_token_create

pytestmark = pytest.mark.django_db(transaction=True)

# CI's bounded budget; the longer run in the README raises it by environment.
EXAMPLES_PER_OPERATION = int(os.environ.get("DEPPORTAL_SCHEMATHESIS_EXAMPLES", "6"))
load_all_checks()
# Every check schemathesis has, as `--checks all` runs, except positive_data_acceptance in CI: the schema
# cannot state rules on a file's contents or between fields (a .cer that is a certificate, ids or serials),
# so schema-valid bodies are rightly refused. DEPPORTAL_SCHEMATHESIS_CHECKS=all adds it for a longer look.
CHECKS = [
    check
    for check in ALL_CHECKS.get_all()
    if os.environ.get("DEPPORTAL_SCHEMATHESIS_CHECKS") == "all" or check.__name__ != "positive_data_acceptance"
]


def test_every_operation_conforms_to_the_schema(live_server, django_user_model, settings):
    settings.SIGNIN_FAILURES_PER_ADDRESS = 10**6  # some checks send wrong credentials on purpose
    admin = django_user_model.objects.create_superuser(username="schema-admin", password="x-pass-123456")
    _, key = api_token_create(actor=None, user=admin, name="schemathesis")
    headers = {"Authorization": f"Token {key}"}
    schema = schemathesis.openapi.from_url(f"{live_server.url}/api/schema/?format=json", headers=headers)
    failures = []
    operations = 0
    calls = []
    for result in schema.get_all_operations():
        operation = result.ok()
        operations += 1

        @given(case=operation.as_strategy())
        # Derandomized: the same examples every run, so CI is repeatable; raise the count to explore more.
        @hypothesis_settings(
            max_examples=EXAMPLES_PER_OPERATION,
            deadline=None,
            derandomize=True,
            suppress_health_check=list(HealthCheck),
        )
        def exercise(case):
            response = case.call_and_validate(headers=headers, checks=CHECKS)
            calls.append(response.status_code)

        try:
            exercise()
        except (Exception, BaseExceptionGroup) as error:  # collect every broken operation, not just the first
            failures.append(f"{operation.method.upper()} {operation.path}: {error}")
    assert operations > 40 and len(calls) >= operations
    assert not failures, "\n\n".join(failures)
