"""Pages of a tenant's domain."""

from django.urls import path

from campaigns.measure.views import (
    experiment_cancel_submit,
    experiment_page,
    experiment_readout_submit,
    experiment_submit,
    experiments_page,
)
from campaigns.plans.views import plan_compare_page, plan_page, plan_submit, plans_page
from campaigns.views import (
    batch_detail_page,
    data_sources_page,
    data_upload,
    performance_page,
    preview_confirm,
    preview_ingest,
    preview_page,
    preview_suggest,
)
from governance.audit.views import audit_page
from inference.adapters.views import (
    adapter_approve_submit,
    adapter_page,
    adapter_publish_submit,
    adapter_retire_submit,
    adapter_upload_submit,
    adapters_page,
)
from inference.training.views import (
    training_cancel_submit,
    training_page,
    training_resume_submit,
    training_row_partial,
    training_run_page,
)
from inference.views import generate_page
from tenants.jobs.views import job_progress_partial, jobs_page
from tenants.lease_views import lease_grant_submit, lease_page, lease_query_submit, lease_revoke_submit, leases_page
from tenants.views import api_key_revoke_view, api_keys_page, dashboard

app_name = "pages"

urlpatterns = [
    path("", dashboard, name="dashboard"),
    path("jobs/", jobs_page, name="jobs"),
    path("jobs/<uuid:job_id>/progress", job_progress_partial, name="job-progress"),
    path("settings/api-keys/", api_keys_page, name="api-keys"),
    path("settings/api-keys/<str:key_id>/revoke", api_key_revoke_view, name="api-key-revoke"),
    path("audit/", audit_page, name="audit"),
    path("generate/", generate_page, name="generate"),
    path("data/", data_sources_page, name="data"),
    path("data/upload", data_upload, name="data-upload"),
    path("data/batches/<int:batch_id>/", batch_detail_page, name="data-batch"),
    path("data/preview/", preview_page, name="data-preview"),
    path("data/preview/suggest", preview_suggest, name="data-preview-suggest"),
    path("data/preview/confirm", preview_confirm, name="data-preview-confirm"),
    path("data/preview/ingest", preview_ingest, name="data-preview-ingest"),
    path("performance/", performance_page, name="performance"),
    path("plans/", plans_page, name="plans"),
    path("plans/create", plan_submit, name="plan-create"),
    path("plans/<int:plan_id>/", plan_page, name="plan"),
    path("plans/<int:plan_id>/compare/<int:other_id>/", plan_compare_page, name="plan-compare"),
    path("experiments/", experiments_page, name="experiments"),
    path("experiments/create", experiment_submit, name="experiment-create"),
    path("experiments/<int:experiment_id>/", experiment_page, name="experiment"),
    path("experiments/<int:experiment_id>/readout", experiment_readout_submit, name="experiment-readout"),
    path("experiments/<int:experiment_id>/cancel", experiment_cancel_submit, name="experiment-cancel"),
    path("leases/", leases_page, name="leases"),
    path("leases/grant", lease_grant_submit, name="lease-grant"),
    path("leases/<int:lease_id>/", lease_page, name="lease"),
    path("leases/<int:lease_id>/revoke", lease_revoke_submit, name="lease-revoke"),
    path("leases/<int:lease_id>/query", lease_query_submit, name="lease-query"),
    path("adapters/", adapters_page, name="adapters"),
    path("adapters/upload", adapter_upload_submit, name="adapter-upload"),
    path("adapters/training/", training_page, name="training"),
    path("adapters/training/<int:run_id>/", training_run_page, name="training-run"),
    path("adapters/training/<int:run_id>/row", training_row_partial, name="training-row"),
    path("adapters/training/<int:run_id>/cancel", training_cancel_submit, name="training-cancel"),
    path("adapters/training/<int:run_id>/resume", training_resume_submit, name="training-resume"),
    path("adapters/<int:adapter_id>/", adapter_page, name="adapter"),
    path("adapters/<int:adapter_id>/approve", adapter_approve_submit, name="adapter-approve"),
    path("adapters/<int:adapter_id>/retire", adapter_retire_submit, name="adapter-retire"),
    path("adapters/<int:adapter_id>/publish", adapter_publish_submit, name="adapter-publish"),
]
