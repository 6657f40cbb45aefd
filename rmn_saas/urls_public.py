"""URLs of the platform domain (`localhost`): the platform admin, identity API and metrics."""

from django.urls import include, path
from django.views.generic import RedirectView

from rmn_saas import api_urls
from rmn_saas.admin_sites import platform_admin_site
from rmn_saas.urls_common import common
from rmn_saas.views import metrics_view

urlpatterns = [
    *common,
    path("admin/", platform_admin_site.urls),
    path("api/v1/", include((api_urls.identity, "api"))),
    path("metrics", metrics_view, name="metrics"),
    path("", RedirectView.as_view(url="/admin/", permanent=False)),
]

handler404 = "rmn_saas.views.not_found"
handler500 = "rmn_saas.views.server_error"
