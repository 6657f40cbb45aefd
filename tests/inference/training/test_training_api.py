"""/api/v1/adapters/train…: any role lists and reads its own tenant's training runs (the loss curve, the evaluation
with its failing examples, the adapter); admins start runs of their tenant's kind, cancel and resume them, and the
service's refusals pass through. Another tenant's run is the same 404 as a missing one."""

from __future__ import annotations

import pytest
from django.conf import settings

from inference.training import tasks
from inference.training.models import TrainingRun
from inference.training.services import BAD_HYPERPARAMETER, NOT_CANCELLABLE, NOT_RESUMABLE, UNKNOWN_DATASET
from rmn_saas.errors import NOT_FOUND_MESSAGE
from tenants.permissions import ADMIN_ONLY
from tests.conftest import api_client_for, audit_rows
from tests.inference.adapters.builders import adapter_made
from tests.inference.training.builders import OWN_DATASET, finished_evaluation, run_of

RUNS = "/api/v1/adapters/train"
NOT_FOUND = {"error": {"code": "not_found", "message": NOT_FOUND_MESSAGE, "details": {}}}


@pytest.fixture
def queued(monkeypatch, django_capture_on_commit_callbacks):
    """What reaches the gpu queue when the request commits: (run id, resume) per message (the broker is faked)."""
    sent = []
    monkeypatch.setattr(tasks.train_adapter, "apply_async",
                        lambda args, kwargs: sent.append((args[0], kwargs["resume"])))

    def commit(call):
        with django_capture_on_commit_callbacks(execute=True):
            response = call()
        return response

    return sent, commit


# -- reading ----------------------------------------------------------------------------------------------------


def test_any_role_lists_only_its_own_runs_newest_first(acme, megamart, platform, own_datasets):
    # given two runs of acme (the second finished with an evaluation), one of megamart and one of the platform
    older = run_of(acme, name="acme-voice")
    newer = run_of(acme, name="acme-tone", status="succeeded", progress=1.0, losses=[[1, 2.0], [2, 1.5]],
                   evaluation=finished_evaluation())
    run_of(megamart)
    run_of(platform)

    # when an acme viewer lists runs
    response = api_client_for(acme, username="acme-viewer").get(RUNS)

    # then only acme's two come back, newest first, without loss curves or failing examples
    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 2
    assert [run["id"] for run in body["results"]] == [newer.pk, older.pk]
    assert {run["owner"] for run in body["results"]} == {"acme"}
    listed = body["results"][0]
    assert "losses" not in listed
    assert listed["evaluation"]["adapter"] == {"n": 20, "exact_match": 0.55, "valid": 0.95, "seconds": 11.0}
    assert listed["evaluation"]["verdict"] == finished_evaluation()["verdict"]


def test_the_list_is_paginated(acme, own_datasets):
    runs = [run_of(acme, name=f"acme-voice-{index}") for index in range(3)]

    body = api_client_for(acme, username="acme-viewer").get(RUNS, {"limit": 2}).json()

    assert body["count"] == 3 and body["next"] is not None
    assert [run["id"] for run in body["results"]] == [runs[2].pk, runs[1].pk]


def test_the_detail_has_the_loss_curve_evaluation_data_timing_and_adapter(acme, own_datasets, adapter_store):
    # given a finished run that registered an adapter
    adapter = adapter_made(acme, name="acme-voice", approve=False)
    summary = {"train": 1200, "held_out": 100, "train_templates": ["a"], "held_out_templates": ["b"]}
    timing = {"train_seconds": 81.5, "steps": 2, "device": "cpu"}
    run = run_of(acme, status="succeeded", progress=1.0, losses=[[1, 2.0], [2, 1.5]], data_summary=summary,
                 timing=timing, evaluation=finished_evaluation(), adapter=adapter, message="approved")

    # when an acme viewer reads it
    response = api_client_for(acme, username="acme-viewer").get(f"{RUNS}/{run.pk}")

    # then everything the run recorded is there, the failing examples of both arms too
    assert response.status_code == 200
    body = response.json()
    assert {key: body[key] for key in ("id", "owner", "kind", "name", "task", "dataset", "base_model", "status",
                                       "progress", "message", "losses", "data_summary", "timing", "evaluation",
                                       "adapter", "error", "created_by", "hyperparameters")} == {
        "id": run.pk, "owner": "acme", "kind": "brand", "name": "acme-voice", "task": None, "dataset": OWN_DATASET,
        "base_model": settings.RMN_BASE_MODEL, "status": "succeeded", "progress": 1.0, "message": "approved",
        "losses": [[1, 2.0], [2, 1.5]], "data_summary": summary, "timing": timing,
        "evaluation": finished_evaluation(), "adapter": adapter.pk, "error": None, "created_by": "user:acme-admin",
        "hyperparameters": {"n_train": 1200, "n_held_out": 100}}


def test_another_tenants_run_is_the_same_404_as_a_missing_one(acme, megamart, platform, own_datasets):
    # given a run of megamart and one of the platform
    theirs = run_of(megamart)
    platforms = run_of(platform)
    client = api_client_for(acme, username="acme-admin")

    # when acme's admin reads, cancels or resumes them, or a run that exists nowhere
    for run_id in (theirs.pk, platforms.pk, theirs.pk + 1000):
        for response in (client.get(f"{RUNS}/{run_id}"), client.post(f"{RUNS}/{run_id}/cancel"),
                         client.post(f"{RUNS}/{run_id}/resume")):
            # then each is the same not-found
            assert response.status_code == 404
            assert response.json() == NOT_FOUND
    # and nothing of theirs changed
    theirs.refresh_from_db()
    assert (theirs.status, theirs.cancel_requested) == ("queued", False)


# -- starting ---------------------------------------------------------------------------------------------------


def test_an_admin_starts_a_run_of_its_own_kind_and_it_is_queued(acme, own_datasets, queued):
    sent, commit = queued

    # when acme's admin starts a run with an override
    response = commit(lambda: api_client_for(acme, username="acme-admin").post(
        RUNS, {"name": "acme-voice", "dataset": OWN_DATASET, "hyperparameters": {"max_steps": 200}}, format="json"))

    # then it is recorded as a queued brand run (acme is a brand), and answered 202 with where to follow it
    assert response.status_code == 202, response.content
    run = TrainingRun.objects.get()
    assert response["Location"] == f"{RUNS}/{run.pk}"
    body = response.json()
    assert (body["id"], body["status"], body["kind"], body["task"], body["losses"]) == (
        run.pk, "queued", "brand", None, [])
    assert (run.owner, run.kind, run.name, run.dataset, run.created_by) == (
        acme, "brand", "acme-voice", OWN_DATASET, "user:acme-admin")
    assert run.hyperparameters == {"n_train": 1200, "n_held_out": 100, "max_steps": 200}
    # and it went to the gpu queue once the request committed
    assert sent == [(run.pk, False)]
    [row] = audit_rows(acme, action="training.start")
    assert (row.actor, row.object_id) == ("user:acme-admin", str(run.pk))


def test_an_unknown_dataset_is_refused_naming_the_known_ones(acme, own_datasets):
    response = api_client_for(acme, username="acme-admin").post(RUNS, {"name": "acme-voice", "dataset": "poems"},
                                                                format="json")

    message = UNKNOWN_DATASET.format(dataset="poems", kind="brand", known=f"compliant-copy, {OWN_DATASET}")
    assert response.status_code == 400
    assert response.json() == {"error": {"code": "invalid", "message": message, "details": {"dataset": message}}}
    assert not TrainingRun.objects.exists()


def test_a_retailer_is_offered_only_retailer_datasets(megamart):
    response = api_client_for(megamart, username="megamart-admin").post(
        RUNS, {"name": "megamart-voice", "dataset": "planner"}, format="json")

    assert response.status_code == 400
    assert response.json()["error"]["message"] == UNKNOWN_DATASET.format(dataset="planner", kind="retailer",
                                                                         known="schema-mapping")


def test_bad_hyperparameters_or_a_missing_name_are_refused(acme, own_datasets):
    client = api_client_for(acme, username="acme-admin")

    bad = client.post(RUNS, {"name": "acme-voice", "dataset": OWN_DATASET, "hyperparameters": {"max_steps": 0}},
                      format="json")
    nameless = client.post(RUNS, {"dataset": OWN_DATASET}, format="json")

    assert bad.status_code == 400
    assert bad.json()["error"]["message"] == BAD_HYPERPARAMETER.format(key="max_steps", n="", kind="whole number",
                                                                       low=1, high=20_000)
    assert nameless.status_code == 400 and "name" in nameless.json()["error"]["details"]
    assert not TrainingRun.objects.exists()


@pytest.mark.parametrize("username", ["acme-analyst", "acme-viewer"])
def test_only_admins_start_cancel_or_resume(acme, own_datasets, username):
    run = run_of(acme)
    client = api_client_for(acme, username=username)

    responses = [client.post(RUNS, {"name": "acme-voice", "dataset": OWN_DATASET}, format="json"),
                 client.post(f"{RUNS}/{run.pk}/cancel"), client.post(f"{RUNS}/{run.pk}/resume")]

    for response in responses:
        assert response.status_code == 403
        assert response.json()["error"]["message"] == ADMIN_ONLY
    run.refresh_from_db()
    assert (run.status, TrainingRun.objects.count()) == ("queued", 1)


# -- cancelling and resuming ------------------------------------------------------------------------------------


def test_cancel_a_queued_run_then_again_is_409_and_resume_queues_it(acme, own_datasets, queued):
    sent, commit = queued
    run = run_of(acme)
    client = api_client_for(acme, username="acme-admin")

    # when acme's admin cancels the queued run, then cancels it again
    cancelled = client.post(f"{RUNS}/{run.pk}/cancel")
    again = client.post(f"{RUNS}/{run.pk}/cancel")

    # then it is cancelled at once, and the second try is refused with the reason
    assert cancelled.status_code == 200
    assert (cancelled.json()["status"], cancelled.json()["cancel_requested"]) == ("cancelled", True)
    assert again.status_code == 409
    assert again.json() == {"error": {"code": "training_finished", "message": NOT_CANCELLABLE.format(
        id=run.pk, status="cancelled"), "details": {}}}

    # and when resumed, it is queued again (and sent once the request commits); resuming a queued run is refused
    resumed = commit(lambda: client.post(f"{RUNS}/{run.pk}/resume"))
    assert (resumed.status_code, resumed.json()["status"]) == (200, "queued")
    assert sent == [(run.pk, True)]
    refused = client.post(f"{RUNS}/{run.pk}/resume")
    assert refused.status_code == 409
    assert refused.json()["error"] == {"code": "not_resumable", "message": NOT_RESUMABLE.format(
        id=run.pk, status="queued"), "details": {}}


def test_cancelling_a_running_run_asks_it_to_stop(acme, own_datasets):
    run = run_of(acme, status="running", progress=0.3)

    response = api_client_for(acme, username="acme-admin").post(f"{RUNS}/{run.pk}/cancel")

    # the worker stops it after its current step
    assert (response.json()["status"], response.json()["cancel_requested"]) == ("running", True)
