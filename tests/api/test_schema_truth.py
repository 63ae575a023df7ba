"""The OpenAPI schema documents what the API answers: every operation lists its error responses."""

import pytest

pytestmark = pytest.mark.django_db


def test_every_operation_documents_its_errors(admin_api):
    schema = admin_api.get("/api/schema/?format=json").json()
    undocumented = [
        f"{method.upper()} {path}: {sorted({'400', '401', '403', '404'} - set(operation['responses']))}"
        for path, operations in schema["paths"].items()
        for method, operation in operations.items()
        if not {"400", "401", "403", "404"} <= set(operation["responses"])
    ]
    assert not undocumented
    error = schema["components"]["schemas"]["Error"]
    assert set(error["required"]) == {"error", "detail", "fields"}


def test_paging_parameters_state_their_bounds(admin_api):
    schema = admin_api.get("/api/schema/?format=json").json()
    parameters = {p["name"]: p["schema"] for p in schema["paths"]["/api/v1/profiles/"]["get"]["parameters"]}
    assert parameters["limit"] == {"type": "integer", "minimum": 1, "maximum": 1000}
    assert parameters["offset"]["minimum"] == 0
    tokens = {p["name"]: p["schema"] for p in schema["paths"]["/api/v1/tokens/"]["get"]["parameters"]}
    assert set(tokens["state"]["enum"]) == {"active", "error", "pending", "terms_not_accepted"}
