from django.urls import path

from tokens import views

app_name = "tokens"

urlpatterns = [
    path("", views.TokenListView.as_view(), name="token_list"),
    path("add/", views.TokenAddView.as_view(), name="token_add"),
    path("add/<int:pk>/", views.TokenWizardView.as_view(), name="token_wizard"),
    path("add/<int:pk>/status/", views.TokenWizardStatusView.as_view(), name="token_wizard_status"),
    path("add/<int:pk>/check/", views.TokenWizardCheckView.as_view(), name="token_wizard_check"),
    path("add/<int:pk>/abandon/", views.TokenAbandonView.as_view(), name="token_abandon"),
    path("<int:pk>/", views.TokenDetailView.as_view(), name="token_detail"),
    path("<int:pk>/public-key/", views.TokenPublicKeyView.as_view(), name="token_public_key"),
    path("<int:pk>/renew/", views.TokenRenewView.as_view(), name="token_renew"),
    path("<int:pk>/edit/", views.TokenEditView.as_view(), name="token_edit"),
    path("<int:pk>/delete/", views.TokenDeleteView.as_view(), name="token_delete"),
]
