"""/api/v1/ routes. The platform domain serves the identity routes only; tenant domains serve them all."""

from django.urls import path

from campaigns.api import (
    AllocateApi,
    BatchDetailApi,
    BatchListApi,
    BatchRejectsCsvApi,
    IngestApi,
    MappingSpecListCreateApi,
    MetricsApi,
)
from campaigns.measure.api import (
    ExperimentCancelApi,
    ExperimentDetailApi,
    ExperimentListCreateApi,
    ExperimentPowerApi,
    ExperimentReadoutApi,
)
from campaigns.plans.api import PlanCompareApi, PlanDetailApi, PlanListCreateApi
from governance.audit.api import AuditExportApi, AuditListApi
from governance.cleanroom.api import CleanRoomAudienceApi, CleanRoomBudgetApi, CleanRoomQueryApi
from governance.pii import urls as pii_urls
from governance.policies import urls as policy_urls
from governance.scan_api import GovernanceScanApi
from inference.adapters import urls as adapter_urls
from inference.api import GenerateApi
from inference.rag.api import RagSearchApi
from tenants.api import ApiKeyListCreateApi, ApiKeyRevokeApi, MeApi, TokenObtainApi, TokenRefreshApi
from tenants.jobs.api import JobCancelApi, JobDetailApi, JobListApi
from tenants.leases_api import (
    LeaseDetailApi,
    LeaseListCreateApi,
    LeaseQueriesApi,
    LeaseRevokeApi,
    LeaseStatementApi,
)

identity = [
    path("me", MeApi.as_view(), name="me"),
    path("auth/token", TokenObtainApi.as_view(), name="token-obtain"),
    path("auth/token/refresh", TokenRefreshApi.as_view(), name="token-refresh"),
]

tenant = [
    *identity,
    path("api-keys", ApiKeyListCreateApi.as_view(), name="api-keys"),
    path("api-keys/<str:key_id>/revoke", ApiKeyRevokeApi.as_view(), name="api-key-revoke"),
    path("jobs", JobListApi.as_view(), name="jobs"),
    path("jobs/<str:job_id>", JobDetailApi.as_view(), name="job-detail"),
    path("jobs/<str:job_id>/cancel", JobCancelApi.as_view(), name="job-cancel"),
    path("generate", GenerateApi.as_view(), name="generate"),
    path("rag/search", RagSearchApi.as_view(), name="rag-search"),
    path("ingest", IngestApi.as_view(), name="ingest"),
    path("ingest/batches", BatchListApi.as_view(), name="ingest-batches"),
    path("ingest/batches/<int:batch_id>", BatchDetailApi.as_view(), name="ingest-batch-detail"),
    path("ingest/batches/<int:batch_id>/rejects.csv", BatchRejectsCsvApi.as_view(), name="ingest-batch-rejects"),
    path("mapping-specs", MappingSpecListCreateApi.as_view(), name="mapping-specs"),
    path("rmis/metrics", MetricsApi.as_view(), name="rmis-metrics"),
    path("optimize/allocate", AllocateApi.as_view(), name="optimize-allocate"),
    path("experiments", ExperimentListCreateApi.as_view(), name="experiments"),
    path("experiments/power", ExperimentPowerApi.as_view(), name="experiments-power"),
    path("experiments/<int:experiment_id>", ExperimentDetailApi.as_view(), name="experiment-detail"),
    path("experiments/<int:experiment_id>/readout", ExperimentReadoutApi.as_view(), name="experiment-readout"),
    path("experiments/<int:experiment_id>/cancel", ExperimentCancelApi.as_view(), name="experiment-cancel"),
    path("plans", PlanListCreateApi.as_view(), name="plans"),
    path("plans/<int:plan_id>", PlanDetailApi.as_view(), name="plan-detail"),
    path("plans/<int:plan_id>/compare/<int:other_id>", PlanCompareApi.as_view(), name="plan-compare"),
    path("leases", LeaseListCreateApi.as_view(), name="leases"),
    path("leases/<int:lease_id>", LeaseDetailApi.as_view(), name="lease-detail"),
    path("leases/<int:lease_id>/revoke", LeaseRevokeApi.as_view(), name="lease-revoke"),
    path("leases/<int:lease_id>/queries", LeaseQueriesApi.as_view(), name="lease-queries"),
    path("leases/<int:lease_id>/statement", LeaseStatementApi.as_view(), name="lease-statement"),
    path("cleanroom/query", CleanRoomQueryApi.as_view(), name="cleanroom-query"),
    path("cleanroom/budget", CleanRoomBudgetApi.as_view(), name="cleanroom-budget"),
    path("cleanroom/audience", CleanRoomAudienceApi.as_view(), name="cleanroom-audience"),
    path("governance/scan", GovernanceScanApi.as_view(), name="governance-scan"),
    path("audit", AuditListApi.as_view(), name="audit"),
    path("audit/export.csv", AuditExportApi.as_view(), name="audit-export"),
    *pii_urls.urlpatterns,
    *policy_urls.urlpatterns,
    *adapter_urls.urlpatterns,
]
