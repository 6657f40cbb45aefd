"""URLs of a tenant's domain (`<slug>.localhost`): pages, the tenant admin, the full API."""

from django.urls import include, path

from rmn_saas import api_urls
from rmn_saas.admin_sites import tenant_admin_site
from rmn_saas.urls_common import common

urlpatterns = [
    *common,
    path("admin/", tenant_admin_site.urls),
    path("api/v1/", include((api_urls.tenant, "api"))),
    path("", include("rmn_saas.page_urls")),
]

handler404 = "rmn_saas.views.not_found"
handler500 = "rmn_saas.views.server_error"
