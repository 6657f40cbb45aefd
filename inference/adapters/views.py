"""Pages: the adapter registry as this tenant sees it (its own adapters and the ones it may use, with the upload form
for its admins), and one adapter with its files, metrics and verified signature, which the owner's admins approve,
retire, publish or withdraw.

Any role reads; uploading and managing need a tenant admin (`page(admin=True)`), and managing works only on the
tenant's own adapters (`access.adapter_of_owner`: anyone else's is a 404, as a missing one is). The services decide
everything else, and their refusals come back on the page with their reasons.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django import forms
from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST
from django_htmx.http import HttpResponseClientRedirect
from rest_framework.exceptions import NotFound

from inference.adapters.access import Decision, adapter_of_owner, adapter_visible, adapters_visible
from inference.adapters.artifacts import ArtifactTampered, load_verified, signature_problem
from inference.adapters.models import CONFIG_FILE, KIND_OF_OWNER, MODEL_FILE, Adapter, AdapterKind, AdapterStatus
from inference.adapters.services import (
    BAD_METRICS,
    BAD_NAME,
    adapter_approve,
    adapter_retire,
    adapter_update,
    adapter_upload,
)
from rmn_saas.errors import ApiError
from rmn_saas.page_access import page

LIST_TEMPLATE = "inference/adapters/list.html"
DETAIL_TEMPLATE = "inference/adapters/detail.html"
PAGE_ADAPTERS = 50
VALID = "valid"
INVALID = "invalid"
APPROVED = "{adapter} is approved: the router may pick it now."
RETIRED = "{adapter} is retired: nobody may use it any more."
PUBLISHED = "{adapter} is published: every brand may use it."
WITHDRAWN = "{adapter} is withdrawn: only brands holding a lease from you may use it."
PUBLISH_CHOICE = "Send published=true to publish or published=false to withdraw."
FILE_FIELDS = {MODEL_FILE: "model_file", CONFIG_FILE: "config_file"}

# -- the list and the upload form -------------------------------------------------------------------------------


class FilterForm(forms.Form):
    kind = forms.ChoiceField(choices=[("", "Any kind"), *AdapterKind.choices], required=False)
    status = forms.ChoiceField(choices=[("", "Any status"), *AdapterStatus.choices], required=False)


def _no_constant(name: str):
    raise ValueError(name)  # NaN and Infinity are not JSON, and Postgres would refuse them


class UploadForm(forms.Form):
    """An upload as `adapter_upload` takes it. Fields only parse: the rules (a slug name, exactly the two files, a
    sound LoRA artifact, metrics an object) are the service's, so the page, the API and the admin refuse alike."""

    name = forms.CharField(required=False, widget=forms.TextInput(attrs={"maxlength": 100, "required": True}),
                           help_text="A slug: letters, digits, - and _. Uploading an existing name adds a version.")
    task = forms.CharField(required=False, help_text="The task this adapter serves.")
    model_file = forms.FileField(required=False, allow_empty_file=True, label=MODEL_FILE,
                                 widget=forms.FileInput(attrs={"accept": ".safetensors", "required": True}),
                                 help_text="The LoRA weights, as PEFT's save_pretrained writes them. No pickles.")
    config_file = forms.FileField(required=False, allow_empty_file=True, label=CONFIG_FILE,
                                  widget=forms.FileInput(attrs={"accept": ".json,application/json", "required": True}),
                                  help_text="Its PEFT config: LORA, r, lora_alpha, target_modules, base model.")
    published = forms.BooleanField(required=False, label="Publish to every brand",
                                   help_text="Once approved, any brand may use it, lease or not.")
    metrics = forms.CharField(required=False, label="Metrics (JSON)", widget=forms.Textarea(
        attrs={"rows": 4, "spellcheck": "false", "placeholder": '{"eval": {"exact_match": 0.82, "rougeL": 0.41}}'}),
        help_text="Optional: evaluation metrics, a JSON object.")

    def __init__(self, *args, kind: str, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.kind = kind
        # Only task adapters name a task, and only retailers publish: the other fields would only be refused.
        if kind != AdapterKind.TASK:
            del self.fields["task"]
        if kind != AdapterKind.RETAILER:
            del self.fields["published"]

    def clean_metrics(self) -> Any:
        text = self.cleaned_data["metrics"].strip()
        if not text:
            return None
        try:
            return json.loads(text, parse_constant=_no_constant)
        except ValueError:
            raise forms.ValidationError(BAD_METRICS) from None

    def upload_request(self) -> dict[str, Any]:
        """The keyword arguments of `adapter_upload`, less the owner and the actor."""
        data = self.cleaned_data
        return {"name": data["name"].strip(), "kind": self.kind, "task": data.get("task", "").strip(),
                "published": bool(data.get("published")), "metrics": data["metrics"],
                "files": [upload for upload in (data["model_file"], data["config_file"]) if upload is not None]}

    def add_upload_error(self, exc: ApiError) -> None:
        """The refusal on the field it is about: the file it names, the metrics, the name; else on the form."""
        details = exc.details if isinstance(exc.details, dict) else {}
        field = None
        if "metrics" in details:
            field = "metrics"
        elif file := details.get("file"):
            field = next((name for name in FILE_FIELDS.values()
                          if self.cleaned_data.get(name) is not None
                          and Path(self.cleaned_data[name].name or "").name == file), None) or FILE_FIELDS.get(file)
        elif details.get("reason") == BAD_NAME.format(field="name"):
            field = "name"
        elif details.get("reason") == BAD_NAME.format(field="task") and "task" in self.fields:
            field = "task"
        self.add_error(field, str(exc.detail))


def _signature_of_record(adapter: Adapter) -> dict:
    problem = signature_problem(adapter)
    return {"status": INVALID if problem else VALID, "reason": problem}


def _row(adapter: Adapter, decision: Decision, *, tenant) -> dict:
    return {"adapter": adapter, "access": decision.reason, "usable": decision.allowed,
            "own": adapter.owner_id == tenant.pk, "signature": _signature_of_record(adapter)}


def _list_context(request, *, form: UploadForm | None = None) -> dict:
    tenant = request.tenant
    kind = KIND_OF_OWNER[tenant.kind]
    filters = FilterForm(request.GET)
    wanted = filters.cleaned_data if filters.is_valid() else {}
    visible = [(adapter, decision) for adapter, decision in adapters_visible(tenant=tenant)
               if (not wanted.get("kind") or adapter.kind == wanted["kind"])
               and (not wanted.get("status") or adapter.status == wanted["status"])]
    adapters = Paginator(visible, PAGE_ADAPTERS).get_page(request.GET.get("page"))
    return {"adapters": adapters, "rows": [_row(adapter, decision, tenant=tenant) for adapter, decision in adapters],
            "filters": filters, "filtered": bool(wanted.get("kind") or wanted.get("status")),
            "kind": kind, "kind_label": AdapterKind(kind).label, "can_upload": request.user.is_tenant_admin,
            "form": form or UploadForm(kind=kind)}


@page()
def adapters_page(request):
    template = f"{LIST_TEMPLATE}#adapter-list" if request.htmx and request.GET.get("part") == "list" \
        else LIST_TEMPLATE
    return render(request, template, _list_context(request))


@require_POST
@page(admin=True)
def adapter_upload_submit(request):
    """Store the upload as the next version of its name, a draft, and go to it; or show why it was refused."""
    form = UploadForm(request.POST, request.FILES, kind=KIND_OF_OWNER[request.tenant.kind])
    if form.is_valid():
        try:
            adapter = adapter_upload(owner=request.tenant, actor=request.user.actor, **form.upload_request())
        except ApiError as exc:
            form.add_upload_error(exc)
        else:
            url = reverse("pages:adapter", args=[adapter.pk])
            return HttpResponseClientRedirect(url) if request.htmx else redirect(url)
    template = f"{LIST_TEMPLATE}#upload-panel" if request.htmx else LIST_TEMPLATE
    # Errors come back as 200, as on the other pages: htmx swaps only successful answers, and the form must show them.
    return render(request, template, _list_context(request, form=form))


# -- one adapter ------------------------------------------------------------------------------------------------


def _visible_or_404(request, adapter_id: int) -> tuple[Adapter, Decision]:
    try:
        return adapter_visible(tenant=request.tenant, adapter_id=adapter_id)
    except NotFound:
        raise Http404 from None


def _own_or_404(request, adapter_id: int) -> Adapter:
    try:
        return adapter_of_owner(tenant=request.tenant, adapter_id=adapter_id)
    except NotFound:
        raise Http404 from None


def _signature_of_files(adapter: Adapter, *, actor: str) -> dict:
    """The whole artifact checked: signature, decryption and both hashes (a tamper found is audited, as `actor`)."""
    try:
        load_verified(adapter, actor=actor)
    except ArtifactTampered as exc:
        return {"status": INVALID, "reason": exc.reason}
    return {"status": VALID, "reason": None}


def _metric_text(value: Any) -> str:
    if isinstance(value, bool) or value is None or isinstance(value, list | dict):
        return json.dumps(value)
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def metrics_flat(metrics: dict, prefix: str = "") -> list[tuple[str, str]]:
    """Nested metrics as (dotted name, value as text) rows, by name: {"eval": {"em": 0.8}} → [("eval.em", "0.8")]."""
    rows = []
    for key in sorted(metrics, key=str):
        value, name = metrics[key], f"{prefix}{key}"
        if isinstance(value, dict) and value:
            rows.extend(metrics_flat(value, f"{name}."))
        else:
            rows.append((name, _metric_text(value)))
    return rows


def _detail_context(request, adapter: Adapter, decision: Decision, **outcome: Any) -> dict:
    tenant = request.tenant
    own = adapter.owner_id == tenant.pk
    return {"adapter": adapter, "decision": decision, "own": own,
            "can_manage": own and request.user.is_tenant_admin,
            "signature": _signature_of_files(adapter, actor=request.user.actor),
            "files": [(MODEL_FILE, adapter.model_sha256, adapter.model_bytes),
                      (CONFIG_FILE, adapter.config_sha256, adapter.config_bytes)],
            "metrics": metrics_flat(adapter.metrics or {}), **outcome}


@page()
def adapter_page(request, adapter_id: int):
    adapter, decision = _visible_or_404(request, adapter_id)
    return render(request, DETAIL_TEMPLATE, _detail_context(request, adapter, decision))


def _manage(request, adapter_id: int, change, done: str, **kwargs: Any):
    """One of the owner's adapters changed by `change` (a service); the page says what happened or why not."""
    adapter = _own_or_404(request, adapter_id)
    try:
        adapter = change(adapter=adapter, actor=request.user.actor, **kwargs)
    except ApiError as exc:
        outcome = {"action_error": str(exc.detail)}
    else:
        outcome = {"action_done": done.format(adapter=adapter.label)}
        if not request.htmx:
            messages.success(request, outcome["action_done"])
            return redirect("pages:adapter", adapter_id=adapter.pk)
    return _detail_response(request, adapter.pk, **outcome)


def _detail_response(request, adapter_id: int, **outcome: Any):
    """The page (or, for htmx, the adapter part of it) as the adapter is now, with what happened to it."""
    adapter, decision = _visible_or_404(request, adapter_id)
    template = f"{DETAIL_TEMPLATE}#adapter" if request.htmx else DETAIL_TEMPLATE
    return render(request, template, _detail_context(request, adapter, decision, **outcome))


@require_POST
@page(admin=True)
def adapter_approve_submit(request, adapter_id: int):
    return _manage(request, adapter_id, adapter_approve, APPROVED)


@require_POST
@page(admin=True)
def adapter_retire_submit(request, adapter_id: int):
    return _manage(request, adapter_id, adapter_retire, RETIRED)


@require_POST
@page(admin=True)
def adapter_publish_submit(request, adapter_id: int):
    """Publish (published=true) or withdraw (published=false) a retailer adapter."""
    value = request.POST.get("published")
    if value not in ("true", "false"):
        return _detail_response(request, _own_or_404(request, adapter_id).pk, action_error=PUBLISH_CHOICE)
    published = value == "true"
    return _manage(request, adapter_id, adapter_update, PUBLISHED if published else WITHDRAWN, published=published)
