from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "depportal.accounts"
    label = "accounts"
    verbose_name = "Accounts, roles and scope tags"
