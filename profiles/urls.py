from django.urls import path

from profiles import views

app_name = "profiles"

urlpatterns = [path("", views.VppTokenListView.as_view(), name="vpp_token_list")]
