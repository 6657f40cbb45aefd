"""Training pages: the list shows a tenant's own runs with progress that polls while a run is not finished, and a run's
page shows its terms, the loss curve as an SVG polyline, and the evaluation against the base model with the failing
examples of each arm; admins cancel and resume (refusals shown as messages), other roles see no buttons."""

from __future__ import annotations

import re

import pytest
from django.utils.html import escape

from inference.training.charts import MAX_POINTS, loss_chart
from inference.training.services import NOT_CANCELLABLE, NOT_RESUMABLE
from inference.training.views import CANCELLED, RESUMED, STOPPING
from rmn_saas.page_access import ADMIN_ONLY_PAGE
from tests.campaigns.measure.test_kind_pages import part
from tests.campaigns.plans.test_plan_pages import svg, text
from tests.conftest import page_client_for
from tests.inference.adapters.builders import adapter_made
from tests.inference.training.builders import finished_evaluation, run_of
from tests.tenants.test_lease_pages import table_rows

HTMX = {"HTTP_HX_REQUEST": "true"}
LOSSES = [[1, 2.0], [2, 1.6], [3, 1.2], [4, 0.9], [5, 0.5]]


def _finished(acme, **fields):
    adapter = adapter_made(acme, name="acme-voice")
    return run_of(acme, status="succeeded", progress=1.0, losses=LOSSES, evaluation=finished_evaluation(),
                  adapter=adapter, message=finished_evaluation()["verdict"],
                  data_summary={"train": 1200, "held_out": 100, "train_templates": ["t1", "t2"],
                                "held_out_templates": ["h1"]},
                  timing={"train_seconds": 81.53, "steps": 5, "device": "cpu"}, **fields)


# -- the list ---------------------------------------------------------------------------------------------------


def test_the_list_shows_own_runs_and_polls_only_unfinished_ones(acme, megamart, own_datasets, adapter_store):
    # given a running run and a finished one of acme, and a run of megamart
    running = run_of(acme, name="acme-tone", status="running", progress=0.4, message="training: step 4 of 10")
    finished = _finished(acme)
    theirs = run_of(megamart)

    # when an acme viewer opens the training page
    body = text(page_client_for(acme, username="acme-viewer").get("/adapters/training/"))

    # then both of acme's runs are listed, newest first, with status, progress and the registered adapter
    rows = table_rows(body, "training-table")
    assert [row[0] for row in rows] == [f"#{finished.pk} acme-voice", f"#{running.pk} acme-tone"]
    assert rows[1][1:5] == ["Brand", "voice", "Running", "40% training: step 4 of 10"]
    assert rows[0][3] == "Succeeded" and rows[0][5] == "acme-voice v1"
    assert f'href="/adapters/{finished.adapter_id}/"' in body
    # and only the running row polls for its progress, every 2 s
    assert re.search(rf'<tr id="run-{running.pk}"[^>]*hx-get="/adapters/training/{running.pk}/row" '
                     r'hx-trigger="every 2s"', body)
    assert "hx-get" not in part(body, f"run-{finished.pk}")
    # and nothing of megamart's is there
    assert f'id="run-{theirs.pk}"' not in body


def test_a_polled_row_is_the_row_alone(acme, own_datasets):
    run = run_of(acme, status="running", progress=0.5)

    body = text(page_client_for(acme, username="acme-viewer").get(f"/adapters/training/{run.pk}/row", **HTMX))

    assert body.startswith(f'<tr id="run-{run.pk}"') and body.endswith("</tr>")
    assert 'value="0.5"' in body


def test_the_adapters_page_links_to_training(acme):
    body = text(page_client_for(acme, username="acme-viewer").get("/adapters/"))

    assert '<a href="/adapters/training/">Training runs</a>' in part(body, "training-link")


def test_an_empty_list_says_so_and_names_the_datasets(acme):
    body = text(page_client_for(acme, username="acme-admin").get("/adapters/training/"))

    assert 'id="training-none"' in body
    assert "Datasets for brand adapters: compliant-copy." in part(body, "training-datasets")


# -- one run ----------------------------------------------------------------------------------------------------


def test_a_finished_run_shows_its_loss_curve_and_the_evaluation_with_failing_examples(acme, own_datasets,
                                                                                       adapter_store):
    run = _finished(acme)

    # when an acme viewer opens the run
    body = text(page_client_for(acme, username="acme-viewer").get(f"/adapters/training/{run.pk}/"))

    # then the loss curve is a polyline through every logged step, left to right and falling
    chart = svg(body, "chart-loss")
    [line] = [element for element in chart.iter() if element.tag.endswith("polyline")]
    points = [tuple(float(v) for v in point.split(",")) for point in line.get("points").split()]
    assert points == [tuple(float(v) for v in p.split(",")) for p in loss_chart(LOSSES)["points"].split()]
    assert len(points) == len(LOSSES)
    assert [x for x, _ in points] == sorted(x for x, _ in points)
    assert [y for _, y in points] == sorted(y for _, y in points)  # a falling loss: y grows downwards
    assert "at step 5: 0.5000" in part(body, "loss-last")
    # and the evaluation compares base and adapter per metric, with the gain and the verdict
    assert table_rows(body, "evaluation-table") == [["Exact match", "40.0%", "55.0%"],
                                                    ["Valid JSON", "100.0%", "95.0%"],
                                                    ["Seconds", "12.3 s", "11.0 s"],
                                                    ["Held-out cases", "20", "20"]]
    assert "Gain in exact match: <strong>+15.0 points</strong>; approval needs 10 points." in body
    assert escape(finished_evaluation()["verdict"]) in part(body, "verdict")
    # and the failing examples of each arm: text, answer, expected
    assert table_rows(body, "failures-base") == [
        ["Spend $5k on snacks", escape('{"budget": "500"}'), escape('{"budget": "5000"}')],
        ["Max ROAS 3 on cereal", escape('{"budget": "0"}'), escape('{"min_roas": 3}')]]
    assert table_rows(body, "failures-adapter") == [
        ["Max ROAS 3 on cereal", escape('{"min_roas": 2}'), escape('{"min_roas": 3}')]]
    assert "2 of 12 failing cases shown." in part(body, "failures-base-count")
    # and the registered adapter links to its page; the terms and data are shown; nothing polls any more
    assert f'<a href="/adapters/{run.adapter_id}/">acme-voice v1</a>' in part(body, "run-adapter")
    assert table_rows(body, "hyperparameters-table") == [["n_held_out", "100"], ["n_train", "1200"]]
    assert "81.5 s" in part(body, "data-table")
    assert "hx-trigger" not in body.split('id="training-run"')[1].split(">")[0]
    assert 'id="run-actions"' not in body


def test_a_running_run_polls_its_part_every_2_seconds(acme, own_datasets):
    run = run_of(acme, status="running", progress=0.4, losses=LOSSES[:2], message="training: step 2 of 5")
    client = page_client_for(acme, username="acme-viewer")

    body = text(client.get(f"/adapters/training/{run.pk}/"))
    polled = text(client.get(f"/adapters/training/{run.pk}/", {"part": "run"}, **HTMX))

    assert (f'<div id="training-run" hx-get="/adapters/training/{run.pk}/?part=run" hx-trigger="every 2s" '
            'hx-swap="outerHTML">') in body
    assert polled.startswith('<div id="training-run"') and "<html" not in polled
    [line] = [element for element in svg(polled, "chart-loss").iter() if element.tag.endswith("polyline")]
    assert len(line.get("points").split()) == 2  # the curve so far
    assert 'id="evaluation-none"' in polled


def test_a_run_without_a_loss_yet_says_so(acme, own_datasets):
    run = run_of(acme)

    body = text(page_client_for(acme, username="acme-viewer").get(f"/adapters/training/{run.pk}/"))

    assert 'id="loss-none"' in body and 'id="chart-loss"' not in body


def test_another_tenants_run_is_the_same_404_as_a_missing_one(acme, megamart, platform, own_datasets):
    theirs = run_of(megamart)
    client = page_client_for(acme, username="acme-admin")

    for run_id in (theirs.pk, run_of(platform).pk, theirs.pk + 1000):
        assert client.get(f"/adapters/training/{run_id}/").status_code == 404
        assert client.get(f"/adapters/training/{run_id}/row").status_code == 404
        for action in ("cancel", "resume"):
            assert client.post(f"/adapters/training/{run_id}/{action}").status_code == 404
    theirs.refresh_from_db()
    assert theirs.status == "queued"


# -- cancelling and resuming ------------------------------------------------------------------------------------


@pytest.mark.parametrize("username", ["acme-analyst", "acme-viewer"])
def test_non_admins_see_no_buttons_and_cannot_cancel(acme, own_datasets, username):
    run = run_of(acme)
    client = page_client_for(acme, username=username)

    body = text(client.get(f"/adapters/training/{run.pk}/"))
    responses = [client.post(f"/adapters/training/{run.pk}/{action}") for action in ("cancel", "resume")]

    assert 'id="run-actions"' not in body and 'id="cancel"' not in body and 'id="resume"' not in body
    assert f"your role ({username.removeprefix('acme-')}) can read them" in part(body, "manage-read-only")
    assert [response.status_code for response in responses] == [403, 403]
    assert escape(ADMIN_ONLY_PAGE) in text(responses[0])
    run.refresh_from_db()
    assert (run.status, run.cancel_requested) == ("queued", False)


def test_an_admin_cancels_in_place_and_a_stale_second_cancel_says_why(acme, own_datasets):
    # given a queued run on its page, with the cancel button
    run = run_of(acme)
    client = page_client_for(acme, username="acme-admin")
    assert 'id="cancel"' in text(client.get(f"/adapters/training/{run.pk}/"))

    # when the admin cancels it, then again from a stale page
    cancelled = text(client.post(f"/adapters/training/{run.pk}/cancel", **HTMX))
    again = client.post(f"/adapters/training/{run.pk}/cancel", **HTMX)

    # then the run part comes back cancelled, saying so, with resume in place of cancel
    run.refresh_from_db()
    assert run.status == "cancelled"
    assert cancelled.startswith('<div id="training-run">')
    assert f'<p class="flash" id="action-done" role="status">{CANCELLED.format(id=run.pk)}</p>' in cancelled
    assert 'id="cancel"' not in cancelled and 'id="resume"' in cancelled
    # and the second try is refused with the service's reason, shown as a message
    assert again.status_code == 200
    message = NOT_CANCELLABLE.format(id=run.pk, status="cancelled")
    assert f'<p class="error" id="action-error" role="alert">{message}</p>' in text(again)


def test_a_plain_post_redirects_with_the_outcome_or_the_refusal_as_a_message(acme, own_datasets):
    run = run_of(acme, status="running", progress=0.2)
    client = page_client_for(acme, username="acme-admin")

    stopping = client.post(f"/adapters/training/{run.pk}/cancel", follow=True)
    refused = client.post(f"/adapters/training/{run.pk}/resume", follow=True)

    assert stopping.redirect_chain == [(f"/adapters/training/{run.pk}/", 302)]
    assert f'<p class="flash">{STOPPING.format(id=run.pk)}</p>' in text(stopping)
    assert 'id="run-stopping"' in text(stopping) and 'id="cancel"' not in text(stopping)
    assert f'<p class="flash">{NOT_RESUMABLE.format(id=run.pk, status="running")}</p>' in text(refused)


def test_an_admin_resumes_a_failed_run(acme, own_datasets, django_capture_on_commit_callbacks):
    run = run_of(acme, status="failed", error={"code": "diverged", "message": "the training loss became nan"})
    client = page_client_for(acme, username="acme-admin")
    assert "the training loss became nan" in part(text(client.get(f"/adapters/training/{run.pk}/")), "run-error")

    with django_capture_on_commit_callbacks() as queued:
        body = text(client.post(f"/adapters/training/{run.pk}/resume", **HTMX))

    run.refresh_from_db()
    assert (run.status, run.error) == ("queued", None) and len(queued) == 1
    assert RESUMED.format(id=run.pk) in part(body, "action-done")


# -- the loss curve's geometry ----------------------------------------------------------------------------------


def test_the_loss_chart_scales_steps_and_losses_into_the_view_box():
    chart = loss_chart([[1, 2.0], [3, 1.0], [5, 0.5]])

    # steps span the plot's width (52 to 628); losses its height from 0 (y 190) to the axis top 2 (y 12)
    assert chart["points"] == "52.0,12.0 340.0,101.0 628.0,145.5"
    assert [tick["label"] for tick in chart["ticks"]] == ["0", "0.5", "1", "1.5", "2"]
    assert [label["label"] for label in chart["labels"]] == ["1", "2", "3", "4", "5"]
    assert chart["last"] == {"x": 628.0, "y": 145.5, "step": 5, "loss": "0.5000"}


def test_the_loss_chart_skips_non_finite_losses_and_thins_long_curves():
    assert loss_chart([]) is None and loss_chart([[1, float("nan")]]) is None
    assert loss_chart([[7, 1.2]])["points"] == "340.0,83.2"  # one point: centred

    long = loss_chart([[step, 1.0 + 1 / step] for step in range(1, 20_001)])

    points = long["points"].split()
    assert len(points) <= MAX_POINTS + 1
    assert points[0].startswith("52.0,") and points[-1].startswith("628.0,")
    assert long["last"]["step"] == 20_000
