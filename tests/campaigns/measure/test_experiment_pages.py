"""Experiment pages: the list with the geo test designer, one experiment (design, schedule, readout with its lift
chart) and the readout form that queues a job."""

from __future__ import annotations

import re

import pytest
from django_tenants.utils import schema_context

from campaigns.measure.models import Experiment
from campaigns.measure.readout import experiment_readout, readout_params
from tenants.jobs.models import Job
from tests.campaigns.measure.test_readout import geo_test_over_the_last_two_weeks, lift_treated_sales
from tests.campaigns.plans.test_plan_pages import svg, text
from tests.conftest import page_client_for

HTMX = {"HTTP_HX_REQUEST": "true"}
DESIGN = {"name": "West test", "retailer": "walmart", "metric": "revenue", "n_treated": "2", "cells": "1",
          "include": "US-W", "exclude": "US-TX", "test_days": "14", "lift": "0.1", "iroas": "1.5", "power": "0.8"}




def test_the_list_shows_experiments_and_the_designer(acme, walmart_history):
    with schema_context("acme"):
        experiment = geo_test_over_the_last_two_weeks(walmart_history)
        experiment.design = {"mde": 0.0425}
        experiment.save()

    response = page_client_for(acme, username="acme-viewer").get("/experiments/")

    body = text(response)
    assert response.status_code == 200
    assert '<a href="/experiments/" aria-current="page">Experiments</a>' in body
    row = re.search(rf'<tr id="experiment-{experiment.pk}">.*?</tr>', body, flags=re.S).group(0)
    assert "west and east" in row and "Designed" in row and "walmart" in row and "4.2%" in row
    assert f"{experiment.start_date:%Y-%m-%d} to {experiment.end_date:%Y-%m-%d}" in row
    assert '<option value="walmart">walmart</option>' in body
    assert '<fieldset id="experiment-fields" disabled>' in body and 'id="designer-read-only"' in body


def test_an_analyst_designs_a_geo_test_from_the_form(acme, walmart_history):
    response = page_client_for(acme, username="acme-analyst").post("/experiments/create", DESIGN)

    with schema_context("acme"):
        experiment = Experiment.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/experiments/{experiment.pk}/"
    [cell] = experiment.treated
    assert "US-W" in cell and len(cell) == 2 and experiment.excluded == ["US-TX"]
    assert experiment.created_by == "user:acme-analyst"
    assert experiment.request == {"name": "West test", "retailer": "walmart", "metric": "revenue", "n_treated": 2,
                                  "test_days": 14, "cells": 1, "lift": 0.1, "iroas": 1.5, "power": 0.8,
                                  "include": ["US-W"], "exclude": ["US-TX"]}


def test_an_htmx_submit_redirects_the_browser(acme, walmart_history):
    response = page_client_for(acme, username="acme-analyst").post("/experiments/create", DESIGN, **HTMX)

    with schema_context("acme"):
        experiment = Experiment.objects.get()
    assert response["HX-Redirect"] == f"/experiments/{experiment.pk}/"


def test_viewers_cannot_design_a_test(acme, walmart_history):
    response = page_client_for(acme, username="acme-viewer").post("/experiments/create", DESIGN, **HTMX)

    assert response.status_code == 403
    with schema_context("acme"):
        assert not Experiment.objects.exists()


@pytest.mark.parametrize(("fields", "field", "message"), [
    ({"n_treated": "0"}, "n_treated", "must be a whole number of at least 1"),
    ({"include": "US-NOWHERE"}, "include", "&#x27;US-NOWHERE&#x27; is not one of the regions"),
])
def test_invalid_input_comes_back_with_the_fields_message_and_stores_nothing(acme, walmart_history, fields, field,
                                                                            message):
    response = page_client_for(acme, username="acme-analyst").post(
        "/experiments/create", {**DESIGN, **fields}, **HTMX)

    assert response.status_code == 200
    body = text(response)
    assert body.startswith('<section class="card" id="experiment-designer">')
    field_html = re.search(rf'<div class="field" id="field-{field}">.*?</div>', body, flags=re.S).group(0)
    assert f'<p class="error" id="error-{field}">' in field_html and message in field_html
    assert body.count('class="error"') == 1
    with schema_context("acme"):
        assert not Experiment.objects.exists()


def test_an_overlapping_test_is_refused_at_the_top_of_the_form(acme, walmart_history):
    client = page_client_for(acme, username="acme-analyst")
    assert client.post("/experiments/create", DESIGN).status_code == 302

    response = client.post("/experiments/create", {**DESIGN, "name": "again"})

    body = text(response)
    assert response.status_code == 200 and "<html" in body
    error = re.search(r'<p class="error" id="error-form">(.*?)</p>', body, flags=re.S).group(1)
    assert "confound each other" in error
    with schema_context("acme"):
        assert Experiment.objects.count() == 1


def test_the_experiment_page_shows_the_design_alternatives_and_schedule(acme, walmart_history):
    client = page_client_for(acme, username="acme-analyst")
    client.post("/experiments/create", DESIGN)
    with schema_context("acme"):
        experiment = Experiment.objects.get()

    body = text(client.get(f"/experiments/{experiment.pk}/"))

    assert f"{experiment.design['mde']:.1%}" in re.search(r'id="design-mde">.*?</div>', body, flags=re.S).group(0)
    assert ", ".join(experiment.treated[0]) in body and ", ".join(experiment.control) in body
    assert re.search(r'<tr id="design-excluded"><th>Left out</th><td>US-TX</td></tr>', body)
    for key in ("design-power", "design-correlation", "design-rmse", "design-imbalance", "design-cost"):
        assert f'id="{key}"' in body
    alternatives = re.search(r'<table id="table-alternatives">.*?</table>', body, flags=re.S).group(0)
    assert alternatives.count("<tr>") == len(experiment.alternatives) + 1
    schedule = re.search(r'<table id="table-schedule">.*?</table>', body, flags=re.S).group(0)
    for step in experiment.schedule:
        assert step["date"] in schedule and f'class="step-{step["action"]}"' in schedule
    assert 'id="experiment-readout"' not in body and 'id="readout-form"' in body


def test_a_read_out_test_shows_the_verdict_and_the_lift_with_its_interval(acme, walmart_history):
    with schema_context("acme"):
        experiment = geo_test_over_the_last_two_weeks(walmart_history)
        lift_treated_sales(experiment, 1.3)
        readout = experiment_readout(experiment, readout_params({"spend": "2000", "network": "walmart"}))

    body = text(page_client_for(acme, username="acme-viewer").get(f"/experiments/{experiment.pk}/"))

    [cell] = readout["cells"]
    assert 'id="experiment-state">Read out</span>' in body
    verdict = re.search(r'<p id="readout-verdict">(.*?)</p>', body, flags=re.S).group(1)
    assert "sold more than their controls predict" in verdict
    assert f"{cell['lift']:+.1%}" in re.search(r'<tr id="readout-cell-1">.*?</tr>', body, flags=re.S).group(0)
    assert f"Incremental ROAS {readout['iroas']:.2f}" in body
    assert 'id="readout-calibration"' in body
    chart = svg(body, "chart-readout-lift")
    ns = "{http://www.w3.org/2000/svg}"
    tag = "" if chart.tag == "svg" else ns
    row = chart.find(f".//{tag}g[@id='interval-1']")
    whisker = row.find(f"{tag}line[@class='whisker']")
    dot = row.find(f"{tag}circle[@class='estimate']")
    zero = chart.find(f"{tag}line[@class='zero']")
    low, high, lift = float(whisker.get("x1")), float(whisker.get("x2")), float(dot.get("cx"))
    assert low < lift < high
    assert float(zero.get("x1")) < low  # a significant positive lift: the whole interval right of zero
    assert "significant" in row.get("class")
    # both methods' intervals are drawn, and the synthetic control's weekly counterfactual beside the treated sales
    assert chart.find(f".//{tag}g[@id='interval-2']") is not None
    over_time = svg(body, "chart-readout-over-time-1")
    lines = over_time.findall(f".//{tag}path")
    assert len(lines) == 2 and all(line.get("d").count("L") == 5 for line in lines)  # 6 weeks: 4 before, 2 in
    weights = re.search(r'<p id="readout-weights-1">(.*?)</p>', body, flags=re.S).group(1)
    assert any(region in weights for region in cell["synthetic"]["weights"])


def test_an_analyst_queues_a_readout_and_the_page_polls_its_job(acme, walmart_history):
    with schema_context("acme"):
        experiment = geo_test_over_the_last_two_weeks(walmart_history)
    client = page_client_for(acme, username="acme-analyst")

    response = client.post(f"/experiments/{experiment.pk}/readout", {"spend": "1500", "network": "walmart"})

    with schema_context("acme"):
        job = Job.objects.get(kind="readout")
    assert response.status_code == 302 and response["Location"] == f"/experiments/{experiment.pk}/"
    assert job.params == {"experiment": experiment.pk, "method": "did", "spend": "1500", "network": "walmart",
                          "placement": "", "campaign": ""}
    body = text(client.get(f"/experiments/{experiment.pk}/"))
    assert re.search(rf'id="readout-status"\s+hx-get="/experiments/{experiment.pk}/\?part=status"', body)
    assert f'hx-get="/jobs/{job.pk}/progress"' in body
    polled = client.get(f"/experiments/{experiment.pk}/", {"part": "status"}, **HTMX)
    assert text(polled).startswith('<section class="card" id="readout-status"')


def test_a_bad_readout_request_names_its_field_and_queues_nothing(acme, walmart_history):
    with schema_context("acme"):
        experiment = geo_test_over_the_last_two_weeks(walmart_history)
    client = page_client_for(acme, username="acme-analyst")

    response = client.post(f"/experiments/{experiment.pk}/readout", {"spend": "-3", "network": "walmart"}, **HTMX)
    viewer = page_client_for(acme, username="acme-viewer").post(f"/experiments/{experiment.pk}/readout", {})

    body = text(response)
    assert body.startswith('<section class="card" id="readout-request">')
    assert '<p class="error" id="error-spend">must be a positive amount of money</p>' in body
    assert viewer.status_code == 403
    with schema_context("acme"):
        assert not Job.objects.filter(kind="readout").exists()


def test_another_tenants_experiment_is_404(acme, megamart, walmart_history):
    with schema_context("acme"):
        theirs = geo_test_over_the_last_two_weeks(walmart_history)

    client = page_client_for(megamart, username="megamart-analyst")

    assert client.get(f"/experiments/{theirs.pk}/").status_code == 404
    assert client.post(f"/experiments/{theirs.pk}/readout", {}).status_code == 404
    assert page_client_for(acme, username="acme-viewer").get("/experiments/999999/").status_code == 404
