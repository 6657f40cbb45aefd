"""The Celery app: tenant-aware (each task carries its schema in a header) and configured from Django settings."""

from __future__ import annotations

import os

from tenant_schemas_celery.app import CeleryApp

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "rmn_saas.settings")

app = CeleryApp("rmn_saas")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks(["tenants.jobs", "inference", "inference.rag", "campaigns"])
