"""One error body for the whole API: {"error": code, "detail": message, "fields": {field: [messages]}}."""

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from depportal.core.exceptions import ApplicationError


def _fields_from(detail) -> dict:
    if isinstance(detail, dict):
        return {
            key: [str(item) for item in (value if isinstance(value, list) else [value])]
            for key, value in detail.items()
        }
    return {}


def exception_handler(exc, context):
    """Map domain, Django and DRF errors to the API's error body."""
    if isinstance(exc, ApplicationError):
        response = Response(
            {"error": exc.code, "detail": exc.message, "fields": exc.fields, **exc.extra}, status=exc.status
        )
        if exc.extra.get("retry_after") is not None:
            response["Retry-After"] = str(exc.extra["retry_after"])
        return response
    if isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(exc.message_dict if hasattr(exc, "error_dict") else exc.messages)
    elif isinstance(exc, Http404):
        exc = exceptions.NotFound(str(exc) or "Not found.")
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied(str(exc) or None)

    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.ValidationError):
        fields = _fields_from(exc.detail)
        non_field = fields.pop("non_field_errors", None)
        detail = non_field[0] if non_field else "Some fields are not valid."
        if not non_field and len(fields) == 1 and len(next(iter(fields.values()))) == 1:
            # One problem: say it, as a service's refusal of the same input does.
            detail = next(iter(fields.values()))[0]
        if isinstance(exc.detail, list):
            detail = " ".join(str(item) for item in exc.detail)
        response.data = {"error": "invalid", "detail": detail, "fields": fields}
        response.status_code = status.HTTP_400_BAD_REQUEST
    else:
        code = getattr(exc, "default_code", "error")
        detail = exc.detail if isinstance(exc, exceptions.APIException) else str(exc)
        response.data = {"error": code, "detail": str(detail), "fields": {}}
    return response
