"""The OpenAPI schema documents the errors every operation can answer, in the API's one error body."""

from drf_spectacular import openapi
from rest_framework import serializers


class ErrorSerializer(serializers.Serializer):
    error = serializers.CharField(help_text="A code: invalid, not_found, permission_denied, throttled...")
    detail = serializers.CharField(help_text="What went wrong, for a person.")
    fields = serializers.DictField(child=serializers.ListField(child=serializers.CharField()))


ERRORS = {
    "400": "The request is not valid: see detail and fields.",
    "401": "No valid credentials.",
    "403": "Your roles do not allow this.",
    "404": "Not found, or not within your scope tags.",
    "409": "In conflict with what is stored (a name taken, an object still in use).",
    "429": "Too many requests, or sign-in locked out for a while: see Retry-After.",
}


class AutoSchema(openapi.AutoSchema):
    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction)
        for status, description in ERRORS.items():
            if status not in responses:
                responses[status] = self._get_response_for_code(
                    openapi.OpenApiResponse(ErrorSerializer, description=description), status, direction=direction
                )
        return responses


# RequestBoundsMiddleware refuses NUL in an address; the schema says so for every text query parameter.
NO_NUL = "^[^\\u0000]*$"


def document_query_bounds(result, generator, request, public):
    """drf-spectacular postprocessing hook: text query parameters cannot hold NUL."""
    for operations in result.get("paths", {}).values():
        for operation in operations.values():
            for parameter in operation.get("parameters", []) if isinstance(operation, dict) else []:
                schema = parameter.get("schema", {})
                if parameter.get("in") == "query" and schema.get("type") == "string" and "enum" not in schema:
                    schema.setdefault("pattern", NO_NUL)
    return result
