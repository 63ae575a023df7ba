from django.urls import path

from depportal.accounts import views

app_name = "accounts"

urlpatterns = [
    path("roles/", views.RoleListView.as_view(), name="role_list"),
    path(
        "roles/assignments/<int:pk>/remove/", views.RoleAssignmentDeleteView.as_view(), name="role_assignment_delete"
    ),
    path("scope-tags/", views.ScopeTagListView.as_view(), name="scope_tag_list"),
    path("scope-tags/<int:pk>/", views.ScopeTagEditView.as_view(), name="scope_tag_edit"),
    path("api-tokens/", views.ApiTokenListView.as_view(), name="api_token_list"),
]
