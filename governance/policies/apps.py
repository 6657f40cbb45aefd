from django.apps import AppConfig


class PoliciesConfig(AppConfig):
    name = "governance.policies"
    label = "policies"
    default_auto_field = "django.db.models.BigAutoField"
    verbose_name = "Retailer policies"
