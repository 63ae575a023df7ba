from django.urls import path

from depportal.audit import views

app_name = "audit"

urlpatterns = [path("", views.AuditEventListView.as_view(), name="event_list")]
