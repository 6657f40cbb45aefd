from django.apps import AppConfig


class TrainingConfig(AppConfig):
    name = "inference.training"
    label = "training"
    default_auto_field = "django.db.models.BigAutoField"
    verbose_name = "Adapter training"
