"""RMN Copilot's project package: settings, URLs, the Celery app and the embedded-services bootstrap."""

from rmn_saas.celery import app as celery_app

__all__ = ["celery_app"]
