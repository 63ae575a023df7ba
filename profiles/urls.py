"""Console URLs of the profiles app, mounted at the site root: profiles live under their token."""

from django.urls import path

from profiles import views

app_name = "profiles"

urlpatterns = [
    # The device list's and a device page's Assign and Unassign, and an import's confirmation.
    path("devices/bulk/assign/", views.DeviceAssignView.as_view(), name="device_assign"),
    path("devices/imports/<int:pk>/confirm/", views.DeviceImportConfirmView.as_view(), name="device_import_confirm"),
    path("vpp-tokens/", views.VppTokenListView.as_view(), name="vpp_token_list"),
    path("vpp-tokens/upload/", views.VppTokenUploadView.as_view(), name="vpp_token_upload"),
    path("vpp-tokens/<int:pk>/", views.VppTokenEditView.as_view(), name="vpp_token_edit"),
    path("vpp-tokens/<int:pk>/refresh/", views.VppTokenRefreshView.as_view(), name="vpp_token_refresh"),
    path("configurator-certificates/upload/", views.CertificateUploadView.as_view(), name="certificate_upload"),
    path(
        "configurator-certificates/<int:pk>/delete/", views.CertificateDeleteView.as_view(), name="certificate_delete"
    ),
    path("enrollment/<str:platform>/", views.PlatformEnrollmentView.as_view(), name="platform_enrollment"),
    path("tokens/<int:token_pk>/profiles/", views.ProfileListView.as_view(), name="profile_list"),
    path("tokens/<int:token_pk>/profiles/create/", views.ProfileCreateView.as_view(), name="profile_create"),
    path("tokens/<int:token_pk>/default-profile/", views.DefaultProfileView.as_view(), name="default_profile"),
    path("profiles/<int:pk>/", views.ProfileDetailView.as_view(), name="profile_detail"),
    path("profiles/<int:pk>/edit/", views.ProfileEditView.as_view(), name="profile_edit"),
    path("profiles/<int:pk>/push/", views.ProfilePushView.as_view(), name="profile_push"),
    path("profiles/<int:pk>/delete/", views.ProfileDeleteView.as_view(), name="profile_delete"),
    path("profiles/<int:pk>/assign/", views.ProfileAssignView.as_view(), name="profile_assign"),
    path("profiles/<int:pk>/unassign/", views.ProfileUnassignView.as_view(), name="profile_unassign"),
    path("assignment-jobs/<int:pk>/", views.JobDetailView.as_view(), name="job_detail"),
]
