"""Pages: the experiment list with the geo test designer, and one experiment (design, alternatives, schedule,
the readout with its lift chart, and the form that queues a readout job).

Viewers read every page; designing and reading out need an analyst (`page(write=True)` refuses their POSTs).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import forms
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST
from django_htmx.http import HttpResponseClientRedirect, HttpResponseClientRefresh

from campaigns.charts import interval_chart, line_chart
from campaigns.measure.models import Experiment
from campaigns.measure.readout import METHOD_NAMES
from campaigns.measure.requests import MeasureRequestError
from rmn_saas.page_access import page

EXPERIMENTS_TEMPLATE = "campaigns/measure/experiments.html"
EXPERIMENT_TEMPLATE = "campaigns/measure/experiment.html"
PAGE_EXPERIMENTS = 50
READOUT_JOB = "readout"
METRIC_CHOICES = [("revenue", "Revenue"), ("units", "Units")]
SHORT_NAMES = {"did": "DiD", "synthetic": "synthetic"}

# -- the designer -----------------------------------------------------------------------------------------------


def _regions(text: str) -> list[str]:
    return [name.strip() for name in text.split(",") if name.strip()]


class ExperimentForm(forms.Form):
    """What a geo test design asks for. Fields only parse; the rules are the request schema's
    (campaigns/measure/experiments.py), so the page and /api/v1/experiments answer bad input alike."""

    name = forms.CharField(max_length=200, required=False)
    retailer = forms.ChoiceField(choices=[])
    metric = forms.ChoiceField(choices=METRIC_CHOICES, initial="revenue")
    n_treated = forms.IntegerField(label="Treated regions per cell")
    cells = forms.IntegerField(required=False, initial=1, label="Cells")
    include = forms.CharField(required=False, label="Must treat", help_text="Region names, comma-separated.")
    exclude = forms.CharField(required=False, label="Leave out", help_text="Region names, comma-separated.")
    test_days = forms.IntegerField(initial=28, label="Test days")
    start_date = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}),
                                 help_text="Empty: the day after the last day with sales.")
    pre_days = forms.IntegerField(required=False, label="Pre-period days", help_text="Empty: 84.")
    lift = forms.FloatField(required=False, help_text="The lift you hope to see, e.g. 0.05 for 5%.")
    iroas = forms.FloatField(required=False, label="iROAS", help_text="Expected, to estimate the test's cost.")
    power = forms.FloatField(required=False, initial=0.8)

    def __init__(self, *args, retailers: list[str], **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["retailer"].choices = [(retailer, retailer) for retailer in retailers]

    def experiment_request(self) -> dict[str, Any]:
        """The request as /api/v1/experiments takes it: only what was filled in."""
        data = self.cleaned_data
        request: dict[str, Any] = {"retailer": data["retailer"], "metric": data["metric"] or "revenue",
                                   "n_treated": data["n_treated"], "test_days": data["test_days"]}
        if data["name"].strip():
            request["name"] = data["name"].strip()
        for key in ("cells", "pre_days", "lift", "iroas", "power"):
            if data[key] is not None:
                request[key] = data[key]
        for key in ("include", "exclude"):
            if _regions(data[key]):
                request[key] = _regions(data[key])
        if data["start_date"] is not None:
            request["start_date"] = data["start_date"].isoformat()
        return request

    def field_of(self, exc: MeasureRequestError) -> str | None:
        """The form field an error names; None (the top of the form) for a conflict or a field not on the form."""
        if exc.status == 409:
            return None
        return exc.field if exc.field in self.fields else None


def _retailers() -> list[str]:
    from campaigns.measure.history import known_retailers  # loads numpy, which the list itself needs not

    return known_retailers()


def _experiments_context(form: ExperimentForm | None = None) -> dict:
    retailers = _retailers()
    experiments = list(Experiment.objects.all()[:PAGE_EXPERIMENTS])
    for experiment in experiments:
        mde = (experiment.design or {}).get("mde")
        experiment.mde_text = _percent(mde) if mde is not None else None
    return {"form": form or ExperimentForm(retailers=retailers), "retailers": retailers, "experiments": experiments}


def _percent(value: float | None, *, signed: bool = False) -> str | None:
    if value is None:
        return None
    return f"{value:+.1%}" if signed else f"{value:.1%}"


@page()
def experiments_page(request):
    return render(request, EXPERIMENTS_TEMPLATE, _experiments_context())


@require_POST
@page(write=True)
def experiment_submit(request):
    from campaigns.measure.experiments import experiment_create

    form = ExperimentForm(request.POST, retailers=_retailers())
    if form.is_valid():
        try:
            experiment = experiment_create(actor=request.user.actor, data=form.experiment_request())
        except MeasureRequestError as exc:
            form.add_error(form.field_of(exc), exc.message)
        else:
            url = reverse("pages:experiment", args=[experiment.pk])
            return HttpResponseClientRedirect(url) if request.htmx else redirect(url)
    template = f"{EXPERIMENTS_TEMPLATE}#experiment-designer" if request.htmx else EXPERIMENTS_TEMPLATE
    # Errors come back as 200, as on the plans page: htmx swaps only successful answers.
    return render(request, template, _experiments_context(form))


# -- one experiment ---------------------------------------------------------------------------------------------


class ReadoutForm(forms.Form):
    """The readout request (campaigns/measure/readout.py): all optional; a network calibrates its factor."""

    method = forms.ChoiceField(required=False, choices=[("did", "Difference-in-differences"),
                                                        ("synthetic", "Synthetic control")],
                               help_text="Both are computed; this one gives the lift, iROAS and calibration.")
    spend = forms.CharField(required=False, label="Test spend", help_text="Extra spend in the treated regions.")
    network = forms.CharField(required=False, help_text="The network whose ads were tested, to calibrate it.")
    placement = forms.CharField(required=False)
    campaign = forms.CharField(required=False)
    attributed_sales = forms.CharField(required=False, label="Attributed sales",
                                       help_text="Empty: the network's own attribution in the test.")


def _experiment_or_404(experiment_id: int) -> Experiment:
    experiment = Experiment.objects.filter(pk=experiment_id).first()
    if experiment is None:
        raise Http404
    return experiment


def _readout_job(experiment: Experiment):
    from tenants.jobs.models import Job

    return Job.objects.filter(kind=READOUT_JOB, params__experiment=experiment.pk).order_by("-created_at").first()


def _candidate(design: dict) -> dict:
    return {**design, "cells": [", ".join(cell) for cell in design.get("cells") or []],
            "mde_text": _percent(design.get("mde")), "power_text": _percent(design.get("power_at_lift")),
            "treated_share_text": _percent(design.get("treated_share")),
            "imbalance_text": _percent(design.get("imbalance"))}


def _readout_context(readout: dict) -> dict:
    cells, rows = [], []
    for index, cell in enumerate(readout.get("cells") or [], start=1):
        low, high = cell["interval"]
        synthetic = cell.get("synthetic") or {}
        cells.append({**cell, "index": index, "regions": ", ".join(cell["treated"]), "low": low, "high": high,
                      "method_name": METHOD_NAMES.get(cell.get("method", "did")),
                      "lift_text": _percent(cell["lift"], signed=True), "low_text": _percent(low, signed=True),
                      "high_text": _percent(high, signed=True), "over_time": _over_time(synthetic),
                      "chart_id": f"readout-over-time-{index}",
                      "weights": ", ".join(f"{region} {weight:.0%}" for region, weight in sorted(
                          (synthetic.get("weights") or {}).items(), key=lambda item: -item[1]))})
        for method in ("did", "synthetic"):
            result = cell.get(method) or (cell if method == "did" and "did" not in cell else {})
            if "lift" in result:
                rows.append((f"Cell {index} · {SHORT_NAMES[method]}", result["lift"], *result["interval"]))
    chart = interval_chart(rows=rows)
    iroas_interval = readout.get("iroas_interval") or [None, None]
    return {"cells": cells, "chart": chart, "iroas_low": iroas_interval[0], "iroas_high": iroas_interval[1]}


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
        ("Treated regions", [Decimal(str(round(sum(treated[i:i + 7]), 2))) for i in weeks]),
        ("Synthetic control", [Decimal(str(round(sum(counterfactual[i:i + 7]), 2))) for i in weeks])])


def _experiment_context(experiment: Experiment, readout_form: ReadoutForm | None = None) -> dict:
    job = _readout_job(experiment)
    context: dict[str, Any] = {
        "experiment": experiment, "design": _candidate(experiment.design or {}), "job": job,
        "reading": job is not None and not job.is_finished,
        "job_failed": job is not None and job.status == "failed",
        "alternatives": [_candidate(a) for a in experiment.alternatives or []],
        "treated_cells": [", ".join(cell) for cell in experiment.treated],
        "schedule": [{**step, "cells": [", ".join(cell) for cell in step.get("cells") or []]}
                     for step in experiment.schedule or []],
        "readout_form": readout_form or ReadoutForm(),
        "test_over": experiment.end_date < timezone.localdate(),
    }
    if experiment.readout:
        context["readout"] = {**experiment.readout, **_readout_context(experiment.readout)}
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
    form = ReadoutForm(request.POST)
    if form.is_valid():
        try:
            params = readout_params({key: value for key, value in form.cleaned_data.items() if value != ""},
                                    kind=experiment.kind)
        except MeasureRequestError as exc:
            form.add_error(exc.field if exc.field in form.fields else None, exc.message)
        else:
            job_create(kind=READOUT_JOB, actor=request.user.actor, params={"experiment": experiment.pk, **params},
                       task=experiment_readout_task)
            url = reverse("pages:experiment", args=[experiment.pk])
            return HttpResponseClientRedirect(url) if request.htmx else redirect(url)
    template = f"{EXPERIMENT_TEMPLATE}#readout-request" if request.htmx else EXPERIMENT_TEMPLATE
    return render(request, template, _experiment_context(experiment, form))
