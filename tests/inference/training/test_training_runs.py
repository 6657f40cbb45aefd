"""Training runs: started with checked terms, cancelled and resumed by state, and run by the real runner — which
fails with the reason and registers nothing on bad input, and otherwise trains with TRL, evaluates base and
candidate on the held-out set in the same run, and registers a signed adapter with the evaluation as metrics."""

from __future__ import annotations

import math

import pytest
from django.conf import settings

from inference.adapters.models import Adapter
from inference.training import runner
from inference.training.models import TrainingRun
from inference.training.services import training_cancel, training_resume, training_start
from rmn_saas.errors import ApiError

ACTOR = "user:test"


@pytest.fixture(autouse=True)
def isolated_stores(settings, tmp_path):
    settings.RMN_ADAPTER_DIR = tmp_path / "adapters"
    settings.RMN_ADAPTER_SIGNING_KEY = ""
    settings.RMN_ADAPTER_SIGNING_KEY_DEFAULT = tmp_path / "adapter_signing_key.pem"
    settings.RMN_TRAINING_DIR = tmp_path / "training"


def _start(platform, **overrides) -> TrainingRun:
    terms = {"owner": platform, "actor": ACTOR, "kind": "task", "name": "planner", "dataset": "planner",
             "task": "planner", "enqueue": False, **overrides}
    return training_start(**terms)


@pytest.mark.parametrize(("terms", "field"), [
    ({"kind": "brand"}, "kind"),
    ({"kind": "voice"}, "kind"),
    ({"dataset": "poems"}, "dataset"),
    ({"name": "has spaces"}, "name"),
    ({"task": ""}, "task"),
    ({"hyperparameters": {"max_steps": 0}}, "hyperparameters"),
    ({"hyperparameters": {"learning_rate": "fast"}}, "hyperparameters"),
    ({"hyperparameters": {"epochs": 3}}, "hyperparameters"),
])
def test_bad_terms_are_refused_before_anything_is_recorded(platform, terms, field):
    with pytest.raises(ApiError) as refused:
        _start(platform, **terms)

    assert refused.value.status_code == 400
    assert field in refused.value.details
    assert not TrainingRun.objects.exists()


def test_a_run_records_its_terms_and_defaults(platform):
    run = _start(platform, hyperparameters={"max_steps": 40, "learning_rate": 0.002})

    assert (run.status, run.base_model, run.created_by) == ("queued", settings.RMN_BASE_MODEL, ACTOR)
    assert run.hyperparameters == {"n_train": 1200, "n_held_out": 100, "max_steps": 40, "learning_rate": 0.002}


def test_cancel_and_resume_follow_the_runs_state(platform):
    run = _start(platform)

    cancelled = training_cancel(run=run, actor=ACTOR)
    assert (cancelled.status, cancelled.cancel_requested) == ("cancelled", True)
    with pytest.raises(ApiError, match="has already cancelled"):
        training_cancel(run=cancelled, actor=ACTOR)

    resumed = training_resume(run=cancelled, actor=ACTOR)
    assert (resumed.status, resumed.cancel_requested) == ("queued", False)
    with pytest.raises(ApiError, match="only failed or cancelled runs resume"):
        training_resume(run=resumed, actor=ACTOR)


def _run(run: TrainingRun) -> TrainingRun:
    runner.run_training(TrainingRun.objects.select_related("owner").get(pk=run.pk))
    run.refresh_from_db()
    return run


def test_too_few_examples_fail_the_run_with_the_reason_and_register_nothing(platform):
    run = _run(_start(platform, hyperparameters={"n_train": 12}))

    assert run.status == "failed"
    assert run.error == {"code": "too_few_examples",
                         "message": "the dataset has 12 training examples; at least 50 are needed"}
    assert run.adapter is None and not Adapter.objects.exists()


def test_a_base_model_mismatch_fails_the_run(platform, settings):
    run = _start(platform)
    settings.RMN_BASE_MODEL = "/models/llama-3.1-8b-instruct"

    run = _run(run)

    assert run.status == "failed" and run.error["code"] == "base_mismatch"
    assert "llama-3.1-8b-instruct" in run.error["message"]
    assert not Adapter.objects.exists()


def test_a_loss_that_turns_nan_stops_training_with_the_reason():
    from inference.training.sft import TrainingDiverged, _Reporter

    reporter = _Reporter(progress=None)
    reporter.on_log(None, type("State", (), {"global_step": 3})(), None, logs={"loss": 1.5})

    with pytest.raises(TrainingDiverged, match="the training loss became nan at step 4"):
        reporter.on_log(None, type("State", (), {"global_step": 4})(), None, logs={"loss": math.nan})


def test_a_short_run_trains_evaluates_both_arms_and_registers_a_signed_draft(platform):
    # given a tiny run: 3 steps on 50 objectives, scored on 20 held-out ones with short answers (to keep it quick)
    run = _start(platform, hyperparameters={"n_train": 50, "n_held_out": 20, "max_steps": 3, "batch_size": 4,
                                            "eval_max_new_tokens": 40})

    # when the runner runs it
    run = _run(run)

    # then it succeeded, with a loss curve, timing, and both arms scored on the same 20 held-out cases
    assert run.status == "succeeded", run.error
    assert run.progress == 1.0 and run.timing["steps"] == 3 and run.timing["device"] in ("cpu", "cuda")
    assert run.data_summary["train"] == 50 and run.data_summary["held_out"] == 20
    assert not set(run.data_summary["train_templates"]) & set(run.data_summary["held_out_templates"])
    assert run.losses and all(math.isfinite(loss) for _, loss in run.losses)
    base, adapter = run.evaluation["base"], run.evaluation["adapter"]
    assert base["n"] == adapter["n"] == 20
    assert 0 <= base["exact_match"] <= 1 and 0 <= adapter["exact_match"] <= 1
    # constrained decoding: whatever an arm gets wrong, its answer is the tool's JSON, budget first
    for arm in (base, adapter):
        assert 0 <= arm["valid"] <= 1
        assert all(failure["answer"].startswith('{"budget":"') for failure in arm["failures"]), arm["failures"]
    assert run.evaluation["gain"] == pytest.approx(adapter["exact_match"] - base["exact_match"])
    # and the adapter is in the registry, signed, with the evaluation as its metrics; three steps do not beat
    # the base by the margin, so it stays a draft
    registered = run.adapter
    assert (registered.owner, registered.kind, registered.task, registered.name) == (platform, "task", "planner",
                                                                                      "planner")
    assert registered.signature and registered.rank == 16 and registered.alpha == 32
    assert registered.metrics["exact_match"] == adapter["exact_match"]
    assert registered.metrics["base_exact_match"] == base["exact_match"]
    assert registered.status == ("approved" if run.evaluation["approved"] else "draft")
    assert run.message == run.evaluation["verdict"]
