"""Page: the tenant's audit log, filterable, for tenant admins."""

from __future__ import annotations

from django.core.paginator import Paginator
from django.shortcuts import render

from governance.audit.models import Outcome
from governance.audit.selectors import audit_list
from rmn_saas.page_access import page


@page(admin=True)
def audit_page(request):
    filters = {
        "action": request.GET.get("action", "").strip()[:100],
        "actor": request.GET.get("actor", "").strip()[:200],
        "outcome": request.GET.get("outcome", "") if request.GET.get("outcome") in Outcome.values else "",
        "request_id": request.GET.get("request_id", "").strip()[:64],
    }
    entries = Paginator(audit_list(**filters), 50).get_page(request.GET.get("page"))
    context = {"entries": entries, "filters": filters, "outcomes": Outcome.choices}
    template = "pages/audit.html#audit-table" if request.htmx else "pages/audit.html"
    return render(request, template, context)
