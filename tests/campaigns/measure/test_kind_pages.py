"""Experiment pages for every kind: switchbacks and audience holdouts designed from their own designers, each kind's
design, schedule, readout form and readout, and cancelling an experiment."""

from __future__ import annotations

import html
import re
from decimal import Decimal

import pytest
from django_tenants.utils import schema_context

from campaigns.measure.models import Experiment
from campaigns.measure.readout import experiment_readout, readout_params
from tenants.jobs.models import Job
from tests.campaigns.measure.test_holdout_experiments import DESIGN as HOLDOUT_DESIGN
from tests.campaigns.measure.test_holdout_experiments import OUTCOME
from tests.campaigns.measure.test_switchback_experiments import lift_on_days, switchback_over_the_last_24_days
from tests.campaigns.plans.test_plan_pages import svg, text
from tests.conftest import api_client_for, page_client_for

HTMX = {"HTTP_HX_REQUEST": "true"}
SWITCHBACK = {"name": "Walmart on/off", "retailer": "walmart", "metric": "revenue", "network": "walmart",
              "placement": "", "block_days": "3", "washout_days": "1", "test_days": "24", "start_date": "",
              "pre_days": "", "lift": "0.1", "power": "0.8", "seed": "7"}
HOLDOUT = {"name": "Lapsed cereal holdout", "retailer": "megamart", "segment": "lapsed cereal buyers",
           "audience_users": "200000", "audience_converters": "3100", "audience_days": "28",
           "audience_revenue": "41000", "holdout_share": "0.1", "lift": "0.15", "test_days": "28",
           "start_date": "2026-12-07", "power": "0.8", "min_group": ""}
HOLDOUT_READOUT = {"exposed_users": "180000", "exposed_converters": "3240", "holdout_users": "20000",
                   "holdout_converters": "300", "exposed_revenue": "43000", "holdout_revenue": "3900", "noise_sd": "",
                   "spend": "9000", "network": "criteo", "placement": "", "campaign": "", "attributed_sales": "20000"}


def designer(kind: str, fields: dict) -> dict:
    """A designer's POST: the kind, and its fields under the form's prefix."""
    return {"kind": kind, **{f"{kind}-{name}": value for name, value in fields.items()}}


def part(body: str, element_id: str) -> str:
    """The element with this id, up to the end of the first element of its tag after it."""
    tag = re.search(rf'<(\w+)[^>]*id="{element_id}"', body).group(1)
    return re.search(rf'<{tag}[^>]*id="{element_id}".*?</{tag}>', body, flags=re.S).group(0)


def bars(chart, series: int) -> list:
    return [el for el in chart.iter() if el.tag.endswith("rect") and el.get("class") == f"series-{series}"]


def title_of(element) -> str:
    return next(child.text for child in element if child.tag.endswith("title"))


def legend(body: str, chart_id: str) -> list[tuple[str, str]]:
    """(series, name) of each legend item under the chart."""
    caption = re.search(rf'id="{chart_id}".*?<figcaption class="legend">(.*?)</figcaption>', body, flags=re.S)
    return re.findall(r'<span class="swatch series-(\d)"></span>([^<]+)</span>', caption.group(1))


def design(tenant, kind: str, fields: dict) -> Experiment:
    response = page_client_for(tenant, username="acme-analyst").post("/experiments/create", designer(kind, fields))
    assert response.status_code == 302, text(response)
    with schema_context("acme"):
        return Experiment.objects.get(pk=int(response["Location"].split("/")[2]))


def status_of(experiment: Experiment) -> str:
    with schema_context("acme"):
        return Experiment.objects.get(pk=experiment.pk).status


def test_an_analyst_designs_a_switchback_from_its_designer(acme, walmart_history):
    # given the switchback designer's fields
    client = page_client_for(acme, username="acme-analyst")

    # when an analyst submits them
    response = client.post("/experiments/create", designer("switchback", SWITCHBACK))

    # then the switchback is stored from exactly the request the API takes
    with schema_context("acme"):
        experiment = Experiment.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/experiments/{experiment.pk}/"
    assert experiment.kind == "switchback" and experiment.name == "Walmart on/off"
    assert experiment.request == {"kind": "switchback", "name": "Walmart on/off", "retailer": "walmart",
                                  "metric": "revenue", "network": "walmart", "block_days": 3, "washout_days": 1,
                                  "test_days": 24, "lift": 0.1, "power": 0.8, "seed": 7}
    assert experiment.design["n_blocks"] == 8 and experiment.design["seed"] == 7


def test_an_analyst_designs_a_holdout_from_its_designer(acme):
    # given the holdout designer's fields, the audience among them
    client = page_client_for(acme, username="acme-analyst")

    # when an analyst submits them with htmx
    response = client.post("/experiments/create", designer("holdout", HOLDOUT), **HTMX)

    # then the holdout is stored with the audience nested as the API takes it, and the browser goes to it
    with schema_context("acme"):
        experiment = Experiment.objects.get()
    assert response["HX-Redirect"] == f"/experiments/{experiment.pk}/"
    assert experiment.kind == "holdout"
    assert experiment.request == {"kind": "holdout", "name": "Lapsed cereal holdout", "retailer": "megamart",
                                  "segment": "lapsed cereal buyers",
                                  "audience": {"users": 200_000, "converters": 3_100, "days": 28, "revenue": 41_000},
                                  "holdout_share": 0.1, "lift": 0.15, "test_days": 28, "start_date": "2026-12-07",
                                  "power": 0.8}
    assert experiment.design["holdout_users"] == 20_000


@pytest.mark.parametrize(("kind", "fields", "field", "message"), [
    ("switchback", {**SWITCHBACK, "washout_days": "3"}, "switchback-washout_days",
     "must be a whole number of days from 0 to 2 (less than block_days)"),
    ("switchback", {**SWITCHBACK, "test_days": "", "lift": ""}, "switchback-test_days", "is required"),
    ("holdout", {**HOLDOUT, "audience_converters": "300000"}, "holdout-audience_converters",
     "must be at most the users (200000); got 300000"),
    ("holdout", {**HOLDOUT, "holdout_share": "0.7"}, "holdout-holdout_share", "must be above 0.0 and at most 0.5"),
])
def test_an_invalid_design_comes_back_in_its_designer_with_the_fields_message(acme, walmart_history, kind, fields,
                                                                               field, message):
    # given an analyst
    client = page_client_for(acme, username="acme-analyst")

    # when a designer is submitted with a value the API refuses
    response = client.post("/experiments/create", designer(kind, fields), **HTMX)

    # then only that designer comes back, the message under the field, and nothing is stored
    body = text(response)
    assert response.status_code == 200
    assert body.startswith(f'<section class="card" id="{kind}-designer">')
    assert f'<p class="error" id="error-{field}">{html.escape(message)}</p>' in part(body, f"field-{field}")
    assert body.count('class="error"') == 1
    with schema_context("acme"):
        assert not Experiment.objects.exists()


def test_an_audience_the_design_cannot_split_is_refused_at_the_top_of_the_holdout_designer(acme):
    # given a segment too small for two groups of 50
    fields = {**HOLDOUT, "audience_users": "80", "audience_converters": "10"}

    # when it is designed
    response = page_client_for(acme, username="acme-analyst").post(
        "/experiments/create", designer("holdout", fields), **HTMX)

    # then the error is the form's, not one field's
    body = text(response)
    assert '<p class="error" id="error-holdout-form">80 users cannot make two groups of at least min_group (50) ' \
           'users</p>' in body
    assert body.count('class="error"') == 1


def test_an_unknown_kind_is_a_bad_request(acme):
    # when a designer posts a kind there is none of
    response = page_client_for(acme, username="acme-analyst").post("/experiments/create", {"kind": "survey"})

    # then it is refused and nothing is stored
    assert response.status_code == 400
    with schema_context("acme"):
        assert not Experiment.objects.exists()


def test_the_list_shows_each_kind_and_its_three_designers(acme, walmart_history):
    # given a switchback and a holdout
    switchback = design(acme, "switchback", SWITCHBACK)
    holdout = design(acme, "holdout", HOLDOUT)

    # when a viewer opens the list
    body = text(page_client_for(acme, username="acme-viewer").get("/experiments/"))

    # then each row names its kind, and the three designers are there, disabled
    assert '<td class="kind-switchback">Switchback</td>' in part(body, f"experiment-{switchback.pk}")
    assert '<td class="kind-holdout">Audience holdout</td>' in part(body, f"experiment-{holdout.pk}")
    for slug in ("experiment", "switchback", "holdout"):
        assert f'<fieldset id="{slug}-fields" disabled>' in body
    assert '<option value="walmart">walmart</option>' in part(body, "id_switchback-network")


def test_a_switchback_page_shows_its_blocks_and_design(acme, walmart_history):
    # given a designed switchback
    experiment = design(acme, "switchback", SWITCHBACK)

    # when its page is opened
    body = text(page_client_for(acme, username="acme-viewer").get(f"/experiments/{experiment.pk}/"))

    # then every block is a row with its dates, ON or OFF, and the day its analysis starts
    blocks = [step for step in experiment.schedule if step["action"] in ("on", "off")]
    schedule = part(body, "table-schedule")
    assert schedule.count('<tr class="step-') == len(blocks) + 1  # and the readout
    for index, block in enumerate(blocks, start=1):
        row = part(schedule, f"block-{index}")
        assert f"<td>{block['date']} to {block['until']}</td>" in row
        assert f"<td>{block['action'].upper()}</td><td>{block['analysed_from']}</td>" in row
    chart = svg(body, "chart-schedule-blocks")
    assert len(bars(chart, 0)) == sum(b["action"] == "on" for b in blocks) == 4 and len(bars(chart, 1)) == 4
    # and the design is the switchback's, not a geo test's regions
    d = experiment.design
    assert "walmart" in part(body, "design-network")
    assert "3 days" in part(body, "design-blocks") and "its first 1 washed out" in part(body, "design-blocks")
    assert "blocks: 4 on, 4 off; 16 days analysed" in part(body, "design-n-blocks")
    assert f"{d['mde']:.1%}" in part(body, "design-mde")
    assert f"{d['power_at_lift']:.1%}" in part(body, "design-power") and "a +10.0% lift" in part(body, "design-power")
    assert f"{d['block_sd']:.1%}" in part(body, "design-block-sd")
    assert 'id="design-regions"' not in body and 'id="design-correlation"' not in body
    assert 'name="method"' not in part(body, "readout-form")


def test_a_holdout_page_shows_its_design_and_the_outcome_readout_form(acme):
    # given a designed holdout
    experiment = design(acme, "holdout", HOLDOUT)

    # when its page is opened
    body = text(page_client_for(acme, username="acme-analyst").get(f"/experiments/{experiment.pk}/"))

    # then the design is the holdout's: segment, share, groups, baseline rate, MDE, power, cost
    d = experiment.design
    assert "lapsed cereal buyers" in part(body, "design-segment")
    assert "200,000 users, 3,100 converting over 28 days" in part(body, "design-segment")
    assert '<span class="stat-value">10.0%</span>' in part(body, "design-holdout-share")
    assert '<span class="stat-value">180,000</span>' in part(body, "design-exposed-users")
    assert '<span class="stat-value">20,000</span>' in part(body, "design-holdout-users")
    assert f"{d['rate']:.2%}" in part(body, "design-rate")
    assert f"{d['mde']:.1%}" in part(body, "design-mde") and f"{d['power_at_lift']:.1%}" in part(body, "design-power")
    assert f"{d['forgone_conversions']:,.0f}" in part(body, "design-forgone")
    schedule = part(body, "table-schedule")
    assert re.findall(r'class="step-(\w+)"', schedule) == ["start", "end", "readout"]
    # and the readout form asks for each group's outcome, not a geo method
    form = part(body, "readout-form")
    for name in ("exposed_users", "exposed_converters", "holdout_users", "holdout_converters", "exposed_revenue",
                 "holdout_revenue", "noise_sd", "spend", "network", "attributed_sales"):
        assert f'name="{name}"' in form
    assert 'name="method"' not in form
    assert 'id="experiment-design"' in body and 'id="design-regions"' not in body


def test_the_holdout_readout_form_queues_a_job_with_the_outcome(acme):
    # given a designed holdout
    experiment = design(acme, "holdout", HOLDOUT)
    client = page_client_for(acme, username="acme-analyst")

    # when an analyst posts each group's outcome with the spend and the tested network
    response = client.post(f"/experiments/{experiment.pk}/readout", HOLDOUT_READOUT)

    # then a readout job is queued whose params hold the outcome as the API takes it
    with schema_context("acme"):
        job = Job.objects.get(kind="readout")
    assert response.status_code == 302 and response["Location"] == f"/experiments/{experiment.pk}/"
    assert job.params == {"experiment": experiment.pk,
                          "outcome": {"exposed_users": 180_000, "exposed_converters": 3_240, "holdout_users": 20_000,
                                      "holdout_converters": 300, "exposed_revenue": 43_000, "holdout_revenue": 3_900},
                          "spend": "9000", "attributed_sales": "20000", "network": "criteo", "placement": "",
                          "campaign": ""}


def test_an_impossible_outcome_is_named_at_its_field_and_queues_nothing(acme):
    # given a designed holdout
    experiment = design(acme, "holdout", HOLDOUT)

    # when the outcome has more converters than users
    response = page_client_for(acme, username="acme-analyst").post(
        f"/experiments/{experiment.pk}/readout", {**HOLDOUT_READOUT, "exposed_converters": "200000"}, **HTMX)

    # then the readout form comes back with the message under that field
    body = text(response)
    assert body.startswith('<section class="card" id="readout-request">')
    assert '<p class="error" id="error-exposed_converters">must be at most the users (180000); got 200000.0</p>' \
           in part(body, "field-exposed_converters")
    with schema_context("acme"):
        assert not Job.objects.filter(kind="readout").exists()


def test_a_read_out_switchback_shows_each_blocks_mean_on_and_off(acme, walmart_history):
    # given a switchback whose ON blocks sold 40% more, read out
    with schema_context("acme"):
        experiment = switchback_over_the_last_24_days(walmart_history)
        lift_on_days(experiment, 1.4)
        readout = experiment_readout(experiment, readout_params({"spend": "3000"}, kind="switchback"))

    # when its page is opened
    body = text(page_client_for(acme, username="acme-viewer").get(f"/experiments/{experiment.pk}/"))

    # then the block chart has one bar per block, ON and OFF as two series, each at its block's mean
    [cell] = readout["cells"]
    chart = svg(body, "chart-readout-blocks")
    on, off = bars(chart, 0), bars(chart, 1)
    assert len(on) == cell["blocks_on"] == 4 and len(off) == cell["blocks_off"] == 4
    titles = [title_of(rect) for rect in on + off]
    expected = [f"{b['start'][5:]} · Ads {'on' if b['on'] else 'off'}: {Decimal(str(round(b['mean'], 2)))}"
                for b in sorted(cell["blocks"], key=lambda b: not b["on"])]
    assert titles == expected
    assert legend(body, "chart-readout-blocks") == [("0", "Ads on"), ("1", "Ads off")]
    # and the lift with its interval, significant, the verdict and the iROAS
    row = part(body, "readout-cell-1")
    assert f"{cell['lift']:+.1%}" in row and f"{cell['interval'][0]:+.1%} to {cell['interval'][1]:+.1%}" in row
    assert "<td>yes</td>" in row and "4 / 4" in row
    lift_chart = svg(body, "chart-readout-lift")
    assert "significant" in next(el for el in lift_chart.iter() if el.get("id") == "interval-1").get("class")
    assert html.escape(readout["verdict"]) in part(body, "readout-verdict")
    assert f"Incremental ROAS {readout['iroas']:.2f}" in part(body, "readout-iroas")


def test_a_read_out_holdout_shows_both_rates_the_lift_and_the_verdict(acme):
    # given a holdout read out from its outcome: exposed 1.8% against 1.5% held out
    created = api_client_for(acme, username="acme-analyst").post("/api/v1/experiments", HOLDOUT_DESIGN, format="json")
    with schema_context("acme"):
        experiment = Experiment.objects.get(pk=created.json()["id"])
        readout = experiment_readout(experiment, readout_params(
            {"outcome": OUTCOME, "spend": "9000", "network": "criteo", "attributed_sales": "20000"}, kind="holdout"))

    # when its page is opened
    body = text(page_client_for(acme, username="acme-viewer").get(f"/experiments/{experiment.pk}/"))

    # then the rates, the lift with its interval, the incremental conversions with theirs, iROAS and the verdict
    [cell] = readout["cells"]
    assert "<td class=\"num\">1.80%</td>" in part(body, "readout-exposed-rate")
    assert "<td class=\"num\">1.50%</td>" in part(body, "readout-holdout-rate")
    low, high = cell["interval"]
    assert f"+20.0% (95% interval {low:+.1%} to {high:+.1%}, p = {cell['p_value']:.3f}), significant" \
           in part(body, "readout-lift")
    c_low, c_high = cell["incremental_conversions_interval"]
    assert f"540 (95% interval {c_low:,.0f} to {c_high:,.0f})" in part(body, "readout-incremental-conversions")
    assert f"Incremental ROAS {readout['iroas']:.2f}" in part(body, "readout-iroas")
    assert part(body, "readout-verdict") == f'<p id="readout-verdict">{html.escape(readout["verdict"])}</p>'
    assert readout["verdict"].startswith("The exposed users converted more than the holdout: +20.0%")
    assert "from the stated outcome" in body


def test_an_analyst_cancels_an_experiment(acme, walmart_history):
    # given a designed switchback, its page offering the cancel button
    experiment = design(acme, "switchback", SWITCHBACK)
    client = page_client_for(acme, username="acme-analyst")
    assert 'id="cancel-experiment"' in text(client.get(f"/experiments/{experiment.pk}/"))

    # when the analyst cancels it
    response = client.post(f"/experiments/{experiment.pk}/cancel", **HTMX)

    # then it is cancelled, the browser reloads it, and the button is gone
    assert response["HX-Redirect"] == f"/experiments/{experiment.pk}/"
    assert status_of(experiment) == "cancelled"
    body = text(client.get(f"/experiments/{experiment.pk}/"))
    assert 'id="experiment-state">Cancelled</span>' in body and 'id="cancel-experiment"' not in body


def test_a_viewer_cannot_cancel_and_sees_no_button(acme, walmart_history):
    # given a designed switchback
    experiment = design(acme, "switchback", SWITCHBACK)
    viewer = page_client_for(acme, username="acme-viewer")

    # when a viewer opens it and posts a cancel
    body = text(viewer.get(f"/experiments/{experiment.pk}/"))
    response = viewer.post(f"/experiments/{experiment.pk}/cancel")

    # then there is no button and the cancel is refused
    assert 'id="cancel-experiment"' not in body
    assert response.status_code == 403
    assert status_of(experiment) == "designed"


def test_a_second_cancel_shows_why_it_cannot_be(acme, walmart_history):
    # given a cancelled switchback
    experiment = design(acme, "switchback", SWITCHBACK)
    client = page_client_for(acme, username="acme-analyst")
    assert client.post(f"/experiments/{experiment.pk}/cancel").status_code == 302

    # when it is cancelled again, with htmx and without
    swapped = client.post(f"/experiments/{experiment.pk}/cancel", **HTMX)
    page = client.post(f"/experiments/{experiment.pk}/cancel")

    # then the 409 comes back as the error in the cancel part, or on the whole page
    error = ('<p class="error" id="error-cancel">only a designed or running experiment can be cancelled; this one is '
             'cancelled</p>')
    assert swapped.status_code == 200 and text(swapped).startswith('<div id="experiment-cancel">')
    assert error in text(swapped) and 'id="cancel-experiment"' not in text(swapped)
    assert page.status_code == 200 and "<html" in text(page) and error in text(page)
