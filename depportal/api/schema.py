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
