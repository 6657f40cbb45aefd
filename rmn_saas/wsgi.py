"""WSGI entry point for the web process (gunicorn in production). It never imports torch or transformers."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "rmn_saas.settings")

application = get_wsgi_application()
