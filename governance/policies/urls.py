"""/api/v1/governance/policies… and /api/v1/governance/check-creative (added to the tenant API routes)."""

from django.urls import path

from governance.policies.api import CheckCreativeApi, PolicyActivateApi, PolicyExportApi, PolicyListImportApi

urlpatterns = [
    path("governance/check-creative", CheckCreativeApi.as_view(), name="governance-check-creative"),
    path("governance/policies", PolicyListImportApi.as_view(), name="governance-policies"),
    path("governance/policies/<int:version>", PolicyExportApi.as_view(), name="governance-policy-detail"),
    path("governance/policies/<int:version>/activate", PolicyActivateApi.as_view(),
         name="governance-policy-activate"),
]
