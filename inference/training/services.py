"""Starting, cancelling and resuming training runs. Plain Python (no torch): the web process and commands call it;
the run itself happens on the gpu queue (`tasks.train_adapter`, `runner.run_training`)."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils import timezone

from governance.audit.services import audit_record
from inference.adapters.models import OWNER_KIND, AdapterKind
from inference.adapters.services import NAME_PATTERN
from inference.base_models import served_base_model
from inference.training.datasets import BUILDERS
from inference.training.models import TrainingRun, TrainingStatus
from rmn_saas.errors import ApiError
from tenants.models import Tenant

# Defaults per run; a request may override these, within the bounds.
HYPERPARAMETER_BOUNDS: dict[str, tuple[type, float, float]] = {
    "rank": (int, 1, 256), "alpha": (int, 1, 1024), "dropout": (float, 0.0, 0.5), "learning_rate": (float, 1e-6, 0.1),
    "max_steps": (int, 1, 20_000), "batch_size": (int, 1, 128), "max_length": (int, 32, 4096),
    "warmup_steps": (int, 0, 1000), "save_steps": (int, 1, 10_000), "seed": (int, 0, 2**31 - 1),
    "n_train": (int, 1, 200_000), "n_held_out": (int, 1, 10_000), "eval_max_new_tokens": (int, 8, 2048),
}
DEFAULTS = {"n_train": 1200, "n_held_out": 100}

BAD_KIND = "kind must be one of retailer, brand, task"
KIND_NOT_ALLOWED = "{kind} adapters belong to a {owner_kind} tenant, and {tenant} is a {tenant_kind}"
UNKNOWN_DATASET = "no dataset builder {dataset!r} for {kind} adapters; known: {known}"
BAD_NAME = "{field} must be a slug (letters, digits, - and _) of at most 100 characters"
UNKNOWN_HYPERPARAMETER = "unknown hyper-parameter {key!r}; known: {known}"
BAD_HYPERPARAMETER = "{key} must be a{n} {kind} from {low:g} to {high:g}"
NOT_CANCELLABLE = "Training run {id} has already {status}."
NOT_RESUMABLE = "Training run {id} is {status}; only failed or cancelled runs resume."


def _invalid(field: str, message: str) -> ApiError:
    return ApiError(status_code=400, code="invalid", message=message, details={field: message})


def _hyperparameters(overrides: Any) -> dict[str, Any]:
    if overrides is None:
        return {}
    if not isinstance(overrides, dict):
        raise _invalid("hyperparameters", "hyperparameters must be an object")
    checked = {}
    for key, value in overrides.items():
        if key not in HYPERPARAMETER_BOUNDS:
            raise _invalid("hyperparameters", UNKNOWN_HYPERPARAMETER.format(
                key=key, known=", ".join(sorted(HYPERPARAMETER_BOUNDS))))
        kind, low, high = HYPERPARAMETER_BOUNDS[key]
        ok = not isinstance(value, bool) and isinstance(value, int if kind is int else int | float)
        if not ok or not low <= value <= high:
            raise _invalid("hyperparameters", BAD_HYPERPARAMETER.format(
                key=key, n="" if kind is float else "", kind="whole number" if kind is int else "number",
                low=low, high=high))
        checked[key] = kind(value)
    return checked


def training_start(*, owner: Tenant, actor: str, kind: str, name: str, dataset: str, task: str = "",
                   hyperparameters: Any = None, enqueue: bool = True) -> TrainingRun:
    """Queue a run that trains the owner's next version of adapter `name` on the named dataset (or only record it,
    with enqueue=False, for a caller that runs it itself)."""
    if kind not in AdapterKind.values:
        raise _invalid("kind", BAD_KIND)
    if owner.kind != OWNER_KIND[kind]:
        raise _invalid("kind", KIND_NOT_ALLOWED.format(kind=kind, owner_kind=OWNER_KIND[kind], tenant=owner.name,
                                                      tenant_kind=owner.kind))
    for field, value in (("name", name), ("task", task)):
        if (value or field == "name") and not NAME_PATTERN.fullmatch(value or ""):
            raise _invalid(field, BAD_NAME.format(field=field))
    if (kind == AdapterKind.TASK) != bool(task):
        raise _invalid("task", "a task adapter names its task, and only a task adapter does")
    if (kind, dataset) not in BUILDERS:
        known = ", ".join(d for k, d in sorted(BUILDERS) if k == kind) or "none yet"
        raise _invalid("dataset", UNKNOWN_DATASET.format(dataset=dataset, kind=kind, known=known))
    params = {**DEFAULTS, **_hyperparameters(hyperparameters)}
    with transaction.atomic():
        run = TrainingRun.objects.create(owner=owner, kind=kind, name=name, task=task, dataset=dataset,
                                         base_model=served_base_model(), hyperparameters=params, created_by=actor)
        audit_record(actor=actor, action="training.start", object_type="training_run", object_id=str(run.pk),
                     details={"owner": owner.slug, "kind": kind, "name": name, "dataset": dataset,
                              "hyperparameters": params})
        if enqueue:
            _enqueue(run, resume=False)
    return run


def _enqueue(run: TrainingRun, *, resume: bool) -> None:
    from inference.training.tasks import train_adapter

    transaction.on_commit(lambda: train_adapter.apply_async(args=[run.pk], kwargs={"resume": resume}))


def training_cancel(*, run: TrainingRun, actor: str) -> TrainingRun:
    """A queued run is cancelled at once; a running one stops after its current step (its checkpoint stays)."""
    with transaction.atomic():
        run = TrainingRun.objects.select_for_update().get(pk=run.pk)
        if run.is_finished:
            raise ApiError(status_code=409, code="training_finished",
                           message=NOT_CANCELLABLE.format(id=run.pk, status=run.status))
        if run.status == TrainingStatus.QUEUED:
            run.status, run.finished_at, run.message = TrainingStatus.CANCELLED, timezone.now(), "cancelled"
        run.cancel_requested = True
        run.save(update_fields=["status", "finished_at", "message", "cancel_requested", "updated_at"])
        audit_record(actor=actor, action="training.cancel", object_type="training_run", object_id=str(run.pk),
                     details={"status": run.status})
    return run


def training_resume(*, run: TrainingRun, actor: str) -> TrainingRun:
    """Queue a failed or cancelled run again; it continues from its last checkpoint when it has one."""
    with transaction.atomic():
        run = TrainingRun.objects.select_for_update().get(pk=run.pk)
        if run.status not in (TrainingStatus.FAILED, TrainingStatus.CANCELLED):
            raise ApiError(status_code=409, code="not_resumable",
                           message=NOT_RESUMABLE.format(id=run.pk, status=run.status))
        run.status, run.cancel_requested, run.error, run.finished_at = TrainingStatus.QUEUED, False, None, None
        run.message = "queued to resume"
        run.save(update_fields=["status", "cancel_requested", "error", "finished_at", "message", "updated_at"])
        audit_record(actor=actor, action="training.resume", object_type="training_run", object_id=str(run.pk))
        _enqueue(run, resume=True)
    return run
