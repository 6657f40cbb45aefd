from django.apps import AppConfig


class RagConfig(AppConfig):
    name = "inference.rag"
    label = "rag"
    default_auto_field = "django.db.models.BigAutoField"
    verbose_name = "Knowledge (RAG)"
