from django.urls import path

from business import views

app_name = "business"

urlpatterns = [
    path("", views.ConnectionView.as_view(), name="connection"),
    path("devices/", views.InventoryView.as_view(), name="inventory"),
    path("devices/<str:serial>/", views.OrgDeviceView.as_view(), name="device"),
    path("activities/new/", views.ActivityNewView.as_view(), name="activity_new"),
    path("activities/<int:pk>/", views.ActivityDetailView.as_view(), name="activity_detail"),
    path("webhook/", views.webhook_receiver, name="webhook"),
]
