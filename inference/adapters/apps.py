from django.apps import AppConfig


class AdaptersConfig(AppConfig):
    name = "inference.adapters"
    label = "adapters"
    default_auto_field = "django.db.models.BigAutoField"
    verbose_name = "LoRA adapters"
