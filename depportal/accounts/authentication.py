from django.utils.translation import gettext_lazy as _
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions

from depportal.accounts.services import api_token_authenticate
from depportal.accounts.throttle import client_address, lockout_message, signin_failed, signin_locked_for


class ApiTokenAuthentication(authentication.BaseAuthentication):
    """`Authorization: Token <key>` with a per-user key from the API tokens page or create_api_token."""

    keyword = "Token"

    def authenticate(self, request):
        header = authentication.get_authorization_header(request).split()
        if not header or header[0].lower() != self.keyword.lower().encode():
            return None
        if len(header) != 2:
            raise exceptions.AuthenticationFailed(_("Invalid token header: use 'Authorization: Token <key>'."))
        address = client_address(request)
        wait = signin_locked_for(address=address)
        if wait:
            raise exceptions.Throttled(wait=wait, detail=lockout_message(wait))
        try:
            key = header[1].decode()
        except UnicodeError:
            signin_failed(address=address)
            raise exceptions.AuthenticationFailed(_("Invalid token header: the key has invalid characters.")) from None
        token = api_token_authenticate(key)
        if token is None:
            signin_failed(address=address)  # guessing keys counts like guessing passwords
            raise exceptions.AuthenticationFailed(_("Invalid, expired or revoked API token."))
        return token.user, token

    def authenticate_header(self, request):
        return self.keyword


class ApiTokenAuthenticationScheme(OpenApiAuthenticationExtension):
    """Documents the token header in the OpenAPI schema."""

    target_class = ApiTokenAuthentication
    name = "ApiToken"

    def get_security_definition(self, auto_schema):
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": "Token-based authentication: `Authorization: Token <key>`.",
        }
