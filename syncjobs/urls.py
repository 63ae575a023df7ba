from django.urls import path

from syncjobs import views

app_name = "syncjobs"

urlpatterns = [
    path("<int:pk>/sync/", views.SyncStartView.as_view(), name="sync_start"),
    path("<int:pk>/sync/panel/", views.SyncPanelView.as_view(), name="sync_panel"),
    path("<int:pk>/sync/reset-cursor/", views.SyncResetCursorView.as_view(), name="reset_cursor"),
]
