"""Project-wide views: metrics (platform domain only), and JSON 404/500 for API paths."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpResponse
from django.shortcuts import render
from django.utils.crypto import constant_time_compare

from rmn_saas import metrics
from rmn_saas.errors import NOT_FOUND_MESSAGE, json_error


def metrics_view(request):
    # Optional shared secret for scrapers; without it /metrics relies on being served on the platform domain only.
    token = settings.RMN_METRICS_TOKEN
    if token and not constant_time_compare(request.headers.get("Authorization", ""), f"Bearer {token}"):
        return json_error(401, "not_authenticated", "A valid metrics token is required.")
    return HttpResponse(metrics.render_latest(), content_type="text/plain; version=0.0.4; charset=utf-8")


def not_found(request, exception=None):
    if request.path.startswith("/api/"):
        return json_error(404, "not_found", NOT_FOUND_MESSAGE)
    return render(request, "404.html", status=404)


def server_error(request):
    if request.path.startswith("/api/"):
        return json_error(500, "server_error", "The server failed to handle this request.")
    return render(request, "500.html", status=500)
