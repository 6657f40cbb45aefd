"""Pages: data sources (upload, batches, specs), a batch's detail, the mapping preview, and performance charts.

Each page is one template with named partials; HTMX requests get the partial they swap. Viewers read every page;
uploads, previews and spec changes need an analyst (`page(write=True)` refuses their POSTs).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django import forms
from django.http import Http404
from django.shortcuts import render
from django.views.decorators.http import require_POST

from campaigns.attribution import DEFAULT_WINDOW, Window
from campaigns.charts import bar_chart, line_chart
from campaigns.models import Placement, Severity, SpecKind
from campaigns.selectors import (
    DETAIL_REJECTS,
    MetricsFilter,
    ingest_batch_anomalies,
    ingest_batch_get,
    ingest_batch_list,
    ingest_batch_rejects,
    ingest_jobs_pending,
    mapping_spec_choices,
    mapping_spec_list,
    rmis_has_events,
    rmis_metric_conversions,
    rmis_metrics,
)
from campaigns.services import (
    EXTRA_WINDOW_CHOICE,
    ingest_preview_analyze,
    ingest_preview_create,
    ingest_preview_document,
    ingest_preview_meta,
    ingest_preview_request,
    ingest_request,
    mapping_spec_create,
)
from rmn_saas.errors import ApiError
from rmn_saas.page_access import page
from tenants.jobs.selectors import job_list

DATA_TEMPLATE = "campaigns/data_sources.html"
BATCH_TEMPLATE = "campaigns/batch_detail.html"
PREVIEW_TEMPLATE = "campaigns/preview.html"
PERFORMANCE_TEMPLATE = "campaigns/performance.html"
PAGE_BATCHES = 50
SEVERITY_ORDER = {Severity.CRITICAL: 0, Severity.WARNING: 1, Severity.INFO: 2}

# -- data sources -----------------------------------------------------------------------------------------------


class UploadForm(forms.Form):
    file = forms.FileField(allow_empty_file=True)  # an empty file gets the service's own message
    format = forms.ChoiceField(initial="auto", required=False)
    account = forms.CharField(max_length=128, required=False,
                              help_text="The network account the export belongs to (optional).")

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["format"].choices = [("auto", "Detect automatically"), *mapping_spec_choices()]


TOTALS_SHOWN = (("spend", "spend"), ("attributed_sales", "sales"), ("impressions", "impressions"),
                ("clicks", "clicks"), ("units", "units"), ("revenue", "revenue"), ("skus", "SKUs"),
                ("crosswalk_ids", "product ids"))


def _batches() -> list:
    batches = list(ingest_batch_list()[:PAGE_BATCHES])
    for batch in batches:
        totals = batch.totals or {}
        batch.totals_shown = [(label, totals[key]) for key, label in TOTALS_SHOWN if key in totals]
    return batches


def _data_context(request, **extra) -> dict:
    return {
        "form": UploadForm(),
        "batches": _batches(),
        "pending": ingest_jobs_pending(),
        "ingest_jobs": job_list(kind="ingest")[:5],
        "specs": mapping_spec_list(),
        **extra,
    }


@page()
def data_sources_page(request):
    if request.htmx and request.GET.get("part") == "batches":
        return render(request, f"{DATA_TEMPLATE}#batch-list", _data_context(request))
    return render(request, DATA_TEMPLATE, _data_context(request))


@require_POST
@page(write=True)
def data_upload(request):
    form = UploadForm(request.POST, request.FILES)
    if form.is_valid():
        try:
            ingest_request(tenant=request.tenant, actor=request.user.actor, uploaded_file=form.cleaned_data["file"],
                           format=form.cleaned_data["format"] or "auto", account=form.cleaned_data["account"])
            form = UploadForm()
        except ApiError as exc:
            form.add_error("file" if "file" in exc.details else None, str(exc.detail))
    # An HTMX upload also refreshes the batch list (out of band), which then polls while the ingest runs.
    context = _data_context(request, form=form, oob=bool(request.htmx))
    template = f"{DATA_TEMPLATE}#upload-panel" if request.htmx else DATA_TEMPLATE
    # Errors come back as 200 too: htmx swaps only successful answers, and the form must show them.
    return render(request, template, context)


@page()
def batch_detail_page(request, batch_id: int):
    batch = ingest_batch_get(batch_id=batch_id)
    if batch is None:
        raise Http404
    anomalies = sorted(ingest_batch_anomalies(batch=batch), key=lambda a: (SEVERITY_ORDER.get(a.severity, 9), a.code))
    rejects = ingest_batch_rejects(batch=batch)
    headers = batch.detection.get("headers") or []
    shown = list(rejects[:DETAIL_REJECTS])
    for reject in shown:
        reject.cells = [reject.raw.get(header) or "" for header in headers]
    context = {"batch": batch, "anomalies": anomalies, "rejects": shown, "rejects_stored": rejects.count(),
               "shown": DETAIL_REJECTS, "headers": headers}
    return render(request, BATCH_TEMPLATE, context)


# -- mapping preview --------------------------------------------------------------------------------------------


class PreviewUploadForm(forms.Form):
    file = forms.FileField(allow_empty_file=True)


def _field_choices(kind: str) -> list[str]:
    """The RMIS fields a spec of `kind` can fill (another kind: "Suggest again" with it)."""
    from campaigns.harmonize.specs import FIELDS

    return sorted(FIELDS.get(kind, FIELDS[SpecKind.AD_EVENTS]))


def _transforms() -> list[str]:
    from campaigns.harmonize.transforms import TRANSFORMS

    return sorted(TRANSFORMS)


def _rows_from_suggestion(suggestion: dict) -> list[dict]:
    rows = []
    for index, column in enumerate(suggestion.get("columns") or []):
        field = column.get("field") or ""
        if column.get("status") == "extra_window" and field:
            field = f"{EXTRA_WINDOW_CHOICE}{field}"
        rows.append({"index": index, "header": column["header"], "field": field,
                     "transform": column.get("transform") or "text", "confidence": column.get("confidence") or 0,
                     "why": column.get("why") or "", "status": column.get("status") or ""})
    return rows


def _spec_form(suggestion: dict, post=None) -> dict:
    """The editable spec: names and attribution from the suggestion, or as the user last posted them."""
    spec = suggestion.get("spec") or {}
    attribution = spec.get("attribution") or {}
    values = {"name": spec.get("name", ""), "network": spec.get("network", ""), "kind": spec.get("kind", "ad_events"),
              "title": spec.get("title", ""), "window_days": attribution.get("window_days") or "",
              "scope": attribution.get("scope") or "click", "model": attribution.get("model") or "last_touch"}
    if post is not None:
        values.update({key: post.get(key, "").strip() for key in values})
    return values


def _preview_context(request, analysis: dict, **extra) -> dict:
    suggestion = analysis.get("suggestion") or {}
    context = {"analysis": analysis, "rows": _rows_from_suggestion(suggestion), "spec_form": _spec_form(suggestion),
               "transforms": _transforms(), "kinds": SpecKind.choices, "spec_errors": {}, "saved": None, "job": None,
               **extra}
    context["field_choices"] = _field_choices(context["spec_form"]["kind"])
    return context


def _render_preview(request, context: dict):
    # Always 200, errors included: htmx swaps only successful answers, and the errors belong in the page.
    template = f"{PREVIEW_TEMPLATE}#preview-result" if request.htmx else PREVIEW_TEMPLATE
    return render(request, template, {"form": PreviewUploadForm(), **context})


@page(write=True)
def preview_page(request):
    if request.method != "POST":
        return render(request, PREVIEW_TEMPLATE, {"form": PreviewUploadForm(), "analysis": None})
    form = PreviewUploadForm(request.POST, request.FILES)
    if not form.is_valid():
        return _render_preview(request, {"form": form, "analysis": None})
    try:
        token = ingest_preview_create(tenant=request.tenant, actor=request.user.actor,
                                      uploaded_file=form.cleaned_data["file"])
    except ApiError as exc:
        form.add_error("file", str(exc.detail))
        return _render_preview(request, {"form": form, "analysis": None})
    analysis = ingest_preview_analyze(tenant=request.tenant, token=token)
    return _render_preview(request, _preview_context(request, analysis))


def _preview_or_expired(request, token: str) -> dict | None:
    try:
        return ingest_preview_meta(tenant=request.tenant, token=token)
    except (ApiError, ValueError):
        return None


def _expired(request):
    return _render_preview(request, {"analysis": None, "expired": True})


@require_POST
@page(write=True)
def preview_suggest(request):
    """Suggest (again) with the name, network and kind the user typed: a new kind maps to other fields."""
    token = request.POST.get("token", "")
    if _preview_or_expired(request, token) is None:
        return _expired(request)
    kind = request.POST.get("kind", SpecKind.AD_EVENTS)
    analysis = ingest_preview_analyze(tenant=request.tenant, token=token, name=request.POST.get("name", "").strip(),
                                      network=request.POST.get("network", "").strip(),
                                      kind=kind if kind in SpecKind.values else SpecKind.AD_EVENTS, suggest=True)
    return _render_preview(request, _preview_context(request, analysis))


@require_POST
@page(write=True)
def preview_confirm(request):
    """Save the (edited) suggestion as a mapping spec, through the same service as POST /api/v1/mapping-specs."""
    token = request.POST.get("token", "")
    meta = _preview_or_expired(request, token)
    if meta is None or not (meta.get("analysis") or {}).get("suggestion"):
        return _expired(request)
    analysis = meta["analysis"]
    rows = _rows_from_suggestion(analysis["suggestion"])
    for row in rows:
        row["field"] = request.POST.get(f"field_{row['index']}", "")
        row["transform"] = request.POST.get(f"transform_{row['index']}", row["transform"])
    spec_form = _spec_form(analysis["suggestion"], post=request.POST)
    window = spec_form["window_days"]
    attribution = {"window_days": int(window) if str(window).isdigit() else window,
                   "scope": spec_form["scope"], "model": spec_form["model"]}
    document = ingest_preview_document(
        meta=meta, name=spec_form["name"], network=spec_form["network"], kind=spec_form["kind"],
        title=spec_form["title"], attribution=attribution,
        mapping=[(row["header"], row["field"], row["transform"]) for row in rows])
    context = _preview_context(request, analysis, rows=rows, spec_form=spec_form)
    try:
        context["saved"] = mapping_spec_create(actor=request.user.actor, document=document)
    except ApiError as exc:
        context["spec_errors"] = exc.details
        return _render_preview(request, context)
    return _render_preview(request, context)


@require_POST
@page(write=True)
def preview_ingest(request):
    token = request.POST.get("token", "")
    meta = _preview_or_expired(request, token)
    if meta is None:
        return _expired(request)
    analysis = meta.get("analysis") or {"token": token, "file_name": meta["file_name"], "size": meta["size"]}
    try:
        job = ingest_preview_request(tenant=request.tenant, actor=request.user.actor, token=token,
                                     format=request.POST.get("format", "auto"),
                                     account=request.POST.get("account", ""))
    except ApiError as exc:
        return _render_preview(request, _preview_context(request, analysis, ingest_error=str(exc.detail)))
    return _render_preview(request, {"analysis": analysis, "job": job, "ingested": True})


# -- performance ------------------------------------------------------------------------------------------------

WINDOW_CHOICES = [(label, label.replace("d_click_view", "-day click + view").replace("d_click", "-day click"))
                  for label in ("1d_click", "3d_click", "7d_click", "14d_click", "30d_click", "7d_click_view",
                                "14d_click_view", "30d_click_view")]
TOP_SKUS = 10


class PerformanceFilterForm(forms.Form):
    date_from = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))
    date_to = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))
    window = forms.ChoiceField(choices=WINDOW_CHOICES, required=False, initial=DEFAULT_WINDOW)

    def clean(self) -> dict:
        cleaned = super().clean()
        if cleaned.get("date_from") and cleaned.get("date_to") and cleaned["date_from"] > cleaned["date_to"]:
            self.add_error("date_from", "The start is after the end.")
        return cleaned


def _money_series(rows: list[dict], key: str) -> list[Decimal]:
    return [Decimal(row[key]) for row in rows]


def _section(rows: list[dict], *, group: str, label, chart: str) -> dict:
    rows = [{**row, "label": label(row)} for row in rows]
    labels = [row["label"] for row in rows]
    series = [("Spend", _money_series(rows, "spend")), ("Sales", _money_series(rows, "sales"))]
    build = line_chart if chart == "line" else bar_chart
    return {"group": group, "rows": rows, "labels": labels, "chart": build(labels=labels, series=series),
            "kind": chart}


def _performance(filters: dict) -> dict:
    window = Window.parse(filters.get("window") or DEFAULT_WINDOW)
    common = {"window": window, "date_from": filters.get("date_from"), "date_to": filters.get("date_to")}
    network_filter = MetricsFilter(group_by=["network"], order="spend", **common)
    table = rmis_metric_conversions(filters=network_filter)  # the same dates and window for every grouping
    by_network = rmis_metrics(filters=network_filter, table=table)
    by_placement = rmis_metrics(filters=MetricsFilter(group_by=["placement"], order="spend", **common), table=table,
                                totals=False)
    by_sku = rmis_metrics(filters=MetricsFilter(group_by=["sku"], order="spend", limit=TOP_SKUS, **common),
                          table=table, totals=False)
    by_week = rmis_metrics(filters=MetricsFilter(group_by=["week"], **common), table=table, totals=False)

    def week_label(row) -> str:
        return dt.date.fromisoformat(row["week"]).strftime("%b %d")

    return {
        "totals": by_network["totals"],
        "conversions": by_network["conversions"],
        "window": window.label,
        "sections": [
            {"id": "network", "title": "By network",
             **_section(by_network["rows"], group="network", label=lambda r: r["network"], chart="bar")},
            {"id": "placement", "title": "By placement",
             **_section(by_placement["rows"], group="placement", label=lambda r: Placement(r["placement"]).label,
                        chart="bar")},
            {"id": "sku", "title": f"Top {TOP_SKUS} SKUs by spend",
             **_section(by_sku["rows"], group="sku",
                        label=lambda r: r.get("sku_name") or r["sku"] or "unmatched", chart="bar")},
            {"id": "week", "title": "By week",
             **_section(by_week["rows"], group="week", label=week_label, chart="line")},
        ],
    }


@page()
def performance_page(request):
    form = PerformanceFilterForm(request.GET or None)
    filters = form.cleaned_data if form.is_valid() else {}
    has_data = rmis_has_events()
    context = {"form": form, "has_data": has_data, "report": _performance(filters) if has_data else None}
    template = f"{PERFORMANCE_TEMPLATE}#performance-panel" if request.htmx else PERFORMANCE_TEMPLATE
    return render(request, template, context)
