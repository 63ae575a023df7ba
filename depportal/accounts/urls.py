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
    path("users/", views.UserListView.as_view(), name="user_list"),
    path("users/add/", views.UserCreateView.as_view(), name="user_create"),
    path("users/<int:pk>/", views.UserDetailView.as_view(), name="user_detail"),
    path("users/<int:pk>/delete/", views.UserDeleteView.as_view(), name="user_delete"),
]
