"""Console URLs of the devices app, mounted at the site root: lists across tokens and under each token."""

from django.urls import path

from devices import views

app_name = "devices"

urlpatterns = [
    path("devices/", views.DeviceListView.as_view(), name="device_list"),
    path("devices/ios/", views.DeviceListView.as_view(platform="ios"), name="ios_device_list"),
    path("devices/macos/", views.DeviceListView.as_view(platform="macos"), name="macos_device_list"),
    path("devices/tvos/", views.DeviceListView.as_view(platform="tvos"), name="tvos_device_list"),
    path("devices/visionos/", views.DeviceListView.as_view(platform="visionos"), name="visionos_device_list"),
    path("devices/export.csv", views.DeviceExportView.as_view(), name="device_export"),
    path("devices/bulk/", views.DeviceBulkView.as_view(), name="device_bulk"),
    path("devices/columns/", views.DeviceColumnsView.as_view(), name="device_columns"),
    path("devices/import/", views.DeviceImportView.as_view(), name="device_import"),
    path("devices/imports/<int:pk>/", views.DeviceImportDetailView.as_view(), name="device_import_detail"),
    path("devices/imports/<int:pk>/report.csv", views.DeviceImportReportView.as_view(), name="device_import_report"),
    path("devices/<int:pk>/", views.DeviceDetailView.as_view(), name="device_detail"),
    path("devices/<int:pk>/delete/", views.DeviceDeleteView.as_view(), name="device_delete"),
    path("devices/<int:pk>/restore/", views.DeviceRestoreView.as_view(), name="device_restore"),
    path("tokens/<int:token_pk>/devices/", views.DeviceListView.as_view(), name="token_device_list"),
    path("tokens/<int:token_pk>/devices/import/", views.DeviceImportView.as_view(), name="token_device_import"),
]
