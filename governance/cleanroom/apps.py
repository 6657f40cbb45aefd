from django.apps import AppConfig


class CleanRoomConfig(AppConfig):
    name = "governance.cleanroom"
    label = "cleanroom"
    default_auto_field = "django.db.models.BigAutoField"
    verbose_name = "Clean room"
