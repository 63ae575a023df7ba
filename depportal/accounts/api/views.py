from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
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
    """Console users with their role assignments (Administrators only): the console's Users page."""

    permission_classes = [AdministratorOnly]
    serializer_class = s.UserOutputSerializer
    http_method_names = ["get", "post", "put", "patch", "delete", "head", "options"]

    def get_queryset(self):
        return selectors.user_list(search=self.request.query_params.get("search", "").strip())

    def _user_data(self, user):
        return s.UserOutputSerializer(selectors.user_get(pk=user.pk)).data

    @extend_schema(request=s.UserCreateInputSerializer, responses={201: s.UserOutputSerializer})
    def create(self, request):
        data = s.UserCreateInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        user = services.user_create(actor=request.user, **data.validated_data)
        return Response(self._user_data(user), status=status.HTTP_201_CREATED)

    @extend_schema(request=s.UserUpdateInputSerializer, responses=s.UserOutputSerializer)
    def partial_update(self, request, pk=None):
        user = self.get_object()
        data = s.UserUpdateInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        user = services.user_update(actor=request.user, user=user, **data.validated_data)
        return Response(self._user_data(user))

    @extend_schema(responses={204: None})
    def destroy(self, request, pk=None):
        services.user_delete(actor=request.user, user=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(request=None, responses=s.PasswordResetLinkOutputSerializer)
    @action(detail=True, methods=["post"], url_path="password-reset")
    def password_reset(self, request, pk=None):
        """A one-time link with which the user chooses a new password."""
        path, valid_until = services.user_password_reset_link(actor=request.user, user=self.get_object())
        return Response({"link": request.build_absolute_uri(path), "valid_until": valid_until})

    @extend_schema(request=s.UserRolesInputSerializer, responses=s.UserOutputSerializer)
    @action(detail=True, methods=["put"])
    def roles(self, request, pk=None):
        """Set every role of the user at once, each with its scope tags."""
        user = self.get_object()
        data = s.UserRolesInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        roles = {entry["role"]: entry.get("scope_tags", []) for entry in data.validated_data["roles"]}
        services.user_roles_set(actor=request.user, user=user, roles=roles)
        return Response(self._user_data(user))

    @extend_schema(responses=s.ApiTokenOutputSerializer(many=True))
    @action(detail=True, methods=["get"], url_path="api-tokens")
    def api_tokens(self, request, pk=None):
        """The user's API tokens (never their keys)."""
        tokens = selectors.api_token_list(user=self.get_object())
        return Response(s.ApiTokenOutputSerializer(tokens, many=True).data)


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
