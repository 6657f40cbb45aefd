from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "tenants.accounts"
    label = "accounts"
    verbose_name = "Users"

    def ready(self) -> None:
        from tenants.accounts import signals  # noqa: F401 - login audit receivers
