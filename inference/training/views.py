"""Pages: this tenant's training runs with live progress, and one run with its terms, live loss curve and the
evaluation against the base model (per metric, with the failing examples of each arm), which admins cancel or resume.

Any role reads; cancelling and resuming need a tenant admin (`page(admin=True)`), and only the tenant's own runs are
found (`selectors.training_run_of_owner`: anyone else's is a 404, as a missing one is). The services decide the
rest, and their refusals come back as messages.
"""

from __future__ import annotations

import json
from typing import Any

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST
from rest_framework.exceptions import NotFound

from inference.adapters.models import KIND_OF_OWNER, AdapterKind
from inference.training.charts import loss_chart
from inference.training.datasets import BUILDERS
from inference.training.models import TrainingRun, TrainingStatus
from inference.training.selectors import training_run_list, training_run_of_owner
from inference.training.services import training_cancel, training_resume
from rmn_saas.errors import ApiError
from rmn_saas.page_access import page

LIST_TEMPLATE = "inference/training/list.html"
RUN_TEMPLATE = "inference/training/run.html"
PAGE_RUNS = 50
CANCELLED = "Training run {id} is cancelled."
STOPPING = "Training run {id} stops after its current step; resuming continues from its last checkpoint."
RESUMED = "Training run {id} is queued again; it continues from its last checkpoint when it has one."
NO_DATASETS = "none yet"
ARMS = (("base", "Base model"), ("adapter", "Adapter"))


def _percent(value: float) -> str:
    return f"{value:.1%}"


def _seconds(value: float) -> str:
    return f"{value:.1f} s"


# (key in each arm, label, format)
METRICS = (("exact_match", "Exact match", _percent), ("valid", "Valid JSON", _percent),
           ("seconds", "Seconds", _seconds), ("n", "Held-out cases", str))


def _own_or_404(request, run_id: int) -> TrainingRun:
    try:
        return training_run_of_owner(tenant=request.tenant, run_id=run_id)
    except NotFound:
        raise Http404 from None


# -- the list ---------------------------------------------------------------------------------------------------


def datasets_for(kind: str) -> str:
    return ", ".join(name for owner_kind, name in sorted(BUILDERS) if owner_kind == kind) or NO_DATASETS


@page()
def training_page(request):
    kind = KIND_OF_OWNER[request.tenant.kind]
    runs = Paginator(training_run_list(owner=request.tenant), PAGE_RUNS).get_page(request.GET.get("page"))
    return render(request, LIST_TEMPLATE, {"runs": runs, "kind_label": AdapterKind(kind).label,
                                           "datasets": datasets_for(kind)})


@page()
def training_row_partial(request, run_id: int):
    """One row of the list, polled while its run is not finished."""
    return render(request, f"{LIST_TEMPLATE}#run-row", {"run": _own_or_404(request, run_id)})


# -- one run ----------------------------------------------------------------------------------------------------


def evaluation_rows(evaluation: dict) -> list[dict[str, str]]:
    """Base and adapter side by side, one row per metric; "—" where an arm lacks it."""
    rows = []
    for key, label, show in METRICS:
        cells = {arm: (show(evaluation[arm][key]) if key in evaluation.get(arm, {}) else "—") for arm, _ in ARMS}
        rows.append({"key": key, "label": label, **cells})
    return rows


def _failures(evaluation: dict) -> list[dict[str, Any]]:
    arms = []
    for arm, label in ARMS:
        scores = evaluation.get(arm) or {}
        n, exact = scores.get("n", 0), scores.get("exact_match", 0.0)
        arms.append({"arm": arm, "label": label, "failing": n - round(exact * n),
                     "rows": [{"text": failure.get("text", ""), "answer": failure.get("answer", ""),
                               "expected": json.dumps(failure.get("expected"), sort_keys=True)}
                              for failure in scores.get("failures", [])]})
    return arms


def _report(evaluation: dict) -> dict[str, Any] | None:
    if not evaluation.get("base") or not evaluation.get("adapter"):
        return None
    gain, margin = evaluation.get("gain"), evaluation.get("margin")
    return {"rows": evaluation_rows(evaluation), "failures": _failures(evaluation),
            "gain": f"{gain * 100:+.1f} points" if gain is not None else "—",
            "margin": f"{margin * 100:.0f} points" if margin is not None else None,
            "approved": evaluation.get("approved"), "verdict": evaluation.get("verdict", "")}


def _run_context(request, run: TrainingRun, **outcome: Any) -> dict[str, Any]:
    can_manage = request.user.is_tenant_admin
    return {"run": run, "chart": loss_chart(run.losses), "report": _report(run.evaluation or {}),
            "hyperparameters": sorted(run.hyperparameters.items()),
            "can_manage": can_manage,
            "can_cancel": can_manage and not run.is_finished and not run.cancel_requested,
            "can_resume": can_manage and run.status in (TrainingStatus.FAILED, TrainingStatus.CANCELLED),
            **outcome}


@page()
def training_run_page(request, run_id: int):
    run = _own_or_404(request, run_id)
    template = f"{RUN_TEMPLATE}#run" if request.htmx and request.GET.get("part") == "run" else RUN_TEMPLATE
    return render(request, template, _run_context(request, run))


def _transition(request, run_id: int, change, done):
    """One of the tenant's runs moved along by `change` (a service); the page says what happened or why not."""
    run = _own_or_404(request, run_id)
    try:
        run = change(run=run, actor=request.user.actor)
    except ApiError as exc:
        outcome = {"action_error": str(exc.detail)}
    else:
        outcome = {"action_done": done(run)}
    if not request.htmx:
        if "action_done" in outcome:
            messages.success(request, outcome["action_done"])
        else:
            messages.error(request, outcome["action_error"])
        return redirect("pages:training-run", run_id=run.pk)
    return render(request, f"{RUN_TEMPLATE}#run", _run_context(request, _own_or_404(request, run.pk), **outcome))


@require_POST
@page(admin=True)
def training_cancel_submit(request, run_id: int):
    return _transition(request, run_id, training_cancel, lambda run: (
        CANCELLED if run.status == TrainingStatus.CANCELLED else STOPPING).format(id=run.pk))


@require_POST
@page(admin=True)
def training_resume_submit(request, run_id: int):
    return _transition(request, run_id, training_resume, lambda run: RESUMED.format(id=run.pk))
