from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from depportal.accounts.roles import CHANGE, VIEW
from depportal.accounts.scoping import scoped
from depportal.api.permissions import RolePermission
from depportal.core.exceptions import ApplicationError
from profiles import selectors, services
from profiles.api import serializers as s
from profiles.models import EnrollmentProfile, Platform
from profiles.vpp import MAX_UPLOAD_BYTES
from tokens import selectors as token_selectors
from tokens.models import EnrollmentProgramToken


def _job_response(job):
    code = status.HTTP_200_OK if job.is_done else status.HTTP_202_ACCEPTED
    return Response(s.AssignmentJobSerializer(job).data, status=code)


class ProfileViewSet(viewsets.GenericViewSet):
    """Enrollment profiles: the same settings, rules and errors as the console's wizard.

    Create and every edit that changes Apple's copy define a new profile at Apple; an edit re-assigns the devices
    that had the old one (see `reassign_job`). Assignment answers 200 with per-device results, or 202 with a job
    to poll at /assignment-jobs/{id}/ when it needs more than one Apple call.
    """

    permission_classes = [RolePermission]
    queryset = EnrollmentProfile.objects.none()
    serializer_class = s.ProfileOutputSerializer

    def _get(self, pk, action=VIEW):
        return selectors.profile_get(user=self.request.user, pk=pk, action=action)

    def _output(self, profile, **extra):
        data = dict(s.ProfileOutputSerializer(selectors.profile_get(user=self.request.user, pk=profile.pk)).data)
        data["warnings"] = getattr(profile, "warnings", [])
        data.update(extra)
        return data

    @extend_schema(
        parameters=[OpenApiParameter("token", int), OpenApiParameter("search", str)],
        responses=s.ProfileOutputSerializer(many=True),
    )
    def list(self, request):
        token = None
        if request.query_params.get("token"):
            token = token_selectors.token_get(user=request.user, pk=request.query_params["token"])
        profiles = selectors.profile_list(
            user=request.user, token=token, search=request.query_params.get("search", "")
        )
        # Each row lists its certificates: one query for the page, not one per profile.
        page = self.paginate_queryset(profiles.prefetch_related("configurator_certificates"))
        return self.get_paginated_response(s.ProfileOutputSerializer(page, many=True).data)

    @extend_schema(request=s.ProfileInputSerializer, responses={201: s.ProfileOutputSerializer})
    def create(self, request):
        data = s.ProfileInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        token_id = values.pop("token", None)
        token = scoped(EnrollmentProgramToken.objects.filter(pk=token_id), request.user, VIEW).first()
        if token is None:
            raise ApplicationError("Choose a token you can see.", fields={"token": ["Choose a token you can see."]})
        token = token_selectors.token_get(user=request.user, pk=token.pk, action=CHANGE)
        profile = services.profile_create(actor=request.user, token=token, values=values)
        return Response(self._output(profile), status=status.HTTP_201_CREATED)

    @extend_schema(responses=s.ProfileOutputSerializer)
    def retrieve(self, request, pk=None):
        return Response(s.ProfileOutputSerializer(self._get(pk)).data)

    def _update(self, request, pk, *, partial: bool):
        profile = self._get(pk, CHANGE)
        data = s.ProfileInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        if "token" in values and values.pop("token") != profile.token_id:
            raise ApplicationError("A profile cannot move to another token.", fields={"token": ["Cannot change."]})
        if not partial:
            # PUT states the whole profile: what it leaves out takes the default.
            values = {**services.default_values(profile.platform), **values}
        profile = services.profile_update(actor=request.user, profile=profile, values=values)
        job = profile.reassign_job
        return Response(self._output(profile, reassign_job=s.AssignmentJobSerializer(job).data if job else None))

    @extend_schema(request=s.ProfileInputSerializer, responses=s.ProfileOutputSerializer)
    def update(self, request, pk=None):
        return self._update(request, pk, partial=False)

    @extend_schema(request=s.ProfileInputSerializer, responses=s.ProfileOutputSerializer)
    def partial_update(self, request, pk=None):
        return self._update(request, pk, partial=True)

    @extend_schema(
        parameters=[OpenApiParameter("confirm", bool, description="Required when devices use the profile.")],
        responses={204: None},
    )
    def destroy(self, request, pk=None):
        profile = self._get(pk, CHANGE)
        confirmed = request.query_params.get("confirm", "").lower() in ("1", "true", "yes")
        services.profile_delete(actor=request.user, profile=profile, confirmed=confirmed)
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(request=s.SerialNumbersSerializer, responses={200: s.AssignmentJobSerializer})
    @action(detail=True, methods=["post"])
    def assign(self, request, pk=None):
        profile = self._get(pk, CHANGE)
        data = s.SerialNumbersSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        job = services.profile_assign_devices(
            actor=request.user, profile=profile, serials=data.validated_data["serial_numbers"]
        )
        return _job_response(job)

    @extend_schema(request=s.SerialNumbersSerializer, responses={200: s.AssignmentJobSerializer})
    @action(detail=True, methods=["post"])
    def unassign(self, request, pk=None):
        profile = self._get(pk, CHANGE)
        data = s.SerialNumbersSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        job = services.profile_unassign_devices(
            actor=request.user, profile=profile, serials=data.validated_data["serial_numbers"]
        )
        return _job_response(job)

    @extend_schema(request=None, responses=s.ProfileOutputSerializer)
    @action(detail=True, methods=["post"])
    def push(self, request, pk=None):
        profile = services.profile_push(actor=request.user, profile=self._get(pk, CHANGE))
        return Response(self._output(profile))


class TokenDefaultProfileViewSet(viewsets.GenericViewSet):
    """A token's default profile per platform: new devices without a profile get it after each sync."""

    permission_classes = [RolePermission]
    queryset = EnrollmentProgramToken.objects.none()
    serializer_class = s.DefaultProfileSerializer

    @extend_schema(
        parameters=[OpenApiParameter("platform", str, enum=Platform.values)],
        responses=s.DefaultProfileSerializer,
    )
    @action(detail=True, methods=["get", "put"], url_path="default-profile")
    def default_profile(self, request, pk=None):
        if request.method == "GET":
            token = token_selectors.token_get(user=request.user, pk=pk)
            platform = request.query_params.get("platform", Platform.IOS)
            if platform not in Platform.values:
                raise ApplicationError(
                    "Unknown platform.", fields={"platform": [f"Choose one of: {', '.join(Platform.values)}."]}
                )
            default = EnrollmentProfile.objects.filter(token=token, platform=platform, is_default=True).first()
            return Response({"profile": default.pk if default else None, "platform": platform})
        token = token_selectors.token_get(user=request.user, pk=pk, action=CHANGE)
        data = s.DefaultProfileSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        profile = None
        if data.validated_data["profile"] is not None:
            profile = EnrollmentProfile.objects.filter(token=token, pk=data.validated_data["profile"]).first()
            if profile is None:
                raise ApplicationError("Unknown profile.", fields={"profile": ["Choose a profile of this token."]})
        platform = profile.platform if profile else data.validated_data["platform"]
        services.token_default_profile_set(actor=request.user, token=token, profile=profile, platform=platform)
        return Response({"profile": profile.pk if profile else None, "platform": platform})


class AssignmentJobViewSet(viewsets.GenericViewSet):
    """Assignment requests with progress and per-device results."""

    permission_classes = [RolePermission]
    queryset = EnrollmentProfile.objects.none()
    serializer_class = s.AssignmentJobSerializer

    @extend_schema(parameters=[OpenApiParameter("profile", int)], responses=s.AssignmentJobSerializer(many=True))
    def list(self, request):
        profile = None
        if request.query_params.get("profile"):
            profile = selectors.profile_get(user=request.user, pk=request.query_params["profile"])
        page = self.paginate_queryset(selectors.job_list(user=request.user, profile=profile))
        return self.get_paginated_response(s.AssignmentJobSerializer(page, many=True).data)

    def retrieve(self, request, pk=None):
        return Response(s.AssignmentJobSerializer(selectors.job_get(user=request.user, pk=pk)).data)


class VppTokenViewSet(viewsets.GenericViewSet):
    """Apple VPP tokens for installing Company Portal; the sToken is stored encrypted and never returned."""

    permission_classes = [RolePermission]
    queryset = EnrollmentProfile.objects.none()
    serializer_class = s.VppTokenOutputSerializer

    def list(self, request):
        page = self.paginate_queryset(selectors.vpp_token_list(user=request.user))
        return self.get_paginated_response(s.VppTokenOutputSerializer(page, many=True).data)

    def retrieve(self, request, pk=None):
        return Response(s.VppTokenOutputSerializer(selectors.vpp_token_get(user=request.user, pk=pk)).data)

    @extend_schema(
        request={"multipart/form-data": s.VppTokenCreateSerializer}, responses={201: s.VppTokenOutputSerializer}
    )
    def create(self, request):
        data = s.VppTokenCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        token_file = values.pop("token_file").read(MAX_UPLOAD_BYTES + 1)
        vpp_token = services.vpp_token_create(actor=request.user, token_file=token_file, **values)
        return Response(s.VppTokenOutputSerializer(vpp_token).data, status=status.HTTP_201_CREATED)

    @extend_schema(request={"multipart/form-data": s.VppTokenUpdateSerializer}, responses=s.VppTokenOutputSerializer)
    def partial_update(self, request, pk=None):
        vpp_token = selectors.vpp_token_get(user=request.user, pk=pk, action=CHANGE)
        data = s.VppTokenUpdateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        if "token_file" in values:
            values["token_file"] = values["token_file"].read(MAX_UPLOAD_BYTES + 1)
        vpp_token = services.vpp_token_update(actor=request.user, vpp_token=vpp_token, **values)
        return Response(s.VppTokenOutputSerializer(vpp_token).data)

    @extend_schema(request=None, responses=s.VppTokenOutputSerializer)
    @action(detail=True, methods=["post"])
    def refresh(self, request, pk=None):
        """Read Company Portal's licence counts and the expiry from Apple's Apps and Books service now."""
        vpp_token = selectors.vpp_token_get(user=request.user, pk=pk, action=CHANGE)
        return Response(
            s.VppTokenOutputSerializer(services.vpp_token_refresh(actor=request.user, vpp_token=vpp_token)).data
        )

    @extend_schema(responses={204: None})
    def destroy(self, request, pk=None):
        services.vpp_token_delete(
            actor=request.user, vpp_token=selectors.vpp_token_get(user=request.user, pk=pk, action=CHANGE)
        )
        return Response(status=status.HTTP_204_NO_CONTENT)


class ConfiguratorCertificateViewSet(viewsets.GenericViewSet):
    """Apple Configurator certificates; attached to profiles they become Apple's supervising_host_certs."""

    permission_classes = [RolePermission]
    queryset = EnrollmentProfile.objects.none()
    serializer_class = s.CertificateOutputSerializer

    def list(self, request):
        page = self.paginate_queryset(selectors.certificate_list(user=request.user))
        return self.get_paginated_response(s.CertificateOutputSerializer(page, many=True).data)

    def retrieve(self, request, pk=None):
        return Response(s.CertificateOutputSerializer(selectors.certificate_get(user=request.user, pk=pk)).data)

    @extend_schema(
        request={"multipart/form-data": s.CertificateCreateSerializer}, responses={201: s.CertificateOutputSerializer}
    )
    def create(self, request):
        data = s.CertificateCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        certificate_file = values.pop("certificate_file").read(MAX_UPLOAD_BYTES + 1)
        certificate = services.configurator_certificate_create(
            actor=request.user, certificate_file=certificate_file, **values
        )
        return Response(s.CertificateOutputSerializer(certificate).data, status=status.HTTP_201_CREATED)

    @extend_schema(responses={204: None})
    def destroy(self, request, pk=None):
        certificate = selectors.certificate_get(user=request.user, pk=pk, action=CHANGE)
        services.configurator_certificate_delete(actor=request.user, certificate=certificate)
        return Response(status=status.HTTP_204_NO_CONTENT)
