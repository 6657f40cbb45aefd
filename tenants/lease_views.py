"""Pages: the leases a retailer granted (with the grant form and revoking) or a brand holds (with what is left of
their budgets), and one lease for either side: its terms, the queries run under it, its monthly statement and, for
the brand, the clean-room query box.

Viewers read every page. Granting and revoking need a retailer admin (`page(admin=True)`; a brand admin is refused
by lease_grant and lease_revoke themselves); querying needs a brand analyst. The forms are in tenants/lease_forms.py.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST
from django_htmx.http import HttpResponseClientRedirect

from rmn_saas.page_access import page
from tenants.lease_forms import GrantForm, QueryForm
from tenants.leases import LeaseError, lease_for_tenant, lease_grant, lease_list, lease_revoke, lease_summary
from tenants.models import Lease, Tenant, TenantKind

LEASES_TEMPLATE = "tenants/leases/leases.html"
LEASE_TEMPLATE = "tenants/leases/lease.html"
PAGE_QUERIES = 50
QUERY_BRAND_ONLY = "Only the brand holding the lease can query under it."
USERS_HEADER = "shoppers (for k)"  # the distinct shoppers behind each row, which k is checked against
LEASE_PARTS = ("usage", "statement")  # what the lease page re-renders alone for an htmx GET with ?part=

# -- the list ---------------------------------------------------------------------------------------------------


def _brands() -> list[tuple[str, str]]:
    return [(slug, f"{name} ({slug})") for slug, name in
            Tenant.objects.filter(kind=TenantKind.BRAND).order_by("name").values_list("slug", "name")]


def _state(lease: Lease) -> str:
    if lease.revoked_at is not None:
        return "revoked"
    return "active" if lease.expires_at > timezone.now() else "expired"


def _g(value: float | None) -> str | None:
    return None if value is None else f"{value:g}"  # ε as people write it: 0.5, 1, 0.025


def _percent(value, *, signed: bool = False) -> str:
    return (f"{value:+.1%}" if signed else f"{value:.2%}").replace(".00%", "%")


def _row(lease: Lease) -> dict:
    """A lease with what its summary adds (budget spent and left, queries run), ε and the share as text."""
    summary = lease_summary(lease)
    return {**summary, "lease": lease, "state": _state(lease), "share_text": _percent(lease.incremental_share),
            "spent_text": _g(summary["epsilon_spent"]), "left_text": _g(summary["epsilon_left"]),
            "budget_text": _g(lease.epsilon_budget), "per_query_text": _g(lease.epsilon_per_query)}


def _leases_context(request, form: GrantForm | None = None, revoked: Lease | None = None,
                    revoke_error: str | None = None) -> dict:
    tenant = request.tenant
    context: dict[str, Any] = {"leases": [_row(lease) for lease in lease_list(tenant=tenant)],
                               "is_retailer": tenant.kind == TenantKind.RETAILER, "revoked": revoked,
                               "revoke_error": revoke_error}
    if context["is_retailer"]:
        context["form"] = form or GrantForm(brands=_brands())
    return context


@page()
def leases_page(request):
    return render(request, LEASES_TEMPLATE, _leases_context(request))


@require_POST
@page(admin=True)
def lease_grant_submit(request):
    form = GrantForm(request.POST, brands=_brands())
    if form.is_valid():
        try:
            lease = lease_grant(retailer=request.tenant, actor=request.user.actor, data=form.grant_request())
        except LeaseError as exc:
            if exc.status == 403:  # a brand's admin: only retailers grant
                raise PermissionDenied(exc.message) from exc
            form.add_lease_error(exc)
        else:
            url = reverse("pages:lease", args=[lease.pk])
            return HttpResponseClientRedirect(url) if request.htmx else redirect(url)
    template = f"{LEASES_TEMPLATE}#grant-form" if request.htmx else LEASES_TEMPLATE
    # Errors come back as 200, as on the experiment designers: htmx swaps only successful answers.
    return render(request, template, _leases_context(request, form=form))


@require_POST
@page(admin=True)
def lease_revoke_submit(request, lease_id: int):
    """Revoke a granted lease; the list comes back with it revoked, or with why it could not be."""
    lease = _lease_or_404(request, lease_id)
    try:
        lease_revoke(retailer=request.tenant, lease=lease, actor=request.user.actor)
    except LeaseError as exc:
        if exc.status == 403:  # the brand holding it
            raise PermissionDenied(exc.message) from exc
        context = _leases_context(request, revoke_error=exc.message)
    else:
        if not request.htmx:
            return redirect("pages:leases")
        context = _leases_context(request, revoked=lease)
    return render(request, f"{LEASES_TEMPLATE}#lease-list" if request.htmx else LEASES_TEMPLATE, context)


# -- one lease --------------------------------------------------------------------------------------------------


def _lease_or_404(request, lease_id: int) -> Lease:
    try:
        return lease_for_tenant(tenant=request.tenant, lease_id=lease_id)
    except LeaseError:
        raise Http404 from None


def _usage(lease: Lease, page_number: str | None):
    return Paginator(lease.queries.order_by("-created_at", "-pk"), PAGE_QUERIES).get_page(page_number)


def _statement(lease: Lease, month: str) -> dict:
    from tenants.statements import lease_statement

    try:
        statement = lease_statement(lease, month)
    except LeaseError as exc:
        return {"month": month, "error": exc.message}
    readouts = [{**r, "lift_text": _percent(r["lift"], signed=True),
                 "interval_text": " to ".join(_percent(end, signed=True) for end in r["interval"])}
                for r in statement["readouts"]]
    return {**statement, "readouts": readouts, "epsilon_text": _g(statement["usage"]["epsilon_spent"])}


def _lease_context(request, lease: Lease, **query: Any) -> dict:
    """The lease page; `query` is the query box as posted (query_form, and its answer or refusal)."""
    month = request.GET.get("month") or timezone.localdate().strftime("%Y-%m")
    return {"lease": lease, "summary": _row(lease), "is_brand": lease.brand_id == request.tenant.pk,
            "usage": _usage(lease, request.GET.get("page")), "statement": _statement(lease, month),
            "query_form": QueryForm(), **query}


@page()
def lease_page(request, lease_id: int):
    lease = _lease_or_404(request, lease_id)
    part = request.GET.get("part")
    template = f"{LEASE_TEMPLATE}#lease-{part}" if request.htmx and part in LEASE_PARTS else LEASE_TEMPLATE
    return render(request, template, _lease_context(request, lease))


def _answer(answer: dict) -> dict:
    """The released table, with each column's noise sd (under DP) in the column's order for the footer row."""
    from governance.cleanroom.verify import USERS_COLUMN

    noise = answer.get("noise_sd") or {}
    return {**answer, "headers": [USERS_HEADER if c == USERS_COLUMN else c for c in answer["columns"]],
            "noise": [noise.get(column) for column in answer["columns"]] if noise else None,
            "epsilon_text": _g(answer["epsilon"]), "left_text": _g(answer["epsilon_left"])}


@require_POST
@page(write=True)
def lease_query_submit(request, lease_id: int):
    """Run the brand's SQL in the retailer's clean room; the answer table or the refusal comes back in place."""
    from governance.cleanroom.services import CleanRoomError, clean_room_query

    lease = _lease_or_404(request, lease_id)
    if lease.brand_id != request.tenant.pk:
        raise PermissionDenied(QUERY_BRAND_ONLY)
    form = QueryForm(request.POST)
    form.is_valid()  # one optional text field: the service says what is wrong with it
    try:
        outcome = {"answer": _answer(clean_room_query(brand=request.tenant, actor=request.user.actor,
                                                      lease_id=lease.pk, sql=form.cleaned_data["sql"]))}
    except CleanRoomError as exc:
        outcome = {"refusal": {"message": exc.message, "code": exc.code, **exc.details}}
    context = _lease_context(request, lease, query_form=form, **outcome)  # after the query: ε spent, usage
    return render(request, f"{LEASE_TEMPLATE}#clean-room-query" if request.htmx else LEASE_TEMPLATE, context)
