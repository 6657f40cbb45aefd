"""Pages: the experiment list with a designer per kind (geo test, switchback, audience holdout), and one experiment
(design, alternatives, schedule, the readout with its charts, the form that queues a readout job, cancelling).

Viewers read every page; designing, reading out and cancelling need an analyst (`page(write=True)` refuses their
POSTs). The forms are in campaigns/measure/forms.py.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django.core.exceptions import BadRequest
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST
from django_htmx.http import HttpResponseClientRedirect, HttpResponseClientRefresh

from campaigns.charts import Chart, bar_chart, interval_chart, line_chart
from campaigns.measure.forms import (
    DesignForm,
    ExperimentForm,
    HoldoutForm,
    HoldoutReadoutForm,
    ReadoutForm,
    RequestForm,
    SwitchbackForm,
    SwitchbackReadoutForm,
)
from campaigns.measure.models import Experiment, ExperimentKind
from campaigns.measure.readout import METHOD_NAMES
from campaigns.measure.requests import MeasureRequestError
from rmn_saas.page_access import page

EXPERIMENTS_TEMPLATE = "campaigns/measure/experiments.html"
EXPERIMENT_TEMPLATE = "campaigns/measure/experiment.html"
PAGE_EXPERIMENTS = 50
READOUT_JOB = "readout"
SHORT_NAMES = {"did": "DiD", "synthetic": "synthetic"}
SCHEDULE_CHART_HEIGHT = 180


# Each designer is `<kind>_form` in the list's context and the partial `<slug>-designer` of experiments.html, which
# an htmx submit re-renders alone.
DESIGNERS: dict[str, type[DesignForm]] = {
    ExperimentKind.GEO: ExperimentForm, ExperimentKind.SWITCHBACK: SwitchbackForm, ExperimentKind.HOLDOUT: HoldoutForm,
}
READOUT_FORMS: dict[str, type[RequestForm]] = {
    ExperimentKind.GEO: ReadoutForm, ExperimentKind.SWITCHBACK: SwitchbackReadoutForm,
    ExperimentKind.HOLDOUT: HoldoutReadoutForm,
}

# -- the designers ----------------------------------------------------------------------------------------------


def _retailers() -> list[str]:
    from campaigns.measure.history import known_retailers  # loads numpy, which the list itself needs not

    return known_retailers()


def _networks() -> list[str]:
    from campaigns.plans.history import known_networks  # loads polars, likewise

    return known_networks()


def _experiments_context(posted: DesignForm | None = None) -> dict:
    """The list, and a designer per kind: the one `posted` (with its errors) or a blank one."""
    retailers, networks = _retailers(), _networks()
    experiments = list(Experiment.objects.all()[:PAGE_EXPERIMENTS])
    for experiment in experiments:
        mde = (experiment.design or {}).get("mde")
        experiment.mde_text = _percent(mde) if mde is not None else None
    context: dict[str, Any] = {"retailers": retailers, "experiments": experiments}
    for kind, form in DESIGNERS.items():
        blank = type(posted) is not form
        context[f"{kind}_form"] = form(retailers=retailers, networks=networks) if blank else posted
    return context


def _percent(value: float | None, *, signed: bool = False, places: int = 1) -> str | None:
    if value is None:
        return None
    return f"{value:+.{places}%}" if signed else f"{value:.{places}%}"


def _back_to(request, experiment: Experiment):
    url = reverse("pages:experiment", args=[experiment.pk])
    return HttpResponseClientRedirect(url) if request.htmx else redirect(url)


@page()
def experiments_page(request):
    return render(request, EXPERIMENTS_TEMPLATE, _experiments_context())


@require_POST
@page(write=True)
def experiment_submit(request):
    """Design an experiment of the kind the designer posts (a hidden field; geo without one)."""
    from campaigns.measure.experiments import experiment_create

    kind = request.POST.get("kind") or ExperimentKind.GEO
    if kind not in DESIGNERS:
        raise BadRequest(f"unknown experiment kind {kind!r}")
    form = DESIGNERS[kind](request.POST, retailers=_retailers(), networks=_networks())
    if form.is_valid():
        try:
            experiment = experiment_create(actor=request.user.actor, data=form.experiment_request())
        except MeasureRequestError as exc:
            form.add_request_error(exc)
        else:
            return _back_to(request, experiment)
    template = f"{EXPERIMENTS_TEMPLATE}#{form.slug}-designer" if request.htmx else EXPERIMENTS_TEMPLATE
    # Errors come back as 200, as on the plans page: htmx swaps only successful answers.
    return render(request, template, _experiments_context(form))


# -- one experiment ---------------------------------------------------------------------------------------------


def _experiment_or_404(experiment_id: int) -> Experiment:
    experiment = Experiment.objects.filter(pk=experiment_id).first()
    if experiment is None:
        raise Http404
    return experiment


def _readout_job(experiment: Experiment):
    from tenants.jobs.models import Job

    return Job.objects.filter(kind=READOUT_JOB, params__experiment=experiment.pk).order_by("-created_at").first()


def _money(value: float) -> Decimal:
    return Decimal(str(round(value, 2)))


def _candidate(design: dict) -> dict:
    return {**design, "cells": [", ".join(cell) for cell in design.get("cells") or []],
            "mde_text": _percent(design.get("mde")), "power_text": _percent(design.get("power_at_lift")),
            "treated_share_text": _percent(design.get("treated_share")),
            "imbalance_text": _percent(design.get("imbalance"))}


def _geo_design(experiment: Experiment) -> dict:
    return {"design": _candidate(experiment.design or {}),
            "alternatives": [_candidate(a) for a in experiment.alternatives or []],
            "treated_cells": [", ".join(cell) for cell in experiment.treated],
            "schedule": [{**step, "cells": [", ".join(cell) for cell in step.get("cells") or []]}
                         for step in experiment.schedule or []],
            "readout_note": "load its sales first; a readout needs at least a week of them."}


def _switchback_design(experiment: Experiment) -> dict:
    """The blocks (ON or OFF, analysed from the day after their washout) as a table and a strip of bars."""
    design = experiment.design or {}
    blocks = [{**step, "index": index, "on": step["action"] == "on"}
              for index, step in enumerate((s for s in experiment.schedule if s["action"] in ("on", "off")), start=1)]
    chart = _on_off_chart([(block["date"], block["on"], _analysed_days(block)) for block in blocks],
                          names=("Ads on (days analysed)", "Ads off (days analysed)"), height=SCHEDULE_CHART_HEIGHT)
    return {"design": {**design, "mde_text": _percent(design.get("mde")),
                       "power_text": _percent(design.get("power_at_lift")),
                       "lift_text": _percent(design.get("lift"), signed=True),
                       "block_sd_text": _percent(design.get("block_sd"))},
            "blocks": blocks, "schedule_chart": chart,
            "schedule": [step for step in experiment.schedule if step["action"] not in ("on", "off")],
            "readout_note": "load its sales first; a readout needs at least four whole blocks of them."}


def _analysed_days(block: dict) -> Decimal:
    until, first = dt.date.fromisoformat(block["until"]), dt.date.fromisoformat(block["analysed_from"])
    return Decimal((until - first).days + 1)


def _on_off_chart(blocks: list[tuple[str, bool, Decimal]], *, names: tuple[str, str], **size) -> Chart:
    """A switchback's blocks as bars labelled by their first day, ON and OFF as two series (two colours)."""
    return bar_chart(labels=[start[5:] for start, _, _ in blocks], **size, series=[
        (names[0], [value if on else None for _, on, value in blocks]),
        (names[1], [None if on else value for _, on, value in blocks])])


def _holdout_design(experiment: Experiment) -> dict:
    design = experiment.design or {}
    return {"design": {**design, "mde_text": _percent(design.get("mde")),
                       "power_text": _percent(design.get("power_at_lift")),
                       "lift_text": _percent(design.get("lift"), signed=True),
                       "share_text": _percent(design.get("holdout_share")),
                       "rate_text": _percent(design.get("rate"), places=2),
                       "revenue_mde_text": _percent(design.get("revenue_mde"))},
            "schedule": experiment.schedule or [],
            "readout_note": "then state each group's users, converters and revenue over the test (from the "
                            "retailer's clean room) to read it out."}


DESIGN_CONTEXT = {ExperimentKind.GEO: _geo_design, ExperimentKind.SWITCHBACK: _switchback_design,
                  ExperimentKind.HOLDOUT: _holdout_design}


def _lift_texts(cell: dict) -> dict:
    low, high = cell["interval"]
    return {"low": low, "high": high, "lift_text": _percent(cell["lift"], signed=True),
            "low_text": _percent(low, signed=True), "high_text": _percent(high, signed=True)}


def _geo_readout(readout: dict) -> dict:
    cells, rows = [], []
    for index, cell in enumerate(readout.get("cells") or [], start=1):
        synthetic = cell.get("synthetic") or {}
        cells.append({**cell, **_lift_texts(cell), "index": index, "regions": ", ".join(cell["treated"]),
                      "method_name": METHOD_NAMES.get(cell.get("method", "did")), "over_time": _over_time(synthetic),
                      "chart_id": f"readout-over-time-{index}",
                      "weights": ", ".join(f"{region} {weight:.0%}" for region, weight in sorted(
                          (synthetic.get("weights") or {}).items(), key=lambda item: -item[1]))})
        for method in ("did", "synthetic"):
            result = cell.get(method) or (cell if method == "did" and "did" not in cell else {})
            if "lift" in result:
                rows.append((f"Cell {index} · {SHORT_NAMES[method]}", result["lift"], *result["interval"]))
    return {"cells": cells, "chart": interval_chart(rows=rows),
            "chart_caption": "Lift against the controls' prediction"}


def _over_time(synthetic: dict):
    """Treated sales against the synthetic control's counterfactual, a week at a time (pre-period and test)."""
    series = synthetic.get("series")
    if not series:
        return None
    dates, treated, counterfactual = series["dates"], series["treated"], series["counterfactual"]
    start = dates.index(series["test_from"]) % 7  # whole weeks, one of them starting on the test's first day
    weeks = range(start, len(dates) - 6, 7)
    labels = [("test " if dates[i] >= series["test_from"] else "") + dates[i][5:] for i in weeks]
    return line_chart(labels=labels, series=[
        ("Treated regions", [_money(sum(treated[i:i + 7])) for i in weeks]),
        ("Synthetic control", [_money(sum(counterfactual[i:i + 7])) for i in weeks])])


def _switchback_readout(readout: dict) -> dict:
    """ON against OFF: the lift with its interval, and each block's mean daily sales (washout left out)."""
    cell = readout["cells"][0]
    chart = _on_off_chart([(block["start"], block["on"], _money(block["mean"])) for block in cell.get("blocks") or []],
                          names=("Ads on", "Ads off"))
    return {"cells": [{**cell, **_lift_texts(cell)}], "blocks_chart": chart,
            "chart": interval_chart(rows=[("Ads on vs off", cell["lift"], *cell["interval"])]),
            "chart_caption": "Lift of the days with the ads on over the days with them off"}


def _holdout_readout(readout: dict) -> dict:
    cell = readout["cells"][0]
    conversions = cell.get("incremental_conversions_interval") or [None, None]
    sales = cell.get("incremental_sales_interval") or [None, None]
    return {"cells": [{**cell, **_lift_texts(cell), "exposed_rate_text": _percent(cell["exposed_rate"], places=2),
                       "holdout_rate_text": _percent(cell["holdout_rate"], places=2),
                       "conversions_low": conversions[0], "conversions_high": conversions[1],
                       "sales_low": sales[0], "sales_high": sales[1]}],
            "chart": interval_chart(rows=[("Exposed vs holdout", cell["lift"], *cell["interval"])]),
            "chart_caption": "Lift of the exposed users' conversion rate over the holdout's"}


READOUT_CONTEXT = {ExperimentKind.GEO: _geo_readout, ExperimentKind.SWITCHBACK: _switchback_readout,
                   ExperimentKind.HOLDOUT: _holdout_readout}


def _experiment_context(experiment: Experiment, readout_form: RequestForm | None = None,
                        cancel_error: str | None = None) -> dict:
    job = _readout_job(experiment)
    context: dict[str, Any] = {
        "experiment": experiment, "job": job, "reading": job is not None and not job.is_finished,
        "job_failed": job is not None and job.status == "failed",
        "readout_form": readout_form or READOUT_FORMS[experiment.kind](),
        "test_over": experiment.end_date < timezone.localdate(), "cancel_error": cancel_error,
        **DESIGN_CONTEXT[experiment.kind](experiment),
    }
    if experiment.readout:
        iroas_interval = experiment.readout.get("iroas_interval") or [None, None]
        context["readout"] = {**experiment.readout, **READOUT_CONTEXT[experiment.kind](experiment.readout),
                              "iroas_low": iroas_interval[0], "iroas_high": iroas_interval[1]}
    return context


@page()
def experiment_page(request, experiment_id: int):
    experiment = _experiment_or_404(experiment_id)
    if request.htmx and request.GET.get("part") == "status":
        context = _experiment_context(experiment)
        if not context["reading"]:
            return HttpResponseClientRefresh()  # read out (or failed): the whole page changes, so load it again
        return render(request, f"{EXPERIMENT_TEMPLATE}#readout-status", context)
    return render(request, EXPERIMENT_TEMPLATE, _experiment_context(experiment))


@require_POST
@page(write=True)
def experiment_readout_submit(request, experiment_id: int):
    from campaigns.measure.readout import readout_params
    from campaigns.tasks import experiment_readout_task
    from tenants.jobs.services import job_create

    experiment = _experiment_or_404(experiment_id)
    form = READOUT_FORMS[experiment.kind](request.POST)
    if form.is_valid():
        try:
            params = readout_params(form.readout_request(), kind=experiment.kind)
        except MeasureRequestError as exc:
            form.add_request_error(exc)
        else:
            job_create(kind=READOUT_JOB, actor=request.user.actor, params={"experiment": experiment.pk, **params},
                       task=experiment_readout_task)
            return _back_to(request, experiment)
    template = f"{EXPERIMENT_TEMPLATE}#readout-request" if request.htmx else EXPERIMENT_TEMPLATE
    return render(request, template, _experiment_context(experiment, readout_form=form))


@require_POST
@page(write=True)
def experiment_cancel_submit(request, experiment_id: int):
    """Cancel a designed or running experiment; one already read out or cancelled stays, with the reason shown."""
    from campaigns.measure.experiments import experiment_cancel

    experiment = _experiment_or_404(experiment_id)
    try:
        experiment_cancel(actor=request.user.actor, experiment=experiment)
    except MeasureRequestError as exc:
        template = f"{EXPERIMENT_TEMPLATE}#experiment-cancel" if request.htmx else EXPERIMENT_TEMPLATE
        return render(request, template, _experiment_context(experiment, cancel_error=exc.message))
    return _back_to(request, experiment)
