"""/api/v1/adapters… and /api/v1/adapters/train… (added to the tenant API routes)."""

from django.urls import path

from inference.adapters.api import (
    AdapterApproveApi,
    AdapterDetailApi,
    AdapterListUploadApi,
    AdapterRetireApi,
    AdapterRouteApi,
)
from inference.training.api import (
    TrainingRunCancelApi,
    TrainingRunDetailApi,
    TrainingRunListStartApi,
    TrainingRunResumeApi,
)

urlpatterns = [
    path("adapters", AdapterListUploadApi.as_view(), name="adapters"),
    path("adapters/route", AdapterRouteApi.as_view(), name="adapter-route"),
    path("adapters/train", TrainingRunListStartApi.as_view(), name="training-runs"),
    path("adapters/train/<int:run_id>", TrainingRunDetailApi.as_view(), name="training-run-detail"),
    path("adapters/train/<int:run_id>/cancel", TrainingRunCancelApi.as_view(), name="training-run-cancel"),
    path("adapters/train/<int:run_id>/resume", TrainingRunResumeApi.as_view(), name="training-run-resume"),
    path("adapters/<int:adapter_id>", AdapterDetailApi.as_view(), name="adapter-detail"),
    path("adapters/<int:adapter_id>/approve", AdapterApproveApi.as_view(), name="adapter-approve"),
    path("adapters/<int:adapter_id>/retire", AdapterRetireApi.as_view(), name="adapter-retire"),
]
