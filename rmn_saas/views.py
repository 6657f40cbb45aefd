"""Project-wide views: health, metrics (platform domain only), and JSON 404/500 for API paths."""

from __future__ import annotations

from django.db import connection
from django.http import HttpResponse, JsonResponse
from django.shortcuts import render

from rmn_saas import metrics
from rmn_saas.errors import NOT_FOUND_MESSAGE, json_error


def healthz(request):
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return JsonResponse({"status": "ok"})


def metrics_view(request):
    return HttpResponse(metrics.render_latest(), content_type="text/plain; version=0.0.4; charset=utf-8")


def not_found(request, exception=None):
    if request.path.startswith("/api/"):
        return json_error(404, "not_found", NOT_FOUND_MESSAGE)
    return render(request, "404.html", status=404)


def server_error(request):
    if request.path.startswith("/api/"):
        return json_error(500, "server_error", "The server failed to handle this request.")
    return render(request, "500.html", status=500)
