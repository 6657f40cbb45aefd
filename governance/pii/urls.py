"""/api/v1/governance/redact (added to the tenant API routes in rmn_saas/api_urls.py)."""

from django.urls import path

from governance.pii.api import RedactApi

urlpatterns: list = [
    path("governance/redact", RedactApi.as_view(), name="governance-redact"),
]
