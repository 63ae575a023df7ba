from django.http import HttpResponse
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from depportal.accounts.roles import CHANGE
from depportal.api.permissions import RolePermission
from tokens import selectors, services
from tokens.api import serializers as s
from tokens.models import EnrollmentProgramToken


class TokenViewSet(viewsets.GenericViewSet):
    """Enrollment program tokens: the same wizard, renewal and rules as the console.

    POST creates a pending token and its key pair (consent required); fetch the public key, upload it
    to Apple Business Manager, then POST the .p7m to upload/. Pending tokens are listed with ?state=pending.
    """

    permission_classes = [RolePermission]
    queryset = EnrollmentProgramToken.objects.none()  # for the schema generator
    serializer_class = s.TokenOutputSerializer

    def _get(self, pk, action=None):
        return selectors.token_get(user=self.request.user, pk=pk, **({"action": action} if action else {}))

    @extend_schema(parameters=[s.TokenListQuerySerializer], responses=s.TokenOutputSerializer(many=True))
    def list(self, request):
        query = s.TokenListQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        state = query.validated_data.get("state", "")
        tokens = selectors.token_list(
            user=request.user,
            search=query.validated_data.get("search", ""),
            state=state,
            ordering=query.validated_data["ordering"],
            include_pending=state == "pending",
        )
        page = self.paginate_queryset(tokens)
        return self.get_paginated_response(s.TokenOutputSerializer(page, many=True).data)

    @extend_schema(request=s.TokenStartInputSerializer, responses={201: s.TokenOutputSerializer})
    def create(self, request):
        data = s.TokenStartInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        token = services.token_start(actor=request.user, **data.validated_data)
        return Response(s.TokenOutputSerializer(token).data, status=status.HTTP_201_CREATED)

    @extend_schema(responses=s.TokenOutputSerializer)
    def retrieve(self, request, pk=None):
        return Response(s.TokenOutputSerializer(self._get(pk)).data)

    @extend_schema(request=s.TokenUpdateInputSerializer, responses=s.TokenOutputSerializer)
    def partial_update(self, request, pk=None):
        token = self._get(pk, CHANGE)
        data = s.TokenUpdateInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        token = services.token_update(actor=request.user, token=token, **data.validated_data)
        return Response(s.TokenOutputSerializer(token).data)

    @extend_schema(responses={204: None})
    def destroy(self, request, pk=None):
        token = self._get(pk, CHANGE)
        if token.is_pending:
            services.token_abandon(actor=request.user, token=token)
        else:
            services.token_delete(actor=request.user, token=token)
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(responses={(200, "application/x-pem-file"): OpenApiResponse(description="The public key (.pem)")})
    @action(detail=True, methods=["get"], url_path="public-key")
    def public_key(self, request, pk=None):
        token = self._get(pk)
        response = HttpResponse(services.token_public_key(token), content_type="application/x-pem-file")
        response["Content-Disposition"] = f'attachment; filename="depportal-token-{token.pk}-public-key.pem"'
        return response

    @extend_schema(request={"multipart/form-data": s.TokenUploadInputSerializer}, responses=s.TokenOutputSerializer)
    @action(detail=True, methods=["post"])
    def upload(self, request, pk=None):
        token = self._get(pk, CHANGE)
        data = s.TokenUploadInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        token = services.token_activate(
            actor=request.user,
            token=token,
            token_file=data.validated_data["token_file"].read(services.MAX_TOKEN_FILE_BYTES + 1),
            apple_id=data.validated_data["apple_id"],
            scope_tags=data.validated_data.get("scope_tags"),
            name=data.validated_data.get("name", ""),
        )
        return Response(s.TokenOutputSerializer(token).data)

    @extend_schema(request={"multipart/form-data": s.TokenRenewInputSerializer}, responses=s.TokenOutputSerializer)
    @action(detail=True, methods=["post"])
    def renew(self, request, pk=None):
        token = self._get(pk, CHANGE)
        data = s.TokenRenewInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        token = services.token_renew(
            actor=request.user,
            token=token,
            token_file=data.validated_data["token_file"].read(services.MAX_TOKEN_FILE_BYTES + 1),
            apple_id=data.validated_data["apple_id"],
        )
        return Response(s.TokenOutputSerializer(token).data)
