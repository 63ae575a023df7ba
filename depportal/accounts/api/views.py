from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.exceptions import NotFound
from rest_framework.response import Response

from depportal.accounts import selectors, services
from depportal.accounts.api import serializers as s
from depportal.accounts.models import ApiToken, Role
from depportal.accounts.roles import ROLE_ACTIONS, ROLE_DESCRIPTIONS
from depportal.api.permissions import AdministratorOnly, IsAdministrator


class ScopeTagViewSet(viewsets.ModelViewSet):
    """Scope tags. Everyone reads the tags they hold; Administrators create, rename and delete."""

    permission_classes = [IsAdministrator]
    serializer_class = s.ScopeTagOutputSerializer
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]

    def get_queryset(self):
        return selectors.scope_tag_list(user=self.request.user)

    @extend_schema(request=s.ScopeTagInputSerializer, responses={201: s.ScopeTagOutputSerializer})
    def create(self, request):
        data = s.ScopeTagInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        tag = services.scope_tag_create(actor=request.user, **data.validated_data)
        return Response(s.ScopeTagOutputSerializer(tag).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=s.ScopeTagInputSerializer, responses=s.ScopeTagOutputSerializer)
    def partial_update(self, request, pk=None):
        tag = self.get_object()
        data = s.ScopeTagInputSerializer(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        values = {"name": tag.name, "description": tag.description, **data.validated_data}
        tag = services.scope_tag_update(actor=request.user, tag=tag, **values)
        return Response(s.ScopeTagOutputSerializer(tag).data)

    def destroy(self, request, pk=None):
        services.scope_tag_delete(actor=request.user, tag=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)


class RoleViewSet(viewsets.ViewSet):
    """The built-in roles and what each may do."""

    permission_classes = [IsAdministrator]
    lookup_value_regex = "[a-z_]+"

    def _role(self, value):
        return {
            "id": value,
            "name": Role(value).label,
            "description": ROLE_DESCRIPTIONS[value],
            "actions": sorted(ROLE_ACTIONS[value]),
        }

    @extend_schema(responses=s.RoleOutputSerializer(many=True))
    def list(self, request):
        return Response([self._role(value) for value in Role.values])

    @extend_schema(responses=s.RoleOutputSerializer)
    def retrieve(self, request, pk=None):
        if pk not in Role.values:
            raise NotFound(f"No role {pk!r}.")
        return Response(self._role(pk))


class UserViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Console users with their role assignments (Administrators only)."""

    permission_classes = [AdministratorOnly]
    serializer_class = s.UserOutputSerializer

    def get_queryset(self):
        return selectors.user_list()

    @extend_schema(request=s.UserCreateInputSerializer, responses={201: s.UserOutputSerializer})
    def create(self, request):
        data = s.UserCreateInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        user = services.user_create(actor=request.user, **data.validated_data)
        return Response(s.UserOutputSerializer(user).data, status=status.HTTP_201_CREATED)


class RoleAssignmentViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.DestroyModelMixin, viewsets.GenericViewSet
):
    """Who holds which role on which scope tags (Administrators only). POST sets a user's role."""

    permission_classes = [AdministratorOnly]
    serializer_class = s.RoleAssignmentOutputSerializer

    def get_queryset(self):
        return selectors.role_assignment_list()

    @extend_schema(request=s.RoleAssignmentInputSerializer, responses={201: s.RoleAssignmentOutputSerializer})
    def create(self, request):
        data = s.RoleAssignmentInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        assignment = services.role_assignment_set(
            actor=request.user,
            user=data.validated_data["user"],
            role=data.validated_data["role"],
            scope_tags=data.validated_data.get("scope_tags", []),
        )
        return Response(s.RoleAssignmentOutputSerializer(assignment).data, status=status.HTTP_201_CREATED)

    def perform_destroy(self, instance):
        services.role_assignment_delete(actor=self.request.user, assignment=instance)


class ApiTokenViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.DestroyModelMixin, viewsets.GenericViewSet
):
    """Your own API tokens. The key is returned once, at creation; DELETE revokes."""

    serializer_class = s.ApiTokenOutputSerializer
    queryset = ApiToken.objects.none()  # tells the schema generator the model; get_queryset does the reading

    def get_queryset(self):
        return selectors.api_token_list(user=self.request.user)

    @extend_schema(request=s.ApiTokenInputSerializer, responses={201: s.ApiTokenCreatedOutputSerializer})
    def create(self, request):
        data = s.ApiTokenInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        token, key = services.api_token_create(actor=request.user, user=request.user, **data.validated_data)
        token.key = key
        return Response(s.ApiTokenCreatedOutputSerializer(token).data, status=status.HTTP_201_CREATED)

    def perform_destroy(self, instance):
        services.api_token_revoke(actor=self.request.user, token=instance)
