"""Plan pages: the list with the builder, one plan (building, failed, ready) and two plans compared."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from xml.etree import ElementTree

import pytest
from django_tenants.utils import schema_context

from campaigns.charts import curve_value
from campaigns.plans.build import PlanBuildError, plan_build
from campaigns.plans.models import Plan, PlanStatus
from campaigns.plans.services import plan_create
from campaigns.plans.views import CURVES_SHOWN
from tenants.jobs.models import Job
from tests.conftest import page_client_for

HTMX = {"HTTP_HX_REQUEST": "true"}


def text(response) -> str:
    return response.content.decode().strip()


def svg(body: str, svg_id: str) -> ElementTree.Element:
    found = re.search(rf'<svg [^>]*id="{svg_id}".*?</svg>', body, flags=re.S)
    assert found, f"no svg {svg_id}"
    return ElementTree.fromstring(found.group(0))  # noqa: S314 - our own markup


def money(value) -> str:
    return f"{Decimal(str(value)):,.2f}"


def build(name: str, request: dict) -> Plan:
    """A plan built in-process, the way the worker builds it (ready, or failed with the reason)."""
    with schema_context("acme"):
        plan = Plan.objects.create(name=name, created_by="user:acme-analyst", request=request)
        try:
            plan_build(plan)
        except PlanBuildError:
            pass
        plan.refresh_from_db()
        return plan


def recent(truth: dict, **request) -> dict:
    """A request fitted on the last three weeks of the demo history, for a two-week flight (quick to build)."""
    end = dt.date.fromisoformat(truth["end"])
    return {**request, "scope": {"history_from": (end - dt.timedelta(days=20)).isoformat(), "days": 14,
                                 **request.get("scope", {})}}


@pytest.fixture
def ready_plan(walmart_history) -> Plan:
    # The revenue objective spends the whole budget, so the budget binds.
    plan = build("Holiday push", recent(walmart_history, budget="1500", objective="revenue"))
    assert plan.status == PlanStatus.READY, plan.error
    return plan


# -- the list and the builder -----------------------------------------------------------------------------------


def test_the_list_shows_plans_with_their_numbers_and_polls_while_one_builds(acme):
    # given a built plan and one still queued
    with schema_context("acme"):
        done = Plan.objects.create(name="Q1 always-on", created_by="user:acme-analyst", status=PlanStatus.READY,
                                   request={"budget": "12500"}, budget=Decimal("12500"), objective="margin",
                                   flight_start=dt.date(2026, 1, 5), flight_end=dt.date(2026, 2, 1),
                                   expected_spend=Decimal("11250.5"), expected_incremental_margin=Decimal("3100.25"))
        queued = plan_create(actor="user:acme-analyst", data={"name": "Spring", "budget": "900"})

    # when a viewer opens the plans page
    response = page_client_for(acme, username="acme-viewer").get("/plans/")

    # then both are listed, the built one with its flight and money
    assert response.status_code == 200
    body = text(response)
    row = re.search(rf'<tr id="plan-{done.pk}">.*?</tr>', body, flags=re.S).group(0)
    assert f'<a href="/plans/{done.pk}/">#{done.pk} Q1 always-on</a>' in row
    assert '<span class="status status-ready">Ready</span>' in row
    assert "2026-01-05 to 2026-02-01 (28 days)" in row
    assert re.findall(r'<td class="num">([^<]*)</td>', row) == ["12,500.00", "11,250.50", "3,100.25"]
    assert f'<a href="/plans/{queued.pk}/">#{queued.pk} Spring</a>' in body
    assert '<span class="status status-queued">Queued</span>' in body
    # and the list polls while a plan builds; the page is in the navigation
    assert re.search(r'id="plan-list"\s+hx-get="/plans/\?part=list" hx-trigger="every 2s"', body)
    assert '<a href="/plans/" aria-current="page">Plans</a>' in body


def test_the_list_partial_stops_polling_when_nothing_builds(acme):
    plan = build("Lone", {"budget": "100"})  # acme has no ad data: it fails at once
    assert plan.status == PlanStatus.FAILED

    response = page_client_for(acme, username="acme-viewer").get("/plans/", {"part": "list"}, **HTMX)

    body = text(response)
    assert body.startswith('<section class="card" id="plan-list">')
    assert "hx-trigger" not in body and "<html" not in body
    assert f'id="plan-{plan.pk}"' in body


def test_retailers_get_the_plans_page_too(megamart):
    response = page_client_for(megamart, username="megamart-analyst").get("/plans/")

    assert response.status_code == 200
    assert '<a href="/plans/" aria-current="page">Plans</a>' in text(response)
    assert 'id="plan-form"' in text(response)


def test_viewers_see_the_builder_but_cannot_create_a_plan(acme):
    client = page_client_for(acme, username="acme-viewer")

    page = text(client.get("/plans/"))
    response = client.post("/plans/create", {"budget": "1000", "objective": "margin"}, **HTMX)

    assert 'id="plan-form"' in page and '<fieldset id="plan-fields" disabled>' in page
    assert 'id="builder-read-only"' in page
    assert response.status_code == 403
    with schema_context("acme"):
        assert not Plan.objects.exists()
        assert not Job.objects.filter(kind="plan").exists()


def test_an_analyst_builds_a_plan_from_the_form(acme, walmart_history):
    # given an analyst on the plans page: the networks with data are offered, each with a spend cap
    client = page_client_for(acme, username="acme-analyst")
    page = text(client.get("/plans/"))
    assert '<option value="walmart">walmart</option>' in page
    assert '<label for="id_max_spend__walmart">Max spend on walmart:</label>' in page
    assert '<fieldset id="plan-fields">' in page

    # when they fill in the builder and submit it
    response = client.post("/plans/create", {
        "name": "Walmart Q1", "budget": "25000", "objective": "revenue", "min_roas": "2.5",
        "roas_basis": "attributed", "max_cpa": "12", "reserve_share": "0.1", "stockout_threshold": "0.4",
        "spend_all": "on", "networks": ["walmart"], "flight_start": "2026-01-05", "days": "28",
        "max_spend__walmart": "20000", "default_margin_rate": "0.35",
    })

    # then a queued plan exists with the request as the API takes it, its build job is queued (no worker runs
    # here), and the browser goes to the plan's page
    with schema_context("acme"):
        plan = Plan.objects.get()
        job = Job.objects.get(kind="plan")
    assert response.status_code == 302
    assert response["Location"] == f"/plans/{plan.pk}/"
    assert (plan.name, plan.status, plan.budget, plan.objective, plan.created_by) == (
        "Walmart Q1", PlanStatus.QUEUED, Decimal("25000.00"), "revenue", "user:acme-analyst")
    assert plan.request == {
        "name": "Walmart Q1", "budget": "25000", "objective": "revenue",
        "constraints": {"min_roas": 2.5, "roas_basis": "attributed", "max_cpa": "12", "reserve_share": 0.1,
                        "stockout_threshold": 0.4, "spend_all": True,
                        "node_bounds": [{"network": "walmart", "max": "20000"}]},
        "scope": {"networks": ["walmart"], "flight_start": "2026-01-05", "days": 28},
        "default_margin_rate": 0.35,
    }
    assert plan.job_id == job.pk and job.params == {"plan": plan.pk} and job.status == "queued"


def test_an_htmx_submit_redirects_the_browser_to_the_new_plan(acme):
    response = page_client_for(acme, username="acme-analyst").post(
        "/plans/create", {"budget": "500", "objective": "margin", "flight_start": "2026-03-01",
                          "flight_end": "2026-03-14", "days": "28"}, **HTMX)

    with schema_context("acme"):
        plan = Plan.objects.get()
    assert response.status_code == 200
    assert response["HX-Redirect"] == f"/plans/{plan.pk}/"
    # an end date wins over the number of days
    assert plan.request["scope"] == {"flight_start": "2026-03-01", "flight_end": "2026-03-14"}


@pytest.mark.parametrize(("fields", "field", "message"), [
    ({"budget": "-5"}, "budget", "must be a non-negative amount of money"),
    ({"reserve_share": "1"}, "reserve_share", "must be between 0 and 0.99"),
    ({"flight_start": "2026-03-10", "flight_end": "2026-03-01"}, "flight_end", "is before scope.flight_start"),
])
def test_invalid_input_comes_back_with_the_fields_message_and_creates_nothing(acme, fields, field, message):
    response = page_client_for(acme, username="acme-analyst").post(
        "/plans/create", {"budget": "1000", "objective": "margin", **fields}, **HTMX)

    # the builder alone comes back (200: htmx swaps only successful answers), the message next to its field
    assert response.status_code == 200
    body = text(response)
    assert body.startswith('<section class="card" id="plan-builder">')
    field_html = re.search(rf'<div class="field" id="field-{field}">.*?</div>', body, flags=re.S).group(0)
    assert f'<p class="error" id="error-{field}">{message}</p>' in field_html
    assert body.count('class="error"') == 1
    # what was typed is kept
    assert f'value="{next(iter(fields.values()))}"' in body
    with schema_context("acme"):
        assert not Plan.objects.exists()
        assert not Job.objects.filter(kind="plan").exists()


def test_a_form_that_does_not_parse_is_answered_on_the_full_page_without_htmx(acme):
    response = page_client_for(acme, username="acme-analyst").post("/plans/create", {"budget": "lots"})

    assert response.status_code == 200
    body = text(response)
    assert "<html" in body and 'id="plan-list"' in body
    assert '<p class="error" id="error-budget">Enter a number.</p>' in body
    with schema_context("acme"):
        assert not Plan.objects.exists()


# -- one plan ---------------------------------------------------------------------------------------------------


def test_a_queued_plan_polls_its_job_and_reloads_once_built(acme):
    # given a plan just created (its job queued)
    with schema_context("acme"):
        plan = plan_create(actor="user:acme-analyst", data={"name": "Soon", "budget": "800"})
    client = page_client_for(acme, username="acme-viewer")

    # when its page is opened, and polled while the plan builds
    body = text(client.get(f"/plans/{plan.pk}/"))
    polled = client.get(f"/plans/{plan.pk}/", {"part": "status"}, **HTMX)

    # then the page shows the job's progress and polls for the plan
    assert re.search(rf'id="plan-status"\s+hx-get="/plans/{plan.pk}/\?part=status" hx-trigger="every 2s"', body)
    assert f'id="job-{plan.job_id}"' in body and f'hx-get="/jobs/{plan.job_id}/progress"' in body
    assert text(polled).startswith('<section class="card" id="plan-status"')

    # and once the build is done (here it fails: acme has no ad data) the poll asks htmx to reload the page
    with schema_context("acme"), pytest.raises(PlanBuildError):
        plan_build(Plan.objects.get(pk=plan.pk))
    done = client.get(f"/plans/{plan.pk}/", {"part": "status"}, **HTMX)
    assert done["HX-Refresh"] == "true"
    body = text(client.get(f"/plans/{plan.pk}/"))
    assert 'id="plan-status"' not in body
    assert ('<p class="error" id="plan-error-message">There is no ad data to plan from yet: ingest the networks&#x27; '
            "exports first.</p>") in body


def test_a_failed_plan_says_why_with_the_conflicts_and_the_best_achievable(acme, walmart_history):
    plan = build("Too greedy", recent(walmart_history, budget="5000",
                                      constraints={"min_roas": 50, "spend_all": True}))
    assert plan.status == PlanStatus.FAILED

    body = text(page_client_for(acme, username="acme-viewer").get(f"/plans/{plan.pk}/"))

    assert f'<p class="error" id="plan-error-message">{plan.error["message"]}</p>' in body
    assert plan.error["message"].startswith("ROAS ≥ 50.00 (incremental) is infeasible; the best achievable is ")
    assert ("Constraints in conflict: <code>constraints.min_roas</code>, <code>constraints.spend_all</code>."
            in body)
    best = plan.error["details"]["best_achievable"]
    assert f"Best achievable: roas {best['roas']}, spend {best['spend']}." in body
    assert 'id="plan-totals"' not in body


def test_a_ready_plan_shows_totals_rationale_charts_curves_and_binding_constraints(acme, ready_plan):
    allocation = ready_plan.allocation
    totals = allocation["totals"]

    response = page_client_for(acme, username="acme-viewer").get(f"/plans/{ready_plan.pk}/")

    assert response.status_code == 200
    body = text(response)
    # totals: spend of the budget, incremental revenue and margin with their 90% intervals, ROAS, vs current
    assert totals["spend"] == "1500.00"
    assert re.search(r'id="total-spend"><span class="stat-value">1,500.00</span>\s*'
                     r'<span class="stat-label">spend of 1,500.00 budget</span>', body)
    for key, stat in (("incremental_revenue", "total-revenue"), ("incremental_margin", "total-margin")):
        interval = allocation["intervals"][key]
        assert re.search(rf'id="{stat}"><span class="stat-value">{re.escape(money(totals[key]))}</span>.*?'
                         rf"90% interval {re.escape(money(interval['low']))} to {re.escape(money(interval['high']))}",
                         body, flags=re.S)
    assert f'<span class="stat-value">{totals["roas_incremental"]:.2f}</span>' in body
    assert f'<span class="stat-value">{totals["roas_attributed"]:.2f}</span>' in body
    spend_change = Decimal(totals["spend"]) - Decimal(totals["current_spend"])
    assert re.search(rf'<tr id="vs-spend"><td>Spend</td><td class="num">{re.escape(money(totals["current_spend"]))}'
                     rf'</td><td class="num">1,500.00</td>\s*<td class="num">'
                     rf"{re.escape(('+' if spend_change > 0 else '') + money(spend_change))}</td>", body)
    # the rationale, line by line
    for line in ready_plan.rationale.splitlines():
        assert line.replace("'", "&#x27;") in body

    # the network chart: a current and a proposed bar per network, well-formed SVG
    networks = sorted({node["path"][1] for node in allocation["nodes"] if node["level"] == "network"})
    chart = svg(body, "chart-plan-network")
    bars = chart.findall("rect")
    assert len(bars) == len(networks) * 2
    assert [bar.get("class") for bar in bars] == ["series-0", "series-1"] * len(networks)
    walmart = next(node for node in allocation["nodes"] if node["path"] == ["onsite", "walmart"])
    assert [bar.find("title").text for bar in bars[:2]] == [
        f"walmart · Current: {walmart['current_spend']}", f"walmart · Proposed: {walmart['spend']}"]
    ElementTree.fromstring(re.search(r'<svg [^>]*id="chart-plan-placement".*?</svg>', body, flags=re.S).group(0))  # noqa: S314

    # the response curves: the cells with the most spend, markers where the curve is at current and proposed spend
    top = sorted(allocation["cells"], key=lambda c: (-Decimal(c["spend"]), -Decimal(c["current_spend"]), c["id"]))
    raised = [c for c in top[:CURVES_SHOWN] if Decimal(c["spend"]) > Decimal(c["current_spend"])]
    assert raised, "the plan raises some cell's spend"
    curves = {c["id"]: c["curve"] for c in ready_plan.cells}
    for cell in raised:
        figure = re.search(rf'<figure class="chart curve" id="curve-\d+" data-cell="{re.escape(cell["id"])}">.*?'
                           r"(<svg .*?</svg>)", body, flags=re.S)
        assert figure, f"no curve for {cell['id']}"
        markers = {m.get("class").split()[1]: m for m in ElementTree.fromstring(figure.group(1)).iter("circle")}  # noqa: S314
        current, proposed = markers["marker-current"], markers["marker-proposed"]
        assert float(current.get("cx")) < float(proposed.get("cx"))
        assert float(current.get("cy")) > float(proposed.get("cy"))  # higher on the curve: more incremental sales
        # the proposed spend is the larger, so it sits halfway along the axis (which runs to twice it)
        assert float(proposed.get("cx")) == pytest.approx(52 + 296 / 2, abs=0.1)
        share = float(Decimal(cell["current_spend"]) / Decimal(cell["spend"])) / 2
        assert float(current.get("cx")) == pytest.approx(52 + 296 * share, abs=0.1)
        value = curve_value(curves[cell["id"]], float(cell["spend"]))
        assert f"Proposed: spend {money(cell['spend'])} → incremental sales {value:,.2f}" in figure.group(0)

    # the binding budget, in words
    budget = next(b for b in allocation["binding"] if b["constraint"] == "budget")
    assert budget["message"].startswith("The budget binds ($1,500.00 allocatable)")
    assert f'<li data-constraint="budget">{budget["message"]}</li>' in body
    # monitoring: pacing per network by week, the cadence, guardrails and review dates
    weekly = ready_plan.monitoring["pacing"]["walmart"]["weekly"]
    pacing = re.search(r'<table id="pacing-walmart".*?</table>', body, flags=re.S).group(0)
    assert re.findall(r"<td>(\d{4}-\d\d-\d\d)</td><td class=\"num\">([\d,.]+)</td>", pacing) == [
        (week["week_of"], money(week["spend"])) for week in weekly]
    assert ready_plan.monitoring["cadence"] in body
    assert ", ".join(ready_plan.monitoring["review_dates"]) in body
    for assumption in ready_plan.assumptions:
        assert assumption.replace("'", "&#x27;") in body
    # no other ready plan yet: nothing to compare with
    assert 'id="compare-form"' not in body


def test_another_tenants_plan_is_404(acme, megamart):
    with schema_context("megamart"):
        theirs = plan_create(actor="user:megamart-analyst", data={"name": "Theirs", "budget": "100"})
    with schema_context("acme"):
        assert not Plan.objects.filter(pk=theirs.pk).exists()
    client = page_client_for(acme, username="acme-admin")

    assert client.get(f"/plans/{theirs.pk}/").status_code == 404
    assert client.get(f"/plans/{theirs.pk}/compare/{theirs.pk}/").status_code == 404
    assert page_client_for(megamart, username="megamart-analyst").get(f"/plans/{theirs.pk}/").status_code == 200


# -- two plans --------------------------------------------------------------------------------------------------


def test_two_plans_compared_side_by_side(acme, walmart_history, ready_plan):
    # given a second plan with half the budget
    smaller = build("Holiday lite", recent(walmart_history, budget="750", objective="revenue"))
    client = page_client_for(acme, username="acme-viewer")

    # when the first plan's compare form picks it
    page = text(client.get(f"/plans/{ready_plan.pk}/"))
    picked = client.get(f"/plans/{ready_plan.pk}/", {"compare": smaller.pk})
    response = client.get(picked["Location"])

    # then the compare page shows both plans' totals and the change per network
    assert f'<option value="{smaller.pk}">#{smaller.pk} Holiday lite</option>' in page
    assert picked.status_code == 302 and picked["Location"] == f"/plans/{ready_plan.pk}/compare/{smaller.pk}/"
    assert response.status_code == 200
    body = text(response)
    first, second = ready_plan.allocation["totals"], smaller.allocation["totals"]
    assert re.search(r'<tr id="compare-spend"><td>Spend</td>\s*<td class="num">1,500.00</td>'
                     r'<td class="num">750.00</td>\s*<td class="num">-750.00</td>', body)
    margin_change = Decimal(second["incremental_margin"]) - Decimal(first["incremental_margin"])
    assert re.search(rf'<tr id="compare-incremental_margin">.*?{re.escape(money(first["incremental_margin"]))}.*?'
                     rf'{re.escape(money(second["incremental_margin"]))}.*?'
                     rf'{re.escape(("+" if margin_change > 0 else "") + money(margin_change))}</td>', body, flags=re.S)
    network = re.search(r'<table id="table-compare-network">.*?</table>', body, flags=re.S).group(0)
    assert re.search(r"<td>walmart</td><td class=\"num\">1,500.00</td><td class=\"num\">750.00</td>\s*"
                     r'<td class="num">-750.00</td>', network)
    chart = svg(body, "chart-compare-network")
    assert [bar.find("title").text for bar in chart.findall("rect")] == [
        f"walmart · #{ready_plan.pk} Holiday push: 1500.00", f"walmart · #{smaller.pk} Holiday lite: 750.00"]
