"""/api/v1/adapters… (added to the tenant API routes)."""

from django.urls import path

from inference.adapters.api import (
    AdapterApproveApi,
    AdapterDetailApi,
    AdapterListUploadApi,
    AdapterRetireApi,
    AdapterRouteApi,
)

urlpatterns = [
    path("adapters", AdapterListUploadApi.as_view(), name="adapters"),
    path("adapters/route", AdapterRouteApi.as_view(), name="adapter-route"),
    path("adapters/<int:adapter_id>", AdapterDetailApi.as_view(), name="adapter-detail"),
    path("adapters/<int:adapter_id>/approve", AdapterApproveApi.as_view(), name="adapter-approve"),
    path("adapters/<int:adapter_id>/retire", AdapterRetireApi.as_view(), name="adapter-retire"),
]
