"""Pages: the dashboard and API-key management."""

from __future__ import annotations

from django import forms
from django.shortcuts import render
from django.views.decorators.http import require_POST

from governance.audit.selectors import audit_list
from rmn_saas.errors import ApiError
from rmn_saas.page_access import page
from tenants.jobs.models import JobStatus
from tenants.jobs.selectors import job_list
from tenants.models import Role
from tenants.selectors import api_key_list
from tenants.services import api_key_create, api_key_revoke


@page()
def dashboard(request):
    jobs = job_list()
    counts = {status: jobs.filter(status=status).count() for status in JobStatus.values}
    context = {
        "job_counts": counts,
        "recent_jobs": jobs[:5],
        "recent_audit": audit_list()[:8] if request.user.is_tenant_admin else [],
    }
    return render(request, "pages/dashboard.html", context)


class ApiKeyForm(forms.Form):
    name = forms.CharField(max_length=100)
    role = forms.ChoiceField(choices=Role.choices, initial=Role.VIEWER)


@page(admin=True)
def api_keys_page(request):
    form = ApiKeyForm(request.POST or None)
    created_key = None
    if request.method == "POST" and form.is_valid():
        try:
            _, created_key = api_key_create(tenant=request.tenant, actor=request.user.actor, **form.cleaned_data)
            form = ApiKeyForm()
        except ApiError as exc:
            form.add_error("name", str(exc.detail))
    context = {"form": form, "keys": api_key_list(tenant=request.tenant), "created_key": created_key}
    template = "pages/api_keys.html#key-panel" if request.htmx else "pages/api_keys.html"
    return render(request, template, context)


@require_POST
@page(admin=True)
def api_key_revoke_view(request, key_id: str):
    try:
        api_key_revoke(tenant=request.tenant, key_id=key_id, actor=request.user.actor)
    except ApiError:
        pass  # already revoked: the refreshed panel shows it so
    context = {"form": ApiKeyForm(), "keys": api_key_list(tenant=request.tenant), "created_key": None}
    return render(request, "pages/api_keys.html#key-panel", context)
