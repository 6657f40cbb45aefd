"""One training run, start to finish, in the gpu worker: build and check the dataset (in the owner's schema), train
with TRL, score base and candidate on the held-out set in the same run, then register the adapter as the owner's
next version — signed, with its evaluation as metrics, approved only when it beats the base by the configured
margin. Anything that fails fails the run with its reason, and nothing is registered.
"""

from __future__ import annotations

import logging
import shutil
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.files import File
from django.utils import timezone
from django_tenants.utils import schema_context

from inference.adapters.models import CONFIG_FILE, MODEL_FILE
from inference.adapters.services import adapter_approve, adapter_upload
from inference.base_models import served_base_model
from inference.training.datasets import DatasetInvalid, TrainingData, build_dataset
from inference.training.models import TrainingRun, TrainingStatus
from rmn_saas.errors import ApiError

logger = logging.getLogger(__name__)

BASE_MISMATCH = "the run was asked for base model {wanted!r}, but this worker serves {served!r}"
NOT_BETTER = ("not approved: exact match {adapter:.1%} against the base model's {base:.1%} "
              "(needs {margin:.0%} points more)")
APPROVED = "approved: exact match {adapter:.1%} against the base model's {base:.1%}"
TRAIN_SHARE, EVAL_SHARE = 0.7, 0.2  # of the progress bar, after 5% for the dataset


class TrainingFailed(RuntimeError):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code, self.message = code, message


def run_dir(run: TrainingRun) -> Path:
    return Path(settings.RMN_TRAINING_DIR) / str(run.pk)


def _update(run: TrainingRun, **fields: Any) -> None:
    for key, value in fields.items():
        setattr(run, key, value)
    TrainingRun.objects.filter(pk=run.pk).update(**fields, updated_at=timezone.now())


def _dataset(run: TrainingRun) -> TrainingData:
    params = run.hyperparameters
    with schema_context(run.owner.schema_name):  # a tenant's builders read its own data
        return build_dataset(kind=run.kind, name=run.dataset, n_train=params["n_train"],
                             n_held_out=params["n_held_out"], seed=params.get("seed", 0))


def run_training(run: TrainingRun, *, resume: bool = False) -> None:
    _update(run, status=TrainingStatus.RUNNING, started_at=run.started_at or timezone.now(), progress=0.01,
            message="building the dataset")
    try:
        _run(run, resume=resume)
    except DatasetInvalid as exc:
        _fail(run, exc.code, exc.message)
    except TrainingFailed as exc:
        _fail(run, exc.code, exc.message)
    except ApiError as exc:  # the registry refused the trained artifact
        _fail(run, getattr(exc, "error_code", "refused"), str(exc.detail))
    except Exception as exc:
        from inference.training.sft import TrainingDiverged, TrainingStopped

        if isinstance(exc, TrainingStopped):
            _update(run, status=TrainingStatus.CANCELLED, finished_at=timezone.now(),
                    message=f"cancelled; {exc} (resume continues from the last checkpoint)")
        elif isinstance(exc, TrainingDiverged):
            _fail(run, "diverged", str(exc))
        else:
            logger.exception("training run %s failed", run.pk)
            _fail(run, "error", f"{type(exc).__name__}: {exc}")


def _fail(run: TrainingRun, code: str, message: str) -> None:
    _update(run, status=TrainingStatus.FAILED, finished_at=timezone.now(), error={"code": code, "message": message},
            message=message[:300])


def _run(run: TrainingRun, *, resume: bool) -> None:
    from inference.runtime import ensure_cached
    from inference.training.evaluate import compare_with_base
    from inference.training.sft import LoraHyperparameters, train_sft

    served = served_base_model()
    if run.base_model != served:
        raise TrainingFailed("base_mismatch", BASE_MISMATCH.format(wanted=run.base_model, served=served))
    data = _dataset(run)
    _update(run, data_summary=data.summary(), progress=0.05, message="training")
    base_dir = ensure_cached(source=settings.RMN_BASE_MODEL, cache_dir=Path(settings.RMN_MODEL_CACHE_DIR))
    folder = run_dir(run)
    hparams = LoraHyperparameters(**{key: value for key, value in run.hyperparameters.items()
                                     if key in LoraHyperparameters.__dataclass_fields__})
    losses = list(run.losses) if resume else []

    def on_step(step: int, total: int, loss: float | None) -> bool:
        if loss is not None and (not losses or losses[-1][0] != step):
            losses.append([step, loss])
        _update(run, progress=0.05 + TRAIN_SHARE * step / max(total, 1), losses=losses,
                message=f"training: step {step} of {total}")
        return TrainingRun.objects.filter(pk=run.pk, cancel_requested=True).exists()

    trained = train_sft(base_dir=base_dir, base_name=served, examples=data.train, output_dir=folder,
                        hparams=hparams, progress=on_step, resume=resume)
    _update(run, timing={"train_seconds": trained["seconds"], "steps": trained["steps"], "device": trained["device"]},
            message="evaluating against the base model")

    def on_case(arm: str, done: int, total: int) -> None:
        offset = 0.0 if arm == "base" else 0.5
        _update(run, progress=0.05 + TRAIN_SHARE + EVAL_SHARE * (offset + 0.5 * done / max(total, 1)),
                message=f"evaluating the {arm}: {done} of {total}")

    evaluation = compare_with_base(base_dir=base_dir, adapter_dir=Path(trained["adapter_dir"]), cases=data.held_out,
                                   schema=data.schema, canonical=data.canonical, progress=on_case,
                                   max_new_tokens=run.hyperparameters.get("eval_max_new_tokens", 96))
    margin = settings.RMN_TRAINING_APPROVAL_MARGIN
    approved = evaluation["gain"] >= margin
    numbers = {"adapter": evaluation["adapter"]["exact_match"], "base": evaluation["base"]["exact_match"],
               "margin": margin}
    verdict = (APPROVED if approved else NOT_BETTER).format(**numbers)
    evaluation = {**evaluation, "margin": margin, "approved": approved, "verdict": verdict}
    _update(run, evaluation=evaluation, progress=0.97, message="registering the adapter")
    adapter = _register(run, Path(trained["adapter_dir"]), evaluation)
    if approved:
        adapter = adapter_approve(adapter=adapter, actor=run.created_by)
    _update(run, adapter=adapter, status=TrainingStatus.SUCCEEDED, progress=1.0, finished_at=timezone.now(),
            message=verdict)
    shutil.rmtree(folder / "checkpoints", ignore_errors=True)  # the adapter is in the registry now


def _register(run: TrainingRun, adapter_dir: Path, evaluation: dict):
    metrics = {
        "training_run": run.pk, "dataset": run.dataset, "held_out": evaluation["adapter"]["n"],
        "exact_match": evaluation["adapter"]["exact_match"], "base_exact_match": evaluation["base"]["exact_match"],
        "valid_json": evaluation["adapter"]["valid"], "gain": evaluation["gain"], "approved": evaluation["approved"],
        "train_seconds": run.timing.get("train_seconds"), "steps": run.timing.get("steps"),
        "hyperparameters": run.hyperparameters,
    }
    with open(adapter_dir / MODEL_FILE, "rb") as weights, open(adapter_dir / CONFIG_FILE, "rb") as config:
        files = [File(weights, name=MODEL_FILE), File(config, name=CONFIG_FILE)]
        with schema_context(run.owner.schema_name):  # the upload is audited in the owner's log
            return adapter_upload(owner=run.owner, actor=run.created_by, name=run.name, kind=run.kind,
                                  task=run.task, files=files, metrics=metrics)
